#pragma once
/// Patient models: the true physiological state of one simulated patient over simulated time.
/// Devices (devices.hpp) measure that state with their own noise and rounding.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <vitals/simulators/random.hpp>
#include <vitals/simulators/scenario.hpp>

namespace vitals::simulators {

/// True (noise-free at the device) vitals of a patient at one instant.
struct vitals_state {
  double hr = 0.0;       ///< beats per minute
  double spo2 = 0.0;     ///< percent
  double glucose = 0.0;  ///< mg/dL (interstitial, as a CGM sees it)
};

/// The interface every patient model implements; the generator drives it one tick at a time.
class patient_model {
 public:
  virtual ~patient_model() = default;

  /// The patient's id ("p001").
  virtual const std::string& patient() const noexcept = 0;

  /// Advances to `elapsed` simulated time since the start (non-decreasing between calls) and
  /// returns the state then, scripted events included.
  virtual vitals_state advance(std::chrono::milliseconds elapsed) = 0;

  /// The scripted events this model plays, in the order given at construction.
  virtual const std::vector<scripted_event>& events() const noexcept = 0;

  /// The noise-free value of event `index`'s vital when it started; nullopt until it has.
  virtual std::optional<double> event_baseline(std::size_t index) const noexcept = 0;
};

/// Per-patient constants drawn from the seed.
struct patient_traits {
  double hr_rest = 70.0;        ///< resting heart rate, 62-78 bpm
  double spo2_base = 97.0;      ///< resting SpO2, 96.6-97.6 %
  double glucose_base = 110.0;  ///< fasting glucose, 95-130 mg/dL
};

/// A healthy adult at rest: heart rate and SpO2 around per-patient baselines with slow
/// mean-reverting drift, glucose with a slow random walk and a meal bump every 4.5-6.5 h, plus
/// the scripted events it is given. Bounded so that without events it never crosses the default
/// alert thresholds (HR 50/120, SpO2 90, glucose 70/250), whatever the seed.
class baseline_patient final : public patient_model {
 public:
  /// `seed` is the run's seed; the patient's own stream is derived from it and the id.
  baseline_patient(std::string patient, std::uint64_t seed, std::vector<scripted_event> events);

  const std::string& patient() const noexcept override { return patient_; }
  vitals_state advance(std::chrono::milliseconds elapsed) override;
  const std::vector<scripted_event>& events() const noexcept override { return events_; }
  std::optional<double> event_baseline(std::size_t index) const noexcept override;

  /// The constants drawn for this patient.
  const patient_traits& traits() const noexcept { return traits_; }

  /// Bounds of the drift around each baseline (the models' promises, checked by tests).
  static constexpr double hr_drift_limit = 8.0;
  static constexpr double spo2_drift_limit = 0.8;
  static constexpr double glucose_drift_limit = 15.0;

 private:
  struct meal {
    std::chrono::milliseconds at{};
    double peak = 0.0;                    ///< mg/dL added at the peak
    std::chrono::milliseconds to_peak{};  ///< time from the meal to the peak
  };

  void step_drifts(double dt_seconds, bool spo2_frozen, bool glucose_frozen);
  void schedule_meals(std::chrono::milliseconds elapsed);
  double meal_effect(std::chrono::milliseconds elapsed) const noexcept;
  bool meal_conflicts(std::chrono::milliseconds at, std::chrono::milliseconds to_peak) const;
  const scripted_event* active_event(core::vital_kind vital, std::chrono::milliseconds elapsed,
                                     std::size_t& index) const noexcept;

  std::string patient_;
  std::vector<scripted_event> events_;
  std::vector<std::optional<double>> event_baselines_;
  random rng_;
  patient_traits traits_;
  double hr_drift_ = 0.0;
  double spo2_drift_ = 0.0;
  double glucose_drift_ = 0.0;
  std::vector<meal> meals_;
  std::chrono::milliseconds next_meal_{};
  std::chrono::milliseconds last_{-1};
};

}  // namespace vitals::simulators
