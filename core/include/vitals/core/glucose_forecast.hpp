#pragma once
/// Glucose forecasts used as detection baselines (reference/clinical.md, data/README.md): the
/// Nightscout AR2 forecast and its predictive-low rule, and a linear extrapolation.
///
/// Building blocks only: not wired into the pipeline yet (see core/README.md). All values mg/dL.
/// Invalid input (a glucose value <= 0 or non-finite, a bad step count) never reaches a logarithm
/// or a division: the functions return an empty vector, std::nullopt or false instead.

#include <optional>
#include <span>
#include <vector>

namespace vitals::core {

/// Centre of the AR2 model: y = ln(bg / ar2_reference_mgdl).
inline constexpr double ar2_reference_mgdl = 140.0;
/// AR2 coefficient of y[t]: y[t+1] = 1.716 y[t] - 0.723 y[t-1].
inline constexpr double ar2_coeff_current = 1.716;
/// AR2 coefficient of y[t-1].
inline constexpr double ar2_coeff_previous = -0.723;
/// Nightscout's lower clamp of forecast points, and the minimum reading it forecasts from.
inline constexpr double ar2_min_mgdl = 36.0;
/// Nightscout's upper clamp of forecast points.
inline constexpr double ar2_max_mgdl = 400.0;
/// Nightscout AR2 "warn" threshold on avgLoss (0.10 is its "urgent" level).
inline constexpr double ar2_warn_loss = 0.05;
/// Nightscout's default low target (BG_TARGET_BOTTOM), compared with the +20 min point.
inline constexpr double ar2_low_mgdl = 80.0;

/// AR2 forecast from two readings 5 minutes apart; element i is the value at +(i+1)*5 minutes
/// (steps = 4 is +20 min, 6 is +30 min). Unrounded and unclamped. Empty when steps <= 0 or either
/// reading is <= 0 or non-finite. `previous` must be the value 5 minutes before `current`
/// (recent Nightscout interpolates it linearly when the real gap is longer than 9 minutes).
std::vector<double> ar2_forecast(double previous, double current, int steps);

/// Nightscout's avgLoss: over the six forecast points at +5..+30 min, each rounded to whole
/// mg/dL and clamped to [36, 400], the sum of (log10(point / 120))^2 divided by 5.
/// std::nullopt when either reading is below 36 mg/dL or non-finite (Nightscout does not forecast).
/// Source: https://github.com/nightscout/cgm-remote-monitor/blob/master/lib/plugins/ar2.js
/// (ar2.forecast and checkForecast; read at commit 00a05112b8e05e1aece7cee0f04cb2e442531c7b).
std::optional<double> ar2_avg_loss(double previous, double current);

/// Nightscout-style predictive low: avgLoss > 0.05 and the (rounded, clamped) +20 min point < 80.
/// False for invalid readings (see ar2_avg_loss).
bool ar2_predictive_low(double previous, double current);

/// One glucose reading at a time in minutes (any origin).
struct timed_glucose {
  double minutes = 0.0;  ///< time of the reading, in minutes
  double mgdl = 0.0;     ///< value in mg/dL
};

/// Value at `horizon_minutes` after the last reading, on the least-squares line through
/// `readings` (the data README's baseline passes the last 3 readings and a 20-minute horizon and
/// alerts when the result is <= 55). For 2 readings, or 3 equally spaced ones, the slope equals
/// (last - first) / (t_last - t_first). std::nullopt when there are fewer than 2 readings, a value
/// or time is non-finite, a value is <= 0, or the times are not strictly increasing.
std::optional<double> linear_extrapolation(std::span<const timed_glucose> readings,
                                           double horizon_minutes);

}  // namespace vitals::core
