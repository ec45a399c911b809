#pragma once
/// The unit of data that flows from sources through the ring to detectors and the store.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>
#include <type_traits>

#include <vitals/core/short_id.hpp>

namespace vitals::core {

/// Milliseconds since the Unix epoch (UTC); device and receive times are both kept in this unit.
using timestamp = std::chrono::sys_time<std::chrono::milliseconds>;

/// Wall-clock now, rounded to milliseconds.
inline timestamp now_ms() noexcept {
  return std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
}

/// The oldest device time a reading may carry: anything earlier is a device with an unset clock
/// (1970) or a time sent in seconds instead of milliseconds (bad_timestamp).
inline constexpr timestamp earliest_device_time{
    std::chrono::sys_days{std::chrono::year{2000} / std::chrono::January / 1}};

/// Which vital sign a sample carries. Values are stored in the canonical unit of each kind.
enum class vital_kind : std::uint8_t {
  heart_rate = 0,  ///< beats per minute
  spo2 = 1,        ///< percent
  glucose = 2,     ///< mg/dL (mmol/L is converted on decode)
};

inline constexpr std::size_t vital_kind_count = 3;

/// Name used on the wire, in config and in the database ("hr", "spo2", "glucose").
constexpr std::string_view to_string(vital_kind k) noexcept {
  switch (k) {
    case vital_kind::heart_rate:
      return "hr";
    case vital_kind::spo2:
      return "spo2";
    case vital_kind::glucose:
      return "glucose";
  }
  return "unknown";
}

/// Parses a vital name; accepts the wire names and a few common spellings.
constexpr std::optional<vital_kind> parse_vital_kind(std::string_view s) noexcept {
  if (s == "hr" || s == "heart_rate" || s == "heart-rate") return vital_kind::heart_rate;
  if (s == "spo2" || s == "oxygen_saturation" || s == "oxygen-saturation") return vital_kind::spo2;
  if (s == "glucose" || s == "blood_glucose" || s == "blood-glucose") return vital_kind::glucose;
  return std::nullopt;
}

/// The canonical unit a kind is stored in.
constexpr std::string_view canonical_unit(vital_kind k) noexcept {
  switch (k) {
    case vital_kind::heart_rate:
      return "/min";
    case vital_kind::spo2:
      return "%";
    case vital_kind::glucose:
      return "mg/dL";
  }
  return "";
}

/// mg/dL per mmol/L of glucose (clinical.md).
inline constexpr double glucose_mgdl_per_mmol = 18.016;

/// Quality flags a source or the pipeline attaches to a sample (bit set).
enum quality_flag : std::uint16_t {
  quality_none = 0,
  quality_sensor_contact_lost = 1u << 0,  ///< device reports no skin/sensor contact
  quality_artifact = 1u << 1,             ///< implausible jump or device-marked artifact
  quality_out_of_order = 1u << 2,         ///< older than the newest sample of its device and kind
  quality_backfilled = 1u << 3,           ///< delivered late (device time far behind receive time)
  quality_device_low = 1u << 4,           ///< at the sensor's floor (e.g. CGM "LOW")
  quality_device_high = 1u << 5,          ///< at the sensor's ceiling (e.g. CGM "HIGH")
  /// Carries technical conditions only (probe off, no reading, link state): `value` means
  /// nothing; never stored as a reading, never evaluated by a physiological rule.
  quality_no_value = 1u << 6,
  /// The device marked the reading questionable (low perfusion, poor signal, questionable or
  /// early-estimate measurement): stored, never evaluated by a physiological rule.
  quality_device_flagged = 1u << 7,
  /// With quality_no_value: a connection-state report of the device's link (BLE connection,
  /// gateway); its `conditions` speak about condition_disconnected and
  /// condition_gateway_offline only.
  quality_link_state = 1u << 8,
};

/// Technical conditions a device (or its link) reports with or instead of a reading (bit set).
/// They become technical alerts (core/condition_monitor.hpp), never physiological values.
enum device_condition : std::uint16_t {
  condition_none = 0,
  condition_sensor_off = 1u << 0,       ///< no skin contact; sensor unconnected, displaced or off
  condition_signal_poor = 1u << 1,      ///< low perfusion, weak or erratic signal, questionable
  condition_no_reading = 1u << 2,       ///< the device could not measure (NaN, NRes, unavailable)
  condition_sensor_fault = 1u << 3,     ///< equipment or sensor malfunction, wrong sensor
  condition_session_stopped = 1u << 4,  ///< CGM sensor session stopped
  condition_battery_low = 1u << 5,      ///< device battery low
  condition_calibration = 1u << 6,      ///< calibration or time synchronisation required
  condition_disconnected = 1u << 7,     ///< the device's BLE link is down
  condition_gateway_offline = 1u << 8,  ///< the gateway that relays the device is offline
};

/// The conditions that only connection-state reports set and clear.
inline constexpr std::uint16_t link_conditions = condition_disconnected | condition_gateway_offline;

/// One reading of one vital from one device of one patient.
struct sample {
  short_id patient;
  short_id device;
  double value = 0.0;          ///< in canonical_unit(kind)
  timestamp device_time{};     ///< when the device measured it
  timestamp receive_time{};    ///< when vitalsd decoded it
  std::uint64_t sequence = 0;  ///< per-device sequence number, valid when has_sequence
  vital_kind kind = vital_kind::heart_rate;
  bool has_sequence = false;
  /// Index of the source it came through (the pipeline sets it; in the padding, size unchanged).
  std::uint8_t source = 0;
  std::uint16_t quality = quality_none;       ///< quality_flag bits
  std::uint16_t conditions = condition_none;  ///< device_condition bits
  /// Raw device status kept for diagnosis, not interpreted by the pipeline: the CGM sensor status
  /// annunciation (24 bits, status octet least significant), 0 when the device sent none.
  std::uint32_t device_status = 0;
};

static_assert(std::is_trivially_copyable_v<sample>,
              "samples must be trivially copyable for the ring");

}  // namespace vitals::core
