#pragma once
/// Threshold rules with persistence and hysteresis, evaluated per patient on the pipeline thread.

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <vitals/core/alert.hpp>
#include <vitals/core/sample.hpp>

namespace vitals::core {

/// Which side of the limit is abnormal.
enum class direction : std::uint8_t { below = 0, above = 1 };

/// One threshold rule: raise when the vital stays beyond `limit` for `min_duration`; clear when it
/// comes back past `limit` by `hysteresis`.
struct threshold_rule {
  std::string name;  ///< unique rule name, e.g. "spo2_low"
  vital_kind kind = vital_kind::heart_rate;
  direction dir = direction::below;
  double limit = 0.0;                         ///< canonical unit of `kind`
  std::chrono::milliseconds min_duration{0};  ///< 0: the first reading beyond the limit raises
  double hysteresis = 0.0;  ///< how far back past the limit a reading must be to clear
  /// Longer silences (and longer than 2.5 of the stream's last reading interval, so that a
  /// 15-minute sensor's pace is no silence) restart the duration; an alert active across one
  /// whose condition still holds at the next reading is cleared and raised anew at it.
  std::chrono::milliseconds max_gap{std::chrono::minutes(2)};
  priority level = priority::medium;
  bool enabled = true;
  /// Readings beyond the limit needed in a row (on top of min_duration); 0 and 1 both mean one.
  std::uint16_t min_readings = 1;
  /// Depth x duration: raise as soon as the area between the limit and the readings reaches
  /// this many unit-seconds (e.g. % x s for SpO2), even before min_duration; 0 switches it off.
  /// A deeper excursion alarms sooner (a "smart" delay).
  double area_limit = 0.0;
};

/// A per-patient change to one rule; unset fields keep the default.
struct rule_override {
  std::optional<double> limit{};
  std::optional<std::chrono::milliseconds> min_duration{};
  std::optional<std::uint16_t> min_readings{};
  std::optional<double> area_limit{};
  std::optional<double> hysteresis{};
  std::optional<priority> level{};
  std::optional<bool> enabled{};
};

/// The rule set and the per-patient overrides (patient id -> rule name -> override).
struct detector_settings {
  std::vector<threshold_rule> rules;
  std::map<std::string, std::map<std::string, rule_override>> patients;
};

/// Defaults from reference/clinical.md: HR 50/120 (10 s), SpO2 < 90 for 30 s or sooner by
/// depth x duration (60 %·s), glucose < 70, < 54 at once (high priority) and > 250.
std::vector<threshold_rule> default_rules();

/// Applies one override to a rule.
threshold_rule apply(threshold_rule rule, const rule_override& o);

/// The `cleared` event of a rule that was active when a configuration reload disabled or
/// removed it: no detector would ever clear it otherwise. `time` is the device time of the
/// rule's last reading; value and threshold are NaN (no reading ended it: the alert keeps its
/// last value).
alert_event withdrawn_rule_event(const short_id& patient, std::string rule, vital_kind kind,
                                 priority level, alert_source source, timestamp condition_start,
                                 timestamp time);

/// Evaluates threshold rules on in-order samples and reports raise/clear transitions.
class threshold_detector {
 public:
  explicit threshold_detector(detector_settings settings);

  /// Feeds one accepted, in-order sample; appends any transitions to `out`.
  void observe(const sample& s, std::vector<alert_event>& out);

  /// A configuration reload: the new rules and overrides apply from the next reading, and each
  /// patient's rule states carry over by rule name (an excursion in progress continues, an
  /// active alert stays active until its condition ends under the new limits). A rule that was
  /// active and is now disabled or gone ends with a `cleared` event appended to `out`.
  void reconfigure(detector_settings settings, std::vector<alert_event>& out);

  /// Rules in force for a patient (defaults with that patient's overrides applied).
  std::vector<threshold_rule> rules_for(std::string_view patient) const;
  /// Whether `patient` overrides any of this detector's rules (and so needs a rule set).
  bool has_own_rules(std::string_view patient) const;

  /// Number of patients with state.
  std::size_t patient_count() const noexcept { return patients_.size(); }

  /// Bytes of per-patient state (map nodes included, approximately).
  std::size_t state_bytes() const noexcept;

 private:
  struct rule_state {
    bool pending = false;  ///< beyond the limit, waiting for min_duration
    bool active = false;
    std::uint16_t readings = 0;  ///< readings of the current excursion
    std::uint32_t step_s = 0;    ///< seconds between the last two readings (the sensor's pace)
    timestamp since{};           ///< first reading of the current excursion
    timestamp last{};            ///< last reading seen by this rule
    float worst = 0.0F;          ///< most extreme value of the excursion
    float area = 0.0F;           ///< depth x duration of the excursion, unit-seconds
  };
  struct patient_state {
    std::uint32_t rule_set = 0;  ///< index into rule_sets_ (0: the defaults)
    std::vector<rule_state> states;
  };

  patient_state& state_for(const short_id& patient);

  detector_settings settings_;
  /// Rule sets in force: [0] the settings' rules; one more per patient with overrides, so
  /// patients without overrides share the defaults instead of each holding a copy.
  std::vector<std::vector<threshold_rule>> rule_sets_;
  std::unordered_map<short_id, patient_state> patients_;
};

}  // namespace vitals::core
