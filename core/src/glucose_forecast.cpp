#include <vitals/core/glucose_forecast.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>

namespace vitals::core {

namespace {

bool valid_reading(double mgdl) noexcept {
  return std::isfinite(mgdl) && mgdl > 0.0;
}

/// Number of forecast points Nightscout folds into avgLoss (+5 .. +30 min).
constexpr int ns_points = 6;
/// Nightscout computes the loss around 120 mg/dL (not the model's 140).
constexpr double ns_loss_target = 120.0;

}  // namespace

std::vector<double> ar2_forecast(double previous, double current, int steps) {
  std::vector<double> out;
  if (steps <= 0 || !valid_reading(previous) || !valid_reading(current)) return out;
  out.reserve(static_cast<std::size_t>(steps));
  double y_prev = std::log(previous / ar2_reference_mgdl);
  double y_curr = std::log(current / ar2_reference_mgdl);
  for (int i = 0; i < steps; ++i) {
    const double y_next = ar2_coeff_current * y_curr + ar2_coeff_previous * y_prev;
    y_prev = y_curr;
    y_curr = y_next;
    out.push_back(ar2_reference_mgdl * std::exp(y_curr));
  }
  return out;
}

namespace {

/// Nightscout's six display points: rounded to whole mg/dL and clamped to [36, 400].
std::optional<std::vector<double>> ns_points_for(double previous, double current) {
  if (!std::isfinite(previous) || !std::isfinite(current) || previous < ar2_min_mgdl ||
      current < ar2_min_mgdl) {
    return std::nullopt;
  }
  std::vector<double> pts = ar2_forecast(previous, current, ns_points);
  for (double& p : pts) p = std::clamp(std::round(p), ar2_min_mgdl, ar2_max_mgdl);
  return pts;
}

double ns_avg_loss(const std::vector<double>& pts) {
  // Nightscout sums all six terms but divides by size = min(count - 1, 6) = 5.
  const double size = static_cast<double>(pts.size() - 1);
  double loss = 0.0;
  for (double p : pts) {
    const double l = std::log10(p / ns_loss_target);
    loss += l * l / size;
  }
  return loss;
}

}  // namespace

std::optional<double> ar2_avg_loss(double previous, double current) {
  const auto pts = ns_points_for(previous, current);
  if (!pts) return std::nullopt;
  return ns_avg_loss(*pts);
}

bool ar2_predictive_low(double previous, double current) {
  const auto pts = ns_points_for(previous, current);
  if (!pts) return false;
  return ns_avg_loss(*pts) > ar2_warn_loss && (*pts)[3] < ar2_low_mgdl;
}

std::optional<double> linear_extrapolation(std::span<const timed_glucose> readings,
                                           double horizon_minutes) {
  if (readings.size() < 2 || !std::isfinite(horizon_minutes)) return std::nullopt;
  double mean_t = 0.0;
  double mean_v = 0.0;
  for (std::size_t i = 0; i < readings.size(); ++i) {
    const auto& r = readings[i];
    if (!std::isfinite(r.minutes) || !valid_reading(r.mgdl)) return std::nullopt;
    if (i > 0 && !(r.minutes > readings[i - 1].minutes)) return std::nullopt;
    mean_t += r.minutes;
    mean_v += r.mgdl;
  }
  const auto n = static_cast<double>(readings.size());
  mean_t /= n;
  mean_v /= n;
  double sxy = 0.0;
  double sxx = 0.0;
  for (const auto& r : readings) {
    sxy += (r.minutes - mean_t) * (r.mgdl - mean_v);
    sxx += (r.minutes - mean_t) * (r.minutes - mean_t);
  }
  if (!(sxx > 0.0)) return std::nullopt;  // only if the times are too close to tell apart
  const double slope = sxy / sxx;
  const double t_end = readings.back().minutes + horizon_minutes;
  return mean_v + slope * (t_end - mean_t);
}

}  // namespace vitals::core
