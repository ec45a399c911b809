#pragma once
/// Patient profiles: which physiology a simulated patient has and which devices they wear.

#include <optional>
#include <string_view>

namespace vitals::simulators {

/// The kinds of patient vitals-sim models.
enum class profile_kind {
  healthy,  ///< healthy adult: SpO2 95-99, resting HR 55-80, pulse oximeter only
  copd,     ///< COPD with a prescribed 88-92 % SpO2 target (NEWS2 SpO2 scale 2), oximeter only
  t1d,      ///< type 1 diabetic: healthy heart and lungs, pulse oximeter and CGM
  cardiac,  ///< heart-failure / arrhythmia patient: higher, more variable HR, oximeter only
};

/// "healthy", "copd", "t1d", "cardiac".
constexpr std::string_view to_string(profile_kind p) noexcept {
  switch (p) {
    case profile_kind::healthy:
      return "healthy";
    case profile_kind::copd:
      return "copd";
    case profile_kind::t1d:
      return "t1d";
    case profile_kind::cardiac:
      return "cardiac";
  }
  return "healthy";
}

/// Parses to_string(profile_kind); nullopt for anything else.
constexpr std::optional<profile_kind> parse_profile(std::string_view text) noexcept {
  for (const auto p :
       {profile_kind::healthy, profile_kind::copd, profile_kind::t1d, profile_kind::cardiac}) {
    if (to_string(p) == text) return p;
  }
  return std::nullopt;
}

/// Whether the profile wears a CGM.
constexpr bool has_cgm(profile_kind p) noexcept {
  return p == profile_kind::t1d;
}

}  // namespace vitals::simulators
