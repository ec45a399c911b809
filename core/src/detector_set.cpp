#include <vitals/core/detector_set.hpp>

#include <stdexcept>

namespace vitals::core {

detector_set::detector_set(detection_settings settings)
    : physiological_(settings.physiological),
      thresholds_(std::move(settings.thresholds)),
      glucose_(std::move(settings.glucose)),
      baseline_(std::move(settings.baseline)),
      news2_(std::move(settings.news2)),
      stale_(settings.stale),
      conditions_(settings.conditions) {}

void detector_set::check(const detection_settings& settings) {
  // The constructors check their settings; building one costs nothing without patients.
  [[maybe_unused]] const glucose_detector glucose(settings.glucose);
  [[maybe_unused]] const baseline_detector baseline(settings.baseline);
}

void detector_set::reconfigure(detection_settings settings, std::vector<alert_event>& out) {
  if (settings.baseline.buckets != baseline_.settings().buckets) {
    throw std::invalid_argument(
        "baseline buckets cannot change while vitalsd runs (the learnt norms are per bucket)");
  }
  check(settings);
  thresholds_.reconfigure(std::move(settings.thresholds), out);
  glucose_.reconfigure(std::move(settings.glucose), out);
  baseline_.reconfigure(std::move(settings.baseline), out);
  news2_.reconfigure(std::move(settings.news2), out);
  stale_.reconfigure(settings.stale);
  conditions_.reconfigure(settings.conditions);
}

void detector_set::observe(const sample& s, std::vector<alert_event>& out) {
  if (!physiological_) return;
  thresholds_.observe(s, out);
  if (s.kind == vital_kind::glucose) {
    glucose_.observe(s, out);
  } else {
    news2_.observe(s, out);
  }
  baseline_.observe(s, out);
}

void detector_set::on_fresh(const sample& s, std::vector<alert_event>& out) {
  stale_.on_fresh(s, out);
}

void detector_set::observe_conditions(const sample& s, std::vector<alert_event>& out) {
  conditions_.observe(s, out);
}

void detector_set::tick(timestamp now, std::vector<alert_event>& out) {
  stale_.tick(now, out);
  conditions_.tick(now, out);
}

std::size_t detector_set::state_bytes() const noexcept {
  return thresholds_.state_bytes() + glucose_.state_bytes() + news2_.state_bytes() +
         baseline_.state_bytes() + stale_.state_bytes() + conditions_.state_bytes();
}

}  // namespace vitals::core
