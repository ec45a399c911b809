#include <vitals/core/diabetes_profile.hpp>

#include <chrono>

namespace vitals::core {

std::string_view to_string(diabetes_type d) noexcept {
  switch (d) {
    case diabetes_type::type1:
      return "type1";
    case diabetes_type::type2:
      return "type2";
    case diabetes_type::none:
      return "none";
  }
  return "?";
}

std::optional<diabetes_type> parse_diabetes_type(std::string_view text) noexcept {
  for (const auto d : {diabetes_type::type1, diabetes_type::type2, diabetes_type::none}) {
    if (text == to_string(d)) return d;
  }
  return std::nullopt;
}

std::map<std::string, rule_override> diabetes_overrides(diabetes_type d) {
  std::map<std::string, rule_override> out;
  if (d != diabetes_type::none) return out;
  rule_override off;
  off.enabled = false;
  out["glucose_low"] = off;
  out["glucose_urgent_low_soon"] = off;
  rule_override sustained;
  sustained.min_duration = std::chrono::minutes(10);
  out["glucose_urgent_low"] = sustained;
  return out;
}

void apply_diabetes_type(std::map<std::string, rule_override>& patient_rules, diabetes_type d) {
  for (auto& [rule, o] : diabetes_overrides(d)) patient_rules.try_emplace(rule, o);
}

}  // namespace vitals::core
