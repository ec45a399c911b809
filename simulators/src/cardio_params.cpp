// The per-profile constants of the cardio model, and the names of its events and of the
// oximeter's artifacts.
#include <vitals/simulators/cardio_model.hpp>

namespace vitals::simulators {

namespace {

// Per-profile constants (rationale in simulators/README.md). Type 1 diabetics have a healthy
// heart and lungs: they share the healthy adult's constants.
constexpr cardio_profile_params healthy_params{
    .hr_rest_lo = 62.0,
    .hr_rest_hi = 78.0,
    .sleep_drop_lo = 6.0,
    .sleep_drop_hi = 10.0,
    .night_floor = 60.0,
    .circadian_amp = 1.5,
    .hr_drift_sd = 2.0,
    .hr_drift_limit = 3.0,
    .hr_noise_sd = 1.2,
    .hr_noise_limit = 3.0,
    .spo2_lo = 96.3,
    .spo2_hi = 97.8,
    .spo2_sleep_drop = 0.6,
    .spo2_activity_drop = 0.0,
    .activity_gap_min = 100.0,
    .activity_min_lo = 5.0,
    .activity_min_hi = 25.0,
    .activity_rise_lo = 15.0,
    .activity_rise_hi = 35.0,
    .activity_ceiling = 106.0,
    .desat_threshold = 88.0,
};

constexpr cardio_profile_params copd_params{
    .hr_rest_lo = 70.0,
    .hr_rest_hi = 86.0,
    .sleep_drop_lo = 4.0,
    .sleep_drop_hi = 8.0,
    .night_floor = 62.0,
    .circadian_amp = 1.0,
    .hr_drift_sd = 2.0,
    .hr_drift_limit = 4.0,
    .hr_noise_sd = 1.5,
    .hr_noise_limit = 3.5,
    .spo2_lo = 89.3,
    .spo2_hi = 91.0,
    .spo2_sleep_drop = 1.0,
    .spo2_activity_drop = 1.0,
    .activity_gap_min = 150.0,
    .activity_min_lo = 3.0,
    .activity_min_hi = 12.0,
    .activity_rise_lo = 12.0,
    .activity_rise_hi = 25.0,
    .activity_ceiling = 106.0,
    .desat_threshold = 85.0,
};

constexpr cardio_profile_params cardiac_params{
    .hr_rest_lo = 68.0,
    .hr_rest_hi = 86.0,
    .sleep_drop_lo = 4.0,
    .sleep_drop_hi = 8.0,
    .night_floor = 62.0,
    .circadian_amp = 1.0,
    .hr_drift_sd = 3.0,
    .hr_drift_limit = 5.0,
    .hr_noise_sd = 2.0,
    .hr_noise_limit = 5.0,
    .spo2_lo = 94.8,
    .spo2_hi = 97.0,
    .spo2_sleep_drop = 0.8,
    .spo2_activity_drop = 0.3,
    .activity_gap_min = 150.0,
    .activity_min_lo = 5.0,
    .activity_min_hi = 15.0,
    .activity_rise_lo = 10.0,
    .activity_rise_hi = 25.0,
    .activity_ceiling = 104.0,
    .desat_threshold = 88.0,
};

}  // namespace

std::string_view to_string(cardio_event_kind k) noexcept {
  switch (k) {
    case cardio_event_kind::tachycardia:
      return "tachycardia";
    case cardio_event_kind::bradycardia:
      return "bradycardia";
    case cardio_event_kind::deterioration:
      return "deterioration";
    case cardio_event_kind::desaturation:
      return "desaturation";
    case cardio_event_kind::nocturnal_dip:
      return "nocturnal_dip";
  }
  return "tachycardia";
}

std::optional<cardio_event_kind> parse_cardio_event(std::string_view text) noexcept {
  for (const auto k : {cardio_event_kind::tachycardia, cardio_event_kind::bradycardia,
                       cardio_event_kind::deterioration, cardio_event_kind::desaturation,
                       cardio_event_kind::nocturnal_dip}) {
    if (to_string(k) == text) return k;
  }
  return std::nullopt;
}

std::string_view to_string(oximeter_artifact_kind k) noexcept {
  switch (k) {
    case oximeter_artifact_kind::motion:
      return "motion";
    case oximeter_artifact_kind::probe_off:
      return "probe_off";
    case oximeter_artifact_kind::displaced:
      return "displaced";
    case oximeter_artifact_kind::low_perfusion:
      return "low_perfusion";
  }
  return "motion";
}

std::optional<oximeter_artifact_kind> parse_oximeter_artifact(std::string_view text) noexcept {
  for (const auto k : {oximeter_artifact_kind::motion, oximeter_artifact_kind::probe_off,
                       oximeter_artifact_kind::displaced, oximeter_artifact_kind::low_perfusion}) {
    if (to_string(k) == text) return k;
  }
  return std::nullopt;
}

const cardio_profile_params& cardio_params(profile_kind p) noexcept {
  switch (p) {
    case profile_kind::healthy:
    case profile_kind::t1d:
      return healthy_params;
    case profile_kind::copd:
      return copd_params;
    case profile_kind::cardiac:
      return cardiac_params;
  }
  return healthy_params;
}

}  // namespace vitals::simulators
