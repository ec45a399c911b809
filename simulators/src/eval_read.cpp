// vitals-eval's input: the labels written by vitals-sim, alerts as JSON lines or from a vitalsd
// database, and the durations of its options. Every mistake names the file, the line and the key.

#include <vitals/simulators/eval.hpp>

#include <sqlite3.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <set>
#include <utility>

#include <nlohmann/json.hpp>

#include "eval_detail.hpp"
#include "json_fields.hpp"

namespace vitals::simulators {

namespace {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;
using std::chrono::milliseconds;

using detail::epoch_ms;

bool blank(std::string_view line) {
  return line.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

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
    // cleared_at) with their names and meaning; version 4 added sample columns only, version 5
    // the patient registry.
    version = sqlite3_column_int64(s.get(), 0);
    if (version < 1 || version > 5) {
      throw eval_input_error("SQLite database '" + path + "': schema version " +
                             std::to_string(version) +
                             (version == 0 ? " (not a vitalsd database)" : "") +
                             ", this vitals-eval reads versions 1 to 5");
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

}  // namespace vitals::simulators
