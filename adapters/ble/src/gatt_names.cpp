// Names and text: characteristic UUIDs and names, the names of flag and status bits, and hex
// payloads.

#include <vitals/adapters/ble/gatt.hpp>
#include <vitals/core/ascii.hpp>

#include <iterator>

namespace vitals::adapters::ble {

using core::iequals;

namespace {

bool hex_digit(char c, std::uint8_t& v) noexcept {
  if (c >= '0' && c <= '9') {
    v = static_cast<std::uint8_t>(c - '0');
  } else if (c >= 'a' && c <= 'f') {
    v = static_cast<std::uint8_t>(c - 'a' + 10);
  } else if (c >= 'A' && c <= 'F') {
    v = static_cast<std::uint8_t>(c - 'A' + 10);
  } else {
    return false;
  }
  return true;
}

constexpr bit_name hr_flag_bits[] = {
    {0x01, "heart_rate_u16"},           {0x02, "sensor_contact_detected"},
    {0x04, "sensor_contact_supported"}, {0x08, "energy_expended_present"},
    {0x10, "rr_intervals_present"},
};

constexpr bit_name plx_continuous_flag_bits[] = {
    {0x01, "spo2pr_fast_present"},           {0x02, "spo2pr_slow_present"},
    {0x04, "measurement_status_present"},    {0x08, "device_sensor_status_present"},
    {0x10, "pulse_amplitude_index_present"},
};

constexpr bit_name plx_spot_check_flag_bits[] = {
    {0x01, "timestamp_present"},
    {0x02, "measurement_status_present"},
    {0x04, "device_sensor_status_present"},
    {0x08, "pulse_amplitude_index_present"},
    {0x10, "device_clock_not_set"},
};

constexpr bit_name cgm_flag_bits[] = {
    {0x01, "trend_present"},         {0x02, "quality_present"},
    {0x20, "warning_octet_present"}, {0x40, "cal_temp_octet_present"},
    {0x80, "status_octet_present"},
};

constexpr bit_name measurement_status_bits[] = {
    {plx_ms_measurement_ongoing, "measurement_ongoing"},
    {plx_ms_early_estimate, "early_estimate"},
    {plx_ms_validated, "validated"},
    {plx_ms_fully_qualified, "fully_qualified"},
    {plx_ms_from_storage, "from_storage"},
    {plx_ms_demonstration, "demonstration"},
    {plx_ms_testing, "testing"},
    {plx_ms_calibration_ongoing, "calibration_ongoing"},
    {plx_ms_unavailable, "unavailable"},
    {plx_ms_questionable, "questionable"},
    {plx_ms_invalid, "invalid"},
};

constexpr bit_name device_status_bits[] = {
    {plx_ds_extended_display_update, "extended_display_update"},
    {plx_ds_equipment_malfunction, "equipment_malfunction"},
    {plx_ds_signal_processing_irregularity, "signal_processing_irregularity"},
    {plx_ds_inadequate_signal, "inadequate_signal"},
    {plx_ds_poor_signal, "poor_signal"},
    {plx_ds_low_perfusion, "low_perfusion"},
    {plx_ds_erratic_signal, "erratic_signal"},
    {plx_ds_non_pulsatile, "non_pulsatile"},
    {plx_ds_questionable_pulse, "questionable_pulse"},
    {plx_ds_signal_analysis_ongoing, "signal_analysis_ongoing"},
    {plx_ds_sensor_interference, "sensor_interference"},
    {plx_ds_sensor_unconnected, "sensor_unconnected"},
    {plx_ds_unknown_sensor, "unknown_sensor"},
    {plx_ds_sensor_displaced, "sensor_displaced"},
    {plx_ds_sensor_malfunction, "sensor_malfunction"},
    {plx_ds_sensor_disconnected, "sensor_disconnected"},
};

constexpr bit_name annunciation_bits[] = {
    {cgm_session_stopped, "session_stopped"},
    {cgm_battery_low, "battery_low"},
    {cgm_sensor_type_incorrect, "sensor_type_incorrect"},
    {cgm_sensor_malfunction, "sensor_malfunction"},
    {cgm_device_specific_alert, "device_specific_alert"},
    {cgm_general_device_fault, "general_device_fault"},
    {cgm_time_sync_required, "time_sync_required"},
    {cgm_calibration_not_allowed, "calibration_not_allowed"},
    {cgm_calibration_recommended, "calibration_recommended"},
    {cgm_calibration_required, "calibration_required"},
    {cgm_temperature_too_high, "temperature_too_high"},
    {cgm_temperature_too_low, "temperature_too_low"},
    {cgm_below_patient_low, "below_patient_low"},
    {cgm_above_patient_high, "above_patient_high"},
    {cgm_below_hypo, "below_hypo"},
    {cgm_above_hyper, "above_hyper"},
    {cgm_rate_of_decrease_exceeded, "rate_of_decrease_exceeded"},
    {cgm_rate_of_increase_exceeded, "rate_of_increase_exceeded"},
    {cgm_below_device_range, "below_device_range"},
    {cgm_above_device_range, "above_device_range"},
};

}  // namespace

std::uint16_t uuid16(characteristic c) noexcept {
  switch (c) {
    case characteristic::heart_rate_measurement:
      return 0x2A37;
    case characteristic::plx_spot_check:
      return 0x2A5E;
    case characteristic::plx_continuous:
      return 0x2A5F;
    case characteristic::cgm_measurement:
      return 0x2AA7;
    case characteristic::cgm_session_start_time:
      return 0x2AAA;
  }
  return 0;
}

std::string_view to_string(characteristic c) noexcept {
  switch (c) {
    case characteristic::heart_rate_measurement:
      return "heart_rate_measurement";
    case characteristic::plx_spot_check:
      return "plx_spot_check";
    case characteristic::plx_continuous:
      return "plx_continuous";
    case characteristic::cgm_measurement:
      return "cgm_measurement";
    case characteristic::cgm_session_start_time:
      return "cgm_session_start_time";
  }
  return "unknown";
}

std::optional<characteristic> parse_characteristic(std::string_view text) noexcept {
  static constexpr characteristic all[] = {
      characteristic::heart_rate_measurement, characteristic::plx_spot_check,
      characteristic::plx_continuous, characteristic::cgm_measurement,
      characteristic::cgm_session_start_time};
  static constexpr std::string_view short_names[] = {"hr", "plx-spot", "plx-cont", "cgm",
                                                     "cgm-session-start"};
  for (std::size_t i = 0; i < std::size(all); ++i) {
    if (iequals(text, to_string(all[i])) || iequals(text, short_names[i])) return all[i];
  }
  // 128-bit SIG base UUID: 0000xxxx-0000-1000-8000-00805f9b34fb.
  if (text.size() == 36) {
    if (!iequals(text.substr(0, 4), "0000") ||
        !iequals(text.substr(8), "-0000-1000-8000-00805f9b34fb")) {
      return std::nullopt;
    }
    text = text.substr(4, 4);
  } else if (text.size() == 6 && (text.substr(0, 2) == "0x" || text.substr(0, 2) == "0X")) {
    text = text.substr(2);
  }
  if (text.size() != 4) return std::nullopt;
  std::uint16_t v = 0;
  for (const char c : text) {
    std::uint8_t d = 0;
    if (!hex_digit(c, d)) return std::nullopt;
    v = static_cast<std::uint16_t>((v << 4) | d);
  }
  for (const auto c : all) {
    if (uuid16(c) == v) return c;
  }
  return std::nullopt;
}

std::span<const bit_name> flag_names(characteristic c) noexcept {
  switch (c) {
    case characteristic::heart_rate_measurement:
      return hr_flag_bits;
    case characteristic::plx_spot_check:
      return plx_spot_check_flag_bits;
    case characteristic::plx_continuous:
      return plx_continuous_flag_bits;
    case characteristic::cgm_measurement:
      return cgm_flag_bits;
    case characteristic::cgm_session_start_time:
      break;
  }
  return {};
}

std::span<const bit_name> plx_measurement_status_names() noexcept {
  return measurement_status_bits;
}

std::span<const bit_name> plx_device_status_names() noexcept {
  return device_status_bits;
}

std::span<const bit_name> cgm_annunciation_names() noexcept {
  return annunciation_bits;
}

std::optional<decode_error> parse_hex(std::string_view text, std::span<std::uint8_t> out,
                                      std::size_t& size) noexcept {
  size = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c == ' ' || c == ':' || c == '-' || c == '\t') {
      ++i;
      continue;
    }
    std::uint8_t hi = 0;
    std::uint8_t lo = 0;
    if (!hex_digit(c, hi)) return decode_error{error_code::bad_hex, "hex", i, 2, 0};
    if (i + 1 >= text.size() || !hex_digit(text[i + 1], lo)) {
      return decode_error{error_code::bad_hex, "hex", i + 1, 2, 1};
    }
    if (size == out.size()) return decode_error{error_code::bad_hex, "hex", i, out.size(), size};
    out[size++] = static_cast<std::uint8_t>((hi << 4) | lo);
    i += 2;
  }
  return std::nullopt;
}

}  // namespace vitals::adapters::ble
