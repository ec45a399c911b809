#pragma once
/// Decoders of the standard GATT characteristics vitalsd reads (reference/ble-gatt.md): Heart
/// Rate Measurement 0x2A37, PLX Spot-Check 0x2A5E and Continuous 0x2A5F, CGM Measurement 0x2AA7
/// and CGM Session Start Time 0x2AAA, with IEEE 11073 SFLOAT / FLOAT. Pure functions over a byte
/// span: no allocation, no exceptions, a precise error (field and offset) for every bad frame.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>

namespace vitals::adapters::ble {

/// The characteristics vitalsd decodes.
enum class characteristic : std::uint8_t {
  heart_rate_measurement,  ///< 0x2A37
  plx_spot_check,          ///< 0x2A5E
  plx_continuous,          ///< 0x2A5F
  cgm_measurement,         ///< 0x2AA7
  cgm_session_start_time,  ///< 0x2AAA
};

/// The 16-bit SIG UUID of a characteristic.
std::uint16_t uuid16(characteristic c) noexcept;

/// Stable snake_case name ("heart_rate_measurement", "plx_continuous", ...).
std::string_view to_string(characteristic c) noexcept;

/// Parses "2a37", "2A37", "0x2a37", the full 128-bit form "00002a37-0000-1000-8000-00805f9b34fb"
/// (any case), or a name: to_string()'s, or the short ones "hr", "plx-spot", "plx-cont", "cgm",
/// "cgm-session-start". nullopt for anything else.
std::optional<characteristic> parse_characteristic(std::string_view text) noexcept;

/// What an IEEE 11073 SFLOAT / FLOAT carries besides a number.
enum class special : std::uint8_t { none, nan, nres, pos_inf, neg_inf, reserved };

/// "NaN", "NRes", "+INF", "-INF", "RFU", or "" for none.
std::string_view to_string(special s) noexcept;

/// A decoded SFLOAT / FLOAT: a finite number (kind == none) or a special value (value is NaN).
struct medfloat {
  double value = 0.0;
  special kind = special::none;
  bool is_number() const noexcept { return kind == special::none; }
};

/// 16-bit SFLOAT: signed 4-bit exponent (top), signed 12-bit mantissa; specials at exponent 0.
medfloat decode_sfloat(std::uint16_t raw) noexcept;

/// 32-bit FLOAT: signed 8-bit exponent (top), signed 24-bit mantissa; specials at exponent 0.
medfloat decode_float(std::uint32_t raw) noexcept;

/// Why a frame was rejected.
enum class error_code : std::uint8_t {
  empty,             ///< no bytes at all
  truncated,         ///< a field the flags announce does not fit in what is left
  trailing_bytes,    ///< bytes left over after the last field the flags announce
  size_mismatch,     ///< CGM record size byte disagrees with the length its flags imply
  record_too_short,  ///< CGM record size byte below the minimum of 6
  too_many_records,  ///< more CGM records than max_cgm_records
  bad_hex,           ///< (hex input) odd length or a non-hex character
};

/// "empty", "truncated", ...
std::string_view to_string(error_code c) noexcept;

/// A precise decode error: which field, at which byte offset of the frame, what was wrong.
struct decode_error {
  error_code code = error_code::empty;
  std::string_view field;     ///< e.g. "flags", "heart_rate", "rr_interval", "record[1].size"
  std::size_t offset = 0;     ///< byte offset in the frame where the field starts
  std::size_t needed = 0;     ///< bytes the field needs (truncated, size_mismatch: implied size)
  std::size_t available = 0;  ///< bytes there were (truncated) or the size byte (size_mismatch)

  /// One line for logs and vitalsctl, e.g. "truncated: field rr_interval at offset 4 needs 2
  /// bytes, 1 left". Says nothing about values, so it is safe at warn level.
  std::string describe() const;
};

/// Heart Rate Measurement (0x2A37).
struct heart_rate_measurement {
  enum class contact : std::uint8_t { not_supported, no_contact, in_contact };
  std::uint8_t flags = 0;
  std::uint16_t heart_rate_bpm = 0;
  bool heart_rate_u16 = false;  ///< flags bit 0
  contact sensor_contact = contact::not_supported;
  std::optional<std::uint16_t> energy_expended_kj;
  std::span<const std::uint8_t> rr_bytes;  ///< the RR-interval bytes, a view into the frame

  /// Number of RR intervals (oldest first).
  std::size_t rr_count() const noexcept { return rr_bytes.size() / 2; }
  /// RR interval i in units of 1/1024 s.
  std::uint16_t rr(std::size_t i) const noexcept {
    return static_cast<std::uint16_t>(rr_bytes[2 * i] | (rr_bytes[2 * i + 1] << 8));
  }
};

/// SpO2 and pulse rate as a pair of SFLOATs.
struct spo2_pr {
  medfloat spo2_pct;
  medfloat pulse_rate_bpm;
};

/// PLX Measurement Status bits (u16).
enum plx_measurement_status : std::uint16_t {
  plx_ms_measurement_ongoing = 1u << 5,
  plx_ms_early_estimate = 1u << 6,
  plx_ms_validated = 1u << 7,
  plx_ms_fully_qualified = 1u << 8,
  plx_ms_from_storage = 1u << 9,
  plx_ms_demonstration = 1u << 10,
  plx_ms_testing = 1u << 11,
  plx_ms_calibration_ongoing = 1u << 12,
  plx_ms_unavailable = 1u << 13,
  plx_ms_questionable = 1u << 14,
  plx_ms_invalid = 1u << 15,
};

/// PLX Device and Sensor Status bits (u24).
enum plx_device_status : std::uint32_t {
  plx_ds_extended_display_update = 1u << 0,
  plx_ds_equipment_malfunction = 1u << 1,
  plx_ds_signal_processing_irregularity = 1u << 2,
  plx_ds_inadequate_signal = 1u << 3,
  plx_ds_poor_signal = 1u << 4,
  plx_ds_low_perfusion = 1u << 5,
  plx_ds_erratic_signal = 1u << 6,
  plx_ds_non_pulsatile = 1u << 7,
  plx_ds_questionable_pulse = 1u << 8,
  plx_ds_signal_analysis_ongoing = 1u << 9,
  plx_ds_sensor_interference = 1u << 10,
  plx_ds_sensor_unconnected = 1u << 11,
  plx_ds_unknown_sensor = 1u << 12,
  plx_ds_sensor_displaced = 1u << 13,
  plx_ds_sensor_malfunction = 1u << 14,
  plx_ds_sensor_disconnected = 1u << 15,
};

/// Date Time (7 bytes): year 0 and month/day 0 mean "not known".
struct date_time {
  std::uint16_t year = 0;
  std::uint8_t month = 0, day = 0, hours = 0, minutes = 0, seconds = 0;
};

/// PLX Continuous Measurement (0x2A5F).
struct plx_continuous {
  std::uint8_t flags = 0;
  spo2_pr normal;
  std::optional<spo2_pr> fast;
  std::optional<spo2_pr> slow;
  std::optional<std::uint16_t> measurement_status;    ///< plx_measurement_status bits
  std::optional<std::uint32_t> device_sensor_status;  ///< plx_device_status bits (24)
  std::optional<medfloat> pulse_amplitude_index_pct;
};

/// PLX Spot-Check Measurement (0x2A5E).
struct plx_spot_check {
  std::uint8_t flags = 0;
  spo2_pr reading;
  std::optional<date_time> timestamp;
  std::optional<std::uint16_t> measurement_status;
  std::optional<std::uint32_t> device_sensor_status;
  std::optional<medfloat> pulse_amplitude_index_pct;
  bool device_clock_not_set = false;  ///< flags bit 4: the timestamp is not a real time
};

/// CGM sensor status annunciation bits, as a 24-bit value (status octet least significant).
enum cgm_annunciation : std::uint32_t {
  cgm_session_stopped = 1u << 0,
  cgm_battery_low = 1u << 1,
  cgm_sensor_type_incorrect = 1u << 2,
  cgm_sensor_malfunction = 1u << 3,
  cgm_device_specific_alert = 1u << 4,
  cgm_general_device_fault = 1u << 5,
  cgm_time_sync_required = 1u << 8,
  cgm_calibration_not_allowed = 1u << 9,
  cgm_calibration_recommended = 1u << 10,
  cgm_calibration_required = 1u << 11,
  cgm_temperature_too_high = 1u << 12,
  cgm_temperature_too_low = 1u << 13,
  cgm_below_patient_low = 1u << 16,
  cgm_above_patient_high = 1u << 17,
  cgm_below_hypo = 1u << 18,
  cgm_above_hyper = 1u << 19,
  cgm_rate_of_decrease_exceeded = 1u << 20,
  cgm_rate_of_increase_exceeded = 1u << 21,
  cgm_below_device_range = 1u << 22,
  cgm_above_device_range = 1u << 23,
};

/// One CGM Measurement record.
struct cgm_record {
  std::size_t offset = 0;  ///< where the record starts in the frame
  std::uint8_t size = 0;
  std::uint8_t flags = 0;
  medfloat glucose_mg_dl;
  std::uint16_t time_offset_min = 0;           ///< minutes since the sensor session started
  std::optional<std::uint8_t> status_octet;    ///< flags bit 7
  std::optional<std::uint8_t> cal_temp_octet;  ///< flags bit 6
  std::optional<std::uint8_t> warning_octet;   ///< flags bit 5
  /// The octets present, read least significant first: status bits 0-7, cal/temp 8-15, warning
  /// 16-23 (cgm_annunciation), each at its own position whichever are present.
  std::uint32_t annunciation = 0;
  std::optional<medfloat> trend_mg_dl_min;  ///< flags bit 0
  std::optional<medfloat> quality_pct;      ///< flags bit 1
  std::optional<std::uint16_t> e2e_crc;     ///< when the record carries a CRC
  bool crc_ok = true;  ///< false: the CRC does not match, the record must not be used
};

/// Upper bound of records in one notification (a 512-byte value of 6-byte records).
inline constexpr std::size_t max_cgm_records = 85;

/// CGM Measurement (0x2AA7): one or more records back to back.
struct cgm_measurement {
  std::array<cgm_record, max_cgm_records> records{};
  std::size_t count = 0;
  std::span<const cgm_record> view() const noexcept { return {records.data(), count}; }
};

/// How a CGM record's E2E-CRC is expected (the CGM Feature characteristic says whether the
/// device supports it).
enum class crc_mode : std::uint8_t {
  detect,    ///< a size byte of the implied length + 2 means a CRC is present (default)
  required,  ///< every record must carry one: a record without is a size_mismatch
  absent,    ///< no record carries one: implied length + 2 is a size_mismatch
};

/// CGM Session Start Time (0x2AAA): date time, time zone (15-minute steps), DST offset.
struct cgm_session_start_time {
  date_time start;
  std::int8_t time_zone_quarters = 0;  ///< -48..56; -128 = unknown
  std::uint8_t dst_offset = 0;         ///< 0, 2, 4, 8 (x 15 min); 255 = unknown
  std::optional<std::uint16_t> e2e_crc;
  bool crc_ok = true;
};

/// CRC-16 of the CGM service (CRC-16/MCRF4XX: reflected poly 0x1021, seed 0xFFFF, no xor-out).
std::uint16_t crc16_mcrf4xx(std::span<const std::uint8_t> bytes) noexcept;

// Each decoder fills `out` and returns nullopt, or returns the error (out is then unspecified).
std::optional<decode_error> decode(std::span<const std::uint8_t> frame,
                                   heart_rate_measurement& out) noexcept;
std::optional<decode_error> decode(std::span<const std::uint8_t> frame,
                                   plx_continuous& out) noexcept;
std::optional<decode_error> decode(std::span<const std::uint8_t> frame,
                                   plx_spot_check& out) noexcept;
std::optional<decode_error> decode(std::span<const std::uint8_t> frame, cgm_measurement& out,
                                   crc_mode crc = crc_mode::detect) noexcept;
std::optional<decode_error> decode(std::span<const std::uint8_t> frame,
                                   cgm_session_start_time& out) noexcept;

/// Any decoded frame.
using decoded_frame = std::variant<heart_rate_measurement, plx_spot_check, plx_continuous,
                                   cgm_measurement, cgm_session_start_time>;

/// Decodes `frame` as characteristic `c` into `out` (the matching alternative).
std::optional<decode_error> decode(characteristic c, std::span<const std::uint8_t> frame,
                                   decoded_frame& out, crc_mode crc = crc_mode::detect) noexcept;

/// One named bit of a flags or status field ("sensor_contact_detected").
struct bit_name {
  std::uint32_t mask;
  std::string_view name;
};

/// The names of the bits of each characteristic's Flags field (a CGM record's for 0x2AA7; empty
/// for 0x2AAA), of the PLX Measurement Status (plx_measurement_status) and Device and Sensor
/// Status (plx_device_status) fields, and of the CGM annunciation (cgm_annunciation). Spelled as
/// in the specifications, in snake case; for logs and `vitalsctl decode`.
std::span<const bit_name> flag_names(characteristic c) noexcept;
std::span<const bit_name> plx_measurement_status_names() noexcept;
std::span<const bit_name> plx_device_status_names() noexcept;
std::span<const bit_name> cgm_annunciation_names() noexcept;

/// Hex text ("0655", "06 55", "06:55"; either case) to bytes in `out`; returns the byte count,
/// or a bad_hex error (offset = character index) when malformed or longer than `out`.
std::optional<decode_error> parse_hex(std::string_view text, std::span<std::uint8_t> out,
                                      std::size_t& size) noexcept;

}  // namespace vitals::adapters::ble
