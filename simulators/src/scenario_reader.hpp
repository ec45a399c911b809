#pragma once
// Internal to vitals::simulators: reading a TOML scenario file. The reader collects every
// problem with file:line:col; the functions read the events, rates and profile of a [[patient]]
// or [[cohort]] table (scenario_reader.cpp). scenario_file.cpp puts a scenario together from
// them. toml++ is included by these two files only.

#include <chrono>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <toml++/toml.h>

#include <vitals/simulators/scenario.hpp>

#include "scenario_detail.hpp"

namespace vitals::simulators::detail {

/// The expected values of `output`, for messages.
inline constexpr const char* output_formats_expected =
    "expected \"compact\", \"omh\", \"ble-generic\" or \"ble-cassia\"";

/// Where toml++ says something is, as entries keep it.
inline source_pos pos_of(const toml::source_region& where) {
  return {where.begin.line, where.begin.column};
}

/// Reads values out of the TOML tree and collects every problem, each with file:line:col.
class reader {
 public:
  /// `origin` names the file in messages.
  explicit reader(std::string origin) : origin_(std::move(origin)) {}

  /// The problems found so far.
  const std::vector<std::string>& errors() const noexcept { return errors_; }

  /// Records a problem with `key` at `where`: "origin:line:col: key 'key': what".
  void error(const source_pos& where, const std::string& key, const std::string& what);

  /// The same at a place toml++ gives.
  void error(const toml::source_region& where, const std::string& key, const std::string& what) {
    error(pos_of(where), key, what);
  }

  /// A problem for every key of `t` not in `known` (named `prefix` + key).
  void check_keys(const toml::table& t, const std::string& prefix,
                  std::initializer_list<std::string_view> known);

  /// The string at `key`; nullopt when absent or not a string (a problem then).
  std::optional<std::string> string_at(const toml::table& t, std::string_view key,
                                       const std::string& path);

  /// The finite number at `key`; nullopt when absent or not one (a problem then).
  std::optional<double> number_at(const toml::table& t, std::string_view key,
                                  const std::string& path);

  /// A duration: a string like "90s", "2h30m", "1d" or a number of seconds; `allow_zero` for
  /// offsets (at = "0s").
  std::optional<std::chrono::milliseconds> duration_at(const toml::table& t, std::string_view key,
                                                       const std::string& path, bool allow_zero,
                                                       bool allow_negative = false);

 private:
  std::vector<std::string> errors_;
  std::string origin_;
};

/// `profile` and `output` of a [[patient]] or [[cohort]] table.
struct profile_choice {
  profile_kind profile = profile_kind::healthy;
  output_format output = output_format::compact;
};

/// Reads `profile` and `output` of a [[patient]] or [[cohort]] table.
profile_choice read_choice(reader& r, const toml::table& t, const std::string& path,
                           output_format default_output);

/// The `events` array of a table, as entries (placed later, on each patient).
std::vector<entry> read_entries(reader& r, const toml::table& t, const std::string& path,
                                patient_spec& probe);

/// The `rates` table of a table: kind = events per patient-day.
std::vector<std::pair<kind_ref, double>> read_rates(reader& r, const toml::table& t,
                                                    const std::string& path);

/// Places `entries` on `p`; a problem (at the entry, or at `where`) for each that does not fit.
void add_all(reader& r, patient_spec& p, const std::vector<entry>& entries,
             const toml::source_region& where, const std::string& path);

}  // namespace vitals::simulators::detail
