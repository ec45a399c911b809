// What every decoder shares: the decode() of any characteristic, and decode errors as text.
// The decoders are in gatt_hr.cpp, gatt_plx.cpp and gatt_cgm.cpp, SFLOAT / FLOAT in medfloat.cpp
// and gatt_reader.hpp, names and hex in gatt_names.cpp.

#include <vitals/adapters/ble/gatt.hpp>

#include <string>

namespace vitals::adapters::ble {

std::string_view to_string(error_code c) noexcept {
  switch (c) {
    case error_code::empty:
      return "empty";
    case error_code::truncated:
      return "truncated";
    case error_code::trailing_bytes:
      return "trailing_bytes";
    case error_code::size_mismatch:
      return "size_mismatch";
    case error_code::record_too_short:
      return "record_too_short";
    case error_code::too_many_records:
      return "too_many_records";
    case error_code::bad_hex:
      return "bad_hex";
  }
  return "unknown";
}

std::string decode_error::describe() const {
  std::string out(to_string(code));
  out += ": field ";
  out += field;
  out += " at offset ";
  out += std::to_string(offset);
  switch (code) {
    case error_code::truncated:
      out += " needs " + std::to_string(needed) + " byte" + (needed == 1 ? "" : "s") + ", " +
             std::to_string(available) + " left";
      break;
    case error_code::trailing_bytes:
      out += ": " + std::to_string(available) + " byte" + (available == 1 ? "" : "s") +
             " after the last field the flags announce";
      break;
    case error_code::size_mismatch:
      out += ": size byte says " + std::to_string(available) + ", the flags imply " +
             std::to_string(needed);
      break;
    case error_code::record_too_short:
      out += ": size byte " + std::to_string(available) + " is below the minimum of 6";
      break;
    case error_code::too_many_records:
      out += ": more than " + std::to_string(max_cgm_records) + " records";
      break;
    case error_code::bad_hex:
      out += ": not hex (odd length, a non-hex character, or too long)";
      break;
    case error_code::empty:
      out += ": no bytes";
      break;
  }
  return out;
}

std::optional<decode_error> decode(characteristic c, std::span<const std::uint8_t> frame,
                                   decoded_frame& out, crc_mode crc) noexcept {
  switch (c) {
    case characteristic::heart_rate_measurement:
      return decode(frame, out.emplace<heart_rate_measurement>());
    case characteristic::plx_spot_check:
      return decode(frame, out.emplace<plx_spot_check>());
    case characteristic::plx_continuous:
      return decode(frame, out.emplace<plx_continuous>());
    case characteristic::cgm_measurement: {
      // 85 records (about 8 KB): reused when the frame already holds them, rather than
      // value-initialised per notification; the decoder resets what it fills.
      auto* cgm = std::get_if<cgm_measurement>(&out);
      return decode(frame, cgm ? *cgm : out.emplace<cgm_measurement>(), crc);
    }
    case characteristic::cgm_session_start_time:
      return decode(frame, out.emplace<cgm_session_start_time>());
  }
  return decode_error{error_code::empty, "characteristic", 0, 0, 0};
}

}  // namespace vitals::adapters::ble
