#pragma once
/// Glucose rules beyond plain thresholds: predictive "urgent low soon" from a per-patient model
/// fitted online, gated rate-of-change alerts, persistent high. The plain thresholds (< 70,
/// < 54, > 250) stay with threshold_detector; see the "Glucose detector" section of
/// core/README.md for the rules, the model and the figures behind the defaults.

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <vitals/core/alert.hpp>
#include <vitals/core/detector.hpp>
#include <vitals/core/sample.hpp>

namespace vitals::core {

/// Rule name: forecast to fall below 55 mg/dL within 20 minutes (Dexcom's "urgent low soon").
inline constexpr std::string_view glucose_urgent_low_soon_rule = "glucose_urgent_low_soon";
/// Rule name: falling faster than the limit (mg/dL/min) over the rate window.
inline constexpr std::string_view glucose_falling_fast_rule = "glucose_falling_fast";
/// Rule name: rising faster than the limit (mg/dL/min) over the rate window.
inline constexpr std::string_view glucose_rising_fast_rule = "glucose_rising_fast";
/// Rule name: above 180 mg/dL (level 1 hyperglycaemia) for two hours.
inline constexpr std::string_view glucose_persistent_high_rule = "glucose_persistent_high";

/// Defaults of one glucose rule. The fields of rule_override with the same names change them per
/// patient (`area_limit` does not apply to these rules and is ignored).
struct glucose_rule_settings {
  bool enabled = true;
  priority level = priority::low;
  /// The rule's threshold: mg/dL for urgent_low_soon and persistent_high, mg/dL/min (a positive
  /// rate, either direction) for the rate rules.
  double limit = 0.0;
  /// How far back past the limit the rule's quantity must come to clear (same unit as limit).
  double hysteresis = 0.0;
  /// How long the condition must hold (device time, first to current reading) before raising.
  std::chrono::milliseconds min_duration{0};
  /// Consecutive readings on which the condition must hold before raising (0 and 1: one).
  std::uint16_t min_readings = 1;
};

/// Applies one override to a glucose rule (`area_limit` does not apply); unchecked: the
/// detector checks its settings when it is built.
glucose_rule_settings apply(glucose_rule_settings rule, const rule_override& o);

/// The per-patient forecast model: a Kalman filter on glucose level and trend (mg/dL, mg/dL/min)
/// for any reading interval, whose sensor-noise variance is fitted to each patient online from
/// the moments of second differences of the readings, with forgetting.
struct glucose_model_settings {
  /// Forecast horizon of urgent_low_soon.
  std::chrono::milliseconds horizon{std::chrono::minutes(20)};
  /// Trend random walk: variance added to the trend per minute, (mg/dL/min)^2 / min.
  double trend_noise = 0.01;
  /// Prior sensor noise (standard deviation at 100 mg/dL) until readings say otherwise.
  double noise_sd_prior = 4.0;
  /// Least sensor noise assumed (standard deviation, mg/dL): below it the filter would chase
  /// the 1-2 mg/dL steps of rounded readings.
  double noise_sd_floor = 1.4;
  /// Sensor noise is taken as proportional to glucose above this level and constant below it
  /// (CGM accuracy is quoted in mg/dL below ~70-100 and in percent above).
  double noise_proportional_above = 70.0;
  /// Forgetting factor of the noise fit, per reading triple (0.98: about 50 readings).
  double noise_forgetting = 0.98;
  /// Weight of the prior in the noise fit, in readings: the fit follows the first readings of
  /// a patient faster than the forgetting factor alone would let it (12: one hour at 5 min).
  double noise_prior_weight = 12.0;
  /// Prior standard deviation of the trend after a (re)start, mg/dL/min.
  double initial_trend_sd = 1.0;
  /// urgent_low_soon raises when the probability that glucose is below the limit at the
  /// horizon (normal forecast: mean and standard deviation from the filter) is at least this;
  /// 0.5 is the point forecast, higher waits for more certainty (noisier patients wait longer).
  /// 0.95: chosen leave-one-dataset-out on real CGM data (docs/DETECTION.md).
  double confidence = 0.95;
};

/// Settings of the glucose detector; per-patient changes go through `patients`.
struct glucose_settings {
  /// glucose_urgent_low_soon (high): the forecast `model.horizon` ahead is below `limit` on
  /// `min_readings` consecutive readings, while the reading itself is not yet below `limit`.
  /// Clears when the forecast is back above limit + hysteresis and glucose is at or above
  /// `urgent_low_soon_clear` or rising (`urgent_low_soon_clear_rise`).
  glucose_rule_settings urgent_low_soon{
      true, priority::high, 55.0, 10.0, std::chrono::milliseconds(0), 2};
  /// Below this reading (mg/dL; 70, the consensus level 1) urgent_low_soon needs only the
  /// point forecast, not model.confidence; 0: the confidence everywhere.
  double urgent_low_soon_point_below = 70.0;
  /// A reading this many minutes after the previous one, up to twice as many (15-minute
  /// sensors, not a silence), confirms a forecast alone.
  double sparse_interval_min = 10.0;
  /// Clearing also needs glucose at or above this (mg/dL) ...
  double urgent_low_soon_clear = 70.0;
  /// ... or the trend rising at least this fast (mg/dL/min; 0.25 = 5 mg/dL in 20 min), so that
  /// a plateau in the 60s, where the trend wobbles around zero, does not flap.
  double urgent_low_soon_clear_rise = 0.25;

  /// glucose_falling_fast (low, off by default as on Dexcom): least-squares slope over
  /// `rate_window` at or below -limit (mg/dL/min) on `min_readings` consecutive readings, the
  /// latest step also falling; clears when the slope is above -(limit - hysteresis).
  glucose_rule_settings falling_fast{false, priority::low, 3.0, 1.0, std::chrono::milliseconds(0),
                                     2};
  /// glucose_rising_fast: the mirror image of falling_fast.
  glucose_rule_settings rising_fast{false, priority::low, 3.0, 1.0, std::chrono::milliseconds(0),
                                    2};
  /// Readings of the last `rate_window` (plus a minute of slack for sensor timing) give the
  /// slope; at least 3 readings spanning two thirds of it are needed.
  std::chrono::milliseconds rate_window{std::chrono::minutes(15)};

  /// glucose_persistent_high (low): above `limit` for `min_duration`, dips into the hysteresis
  /// band tolerated, and the mean of the excursion's readings above `limit`; clears at or below
  /// limit - hysteresis.
  glucose_rule_settings persistent_high{true, priority::low, 180.0, 10.0, std::chrono::minutes(120),
                                        1};

  /// A silence longer than this (and than 2.5 of the last reading interval) resets the
  /// short-term history (model state, rate window) and restarts every pending duration; active
  /// alerts stay until data clears them.
  std::chrono::milliseconds max_gap{std::chrono::minutes(15)};

  /// The forecast model.
  glucose_model_settings model;

  /// Per-patient overrides by rule name (same shape as detector_settings::patients): enabled,
  /// level, limit, hysteresis, min_duration and min_readings are honoured.
  std::map<std::string, std::map<std::string, rule_override>> patients;
};

/// Evaluates the glucose rules on in-order, quality-checked glucose samples. Pipeline thread only.
class glucose_detector {
 public:
  /// Throws std::invalid_argument naming the setting when a setting is out of range.
  explicit glucose_detector(glucose_settings settings = {});

  /// Feeds one sample; appends raise/clear transitions to `out`. Other vitals, non-finite values
  /// and readings flagged artifact, sensor contact lost, out of order or backfilled are ignored.
  void observe(const sample& s, std::vector<alert_event>& out);

  /// Number of patients with state.
  std::size_t patient_count() const noexcept { return patients_.size(); }

  /// A configuration reload: checked like the constructor's (throws the same, changing
  /// nothing); then the new rules apply from the next reading and each patient keeps its
  /// model, noise fit and rule states. A rule that was active and is now disabled ends with a
  /// `cleared` event appended to `out`.
  void reconfigure(glucose_settings settings, std::vector<alert_event>& out);

  /// Bytes of per-patient state, all patients together (map nodes and buckets included,
  /// approximately).
  std::size_t state_bytes() const noexcept;

  /// The settings in force.
  const glucose_settings& settings() const noexcept { return settings_; }

  /// The model's view of one patient, for tests and diagnostics.
  struct model_view {
    double level = 0.0;        ///< filtered glucose, mg/dL
    double trend = 0.0;        ///< mg/dL/min
    double forecast = 0.0;     ///< level + trend x horizon, mg/dL
    double forecast_sd = 0.0;  ///< standard deviation of the forecast, mg/dL
    double noise_sd = 0.0;     ///< fitted sensor noise at 100 mg/dL (before noise_sd_floor), mg/dL
    bool valid = false;        ///< false: no reading since the last reset
  };
  model_view model(const short_id& patient) const;

 private:
  /// Capacity of the rate window's ring: 15 minutes of one-minute readings.
  static constexpr std::size_t ring_size = 16;
  /// The newest ring entry is replaced by the next reading while it is closer than this to the
  /// entry before it (faster sensors are thinned).
  static constexpr std::int32_t ring_spacing_s = 50;

  /// A rule's parameters after a patient's override.
  struct rule_params {
    float limit = 0.0F;
    float hysteresis = 0.0F;
    std::int32_t min_duration_s = 0;
    std::uint16_t min_readings = 1;
    priority level = priority::low;
    bool enabled = true;
  };
  /// Parameters of every rule for one patient (shared: patients hold an index).
  struct profile {
    rule_params urgent_low_soon, falling_fast, rising_fast, persistent_high;
  };

  /// Persistence and hysteresis of one rule.
  struct rule_state {
    timestamp since{};           ///< first reading of the current run (pending or active)
    float worst_model = 0.0F;    ///< lowest forecast / steepest slope of the run
    float worst_value = 0.0F;    ///< lowest / highest reading of the run
    float sum = 0.0F;            ///< sum of the run's readings (persistent_high's mean)
    std::uint16_t readings = 0;  ///< readings of the current run (saturating)
    bool pending = false;        ///< condition holds, waiting for min_duration / min_readings
    bool active = false;
  };

  /// Kalman state (level mg/dL, trend mg/dL/min) and its covariance (upper triangle).
  struct kalman_state {
    float level = 0.0F, trend = 0.0F;
    float p00 = 0.0F, p01 = 0.0F, p11 = 0.0F;
  };

  /// One reading of the rate window: seconds since `origin` and the value.
  struct ring_entry {
    std::int32_t t = 0;
    float v = 0.0F;
  };

  struct patient_state {
    kalman_state kf{};
    /// Noise fit: exponentially weighted moments of the (scaled) second differences: lag 0, 1.
    float m0 = 0.0F, m1 = 0.0F;
    float last_d2 = 0.0F;      ///< previous scaled second difference (valid if has_d2)
    std::uint16_t fitted = 0;  ///< second differences fitted so far (saturating)
    float prev_v = 0.0F;       ///< reading before the last, for second differences
    std::int32_t prev_t = 0;   ///< its time, seconds since origin
    timestamp origin{};        ///< time base of the ring and prev_t (reset after a gap)
    timestamp last{};          ///< device time of the newest reading (valid if has_last)
    float last_v = 0.0F;       ///< newest reading
    float last_step_s = 0.0F;  ///< seconds between the last two readings (the sensor's pace)
    std::array<ring_entry, ring_size> ring{};
    std::uint8_t ring_head = 0;   ///< index of the newest entry
    std::uint8_t ring_count = 0;  ///< entries held
    std::uint8_t readings = 0;    ///< readings since the last reset (saturating)
    bool has_last = false;
    bool has_d2 = false;
    std::uint32_t profile = 0;  ///< index into profiles_
    rule_state urgent_low_soon, falling_fast, rising_fast, persistent_high;
  };

  struct step_result;

  patient_state& state_for(const short_id& patient);
  profile profile_for(std::string_view patient) const;
  void reset_short_term(patient_state& ps, const sample& s) const noexcept;
  void update_noise(patient_state& ps, float v, std::int32_t t, bool censored) const noexcept;
  void update_model(patient_state& ps, double value, double dt_min) const;
  double noise_variance(const patient_state& ps, double glucose) const noexcept;
  double fitted_noise_at_100(const patient_state& ps) const noexcept;
  bool window_slope(const patient_state& ps, double& slope, double& first_v,
                    double& span_min) const noexcept;

  void run_urgent_low_soon(patient_state& ps, const rule_params& rp, const sample& s,
                           const step_result& st, std::vector<alert_event>& out) const;
  void run_rate(rule_state& rs, const rule_params& rp, std::string_view rule, bool falling,
                const sample& s, const step_result& st, std::vector<alert_event>& out) const;
  void run_persistent_high(patient_state& ps, const rule_params& rp, const sample& s,
                           std::vector<alert_event>& out) const;

  glucose_settings settings_;
  double z_ = 0.0;                 ///< normal quantile of model.confidence
  std::vector<profile> profiles_;  ///< [0]: defaults; one more per patient with overrides
  std::unordered_map<short_id, std::uint32_t> custom_;  ///< patients with their own profile
  std::unordered_map<short_id, patient_state> patients_;
};

}  // namespace vitals::core
