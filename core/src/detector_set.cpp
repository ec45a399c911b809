#include <vitals/core/detector_set.hpp>

namespace vitals::core {

detector_set::detector_set(detection_settings settings)
    : physiological_(settings.physiological),
      thresholds_(std::move(settings.thresholds)),
      glucose_(std::move(settings.glucose)),
      baseline_(std::move(settings.baseline)),
      news2_(std::move(settings.news2)),
      stale_(settings.stale),
      conditions_(settings.conditions) {}

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
