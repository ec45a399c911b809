#pragma once
/// Technical alerts from what devices say about themselves: a sensor off the patient, a poor
/// signal, a sensor fault, a stopped CGM session, a low battery, a calibration due, a dropped BLE
/// link or an offline gateway (core::device_condition on samples). A condition must hold for its
/// delay before it alerts, so that a probe re-seated within seconds pages nobody.

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <vitals/core/alert.hpp>
#include <vitals/core/sample.hpp>

namespace vitals::core {

/// Number of device_condition bits.
inline constexpr std::size_t device_condition_count = 9;

/// How one condition alerts.
struct condition_rule {
  std::string_view rule;  ///< alert rule name, e.g. "sensor_off"
  priority level = priority::medium;
  std::chrono::milliseconds delay{0};  ///< how long it must hold before it alerts (see below)
  bool alerts = true;                  ///< false: tracked and reported, never an alert
};

/// Defaults: sensor_off medium after 10 s; signal_poor low after 30 s; no_reading only as part
/// of the others (no alert of its own); sensor_fault medium at once; sensor_session_stopped
/// medium at once; device_battery_low low at once; sensor_calibration low at once;
/// device_disconnected and gateway_offline medium after 30 s.
struct condition_settings {
  std::array<condition_rule, device_condition_count> rules = default_rules();

  static std::array<condition_rule, device_condition_count> default_rules() noexcept;
};

/// Rule name of a condition bit ("sensor_off", "signal_poor", "no_reading", "sensor_fault",
/// "sensor_session_stopped", "device_battery_low", "sensor_calibration",
/// "device_disconnected", "gateway_offline"); "" for anything that is not one bit.
std::string_view condition_rule_name(device_condition c) noexcept;

/// Human-readable description of a condition ("the sensor is off the patient"), for messages.
std::string_view describe(device_condition c) noexcept;

/// Tracks the conditions of every device; called on the pipeline thread only. Conditions are
/// per device (an oximeter's SpO2 and pulse share them). A reading or report of the device
/// replaces its reading conditions (everything but link_conditions); a link-state report
/// replaces its link conditions; any reading with a value also ends the link conditions (data
/// flows, so the link is up).
///
/// A delay is over when the condition has held that long in receive (wall) time, or, for the
/// conditions that readings carry (everything but link_conditions), in the device's own time:
/// a replay or a gateway's backlog delivers a minute of probe-off frames in milliseconds, and
/// that minute still counts. A device that falls silent is timed by tick().
class condition_monitor {
 public:
  explicit condition_monitor(condition_settings settings = {}) : settings_(settings) {}

  /// A configuration reload: the new delays and levels apply to conditions from now on; a
  /// condition already alerting goes on until the device stops reporting it.
  void reconfigure(const condition_settings& settings) noexcept { settings_ = settings; }

  /// A sample (with or without a value) from the device, in order and on time. Raises the
  /// conditions whose delay is zero or already over, clears those that ended.
  void observe(const sample& s, std::vector<alert_event>& out);

  /// Raises the conditions that have now held for their delay, at wall time `now`.
  void tick(timestamp now, std::vector<alert_event>& out);

  /// Devices with at least one condition holding or alerting.
  std::size_t active_devices() const noexcept;

  /// Bytes of per-device state (map nodes included, approximately).
  std::size_t state_bytes() const noexcept;

 private:
  struct state {
    short_id patient;
    vital_kind kind = vital_kind::heart_rate;
    std::uint16_t holding = 0;   ///< condition bits currently reported
    std::uint16_t alerting = 0;  ///< condition bits whose alert was raised
    std::array<timestamp, device_condition_count> since{};         ///< receive time each began
    std::array<timestamp, device_condition_count> since_device{};  ///< device time each began
    timestamp last_time{};                                         ///< newest device time seen
  };

  /// How long condition `bit` has held at receive time `now` and device time `device_now`
  /// (the device time counts for reading conditions only; nullopt: not known).
  std::chrono::milliseconds held(const state& st, std::size_t bit, timestamp now,
                                 std::optional<timestamp> device_now) const noexcept;
  void update(state& st, const short_id& device, std::uint16_t mask, std::uint16_t now_holding,
              timestamp at, std::optional<timestamp> device_at, std::vector<alert_event>& out);
  void raise_due(state& st, const short_id& device, timestamp now,
                 std::optional<timestamp> device_now, std::vector<alert_event>& out);
  alert_event make_event(const state& st, const short_id& device, std::size_t bit,
                         alert_transition t, timestamp when, std::chrono::milliseconds held) const;

  condition_settings settings_;
  std::unordered_map<short_id, state> devices_;
};

}  // namespace vitals::core
