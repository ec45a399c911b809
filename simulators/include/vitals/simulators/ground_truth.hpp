#pragma once
/// Ground truth: one label per injected or derived physiological event, per artifact or fault,
/// and per scripted cause, written as one JSON line each to the --labels file and read back by
/// vitals-eval. The format is documented in simulators/README.md ("Ground truth").

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <vitals/core/sample.hpp>

namespace vitals::simulators {

/// What a label describes.
enum class label_type {
  event,     ///< a physiological event in the true values (tachycardia, hypoglycaemia_level2, ...)
  artifact,  ///< a measurement artifact or delivery fault: must never become a physiological alert
  cause,     ///< a scripted intervention (insulin overdose, missed meal): informational, not scored
};

/// "event", "artifact", "cause".
constexpr std::string_view to_string(label_type t) noexcept {
  switch (t) {
    case label_type::event:
      return "event";
    case label_type::artifact:
      return "artifact";
    case label_type::cause:
      return "cause";
  }
  return "event";
}

/// Parses to_string(label_type); nullopt for anything else.
std::optional<label_type> parse_label_type(std::string_view text) noexcept;

/// One labelled interval. Times are absolute (simulated) epoch milliseconds.
struct label {
  label_type type = label_type::event;
  std::string patient;                     ///< "p001"
  std::string kind;                        ///< "desaturation", "motion", "insulin_overdose", ...
  std::optional<core::vital_kind> vital;   ///< the vital it concerns; nullopt: every vital
  std::string device;                      ///< the device concerned; empty: all of the patient's
  core::timestamp start{};                 ///< window start (event onset / artifact start)
  core::timestamp end{};                   ///< window end (back to normal / artifact over)
  std::string severity;                    ///< e.g. "level2", "moderate", "" when none
  bool actionable = false;                 ///< whether a clinician should be told
  std::optional<double> threshold;         ///< clinical limit `crossed` refers to (canonical unit)
  std::optional<core::timestamp> crossed;  ///< first time the TRUE value was beyond `threshold`
  std::optional<double> extreme;           ///< nadir or peak of the true value in the window
  std::string cause;                       ///< what led to it ("insulin_overdose"), may be empty
};

/// One compact JSON object (no newline). Keys: type, patient, kind, vital (or null), device (only
/// when set), start, end, severity, actionable, threshold, crossed, extreme (null when unset),
/// cause (only when set).
std::string to_json(const label& l);

/// Parses one line written by to_json(); throws std::invalid_argument naming the missing or bad
/// key.
label label_from_json(std::string_view line);

/// The run record that opens a labels file: {"type":"run","scenario","seed","patients","start",
/// "end"}; `end` is the planned end (null when the run is open-ended).
struct run_record {
  std::string scenario;
  std::uint64_t seed = 0;
  std::vector<std::string> patients;  ///< ids of every simulated patient
  core::timestamp start{};
  std::optional<core::timestamp> end;  ///< planned end; a later run_end line gives the actual one
};

/// {"type":"run",...} (no newline).
std::string to_json(const run_record& r);

/// {"type":"run_end","end":ms} (no newline): the simulated time the run actually reached.
std::string run_end_json(core::timestamp end);

}  // namespace vitals::simulators
