// The alert manager's side of detector events: a raise opens an alert, joins one of its group,
// retriggers one within the flap window or escalates its priority; a clear de-escalates, clears
// or latches it.
#include <algorithm>
#include <cmath>
#include <utility>

#include "alert_manager_state.hpp"

namespace vitals::core {

using detail::contains;
using detail::detector_actor;
using detail::system_actor;

void alert_manager::impl_state::ops::update_values(alert_record& a, const alert_event& e) {
  a.last_value = e.value;
  const bool low = e.value < e.threshold;  // a low condition: lower is worse
  if (low ? e.value < a.peak_value : e.value > a.peak_value) a.peak_value = e.value;
}

alert_record& alert_manager::impl_state::ops::open_new(const alert_event& e,
                                                       const std::string& group, timestamp now) {
  alert_record a;
  a.id = ++st_.alert_counter;
  a.patient = e.patient;
  a.device = e.device;
  a.rule = e.rule;
  a.group = group;
  a.current_rule = e.rule;
  a.holding = {e.rule};
  a.kind = e.kind;
  a.source = e.source;
  a.level = a.peak_level = e.level;
  a.condition_start = e.condition_start;
  a.raised_at = e.time;
  a.created = a.updated = now;
  a.value = a.peak_value = a.last_value = e.value;
  a.threshold = e.threshold;
  a.message = e.message;
  a.route = select_route(a);
  auto& stored = st_.by_id.emplace(a.id, std::move(a)).first->second;
  st_.by_key[key_of(stored)] = stored.id;
  st_.member_levels[stored.id] = {{e.rule, e.level}};

  const auto ev = emit(stored, alert_action::raised, now, detector_actor,
                       e.message.empty() ? e.rule + " raised" : e.message, e.time, e.value);
  if (const alert_record* t = inhibitor_of(stored)) {
    stored.inhibited = true;
    emit(stored, alert_action::inhibited, now, system_actor,
         "muted by technical alert " + std::to_string(t->id) + " (" + t->current_rule + ")", e.time,
         e.value);
  }
  page(stored, notify_action::trigger, ev, now);
  touch(stored);
  if (stored.source == alert_source::technical) reevaluate_inhibition(stored.patient, now);
  return stored;
}

// The priority rose: an acknowledged alert sounds again (IEC 60601-1-8).
void alert_manager::impl_state::ops::escalate(alert_record& a, const alert_event& e, timestamp now,
                                              std::string reason) {
  a.level = e.level;
  a.current_rule = e.rule;
  a.peak_level = std::max(a.peak_level, e.level);
  if (a.state == alert_state::acknowledged) {
    a.state = alert_state::active;
    a.acknowledged_at.reset();
    a.acknowledged_by.clear();
  }
  const auto ev =
      emit(a, alert_action::escalated, now, detector_actor, std::move(reason), e.time, e.value);
  page(a, notify_action::escalate, ev, now);
}

// The condition returned within the flap window: same alert, no new page.
void alert_manager::impl_state::ops::retrigger(alert_record& a, const alert_event& e,
                                               timestamp now) {
  const priority before = a.level;
  a.condition_present = true;
  a.cleared_at.reset();
  a.cleared_wall.reset();
  ++a.flaps;
  a.holding = {e.rule};
  st_.member_levels[a.id] = {{e.rule, e.level}};
  update_values(a, e);
  if (e.level <= before) {
    a.level = e.level;
    a.current_rule = e.rule;
  }
  emit(a, alert_action::retriggered, now, detector_actor,
       "condition returned within the flap window (" + e.rule + ")", e.time, e.value);
  if (e.level > before) {
    escalate(a, e, now, e.rule + " raised the priority to " + std::string(to_string(e.level)));
  }
}

void alert_manager::impl_state::ops::on_raise(const alert_event& e, timestamp now) {
  const std::string group = group_of(e.rule);
  const alert_key key{e.patient.str(), group};
  if (const auto k = st_.by_key.find(key); k != st_.by_key.end()) {
    alert_record& a = st_.by_id.at(k->second);
    if (a.condition_present) {
      if (!contains(a.holding, e.rule)) a.holding.push_back(e.rule);
      st_.member_levels[a.id][e.rule] = e.level;
      update_values(a, e);
      a.updated = now;
      if (e.level > a.level) {
        escalate(a, e, now, e.rule + " raised the priority to " + std::string(to_string(e.level)));
      }
      touch(a);
      return;
    }
    if (a.cleared_at && e.time - *a.cleared_at < s_.flap_window) {
      retrigger(a, e, now);
      touch(a);
      if (a.source == alert_source::technical) reevaluate_inhibition(a.patient, now);
      return;
    }
    resolve(a, now, system_actor, "condition cleared for longer than the flap window");
    open_new(e, group, now);
    return;
  }
  // A latched alert of the key that cleared moments ago takes the condition back.
  alert_record* latched = nullptr;
  for (auto it = st_.by_id.rbegin(); it != st_.by_id.rend(); ++it) {
    auto& a = it->second;
    if (a.state == alert_state::latched && key_of(a) == key) {
      latched = &a;
      break;
    }
  }
  if (latched && latched->cleared_at && e.time - *latched->cleared_at < s_.flap_window) {
    latched->state = alert_state::active;
    st_.by_key[key] = latched->id;
    retrigger(*latched, e, now);
    touch(*latched);
    if (latched->source == alert_source::technical) reevaluate_inhibition(e.patient, now);
    return;
  }
  open_new(e, group, now);
}

void alert_manager::impl_state::ops::on_clear(const alert_event& e, timestamp now) {
  const auto k = st_.by_key.find({e.patient.str(), group_of(e.rule)});
  if (k == st_.by_key.end()) return;
  alert_record& a = st_.by_id.at(k->second);
  const auto member = std::find(a.holding.begin(), a.holding.end(), e.rule);
  if (!a.condition_present || member == a.holding.end()) return;
  a.holding.erase(member);
  // A clear without a reading (a rule withdrawn by a reload) leaves the last value as it was.
  const double value = std::isfinite(e.value) ? e.value : a.last_value;
  auto& levels = st_.member_levels[a.id];
  levels.erase(e.rule);
  a.updated = now;

  if (!a.holding.empty()) {
    // The most severe member still holding decides the priority.
    std::string top;
    priority top_level = priority::low;
    for (const auto& r : a.holding) {
      const auto it = levels.find(r);
      const priority l = it == levels.end() ? a.level : it->second;
      if (top.empty() || l > top_level) {
        top_level = l;
        top = r;
      }
    }
    if (top_level < a.level) {
      a.level = top_level;
      a.current_rule = top;
      emit(a, alert_action::deescalated, now, detector_actor,
           e.rule + " cleared; " + top + " still holds", e.time, value);
    } else if (a.current_rule == e.rule) {
      a.current_rule = top;
    }
    touch(a);
    return;
  }

  a.condition_present = false;
  a.cleared_at = e.time;
  a.cleared_wall = now;
  a.last_value = value;
  emit(a, alert_action::condition_cleared, now, detector_actor,
       e.message.empty() ? e.rule + " cleared" : e.message, e.time, value);
  if (s_.latch_high && a.level == priority::high && a.state == alert_state::active) {
    // Nobody has seen it: it stays until acknowledged, and frees the key for a new alert.
    a.state = alert_state::latched;
    st_.by_key.erase(k);
    emit(a, alert_action::latched, now, system_actor,
         "high-priority alert cleared unacknowledged: stays until acknowledged", e.time, value);
  }
  touch(a);
  if (a.source == alert_source::technical) reevaluate_inhibition(a.patient, now);
}

}  // namespace vitals::core
