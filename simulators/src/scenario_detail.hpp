#pragma once
// Internal to vitals::simulators: what the parts of the scenario code share. scenario.cpp names
// the kinds, places entries on patients and builds the plain and demo scenarios;
// scenario_schedule.cpp draws random schedules; scenario_file.cpp and scenario_reader.cpp read
// TOML scenario files (only they include toml++, so entries keep positions as source_pos).

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <vitals/simulators/scenario.hpp>

namespace vitals::simulators::detail {

/// Fills in the run's seed, start, duration, unit and output: the command line's values win over
/// the file's, and the start defaults from the wall clock and the speed.
void resolve_run(scenario& s, const run_overrides& run, std::optional<std::uint64_t> file_seed,
                 std::optional<std::chrono::milliseconds> file_duration,
                 std::optional<core::timestamp> file_start);

// ---- every kind a scenario can name ----

/// Which enum a kind belongs to.
enum class family { cardio, glucose, oximeter, cgm, fault };

/// A kind a scenario names: its family and its value there.
struct kind_ref {
  family fam;
  int value;  // the enum value within its family
};

/// The kind of that name; nullopt when no family has it.
std::optional<kind_ref> find_kind(std::string_view name);

/// The kind's name, as to_string() of its enum gives it.
std::string kind_name(const kind_ref& k);

// ---- one entry of a schedule, before it is placed on a patient ----

/// Where something was written in a scenario file (toml++'s position, without its header).
struct source_pos {
  std::uint32_t line = 0;
  std::uint32_t column = 0;
};

/// One scripted or drawn happening, before it is placed on a patient.
struct entry {
  kind_ref kind{};
  std::chrono::milliseconds at{};
  std::chrono::milliseconds duration{};
  double level = 0.0;
  device_slot device = device_slot::all;
  bool device_given = false;
  std::chrono::milliseconds offset{};
  bool backfill = true;
  std::string name;                 // the kind as written
  std::optional<source_pos> where;  // where it was written (not for drawn entries)
};

/// The device an entry concerns when the scenario does not say.
device_slot default_device(const entry& e);

/// Adds `e` to `p`; returns a problem when it does not fit the patient's profile.
std::optional<std::string> place(patient_spec& p, entry e);

/// Draws the entries of `rates` (events per patient-day) for one patient over the run.
std::vector<entry> draw_schedule(const std::vector<std::pair<kind_ref, double>>& rates,
                                 profile_kind profile, const scenario& s, const std::string& id);

}  // namespace vitals::simulators::detail
