// Heart Rate Measurement (0x2A37).

#include <vitals/adapters/ble/gatt.hpp>

#include "gatt_reader.hpp"

namespace vitals::adapters::ble {

std::optional<decode_error> decode(std::span<const std::uint8_t> frame,
                                   heart_rate_measurement& out) noexcept {
  out = {};
  detail::reader r(frame);
  if (auto e = detail::read_flags(r, out.flags, frame)) return e;
  std::optional<decode_error> err;
  out.heart_rate_u16 = (out.flags & 0x01) != 0;
  if (!r.need(out.heart_rate_u16 ? 2 : 1, "heart_rate", err)) return err;
  out.heart_rate_bpm = out.heart_rate_u16 ? r.u16() : r.u8();
  switch ((out.flags >> 1) & 0x03) {
    case 2:
      out.sensor_contact = heart_rate_measurement::contact::no_contact;
      break;
    case 3:
      out.sensor_contact = heart_rate_measurement::contact::in_contact;
      break;
    default:  // 0 and 1: contact is not supported (bit 1 alone means nothing)
      out.sensor_contact = heart_rate_measurement::contact::not_supported;
      break;
  }
  if ((out.flags & 0x08) != 0) {
    if (!r.need(2, "energy_expended", err)) return err;
    out.energy_expended_kj = r.u16();
  }
  if ((out.flags & 0x10) != 0) {
    // At least one interval when the flag announces them; an odd byte is a cut interval.
    if (!r.need(2, "rr_interval", err)) return err;
    if (r.left() % 2 != 0) {
      return decode_error{error_code::truncated, "rr_interval", r.offset() + r.left() - 1, 2, 1};
    }
    out.rr_bytes = r.rest();
  }
  return r.finish();
}

}  // namespace vitals::adapters::ble
