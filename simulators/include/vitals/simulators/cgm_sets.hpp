#pragma once
/// vitals-eval-cgm: every recorded CGM set of shared/data at once (the cgm-d1namo layout), its
/// people pooled by group, vitalsd's detection replayed in-process through core::pipeline next
/// to the baselines of cgm_eval.hpp, and the leave-one-dataset-out choice of the glucose
/// detector's parameters. See simulators/README.md ("vitals-eval-cgm").

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <vitals/core/detector_set.hpp>
#include <vitals/core/diabetes_profile.hpp>
#include <vitals/simulators/cgm_eval.hpp>

namespace vitals::simulators {

/// The groups people are pooled in across sets.
enum class cgm_group {
  type1_5min,   ///< type 1 diabetes, a reading every 5 minutes
  type1_15min,  ///< type 1 diabetes, a reading every 15 minutes (intermittently scanned)
  no_diabetes,  ///< people without diabetes: every alert is a false alarm
  other,        ///< prediabetes and type 2 diabetes (few level-2 episodes)
};

/// Every group, in table order.
inline constexpr cgm_group all_groups[] = {cgm_group::type1_5min, cgm_group::type1_15min,
                                           cgm_group::no_diabetes, cgm_group::other};

/// "type 1, 5-min CGM", "type 1, 15-min CGM", "no diabetes", "prediabetes or type 2".
std::string_view group_name(cgm_group g) noexcept;

/// One data folder.
struct cgm_set {
  std::string key;                                              ///< folder name, "cgm-hupa-ucm"
  std::chrono::milliseconds interval{std::chrono::minutes(5)};  ///< nominal reading interval
  cgm_dataset data;                                             ///< traces (thinned) and episodes
  std::map<std::string, core::diabetes_type> diabetes;          ///< per patient, from metadata.csv
  std::map<std::string, cgm_group> group;                       ///< per patient
};

/// Reads a folder: its NNN.csv traces (patient = file stem), hypo_episodes.csv and metadata.csv
/// (`diabetes_type`: T1D -> type1, T2D -> type2, anything else (no diabetes, prediabetes) ->
/// none; absent -> type1; group "no diabetes" only for "No diabetes";
/// `sampling_interval_min`, absent -> 5). Throws eval_input_error or trace_error on bad input.
cgm_set load_cgm_set(const std::filesystem::path& dir);

/// The set restricted to the patients of one group; nullopt when it has none.
std::optional<cgm_dataset> group_subset(const cgm_set& set, cgm_group g);

/// What an in-process replay produced.
struct pipeline_replay {
  std::vector<eval_alert> alerts;  ///< every alert, raise and clear paired (device times)
  /// Per patient, the device times of the glucose readings the pipeline flagged as artifacts.
  std::map<std::string, std::vector<core::timestamp>> artifacts;
  std::size_t samples = 0;  ///< readings pushed
};

/// Replays every trace of `set` through core::pipeline (validation, duplicates, order, lateness,
/// the jump filter, every detector), each reading received at its device time, patient = the
/// trace's patient, device `<patient>-cgm`. With `use_diabetes`, each patient's diabetes type
/// (core::apply_diabetes_type) is added to `settings` as vitalsd's `[[patients]] diabetes` does.
pipeline_replay replay_through_pipeline(const cgm_set& set, core::detection_settings settings,
                                        bool use_diabetes);

/// Level-2 episodes every reading of which (within [start, end]) the replay flagged an artifact:
/// the safety property "no real low is hidden". Returns them (empty = holds).
std::vector<hypo_episode> hidden_level2(const cgm_dataset& data, const pipeline_replay& replay);

/// Adds `more` to `into` (counts, leads, patient-days) and re-summarises.
void pool_into(detector_score& into, const detector_score& more);

/// The glucose rules (every rule of vital glucose that vitalsd raises).
const std::set<std::string>& all_glucose_rules();

/// Sets one tunable parameter by name (`vitals-eval-cgm --param NAME=VALUE`); false for an unknown
/// name. The names are listed by tunable_parameters().
bool set_parameter(core::detection_settings& s, std::string_view name, double value);

/// The names set_parameter() knows, with their meaning.
std::vector<std::pair<std::string, std::string>> tunable_parameters();

}  // namespace vitals::simulators
