#pragma once
// Internal to vitals::core: the alert manager's state and the operations of one call, shared by
// its parts: alert_manager.cpp (construction, restore, the public entry points, queries),
// alert_manager_paging.cpp (routing, the audit trail, paging, inhibition, resolving),
// alert_manager_events.cpp (detector raises and clears), alert_manager_timers.cpp (tick) and
// alert_manager_commands.cpp (operator commands).

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <vitals/core/alert_manager.hpp>

namespace vitals::core {

namespace detail {

/// An alert's dedup key: patient, group.
using alert_key = std::pair<std::string, std::string>;

/// Actor of what the detectors cause (raise, clear, escalate) in the audit trail.
inline constexpr const char* detector_actor = "detector";
/// Actor of what the manager does by itself (timers, latching, inhibition).
inline constexpr const char* system_actor = "system";

/// Whether `list` holds `v`.
bool contains(const std::vector<std::string>& list, std::string_view v);
/// When `now` is inside the quiet hours, the end of them; nullopt otherwise.
std::optional<timestamp> quiet_end(const quiet_hours& q, int utc_offset_min, timestamp now);

}  // namespace detail

struct alert_manager::impl_state {
  std::uint64_t alert_counter = 0;
  std::uint64_t event_counter = 0;
  std::uint64_t notification_counter = 0;
  std::map<std::uint64_t, alert_record> by_id;        // ordered: deterministic output
  std::map<detail::alert_key, std::uint64_t> by_key;  // the active or acknowledged alert of a key
  // Priority each holding member raised with, to know where to de-escalate to.
  std::unordered_map<std::uint64_t, std::map<std::string, priority>> member_levels;
  std::map<detail::alert_key, snooze> snoozes;
  std::unordered_map<std::string, std::string> group_of_rule;

  class ops;
};

/// The operations of one call, over the settings, the state and the call's output.
class alert_manager::impl_state::ops {
 public:
  using impl = alert_manager::impl_state;
  using alert_key = detail::alert_key;
  /// Receivers with the escalation step that first reached each.
  using receiver_steps = std::vector<std::pair<std::string, int>>;

  /// Operations over `st` under `s`; what they change is appended to `out`.
  ops(const alert_manager_settings& s, impl& st, alert_changes& out) : s_(s), st_(st), out_(out) {}

  /// The group a rule belongs to (a rule in no group is its own).
  std::string group_of(std::string_view rule) const {
    const auto it = st_.group_of_rule.find(std::string(rule));
    return it == st_.group_of_rule.end() ? std::string(rule) : it->second;
  }

  /// The alert's dedup key.
  static alert_key key_of(const alert_record& a) { return {a.patient.str(), a.group}; }

  /// Active or latched: nobody has acknowledged it.
  static bool unacked(const alert_record& a) {
    return a.state == alert_state::active || a.state == alert_state::latched;
  }

  /// Whether a paused chain should page when the pause (snooze, inhibition, quiet hours) ends.
  static bool wants_paging(const alert_record& a) {
    return (a.state == alert_state::active && a.condition_present) ||
           a.state == alert_state::latched;
  }

  // alert_manager_paging.cpp: routing, the audit trail, paging, inhibition, resolving.
  /// The route the alert was given; nullptr when none (or it is gone from the config).
  const route* route_of(const alert_record& a) const;
  /// The first route that matches the alert; empty when none.
  std::string select_route(const alert_record& a) const;
  /// Records the alert's new state in the call's output (once per alert).
  void touch(const alert_record& a);
  /// Appends an audit event of `a` (and stamps `a.updated`).
  lifecycle_event emit(alert_record& a, alert_action action, timestamp now, std::string actor,
                       std::string reason, std::optional<timestamp> data_time, double value);
  /// Appends a notification of `a` for one receiver.
  void notify(const alert_record& a, const std::string& receiver, notify_action action, int step,
              const lifecycle_event& ev, timestamp now);
  /// Receivers of steps 0..upto, each once, with the first step that reached them.
  static receiver_steps reached(const route& r, int upto);
  /// "a, b" or "nobody", for audit messages.
  static std::string receiver_list(const receiver_steps& list);
  /// Tells everyone who was paged about an acknowledge or resolve.
  void notify_paged(const alert_record& a, notify_action action, const lifecycle_event& ev,
                    timestamp now);
  /// The snooze of the alert's key when it covers the alert's priority; nullptr otherwise.
  const snooze* snooze_for(const alert_record& a) const;
  /// Whether a snooze in force covers the alert at `now`.
  bool snoozed(const alert_record& a, timestamp now) const;
  /// Starts the escalation timers from `now` for the step reached.
  void schedule(alert_record& a, const route& r, timestamp now);
  /// Pages the steps reached so far (at least step 0) unless something holds paging back; the
  /// chain restarts from now.
  void page(alert_record& a, notify_action action, const lifecycle_event& ev, timestamp now);
  /// After a pause: a first page if nobody heard of the alert yet, else a reminder.
  void resume(alert_record& a, const lifecycle_event& ev, timestamp now);
  /// The technical alert that mutes `a`; nullptr when none does.
  const alert_record* inhibitor_of(const alert_record& a) const;
  /// A technical condition came or went: re-evaluate which physiological alerts it mutes.
  void reevaluate_inhibition(const short_id& patient, timestamp now);
  /// Drops the alert from memory.
  void forget(const alert_record& a);
  /// Resolves and drops from memory; `a` is dangling afterwards.
  void resolve(alert_record& a, timestamp now, const std::string& actor, std::string reason);

  // alert_manager_events.cpp: detector events.
  /// A detector raised `e`: a new alert, a member joining one, a flap or an escalation.
  void on_raise(const alert_event& e, timestamp now);
  /// A detector cleared `e`: a member leaves, or the condition is gone (maybe latched).
  void on_clear(const alert_event& e, timestamp now);

  // alert_manager_timers.cpp: timers.
  /// Flap windows, snooze expiry, quiet hours, escalation steps, reminders.
  void tick(timestamp now);
  /// Lifts the snooze of `key` (expiry or by hand) and resumes paging of its alerts.
  void end_snooze(const alert_key& key, timestamp now, const std::string& actor,
                  const std::string& reason);

  // alert_manager_commands.cpp: operator commands.
  /// Snoozes (patient, group) up to `up_to` for `length`, within the configured bound.
  command_result place_snooze(const short_id& patient, const std::string& group,
                              std::chrono::seconds length, priority up_to, const actor_info& who,
                              timestamp now);

 private:
  // alert_manager_events.cpp
  /// Last and peak value of the alert after a reading of one of its members.
  static void update_values(alert_record& a, const alert_event& e);
  /// A new alert for `e` in `group`: routed, paged unless muted, snoozed or in quiet hours.
  alert_record& open_new(const alert_event& e, const std::string& group, timestamp now);
  /// The priority rose to `e.level`; an acknowledged alert becomes active again.
  void escalate(alert_record& a, const alert_event& e, timestamp now, std::string reason);
  /// The condition returned within the flap window: the same alert holds again.
  void retrigger(alert_record& a, const alert_event& e, timestamp now);

  // alert_manager_timers.cpp: the steps of tick(); the last two return whether `a` changed.
  /// Resolves alerts whose condition has been gone for the whole flap window.
  void resolve_cleared(timestamp now);
  /// Ends the snoozes that ran out.
  void expire_snoozes(timestamp now);
  /// Quiet hours are over for `a`: pages what waited.
  void end_quiet_hours(alert_record& a, const route& r, timestamp now);
  /// Pages the escalation steps that fell due (or defers them into quiet hours' end).
  bool escalate_due(alert_record& a, const route& r, timestamp now);
  /// Reminds everyone reached so far when the repeat interval ran out.
  bool remind_due(alert_record& a, const route& r, timestamp now);

  const alert_manager_settings& s_;
  impl& st_;
  alert_changes& out_;
};

}  // namespace vitals::core
