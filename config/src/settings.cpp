#include <vitals/config/settings.hpp>

#include <fmt/format.h>

namespace vitals::config {

settings defaults() {
  return settings{};
}

namespace {

std::string seconds(std::chrono::milliseconds ms) {
  return ms.count() % 1000 == 0 ? fmt::format("{} s", ms.count() / 1000)
                                : fmt::format("{} s", static_cast<double>(ms.count()) / 1000.0);
}

}  // namespace

std::string summary(const settings& s) {
  std::string out;
  const auto& m = s.mqtt;
  out += fmt::format("mqtt: broker {}, client_id {}, qos {}, clean_session {}, keep_alive {} s\n",
                     m.broker, m.client_id, m.qos, m.clean_session, m.keep_alive_s);
  std::string topics;
  for (const auto& t : m.topics) topics += (topics.empty() ? "" : ", ") + t;
  out += fmt::format("  topics: {}\n", topics);
  out += fmt::format(
      "  auth: {}\n",
      m.username.empty()
          ? std::string("none")
          : fmt::format("user '{}', password {}", m.username,
                        m.password.empty() ? std::string("none") : "from " + m.password_file));
  out +=
      fmt::format("  max payload {} bytes, reconnect {}..{} s, samples up to {} h ahead accepted\n",
                  m.max_payload_bytes, m.reconnect_min_s, m.reconnect_max_s, m.max_future_h);
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
  // Names and kinds only: URLs may carry tokens in their query, secrets never leave the loader.
  std::string receivers;
  for (const auto& r : s.receivers) {
    receivers += fmt::format("{}{} ({})", receivers.empty() ? "" : ", ", r.name, r.type);
  }
  out += fmt::format("\n  receivers: {}; routes: {}", receivers.empty() ? "none" : receivers,
                     l.routes.size());
  out += fmt::format(
      "\napi: {}", s.api.enabled ? fmt::format("http://{}:{}, {} token(s){}", s.api.listen,
                                               s.api.port, s.api.tokens.size(),
                                               s.api.metrics_auth ? "" : ", /metrics without token")
                                 : std::string("off"));
  // Counts only: device addresses and patient ids stay out of the summary.
  out += fmt::format("\nble: gateway source {} ({} gateway(s), client_id {}); {} BLE device(s)",
                     s.ble.enabled ? "on" : "off", s.ble.gateways.size(), s.ble.client_id,
                     s.ble.devices.size());
  out += fmt::format("\nbluez: {}",
                     s.bluez.enabled
                         ? fmt::format("on (bus {}, adapter {}, reconnect {}..{} s)", s.bluez.bus,
                                       s.bluez.adapter.empty() ? "any" : s.bluez.adapter,
                                       s.bluez.reconnect_min_s, s.bluez.reconnect_max_s)
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
