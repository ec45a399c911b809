#pragma once
/// What a person's diabetes means for the glucose rules: a CGM worn by someone without diabetes
/// (wellness, screening) is not read like an insulin user's. Configured per patient
/// (`[[patients]] diabetes = "type1" | "type2" | "none"`); the default is type 1, the most
/// watchful.

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <vitals/core/detector.hpp>

namespace vitals::core {

/// A person's diabetes, as far as glucose alerting is concerned.
enum class diabetes_type {
  type1,  ///< insulin-treated: every glucose rule (the defaults)
  type2,  ///< may take insulin or sulfonylureas: treated like type 1
  none,   ///< no glucose-lowering medication: only sustained level-2 lows and highs
};

/// "type1", "type2", "none".
std::string_view to_string(diabetes_type d) noexcept;

/// Parses "type1", "type2" or "none"; nullopt otherwise.
std::optional<diabetes_type> parse_diabetes_type(std::string_view text) noexcept;

/// The rule overrides a diabetes type implies, by rule name (threshold and glucose rules share
/// the map). Empty for type 1 and type 2. For `none`: no `glucose_low` (< 70 is common and
/// harmless without insulin) and no `glucose_urgent_low_soon` (there is no insulin-driven fall
/// to forecast); `glucose_urgent_low` only once below 54 for 10 minutes (a consensus level-2
/// episode lasts 15), so that a one-reading sensor dip does not page anyone.
std::map<std::string, rule_override> diabetes_overrides(diabetes_type d);

/// Adds `diabetes_overrides(d)` to one patient's overrides; a rule the patient already
/// overrides keeps that override.
void apply_diabetes_type(std::map<std::string, rule_override>& patient_rules, diabetes_type d);

}  // namespace vitals::core
