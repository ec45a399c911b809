#include <vitals/core/signal_quality.hpp>

#include <algorithm>
#include <cmath>

namespace vitals::core {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

jump_limit default_jump_limit(vital_kind kind) noexcept {
  switch (kind) {
    case vital_kind::heart_rate:
      return {30.0, 60.0, seconds(10), seconds(10), minutes(2)};
    case vital_kind::spo2:
      return {6.0, 10.0, seconds(10), seconds(10), minutes(2)};
    case vital_kind::glucose:
      return {10.0, 3.0, minutes(10), minutes(30), minutes(15), 2, 40.0};
  }
  return {};
}

bool jump_filter::within(double a, double b, milliseconds dt, milliseconds step,
                         const jump_limit& limit) noexcept {
  // The allowance grows with time up to `horizon`, but never below what one reading interval
  // allows: a 15-minute sensor may fall 15 minutes' worth between two readings.
  const auto cap = std::max(limit.horizon, step);
  const auto capped = std::clamp(dt, milliseconds(0), cap);
  const double minutes_apart = static_cast<double>(capped.count()) / 60000.0;
  return std::abs(a - b) <= limit.step + limit.rate_per_min * minutes_apart;
}

bool jump_filter::is_artifact(double value, timestamp t, const jump_limit& limit) noexcept {
  const auto accept = [&] {
    good_ = static_cast<float>(value);
    good_time_ = t;
    has_good_ = true;
    suspecting_ = false;
    return false;
  };
  const bool after_gap = has_good_ && t - last_ > limit.gap;
  const auto step = has_good_ ? t - last_ : milliseconds(0);
  last_ = t;
  // A sensor's floor is a reading of its own ("below range"), never an artifact: a real fall to
  // it must not be hidden (a compression low there is for the glucose rules to weigh).
  const bool at_floor = limit.floor > 0.0 && value <= limit.floor;
  if (!has_good_ || after_gap || at_floor || within(value, good_, t - good_time_, step, limit)) {
    return accept();
  }
  if (suspecting_ && within(value, suspect_, t - suspect_time_, step, limit)) {
    // Consistent with the previous suspect reading: a new level once it has held long enough,
    // or once enough readings agree (delayed, never discarded).
    suspect_ = static_cast<float>(value);
    suspect_time_ = t;
    if (suspect_count_ < 0xFFFF) ++suspect_count_;
    if (t - suspect_since_ >= limit.confirm) return accept();
    if (limit.confirm_readings > 0 && suspect_count_ >= limit.confirm_readings) return accept();
    return true;
  }
  suspecting_ = true;
  suspect_ = static_cast<float>(value);
  suspect_since_ = t;
  suspect_time_ = t;
  suspect_count_ = 1;
  return true;
}

bool lateness_tracker::is_late(timestamp device_time, timestamp arrival,
                               milliseconds tolerance) noexcept {
  const std::int64_t delay = (arrival - device_time).count();
  if (!seen_) {
    seen_ = true;
    reference_ms_ = delay;
    last_device_ = device_time;
    return false;
  }
  // Relax the reference by a tenth of the device time that passed, so that after a device
  // clock jump the new delay becomes the reference within about ten times the jump.
  const auto passed = std::max<std::int64_t>(0, (device_time - last_device_).count());
  last_device_ = std::max(last_device_, device_time);
  reference_ms_ += passed / 10;
  const bool late = delay - reference_ms_ > tolerance.count();
  if (!late) reference_ms_ = std::min(reference_ms_, delay);
  return late;
}

milliseconds default_late_tolerance(vital_kind kind) noexcept {
  return kind == vital_kind::glucose ? milliseconds(minutes(10)) : milliseconds(minutes(2));
}

}  // namespace vitals::core
