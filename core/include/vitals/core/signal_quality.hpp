#pragma once
/// Per-stream signal-quality checks of the pipeline: impossible jumps (artifacts until a new
/// level is confirmed) and late delivery (backfilled readings).

#include <chrono>
#include <cstdint>

#include <vitals/core/sample.hpp>

namespace vitals::core {

/// How far a vital can move from the last believed reading before a reading is an artifact:
/// `step + rate_per_min * minutes since the believed reading`, the minutes capped at `horizon`
/// or at the time since the previous reading if that is longer (so that a long artifact does
/// not become believable merely by lasting, while a 15-minute sensor's fall between two
/// readings is judged over its 15 minutes). A run of mutually
/// consistent suspect readings lasting `confirm` (device time), or `confirm_readings` of them, is
/// a real new level and is believed; so is the first reading after a silence longer than `gap`,
/// and any reading at or below `floor` (a sensor's "LOW": never hidden).
struct jump_limit {
  double step = 0.0;                     ///< allowed change regardless of the interval
  double rate_per_min = 0.0;             ///< allowed change per minute of device time
  std::chrono::milliseconds horizon{0};  ///< the minutes of rate_per_min are capped at this
  std::chrono::milliseconds confirm{0};  ///< how long a new level must hold to be believed
  std::chrono::milliseconds gap{0};      ///< after a longer silence, anything is believed
  /// Consistent suspect readings that confirm a new level, however close together (0: only
  /// `confirm` counts). 2 for glucose: a fall is believed at its second reading.
  std::uint16_t confirm_readings = 0;
  /// Readings at or below this are always believed (a CGM's floor, "LOW"); 0: none.
  double floor = 0.0;
};

/// Defaults: HR 30 /min + 60 /min per minute over at most 10 s, confirmed after 10 s; SpO2 6 %
/// + 10 %/min over 10 s, 10 s; both reset after 2 min of silence. Glucose 10 mg/dL + 3 mg/dL/min
/// over at most 10 min (25 mg/dL in 5 min, 40 in 10: faster falls are not physiological, CGM
/// compression lows are), confirmed by the next consistent reading (or after 30 min), reset
/// after 15 min of silence; readings at or below 40 mg/dL (the floor of CGMs) always believed.
jump_limit default_jump_limit(vital_kind kind) noexcept;

/// Remembers the last believed value of one stream and classifies each in-order reading.
class jump_filter {
 public:
  /// True when `value` at `t` is an artifact (an impossible jump not yet confirmed).
  bool is_artifact(double value, timestamp t, const jump_limit& limit) noexcept;

 private:
  static bool within(double a, double b, std::chrono::milliseconds dt,
                     std::chrono::milliseconds step, const jump_limit& limit) noexcept;

  float good_ = 0.0F;     ///< last believed value
  timestamp last_{};      ///< last reading of any kind
  float suspect_ = 0.0F;  ///< last suspect value
  timestamp good_time_{};
  timestamp suspect_since_{};
  timestamp suspect_time_{};
  std::uint16_t suspect_count_ = 0;  ///< consistent suspect readings so far
  bool has_good_ = false;
  bool suspecting_ = false;
};

/// Tells late (backfilled) readings from on-time ones without trusting the device clock: the
/// delay of each reading (a clock at arrival - its device time) is compared with the smallest
/// recent delay of the same stream, which absorbs a skewed device clock. The reference relaxes
/// slowly, so a device clock that jumps back is re-learnt. The pipeline keeps two per stream:
/// one against the receive time (live operation) and one against the newest device time seen
/// from any stream (replays faster than real time, where the wall clock says nothing).
class lateness_tracker {
 public:
  /// True when a reading taken at `device_time` and seen at `arrival` (same time base) came more
  /// than `tolerance` later than the stream's usual delay.
  bool is_late(timestamp device_time, timestamp arrival,
               std::chrono::milliseconds tolerance) noexcept;

 private:
  std::int64_t reference_ms_ = 0;  ///< smallest recent delivery delay
  timestamp last_device_{};
  bool seen_ = false;
};

/// Default lateness tolerance per vital: 2 minutes for oximetry, 10 minutes for CGM.
std::chrono::milliseconds default_late_tolerance(vital_kind kind) noexcept;

}  // namespace vitals::core
