#pragma once
// Internal to vitals::simulators: time conversions that the ground truth and vitals-eval's reading
// (eval_read.cpp), scoring (eval.cpp) and report (eval_report.cpp) share.

#include <chrono>
#include <cstdint>

#include <vitals/core/sample.hpp>

namespace vitals::simulators::detail {

/// Epoch milliseconds, as the labels and alerts files write times.
inline std::int64_t epoch_ms(core::timestamp t) noexcept {
  return t.time_since_epoch().count();
}

/// A duration in (fractional) seconds, as the report gives delays.
inline double seconds_of(std::chrono::milliseconds d) noexcept {
  return static_cast<double>(d.count()) / 1000.0;
}

}  // namespace vitals::simulators::detail
