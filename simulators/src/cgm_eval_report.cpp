// vitals-eval --episodes: the report of a CGM evaluation as a text table or as JSON (the
// scoring itself is in cgm_eval.cpp).

#include <vitals/simulators/cgm_eval.hpp>

#include <chrono>
#include <cstdio>
#include <sstream>

#include <nlohmann/json.hpp>

#include "eval_detail.hpp"
#include "eval_text.hpp"

namespace vitals::simulators {

namespace {

using ojson = nlohmann::ordered_json;
using eval_text::fixed;
using eval_text::render;
using std::chrono::milliseconds;
using std::chrono::minutes;

using detail::epoch_ms;

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

std::string lead_text(const std::optional<double>& lead) {
  return lead ? fixed(*lead, 1) : std::string("-");
}

/// "25.0 (10.0)", "-".
std::string lead_p10_text(const std::optional<double>& median, const std::optional<double>& p10) {
  if (!median || !p10) return "-";
  return fixed(*median, 1) + " (" + fixed(*p10, 1) + ")";
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
    const auto of = [&](std::size_t n) {
      return std::to_string(n) + "/" + std::to_string(d.level2);
    };
    rows.push_back({d.name, of(d.caught_in_window),
                    lead_p10_text(d.median_lead_in_window_min, d.p10_lead_in_window_min),
                    of(d.caught), lead_p10_text(d.median_lead_min, d.p10_lead_min),
                    lead_text(d.min_lead_min), std::to_string(d.false_alerts),
                    fixed(d.false_per_patient_day, 2), std::to_string(d.alerts),
                    fixed(d.alerts_per_patient_day, 2)});
  }
  if (rows.empty()) {
    out << "  (no detector: give --db, --alerts or --baselines)\n";
    return out.str();
  }
  out << render({"detector", "caught in window", "lead (p10)", "caught +active", "lead (p10)",
                 "min lead", "false alerts", "false/patient-day", "alerts", "alerts/patient-day"},
                rows, 1);
  out << "  (lead in minutes: median (10th percentile) over the caught episodes)\n";

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
    row["p10_lead_min"] = number(d.p10_lead_min);
    row["min_lead_min"] = number(d.min_lead_min);
    row["caught_in_window"] = d.caught_in_window;
    row["median_lead_in_window_min"] = number(d.median_lead_in_window_min);
    row["p10_lead_in_window_min"] = number(d.p10_lead_in_window_min);
    row["false_alerts"] = d.false_alerts;
    row["false_per_patient_day"] = d.false_per_patient_day;
    row["alerts"] = d.alerts;
    row["alerts_per_patient_day"] = d.alerts_per_patient_day;
    ojson episodes = ojson::array();
    for (const auto& e : d.episodes) {
      episodes.push_back({{"patient", e.patient},
                          {"start", epoch_ms(e.start)},
                          {"end", epoch_ms(e.end)},
                          {"lead_min", number(e.lead_min)},
                          {"lead_in_window_min", number(e.lead_in_window_min)}});
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
