// vitals-eval's report: the scored figures as a text table or as JSON.

#include <vitals/simulators/eval.hpp>

#include <cmath>
#include <ctime>
#include <map>
#include <sstream>
#include <utility>

#include <nlohmann/json.hpp>

#include "eval_detail.hpp"
#include "eval_text.hpp"

namespace vitals::simulators {

namespace {

using ojson = nlohmann::ordered_json;

using detail::epoch_ms;
using detail::seconds_of;
using eval_text::fixed;
using eval_text::render;

std::string iso_time(core::timestamp t) {
  const auto ms = epoch_ms(t);
  auto secs = static_cast<std::time_t>(ms / 1000);
  if (ms % 1000 < 0) --secs;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string percent(double fraction) {
  return fixed(fraction * 100.0, 1) + "%";
}

ojson optional_number(const std::optional<double>& v) {
  return v ? ojson(*v) : ojson(nullptr);
}

ojson by_rule_json(const std::map<std::string, std::size_t>& m) {
  ojson j = ojson::object();
  for (const auto& [rule, n] : m) j[rule] = n;
  return j;
}

}  // namespace

std::string format_delay(double seconds) {
  const long long total = std::llround(seconds);
  const unsigned long long a = total < 0 ? 0ULL - static_cast<unsigned long long>(total)
                                         : static_cast<unsigned long long>(total);
  std::string out = total < 0 ? "-" : "";
  const auto h = a / 3600;
  const auto m = (a % 3600) / 60;
  const auto s = a % 60;
  if (h > 0) out += std::to_string(h) + "h";
  if (h > 0 || m > 0) out += std::to_string(m) + "m";
  out += std::to_string(s) + "s";
  return out;
}

// --- output --------------------------------------------------------------------------------

std::string format_table(const eval_report& r) {
  std::ostringstream out;
  out << "run: scenario " << (r.scenario.empty() ? "-" : r.scenario) << ", seed " << r.seed << ", "
      << r.patients << " patients, " << iso_time(r.start) << " .. "
      << (r.end ? iso_time(*r.end) : std::string("?")) << ", " << fixed(r.patient_days, 2)
      << " patient-days\n";
  out << "alerts: " << r.alerts_physiological << " physiological ("
      << fixed(r.alerts_per_patient_day, 2) << " per patient-day), " << r.alerts_technical
      << " technical, " << r.alerts_ignored << " ignored (other patients or outside the run)\n";
  out << "labels: " << r.event_labels << " events, " << r.artifact_labels << " artifacts, "
      << r.cause_labels << " causes (not scored); lead " << format_delay(seconds_of(r.lead))
      << ", grace " << format_delay(seconds_of(r.grace)) << "\n";

  out << "\nevents (delay = first alert - threshold crossing, or start; negative = early)\n";
  if (r.events.empty()) {
    out << "  (none)\n";
  } else {
    std::vector<std::vector<std::string>> rows;
    for (const auto& e : r.events) {
      rows.push_back({e.kind, e.vital, e.actionable, std::to_string(e.events),
                      std::to_string(e.detected), std::to_string(e.missed), percent(e.sensitivity),
                      std::to_string(e.alerts), fixed(e.alerts_per_event, 2),
                      e.median_delay_s ? format_delay(*e.median_delay_s) : "-",
                      e.p90_delay_s ? format_delay(*e.p90_delay_s) : "-"});
    }
    out << render({"kind", "vital", "actionable", "events", "detected", "missed", "sensitivity",
                   "alerts", "alerts/event", "median delay", "p90 delay"},
                  rows, 3);
  }

  if (!r.rules.empty()) {
    out << "\nevents by rule (each rule's first alert per event, same reference)\n";
    std::vector<std::vector<std::string>> rows;
    std::map<std::string, std::size_t> events_of;
    for (const auto& e : r.events) events_of[e.kind] = e.events;
    for (const auto& x : r.rules) {
      rows.push_back({x.kind, x.rule,
                      std::to_string(x.detected) + "/" + std::to_string(events_of[x.kind]),
                      x.median_delay_s ? format_delay(*x.median_delay_s) : "-",
                      x.p90_delay_s ? format_delay(*x.p90_delay_s) : "-"});
    }
    out << render({"kind", "rule", "found", "median delay", "p90 delay"}, rows, 2);
  }

  out << "\nartifacts (false alerts raised inside them)\n";
  if (r.artifacts.empty()) {
    out << "  (none)\n";
  } else {
    std::vector<std::vector<std::string>> rows;
    for (const auto& a : r.artifacts) {
      rows.push_back({a.kind, std::to_string(a.count), std::to_string(a.alerts)});
    }
    out << render({"kind", "count", "alerts on them"}, rows, 1);
  }

  out << "\nfalse alerts: " << r.false_alerts << " (" << fixed(r.false_per_patient_day, 2)
      << " per patient-day), " << r.alerts_on_artifacts << " of them on artifacts\n";
  if (!r.false_by_rule.empty()) {
    std::vector<std::vector<std::string>> rows;
    for (const auto& [rule, n] : r.false_by_rule) {
      rows.push_back({rule, std::to_string(n), fixed(static_cast<double>(n) / r.patient_days, 2)});
    }
    out << render({"rule", "false", "per patient-day"}, rows, 1);
  }
  out << "\ntechnical alerts: " << r.alerts_technical << " (not scored)\n";
  if (!r.technical_by_rule.empty()) {
    std::vector<std::vector<std::string>> rows;
    for (const auto& [rule, n] : r.technical_by_rule) rows.push_back({rule, std::to_string(n)});
    out << render({"rule", "alerts"}, rows, 1);
  }
  return out.str();
}

std::string to_json(const eval_report& r) {
  ojson j;
  j["run"] = {{"scenario", r.scenario},
              {"seed", r.seed},
              {"patients", r.patients},
              {"start", epoch_ms(r.start)},
              {"end", r.end ? ojson(epoch_ms(*r.end)) : ojson(nullptr)},
              {"patient_days", r.patient_days}};
  j["options"] = {{"lead_s", seconds_of(r.lead)}, {"grace_s", seconds_of(r.grace)}};
  j["labels"] = {
      {"events", r.event_labels}, {"artifacts", r.artifact_labels}, {"causes", r.cause_labels}};
  j["alerts"] = {{"physiological", r.alerts_physiological},
                 {"technical", r.alerts_technical},
                 {"ignored", r.alerts_ignored},
                 {"physiological_per_patient_day", r.alerts_per_patient_day}};
  ojson events = ojson::array();
  for (const auto& e : r.events) {
    ojson row;
    row["kind"] = e.kind;
    row["vital"] = e.vital;
    row["actionable"] = e.actionable;
    row["events"] = e.events;
    row["detected"] = e.detected;
    row["missed"] = e.missed;
    row["sensitivity"] = e.sensitivity;
    row["alerts"] = e.alerts;
    row["alerts_per_event"] = e.alerts_per_event;
    row["median_delay_s"] = optional_number(e.median_delay_s);
    row["p90_delay_s"] = optional_number(e.p90_delay_s);
    events.push_back(std::move(row));
  }
  j["events"] = std::move(events);
  ojson rules = ojson::array();
  for (const auto& x : r.rules) {
    ojson row;
    row["kind"] = x.kind;
    row["rule"] = x.rule;
    row["detected"] = x.detected;
    row["median_delay_s"] = optional_number(x.median_delay_s);
    row["p90_delay_s"] = optional_number(x.p90_delay_s);
    rules.push_back(std::move(row));
  }
  j["events_by_rule"] = std::move(rules);
  ojson artifacts = ojson::array();
  for (const auto& a : r.artifacts) {
    ojson row;
    row["kind"] = a.kind;
    row["count"] = a.count;
    row["alerts"] = a.alerts;
    artifacts.push_back(std::move(row));
  }
  j["artifacts"] = std::move(artifacts);
  j["alerts_on_artifacts"] = r.alerts_on_artifacts;
  j["false_alerts"] = {{"total", r.false_alerts},
                       {"per_patient_day", r.false_per_patient_day},
                       {"by_rule", by_rule_json(r.false_by_rule)}};
  j["technical_alerts"] = {{"total", r.alerts_technical},
                           {"by_rule", by_rule_json(r.technical_by_rule)}};
  return j.dump(2) + "\n";
}

}  // namespace vitals::simulators
