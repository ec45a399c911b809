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
};

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
  std::uint16_t quality = quality_none;  ///< quality_flag bits
};

static_assert(std::is_trivially_copyable_v<sample>,
              "samples must be trivially copyable for the ring");

}  // namespace vitals::core
