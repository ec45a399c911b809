// The alert manager's timers: flap windows that ran out (1), snooze expiry (2), then for each
// alert that may page: the end of quiet hours (5), or escalation steps (3) and reminders (4).
#include <algorithm>
#include <utility>

#include "alert_manager_state.hpp"

namespace vitals::core {

using detail::quiet_end;
using detail::system_actor;

void alert_manager::impl_state::ops::tick(timestamp now) {
  resolve_cleared(now);
  expire_snoozes(now);

  for (auto& [id, a] : st_.by_id) {
    if (!unacked(a) || a.inhibited || snoozed(a, now)) continue;
    const route* r = route_of(a);
    if (!r || r->steps.empty()) continue;
    if (a.deferred_until) {
      if (*a.deferred_until > now) continue;
      end_quiet_hours(a, *r, now);
      continue;
    }
    const bool escalated = escalate_due(a, *r, now);
    const bool reminded = remind_due(a, *r, now);
    if (escalated || reminded) touch(a);
  }
}

// (1) Conditions gone for the whole flap window resolve.
void alert_manager::impl_state::ops::resolve_cleared(timestamp now) {
  std::vector<std::uint64_t> ids;
  for (const auto& [id, a] : st_.by_id) {
    if (a.state != alert_state::latched && !a.condition_present && a.cleared_wall &&
        now - *a.cleared_wall >= s_.flap_window)
      ids.push_back(id);
  }
  for (const auto id : ids) {
    const auto it = st_.by_id.find(id);
    if (it != st_.by_id.end()) resolve(it->second, now, system_actor, "condition cleared");
  }
}

// (2) Snoozes that ran out.
void alert_manager::impl_state::ops::expire_snoozes(timestamp now) {
  std::vector<alert_key> expired;
  for (const auto& [key, sn] : st_.snoozes) {
    if (sn.until <= now) expired.push_back(key);
  }
  for (const auto& key : expired) end_snooze(key, now, system_actor, "snooze expired");
}

void alert_manager::impl_state::ops::end_snooze(const alert_key& key, timestamp now,
                                                const std::string& actor,
                                                const std::string& reason) {
  const auto it = st_.snoozes.find(key);
  if (it == st_.snoozes.end()) return;
  snooze row = it->second;
  row.removed = true;
  st_.snoozes.erase(it);
  out_.snoozes.push_back(row);
  std::vector<std::uint64_t> ids;
  for (const auto& [id, a] : st_.by_id) {
    if (key_of(a) == key) ids.push_back(id);
  }
  for (const auto id : ids) {
    auto& a = st_.by_id.at(id);
    const auto ev =
        emit(a, alert_action::snooze_ended, now, actor, reason, std::nullopt, a.last_value);
    resume(a, ev, now);
    touch(a);
  }
}

// (5) Quiet hours over: page what waited.
void alert_manager::impl_state::ops::end_quiet_hours(alert_record& a, const route& r,
                                                     timestamp now) {
  a.deferred_until.reset();
  if (wants_paging(a)) {
    const bool first = a.step < 0;
    const auto receivers = reached(r, std::max(a.step, 0));
    const auto ev =
        emit(a, alert_action::notified, now, system_actor,
             "quiet hours ended: " + receiver_list(receivers), std::nullopt, a.last_value);
    page(a, first ? notify_action::trigger : notify_action::repeat, ev, now);
  }
  touch(a);
}

// (3) Escalation steps, measured from when the chain started. Quiet hours defer a step that
// falls due inside them (high alerts excepted). Returns whether the alert changed.
bool alert_manager::impl_state::ops::escalate_due(alert_record& a, const route& r, timestamp now) {
  bool changed = false;
  while (a.step >= 0 && a.next_step_at && *a.next_step_at <= now &&
         a.step + 1 < static_cast<int>(r.steps.size())) {
    if (a.level != priority::high && r.quiet) {
      if (const auto end = quiet_end(*r.quiet, s_.utc_offset_min, now)) {
        a.deferred_until = *end;
        changed = true;
        break;
      }
    }
    const timestamp due = *a.next_step_at;
    const auto k = static_cast<std::size_t>(++a.step);
    if (k + 1 < r.steps.size()) {
      a.next_step_at = due + (r.steps[k + 1].after - r.steps[k].after);
    } else {
      a.next_step_at.reset();
    }
    receiver_steps receivers;
    for (const auto& rec : r.steps[k].receivers) {
      receivers.emplace_back(rec, static_cast<int>(k));
    }
    const auto ev = emit(a, alert_action::notified, now, system_actor,
                         "escalation step " + std::to_string(k) + ": " + receiver_list(receivers),
                         std::nullopt, a.last_value);
    for (const auto& [rec, step] : receivers) {
      notify(a, rec, notify_action::escalate, step, ev, now);
    }
    changed = true;
  }
  return changed;
}

// (4) Reminders of everyone reached so far. Returns whether the alert changed.
bool alert_manager::impl_state::ops::remind_due(alert_record& a, const route& r, timestamp now) {
  if (a.deferred_until || a.step < 0 || r.repeat_interval.count() <= 0 || !a.next_repeat_at ||
      *a.next_repeat_at > now) {
    return false;
  }
  while (*a.next_repeat_at <= now) *a.next_repeat_at += r.repeat_interval;
  const auto receivers = reached(r, a.step);
  const auto ev = emit(a, alert_action::notified, now, system_actor,
                       "reminder: " + receiver_list(receivers), std::nullopt, a.last_value);
  for (const auto& [rec, step] : receivers) {
    notify(a, rec, notify_action::repeat, step, ev, now);
  }
  return true;
}

}  // namespace vitals::core
