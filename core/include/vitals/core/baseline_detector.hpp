#pragma once
/// Personal baselines: each patient's own normal per vital and time of day, and a low-priority
/// "deviation from personal baseline" alert.

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <vitals/core/alert.hpp>
#include <vitals/core/detector.hpp>
#include <vitals/core/sample.hpp>

namespace vitals::core {

/// Settings of the baseline detector; per-patient changes go through `patients` and
/// `patient_utc_offset_minutes`. Defaults are conservative on purpose: the alerts are low
/// priority, meant to show a slow change (a resting HR 20 /min above this patient's norm for an
/// hour), and must not fire on walking bouts, sleep or the circadian swing.
struct baseline_settings {
  /// Time-of-day buckets of equal length, each with its own norm: 1, 2, 3, 4 or 6 (4 h each).
  int buckets = 6;
  /// Local time = UTC + this, for the buckets (e.g. 60 for CET).
  std::int32_t utc_offset_minutes = 0;
  /// Per-patient local time (patient id -> minutes east of UTC); others use utc_offset_minutes.
  std::map<std::string, std::int32_t> patient_utc_offset_minutes;

  /// Warm-up: no alert before this much data (any time of day) has been learnt ...
  std::chrono::minutes warmup_total{6 * 60};
  /// ... and before the current bucket itself has seen this much (default: one whole 4-hour
  /// bucket, so that a bucket first seen asleep does not alarm when the patient wakes up).
  std::chrono::minutes warmup_bucket{4 * 60};
  /// Time constant of the norms in days of data: each day adds one bucket length of minutes, so
  /// a norm follows a lasting change over about this many days. Minutes spent deviating (a rule
  /// pending or active) are never learnt: an event does not become the new normal.
  double learning_days = 7.0;
  /// Robust learning: residuals are clipped at this many standard deviations (Huber), so that
  /// walking bouts widen the norm little.
  double huber_k = 1.5;
  /// Floors of the standard deviations used for clipping and the Mahalanobis distance.
  double hr_sd_floor = 3.0;    ///< /min
  double spo2_sd_floor = 0.7;  ///< %

  /// Exponentially weighted time constant of the short-term means compared with the norm.
  std::chrono::minutes short_window{10};
  /// A silence longer than this restarts the short-term means and the durations.
  std::chrono::minutes max_gap{10};

  /// hr_baseline_deviation: short-term HR at least this far above the bucket's norm, /min ...
  double hr_limit = 20.0;
  /// ... for at least this long; clears at hr_limit - hr_hysteresis.
  std::chrono::minutes hr_min_duration{60};
  double hr_hysteresis = 5.0;

  /// cardio_baseline_deviation: Mahalanobis distance of the short-term [HR, SpO2] from the
  /// bucket's norm (mean vector, 2x2 covariance) at least this (in standard deviations) ...
  double cardio_limit = 5.0;
  /// ... for at least this long; clears at cardio_limit - cardio_hysteresis.
  std::chrono::minutes cardio_min_duration{60};
  double cardio_hysteresis = 2.0;

  /// Priority of both rules (overridable per patient with rule_override::level).
  priority level = priority::low;
  /// Whether each rule runs (overridable per patient with rule_override::enabled).
  bool hr_enabled = true;
  bool cardio_enabled = true;

  /// Per-patient overrides by rule name (same shape as detector_settings::patients): enabled,
  /// limit, hysteresis, min_duration and level are honoured.
  std::map<std::string, std::map<std::string, rule_override>> patients;
};

/// Learns per-patient baselines of HR and SpO2 per time-of-day bucket and reports sustained
/// deviations from them. Pipeline thread only; every function is cheap except export/import.
///
/// Readings are folded into one-minute means (1 Hz oximetry or slower; HR and SpO2 may arrive
/// as separate samples). When a minute closes (the first reading of a later minute arrives), the
/// short-term means are updated, the rules are evaluated against the bucket of that minute, and,
/// unless a rule is pending or active, the minute is learnt into the bucket's norm. Glucose and
/// readings flagged artifact or sensor-contact-lost are ignored.
class baseline_detector {
 public:
  /// Rule names.
  static constexpr std::string_view hr_rule = "hr_baseline_deviation";
  static constexpr std::string_view cardio_rule = "cardio_baseline_deviation";
  /// Largest bucket count.
  static constexpr int max_buckets = 6;
  /// Version of the export_state() format.
  static constexpr std::uint8_t state_format_version = 1;

  /// Throws std::invalid_argument naming the setting when a setting is out of range.
  explicit baseline_detector(baseline_settings settings = {});

  /// Feeds one in-order sample; appends raise/clear transitions to `out`.
  void observe(const sample& s, std::vector<alert_event>& out);

  /// Number of patients with state.
  std::size_t patient_count() const noexcept { return patients_.size(); }

  /// A configuration reload: checked like the constructor's (throws the same, changing
  /// nothing); `buckets` must stay as it is (the learnt norms are per bucket: throws
  /// std::invalid_argument otherwise). Each patient keeps its norms and rule states; a rule
  /// that was active and is now disabled ends with a `cleared` event appended to `out`.
  void reconfigure(baseline_settings settings, std::vector<alert_event>& out);

  /// Bytes of per-patient state, all patients together (map nodes and buckets included,
  /// approximately).
  std::size_t state_bytes() const noexcept;

  /// One patient's whole state (norms, short-term means, rule states) in a versioned,
  /// checksummed little-endian binary form; empty when the patient has no state.
  std::vector<std::uint8_t> export_state(const short_id& patient) const;

  /// Replaces a patient's state with an exported one. Returns false, changing nothing, for a
  /// blob that is truncated, corrupt, of another format version or made with another bucket
  /// count. An imported patient is not dirty.
  bool import_state(const short_id& patient, std::span<const std::uint8_t> blob);

  /// Appends the patients whose state changed since they were last taken, and clears their
  /// dirty marks. O(patients).
  void take_dirty(std::vector<short_id>& out);

  /// The settings in force.
  const baseline_settings& settings() const noexcept { return settings_; }

 private:
  /// A rule's parameters after a patient's override.
  struct rule_params {
    double limit = 0.0;
    double hysteresis = 0.0;
    std::int32_t min_minutes = 0;
    priority level = priority::low;
    bool enabled = true;
  };
  /// Everything per patient that comes from the settings (shared: patients hold an index).
  struct profile {
    rule_params hr, cardio;
    std::int32_t utc_offset_minutes = 0;
  };
  /// The learnt norm of one time-of-day bucket: HR and SpO2 means, 2x2 covariance.
  struct bucket_stats {
    float mean_hr = 0.0F, mean_spo2 = 0.0F;
    float var_hr = 0.0F, var_spo2 = 0.0F, cov = 0.0F;
    std::uint16_t minutes_hr = 0;     ///< minutes of HR learnt (saturating)
    std::uint16_t minutes_joint = 0;  ///< minutes of HR and SpO2 together (saturating)
  };
  struct rule_state {
    std::int32_t since = 0;  ///< minute the condition started (pending or active)
    float worst = 0.0F;      ///< largest deviation of the excursion
    std::uint8_t pending = 0;
    std::uint8_t active = 0;
  };
  struct patient_state {
    std::array<bucket_stats, max_buckets> buckets{};
    std::int32_t minute = 0;  ///< open minute, minutes since the epoch (valid when has_minute)
    float sum_hr = 0.0F, sum_spo2 = 0.0F;
    std::uint16_t n_hr = 0, n_spo2 = 0;          ///< readings in the open minute
    float short_hr = 0.0F, short_spo2 = 0.0F;    ///< short-term EW means
    float weight_hr = 0.0F, weight_spo2 = 0.0F;  ///< EW weights reached (0 = empty, 1 = full)
    std::int32_t last_hr = 0, last_spo2 = 0;     ///< last closed minute with such data
    std::uint32_t learnt_minutes = 0;            ///< minutes learnt, all buckets
    rule_state hr, cardio;
    std::uint32_t profile = 0;  ///< index into profiles_
    std::uint8_t has_minute = 0;
    std::uint8_t dirty = 0;
  };

  patient_state& state_for(const short_id& patient);
  std::uint32_t profile_index(const short_id& patient) const;
  int bucket_of(std::int32_t minute, const profile& p) const noexcept;
  void close_minute(patient_state& ps, const sample& s, std::vector<alert_event>& out);
  void learn(bucket_stats& b, bool have_hr, float hr, bool have_spo2, float spo2,
             std::int32_t span) const noexcept;

  baseline_settings settings_;
  std::vector<profile> profiles_;                       ///< [0]: defaults
  std::unordered_map<short_id, std::uint32_t> custom_;  ///< patients with their own profile
  std::unordered_map<short_id, patient_state> patients_;
};

}  // namespace vitals::core
