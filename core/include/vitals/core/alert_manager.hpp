#pragma once
/// The alert lifecycle: detector events become alerts with a state, an audit trail, routing,
/// escalation, snoozes, inhibition and flapping control. Pure logic on an injected clock: the
/// caller persists what each call returns (alert_changes) and delivers the notifications.

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <vitals/core/alert.hpp>
#include <vitals/core/sample.hpp>

namespace vitals::core {

/// Where an alert is in its lifecycle (ThingsBoard's ACTIVE_UNACK / ACTIVE_ACK / CLEARED_UNACK /
/// CLEARED_ACK, with IEC 60601-1-8 latching):
/// - active: the condition holds (or cleared less than the flap window ago), nobody acknowledged;
/// - acknowledged: the condition holds, someone acknowledged: no more reminders or escalation;
/// - latched: a latching (high-priority) alert whose condition cleared unacknowledged; it stays
///   until acknowledged (which resolves it);
/// - resolved: over. Final.
enum class alert_state : std::uint8_t { active = 0, acknowledged = 1, latched = 2, resolved = 3 };

std::string_view to_string(alert_state s) noexcept;
std::optional<alert_state> parse_alert_state(std::string_view text) noexcept;
std::optional<priority> parse_priority(std::string_view text) noexcept;

/// What happened to an alert: one audit-trail row each.
enum class alert_action : std::uint8_t {
  raised = 0,         ///< a new alert (a detector raised a condition)
  retriggered,        ///< the condition returned within the flap window: same alert
  escalated,          ///< a more severe rule of the alert's group raised: priority up
  deescalated,        ///< the more severe rule cleared, a milder one still holds: priority down
  condition_cleared,  ///< every rule of the group cleared (resolution waits for the flap window)
  latched,            ///< cleared while unacknowledged and latching: stays until acknowledged
  acknowledged,       ///< someone acknowledged
  resolved,           ///< over (flap window passed, acknowledged while latched, or by hand)
  snoozed,            ///< notifications silenced until a time
  snooze_ended,       ///< the snooze expired or was lifted
  inhibited,          ///< a technical alert of the same device mutes this one
  uninhibited,        ///< the technical alert ended
  notified,           ///< an escalation step or a reminder was paged (receivers in `reason`)
};

std::string_view to_string(alert_action a) noexcept;
std::optional<alert_action> parse_alert_action(std::string_view text) noexcept;

/// Rules that are severity levels of one condition share one alert (e.g. glucose_low and
/// glucose_urgent_low). The alert is keyed by (patient, group name); its priority follows the
/// most severe member that holds.
struct alert_group {
  std::string name;                ///< the group's key; the first member by convention
  std::vector<std::string> rules;  ///< members; a rule in no group is a group of its own
};

/// The built-in groups: glucose_low + glucose_urgent_low, news2_urgent_review + news2_emergency,
/// and <vital>_stale + <vital>_stale_urgent for each vital.
std::vector<alert_group> default_alert_groups();

/// One step of an escalation chain: page `receivers` once the alert has been unacknowledged
/// for `after` (the first step usually has after = 0).
struct escalation_step {
  std::chrono::seconds after{0};
  std::vector<std::string> receivers;
  bool operator==(const escalation_step&) const = default;
};

/// Quiet hours of a route, in minutes after local midnight; start > end wraps past midnight.
/// Inside them, notifications of low and medium alerts wait for the end; high never waits.
struct quiet_hours {
  int start_min = 22 * 60;
  int end_min = 7 * 60;
  bool operator==(const quiet_hours&) const = default;
};

/// Which alerts a route takes and who it pages. Empty match lists match anything. Routes are
/// tried in order; the first match wins.
struct route {
  std::string name;
  std::vector<std::string> patients;
  std::vector<std::string> care_teams;
  std::vector<std::string> rules;  ///< rule or group names
  std::vector<priority> priorities;
  std::optional<alert_source> source;
  std::vector<escalation_step> steps;       ///< at least one
  std::chrono::seconds repeat_interval{0};  ///< re-page the reached steps while unacked; 0: never
  std::optional<quiet_hours> quiet;
  bool operator==(const route&) const = default;
};

/// Tuning of the lifecycle ([alerts] in the config).
struct alert_manager_settings {
  /// A condition that returns within this long (device time) after clearing is the same alert,
  /// and an alert resolves only this long (wall clock) after its condition cleared.
  std::chrono::seconds flap_window{120};
  bool latch_high = true;  ///< high-priority alerts latch until acknowledged
  std::chrono::seconds max_snooze{std::chrono::hours(2)};          ///< longest snooze
  std::chrono::seconds max_snooze_high{std::chrono::minutes(30)};  ///< ... of a high alert
  bool inhibit = true;  ///< a technical alert of a device mutes physiological alerts of it
  std::vector<alert_group> groups = default_alert_groups();
  std::vector<route> routes;  ///< none: alerts are kept and audited but nobody is paged
  std::unordered_map<std::string, std::string> care_teams;  ///< patient id -> care team
  int utc_offset_min = 0;  ///< local time of the quiet hours, minutes east of UTC
};

/// An alert as stored (one row of `alerts`).
struct alert_record {
  std::uint64_t id = 0;
  short_id patient;
  short_id device;           ///< device of the first raise (technical alerts: the silent one)
  std::string rule;          ///< the rule that raised it first
  std::string group;         ///< dedup key with the patient
  std::string current_rule;  ///< the most severe member that holds (or held last)
  std::vector<std::string> holding;  ///< members whose condition holds now
  vital_kind kind = vital_kind::heart_rate;
  alert_source source = alert_source::physiological;
  priority level = priority::medium;       ///< now
  priority peak_level = priority::medium;  ///< highest reached
  alert_state state = alert_state::active;
  bool condition_present = true;
  bool inhibited = false;
  std::uint32_t flaps = 0;  ///< times the condition returned within the flap window

  // Device time (what the data says), as the detectors reported it.
  timestamp condition_start{};
  timestamp raised_at{};                ///< first raise
  std::optional<timestamp> cleared_at;  ///< last clear, while the condition is absent

  // Wall-clock lifecycle.
  timestamp created{};
  timestamp updated{};
  std::optional<timestamp> cleared_wall;  ///< when the clear arrived (flap window runs from it)
  std::optional<timestamp> acknowledged_at;
  std::string acknowledged_by;
  std::optional<timestamp> resolved_at;
  std::string resolved_by;

  // Values, canonical units.
  double value = 0.0;  ///< first triggering value
  double threshold = 0.0;
  double peak_value = 0.0;  ///< furthest beyond the threshold
  double last_value = 0.0;
  std::string message;

  // Delivery: the route taken at the first raise and where its escalation chain stands.
  std::string route;                        ///< empty: no route matched, nobody is paged
  int step = -1;                            ///< last escalation step paged; -1: none yet
  std::optional<timestamp> next_step_at;    ///< when the next step is due
  std::optional<timestamp> next_repeat_at;  ///< when the reached steps are reminded
  std::optional<timestamp> deferred_until;  ///< quiet hours: paging waits until then

  bool open() const noexcept { return state != alert_state::resolved; }
};

/// One audit-trail row: who did what to which alert, when and why.
struct lifecycle_event {
  std::uint64_t id = 0;
  std::uint64_t alert_id = 0;
  alert_action action = alert_action::raised;
  timestamp at{};                      ///< wall clock
  std::optional<timestamp> data_time;  ///< device time, for detector-driven actions
  std::string actor;                   ///< "detector", "system", or the user (token name / user)
  std::string reason;
  priority level = priority::medium;        ///< the alert's priority after the action
  alert_state state = alert_state::active;  ///< the alert's state after the action
  double value = 0.0;
};

/// What a notification tells its receiver.
enum class notify_action : std::uint8_t {
  trigger = 0,  ///< first page of an alert (or after a snooze / inhibition ended)
  escalate,     ///< a later escalation step, or the priority rose
  repeat,       ///< reminder of an unacknowledged alert
  acknowledge,  ///< someone acknowledged
  resolve,      ///< the alert is over
};

std::string_view to_string(notify_action a) noexcept;
std::optional<notify_action> parse_notify_action(std::string_view text) noexcept;

/// One row of the outbox: a message for one receiver about one alert event, with the alert as it
/// was then. `id` orders delivery; the idempotency key is per alert event.
struct notification {
  std::uint64_t id = 0;
  std::string receiver;
  notify_action action = notify_action::trigger;
  int step = 0;  ///< escalation step that paged the receiver
  alert_record alert;
  lifecycle_event event;
  timestamp created{};

  /// "vitalsd-<alert id>-<event id>": the same for every receiver of one event.
  std::string idempotency_key() const;
  /// "vitalsd-alert-<alert id>": ties trigger, acknowledge and resolve (PagerDuty dedup_key).
  std::string dedup_key() const;
};

/// A timed silence of one patient's rule (group), with who and why.
struct snooze {
  short_id patient;
  std::string group;
  timestamp until{};
  priority up_to = priority::medium;  ///< alerts above this priority still page
  std::string by;
  std::string reason;
  timestamp created{};
  bool removed = false;  ///< in alert_changes: delete the row
};

/// Everything one call changed, to persist in one transaction (alerts and events before the
/// outbox rows that mention them).
struct alert_changes {
  std::vector<alert_record> alerts;  ///< upserts by id, final state of each alert touched
  std::vector<lifecycle_event> events;
  std::vector<notification> notifications;
  std::vector<snooze> snoozes;  ///< upserts by (patient, group), or deletions

  bool empty() const noexcept {
    return alerts.empty() && events.empty() && notifications.empty() && snoozes.empty();
  }
  void clear();
};

/// Outcome of an operator command.
struct command_result {
  enum class status : std::uint8_t { ok, not_found, conflict, invalid };
  status code = status::ok;
  std::string message;  ///< for errors: what was wrong, for the API's JSON error
  bool ok() const noexcept { return code == status::ok; }
};

/// Who asked, and why (the audit trail records both).
struct actor_info {
  std::string by;
  std::string reason;
};

/// Identifiers to continue from after a restart (the largest stored ones).
struct alert_id_state {
  std::uint64_t alert = 0;
  std::uint64_t event = 0;
  std::uint64_t notification = 0;
};

/// The lifecycle of every alert. Single-threaded: the daemon calls it from its io thread.
/// Each call appends what it changed to `out` (it does not clear it).
class alert_manager {
 public:
  /// Throws std::invalid_argument for settings that cannot work (a route without steps, an
  /// unknown receiver is the config's business).
  explicit alert_manager(alert_manager_settings settings);
  ~alert_manager();
  alert_manager(alert_manager&&) noexcept;
  alert_manager& operator=(alert_manager&&) noexcept;

  /// Continues from stored state: open alerts, snoozes still running, the largest ids.
  void restore(std::vector<alert_record> open_alerts, std::vector<snooze> snoozes,
               alert_id_state ids);

  /// A detector's raise or clear.
  void on_event(const alert_event& e, timestamp now, alert_changes& out);

  /// Timers: flap windows, escalation steps, reminders, quiet hours, snooze expiry.
  void tick(timestamp now, alert_changes& out);

  /// Earliest time tick() has work (for the caller's timer); nullopt: nothing pending.
  std::optional<timestamp> next_due() const;

  command_result acknowledge(std::uint64_t alert_id, const actor_info& who, timestamp now,
                             alert_changes& out);
  /// Only when the condition no longer holds (latched, or clearing); a holding condition would
  /// never be raised again by the detector.
  command_result resolve(std::uint64_t alert_id, const actor_info& who, timestamp now,
                         alert_changes& out);
  /// Snoozes the alert's (patient, group) for `length` (1 s .. the configured bound).
  command_result snooze_alert(std::uint64_t alert_id, std::chrono::seconds length,
                              const actor_info& who, timestamp now, alert_changes& out);
  /// Snoozes a (patient, rule or group) ahead of any alert (e.g. during a procedure).
  command_result snooze_rule(const short_id& patient, std::string_view rule,
                             std::chrono::seconds length, priority up_to, const actor_info& who,
                             timestamp now, alert_changes& out);
  /// Lifts a snooze early.
  command_result unsnooze(const short_id& patient, std::string_view rule, const actor_info& who,
                          timestamp now, alert_changes& out);

  /// An alert the manager holds (open ones only); nullptr otherwise.
  const alert_record* find(std::uint64_t alert_id) const;
  /// Open alerts, by id.
  std::vector<const alert_record*> open_alerts() const;
  /// Snoozes in force.
  std::vector<snooze> snoozes() const;
  /// Open alerts by state and priority, for /metrics: counts[state][priority].
  std::array<std::array<std::uint64_t, 3>, 4> counts() const;

  const alert_manager_settings& settings() const noexcept { return settings_; }

 private:
  struct impl_state;
  alert_manager_settings settings_;
  // Implementation state (maps by id and by key, snoozes, id counters) lives in the .cpp.
  std::unique_ptr<impl_state> state_;
};

}  // namespace vitals::core
