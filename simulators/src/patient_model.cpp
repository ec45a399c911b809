#include <vitals/simulators/patient_model.hpp>

#include <algorithm>
#include <cmath>

namespace vitals::simulators {

using std::chrono::milliseconds;

namespace {

// Mean-reverting drift (Ornstein-Uhlenbeck), stepped exactly for any dt: time constant tau,
// stationary standard deviation sd, hard-bounded at +-limit so the model's ranges are promises.
struct drift_params {
  double tau_s;
  double sd;
  double limit;
};

constexpr drift_params hr_drift{600.0, 3.0, baseline_patient::hr_drift_limit};
constexpr drift_params spo2_drift{900.0, 0.3, baseline_patient::spo2_drift_limit};
constexpr drift_params glucose_drift{3.0 * 3600.0, 7.0, baseline_patient::glucose_drift_limit};

double step_drift(double x, double dt_s, const drift_params& p, random& rng) {
  const double a = std::exp(-dt_s / p.tau_s);
  x = a * x + p.sd * std::sqrt(1.0 - a * a) * rng.normal();
  return std::clamp(x, -p.limit, p.limit);
}

using minutes_d = std::chrono::duration<double, std::ratio<60>>;

milliseconds from_minutes(double m) {
  return std::chrono::round<milliseconds>(minutes_d(m));
}

// A meal's glucose response lasts about six times its time to peak.
constexpr double meal_span = 6.0;

}  // namespace

baseline_patient::baseline_patient(std::string patient, std::uint64_t seed,
                                   std::vector<scripted_event> events)
    : patient_(std::move(patient)),
      events_(std::move(events)),
      event_baselines_(events_.size()),
      rng_(derive_seed(seed, patient_)) {
  traits_.hr_rest = rng_.uniform(62.0, 78.0);
  traits_.spo2_base = rng_.uniform(96.6, 97.6);
  traits_.glucose_base = rng_.uniform(95.0, 130.0);
  // Start somewhere inside each drift's usual range rather than exactly at the baseline.
  hr_drift_ = std::clamp(rng_.normal(0.0, hr_drift.sd / 2), -hr_drift.limit, hr_drift.limit);
  spo2_drift_ =
      std::clamp(rng_.normal(0.0, spo2_drift.sd / 2), -spo2_drift.limit, spo2_drift.limit);
  glucose_drift_ =
      std::clamp(rng_.normal(0.0, glucose_drift.sd / 2), -glucose_drift.limit, glucose_drift.limit);
  next_meal_ = from_minutes(rng_.uniform(30.0, 150.0));
}

std::optional<double> baseline_patient::event_baseline(std::size_t index) const noexcept {
  return index < event_baselines_.size() ? event_baselines_[index] : std::nullopt;
}

const scripted_event* baseline_patient::active_event(core::vital_kind vital, milliseconds elapsed,
                                                     std::size_t& index) const noexcept {
  for (std::size_t i = 0; i < events_.size(); ++i) {
    const auto& e = events_[i];
    if (e.vital() == vital && elapsed >= e.onset && elapsed < e.end()) {
      index = i;
      return &e;
    }
  }
  return nullptr;
}

bool baseline_patient::meal_conflicts(milliseconds at, milliseconds to_peak) const {
  // Meals never overlap a glucose event, so an event's trajectory (and its label) depends only
  // on the baseline at its onset.
  const auto until = at + std::chrono::round<milliseconds>(to_peak * meal_span);
  return std::any_of(events_.begin(), events_.end(), [&](const scripted_event& e) {
    return e.vital() == core::vital_kind::glucose && at < e.end() && until > e.onset;
  });
}

void baseline_patient::schedule_meals(milliseconds elapsed) {
  while (next_meal_ <= elapsed) {
    meal m{next_meal_, rng_.uniform(25.0, 50.0), from_minutes(rng_.uniform(40.0, 60.0))};
    if (!meal_conflicts(m.at, m.to_peak)) meals_.push_back(m);
    next_meal_ += from_minutes(rng_.uniform(4.5 * 60.0, 6.5 * 60.0));
  }
  std::erase_if(meals_, [&](const meal& m) {
    return elapsed > m.at + std::chrono::round<milliseconds>(m.to_peak * meal_span);
  });
}

double baseline_patient::meal_effect(milliseconds elapsed) const noexcept {
  double sum = 0.0;
  for (const auto& m : meals_) {
    if (elapsed < m.at) continue;
    // Gamma-shaped response x*e^(1-x): rises to `peak` at x = 1, mostly gone by x = 5.
    const double x =
        std::chrono::duration<double>(elapsed - m.at) / std::chrono::duration<double>(m.to_peak);
    if (x <= meal_span) sum += m.peak * x * std::exp(1.0 - x);
  }
  return sum;
}

void baseline_patient::step_drifts(double dt_s, bool spo2_frozen, bool glucose_frozen) {
  // Always draw the same numbers per step, so that an event on one vital does not shift the
  // random stream of the others.
  const double hr = step_drift(hr_drift_, dt_s, hr_drift, rng_);
  const double spo2 = step_drift(spo2_drift_, dt_s, spo2_drift, rng_);
  const double glucose = step_drift(glucose_drift_, dt_s, glucose_drift, rng_);
  hr_drift_ = hr;
  if (!spo2_frozen) spo2_drift_ = spo2;
  if (!glucose_frozen) glucose_drift_ = glucose;
}

vitals_state baseline_patient::advance(milliseconds elapsed) {
  std::size_t spo2_index = 0;
  std::size_t glucose_index = 0;
  const scripted_event* spo2_event = active_event(core::vital_kind::spo2, elapsed, spo2_index);
  const scripted_event* glucose_event =
      active_event(core::vital_kind::glucose, elapsed, glucose_index);

  schedule_meals(elapsed);
  if (last_.count() >= 0 && elapsed > last_) {
    step_drifts(std::chrono::duration<double>(elapsed - last_).count(), spo2_event != nullptr,
                glucose_event != nullptr);
  }
  last_ = elapsed;

  vitals_state s;
  s.hr = traits_.hr_rest + hr_drift_;
  s.spo2 = traits_.spo2_base + spo2_drift_;
  s.glucose = traits_.glucose_base + glucose_drift_ + meal_effect(elapsed);

  // During an event its vital follows the scripted trajectory from the value at onset; the
  // drift underneath is frozen and resumes from there afterwards.
  if (spo2_event) {
    auto& base = event_baselines_[spo2_index];
    if (!base) base = s.spo2;
    s.spo2 = event_value(*spo2_event, *base, elapsed);
  }
  if (glucose_event) {
    auto& base = event_baselines_[glucose_index];
    if (!base) base = s.glucose;
    s.glucose = event_value(*glucose_event, *base, elapsed);
  }
  for (const auto& e : events_) s.hr += e.hr_rise * event_depth(e, elapsed);
  return s;
}

}  // namespace vitals::simulators
