// The alert lifecycle: dedup by (patient, group), flapping, latching, routing, escalation,
// snoozes, inhibition and quiet hours, on an injected clock.
#include <vitals/core/alert_manager.hpp>

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <stdexcept>
#include <utility>

namespace vitals::core {

namespace {

using alert_key = std::pair<std::string, std::string>;  // patient, group

constexpr const char* detector_actor = "detector";
constexpr const char* system_actor = "system";

std::string format_time(timestamp t) {
  const auto day = std::chrono::floor<std::chrono::days>(t);
  const std::chrono::year_month_day ymd{day};
  const std::chrono::hh_mm_ss hms{std::chrono::floor<std::chrono::seconds>(t - day)};
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()));
  return buf;
}

std::string format_length(std::chrono::seconds s) {
  if (s.count() % 60 == 0) return std::to_string(s.count() / 60) + " min";
  return std::to_string(s.count()) + " s";
}

bool contains(const std::vector<std::string>& list, std::string_view v) {
  return std::find(list.begin(), list.end(), v) != list.end();
}

// When `now` is inside the quiet hours, the end of them; alerts keep paging otherwise.
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

}  // namespace

struct alert_manager::impl_state {
  std::uint64_t alert_counter = 0;
  std::uint64_t event_counter = 0;
  std::uint64_t notification_counter = 0;
  std::map<std::uint64_t, alert_record> by_id;  // ordered: deterministic output
  std::map<alert_key, std::uint64_t> by_key;    // the active or acknowledged alert of a key
  // Priority each holding member raised with, to know where to de-escalate to.
  std::unordered_map<std::uint64_t, std::map<std::string, priority>> member_levels;
  std::map<alert_key, snooze> snoozes;
  std::unordered_map<std::string, std::string> group_of_rule;

  class ops;
};

// The operations of one call, over the settings, the state and the call's output.
class alert_manager::impl_state::ops {
 public:
  using impl = alert_manager::impl_state;

  ops(const alert_manager_settings& s, impl& st, alert_changes& out) : s_(s), st_(st), out_(out) {}

  std::string group_of(std::string_view rule) const {
    const auto it = st_.group_of_rule.find(std::string(rule));
    return it == st_.group_of_rule.end() ? std::string(rule) : it->second;
  }

  static alert_key key_of(const alert_record& a) { return {a.patient.str(), a.group}; }

  const route* route_of(const alert_record& a) const {
    if (a.route.empty()) return nullptr;
    for (const auto& r : s_.routes) {
      if (r.name == a.route) return &r;
    }
    return nullptr;
  }

  std::string select_route(const alert_record& a) const {
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

  void touch(const alert_record& a) {
    for (auto& existing : out_.alerts) {
      if (existing.id == a.id) {
        existing = a;
        return;
      }
    }
    out_.alerts.push_back(a);
  }

  lifecycle_event emit(alert_record& a, alert_action action, timestamp now, std::string actor,
                       std::string reason, std::optional<timestamp> data_time, double value) {
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

  void notify(const alert_record& a, const std::string& receiver, notify_action action, int step,
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

  // Receivers of steps 0..upto, each once, with the first step that reached them.
  static std::vector<std::pair<std::string, int>> reached(const route& r, int upto) {
    std::vector<std::pair<std::string, int>> result;
    std::set<std::string> seen;
    for (int k = 0; k <= upto && k < static_cast<int>(r.steps.size()); ++k) {
      for (const auto& rec : r.steps[static_cast<std::size_t>(k)].receivers) {
        if (seen.insert(rec).second) result.emplace_back(rec, k);
      }
    }
    return result;
  }

  static std::string receiver_list(const std::vector<std::pair<std::string, int>>& receivers) {
    std::string text;
    for (const auto& [rec, step] : receivers) {
      if (!text.empty()) text += ", ";
      text += rec;
    }
    return text.empty() ? std::string("nobody") : text;
  }

  // Tells everyone who was paged about an acknowledge or resolve.
  void notify_paged(const alert_record& a, notify_action action, const lifecycle_event& ev,
                    timestamp now) {
    if (a.step < 0) return;
    const route* r = route_of(a);
    if (!r) return;
    for (const auto& [rec, step] : reached(*r, a.step)) notify(a, rec, action, step, ev, now);
  }

  const snooze* snooze_for(const alert_record& a) const {
    const auto it = st_.snoozes.find(key_of(a));
    if (it == st_.snoozes.end() || it->second.up_to < a.level) return nullptr;
    return &it->second;
  }

  bool snoozed(const alert_record& a, timestamp now) const {
    const snooze* sn = snooze_for(a);
    return sn && sn->until > now;
  }

  static bool unacked(const alert_record& a) {
    return a.state == alert_state::active || a.state == alert_state::latched;
  }

  // Whether a paused chain should page when the pause (snooze, inhibition, quiet hours) ends.
  static bool wants_paging(const alert_record& a) {
    return (a.state == alert_state::active && a.condition_present) ||
           a.state == alert_state::latched;
  }

  // Starts the escalation timers from `now` for the step reached.
  void schedule(alert_record& a, const route& r, timestamp now) {
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

  // Pages the steps reached so far (at least step 0) unless something holds paging back; the
  // chain restarts from now.
  void page(alert_record& a, notify_action action, const lifecycle_event& ev, timestamp now) {
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

  // After a pause: a first page if nobody heard of the alert yet, else a reminder.
  void resume(alert_record& a, const lifecycle_event& ev, timestamp now) {
    if (!wants_paging(a)) return;
    page(a, a.step < 0 ? notify_action::trigger : notify_action::repeat, ev, now);
  }

  const alert_record* inhibitor_of(const alert_record& a) const {
    if (!s_.inhibit || a.source != alert_source::physiological) return nullptr;
    for (const auto& [id, t] : st_.by_id) {
      if (t.source == alert_source::technical && t.condition_present && t.patient == a.patient &&
          (t.device == a.device || t.kind == a.kind))
        return &t;
    }
    return nullptr;
  }

  // A technical condition came or went: re-evaluate which physiological alerts it mutes.
  void reevaluate_inhibition(const short_id& patient, timestamp now) {
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
                             "no technical alert of the device or vital holds any more",
                             std::nullopt, a.last_value);
        resume(a, ev, now);
        touch(a);
      }
    }
  }

  void forget(const alert_record& a) {
    const auto key = key_of(a);
    const auto k = st_.by_key.find(key);
    if (k != st_.by_key.end() && k->second == a.id) st_.by_key.erase(k);
    st_.member_levels.erase(a.id);
    st_.by_id.erase(a.id);
  }

  // Resolves and drops from memory; `a` is dangling afterwards.
  void resolve(alert_record& a, timestamp now, const std::string& actor, std::string reason) {
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

  static void update_values(alert_record& a, const alert_event& e) {
    a.last_value = e.value;
    const bool low = e.value < e.threshold;  // a low condition: lower is worse
    if (low ? e.value < a.peak_value : e.value > a.peak_value) a.peak_value = e.value;
  }

  alert_record& open_new(const alert_event& e, const std::string& group, timestamp now) {
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
           "muted by technical alert " + std::to_string(t->id) + " (" + t->current_rule + ")",
           e.time, e.value);
    }
    page(stored, notify_action::trigger, ev, now);
    touch(stored);
    if (stored.source == alert_source::technical) reevaluate_inhibition(stored.patient, now);
    return stored;
  }

  // The priority rose: an acknowledged alert sounds again (IEC 60601-1-8).
  void escalate(alert_record& a, const alert_event& e, timestamp now, std::string reason) {
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
  void retrigger(alert_record& a, const alert_event& e, timestamp now) {
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

  void on_raise(const alert_event& e, timestamp now) {
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
          escalate(a, e, now,
                   e.rule + " raised the priority to " + std::string(to_string(e.level)));
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

  void on_clear(const alert_event& e, timestamp now) {
    const auto k = st_.by_key.find({e.patient.str(), group_of(e.rule)});
    if (k == st_.by_key.end()) return;
    alert_record& a = st_.by_id.at(k->second);
    const auto member = std::find(a.holding.begin(), a.holding.end(), e.rule);
    if (!a.condition_present || member == a.holding.end()) return;
    a.holding.erase(member);
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
             e.rule + " cleared; " + top + " still holds", e.time, e.value);
      } else if (a.current_rule == e.rule) {
        a.current_rule = top;
      }
      touch(a);
      return;
    }

    a.condition_present = false;
    a.cleared_at = e.time;
    a.cleared_wall = now;
    a.last_value = e.value;
    emit(a, alert_action::condition_cleared, now, detector_actor,
         e.message.empty() ? e.rule + " cleared" : e.message, e.time, e.value);
    if (s_.latch_high && a.level == priority::high && a.state == alert_state::active) {
      // Nobody has seen it: it stays until acknowledged, and frees the key for a new alert.
      a.state = alert_state::latched;
      st_.by_key.erase(k);
      emit(a, alert_action::latched, now, system_actor,
           "high-priority alert cleared unacknowledged: stays until acknowledged", e.time, e.value);
    }
    touch(a);
    if (a.source == alert_source::technical) reevaluate_inhibition(a.patient, now);
  }

  void end_snooze(const alert_key& key, timestamp now, const std::string& actor,
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

  void tick(timestamp now) {
    // (1) Conditions gone for the whole flap window resolve.
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

    // (2) Snoozes that ran out.
    std::vector<alert_key> expired;
    for (const auto& [key, sn] : st_.snoozes) {
      if (sn.until <= now) expired.push_back(key);
    }
    for (const auto& key : expired) end_snooze(key, now, system_actor, "snooze expired");

    for (auto& [id, a] : st_.by_id) {
      if (!unacked(a) || a.inhibited || snoozed(a, now)) continue;
      const route* r = route_of(a);
      if (!r || r->steps.empty()) continue;

      // (5) Quiet hours over: page what waited.
      if (a.deferred_until) {
        if (*a.deferred_until > now) continue;
        a.deferred_until.reset();
        if (wants_paging(a)) {
          const bool first = a.step < 0;
          const auto receivers = reached(*r, std::max(a.step, 0));
          const auto ev =
              emit(a, alert_action::notified, now, system_actor,
                   "quiet hours ended: " + receiver_list(receivers), std::nullopt, a.last_value);
          page(a, first ? notify_action::trigger : notify_action::repeat, ev, now);
        }
        touch(a);
        continue;
      }

      // (3) Escalation steps, measured from when the chain started.
      bool changed = false;
      while (a.step >= 0 && a.next_step_at && *a.next_step_at <= now &&
             a.step + 1 < static_cast<int>(r->steps.size())) {
        if (a.level != priority::high && r->quiet) {
          if (const auto end = quiet_end(*r->quiet, s_.utc_offset_min, now)) {
            a.deferred_until = *end;
            changed = true;
            break;
          }
        }
        const timestamp due = *a.next_step_at;
        const auto k = static_cast<std::size_t>(++a.step);
        if (k + 1 < r->steps.size()) {
          a.next_step_at = due + (r->steps[k + 1].after - r->steps[k].after);
        } else {
          a.next_step_at.reset();
        }
        std::vector<std::pair<std::string, int>> receivers;
        for (const auto& rec : r->steps[k].receivers) {
          receivers.emplace_back(rec, static_cast<int>(k));
        }
        const auto ev =
            emit(a, alert_action::notified, now, system_actor,
                 "escalation step " + std::to_string(k) + ": " + receiver_list(receivers),
                 std::nullopt, a.last_value);
        for (const auto& [rec, step] : receivers) {
          notify(a, rec, notify_action::escalate, step, ev, now);
        }
        changed = true;
      }

      // (4) Reminders of everyone reached so far.
      if (!a.deferred_until && a.step >= 0 && r->repeat_interval.count() > 0 && a.next_repeat_at &&
          *a.next_repeat_at <= now) {
        while (*a.next_repeat_at <= now) *a.next_repeat_at += r->repeat_interval;
        const auto receivers = reached(*r, a.step);
        const auto ev = emit(a, alert_action::notified, now, system_actor,
                             "reminder: " + receiver_list(receivers), std::nullopt, a.last_value);
        for (const auto& [rec, step] : receivers) {
          notify(a, rec, notify_action::repeat, step, ev, now);
        }
        changed = true;
      }
      if (changed) touch(a);
    }
  }

  command_result place_snooze(const short_id& patient, const std::string& group,
                              std::chrono::seconds length, priority up_to, const actor_info& who,
                              timestamp now) {
    const auto bound = up_to == priority::high ? s_.max_snooze_high : s_.max_snooze;
    if (length < std::chrono::seconds(1) || length > bound) {
      return {command_result::status::invalid,
              "snooze length must be between 1 s and " + format_length(bound) +
                  (up_to == priority::high ? " for high-priority alerts" : "")};
    }
    const alert_key key{patient.str(), group};
    snooze sn;
    sn.patient = patient;
    sn.group = group;
    sn.until = now + length;
    sn.up_to = up_to;
    sn.by = who.by;
    sn.reason = who.reason;
    sn.created = now;
    st_.snoozes[key] = sn;
    out_.snoozes.push_back(sn);
    for (auto& [id, a] : st_.by_id) {
      if (key_of(a) != key) continue;
      emit(a, alert_action::snoozed, now, who.by,
           "snoozed until " + format_time(sn.until) +
               (who.reason.empty() ? std::string() : ": " + who.reason),
           std::nullopt, a.last_value);
      touch(a);
    }
    return {};
  }

 private:
  const alert_manager_settings& s_;
  impl& st_;
  alert_changes& out_;
};

namespace {

command_result not_found(std::uint64_t id) {
  return {command_result::status::not_found,
          "alert " + std::to_string(id) + " does not exist or is resolved"};
}

command_result no_actor() {
  return {command_result::status::invalid, "who acts must be named (by)"};
}

}  // namespace

alert_manager::alert_manager(alert_manager_settings settings)
    : settings_(std::move(settings)), state_(std::make_unique<impl_state>()) {
  for (const auto& r : settings_.routes) {
    if (r.steps.empty()) {
      throw std::invalid_argument("alert route '" + r.name + "' has no escalation steps");
    }
    for (std::size_t k = 1; k < r.steps.size(); ++k) {
      if (r.steps[k].after < r.steps[k - 1].after) {
        throw std::invalid_argument("alert route '" + r.name +
                                    "': escalation steps must not go back in time");
      }
    }
    if (r.repeat_interval.count() < 0) {
      throw std::invalid_argument("alert route '" + r.name + "': negative repeat interval");
    }
  }
  if (settings_.flap_window.count() < 0) {
    throw std::invalid_argument("alert flap window must not be negative");
  }
  for (const auto& g : settings_.groups) {
    for (const auto& rule : g.rules) state_->group_of_rule.emplace(rule, g.name);
    state_->group_of_rule.emplace(g.name, g.name);
  }
}

alert_manager::~alert_manager() = default;
alert_manager::alert_manager(alert_manager&&) noexcept = default;
alert_manager& alert_manager::operator=(alert_manager&&) noexcept = default;

void alert_manager::restore(std::vector<alert_record> open_alerts, std::vector<snooze> snoozes,
                            alert_id_state ids) {
  auto& st = *state_;
  st.alert_counter = ids.alert;
  st.event_counter = ids.event;
  st.notification_counter = ids.notification;
  for (auto& a : open_alerts) {
    if (!a.open()) continue;
    st.alert_counter = std::max(st.alert_counter, a.id);
    // The config may have changed since: timers of a route that is gone (or shorter) would be
    // due forever without tick() acting on them.
    const auto r = std::find_if(settings_.routes.begin(), settings_.routes.end(),
                                [&a](const route& x) { return x.name == a.route; });
    if (r == settings_.routes.end()) {
      a.next_step_at.reset();
      a.next_repeat_at.reset();
      a.deferred_until.reset();
    } else {
      if (a.step + 1 >= static_cast<int>(r->steps.size())) a.next_step_at.reset();
      if (r->repeat_interval.count() <= 0) a.next_repeat_at.reset();
    }
    auto& levels = st.member_levels[a.id];
    for (const auto& r : a.holding) levels[r] = a.level;  // per-member levels are not stored
    if (a.state == alert_state::active || a.state == alert_state::acknowledged) {
      auto& slot = st.by_key[{a.patient.str(), a.group}];
      slot = std::max(slot, a.id);  // two for one key cannot happen; keep the newest if it did
    }
    const auto id = a.id;
    st.by_id.insert_or_assign(id, std::move(a));
  }
  for (auto& sn : snoozes) {
    sn.removed = false;
    st.snoozes.insert_or_assign({sn.patient.str(), sn.group}, std::move(sn));
  }
}

void alert_manager::on_event(const alert_event& e, timestamp now, alert_changes& out) {
  try {
    impl_state::ops o(settings_, *state_, out);
    if (e.transition == alert_transition::raised) {
      o.on_raise(e, now);
    } else {
      o.on_clear(e, now);
    }
  } catch (const std::exception&) {
    // Only allocation can throw here; a lost event must not take the io thread down.
  }
}

void alert_manager::tick(timestamp now, alert_changes& out) {
  try {
    impl_state::ops(settings_, *state_, out).tick(now);
  } catch (const std::exception&) {
    // As in on_event: nothing but allocation throws.
  }
}

std::optional<timestamp> alert_manager::next_due() const {
  std::optional<timestamp> due;
  const auto take = [&due](std::optional<timestamp> t) {
    if (t && (!due || *t < *due)) due = t;
  };
  for (const auto& [key, sn] : state_->snoozes) take(sn.until);
  for (const auto& [id, a] : state_->by_id) {
    if (a.state != alert_state::latched && !a.condition_present && a.cleared_wall) {
      take(*a.cleared_wall + settings_.flap_window);
    }
    if (a.state == alert_state::acknowledged || a.inhibited) continue;
    // A snoozed alert's timers wait for the snooze, whose end is already taken; tick() would not
    // act on them, so taking them would make the caller spin.
    const auto sn = state_->snoozes.find({a.patient.str(), a.group});
    if (sn != state_->snoozes.end() && sn->second.up_to >= a.level) continue;
    if (a.deferred_until) {
      take(a.deferred_until);
      continue;
    }
    take(a.next_step_at);
    take(a.next_repeat_at);
  }
  return due;
}

command_result alert_manager::acknowledge(std::uint64_t alert_id, const actor_info& who,
                                          timestamp now, alert_changes& out) {
  const auto it = state_->by_id.find(alert_id);
  if (it == state_->by_id.end()) return not_found(alert_id);
  if (who.by.empty()) return no_actor();
  auto& a = it->second;
  if (a.state == alert_state::acknowledged) {
    return {command_result::status::conflict,
            "alert " + std::to_string(alert_id) + " is already acknowledged"};
  }
  impl_state::ops o(settings_, *state_, out);
  const std::string reason = who.reason.empty() ? std::string("acknowledged") : who.reason;
  a.acknowledged_at = now;
  a.acknowledged_by = who.by;
  a.next_step_at.reset();
  a.next_repeat_at.reset();
  a.deferred_until.reset();
  if (a.state == alert_state::latched) {
    // The condition is gone already: acknowledging a latched alert ends it.
    o.emit(a, alert_action::acknowledged, now, who.by, reason, std::nullopt, a.last_value);
    o.resolve(a, now, who.by, "acknowledged while latched");
    return {};
  }
  a.state = alert_state::acknowledged;
  const auto ev =
      o.emit(a, alert_action::acknowledged, now, who.by, reason, std::nullopt, a.last_value);
  o.notify_paged(a, notify_action::acknowledge, ev, now);
  o.touch(a);
  return {};
}

command_result alert_manager::resolve(std::uint64_t alert_id, const actor_info& who, timestamp now,
                                      alert_changes& out) {
  const auto it = state_->by_id.find(alert_id);
  if (it == state_->by_id.end()) return not_found(alert_id);
  if (who.by.empty()) return no_actor();
  auto& a = it->second;
  if (a.condition_present) {
    return {command_result::status::conflict, "alert " + std::to_string(alert_id) +
                                                  ": the condition still holds (" + a.current_rule +
                                                  "); acknowledge or snooze it instead"};
  }
  impl_state::ops(settings_, *state_, out)
      .resolve(a, now, who.by, who.reason.empty() ? std::string("resolved by hand") : who.reason);
  return {};
}

command_result alert_manager::snooze_alert(std::uint64_t alert_id, std::chrono::seconds length,
                                           const actor_info& who, timestamp now,
                                           alert_changes& out) {
  const auto it = state_->by_id.find(alert_id);
  if (it == state_->by_id.end()) return not_found(alert_id);
  if (who.by.empty()) return no_actor();
  const auto& a = it->second;
  return impl_state::ops(settings_, *state_, out)
      .place_snooze(a.patient, a.group, length, a.level, who, now);
}

command_result alert_manager::snooze_rule(const short_id& patient, std::string_view rule,
                                          std::chrono::seconds length, priority up_to,
                                          const actor_info& who, timestamp now,
                                          alert_changes& out) {
  if (who.by.empty()) return no_actor();
  if (patient.empty() || rule.empty()) {
    return {command_result::status::invalid, "a snooze needs a patient and a rule"};
  }
  impl_state::ops o(settings_, *state_, out);
  return o.place_snooze(patient, o.group_of(rule), length, up_to, who, now);
}

command_result alert_manager::unsnooze(const short_id& patient, std::string_view rule,
                                       const actor_info& who, timestamp now, alert_changes& out) {
  if (who.by.empty()) return no_actor();
  impl_state::ops o(settings_, *state_, out);
  const alert_key key{patient.str(), o.group_of(rule)};
  if (!state_->snoozes.contains(key)) {
    return {command_result::status::not_found,
            "no snooze for patient " + patient.str() + " and rule " + std::string(rule)};
  }
  o.end_snooze(key, now, who.by,
               who.reason.empty() ? std::string("snooze lifted") : "snooze lifted: " + who.reason);
  return {};
}

const alert_record* alert_manager::find(std::uint64_t alert_id) const {
  const auto it = state_->by_id.find(alert_id);
  return it == state_->by_id.end() ? nullptr : &it->second;
}

std::vector<const alert_record*> alert_manager::open_alerts() const {
  std::vector<const alert_record*> result;
  result.reserve(state_->by_id.size());
  for (const auto& [id, a] : state_->by_id) result.push_back(&a);
  return result;
}

std::vector<snooze> alert_manager::snoozes() const {
  std::vector<snooze> result;
  result.reserve(state_->snoozes.size());
  for (const auto& [key, sn] : state_->snoozes) result.push_back(sn);
  return result;
}

std::array<std::array<std::uint64_t, 3>, 4> alert_manager::counts() const {
  std::array<std::array<std::uint64_t, 3>, 4> result{};
  for (const auto& [id, a] : state_->by_id) {
    const auto s = static_cast<std::size_t>(a.state);
    const auto p = static_cast<std::size_t>(a.level);
    if (s < result.size() && p < result[s].size()) ++result[s][p];
  }
  return result;
}

}  // namespace vitals::core
