#pragma once
/// Every detector of the pipeline behind one interface: threshold rules, glucose prediction and
/// rates, personal baselines, NEWS2, stale-data and device-condition technical alerts.

#include <chrono>
#include <cstddef>
#include <vector>

#include <vitals/core/alert.hpp>
#include <vitals/core/baseline_detector.hpp>
#include <vitals/core/condition_monitor.hpp>
#include <vitals/core/detector.hpp>
#include <vitals/core/glucose_detector.hpp>
#include <vitals/core/news2_detector.hpp>
#include <vitals/core/sample.hpp>
#include <vitals/core/stale_monitor.hpp>

namespace vitals::core {

/// Settings of every detector.
struct detection_settings {
  detector_settings thresholds{default_rules(), {}};  ///< threshold rules, per-patient overrides
  glucose_settings glucose;
  baseline_settings baseline;
  news2_settings news2;
  stale_settings stale;
  condition_settings conditions;  ///< technical alerts from device-reported conditions
  bool physiological = true;      ///< false: no physiological detector runs (benchmarks compare)
};

/// Owns the detectors; called on the pipeline thread only.
class detector_set {
 public:
  explicit detector_set(detection_settings settings = {});

  /// Throws std::invalid_argument, naming the setting, for settings no detector could run with
  /// (what the constructor and reconfigure() would throw).
  static void check(const detection_settings& settings);

  /// A configuration reload (pipeline thread): every detector takes its new settings and keeps
  /// its state (models, baselines, excursions, alerts in progress, stale watches); rules that
  /// were active and are now disabled or removed end with `cleared` events appended to `out`.
  /// `physiological` stays as it was. Check the settings first (check()): the personal
  /// baselines' bucket count must not change (std::invalid_argument, nothing changed).
  void reconfigure(detection_settings settings, std::vector<alert_event>& out);

  /// An in-order, on-time reading that passed the signal-quality checks: every physiological
  /// detector sees it.
  void observe(const sample& s, std::vector<alert_event>& out);

  /// An in-order, on-time reading (whatever its quality): the device is alive.
  void on_fresh(const sample& s, std::vector<alert_event>& out);

  /// Conditions a device reports (probe off, link state, ...) with an in-order, on-time
  /// sample or a condition-only report: technical alerts (condition_monitor.hpp).
  void observe_conditions(const sample& s, std::vector<alert_event>& out);

  /// Periodic work at wall time `now` (stale data, conditions that have held long enough).
  void tick(timestamp now, std::vector<alert_event>& out);

  /// Time vitalsd could not listen (its sources were held back): it does not count as silence
  /// of any device for stale-data alerts.
  void discount_silence(std::chrono::milliseconds d) noexcept { stale_.discount(d); }

  /// The sources' names by sample::source, for alerts about a whole source.
  void set_source_names(std::vector<std::string> names) {
    stale_.set_source_names(std::move(names));
  }

  /// Streams seen before a restart, watched for silence from their last reading.
  void seed_stale(const std::vector<stream_seen>& streams) {
    for (const auto& s : streams) stale_.seed(s);
  }

  /// Stops the stale-data watch of streams for which `unwatched(device, patient)` holds
  /// (stale_monitor::forget_if).
  template <class Pred>
  void forget_streams_if(Pred unwatched, timestamp now, std::vector<alert_event>& out) {
    stale_.forget_if(std::move(unwatched), now, out);
  }

  /// The personal baselines, for loading and saving their state.
  baseline_detector& baselines() noexcept { return baseline_; }

  /// Bytes of detector state, all patients together (approximate: map nodes included).
  std::size_t state_bytes() const noexcept;

  /// Patients with physiological detector state.
  std::size_t patient_count() const noexcept { return thresholds_.patient_count(); }

 private:
  bool physiological_;
  threshold_detector thresholds_;
  glucose_detector glucose_;
  baseline_detector baseline_;
  news2_detector news2_;
  stale_monitor stale_;
  condition_monitor conditions_;
};

}  // namespace vitals::core
