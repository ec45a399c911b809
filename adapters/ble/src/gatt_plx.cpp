// Pulse Oximeter: PLX Continuous Measurement (0x2A5F) and PLX Spot-Check Measurement (0x2A5E).

#include <vitals/adapters/ble/gatt.hpp>

#include "gatt_reader.hpp"

namespace vitals::adapters::ble {

using detail::read_pair;

namespace {

/// The fields both PLX measurements end with: Measurement Status, Device and Sensor Status and
/// Pulse Amplitude Index, each present when its flag is set; the three flags are consecutive bits
/// from `first_flag` (0x04 in Continuous, 0x02 in Spot-Check).
template <class Measurement>
bool read_status_fields(detail::reader& r, std::uint8_t first_flag, Measurement& out,
                        std::optional<decode_error>& err) noexcept {
  if ((out.flags & first_flag) != 0) {
    if (!r.need(2, "measurement_status", err)) return false;
    out.measurement_status = r.u16();
  }
  if ((out.flags & (first_flag << 1)) != 0) {
    if (!r.need(3, "device_sensor_status", err)) return false;
    out.device_sensor_status = r.u24();
  }
  return (out.flags & (first_flag << 2)) == 0 ||
         detail::read_sfloat(r, "pulse_amplitude_index", out.pulse_amplitude_index_pct, err);
}

}  // namespace

std::optional<decode_error> decode(std::span<const std::uint8_t> frame,
                                   plx_continuous& out) noexcept {
  out = {};
  detail::reader r(frame);
  if (auto e = detail::read_flags(r, out.flags, frame)) return e;
  std::optional<decode_error> err;
  if (!read_pair(r, "spo2_pr_normal", out.normal, err)) return err;
  if ((out.flags & 0x01) != 0) {
    spo2_pr p;
    if (!read_pair(r, "spo2_pr_fast", p, err)) return err;
    out.fast = p;
  }
  if ((out.flags & 0x02) != 0) {
    spo2_pr p;
    if (!read_pair(r, "spo2_pr_slow", p, err)) return err;
    out.slow = p;
  }
  if (!read_status_fields(r, 0x04, out, err)) return err;
  return r.finish();
}

std::optional<decode_error> decode(std::span<const std::uint8_t> frame,
                                   plx_spot_check& out) noexcept {
  out = {};
  detail::reader r(frame);
  if (auto e = detail::read_flags(r, out.flags, frame)) return e;
  std::optional<decode_error> err;
  if (!read_pair(r, "spo2_pr", out.reading, err)) return err;
  if ((out.flags & 0x01) != 0) {
    date_time t;
    if (!detail::read_date_time(r, t, err, "timestamp")) return err;
    out.timestamp = t;
  }
  if (!read_status_fields(r, 0x02, out, err)) return err;
  out.device_clock_not_set = (out.flags & 0x10) != 0;
  return r.finish();
}

}  // namespace vitals::adapters::ble
