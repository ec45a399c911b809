#pragma once
/// The BLE side of vitals-sim: GATT characteristic values as a device sends them (IEEE 11073
/// SFLOAT, PLX Continuous 0x2A5F, Heart Rate 0x2A37, CGM Measurement 0x2AA7 with its E2E-CRC, CGM
/// Session Start Time 0x2AAA; layouts in ../shared/reference/ble-gatt.md), the JSON messages
/// BLE-to-MQTT gateways wrap them in (a generic {mac, uuid, hex, ts} shape and a Cassia-style
/// one with ATT handles), the simulated devices' addresses, and the vitalsd ble_gateway source of a
/// run. Encoders only: the decoders are vitalsd's (adapters/ble), which the simulator does not
/// use, so that each side is checked against the specification rather than against the other.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <vitals/core/sample.hpp>
#include <vitals/simulators/scenario.hpp>

namespace vitals::simulators::ble {

// ---- IEEE 11073 16-bit SFLOAT ----

inline constexpr std::uint16_t sfloat_nan = 0x07FF;      ///< Not a Number
inline constexpr std::uint16_t sfloat_nres = 0x0800;     ///< not at this resolution
inline constexpr std::uint16_t sfloat_pos_inf = 0x07FE;  ///< +INF
inline constexpr std::uint16_t sfloat_neg_inf = 0x0802;  ///< -INF

/// Largest mantissa magnitude of a number (2046 and 2047 are taken by the special values).
inline constexpr int sfloat_max_mantissa = 2045;

/// `value` as an SFLOAT: the finest exponent (not below -max_decimals, not below -8) whose
/// rounded mantissa fits in +-2045, with decimal zeros dropped (98 -> 0x0062, 98.0 with one
/// decimal -> 0x0062 too, 111.7 -> 0xF45D, 2500 -> 0x10FA). NaN -> 0x07FF; +-infinity and
/// magnitudes beyond 2045e7 -> +-INF.
std::uint16_t encode_sfloat(double value, int max_decimals = 0) noexcept;

/// The number an SFLOAT stands for; NaN for the special values. The simulator's own reading of
/// what it sent (for --truth-like bookkeeping and tests), not a decoder for received frames.
double sfloat_value(std::uint16_t raw) noexcept;

// ---- CRC ----

/// CRC-16/MCRF4XX, the CGM service's E2E-CRC: reflected polynomial 0x1021 (0x8408), seed
/// 0xFFFF, no final xor. Check value: "123456789" -> 0x6F91.
std::uint16_t crc16_mcrf4xx(std::span<const std::uint8_t> bytes) noexcept;

// ---- characteristic values ----

/// PLX Measurement Status bits (u16) the simulator sets.
inline constexpr std::uint16_t plx_ms_unavailable = 1u << 13;   ///< measurement unavailable
inline constexpr std::uint16_t plx_ms_questionable = 1u << 14;  ///< questionable measurement
/// PLX Device and Sensor Status bits (u24) the simulator sets.
inline constexpr std::uint32_t plx_ds_low_perfusion = 1u << 5;   ///< low perfusion
inline constexpr std::uint32_t plx_ds_erratic_signal = 1u << 6;  ///< erratic signal
inline constexpr std::uint32_t plx_ds_unconnected = 1u << 11;    ///< sensor unconnected to user
inline constexpr std::uint32_t plx_ds_displaced = 1u << 13;      ///< sensor displaced

/// What a PLX Continuous Measurement carries (the SpO2PR-Normal pair only).
struct plx_continuous {
  std::optional<double> spo2_pct;        ///< nullopt: NaN (no reading)
  std::optional<double> pulse_rate_bpm;  ///< nullopt: NaN
  std::uint16_t measurement_status = 0;  ///< sent (flags bit 2) when not 0
  std::uint32_t device_status = 0;       ///< 24 bits; sent (flags bit 3) when not 0
};

/// PLX Continuous Measurement 0x2A5F: flags, SpO2 and PR as SFLOATs (whole numbers), then
/// Measurement Status and Device and Sensor Status when set.
std::vector<std::uint8_t> encode(const plx_continuous& m);

/// What a Heart Rate Measurement carries.
struct heart_rate {
  int bpm = 0;                  ///< u8 up to 255, else u16
  std::optional<bool> contact;  ///< nullopt: sensor contact not supported; false: no contact
  std::optional<std::uint16_t> energy_kj;
  std::vector<std::uint16_t> rr_1024;  ///< RR intervals, 1/1024 s, oldest first
};

/// Heart Rate Measurement 0x2A37.
std::vector<std::uint8_t> encode(const heart_rate& m);

/// What one CGM Measurement record carries.
struct cgm_record {
  double glucose_mgdl = 0.0;  ///< NaN: no value (SFLOAT NaN)
  std::uint16_t time_offset_min = 0;
  /// Sensor status annunciation as a 24-bit value (status octet bits 0-7, cal/temp 8-15,
  /// warning 16-23); each octet with a bit set is sent, least significant first.
  std::uint32_t annunciation = 0;
  std::optional<double> trend_mgdl_min;  ///< flags bit 0
  std::optional<double> quality_pct;     ///< flags bit 1
  bool e2e_crc = false;                  ///< append the E2E-CRC (the size byte counts it)
};

/// CGM annunciation bits the simulator sets.
inline constexpr std::uint32_t cgm_below_device_range = 1u << 22;  ///< "LOW": below 40 mg/dL
inline constexpr std::uint32_t cgm_above_device_range = 1u << 23;  ///< "HIGH": above 400 mg/dL

/// One CGM Measurement 0x2AA7 record (a notification of one record): size, flags, glucose
/// SFLOAT mg/dL (one decimal at most), time offset, annunciation octets, trend, quality, CRC.
std::vector<std::uint8_t> encode(const cgm_record& r);

/// CGM Session Start Time 0x2AAA: `start` as a UTC date time (whole seconds: the milliseconds
/// are dropped), time zone 0 and DST 0, and the E2E-CRC when `e2e_crc`.
std::vector<std::uint8_t> encode_session_start(core::timestamp start, bool e2e_crc);

/// Lower-case hex without separators.
std::string to_hex(std::span<const std::uint8_t> bytes);

// ---- gateways, addresses, handles ----

/// 16-bit UUIDs of the characteristics.
inline constexpr std::uint16_t uuid_heart_rate = 0x2A37;
inline constexpr std::uint16_t uuid_plx_continuous = 0x2A5F;
inline constexpr std::uint16_t uuid_cgm_measurement = 0x2AA7;
inline constexpr std::uint16_t uuid_cgm_session_start = 0x2AAA;

/// The simulated devices' fixed ATT handles (Cassia-style gateways name handles, not UUIDs).
inline constexpr std::uint16_t handle_plx_continuous = 16;
inline constexpr std::uint16_t handle_heart_rate = 20;
inline constexpr std::uint16_t handle_cgm_measurement = 24;
inline constexpr std::uint16_t handle_cgm_session_start = 28;

/// The ATT handle of a characteristic UUID above (0 for any other).
std::uint16_t handle_of(std::uint16_t uuid) noexcept;

/// Device slots in an address: 0 the patient's gateway, 1 the oximeter, 2 the CGM.
inline constexpr int slot_gateway = 0;
inline constexpr int slot_oximeter = 1;
inline constexpr int slot_cgm = 2;

/// Deterministic locally administered address of the 1-based `patient_index`'s device `slot`:
/// 02:00:<patient index, 32 bits big-endian>:<slot>. p001's oximeter is 02:00:00:00:01:01, its
/// CGM 02:00:00:00:01:02, its gateway 02:00:00:00:01:00.
std::string device_address(std::size_t patient_index, int slot);

/// Every patient has a gateway of their own (a bedside or home gateway): "gw-<patient>".
std::string gateway_name(std::string_view patient);

/// Topic root of the BLE gateway formats (topics are <root>/<gateway>/<device address>).
inline constexpr std::string_view default_topic_root = "ble";

/// The MQTT topic a gateway publishes a device's notifications on: <root>/<gateway>/<address>.
std::string topic(std::string_view root, std::string_view gateway, std::string_view address);

/// Generic gateway notification: {"mac":"<address>","uuid":"2a5f","hex":"<value>","ts":<ms>}.
std::string generic_message(std::string_view address, std::uint16_t uuid,
                            std::span<const std::uint8_t> value, core::timestamp ts);

/// Cassia-style notification: {"dataType":"notification","ap":"<gateway address>",
/// "device":"<address>","handle":<n>,"value":"<value>"} (no time: the receiver's clock).
std::string cassia_message(std::string_view gateway_address, std::string_view address,
                           std::uint16_t handle, std::span<const std::uint8_t> value);

/// Whether the simulated CGMs append the E2E-CRC (they do; the devices' settings say "required").
inline constexpr bool cgm_e2e_crc = true;

/// The vitalsd settings for the scenario's BLE patients (output ble-generic or ble-cassia):
/// `[[sources]] type = "ble_gateway"`, one [[sources.gateways]] per patient (preset, topic filter
/// <root>/gw-<patient>/#, no status topic) and one [[sources.devices]] per device (address,
/// patient, device id as in the JSON formats, gateway, handles for Cassia, cgm_crc). Empty text
/// when no patient uses a BLE format.
std::string ble_config(const scenario& s, std::string_view topic_root = default_topic_root);

}  // namespace vitals::simulators::ble
