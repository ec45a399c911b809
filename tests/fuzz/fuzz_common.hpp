#pragma once
/// Shared checks of the GATT fuzz targets: every decode error and every sample that to_samples()
/// makes of a decoded frame must obey the invariants below, or the target abort()s (libFuzzer
/// then saves the input as a crash).

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <span>
#include <vector>

#include <vitals/adapters/ble/frame_samples.hpp>
#include <vitals/adapters/ble/gatt.hpp>
#include <vitals/core/sample.hpp>

namespace vitals::fuzz {

namespace ble = adapters::ble;

/// abort() with a message when `ok` is false (assert() would vanish under NDEBUG).
inline void check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "fuzz invariant violated: %s\n", what);
  std::abort();
}

/// The bytes of a fuzz input.
inline std::span<const std::uint8_t> bytes(const std::uint8_t* data, std::size_t size) {
  return {data, size};
}

/// A decode error must name a field, point inside (or just past) the frame, and describe itself.
inline void check_error(const ble::decode_error& e, std::size_t frame_size) {
  check(!e.field.empty(), "decode error without a field");
  check(e.offset <= frame_size, "decode error offset past the end of the frame");
  if (e.code == ble::error_code::truncated) {
    check(e.available < e.needed, "truncated, yet the field would fit");
    check(e.offset + e.available <= frame_size, "truncated: available bytes past the end");
  }
  check(!e.describe().empty(), "empty error description");
}

/// Conditions that make a reading not physiological: a sample carrying one has no value.
inline constexpr std::uint16_t no_value_conditions =
    core::condition_sensor_off | core::condition_sensor_fault | core::condition_no_reading |
    core::condition_session_stopped;

/// Bounds of the sample times a frame can give (see check_samples).
/// (Year 1 less 127 quarter hours of time zone and 254 of DST offset, as a 0x2AAA value can say.)
inline const core::timestamp earliest_time =
    std::chrono::sys_days{std::chrono::year{1} / 1 / 1} - std::chrono::days(5);
inline const core::timestamp latest_time =
    core::timestamp(std::chrono::milliseconds(2'000'000'000'000'000));  // year ~65 000

/// Runs to_samples() on a decoded frame and checks every sample it appended.
inline ble::frame_outcome check_samples(ble::characteristic c, const ble::decoded_frame& frame,
                                        std::optional<core::timestamp> session_start = {}) {
  ble::frame_context ctx;
  ctx.patient = core::short_id::truncate("p-fuzz");
  ctx.device = core::short_id::truncate("d-fuzz");
  ctx.receive_time = core::timestamp(std::chrono::milliseconds(1'795'000'000'000));
  ctx.cgm_session_start = session_start;
  std::vector<core::sample> out;
  const auto r = ble::to_samples(frame, ctx, out);

  check(r.values + r.condition_only == out.size(), "outcome counts differ from the samples");
  const auto kinds = ble::vitals_of(c);
  std::uint16_t conditions = 0;
  for (const auto& s : out) {
    check(std::find(kinds.begin(), kinds.end(), s.kind) != kinds.end(),
          "sample of a vital the characteristic does not carry");
    check(s.patient == ctx.patient && s.device == ctx.device, "sample lost its ids");
    check(s.receive_time == ctx.receive_time, "sample lost its receive time");
    // A device date (16-bit year), or a session start plus a 16-bit offset in minutes, can only
    // land between (about) year 1 and year 65535: anything else is a wrapped-around date.
    check(s.device_time >= earliest_time && s.device_time <= latest_time,
          "sample time outside the years a device can send");
    check((s.quality & core::quality_link_state) == 0, "a frame made a link-state sample");
    check((s.conditions & core::link_conditions) == 0, "a frame reported link conditions");
    if ((s.quality & core::quality_no_value) != 0) {
      check(s.conditions != 0, "condition-only sample without a condition");
    } else {
      check(std::isfinite(s.value), "value sample with a non-finite value");
      check((s.conditions & no_value_conditions) == 0,
            "value sample carries a condition that must make it condition-only");
    }
    conditions |= s.conditions;
  }
  check(conditions == r.conditions, "outcome conditions differ from the samples'");
  return r;
}

}  // namespace vitals::fuzz
