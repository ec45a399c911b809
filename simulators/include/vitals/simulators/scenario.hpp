#pragma once
/// The event schedule: scripted physiological events (desaturation, hypoglycaemia), the named
/// scenarios that place them on patients, and the ground-truth labels written for each.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <vitals/core/sample.hpp>

namespace vitals::simulators {

/// What kind of event is injected.
enum class event_kind { desaturation, hypoglycaemia };

/// Name used in labels and logs ("desaturation", "hypoglycaemia").
constexpr std::string_view to_string(event_kind k) noexcept {
  return k == event_kind::desaturation ? "desaturation" : "hypoglycaemia";
}

/// One injected event: a piecewise-linear excursion of one vital from the patient's baseline (as
/// it was at onset) down to `nadir`, held, then back. Times are simulated time since the start.
struct scripted_event {
  std::string patient;  ///< e.g. "p001"
  event_kind kind = event_kind::desaturation;
  std::chrono::seconds onset{0};     ///< when the fall starts
  std::chrono::seconds fall{0};      ///< baseline -> nadir, linear
  std::chrono::seconds hold{0};      ///< at the nadir
  std::chrono::seconds recovery{0};  ///< nadir -> baseline, linear
  double nadir = 0.0;                ///< value at full depth, canonical unit of vital()
  double hr_rise = 0.0;              ///< bpm added to heart rate at full depth
  double threshold = 0.0;            ///< clinical limit whose crossing the label reports
  std::string severity;              ///< label severity (see README: "moderate", "level2")
  bool actionable = true;            ///< whether a clinician should be told

  /// When the excursion is over and the vital is back at its baseline.
  std::chrono::seconds end() const noexcept { return onset + fall + hold + recovery; }

  /// The vital the event moves (SpO2 or glucose).
  core::vital_kind vital() const noexcept {
    return kind == event_kind::desaturation ? core::vital_kind::spo2 : core::vital_kind::glucose;
  }
};

/// How far the event has gone at `elapsed`: 0 = at baseline (before or after), 1 = at the nadir.
double event_depth(const scripted_event& e, std::chrono::milliseconds elapsed) noexcept;

/// The value of the event's vital at `elapsed` without noise, given the baseline at onset.
double event_value(const scripted_event& e, double baseline,
                   std::chrono::milliseconds elapsed) noexcept;

/// A named list of events.
struct scenario {
  std::string name;                    ///< "demo" or "none"
  std::vector<scripted_event> events;  ///< any order; each names its patient
};

/// Where the demo scenario places its events; nullopt leaves an event out.
struct demo_timing {
  std::optional<std::chrono::seconds> desat_at = std::chrono::minutes(2);  ///< p001 onset
  std::optional<std::chrono::seconds> hypo_at = std::chrono::minutes(10);  ///< p002 onset
};

/// The demo: p001 desaturates (SpO2 to ~84.5 over 20 s, held 90 s, back over 30 s, HR +10),
/// p002 turns hypoglycaemic (glucose to ~48 over 12 min, held 28 min, back over 20 min).
/// Events of patients beyond `patients` are left out.
scenario demo_scenario(int patients, const demo_timing& timing = {});

/// The scenario named `name` ("demo", "none"); throws std::invalid_argument naming it otherwise.
scenario make_scenario(std::string_view name, int patients, const demo_timing& timing = {});

/// The names make_scenario() knows.
std::vector<std::string> scenario_names();

/// Ground truth of one injected event, one JSON line in the --labels file.
struct label {
  std::string patient;
  event_kind kind = event_kind::desaturation;
  core::timestamp start{};  ///< onset of the excursion
  core::timestamp end{};    ///< back at baseline
  std::string severity;
  bool actionable = true;
  double baseline = 0.0;   ///< value of the vital at onset, canonical unit
  double nadir = 0.0;      ///< deepest value, canonical unit
  double threshold = 0.0;  ///< the clinical limit below_from/below_until refer to
  std::optional<core::timestamp> below_from;   ///< first time the rounded value is < threshold
  std::optional<core::timestamp> below_until;  ///< last time it is (noise-free trajectory)
};

/// The label of `e` for a run that started at `run_start`, the vital being `baseline` at onset.
label make_label(const scripted_event& e, core::timestamp run_start, double baseline);

/// One compact JSON object (no newline): {"patient","kind","start","end","severity",
/// "actionable","vital","unit","baseline","nadir","threshold","below_from","below_until"}.
std::string to_json(const label& l);

/// Patient id of the 1-based `index`: 1 -> "p001", 1234 -> "p1234".
std::string patient_id(int index);

}  // namespace vitals::simulators
