#include <vitals/core/detector.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include <fmt/format.h>

namespace vitals::core {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

std::vector<threshold_rule> default_rules() {
  // reference/clinical.md: bedside monitor defaults (HR 50/120, SpO2 90 with a delay) and
  // the CGM consensus levels (< 70 level 1, < 54 level 2 at once, > 250 level 2 high).
  // max_gap: a pause longer than this restarts the duration count (1 Hz oximetry: 2 min;
  // 5-minute CGM: 15 min, i.e. more than two missed readings).
  threshold_rule spo2_low{"spo2_low", vital_kind::spo2, direction::below, 90.0, seconds(30),
                          2.0,        minutes(2),       priority::medium, true};
  // A deeper desaturation alarms sooner: 85 % raises after 12 s, 80 % after 6 s, 70 % after 3 s;
  // a shallow one (88-89 %) after 30 s.
  spo2_low.area_limit = 60.0;
  return {
      {"hr_low", vital_kind::heart_rate, direction::below, 50.0, seconds(10), 5.0, minutes(2),
       priority::medium, true},
      {"hr_high", vital_kind::heart_rate, direction::above, 120.0, seconds(10), 5.0, minutes(2),
       priority::medium, true},
      spo2_low,
      {"glucose_low", vital_kind::glucose, direction::below, 70.0, milliseconds(0), 5.0,
       minutes(15), priority::medium, true},
      {"glucose_urgent_low", vital_kind::glucose, direction::below, 54.0, milliseconds(0), 5.0,
       minutes(15), priority::high, true},
      {"glucose_high", vital_kind::glucose, direction::above, 250.0, milliseconds(0), 10.0,
       minutes(15), priority::medium, true},
  };
}

threshold_rule apply(threshold_rule rule, const rule_override& o) {
  if (o.limit) rule.limit = *o.limit;
  if (o.min_duration) rule.min_duration = *o.min_duration;
  if (o.min_readings) rule.min_readings = *o.min_readings;
  if (o.area_limit) rule.area_limit = *o.area_limit;
  if (o.hysteresis) rule.hysteresis = *o.hysteresis;
  if (o.level) rule.level = *o.level;
  if (o.enabled) rule.enabled = *o.enabled;
  return rule;
}

alert_event withdrawn_rule_event(const short_id& patient, std::string rule, vital_kind kind,
                                 priority level, alert_source source, timestamp condition_start,
                                 timestamp time) {
  alert_event e;
  e.patient = patient;
  e.rule = std::move(rule);
  e.kind = kind;
  e.level = level;
  e.source = source;
  e.transition = alert_transition::cleared;
  // No reading ended it: the alert keeps its last value (the alert manager skips a NaN).
  e.value = std::numeric_limits<double>::quiet_NaN();
  e.threshold = std::numeric_limits<double>::quiet_NaN();
  e.condition_start = condition_start;
  e.time = time;
  e.message = "the rule was disabled or removed by a configuration reload";
  return e;
}

threshold_detector::threshold_detector(detector_settings settings)
    : settings_(std::move(settings)) {
  rule_sets_.push_back(settings_.rules);
}

void threshold_detector::reconfigure(detector_settings settings, std::vector<alert_event>& out) {
  auto old_sets = std::move(rule_sets_);
  settings_ = std::move(settings);
  rule_sets_.clear();
  rule_sets_.push_back(settings_.rules);
  for (auto& [id, ps] : patients_) {
    const auto& old_rules = old_sets[ps.rule_set];
    std::uint32_t set = 0;
    if (has_own_rules(id.view())) {
      set = static_cast<std::uint32_t>(rule_sets_.size());
      rule_sets_.push_back(rules_for(id.view()));
    }
    const auto& rules = rule_sets_[set];
    std::vector<rule_state> states(rules.size());
    for (std::size_t i = 0; i < old_rules.size() && i < ps.states.size(); ++i) {
      const auto& old = old_rules[i];
      const auto j = std::find_if(rules.begin(), rules.end(), [&old](const threshold_rule& r) {
        return r.name == old.name && r.kind == old.kind && r.dir == old.dir;
      });
      if (j != rules.end() && j->enabled) {
        states[static_cast<std::size_t>(j - rules.begin())] = ps.states[i];
      } else if (ps.states[i].active) {
        out.push_back(withdrawn_rule_event(id, old.name, old.kind, old.level,
                                           alert_source::physiological, ps.states[i].since,
                                           ps.states[i].last));
      }
    }
    ps.rule_set = set;
    ps.states = std::move(states);
  }
}

std::size_t threshold_detector::state_bytes() const noexcept {
  std::size_t n = patients_.bucket_count() * sizeof(void*);
  for (const auto& [id, ps] : patients_) {
    n += sizeof(id) + sizeof(ps) + 2 * sizeof(void*) + ps.states.capacity() * sizeof(rule_state);
  }
  return n;
}

bool threshold_detector::has_own_rules(std::string_view patient) const {
  const auto p = settings_.patients.find(std::string(patient));
  if (p == settings_.patients.end()) return false;
  // A patient whose overrides concern other detectors' rules shares the default set: a copy
  // of every rule per known patient would cost more than the patient's whole state.
  return std::any_of(settings_.rules.begin(), settings_.rules.end(),
                     [&](const threshold_rule& r) { return p->second.contains(r.name); });
}

std::vector<threshold_rule> threshold_detector::rules_for(std::string_view patient) const {
  std::vector<threshold_rule> rules = settings_.rules;
  const auto p = settings_.patients.find(std::string(patient));
  if (p == settings_.patients.end()) return rules;
  for (auto& rule : rules) {
    const auto o = p->second.find(rule.name);
    if (o != p->second.end()) rule = apply(rule, o->second);
  }
  return rules;
}

threshold_detector::patient_state& threshold_detector::state_for(const short_id& patient) {
  auto it = patients_.find(patient);
  if (it != patients_.end()) return it->second;
  patient_state st;
  if (has_own_rules(patient.view())) {
    st.rule_set = static_cast<std::uint32_t>(rule_sets_.size());
    rule_sets_.push_back(rules_for(patient.view()));
  }
  st.states.resize(rule_sets_[st.rule_set].size());
  return patients_.emplace(patient, std::move(st)).first->second;
}

namespace {

bool beyond(const threshold_rule& r, double v) noexcept {
  return r.dir == direction::below ? v < r.limit : v > r.limit;
}

bool back_inside(const threshold_rule& r, double v) noexcept {
  return r.dir == direction::below ? v >= r.limit + r.hysteresis : v <= r.limit - r.hysteresis;
}

double more_extreme(const threshold_rule& r, double a, double b) noexcept {
  return r.dir == direction::below ? std::min(a, b) : std::max(a, b);
}

}  // namespace

void threshold_detector::observe(const sample& s, std::vector<alert_event>& out) {
  auto& ps = state_for(s.patient);
  const auto& rules = rule_sets_[ps.rule_set];
  for (std::size_t i = 0; i < rules.size(); ++i) {
    const auto& rule = rules[i];
    if (!rule.enabled || rule.kind != s.kind) continue;
    auto& st = ps.states[i];
    const auto since_last = s.device_time - st.last;
    const auto pace = std::chrono::milliseconds(std::int64_t{st.step_s} * 2500);  // 2.5 steps
    const bool gap = st.last != timestamp{} && since_last > std::max(rule.max_gap, pace);
    const timestamp previous = st.last;
    if (st.last != timestamp{}) {
      st.step_s = static_cast<std::uint32_t>(std::clamp<std::int64_t>(
          std::chrono::duration_cast<seconds>(since_last).count(), 0, std::int64_t{24} * 3600));
    }
    st.last = s.device_time;

    auto make_event = [&](alert_transition t) {
      alert_event e;
      e.patient = s.patient;
      e.device = s.device;
      e.rule = rule.name;
      e.kind = rule.kind;
      e.level = rule.level;
      e.source = alert_source::physiological;
      e.transition = t;
      e.value = s.value;
      e.threshold = rule.limit;
      e.condition_start = st.since;
      e.time = s.device_time;
      const auto held = std::chrono::duration_cast<seconds>(s.device_time - st.since).count();
      if (t == alert_transition::raised) {
        e.message = fmt::format("{} {} {} {}", to_string(rule.kind),
                                rule.dir == direction::below ? "below" : "above", rule.limit,
                                canonical_unit(rule.kind));
        if (held != 0) e.message += fmt::format(" for {} s", held);
        if (rule.area_limit > 0.0) {
          e.message += fmt::format(" (depth x duration {:.0f} {}·s, limit {:.0f})", st.area,
                                   canonical_unit(rule.kind), rule.area_limit);
        }
      } else {
        e.message = fmt::format("{} back {} {} {} after {} s (worst {})", to_string(rule.kind),
                                rule.dir == direction::below ? "above" : "below",
                                rule.dir == direction::below ? rule.limit + rule.hysteresis
                                                             : rule.limit - rule.hysteresis,
                                canonical_unit(rule.kind), held, st.worst);
      }
      return e;
    };

    if (st.active && gap && beyond(rule, s.value)) {
      // Still beyond the limit after a silence longer than max_gap: the alert is closed and
      // raised anew with this reading, so that whoever was told before the silence is told
      // again now (the condition is a new one: it restarts below).
      auto e = make_event(alert_transition::cleared);
      e.message =
          fmt::format("no reading for {} s: the condition is raised anew",
                      std::chrono::duration_cast<seconds>(s.device_time - previous).count());
      out.push_back(std::move(e));
      st.active = false;
      st.pending = false;
    }
    if (st.active) {
      st.worst = static_cast<float>(more_extreme(rule, st.worst, s.value));
      if (back_inside(rule, s.value)) {
        out.push_back(make_event(alert_transition::cleared));
        st.active = false;
        st.pending = false;
      }
      continue;
    }

    if (!beyond(rule, s.value)) {
      st.pending = false;
      continue;
    }
    const double depth = std::abs(s.value - rule.limit);
    if (!st.pending || gap) {
      st.pending = true;
      st.since = s.device_time;
      st.worst = static_cast<float>(s.value);
      st.readings = 1;
      st.area = 0.0F;
    } else {
      st.worst = static_cast<float>(more_extreme(rule, st.worst, s.value));
      if (st.readings < UINT16_MAX) ++st.readings;
      st.area += static_cast<float>(
          depth * std::chrono::duration<double>(s.device_time - previous).count());
    }
    const bool enough_readings = st.readings >= rule.min_readings;
    const bool long_enough = s.device_time - st.since >= rule.min_duration;
    const bool deep_enough = rule.area_limit > 0.0 && st.area >= rule.area_limit;
    if (enough_readings && (long_enough || deep_enough)) {
      st.active = true;
      out.push_back(make_event(alert_transition::raised));
    }
  }
}

}  // namespace vitals::core
