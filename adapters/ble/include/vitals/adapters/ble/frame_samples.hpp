#pragma once
/// Decoded GATT frames -> core::samples: values in canonical units, device status bits as
/// quality flags and technical conditions (core::device_condition), never as values. Shared by
/// the BLE-to-MQTT gateway source, the BlueZ source and `vitalsctl decode`.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <vitals/adapters/ble/gatt.hpp>
#include <vitals/core/sample.hpp>

namespace vitals::adapters::ble {

/// Who a frame belongs to and when it arrived.
struct frame_context {
  core::short_id patient;
  core::short_id device;
  core::timestamp receive_time{};  ///< when vitalsd got it
  /// When the device took the reading, if the transport says (gateway timestamp); otherwise
  /// receive_time is used for frames without a time of their own (HR, PLX continuous).
  std::optional<core::timestamp> frame_time;
  /// CGM session start (0x2AAA, gateway or config): record time = start + time offset. Unknown:
  /// the newest record of the notification is taken to be from frame_time/receive_time.
  std::optional<core::timestamp> cgm_session_start;
};

/// What converting one frame did, for counters and logs.
struct frame_outcome {
  std::size_t values = 0;          ///< samples with a value appended
  std::size_t condition_only = 0;  ///< quality_no_value samples appended
  std::size_t crc_failures = 0;    ///< CGM records dropped because their CRC did not match
  std::uint16_t conditions = 0;    ///< union of the device_condition bits reported
};

/// Appends the samples of one decoded frame to `out`. Rules (reference/ble-gatt.md):
/// - HR 0x2A37: one heart_rate sample; sensor contact "supported, not in contact" gives a
///   quality_no_value sample with condition_sensor_off instead of a value.
/// - PLX 0x2A5F / 0x2A5E: SpO2 and pulse rate of the normal (or spot-check) pair, one sample
///   each. Device/sensor status unconnected, displaced, disconnected -> condition_sensor_off;
///   equipment or sensor malfunction, unknown sensor -> condition_sensor_fault; measurement
///   status unavailable / invalid or a special SFLOAT -> condition_no_reading; any of these
///   three make the frame condition-only (quality_no_value samples, one per vital). Low
///   perfusion, inadequate, poor, erratic or non-pulsatile signal, questionable pulse,
///   interference, signal processing irregularity, questionable measurement ->
///   condition_signal_poor and quality_device_flagged on the values. Early estimate, calibration
///   ongoing, demonstration and testing data -> quality_device_flagged. Spot-check time: its
///   timestamp when present and the device clock is set (read as UTC), else frame time.
/// - CGM 0x2AA7: one glucose sample per record with a good CRC (crc_failures counts the
///   others); time = session start + offset. Annunciation: session stopped ->
///   condition_session_stopped, sensor type incorrect / malfunction / general device fault ->
///   condition_sensor_fault (both make the record condition-only); battery low ->
///   condition_battery_low; time sync / calibration required -> condition_calibration and
///   quality_device_flagged; temperature too high / low -> condition_signal_poor and
///   quality_device_flagged; below / above the device range -> quality_device_low / _high. The
///   whole annunciation is kept in sample.device_status (the CGM's own hypo/hyper warnings are
///   annotations, never alerts of their own). A special SFLOAT -> condition_no_reading.
/// - CGM Session Start Time: no samples (the caller keeps the start; see session_start()).
frame_outcome to_samples(const decoded_frame& frame, const frame_context& ctx,
                         std::vector<core::sample>& out);

/// The session start a 0x2AAA value announces, in UTC (time zone and DST applied when known);
/// nullopt when the date is not set.
std::optional<core::timestamp> session_start(const cgm_session_start_time& t) noexcept;

/// A connection-state report as a sample: quality_no_value | quality_link_state, conditions
/// `link` (condition_disconnected / condition_gateway_offline, or none when connected), kind
/// `kind` (any vital the device measures), time = receive time.
core::sample link_state_sample(const core::short_id& patient, const core::short_id& device,
                               core::vital_kind kind, std::uint16_t link,
                               core::timestamp receive_time) noexcept;

/// A set of vitals, one bit per core::vital_kind.
using vital_set = std::uint8_t;
static_assert(core::vital_kind_count <= 8, "vital_set has one bit per vital kind");

/// The bit of `k` in a vital_set.
constexpr vital_set vital_bit(core::vital_kind k) noexcept {
  return static_cast<vital_set>(1u << static_cast<unsigned>(k));
}

/// The vitals characteristic `c` carries, as a set (vitals_of below).
vital_set vital_bits(characteristic c) noexcept;

/// A link_state_sample() for each vital in `vitals`, appended to `out`; heart rate alone when the
/// set is empty (a device whose vitals are not known yet), so that the report is never lost.
void link_state_samples(const core::short_id& patient, const core::short_id& device,
                        vital_set vitals, std::uint16_t link, core::timestamp receive_time,
                        std::vector<core::sample>& out);

/// The vitals a characteristic carries (HR: heart_rate; PLX: spo2, heart_rate; CGM: glucose).
std::span<const core::vital_kind> vitals_of(characteristic c) noexcept;

}  // namespace vitals::adapters::ble
