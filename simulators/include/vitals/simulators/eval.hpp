#pragma once
/// vitals-eval: scores a detector's alerts (vitalsd's SQLite file, or an alerts JSONL file) against
/// the ground-truth labels written by vitals-sim --labels. The definitions are in
/// simulators/README.md ("vitals-eval: scoring alerts against the labels").

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <istream>
#include <map>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <vitals/core/alert.hpp>
#include <vitals/core/sample.hpp>
#include <vitals/simulators/ground_truth.hpp>

namespace vitals::simulators {

/// Bad input (labels, alerts, options): the message names the file, the line and the key.
class eval_input_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A labels file as read: its run record, its labels and the end the run reached.
struct label_set {
  std::string name;                        ///< file name, used in messages
  run_record run;                          ///< the first non-blank line
  std::optional<core::timestamp> run_end;  ///< `end` of the last run_end line, if any
  std::vector<label> labels;               ///< events, artifacts and causes, in file order
};

/// Reads labels JSONL (run line first, then labels and run_end lines; blank lines ignored);
/// throws eval_input_error "name:line: key 'x': ..." on the first bad line.
label_set read_labels(std::istream& in, const std::string& name);

/// read_labels() on a file; std::runtime_error when it cannot be opened.
label_set read_labels_file(const std::string& path);

/// One alert as scored: who, which rule and vital, physiological or technical, when.
struct eval_alert {
  std::string patient;                                            ///< patient key, "p001"
  std::string rule;                                               ///< rule name, "spo2_low"
  core::vital_kind vital = core::vital_kind::heart_rate;          ///< the vital it concerns
  core::alert_source source = core::alert_source::physiological;  ///< only physiological scored
  core::priority level = core::priority::medium;                  ///< informational
  core::timestamp raised{};                                       ///< when it was raised
  std::optional<core::timestamp> cleared;                         ///< nullopt: still active

  /// Field-wise equality.
  friend bool operator==(const eval_alert&, const eval_alert&) = default;
};

/// One compact alerts-JSONL object (no newline): patient, rule, vital, source, priority, raised,
/// cleared (null when active).
std::string to_json(const eval_alert& a);

/// Parses one alerts-JSONL line; source defaults to physiological, priority to medium, cleared
/// to null. Throws std::invalid_argument naming the missing or bad key.
eval_alert alert_from_json(std::string_view line);

/// Reads alerts JSONL (blank lines ignored); throws eval_input_error "name:line: key 'x': ...".
std::vector<eval_alert> read_alerts(std::istream& in, const std::string& name);

/// read_alerts() on a file; std::runtime_error when it cannot be opened.
std::vector<eval_alert> read_alerts_file(const std::string& path);

/// Every alert (physiological and technical) of a vitalsd SQLite file, opened read-only;
/// std::runtime_error when it cannot be read, eval_input_error for an unknown schema version.
std::vector<eval_alert> read_alerts_db(const std::string& path);

/// Scoring settings.
struct eval_options {
  std::chrono::milliseconds lead{std::chrono::minutes(30)};  ///< alerts this early still match
  std::chrono::milliseconds grace{0};                        ///< alerts this late still match
  std::optional<double> patient_days;                        ///< overrides the run's own figure
};

/// "30m", "90s", "1h", "1h30m", "2d" or plain (decimal) seconds "120"; nullopt when invalid.
std::optional<std::chrono::milliseconds> parse_eval_duration(std::string_view text);

/// Seconds as "-4m10s", "35s", "1h2m0s" (rounded to the second).
std::string format_delay(double seconds);

/// The figures of one event kind.
struct event_row {
  std::string kind;                      ///< label kind, "desaturation"
  std::string vital;                     ///< "hr"/"spo2"/"glucose", "any" (unset) or "mixed"
  std::string actionable;                ///< "yes", "no" or "mixed"
  std::size_t events = 0;                ///< labels of this kind
  std::size_t detected = 0;              ///< events with at least one matching alert
  std::size_t missed = 0;                ///< events - detected
  double sensitivity = 0.0;              ///< detected / events
  std::size_t alerts = 0;                ///< distinct alerts matching an event of this kind
  double alerts_per_event = 0.0;         ///< alerts / events
  std::optional<double> median_delay_s;  ///< over detected events; nullopt when none
  std::optional<double> p90_delay_s;     ///< nearest rank; nullopt when none

  /// Field-wise equality.
  friend bool operator==(const event_row&, const event_row&) = default;
};

/// How one rule did on the events of one kind: its first alert per event, against the same
/// reference as the event row (threshold crossing, or start).
struct rule_row {
  std::string kind;                      ///< event kind, "hypoglycaemia_level2"
  std::string rule;                      ///< "glucose_urgent_low_soon"
  std::size_t detected = 0;              ///< events with an alert of this rule
  std::optional<double> median_delay_s;  ///< over those events
  std::optional<double> p90_delay_s;     ///< nearest rank

  /// Field-wise equality.
  friend bool operator==(const rule_row&, const rule_row&) = default;
};

/// The figures of one artifact kind.
struct artifact_row {
  std::string kind;        ///< label kind, "motion"
  std::size_t count = 0;   ///< artifact labels of this kind
  std::size_t alerts = 0;  ///< distinct false alerts raised inside one of them

  /// Field-wise equality.
  friend bool operator==(const artifact_row&, const artifact_row&) = default;
};

/// Everything vitals-eval prints.
struct eval_report {
  std::string scenario;                  ///< from the run record
  std::uint64_t seed = 0;                ///< from the run record
  std::size_t patients = 0;              ///< patients in the run record
  core::timestamp start{};               ///< run start
  std::optional<core::timestamp> end;    ///< last run_end, else planned end
  double patient_days = 0.0;             ///< patients x (end - start), or the override
  std::chrono::milliseconds lead{};      ///< as used
  std::chrono::milliseconds grace{};     ///< as used
  std::size_t event_labels = 0;          ///< labels of type event
  std::size_t artifact_labels = 0;       ///< labels of type artifact
  std::size_t cause_labels = 0;          ///< labels of type cause (not scored)
  std::size_t alerts_physiological = 0;  ///< in scope
  std::size_t alerts_technical = 0;      ///< in scope
  std::size_t alerts_ignored = 0;        ///< other patients or outside the run
  double alerts_per_patient_day = 0.0;   ///< alerts_physiological / patient_days
  std::vector<event_row> events;         ///< actionable yes, mixed, no; then by kind
  std::vector<rule_row> rules;           ///< by event kind, then rule name
  std::vector<artifact_row> artifacts;   ///< by kind
  std::size_t alerts_on_artifacts = 0;   ///< distinct false alerts inside any artifact
  std::size_t false_alerts = 0;          ///< physiological alerts matching no actionable event
  double false_per_patient_day = 0.0;    ///< false_alerts / patient_days
  std::map<std::string, std::size_t> false_by_rule;      ///< false alerts per rule
  std::map<std::string, std::size_t> technical_by_rule;  ///< technical alerts per rule

  /// Field-wise equality.
  friend bool operator==(const eval_report&, const eval_report&) = default;
};

/// Scores `alerts` against `labels`; throws eval_input_error when the patient-days cannot be
/// determined (no end and no override) or are not positive.
eval_report evaluate(const label_set& labels, std::span<const eval_alert> alerts,
                     const eval_options& options = {});

/// The report as a human-readable text table (ends with a newline).
std::string format_table(const eval_report& r);

/// The report as pretty JSON with a stable key order (ends with a newline); delays in seconds.
std::string to_json(const eval_report& r);

}  // namespace vitals::simulators
