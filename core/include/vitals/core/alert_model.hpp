#pragma once
/// The alert model: an alert as stored, its audit trail, the notifications about it, snoozes,
/// and what one lifecycle step changed. Shared by the alert manager (core), the stores, the
/// notifiers and the API, so that none of them needs the manager to speak about alerts.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
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

/// The patient id of alerts about vitalsd itself (store_failing, source_silent): they concern
/// no patient and no vital, and their value is no reading.
inline constexpr std::string_view vitalsd_patient = "vitalsd";

/// Whether the alert is about vitalsd itself rather than a patient's readings.
inline bool about_vitalsd(const alert_record& a) noexcept {
  return a.patient.view() == vitalsd_patient;
}

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

}  // namespace vitals::core
