#pragma once
/// Heart rate and SpO2 for vitals-sim: a per-profile patient model (resting baseline, sleep and
/// circadian swing, activity bouts, slow drift, beat-to-beat noise, scripted events) and the pulse
/// oximeter that measures it (its own noise, a few seconds of averaging, integer readings, motion
/// and probe-off artifacts). Both write ground-truth labels (ground_truth.hpp).

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <vitals/core/sample.hpp>
#include <vitals/simulators/ground_truth.hpp>
#include <vitals/simulators/profile.hpp>
#include <vitals/simulators/random.hpp>

namespace vitals::simulators {

/// The scripted heart-rate / SpO2 events.
enum class cardio_event_kind {
  tachycardia,
  bradycardia,
  deterioration,
  desaturation,
  nocturnal_dip
};

/// "tachycardia", "bradycardia", "deterioration", "desaturation", "nocturnal_dip".
std::string_view to_string(cardio_event_kind k) noexcept;

/// Parses to_string(cardio_event_kind); nullopt for anything else.
std::optional<cardio_event_kind> parse_cardio_event(std::string_view text) noexcept;

/// A scripted event. duration 0 / level 0 = the kind's default:
/// - tachycardia: HR to `level` (default 145) for `duration` (default 20 min), which includes a
///   90 s onset and a 120 s offset (each at most a quarter of the duration);
/// - bradycardia: HR to `level` (default 40) for `duration` (default 10 min), 30 s ramps;
/// - deterioration: resting HR rises by `level` bpm (default 30) linearly over `duration`
///   (default 6 h) and stays; SpO2 falls by level / 15 % (1-3 %) alongside; no new activity;
/// - desaturation: SpO2 falls to `level` (default 85; 81 for COPD, whose threshold is 85) in 25 s,
///   holds so that the time below the profile's threshold is about `duration` (default 90 s),
///   recovers in 30 s; HR rises by 0.6 bpm per % of depth (at most 10);
/// - nocturnal_dip: SpO2 dips to `level` (default baseline - 4) for `duration` (default 45 s,
///   15 s fall and rise included); not actionable.
struct cardio_event {
  cardio_event_kind kind{};              ///< what happens
  core::timestamp at{};                  ///< onset
  std::chrono::milliseconds duration{};  ///< 0: the kind's default
  double level = 0.0;                    ///< bpm, % or bpm of rise; 0: the kind's default
};

/// The true state at one instant.
struct cardio_truth {
  double hr = 0;        ///< beats per minute
  double spo2 = 0;      ///< percent
  bool active = false;  ///< in an activity bout (walking)
  bool asleep = false;  ///< in the night's sleep window
};

/// The per-profile constants cardio_model draws from (documented in simulators/README.md).
struct cardio_profile_params {
  double hr_rest_lo, hr_rest_hi;              ///< awake resting HR range, bpm
  double sleep_drop_lo, sleep_drop_hi;        ///< HR fall asleep, bpm
  double night_floor;                         ///< resting HR - sleep drop is kept at or above this
  double circadian_amp;                       ///< +- bpm, peak 16:00 local, trough 04:00
  double hr_drift_sd, hr_drift_limit;         ///< slow drift (tau 20 min), bpm
  double hr_noise_sd, hr_noise_limit;         ///< beat-to-beat noise (tau 4 s), bpm
  double spo2_lo, spo2_hi;                    ///< SpO2 baseline range, %
  double spo2_sleep_drop;                     ///< SpO2 fall asleep, %
  double spo2_activity_drop;                  ///< SpO2 fall at full activity, % (exertional, COPD)
  double activity_gap_min;                    ///< mean gap from a bout's end to the next, min
  double activity_min_lo, activity_min_hi;    ///< bout length, minutes
  double activity_rise_lo, activity_rise_hi;  ///< HR rise of a bout, bpm
  double activity_ceiling;                    ///< resting HR + bout rise is capped at this, bpm
  double desat_threshold;                     ///< desaturation / nocturnal dip label threshold, %
};

/// The constants of a profile.
const cardio_profile_params& cardio_params(profile_kind p) noexcept;

/// One patient's heart rate and SpO2 over simulated time.
class cardio_model {
 public:
  /// Per-patient constants drawn from derive_seed(seed, patient + "/cardio"); utc_offset gives
  /// local time (sleep ~23:00-07:00 local, with per-patient and per-night jitter).
  cardio_model(std::string patient, profile_kind profile, std::uint64_t seed, core::timestamp start,
               std::chrono::minutes utc_offset, std::vector<cardio_event> events);

  /// Advances to `t` (non-decreasing) and returns the true state then. O(1) apart from the events
  /// running at `t`; no allocation except for labels.
  cardio_truth advance(core::timestamp t);

  /// Appends the labels whose window is over (events, activity bouts).
  void drain_labels(std::vector<label>& out);

  /// Appends every remaining label, open ones ending at the last advanced time (end of a run).
  void flush_labels(std::vector<label>& out);

  /// The patient's awake resting HR (without deterioration), bpm.
  double resting_hr() const noexcept { return hr_rest_; }

  /// The patient's SpO2 baseline (awake, at rest), %.
  double spo2_baseline() const noexcept { return spo2_base_; }

  /// The patient's id.
  const std::string& patient() const noexcept { return patient_; }

  /// The profile.
  profile_kind profile() const noexcept { return profile_; }

 private:
  struct event_state {
    cardio_event ev;
    core::timestamp end{};  ///< back to normal (deterioration: end of the rise)
    std::chrono::milliseconds ramp_in{}, ramp_out{};
    double level = 0.0;        ///< resolved level
    double hold_s = 0.0;       ///< desaturation: plateau length, s (set at onset)
    double start_value = 0.0;  ///< desaturation: SpO2 at onset
    bool started = false;
    bool done = false;
    double threshold = 0.0;
    bool above = false;  ///< threshold is crossed upwards
    std::optional<core::timestamp> crossed;
    double extreme = 0.0;
    double below_ms = 0.0;  ///< time the truth spent beyond the threshold
  };
  struct night {
    std::int64_t start_ms = 0;  ///< local ms since epoch
    std::int64_t end_ms = 0;
  };

  night night_of(std::int64_t local_day) const noexcept;
  void step_noise(double dt_s);
  void schedule_activity(core::timestamp t, bool blocked);
  double event_weight(const event_state& e, core::timestamp t) const noexcept;
  void start_event(event_state& e, double spo2);
  label make_label(const event_state& e, core::timestamp end) const;
  label make_activity_label(core::timestamp end) const;

  std::string patient_;
  profile_kind profile_;
  const cardio_profile_params* params_;
  std::uint64_t seed_;
  std::chrono::minutes utc_offset_;
  random rng_;       ///< per-second noise
  random bout_rng_;  ///< activity schedule

  double hr_rest_ = 70.0;
  double sleep_drop_ = 8.0;
  double spo2_base_ = 97.0;
  std::int64_t bedtime_ms_ = 0;  ///< local offset from midnight
  std::int64_t wake_ms_ = 0;

  double hr_drift_ = 0.0, hr_noise_ = 0.0, spo2_drift_ = 0.0, spo2_noise_ = 0.0;
  double cached_dt_ = -1.0;
  std::array<double, 8> coef_{};           ///< OU decay and innovation factors for cached_dt_
  std::array<double, 2> activity_coef_{};  ///< activity response decay (on, off) for cached_dt_

  night night_{};
  std::int64_t night_day_ = 0;
  std::int64_t prev_wake_ms_ = 0;
  std::int64_t circ_minute_ = -1;
  double circ_ = 0.0;

  // Activity: the current bout and the next scheduled start.
  core::timestamp next_bout_{};
  core::timestamp bout_start_{}, bout_end_{};
  double bout_rise_ = 0.0;
  bool bout_on_ = false;   ///< a bout is being played (window incl. recovery)
  double activity_ = 0.0;  ///< first-order response, 0..1
  double bout_peak_hr_ = 0.0;

  std::vector<event_state> events_;  ///< sorted by onset
  std::size_t next_event_ = 0;
  std::vector<std::size_t> running_;  ///< started, not done
  double det_shift_ = 0.0;            ///< HR added by deterioration
  double det_spo2_ = 0.0;             ///< SpO2 removed by deterioration
  bool det_started_ = false;

  core::timestamp last_{};
  std::vector<label> done_labels_;
};

/// Pulse-oximeter artifacts.
enum class oximeter_artifact_kind {
  motion,         ///< erratic values (the sensor locks onto movement); truth unchanged
  probe_off,      ///< sensor off the finger: no values
  displaced,      ///< sensor slipped out of place: no values
  low_perfusion,  ///< weak pulse signal: values as usual, the device flags them
};

/// "motion", "probe_off", "displaced", "low_perfusion".
std::string_view to_string(oximeter_artifact_kind k) noexcept;

/// Parses to_string(oximeter_artifact_kind); nullopt for anything else.
std::optional<oximeter_artifact_kind> parse_oximeter_artifact(std::string_view text) noexcept;

/// A scripted artifact; duration 0 = default (motion 5-10 s drawn per artifact, probe_off and
/// displaced 2 min, low_perfusion 5 min).
struct oximeter_artifact {
  oximeter_artifact_kind kind{};         ///< what happens
  core::timestamp at{};                  ///< start
  std::chrono::milliseconds duration{};  ///< 0: default
};

/// What the device sends: integer bpm and %, or contact lost (probe off, displaced: hr 0, spo2 0,
/// contact false), with the artifacts behind it (BLE frames report them as status bits).
struct oximeter_reading {
  int hr = 0;                  ///< bpm
  int spo2 = 0;                ///< %
  bool contact = true;         ///< false: sensor contact lost (probe off or displaced)
  bool displaced = false;      ///< contact lost because the sensor is displaced (not probe off)
  bool motion = false;         ///< motion artifact in the values
  bool low_perfusion = false;  ///< low perfusion: values as usual, flagged by the device
};

/// A pulse oximeter worn by one patient.
class oximeter_device {
 public:
  /// The device's stream is derive_seed(seed, patient + "/" + device); artifacts in any order.
  oximeter_device(std::string device, std::string patient, std::uint64_t seed,
                  std::vector<oximeter_artifact> artifacts);

  /// One reading per simulated second: the truth with the device's own noise, averaged over the
  /// last 4 s, rounded; SpO2 <= 100; artifacts applied.
  oximeter_reading measure(core::timestamp t, const cardio_truth& truth);

  /// Appends the artifact labels whose window is over.
  void drain_labels(std::vector<label>& out);

  /// Appends every remaining artifact label that has started, open ones ending at the last time.
  void flush_labels(std::vector<label>& out);

  /// The device id.
  const std::string& device() const noexcept { return device_; }

  /// Readings averaged by the device.
  static constexpr std::size_t window = 4;

 private:
  struct artifact_state {
    oximeter_artifact art;
    core::timestamp end{};
    bool started = false;
    bool done = false;
    std::optional<double> extreme;
  };
  label make_label(const artifact_state& a, core::timestamp end) const;

  std::string device_;
  std::string patient_;
  random rng_;      ///< measurement noise
  random art_rng_;  ///< artifact values
  double spo2_bias_ = 0.0;
  std::array<double, window> hr_buf_{};
  std::array<double, window> spo2_buf_{};
  std::size_t count_ = 0, pos_ = 0;
  std::vector<artifact_state> artifacts_;  ///< sorted by start
  std::size_t next_artifact_ = 0;
  core::timestamp last_{};
  std::vector<label> done_labels_;
};

}  // namespace vitals::simulators
