// vitals-eval's scoring: which alerts are in scope, which event each matches and how late,
// which are false, and which of those were raised on an artifact. The definitions are in
// simulators/README.md ("vitals-eval: scoring alerts against the labels").

#include <vitals/simulators/eval.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <utility>

#include "eval_detail.hpp"
#include "eval_text.hpp"

namespace vitals::simulators {

namespace {

using detail::seconds_of;
using eval_text::median_of;

/// Nearest rank: the ceil(0.9 n)-th smallest.
double p90_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t rank = (9 * v.size() + 9) / 10;  // ceil(9n / 10), n >= 1
  return v[rank - 1];
}

bool vital_matches(const std::optional<core::vital_kind>& label_vital, core::vital_kind v) {
  return !label_vital || *label_vital == v;
}

/// The figures of one event kind while the labels are matched.
struct kind_acc {
  std::size_t events = 0, detected = 0, actionable = 0;
  std::set<std::string> vitals;  // "any" for unset
  std::set<std::size_t> alerts;  // indices into the physiological alerts
  std::vector<double> delays;
};

/// What matching the event labels against the alerts gives.
struct matches {
  std::map<std::string, kind_acc> kinds;
  std::map<std::pair<std::string, std::string>, std::vector<double>> rule_delays;
  std::vector<bool> excused;  // per physiological alert: matches an actionable event
};

/// Sets r.patient_days from the override, or from the run's patients and length.
void set_patient_days(const label_set& labels, const eval_options& options, eval_report& r) {
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
}

/// Counts the alerts in scope, and returns the physiological ones.
std::vector<const eval_alert*> physiological_in_scope(const label_set& labels,
                                                      std::span<const eval_alert> alerts,
                                                      const eval_options& options, eval_report& r) {
  const auto& run = labels.run;
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
  return physio;
}

/// Matches every event label against the alerts of its patient and vital; counts the labels.
matches match_events(const label_set& labels, const std::vector<const eval_alert*>& physio,
                     const eval_options& options, eval_report& r) {
  matches m;
  auto& kinds = m.kinds;
  auto& rule_delays = m.rule_delays;
  auto& excused = m.excused;
  excused.assign(physio.size(), false);
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
  return m;
}

/// One row per event kind (actionable first) and per event kind and rule.
void add_event_rows(const matches& m, eval_report& r) {
  for (const auto& [kind, k] : m.kinds) {
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
  for (const auto& [key, delays] : m.rule_delays) {
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
}

/// False alerts, and which of them were raised on an artifact.
void add_false_alerts(const label_set& labels, const std::vector<const eval_alert*>& physio,
                      const std::vector<bool>& excused, const eval_options& options,
                      eval_report& r) {
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
}

}  // namespace

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
  set_patient_days(labels, options, r);

  const auto physio = physiological_in_scope(labels, alerts, options, r);
  const auto m = match_events(labels, physio, options, r);
  add_event_rows(m, r);
  add_false_alerts(labels, physio, m.excused, options, r);
  return r;
}

}  // namespace vitals::simulators
