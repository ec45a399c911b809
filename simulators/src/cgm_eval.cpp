// vitals-eval --episodes: hypoglycaemia episodes of recorded CGM traces, hypo alerts (vitalsd's
// and the baselines'), and the scoring of shared/data/README.md ("How glucose alerting is
// scored").

#include <vitals/simulators/cgm_eval.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <tuple>

#include <nlohmann/json.hpp>

#include <vitals/core/glucose_forecast.hpp>

#include "eval_text.hpp"

namespace vitals::simulators {

namespace {

using ojson = nlohmann::ordered_json;
using eval_text::fixed;
using eval_text::median_of;
using eval_text::render;
using std::chrono::milliseconds;
using std::chrono::minutes;

std::string_view trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string_view::npos) return {};
  const auto e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

/// Fields of one CSV line (no quoting: the episodes files have none), trimmed.
std::vector<std::string_view> split_fields(std::string_view line) {
  std::vector<std::string_view> fields;
  std::size_t from = 0;
  for (;;) {
    const auto comma = line.find(',', from);
    fields.push_back(
        trim(line.substr(from, comma == std::string_view::npos ? comma : comma - from)));
    if (comma == std::string_view::npos) break;
    from = comma + 1;
  }
  return fields;
}

/// The name of a path: what follows the last '/'.
std::string_view base_name(std::string_view path) {
  const auto slash = path.find_last_of('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

double minutes_of(milliseconds d) {
  return static_cast<double>(d.count()) / 60000.0;
}

std::int64_t epoch_ms(core::timestamp t) {
  return t.time_since_epoch().count();
}

/// "2014-10-03 04:29" in the local time of `offset`.
std::string local_time(core::timestamp t, minutes offset) {
  const auto local = t + offset;
  const auto day = std::chrono::floor<std::chrono::days>(local);
  const std::chrono::year_month_day ymd{day};
  const auto of_day = std::chrono::duration_cast<minutes>(local - day).count();
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u %02d:%02d", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(of_day / 60), static_cast<int>(of_day % 60));
  return buf;
}

/// "+01:00", "-05:30".
std::string offset_text(minutes offset) {
  const auto m = offset.count();
  const auto a = m < 0 ? -m : m;
  char buf[16];
  std::snprintf(buf, sizeof buf, "%c%02d:%02d", m < 0 ? '-' : '+', static_cast<int>(a / 60),
                static_cast<int>(a % 60));
  return buf;
}

/// "30m", "15m", "1h30m" for the table.
std::string duration_text(milliseconds d) {
  return format_delay(static_cast<double>(d.count()) / 1000.0);
}

/// The gap limit of a trace: gap_intervals x its reading interval.
milliseconds gap_limit_of(const trace& t, const cgm_eval_options& options) {
  const double ms = static_cast<double>(reading_interval(t).count()) * options.gap_intervals;
  return milliseconds(std::llround(ms));
}

const patient_trace* trace_of(const cgm_dataset& data, const std::string& patient) {
  for (const auto& t : data.traces) {
    if (t.patient == patient) return &t;
  }
  return nullptr;
}

std::optional<bool> threshold_55(std::span<const trace_row> seen, milliseconds) {
  return seen.back().value <= 55.0;
}

std::optional<bool> threshold_70(std::span<const trace_row> seen, milliseconds) {
  return seen.back().value < 70.0;
}

std::optional<bool> ar2_low(std::span<const trace_row> seen, milliseconds) {
  if (seen.size() < 2) return std::nullopt;
  const auto& cur = seen[seen.size() - 1];
  const auto& prev = seen[seen.size() - 2];
  const auto step = cur.ts - prev.ts;
  if (step < minutes(4) || step > minutes(6)) return std::nullopt;
  return core::ar2_predictive_low(prev.value, cur.value);
}

std::optional<bool> linear_low(std::span<const trace_row> seen, milliseconds gap_limit) {
  if (seen.size() < 3) return std::nullopt;
  const auto last3 = seen.subspan(seen.size() - 3);
  core::timed_glucose points[3];
  for (std::size_t i = 0; i < 3; ++i) {
    if (i > 0 && last3[i].ts - last3[i - 1].ts > gap_limit) return std::nullopt;
    points[i] = {minutes_of(last3[i].ts - last3[0].ts), last3[i].value};
  }
  const auto at_20 = core::linear_extrapolation(points, 20.0);
  if (!at_20) return std::nullopt;
  return *at_20 <= 55.0;
}

}  // namespace

// --- episodes ------------------------------------------------------------------------------

std::string patient_mapping::patient_of(std::string_view file) const {
  const auto name = std::string(base_name(file));
  if (const auto it = by_file.find(name); it != by_file.end()) return it->second;
  const auto dot = name.find_last_of('.');
  return prefix + (dot == std::string::npos || dot == 0 ? name : name.substr(0, dot));
}

std::optional<std::pair<std::string, std::string>> parse_patient_map_entry(std::string_view text) {
  const auto eq = text.find('=');
  if (eq == std::string_view::npos) return std::nullopt;
  const auto file = trim(text.substr(0, eq));
  const auto id = trim(text.substr(eq + 1));
  if (file.empty() || !valid_replay_id(id)) return std::nullopt;
  return std::pair{std::string(base_name(file)), std::string(id)};
}

std::vector<hypo_episode> read_episodes(std::istream& in, const std::string& name,
                                        minutes utc_offset, const patient_mapping& mapping) {
  std::vector<hypo_episode> episodes;
  std::vector<std::string> columns;
  std::optional<std::size_t> col_file, col_level, col_start, col_end, col_threshold;
  std::string text;
  for (std::size_t number = 1; std::getline(in, text); ++number) {
    const auto line = trim(text);
    if (line.empty() || line.front() == '#') continue;
    const auto fields = split_fields(line);
    const auto fail = [&](const std::string& what) {
      throw eval_input_error(name + ":" + std::to_string(number) + ": " + what);
    };
    if (columns.empty()) {
      for (std::size_t i = 0; i < fields.size(); ++i) {
        const std::string c(fields[i]);
        columns.push_back(c);
        if (c == "file") col_file = i;
        if (c == "level") col_level = i;
        if (c == "start") col_start = i;
        if (c == "end") col_end = i;
        if (c == "threshold_mg_dl") col_threshold = i;
      }
      for (const auto& [col, what] : {std::pair{col_file, "file"}, std::pair{col_level, "level"},
                                      std::pair{col_start, "start"}, std::pair{col_end, "end"}}) {
        if (!col) {
          fail(std::string("header: no column '") + what +
               "' (expected dataset,file,level,threshold_mg_dl,start,end,...)");
        }
      }
      continue;
    }
    if (fields.size() != columns.size()) {
      fail("expected " + std::to_string(columns.size()) + " fields as in the header, found " +
           std::to_string(fields.size()));
    }
    const auto bad = [&](std::string_view column, const std::string& what) {
      fail("column '" + std::string(column) + "': " + what);
    };
    hypo_episode e;
    e.line = number;
    e.file = std::string(fields[*col_file]);
    if (e.file.empty()) bad("file", "empty");
    e.patient = mapping.patient_of(e.file);
    const auto level = fields[*col_level];
    if (level == "L1_lt70") {
      e.level = hypo_level::level1;
      e.threshold = 70.0;
    } else if (level == "L2_lt54") {
      e.level = hypo_level::level2;
      e.threshold = 54.0;
    } else {
      bad("level", "unknown level '" + std::string(level) + "' (known: L1_lt70, L2_lt54)");
    }
    if (col_threshold && !fields[*col_threshold].empty()) {
      const std::string t(fields[*col_threshold]);
      char* end = nullptr;
      const double v = std::strtod(t.c_str(), &end);
      if (*end != '\0' || !std::isfinite(v) || v <= 0.0) {
        bad("threshold_mg_dl", "'" + t + "' is not a positive number");
      }
      e.threshold = v;
    }
    const auto time_of = [&](std::size_t col, std::string_view column) {
      const auto t = parse_trace_time(fields[col], utc_offset);
      if (!t) {
        bad(column, "time '" + std::string(fields[col]) +
                        "' is not YYYY-MM-DD HH:MM[:SS], RFC 3339 or epoch ms");
      }
      return *t;
    };
    e.start = time_of(*col_start, "start");
    e.end = time_of(*col_end, "end");
    if (e.end < e.start) bad("end", "before the start");
    episodes.push_back(std::move(e));
  }
  if (in.bad()) throw std::runtime_error("cannot read '" + name + "'");
  if (columns.empty()) throw eval_input_error(name + ": no header line (the file is empty)");
  return episodes;
}

std::vector<hypo_episode> read_episodes_file(const std::string& path, minutes utc_offset,
                                             const patient_mapping& mapping) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open '" + path + "'");
  return read_episodes(in, path, utc_offset, mapping);
}

cgm_dataset make_cgm_dataset(std::string name, std::vector<hypo_episode> episodes,
                             std::vector<patient_trace> traces, minutes utc_offset) {
  if (traces.empty()) throw eval_input_error("no trace given (--trace FILE)");
  cgm_dataset data;
  data.name = std::move(name);
  data.utc_offset = utc_offset;
  for (auto& t : traces) {
    if (t.data.rows.empty()) throw eval_input_error(t.data.name + ": no readings");
    for (const auto& other : data.traces) {
      if (other.patient == t.patient) {
        throw eval_input_error("traces '" + other.data.name + "' and '" + t.data.name +
                               "' are both of patient '" + t.patient + "'");
      }
    }
    data.traces.push_back(std::move(t));
  }
  for (auto& e : episodes) {
    const auto* t = trace_of(data, e.patient);
    if (t == nullptr) {
      ++data.without_trace;
    } else if (e.start < t->data.rows.front().ts || e.end > t->data.rows.back().ts) {
      ++data.outside_trace;
    } else {
      data.episodes.push_back(std::move(e));
    }
  }
  std::stable_sort(data.episodes.begin(), data.episodes.end(), [](const auto& a, const auto& b) {
    return std::tie(a.patient, a.start) < std::tie(b.patient, b.start);
  });
  return data;
}

double patient_days(const cgm_dataset& data) {
  milliseconds total{0};
  for (const auto& t : data.traces) total += t.data.rows.back().ts - t.data.rows.front().ts;
  return static_cast<double>(total.count()) / (24.0 * 3600.0 * 1000.0);
}

milliseconds reading_interval(const trace& t) {
  std::vector<double> steps;
  for (std::size_t i = 1; i < t.rows.size(); ++i) {
    const auto d = t.rows[i].ts - t.rows[i - 1].ts;
    if (d > milliseconds(0)) steps.push_back(static_cast<double>(d.count()));
  }
  if (steps.empty()) return minutes(5);
  return milliseconds(std::llround(median_of(std::move(steps))));
}

// --- hypo alerts ---------------------------------------------------------------------------

std::vector<hypo_alert> merge_hypo_alerts(std::vector<hypo_alert> alerts, const trace& t,
                                          const cgm_eval_options& options) {
  const auto limit = gap_limit_of(t, options);
  struct gap {
    core::timestamp from, to;  // the readings either side
  };
  std::vector<gap> gaps;
  for (std::size_t i = 1; i < t.rows.size(); ++i) {
    if (t.rows[i].ts - t.rows[i - 1].ts > limit) gaps.push_back({t.rows[i - 1].ts, t.rows[i].ts});
  }
  // An alert active across a gap ends at the gap.
  for (auto& a : alerts) {
    for (const auto& g : gaps) {
      if (g.from < a.raised) continue;
      if (!a.cleared || *a.cleared > g.from + limit) a.cleared = g.from + limit;
      break;
    }
  }
  std::stable_sort(alerts.begin(), alerts.end(),
                   [](const auto& a, const auto& b) { return a.raised < b.raised; });
  std::vector<hypo_alert> merged;
  for (const auto& a : alerts) {
    if (!merged.empty()) {
      auto& cur = merged.back();
      bool continues = !cur.cleared || a.raised <= *cur.cleared;
      if (!continues && a.raised - *cur.cleared < options.rearm) {
        continues = std::none_of(gaps.begin(), gaps.end(), [&](const gap& g) {
          return g.from < a.raised && g.to > *cur.cleared;
        });
      }
      if (continues) {
        if (cur.cleared && (!a.cleared || *a.cleared > *cur.cleared)) cur.cleared = a.cleared;
        continue;
      }
    }
    merged.push_back(a);
  }
  return merged;
}

std::vector<hypo_alert> replay_condition(const trace& t, hypo_condition condition,
                                         const cgm_eval_options& options) {
  const auto limit = gap_limit_of(t, options);
  std::vector<hypo_alert> alerts;
  std::optional<hypo_alert> active;
  std::optional<core::timestamp> first_clear;  // of the active alert's current clear run
  const auto end_active = [&](core::timestamp cleared) {
    active->cleared = cleared;
    alerts.push_back(*active);
    active.reset();
    first_clear.reset();
  };
  const std::span<const trace_row> rows(t.rows);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const auto now = rows[i].ts;
    if (i > 0 && active && now - rows[i - 1].ts > limit) {
      end_active(first_clear ? *first_clear : rows[i - 1].ts + limit);
    }
    const auto c = condition(rows.first(i + 1), limit);
    if (c && *c) {
      if (!active) active = hypo_alert{now, std::nullopt};
      first_clear.reset();
    } else if (active) {
      if (c && !first_clear) first_clear = now;
      if (first_clear && now - *first_clear >= options.rearm) end_active(*first_clear);
    }
  }
  if (active) {
    active->cleared = first_clear;
    alerts.push_back(*active);
  }
  return alerts;
}

std::string_view baseline_id(baseline b) noexcept {
  switch (b) {
    case baseline::threshold_55:
      return "threshold_55";
    case baseline::threshold_70:
      return "threshold_70";
    case baseline::ar2:
      return "ar2";
    case baseline::linear:
      return "linear";
  }
  return "?";
}

std::string_view baseline_name(baseline b) noexcept {
  switch (b) {
    case baseline::threshold_55:
      return "reading <= 55";
    case baseline::threshold_70:
      return "reading < 70";
    case baseline::ar2:
      return "AR2 predictive low";
    case baseline::linear:
      return "linear 20 min to 55";
  }
  return "?";
}

hypo_condition baseline_condition(baseline b) noexcept {
  switch (b) {
    case baseline::threshold_55:
      return threshold_55;
    case baseline::threshold_70:
      return threshold_70;
    case baseline::ar2:
      return ar2_low;
    case baseline::linear:
      return linear_low;
  }
  return threshold_55;
}

hypo_alerts run_baseline(baseline b, const cgm_dataset& data, const cgm_eval_options& options) {
  hypo_alerts out;
  for (const auto& t : data.traces) {
    out[t.patient] = replay_condition(t.data, baseline_condition(b), options);
  }
  return out;
}

alert_selection select_alerts(std::span<const eval_alert> alerts, const cgm_dataset& data,
                              const cgm_eval_options& options) {
  alert_selection s;
  for (const auto& a : alerts) {
    ++s.read;
    if (a.source != core::alert_source::physiological || a.vital != core::vital_kind::glucose ||
        options.rules.count(a.rule) == 0) {
      ++s.other_rules;
      continue;
    }
    const auto* t = trace_of(data, a.patient);
    if (t == nullptr || a.raised < t->data.rows.front().ts || a.raised > t->data.rows.back().ts) {
      ++s.ignored;
      continue;
    }
    ++s.selected;
    s.alerts[a.patient].push_back(hypo_alert{a.raised, a.cleared});
  }
  return s;
}

// --- scoring -------------------------------------------------------------------------------

detector_score score_hypo_alerts(std::string id, std::string name, const hypo_alerts& alerts,
                                 const cgm_dataset& data, const cgm_eval_options& options) {
  detector_score s;
  s.id = std::move(id);
  s.name = std::move(name);
  const double days = patient_days(data);
  std::vector<double> leads;
  for (const auto& t : data.traces) {
    const auto it = alerts.find(t.patient);
    const auto merged = it == alerts.end() ? std::vector<hypo_alert>{}
                                           : merge_hypo_alerts(it->second, t.data, options);
    s.alerts += merged.size();
    for (const auto& e : data.episodes) {
      if (e.patient != t.patient || e.level != hypo_level::level2) continue;
      ++s.level2;
      episode_outcome o{e.patient, e.start, e.end, std::nullopt};
      std::optional<core::timestamp> first;
      for (const auto& a : merged) {
        const bool in_window = a.raised >= e.start - options.lead && a.raised <= e.end;
        const bool active_at_start = a.raised < e.start && (!a.cleared || *a.cleared > e.start);
        if ((in_window || active_at_start) && (!first || a.raised < *first)) first = a.raised;
      }
      if (first) {
        ++s.caught;
        o.lead_min = minutes_of(e.start - *first);
        leads.push_back(*o.lead_min);
      }
      s.episodes.push_back(std::move(o));
    }
    for (const auto& a : merged) {
      const bool excused = std::any_of(data.episodes.begin(), data.episodes.end(), [&](auto& e) {
        return e.patient == t.patient && e.level == hypo_level::level1 &&
               a.raised >= e.start - options.margin && a.raised <= e.end + options.margin;
      });
      if (!excused) ++s.false_alerts;
    }
  }
  if (!leads.empty()) {
    s.median_lead_min = median_of(leads);
    s.min_lead_min = *std::min_element(leads.begin(), leads.end());
  }
  s.alerts_per_patient_day = static_cast<double>(s.alerts) / days;
  s.false_per_patient_day = static_cast<double>(s.false_alerts) / days;
  return s;
}

cgm_report evaluate_cgm(const cgm_dataset& data, const std::vector<eval_alert>* alerts,
                        std::string alerts_source, bool baselines,
                        const cgm_eval_options& options) {
  cgm_report r;
  r.episodes_name = data.name;
  for (const auto& e : data.episodes) ++(e.level == hypo_level::level1 ? r.level1 : r.level2);
  r.without_trace = data.without_trace;
  r.outside_trace = data.outside_trace;
  for (const auto& t : data.traces) r.patients.push_back(t.patient);
  std::sort(r.patients.begin(), r.patients.end());
  r.patient_days = patient_days(data);
  if (!(r.patient_days > 0.0)) {
    throw eval_input_error("the traces cover no time (each has one reading, or one time only)");
  }
  r.utc_offset = data.utc_offset;
  r.options = options;
  if (alerts != nullptr) {
    r.alerts_source = std::move(alerts_source);
    auto selection = select_alerts(*alerts, data, options);
    r.detectors.push_back(score_hypo_alerts("vitalsd", "vitalsd", selection.alerts, data, options));
    r.merged_alerts = r.detectors.back().alerts;
    selection.alerts.clear();
    r.selection = std::move(selection);
  }
  if (baselines) {
    for (const auto b : all_baselines) {
      r.detectors.push_back(score_hypo_alerts(std::string(baseline_id(b)),
                                              std::string(baseline_name(b)),
                                              run_baseline(b, data, options), data, options));
    }
  }
  return r;
}

// --- output --------------------------------------------------------------------------------

namespace {

std::string lead_text(const std::optional<double>& lead) {
  return lead ? fixed(*lead, 1) : std::string("-");
}

/// vitalsd against the plain threshold and AR2 (issue 4's aim): a longer median lead at no more
/// false alerts per patient-day. Empty when a row is missing.
std::vector<std::pair<const detector_score*, bool>> goal_of(const cgm_report& r) {
  std::vector<std::pair<const detector_score*, bool>> out;
  if (r.detectors.empty() || r.detectors.front().id != "vitalsd") return out;
  const auto& v = r.detectors.front();
  for (const auto& d : r.detectors) {
    if (d.id != "threshold_55" && d.id != "ar2") continue;
    const bool lead = v.caught >= d.caught && v.median_lead_min && d.median_lead_min &&
                      *v.median_lead_min > *d.median_lead_min;
    // Rates compared as printed (two decimals), so that "equal" means what the table shows.
    const bool quiet = std::llround(v.false_per_patient_day * 100.0) <=
                       std::llround(d.false_per_patient_day * 100.0);
    out.emplace_back(&d, lead && quiet);
  }
  return out;
}

}  // namespace

std::string format_table(const cgm_report& r) {
  std::ostringstream out;
  out << "episodes: " << r.episodes_name << ": " << r.level2 << " level-2 and " << r.level1
      << " level-1 episodes scored";
  if (r.without_trace + r.outside_trace > 0) {
    out << " (not scored: " << r.without_trace << " without a trace, " << r.outside_trace
        << " outside their trace)";
  }
  out << "\ntraces: " << r.patients.size() << " (";
  for (std::size_t i = 0; i < r.patients.size(); ++i) out << (i > 0 ? ", " : "") << r.patients[i];
  out << "), " << fixed(r.patient_days, 2) << " patient-days; local times UTC"
      << offset_text(r.utc_offset) << "\n";
  if (r.selection) {
    const auto& s = *r.selection;
    out << "alerts: " << r.alerts_source << ": " << s.read << " read, " << s.selected
        << " of the rules ";
    bool first = true;
    for (const auto& rule : r.options.rules) {
      out << (first ? "" : ",") << rule;
      first = false;
    }
    out << " -> " << r.merged_alerts << " hypo alerts; " << s.other_rules
        << " of other rules not scored, " << s.ignored << " of other patients or times\n";
  }
  out << "rules: caught = an alert starts in [start - " << duration_text(r.options.lead)
      << ", end] or is active at its start; lead = start - alert start (+ = early)\n"
      << "       false = an alert starting outside every level-1 episode widened by "
      << duration_text(r.options.margin) << " each side; re-arm after "
      << duration_text(r.options.rearm) << " clear or a gap > " << fixed(r.options.gap_intervals, 1)
      << " intervals\n\n";

  std::vector<std::vector<std::string>> rows;
  for (const auto& d : r.detectors) {
    rows.push_back({d.name, std::to_string(d.caught) + "/" + std::to_string(d.level2),
                    lead_text(d.median_lead_min), lead_text(d.min_lead_min),
                    std::to_string(d.false_alerts), fixed(d.false_per_patient_day, 2),
                    std::to_string(d.alerts), fixed(d.alerts_per_patient_day, 2)});
  }
  if (rows.empty()) {
    out << "  (no detector: give --db, --alerts or --baselines)\n";
    return out.str();
  }
  out << render({"detector", "level-2 caught", "median lead (min)", "min lead (min)",
                 "false alerts", "false/patient-day", "alerts", "alerts/patient-day"},
                rows, 1);

  if (const auto goal = goal_of(r); !goal.empty()) {
    out << "\ngoal: vitalsd's median lead above the baseline's, false alerts/patient-day no "
           "higher:";
    for (std::size_t i = 0; i < goal.size(); ++i) {
      out << (i > 0 ? "; " : " ") << goal[i].first->name << " "
          << (goal[i].second ? "met" : "not met");
    }
    out << "\n";
  }

  out << "\nlevel-2 episodes: lead in minutes (- = missed)\n";
  std::vector<std::string> header{"patient", "start", "end"};
  for (const auto& d : r.detectors) header.push_back(d.name);
  std::vector<std::vector<std::string>> episode_rows;
  const auto& first = r.detectors.front().episodes;
  for (std::size_t i = 0; i < first.size(); ++i) {
    std::vector<std::string> row{first[i].patient, local_time(first[i].start, r.utc_offset),
                                 local_time(first[i].end, r.utc_offset)};
    for (const auto& d : r.detectors) row.push_back(lead_text(d.episodes[i].lead_min));
    episode_rows.push_back(std::move(row));
  }
  out << render(header, episode_rows, 3);
  return out.str();
}

std::string to_json(const cgm_report& r) {
  ojson j;
  j["episodes"] = {{"file", r.episodes_name},
                   {"level1", r.level1},
                   {"level2", r.level2},
                   {"without_trace", r.without_trace},
                   {"outside_trace", r.outside_trace}};
  j["traces"] = {{"patients", r.patients},
                 {"patient_days", r.patient_days},
                 {"utc_offset", offset_text(r.utc_offset)}};
  ojson rules = ojson::array();
  for (const auto& rule : r.options.rules) rules.push_back(rule);
  j["options"] = {{"lead_s", static_cast<double>(r.options.lead.count()) / 1000.0},
                  {"margin_s", static_cast<double>(r.options.margin.count()) / 1000.0},
                  {"rearm_s", static_cast<double>(r.options.rearm.count()) / 1000.0},
                  {"gap_intervals", r.options.gap_intervals},
                  {"rules", std::move(rules)}};
  if (r.selection) {
    j["alerts"] = {{"source", r.alerts_source},
                   {"read", r.selection->read},
                   {"selected", r.selection->selected},
                   {"hypo_alerts", r.merged_alerts},
                   {"other_rules", r.selection->other_rules},
                   {"ignored", r.selection->ignored}};
  } else {
    j["alerts"] = nullptr;
  }
  const auto number = [](const std::optional<double>& v) { return v ? ojson(*v) : ojson(nullptr); };
  ojson detectors = ojson::array();
  for (const auto& d : r.detectors) {
    ojson row;
    row["id"] = d.id;
    row["name"] = d.name;
    row["level2_episodes"] = d.level2;
    row["caught"] = d.caught;
    row["median_lead_min"] = number(d.median_lead_min);
    row["min_lead_min"] = number(d.min_lead_min);
    row["false_alerts"] = d.false_alerts;
    row["false_per_patient_day"] = d.false_per_patient_day;
    row["alerts"] = d.alerts;
    row["alerts_per_patient_day"] = d.alerts_per_patient_day;
    ojson episodes = ojson::array();
    for (const auto& e : d.episodes) {
      episodes.push_back({{"patient", e.patient},
                          {"start", epoch_ms(e.start)},
                          {"end", epoch_ms(e.end)},
                          {"lead_min", number(e.lead_min)}});
    }
    row["episodes"] = std::move(episodes);
    detectors.push_back(std::move(row));
  }
  j["detectors"] = std::move(detectors);
  ojson goal = ojson::array();
  for (const auto& [d, met] : goal_of(r)) goal.push_back({{"baseline", d->id}, {"met", met}});
  j["goal"] = std::move(goal);
  return j.dump(2) + "\n";
}

}  // namespace vitals::simulators
