#include <vitals/config/settings.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include <fmt/format.h>

namespace vitals::config {

namespace {

std::string seconds(std::chrono::milliseconds ms) {
  return ms.count() % 1000 == 0 ? fmt::format("{} s", ms.count() / 1000)
                                : fmt::format("{} s", static_cast<double>(ms.count()) / 1000.0);
}

/// One plugin's options on a line: scalars and string lists as TOML; secrets by their file only;
/// string maps and sub-tables as counts (device tables name patients and addresses).
std::string options_line(const core::option_set& set) {
  std::string out;
  for (const auto& [key, v] : set.values) {
    std::string text;
    if (const auto* t = std::get_if<core::option_value::tables>(&v.value)) {
      text = fmt::format("{} table(s)", t->size());
    } else if (const auto* m = std::get_if<core::option_value::string_map>(&v.value)) {
      text = fmt::format("{} entr{}", m->size(), m->size() == 1 ? "y" : "ies");
    } else {
      text = core::to_toml(v.value);
      if (!v.secret.empty()) text += " (read)";
    }
    out += fmt::format("{}{}={}", out.empty() ? "" : ", ", key, text);
  }
  return out.empty() ? "defaults" : out;
}

}  // namespace

std::string summary(const settings& s) {
  std::string out;
  std::vector<std::string> names;
  for (const auto& [name, set] : s.sections) names.push_back(name);
  std::sort(names.begin(), names.end());
  for (const auto& name : names) out += name + ": " + options_line(s.sections.at(name)) + "\n";
  for (const auto& src : s.sources) {
    out += fmt::format("source {} ({}): {}\n", src.name, src.type, options_line(src.options));
  }
  const auto& st = s.store;
  out += fmt::format(
      "store: {} (commit every {} rows or {} ms, synchronous={}, queue up to {} rows)\n", st.path,
      st.batch_rows, st.batch_interval_ms, st.synchronous, st.max_queued_rows);
  const auto& p = s.pipeline;
  out += fmt::format("pipeline: ring {} samples, push timeout {} ms, batch {}\n", p.ring_capacity,
                     p.push_timeout_ms, p.batch_max);
  out += fmt::format("log: level {}, format {}, {}\n", s.log.level, s.log.format,
                     s.log.include_phi ? "alert lines INCLUDE patient and value (include_phi)"
                                       : "no patient data in logs");
  out += "rules:\n";
  for (const auto& r : s.detector.rules) {
    out += fmt::format("  {:<19} {} {} {} for {}, hysteresis {}, {} priority{}\n", r.name,
                       to_string(r.kind), r.dir == core::direction::below ? "<" : ">", r.limit,
                       seconds(r.min_duration), r.hysteresis, to_string(r.level),
                       r.enabled ? "" : " (DISABLED)");
  }
  std::size_t overrides = 0;
  for (const auto& [patient, rules] : s.detector.patients) overrides += rules.size();
  // Counts only: patient and device ids stay out of the summary.
  out += fmt::format(
      "devices mapped to patients: {}; patients with own settings: {} ({} rule "
      "overrides)",
      s.devices.size(), s.detector.patients.size(), overrides);
  const auto& l = s.alerts.lifecycle;
  out += fmt::format(
      "\nalerts: flap window {} s, high priority {}, snooze up to {} min ({} min for high), "
      "inhibition {}, MQTT commands {}",
      l.flap_window.count(), l.latch_high ? "latches" : "does not latch", l.max_snooze.count() / 60,
      l.max_snooze_high.count() / 60, l.inhibit ? "on" : "off",
      s.alerts.command_topic.empty() ? std::string("off") : "on " + s.alerts.command_topic);
  // Names and types only: URLs may carry tokens in their query, secrets never leave the loader.
  std::string receivers;
  for (const auto& r : s.receivers) {
    receivers += fmt::format("{}{} ({})", receivers.empty() ? "" : ", ", r.name, r.type);
  }
  out += fmt::format("\n  receivers: {}; routes: {}", receivers.empty() ? "none" : receivers,
                     l.routes.size());
  out += fmt::format(
      "\napi: {}",
      s.api.enabled
          ? fmt::format("{}://{}:{}, {} token(s){}{}", s.api.tls() ? "https" : "http",
                        s.api.listen.find(':') != std::string::npos ? "[" + s.api.listen + "]"
                                                                    : s.api.listen,
                        s.api.port, s.api.tokens.size(),
                        s.api.tls_client_ca_file.empty() ? "" : ", client certificates required",
                        s.api.metrics_auth ? "" : ", /metrics without token")
          : std::string("off"));
  const auto& tr = s.technical.rules;
  out += fmt::format(
      "\ntechnical alerts: sensor off after {}, poor signal after {}, device disconnected after "
      "{}, gateway offline after {}",
      seconds(tr[0].delay), seconds(tr[1].delay), seconds(tr[7].delay), seconds(tr[8].delay));
  for (const auto& w : s.warnings) out += "\nwarning: " + w;
  return out;
}

}  // namespace vitals::config
