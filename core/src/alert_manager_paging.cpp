// The alert manager's routing, audit trail and paging: which route an alert takes, the events
// and notifications it produces, escalation timers, quiet hours, inhibition by technical alerts,
// and resolving.
#include <algorithm>
#include <set>
#include <utility>

#include "alert_manager_state.hpp"

namespace vitals::core {

namespace detail {

bool contains(const std::vector<std::string>& list, std::string_view v) {
  return std::find(list.begin(), list.end(), v) != list.end();
}

std::optional<timestamp> quiet_end(const quiet_hours& q, int utc_offset_min, timestamp now) {
  if (q.start_min == q.end_min) return std::nullopt;
  const auto local_min =
      std::chrono::floor<std::chrono::minutes>(now).time_since_epoch().count() + utc_offset_min;
  const auto minute_of_day = ((local_min % 1440) + 1440) % 1440;
  const bool inside = q.start_min < q.end_min
                          ? minute_of_day >= q.start_min && minute_of_day < q.end_min
                          : minute_of_day >= q.start_min || minute_of_day < q.end_min;
  if (!inside) return std::nullopt;
  auto end_local = local_min - minute_of_day + q.end_min;
  if (end_local <= local_min) end_local += 1440;
  return timestamp{std::chrono::minutes(end_local - utc_offset_min)};
}

}  // namespace detail

using detail::contains;
using detail::quiet_end;
using detail::system_actor;

const route* alert_manager::impl_state::ops::route_of(const alert_record& a) const {
  if (a.route.empty()) return nullptr;
  for (const auto& r : s_.routes) {
    if (r.name == a.route) return &r;
  }
  return nullptr;
}

std::string alert_manager::impl_state::ops::select_route(const alert_record& a) const {
  const std::string patient = a.patient.str();
  for (const auto& r : s_.routes) {
    if (!r.patients.empty() && !contains(r.patients, patient)) continue;
    if (!r.care_teams.empty()) {
      const auto team = s_.care_teams.find(patient);
      if (team == s_.care_teams.end() || !contains(r.care_teams, team->second)) continue;
    }
    if (!r.rules.empty() && !contains(r.rules, a.rule) && !contains(r.rules, a.group)) continue;
    if (!r.priorities.empty() &&
        std::find(r.priorities.begin(), r.priorities.end(), a.level) == r.priorities.end())
      continue;
    if (r.source && *r.source != a.source) continue;
    return r.name;
  }
  return {};
}

void alert_manager::impl_state::ops::touch(const alert_record& a) {
  for (auto& existing : out_.alerts) {
    if (existing.id == a.id) {
      existing = a;
      return;
    }
  }
  out_.alerts.push_back(a);
}

lifecycle_event alert_manager::impl_state::ops::emit(alert_record& a, alert_action action,
                                                     timestamp now, std::string actor,
                                                     std::string reason,
                                                     std::optional<timestamp> data_time,
                                                     double value) {
  a.updated = now;
  lifecycle_event ev;
  ev.id = ++st_.event_counter;
  ev.alert_id = a.id;
  ev.action = action;
  ev.at = now;
  ev.data_time = data_time;
  ev.actor = std::move(actor);
  ev.reason = std::move(reason);
  ev.level = a.level;
  ev.state = a.state;
  ev.value = value;
  out_.events.push_back(ev);
  return ev;
}

void alert_manager::impl_state::ops::notify(const alert_record& a, const std::string& receiver,
                                            notify_action action, int step,
                                            const lifecycle_event& ev, timestamp now) {
  notification n;
  n.id = ++st_.notification_counter;
  n.receiver = receiver;
  n.action = action;
  n.step = step;
  n.alert = a;
  n.event = ev;
  n.created = now;
  out_.notifications.push_back(std::move(n));
}

auto alert_manager::impl_state::ops::reached(const route& r, int upto) -> receiver_steps {
  receiver_steps result;
  std::set<std::string> seen;
  for (int k = 0; k <= upto && k < static_cast<int>(r.steps.size()); ++k) {
    for (const auto& rec : r.steps[static_cast<std::size_t>(k)].receivers) {
      if (seen.insert(rec).second) result.emplace_back(rec, k);
    }
  }
  return result;
}

std::string alert_manager::impl_state::ops::receiver_list(const receiver_steps& list) {
  std::string text;
  for (const auto& [rec, step] : list) {
    if (!text.empty()) text += ", ";
    text += rec;
  }
  return text.empty() ? std::string("nobody") : text;
}

void alert_manager::impl_state::ops::notify_paged(const alert_record& a, notify_action action,
                                                  const lifecycle_event& ev, timestamp now) {
  if (a.step < 0) return;
  const route* r = route_of(a);
  if (!r) return;
  for (const auto& [rec, step] : reached(*r, a.step)) notify(a, rec, action, step, ev, now);
}

const snooze* alert_manager::impl_state::ops::snooze_for(const alert_record& a) const {
  const auto it = st_.snoozes.find(key_of(a));
  if (it == st_.snoozes.end() || it->second.up_to < a.level) return nullptr;
  return &it->second;
}

bool alert_manager::impl_state::ops::snoozed(const alert_record& a, timestamp now) const {
  const snooze* sn = snooze_for(a);
  return sn && sn->until > now;
}

void alert_manager::impl_state::ops::schedule(alert_record& a, const route& r, timestamp now) {
  const auto k = static_cast<std::size_t>(std::max(a.step, 0));
  if (k + 1 < r.steps.size()) {
    a.next_step_at = now + (r.steps[k + 1].after - r.steps[k].after);
  } else {
    a.next_step_at.reset();
  }
  if (r.repeat_interval.count() > 0) {
    a.next_repeat_at = now + r.repeat_interval;
  } else {
    a.next_repeat_at.reset();
  }
}

void alert_manager::impl_state::ops::page(alert_record& a, notify_action action,
                                          const lifecycle_event& ev, timestamp now) {
  const route* r = route_of(a);
  if (!r || r->steps.empty()) return;
  if (a.inhibited || snoozed(a, now)) return;  // resumed when the inhibition or snooze ends
  if (a.level != priority::high && r->quiet) {
    if (const auto end = quiet_end(*r->quiet, s_.utc_offset_min, now)) {
      a.deferred_until = *end;
      return;
    }
  }
  a.deferred_until.reset();
  a.step = std::max(a.step, 0);
  schedule(a, *r, now);
  for (const auto& [rec, step] : reached(*r, a.step)) notify(a, rec, action, step, ev, now);
}

void alert_manager::impl_state::ops::resume(alert_record& a, const lifecycle_event& ev,
                                            timestamp now) {
  if (!wants_paging(a)) return;
  page(a, a.step < 0 ? notify_action::trigger : notify_action::repeat, ev, now);
}

const alert_record* alert_manager::impl_state::ops::inhibitor_of(const alert_record& a) const {
  if (!s_.inhibit || a.source != alert_source::physiological) return nullptr;
  for (const auto& [id, t] : st_.by_id) {
    if (t.source == alert_source::technical && t.condition_present && t.patient == a.patient &&
        (t.device == a.device || t.kind == a.kind))
      return &t;
  }
  return nullptr;
}

void alert_manager::impl_state::ops::reevaluate_inhibition(const short_id& patient, timestamp now) {
  if (!s_.inhibit) return;
  for (auto& [id, a] : st_.by_id) {
    if (a.patient != patient || a.source != alert_source::physiological) continue;
    const alert_record* t = inhibitor_of(a);
    if (t && !a.inhibited) {
      a.inhibited = true;
      emit(a, alert_action::inhibited, now, system_actor,
           "muted by technical alert " + std::to_string(t->id) + " (" + t->current_rule + ")",
           std::nullopt, a.last_value);
      touch(a);
    } else if (!t && a.inhibited) {
      a.inhibited = false;
      const auto ev = emit(a, alert_action::uninhibited, now, system_actor,
                           "no technical alert of the device or vital holds any more", std::nullopt,
                           a.last_value);
      resume(a, ev, now);
      touch(a);
    }
  }
}

void alert_manager::impl_state::ops::forget(const alert_record& a) {
  const auto key = key_of(a);
  const auto k = st_.by_key.find(key);
  if (k != st_.by_key.end() && k->second == a.id) st_.by_key.erase(k);
  st_.member_levels.erase(a.id);
  st_.by_id.erase(a.id);
}

void alert_manager::impl_state::ops::resolve(alert_record& a, timestamp now,
                                             const std::string& actor, std::string reason) {
  const bool technical = a.source == alert_source::technical;
  const short_id patient = a.patient;
  a.state = alert_state::resolved;
  a.resolved_at = now;
  a.resolved_by = actor;
  a.condition_present = false;
  a.holding.clear();
  a.next_step_at.reset();
  a.next_repeat_at.reset();
  a.deferred_until.reset();
  const auto ev =
      emit(a, alert_action::resolved, now, actor, std::move(reason), std::nullopt, a.last_value);
  notify_paged(a, notify_action::resolve, ev, now);
  touch(a);
  forget(a);
  if (technical) reevaluate_inhibition(patient, now);
}

}  // namespace vitals::core
