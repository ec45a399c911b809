#pragma once
/// NEWS2 partial score per patient from the latest HR and SpO2 (and other parameters when a
/// source supplies them), raising alerts at the escalation bands.
///
/// Per patient the detector keeps one smoothed reading per NEWS2 parameter (median of the last
/// three readings, then an exponentially weighted mean over `smoothing` of device time). On every
/// HR or SpO2 sample it scores the parameters read within `validity` (news2_score(), with the
/// patient's SpO2 scale and oxygen flag) and runs two rules on the band:
///
/// - `news2_urgent_review` (medium): band low_medium (a single parameter scores 3) or worse;
/// - `news2_emergency` (high): band high (aggregate >= 7).
///
/// A rule raises when its band has held on every evaluation for `min_duration` of device time,
/// and clears when the score has stayed below it for `clear_duration`. The rules nest: escalating
/// to emergency leaves urgent review active, and de-escalating clears emergency first. See the
/// "NEWS2 detector" section of core/README.md.

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <vitals/core/alert.hpp>
#include <vitals/core/detector.hpp>
#include <vitals/core/news2.hpp>
#include <vitals/core/sample.hpp>

namespace vitals::core {

/// Rule name of the urgent-review band (a single 3, or aggregate 5-6).
inline constexpr std::string_view news2_urgent_rule = "news2_urgent_review";
/// Rule name of the emergency band (aggregate >= 7).
inline constexpr std::string_view news2_emergency_rule = "news2_emergency";

/// The NEWS2 parameters the detector keeps a reading of (one slot each per patient).
enum class news2_parameter : std::uint8_t {
  pulse,
  spo2,
  resp_rate,
  temperature,
  systolic_bp,
  consciousness,  ///< reading 1 = Alert, 0 = new confusion, Voice, Pain or Unresponsive
};

inline constexpr std::size_t news2_parameter_count = 6;

/// Which NEWS2 parameter a vital fills: HR -> pulse, SpO2 -> spo2, nothing for glucose. This is
/// where respiration rate, temperature, blood pressure and consciousness join once a source
/// supplies them as vital kinds; the detector scores every slot already.
std::optional<news2_parameter> news2_parameter_for(vital_kind kind) noexcept;

/// One patient's NEWS2 context: SpO2 scale and supplemental oxygen.
struct news2_patient {
  spo2_scale scale = spo2_scale::scale1;
  bool on_oxygen = false;
};

/// Defaults of one NEWS2 rule; per patient, `news2_settings::patients` may change each field.
struct news2_rule_settings {
  bool enabled = true;
  priority level = priority::medium;
  /// How long the band must hold (device time) before the rule raises; 0: at once.
  std::chrono::milliseconds min_duration{std::chrono::minutes(5)};
};

/// Settings of the NEWS2 detector.
struct news2_settings {
  std::map<std::string, news2_patient> patient_context;  ///< patient id -> scale and oxygen
  /// Per-patient overrides by rule name (same shape as detector_settings::patients). Only
  /// `enabled`, `level` and `min_duration` apply; `limit`, `hysteresis`, `min_readings` and
  /// `area_limit` are ignored (the bands are NEWS2's own).
  std::map<std::string, std::map<std::string, rule_override>> patients;

  /// `news2_urgent_review`: on, medium priority, 5 min.
  news2_rule_settings urgent{true, priority::medium, std::chrono::minutes(5)};
  /// `news2_emergency`: on, high priority, 5 min.
  news2_rule_settings emergency{true, priority::high, std::chrono::minutes(5)};
  /// How long the score must stay below a raised band before the rule clears (5 min).
  std::chrono::milliseconds clear_duration{std::chrono::minutes(5)};
  /// A parameter read longer ago than this (device time) is not scored, and a patient silent
  /// for longer restarts every pending duration (2 min).
  std::chrono::milliseconds validity{std::chrono::minutes(2)};
  /// Time constant of the exponentially weighted mean applied after the median of three (60 s);
  /// 0: the median of the last three readings alone.
  std::chrono::milliseconds smoothing{std::chrono::seconds(60)};
};

/// Scores NEWS2 per patient and reports band transitions.
class news2_detector {
 public:
  explicit news2_detector(news2_settings settings = {});

  /// Feeds one in-order sample; appends raise/clear transitions to `out`. Vitals that are not a
  /// NEWS2 parameter (glucose), non-finite values and readings flagged as artifact, sensor
  /// contact lost, out of order or backfilled are ignored.
  void observe(const sample& s, std::vector<alert_event>& out);

  /// Number of patients with state.
  std::size_t patient_count() const noexcept { return patients_.size(); }

  /// A configuration reload: each patient keeps its readings and rule states, and takes the
  /// new rule settings, SpO2 scale and oxygen flag. A rule that was active and is now disabled
  /// ends with a `cleared` event appended to `out`.
  void reconfigure(news2_settings settings, std::vector<alert_event>& out);

  /// Bytes of per-patient state, all patients together (approximate: map nodes and buckets).
  std::size_t state_bytes() const noexcept;

 private:
  /// Latest readings of one parameter: the last three raw values and the smoothed value.
  struct reading_slot {
    std::array<float, 3> recent{};
    float smoothed = 0.0F;
    timestamp last{};        ///< device time of the newest reading
    std::uint8_t count = 0;  ///< raw values held (0: never read, or reset after a gap)
    std::uint8_t next = 0;   ///< where the next raw value goes in `recent`
  };

  /// Persistence and hysteresis of one rule.
  struct rule_state {
    timestamp since{};             ///< first evaluation of the current episode in the band
    timestamp clear_since{};       ///< first evaluation below the band while active
    std::int8_t peak = 0;          ///< highest aggregate of the episode
    std::int8_t threshold = 0;     ///< band lower bound at raise (3, 5 or 7)
    std::uint8_t raised_mask = 0;  ///< parameters scored when the rule raised
    vital_kind kind = vital_kind::heart_rate;  ///< kind reported at raise
    bool pending = false;                      ///< in the band, waiting for min_duration
    bool active = false;                       ///< raised
    bool clearing = false;  ///< active and below the band, waiting for clear_duration
  };

  /// A rule's settings for one patient (defaults with the patient's overrides applied).
  struct rule_params {
    std::chrono::milliseconds min_duration{0};
    priority level = priority::medium;
    bool enabled = true;
  };

  struct patient_state {
    std::array<reading_slot, news2_parameter_count> slots{};
    std::array<rule_state, 2> rules{};    ///< [0] urgent review, [1] emergency
    std::array<rule_params, 2> params{};  ///< same order
    timestamp last_eval{};                ///< device time of the last evaluation
    spo2_scale scale = spo2_scale::scale1;
    bool on_oxygen = false;
    bool evaluated = false;  ///< last_eval is valid
  };

  struct evaluation;

  patient_state& state_for(const short_id& patient);
  rule_params params_for(std::string_view patient, std::string_view rule,
                         const news2_rule_settings& defaults) const;
  void update_slot(reading_slot& slot, float value, timestamp t, bool smooth) const noexcept;
  void run_rule(std::size_t index, patient_state& ps, const evaluation& ev, const sample& s,
                bool gap, std::vector<alert_event>& out) const;

  news2_settings settings_;
  std::unordered_map<short_id, patient_state> patients_;
};

}  // namespace vitals::core
