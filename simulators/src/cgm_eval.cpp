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

#include <vitals/core/ascii.hpp>
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

using core::trim;

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

std::optional<bool> threshold_55(std::span<const trace_row> seen, const condition_context&) {
  return seen.back().value <= 55.0;
}

std::optional<bool> threshold_70(std::span<const trace_row> seen, const condition_context&) {
  return seen.back().value < 70.0;
}

std::optional<bool> ar2_low(std::span<const trace_row> seen, const condition_context& c) {
  if (seen.size() < 2) return std::nullopt;
  const auto& cur = seen[seen.size() - 1];
  const auto& prev = seen[seen.size() - 2];
  // The model's step is one reading interval: the previous reading counts when it is at least
  // half an interval and less than two intervals old (one missed reading at most).
  const auto step = cur.ts - prev.ts;
  if (step * 2 < c.interval || step >= c.interval * 2) return std::nullopt;
  return core::ar2_predictive_low(prev.value, cur.value);
}

std::optional<bool> linear_low(std::span<const trace_row> seen, const condition_context& c) {
  // "Reaches 55 within 20 minutes" includes being there already.
  if (seen.back().value <= 55.0) return true;
  if (seen.size() < 3) return std::nullopt;
  const auto last3 = seen.subspan(seen.size() - 3);
  for (std::size_t i = 1; i < 3; ++i) {
    if (last3[i].ts - last3[i - 1].ts > c.gap_limit) return std::nullopt;
  }
  // The slope of the last 3 readings: (last - first) / (their time apart), extrapolated from
  // the last reading (the line through the first and the last of the three).
  const core::timed_glucose ends[2] = {{0.0, last3[0].value},
                                       {minutes_of(last3[2].ts - last3[0].ts), last3[2].value}};
  const auto at_20 = core::linear_extrapolation(ends, 20.0);
  if (!at_20) return std::nullopt;
  return *at_20 <= 55.0;
}

/// Linear-interpolation percentile (p in [0, 1]) of a non-empty sample.
double percentile_of(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  const double k = (static_cast<double>(v.size()) - 1.0) * p;
  const auto f = static_cast<std::size_t>(std::floor(k));
  const auto c = std::min(f + 1, v.size() - 1);
  return v[f] + (v[c] - v[f]) * (k - static_cast<double>(f));
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

void thin_trace(trace& t, milliseconds interval) {
  std::vector<trace_row> kept;
  kept.reserve(t.rows.size());
  for (const auto& r : t.rows) {
    if (!kept.empty() && (r.ts - kept.back().ts) * 2 < interval) continue;
    kept.push_back(r);
  }
  t.rows = std::move(kept);
}

cgm_dataset make_cgm_dataset(std::string name, std::vector<hypo_episode> episodes,
                             std::vector<patient_trace> traces, minutes utc_offset,
                             std::optional<milliseconds> interval) {
  if (traces.empty()) throw eval_input_error("no trace given (--trace FILE)");
  for (auto& t : traces) thin_trace(t.data, interval ? *interval : reading_interval(t.data));
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
  const condition_context context{reading_interval(t), limit};
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
    const auto c = condition(rows.first(i + 1), context);
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
  for (const auto& t : data.traces) {
    const auto it = alerts.find(t.patient);
    const auto merged = it == alerts.end() ? std::vector<hypo_alert>{}
                                           : merge_hypo_alerts(it->second, t.data, options);
    s.alerts += merged.size();
    for (const auto& e : data.episodes) {
      if (e.patient != t.patient || e.level != hypo_level::level2) continue;
      ++s.level2;
      episode_outcome o{e.patient, e.start, e.end, std::nullopt, std::nullopt};
      std::optional<core::timestamp> first, first_in_window;
      for (const auto& a : merged) {
        const bool in_window = a.raised >= e.start - options.lead && a.raised <= e.end;
        const bool active_at_start = a.raised < e.start && (!a.cleared || *a.cleared > e.start);
        if ((in_window || active_at_start) && (!first || a.raised < *first)) first = a.raised;
        if (in_window && (!first_in_window || a.raised < *first_in_window)) {
          first_in_window = a.raised;
        }
      }
      if (first) {
        ++s.caught;
        o.lead_min = minutes_of(e.start - *first);
        s.leads.push_back(*o.lead_min);
      }
      if (first_in_window) {
        ++s.caught_in_window;
        o.lead_in_window_min = minutes_of(e.start - *first_in_window);
        s.leads_in_window.push_back(*o.lead_in_window_min);
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
  s.patient_days = days;
  summarise_leads(s);
  return s;
}

void summarise_leads(detector_score& s) {
  const auto summary = [](const std::vector<double>& leads, std::optional<double>& median,
                          std::optional<double>& p10, std::optional<double>* least) {
    median.reset();
    p10.reset();
    if (least != nullptr) least->reset();
    if (leads.empty()) return;
    median = median_of(leads);
    p10 = percentile_of(leads, 0.1);
    if (least != nullptr) *least = *std::min_element(leads.begin(), leads.end());
  };
  summary(s.leads, s.median_lead_min, s.p10_lead_min, &s.min_lead_min);
  summary(s.leads_in_window, s.median_lead_in_window_min, s.p10_lead_in_window_min, nullptr);
  const double days = s.patient_days > 0.0 ? s.patient_days : 1.0;
  s.alerts_per_patient_day = static_cast<double>(s.alerts) / days;
  s.false_per_patient_day = static_cast<double>(s.false_alerts) / days;
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

}  // namespace vitals::simulators
