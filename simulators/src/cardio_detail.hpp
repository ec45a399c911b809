#pragma once
// Internal to vitals::simulators: the draws and time conversions that the cardio model
// (cardio_model.cpp) and the pulse oximeter (oximeter_device.cpp) share. Their streams must stay
// byte-identical per seed, so both use these exact functions.

#include <chrono>
#include <cstdint>
#include <numbers>

#include <vitals/simulators/random.hpp>

namespace vitals::simulators::detail {

/// A cheap, bounded, approximately normal draw: the sum of four 16-bit uniforms taken from one
/// 64-bit draw (Irwin-Hall), scaled to unit variance. Range +-3.46; portable like `random`.
inline double approx_normal(random& r) noexcept {
  const std::uint64_t x = r.next();
  const double sum = static_cast<double>(x & 0xffff) + static_cast<double>((x >> 16) & 0xffff) +
                     static_cast<double>((x >> 32) & 0xffff) + static_cast<double>(x >> 48);
  return (sum - 2.0 * 65535.0) * (std::numbers::sqrt3 / 65536.0);
}

/// Minutes as milliseconds, rounded to the nearest.
inline std::chrono::milliseconds from_minutes(double m) {
  return std::chrono::round<std::chrono::milliseconds>(
      std::chrono::duration<double, std::ratio<60>>(m));
}

/// Seconds as milliseconds, rounded to the nearest.
inline std::chrono::milliseconds from_seconds(double s) {
  return std::chrono::round<std::chrono::milliseconds>(std::chrono::duration<double>(s));
}

}  // namespace vitals::simulators::detail
