// vitals-eval's scorer: reads labels and alerts, matches them, and renders the figures.

#include <vitals/simulators/eval.hpp>

#include <sqlite3.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <limits>
#include <memory>
#include <set>
#include <sstream>
#include <utility>

#include <nlohmann/json.hpp>

#include "eval_text.hpp"
#include "json_fields.hpp"

namespace vitals::simulators {

namespace {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;
using std::chrono::milliseconds;

std::int64_t epoch_ms(core::timestamp t) noexcept {
  return t.time_since_epoch().count();
}

double seconds_of(milliseconds d) noexcept {
  return static_cast<double>(d.count()) / 1000.0;
}

bool blank(std::string_view line) {
  return line.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

using eval_text::fixed;
using eval_text::median_of;
using eval_text::render;
using json_fields::bad_key;
using json_fields::parse_object;

core::timestamp time_of(const json& j, std::string_view key) {
  return json_fields::required_time(j, key);
}

std::optional<core::timestamp> optional_time_of(const json& j, std::string_view key) {
  return json_fields::optional_time(j, key);
}

std::string string_of(const json& j, std::string_view key) {
  return json_fields::required_string(j, key);
}

/// Parses the run record line (already known to have "type":"run").
run_record run_from_json(const json& j) {
  run_record r;
  if (const auto it = j.find("scenario"); it != j.end() && !it->is_null()) {
    if (!it->is_string()) bad_key("scenario", "expected a string");
    r.scenario = it->get<std::string>();
  }
  if (const auto it = j.find("seed"); it != j.end() && !it->is_null()) {
    if (!it->is_number_unsigned()) bad_key("seed", "expected a non-negative integer");
    r.seed = it->get<std::uint64_t>();
  }
  const auto it = j.find("patients");
  if (it == j.end()) bad_key("patients", "missing");
  if (!it->is_array()) bad_key("patients", "expected an array of patient ids");
  std::set<std::string> seen;
  for (const auto& p : *it) {
    if (!p.is_string() || p.get<std::string>().empty()) {
      bad_key("patients", "expected non-empty strings");
    }
    if (!seen.insert(p.get<std::string>()).second) {
      bad_key("patients", "'" + p.get<std::string>() + "' listed twice");
    }
    r.patients.push_back(p.get<std::string>());
  }
  r.start = time_of(j, "start");
  r.end = optional_time_of(j, "end");
  if (r.end && *r.end < r.start) bad_key("end", "before start");
  return r;
}

std::ifstream open_input(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open '" + path + "'");
  return in;
}

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

/// Nearest rank: the ceil(0.9 n)-th smallest.
double p90_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t rank = (9 * v.size() + 9) / 10;  // ceil(9n / 10), n >= 1
  return v[rank - 1];
}

bool vital_matches(const std::optional<core::vital_kind>& label_vital, core::vital_kind v) {
  return !label_vital || *label_vital == v;
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

// --- labels --------------------------------------------------------------------------------

label_set read_labels(std::istream& in, const std::string& name) {
  label_set set;
  set.name = name;
  bool have_run = false;
  std::string line;
  for (std::size_t number = 1; std::getline(in, line); ++number) {
    if (blank(line)) continue;
    try {
      const json j = parse_object(line);
      const auto type_it = j.find("type");
      const bool is_string = type_it != j.end() && type_it->is_string();
      const std::string type = is_string ? type_it->get<std::string>() : std::string();
      if (!have_run) {
        if (type != "run") {
          throw std::invalid_argument(
              "key 'type': the first line must be the run record {\"type\":\"run\",...}");
        }
        set.run = run_from_json(j);
        have_run = true;
      } else if (type == "run") {
        throw std::invalid_argument("key 'type': a second run record");
      } else if (type == "run_end") {
        const auto end = time_of(j, "end");
        if (end < set.run.start) bad_key("end", "before the run's start");
        set.run_end = end;
      } else {
        auto l = label_from_json(line);
        if (std::find(set.run.patients.begin(), set.run.patients.end(), l.patient) ==
            set.run.patients.end()) {
          bad_key("patient", "not in the run record");
        }
        set.labels.push_back(std::move(l));
      }
    } catch (const std::invalid_argument& e) {
      throw eval_input_error(name + ":" + std::to_string(number) + ": " + e.what());
    }
  }
  if (in.bad()) throw std::runtime_error("cannot read '" + name + "'");
  if (!have_run) throw eval_input_error(name + ": no run record (the file is empty)");
  return set;
}

label_set read_labels_file(const std::string& path) {
  auto in = open_input(path);
  return read_labels(in, path);
}

// --- alerts --------------------------------------------------------------------------------

std::string to_json(const eval_alert& a) {
  ojson j;
  j["patient"] = a.patient;
  j["rule"] = a.rule;
  j["vital"] = std::string(core::to_string(a.vital));
  j["source"] = std::string(core::to_string(a.source));
  j["priority"] = std::string(core::to_string(a.level));
  j["raised"] = epoch_ms(a.raised);
  j["cleared"] = a.cleared ? ojson(epoch_ms(*a.cleared)) : ojson(nullptr);
  return j.dump();
}

eval_alert alert_from_json(std::string_view line) {
  const json j = parse_object(line);
  eval_alert a;
  a.patient = string_of(j, "patient");
  a.rule = string_of(j, "rule");
  const auto vital = string_of(j, "vital");
  const auto kind = core::parse_vital_kind(vital);
  if (!kind) bad_key("vital", "'" + vital + "' is not hr, spo2 or glucose");
  a.vital = *kind;
  if (const auto it = j.find("source"); it != j.end() && !it->is_null()) {
    const auto s = it->is_string() ? it->get<std::string>() : std::string();
    if (s == "physiological") {
      a.source = core::alert_source::physiological;
    } else if (s == "technical") {
      a.source = core::alert_source::technical;
    } else {
      bad_key("source", "expected \"physiological\" or \"technical\"");
    }
  }
  if (const auto it = j.find("priority"); it != j.end() && !it->is_null()) {
    const auto s = it->is_string() ? it->get<std::string>() : std::string();
    if (s == "low") {
      a.level = core::priority::low;
    } else if (s == "medium") {
      a.level = core::priority::medium;
    } else if (s == "high") {
      a.level = core::priority::high;
    } else {
      bad_key("priority", "expected \"low\", \"medium\" or \"high\"");
    }
  }
  a.raised = time_of(j, "raised");
  a.cleared = optional_time_of(j, "cleared");
  if (a.cleared && *a.cleared < a.raised) bad_key("cleared", "before raised");
  return a;
}

std::vector<eval_alert> read_alerts(std::istream& in, const std::string& name) {
  std::vector<eval_alert> alerts;
  std::string line;
  for (std::size_t number = 1; std::getline(in, line); ++number) {
    if (blank(line)) continue;
    try {
      alerts.push_back(alert_from_json(line));
    } catch (const std::invalid_argument& e) {
      throw eval_input_error(name + ":" + std::to_string(number) + ": " + e.what());
    }
  }
  if (in.bad()) throw std::runtime_error("cannot read '" + name + "'");
  return alerts;
}

std::vector<eval_alert> read_alerts_file(const std::string& path) {
  auto in = open_input(path);
  return read_alerts(in, path);
}

std::vector<eval_alert> read_alerts_db(const std::string& path) {
  struct closer {
    void operator()(sqlite3* d) const noexcept { sqlite3_close_v2(d); }
  };
  struct finalizer {
    void operator()(sqlite3_stmt* s) const noexcept { sqlite3_finalize(s); }
  };
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr);
  std::unique_ptr<sqlite3, closer> db(raw);
  const auto fail = [&](const std::string& what) -> std::runtime_error {
    return std::runtime_error("SQLite database '" + path + "': " + what);
  };
  if (rc != SQLITE_OK) {
    throw fail(raw != nullptr ? sqlite3_errmsg(raw) : sqlite3_errstr(rc));
  }
  sqlite3_busy_timeout(db.get(), 5000);
  const auto prepare = [&](const char* sql) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db.get(), sql, -1, &s, nullptr) != SQLITE_OK) {
      throw fail(sqlite3_errmsg(db.get()));
    }
    return std::unique_ptr<sqlite3_stmt, finalizer>(s);
  };
  std::int64_t version = 0;
  {
    auto s = prepare("PRAGMA user_version");
    if (sqlite3_step(s.get()) != SQLITE_ROW) throw fail(sqlite3_errmsg(db.get()));
    // Version 2 added the personal baselines table; version 3 rebuilt alerts for the alert
    // manager, keeping the columns read here (rule, kind, priority, source, raised_at,
    // cleared_at) with their names and meaning; version 4 added sample columns only.
    version = sqlite3_column_int64(s.get(), 0);
    if (version < 1 || version > 4) {
      throw eval_input_error("SQLite database '" + path + "': schema version " +
                             std::to_string(version) +
                             (version == 0 ? " (not a vitalsd database)" : "") +
                             ", this vitals-eval reads versions 1 to 3");
    }
  }
  // From version 3 on, a more severe rule of an alert's group (glucose_urgent_low under
  // glucose_low) escalates that alert instead of opening its own. It is scored as the alert
  // of that rule it used to be, starting at the escalation: the audit event's reason begins
  // with the rule's name ("glucose_urgent_low raised the priority to high").
  const std::string escalations =
      version >= 3
          ? " UNION ALL SELECT p.key, substr(e.reason, 1, instr(e.reason, ' ') - 1), a.kind, "
            "e.priority, a.source, e.data_time, a.cleared_at, a.id FROM alert_events e "
            "JOIN alerts a ON a.id = e.alert_id JOIN patients p ON p.id = a.patient_id "
            "WHERE e.action = 'escalated' AND e.data_time IS NOT NULL AND "
            "instr(e.reason, ' ') > 1"
          : "";
  auto s = prepare(("SELECT p.key, a.rule, a.kind, a.priority, a.source, a.raised_at, "
                    "a.cleared_at, a.id FROM alerts a JOIN patients p ON p.id = a.patient_id" +
                    escalations + " ORDER BY 6, 8")
                       .c_str());
  std::vector<eval_alert> alerts;
  for (;;) {
    const int step = sqlite3_step(s.get());
    if (step == SQLITE_DONE) break;
    if (step != SQLITE_ROW) throw fail(sqlite3_errmsg(db.get()));
    const auto text = [&](int col) {
      const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s.get(), col));
      return p != nullptr ? std::string(p) : std::string();
    };
    eval_alert a;
    a.patient = text(0);
    a.rule = text(1);
    const auto kind = sqlite3_column_int64(s.get(), 2);
    if (kind < 0 || kind >= static_cast<std::int64_t>(core::vital_kind_count)) {
      throw fail("alert with unknown vital kind " + std::to_string(kind));
    }
    a.vital = static_cast<core::vital_kind>(kind);
    const auto level = text(3);
    a.level = level == "low"    ? core::priority::low
              : level == "high" ? core::priority::high
                                : core::priority::medium;
    a.source =
        text(4) == "technical" ? core::alert_source::technical : core::alert_source::physiological;
    a.raised = core::timestamp{milliseconds(sqlite3_column_int64(s.get(), 5))};
    if (sqlite3_column_type(s.get(), 6) != SQLITE_NULL) {
      a.cleared = core::timestamp{milliseconds(sqlite3_column_int64(s.get(), 6))};
    }
    alerts.push_back(std::move(a));
  }
  return alerts;
}

// --- durations -----------------------------------------------------------------------------

std::optional<milliseconds> parse_eval_duration(std::string_view text) {
  if (text.empty() || text.size() > 32) return std::nullopt;
  if (text.find_first_not_of("0123456789.") == std::string_view::npos) {
    const std::string s(text);
    char* end = nullptr;
    const double secs = std::strtod(s.c_str(), &end);
    if (*end != '\0' || !(secs >= 0.0) || secs > 1e9) return std::nullopt;
    return milliseconds(std::llround(secs * 1000.0));
  }
  std::int64_t total = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    std::int64_t n = 0;
    const std::size_t digits_from = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      n = n * 10 + (text[i] - '0');
      if (n > 1'000'000'000) return std::nullopt;
      ++i;
    }
    if (i == digits_from || i == text.size()) return std::nullopt;
    std::int64_t unit = 0;
    switch (text[i]) {
      case 's':
        unit = 1000;
        break;
      case 'm':
        unit = 60'000;
        break;
      case 'h':
        unit = 3'600'000;
        break;
      case 'd':
        unit = 86'400'000;
        break;
      default:
        return std::nullopt;
    }
    ++i;
    total += n * unit;
    if (total > 1'000'000'000'000'000) return std::nullopt;
  }
  return milliseconds(total);
}

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

// --- scoring -------------------------------------------------------------------------------

eval_report evaluate(const label_set& labels, std::span<const eval_alert> alerts,
                     const eval_options& options) {
  eval_report r;
  const auto& run = labels.run;
  r.scenario = run.scenario;
  r.seed = run.seed;
  r.patients = run.patients.size();
  r.start = run.start;
  r.end = labels.run_end ? labels.run_end : run.end;
  r.lead = options.lead;
  r.grace = options.grace;

  if (options.patient_days) {
    if (!(*options.patient_days > 0.0) || !std::isfinite(*options.patient_days)) {
      throw eval_input_error("--patient-days must be a positive number");
    }
    r.patient_days = *options.patient_days;
  } else if (!r.end) {
    throw eval_input_error(labels.name +
                           ": no run_end line and the run record has no planned end; give "
                           "--patient-days");
  } else {
    const double days = static_cast<double>((*r.end - r.start).count()) / (24.0 * 3600.0 * 1000.0);
    r.patient_days = static_cast<double>(r.patients) * days;
    if (!(r.patient_days > 0.0)) {
      throw eval_input_error(labels.name +
                             ": the run covers no time (end = start) or has no patients; give "
                             "--patient-days");
    }
  }

  // Alerts in scope: patients of the run, raised in [start, end + grace]; sorted by time so
  // that the first match is the earliest.
  const std::set<std::string> patients(run.patients.begin(), run.patients.end());
  std::vector<const eval_alert*> physio;
  for (const auto& a : alerts) {
    const bool in_scope = patients.count(a.patient) != 0 && a.raised >= r.start &&
                          (!r.end || a.raised <= *r.end + options.grace);
    if (!in_scope) {
      ++r.alerts_ignored;
    } else if (a.source == core::alert_source::technical) {
      ++r.alerts_technical;
      ++r.technical_by_rule[a.rule];
    } else {
      ++r.alerts_physiological;
      physio.push_back(&a);
    }
  }
  std::stable_sort(physio.begin(), physio.end(),
                   [](const eval_alert* a, const eval_alert* b) { return a->raised < b->raised; });
  r.alerts_per_patient_day = static_cast<double>(r.alerts_physiological) / r.patient_days;

  struct kind_acc {
    std::size_t events = 0, detected = 0, actionable = 0;
    std::set<std::string> vitals;  // "any" for unset
    std::set<std::size_t> alerts;  // indices into physio
    std::vector<double> delays;
  };
  std::map<std::string, kind_acc> kinds;
  std::map<std::pair<std::string, std::string>, std::vector<double>> rule_delays;
  std::vector<bool> excused(physio.size(), false);  // matches an actionable event

  for (const auto& l : labels.labels) {
    if (l.type == label_type::artifact) {
      ++r.artifact_labels;
      continue;
    }
    if (l.type == label_type::cause) {
      ++r.cause_labels;
      continue;
    }
    ++r.event_labels;
    auto& k = kinds[l.kind];
    ++k.events;
    if (l.actionable) ++k.actionable;
    k.vitals.insert(l.vital ? std::string(core::to_string(*l.vital)) : std::string("any"));
    const auto from = l.start - options.lead;
    const auto to = l.end + options.grace;
    std::optional<core::timestamp> first;
    std::map<std::string, core::timestamp> first_by_rule;
    for (std::size_t i = 0; i < physio.size(); ++i) {
      const auto& a = *physio[i];
      if (a.patient != l.patient || !vital_matches(l.vital, a.vital)) continue;
      const bool in_window = a.raised >= from && a.raised <= to;
      const bool active_at_start = a.raised < from && (!a.cleared || *a.cleared > l.start);
      if (!in_window && !active_at_start) continue;
      k.alerts.insert(i);
      if (l.actionable) excused[i] = true;
      if (!first || a.raised < *first) first = a.raised;
      const auto [it, fresh] = first_by_rule.emplace(a.rule, a.raised);
      if (!fresh && a.raised < it->second) it->second = a.raised;
    }
    const auto reference = l.crossed ? *l.crossed : l.start;
    if (first) {
      ++k.detected;
      k.delays.push_back(seconds_of(*first - reference));
    }
    for (const auto& [rule, raised] : first_by_rule) {
      rule_delays[{l.kind, rule}].push_back(seconds_of(raised - reference));
    }
  }

  for (auto& [kind, k] : kinds) {
    event_row row;
    row.kind = kind;
    row.vital = k.vitals.size() == 1 ? *k.vitals.begin() : std::string("mixed");
    row.actionable = k.actionable == k.events ? "yes" : k.actionable == 0 ? "no" : "mixed";
    row.events = k.events;
    row.detected = k.detected;
    row.missed = k.events - k.detected;
    row.sensitivity = static_cast<double>(k.detected) / static_cast<double>(k.events);
    row.alerts = k.alerts.size();
    row.alerts_per_event = static_cast<double>(k.alerts.size()) / static_cast<double>(k.events);
    if (!k.delays.empty()) {
      row.median_delay_s = median_of(k.delays);
      row.p90_delay_s = p90_of(k.delays);
    }
    r.events.push_back(std::move(row));
  }
  for (auto& [key, delays] : rule_delays) {
    rule_row row;
    row.kind = key.first;
    row.rule = key.second;
    row.detected = delays.size();
    row.median_delay_s = median_of(delays);
    row.p90_delay_s = p90_of(delays);
    r.rules.push_back(std::move(row));
  }
  const auto rank = [](const std::string& actionable) {
    return actionable == "yes" ? 0 : actionable == "mixed" ? 1 : 2;
  };
  std::stable_sort(r.events.begin(), r.events.end(), [&](const event_row& a, const event_row& b) {
    return rank(a.actionable) < rank(b.actionable);
  });

  // False alerts, and which of them were raised on an artifact.
  std::map<std::string, artifact_row> artifacts;
  for (const auto& l : labels.labels) {
    if (l.type != label_type::artifact) continue;
    auto& row = artifacts[l.kind];
    row.kind = l.kind;
    ++row.count;
  }
  std::map<std::string, std::set<std::size_t>> on_artifact;
  std::set<std::size_t> on_any_artifact;
  for (std::size_t i = 0; i < physio.size(); ++i) {
    if (excused[i]) continue;
    const auto& a = *physio[i];
    ++r.false_alerts;
    ++r.false_by_rule[a.rule];
    for (const auto& l : labels.labels) {
      if (l.type != label_type::artifact || l.patient != a.patient) continue;
      if (!vital_matches(l.vital, a.vital)) continue;
      if (a.raised < l.start || a.raised > l.end + options.grace) continue;
      on_artifact[l.kind].insert(i);
      on_any_artifact.insert(i);
    }
  }
  for (auto& [kind, row] : artifacts) {
    row.alerts = on_artifact[kind].size();
    r.artifacts.push_back(row);
  }
  r.alerts_on_artifacts = on_any_artifact.size();
  r.false_per_patient_day = static_cast<double>(r.false_alerts) / r.patient_days;
  return r;
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
