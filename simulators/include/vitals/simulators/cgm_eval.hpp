#pragma once
/// vitals-eval --episodes: hypoglycaemia alerting scored on recorded CGM traces against an
/// episodes file (the format of shared/data/cgm-d1namo/hypo_episodes.csv), with the rules of
/// shared/data/README.md ("How glucose alerting is scored"), side by side with baseline detectors
/// replayed causally over the same traces. The definitions are in simulators/README.md
/// ("vitals-eval on recorded CGM traces").
///
/// Part of vitals_simulators (it reads traces and local times with the replay's reader).

#include <chrono>
#include <cstddef>
#include <istream>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <vitals/core/sample.hpp>
#include <vitals/simulators/eval.hpp>
#include <vitals/simulators/replay.hpp>

namespace vitals::simulators {

/// Consensus level of a hypoglycaemia episode: level 1 < 70 mg/dL (includes the episodes that
/// also go below 54), level 2 < 54 mg/dL.
enum class hypo_level { level1, level2 };

/// One line of an episodes file.
struct hypo_episode {
  std::string file;                       ///< the `file` column, "001.csv"
  std::string patient;                    ///< the patient that file maps to
  hypo_level level = hypo_level::level1;  ///< from the `level` column (L1_lt70, L2_lt54)
  double threshold = 0.0;                 ///< mg/dL (`threshold_mg_dl`, else 70 / 54)
  core::timestamp start{};                ///< first reading below the threshold (UTC)
  core::timestamp end{};                  ///< last reading below it (UTC)
  std::size_t line = 0;                   ///< 1-based line in the file

  /// Field-wise equality.
  friend bool operator==(const hypo_episode&, const hypo_episode&) = default;
};

/// Which patient a file ("001.csv", or a path to it: only the name counts) stands for: an
/// explicit entry of `by_file` if there is one, else `prefix` + the name without its extension.
struct patient_mapping {
  std::string prefix;                          ///< "d": 001.csv -> d001
  std::map<std::string, std::string> by_file;  ///< "001.csv" -> "d001", wins over the prefix

  /// The patient id of `file`.
  std::string patient_of(std::string_view file) const;
};

/// Parses "FILE=ID" (`--patient-map`); nullopt when either side is empty or ID is not a valid
/// patient id (see valid_replay_id).
std::optional<std::pair<std::string, std::string>> parse_patient_map_entry(std::string_view text);

/// Reads an episodes file: a header line naming the columns (`file`, `level`, `start` and `end`
/// are required, `threshold_mg_dl` optional, others ignored), then one episode per line; blank
/// lines and lines starting with '#' are skipped. Times are read like a trace's (zone-less local
/// time with `utc_offset`, RFC 3339 or epoch ms). Throws eval_input_error "NAME:LINE: column
/// 'x': ..." on the first bad line (wrong number of fields, unreadable time or threshold, an end
/// before the start, an unknown level).
std::vector<hypo_episode> read_episodes(std::istream& in, const std::string& name,
                                        std::chrono::minutes utc_offset,
                                        const patient_mapping& mapping);

/// read_episodes() on a file; std::runtime_error when it cannot be opened.
std::vector<hypo_episode> read_episodes_file(const std::string& path,
                                             std::chrono::minutes utc_offset,
                                             const patient_mapping& mapping);

/// A recorded glucose trace and the patient it belongs to.
struct patient_trace {
  std::string patient;  ///< patient id (patient_mapping::patient_of the trace's file name)
  trace data;           ///< the readings, in time order, at least one
};

/// The episodes and traces scored together.
struct cgm_dataset {
  std::string name;                    ///< the episodes file, for messages
  std::chrono::minutes utc_offset{0};  ///< of the episodes' and traces' local times (display)
  std::vector<hypo_episode> episodes;  ///< scored: those of a patient with a trace, inside it
  std::vector<patient_trace> traces;   ///< one per patient
  std::size_t without_trace = 0;       ///< episodes of files with no trace (not scored)
  std::size_t outside_trace = 0;       ///< episodes not inside their trace's time span (ditto)
};

/// Puts episodes and traces together: keeps the episodes of a patient that has a trace and that
/// lie within its first and last reading, and counts the others. Throws eval_input_error when
/// two traces map to the same patient or no trace is given.
/// Readings less than half of `interval` after the previous kept reading are skipped (as the
/// data README replays traces with on-demand scans or duplicated rows between the regular ones).
void thin_trace(trace& t, std::chrono::milliseconds interval);

/// Also thins every trace (thin_trace) at its nominal `interval`, by default the median spacing
/// of its readings (reading_interval()).
cgm_dataset make_cgm_dataset(std::string name, std::vector<hypo_episode> episodes,
                             std::vector<patient_trace> traces, std::chrono::minutes utc_offset,
                             std::optional<std::chrono::milliseconds> interval = std::nullopt);

/// Sum over the traces of (last - first reading), in days.
double patient_days(const cgm_dataset& data);

/// The median spacing of a trace's readings (5 min for fewer than two distinct times).
std::chrono::milliseconds reading_interval(const trace& t);

/// How alerts are turned into hypo alerts and scored (shared/data/README.md's values).
struct cgm_eval_options {
  /// An alert starting this long before a level-2 episode's start still catches it (`--lead`).
  std::chrono::milliseconds lead{std::chrono::minutes(30)};
  /// Level-1 episode windows are widened by this on both sides; an alert starting outside every
  /// widened window is false (`--margin`).
  std::chrono::milliseconds margin{std::chrono::minutes(30)};
  /// A detector re-arms (its next alert is a new one) after this long clear (`--rearm`).
  std::chrono::milliseconds rearm{std::chrono::minutes(15)};
  /// ... or after a data gap longer than this many reading intervals.
  double gap_intervals = 2.5;
  /// The rules of the scored alerts (--db / --alerts) that make up the hypo alert stream.
  std::set<std::string> rules{"glucose_urgent_low", "glucose_urgent_low_soon"};
};

/// One hypo alert of one patient: raised, and cleared (nullopt: still active at the end).
struct hypo_alert {
  core::timestamp raised{};                ///< alert start
  std::optional<core::timestamp> cleared;  ///< end; nullopt: still active

  /// Field-wise equality.
  friend bool operator==(const hypo_alert&, const hypo_alert&) = default;
};

/// Hypo alerts per patient id.
using hypo_alerts = std::map<std::string, std::vector<hypo_alert>>;

/// One patient's alerts (any order) merged into one stream of hypo alerts on its trace: an alert
/// active across a data gap longer than options.gap_intervals intervals ends at the gap (last
/// reading + the gap limit); an alert raised while the current hypo alert is active, or less
/// than options.rearm after it cleared with no such gap in between, continues it (the hypo
/// alert then clears with the later of the two). Sorted by start.
std::vector<hypo_alert> merge_hypo_alerts(std::vector<hypo_alert> alerts, const trace& t,
                                          const cgm_eval_options& options);

/// What a condition knows of the trace besides its readings.
struct condition_context {
  std::chrono::milliseconds interval{std::chrono::minutes(5)};     ///< the reading interval
  std::chrono::milliseconds gap_limit{std::chrono::seconds(750)};  ///< longer silences are gaps
};

/// A detector's condition at the newest of `seen` (the trace up to and including the current
/// reading: causal by construction): true = alerting, false = clear, nullopt = cannot tell (not
/// enough recent readings).
using hypo_condition = std::optional<bool> (*)(std::span<const trace_row> seen,
                                               const condition_context& context);

/// Replays `condition` over `t`, one reading at a time: an alert starts at a reading where it is
/// true and none is active; it ends (cleared = the first clear reading of the run) at a reading
/// at least options.rearm after that first clear reading, or at a data gap longer than the gap
/// limit (cleared = the first clear reading, else the last reading + the gap limit). A true
/// reading in between continues the alert. A nullopt reading neither starts, continues nor
/// clears. An alert still active at the end stays open (cleared nullopt; the first clear
/// reading if the run had begun).
std::vector<hypo_alert> replay_condition(const trace& t, hypo_condition condition,
                                         const cgm_eval_options& options);

/// The baselines vitals-eval computes itself (shared/data/README.md's table).
enum class baseline {
  threshold_55,  ///< reading <= 55 mg/dL
  threshold_70,  ///< reading < 70 mg/dL
  ar2,           ///< Nightscout AR2 predictive low (core::ar2_predictive_low)
  linear,        ///< the last 3 readings' slope, +20 min <= 55 mg/dL (or reading <= 55)
};

/// Every baseline, in table order.
inline constexpr baseline all_baselines[] = {baseline::threshold_55, baseline::threshold_70,
                                             baseline::ar2, baseline::linear};

/// Stable id: "threshold_55", "threshold_70", "ar2", "linear".
std::string_view baseline_id(baseline b) noexcept;

/// Table name: "reading <= 55", "reading < 70", "AR2 predictive low", "linear 20 min to 55".
std::string_view baseline_name(baseline b) noexcept;

/// The baseline's condition (shared/data/README.md). AR2 steps by one reading interval: it uses
/// the previous reading when it is at least half an interval and less than two intervals before
/// the current one, else nullopt. Linear is true at a reading <= 55; otherwise it extrapolates
/// the slope of the last 3 readings ((last - first) / their time apart) 20 min past the last and
/// needs 3 readings with no gap longer than the gap limit between them, else nullopt.
hypo_condition baseline_condition(baseline b) noexcept;

/// replay_condition() of a baseline over every trace.
hypo_alerts run_baseline(baseline b, const cgm_dataset& data, const cgm_eval_options& options);

/// What became of the scored alerts (--db / --alerts).
struct alert_selection {
  hypo_alerts alerts;           ///< physiological glucose alerts of the rules, per patient
  std::size_t read = 0;         ///< alerts read
  std::size_t selected = 0;     ///< of the rules, of a traced patient, raised within its trace
  std::size_t other_rules = 0;  ///< other rules, other vitals or technical: not scored
  std::size_t ignored = 0;      ///< of the rules, but another patient or outside the trace
};

/// Picks the alerts to score: physiological, vital glucose, rule in options.rules, patient with
/// a trace, raised within [first, last reading] of it.
alert_selection select_alerts(std::span<const eval_alert> alerts, const cgm_dataset& data,
                              const cgm_eval_options& options);

/// One level-2 episode as a detector did on it.
struct episode_outcome {
  std::string patient;             ///< patient id
  core::timestamp start{};         ///< episode start
  core::timestamp end{};           ///< episode end
  std::optional<double> lead_min;  ///< start - alert start, minutes (+ = early); nullopt: missed
  /// The same counting only alerts that start in [start - lead, end] (none active before).
  std::optional<double> lead_in_window_min;

  /// Field-wise equality.
  friend bool operator==(const episode_outcome&, const episode_outcome&) = default;
};

/// A detector's figures.
struct detector_score {
  std::string id;                         ///< "vitalsd", "threshold_55", ...
  std::string name;                       ///< as in the table
  std::size_t level2 = 0;                 ///< level-2 episodes scored
  std::size_t caught = 0;                 ///< of them caught (in window or active at start)
  std::optional<double> median_lead_min;  ///< over the caught; nullopt when none
  std::optional<double> p10_lead_min;     ///< 10th percentile (linear interpolation)
  std::optional<double> min_lead_min;     ///< the least lead (worst case); nullopt when none
  std::size_t caught_in_window = 0;       ///< caught by an alert starting in the window only
  std::optional<double> median_lead_in_window_min;  ///< over those
  std::optional<double> p10_lead_in_window_min;     ///< over those
  std::vector<double> leads;                        ///< of the caught, for pooling
  std::vector<double> leads_in_window;              ///< of the caught in window
  double patient_days = 0.0;                        ///< of the traces scored
  std::size_t alerts = 0;                           ///< hypo alerts (after merging)
  double alerts_per_patient_day = 0.0;              ///< alerts / patient-days
  std::size_t false_alerts = 0;           ///< starting outside every widened level-1 window
  double false_per_patient_day = 0.0;     ///< false_alerts / patient-days
  std::vector<episode_outcome> episodes;  ///< level-2 episodes, by patient then start

  /// Field-wise equality.
  friend bool operator==(const detector_score&, const detector_score&) = default;
};

/// Scores one detector's alerts (per patient, any order; merged first with merge_hypo_alerts)
/// against the dataset's episodes. Alerts of patients without a trace are not looked at.
detector_score score_hypo_alerts(std::string id, std::string name, const hypo_alerts& alerts,
                                 const cgm_dataset& data, const cgm_eval_options& options);

/// Fills the medians, p10s, least lead and per-patient-day rates from the leads, counts and
/// patient_days (after pooling scores of several datasets).
void summarise_leads(detector_score& s);

/// Everything vitals-eval --episodes prints.
struct cgm_report {
  std::string episodes_name;                 ///< the episodes file
  std::size_t level1 = 0;                    ///< level-1 episodes scored
  std::size_t level2 = 0;                    ///< level-2 episodes scored
  std::size_t without_trace = 0;             ///< episodes not scored: no trace
  std::size_t outside_trace = 0;             ///< episodes not scored: outside their trace
  std::vector<std::string> patients;         ///< traced patients, sorted
  double patient_days = 0.0;                 ///< sum of the traces' spans
  std::chrono::minutes utc_offset{0};        ///< of the local times shown
  cgm_eval_options options;                  ///< as used
  std::string alerts_source;                 ///< the --db / --alerts file; empty: none
  std::optional<alert_selection> selection;  ///< counts (alerts moved into the vitalsd row)
  std::size_t merged_alerts = 0;             ///< hypo alerts the selected alerts made
  std::vector<detector_score> detectors;     ///< vitalsd first (if any), then the baselines
};

/// Scores `alerts` (when given: the "vitalsd" row) and, when `baselines`, every baseline.
cgm_report evaluate_cgm(const cgm_dataset& data, const std::vector<eval_alert>* alerts,
                        std::string alerts_source, bool baselines, const cgm_eval_options& options);

/// The report as a text table (ends with a newline).
std::string format_table(const cgm_report& r);

/// The report as pretty JSON with a stable key order (ends with a newline).
std::string to_json(const cgm_report& r);

}  // namespace vitals::simulators
