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
#include <vitals/core/alert_model.hpp>
#include <vitals/core/sample.hpp>

namespace vitals::core {

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

  /// Throws std::invalid_argument for settings the constructor would refuse.
  static void check(const alert_manager_settings& settings);

  /// A configuration reload (throws as check(), changing nothing): routes, care teams and the
  /// lifecycle settings apply to what happens from now on. Open alerts, their audit trail,
  /// snoozes and escalation timers are kept. An open alert keeps the route it took at its raise,
  /// following that route's new steps (a step added after the one reached is scheduled from
  /// now). An open alert whose route is gone takes the first route that matches it now, and
  /// is paged on it from its first step if it still wants paging (audited as `notified`); with
  /// no match, its timers stop. What changed is appended to `out`.
  void reconfigure(alert_manager_settings settings, timestamp now, alert_changes& out);

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
  void index_groups();
  /// Stops timers the alert's route no longer has (the route gone, or fewer steps).
  void fit_timers(alert_record& a) const;

  alert_manager_settings settings_;
  // Implementation state (maps by id and by key, snoozes, id counters) lives in the .cpp.
  std::unique_ptr<impl_state> state_;
};

}  // namespace vitals::core
