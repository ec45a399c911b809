#pragma once
/// Alert events produced by detectors and consumed by the store (and, later, the alert manager).

#include <cstdint>
#include <string>
#include <string_view>

#include <vitals/core/sample.hpp>

namespace vitals::core {

/// Alarm priority, as in IEC 60601-1-8.
enum class priority : std::uint8_t { low = 0, medium = 1, high = 2 };

constexpr std::string_view to_string(priority p) noexcept {
  switch (p) {
    case priority::low:
      return "low";
    case priority::medium:
      return "medium";
    case priority::high:
      return "high";
  }
  return "unknown";
}

/// Physiological (about the patient) or technical (about the equipment or data).
enum class alert_source : std::uint8_t { physiological = 0, technical = 1 };

constexpr std::string_view to_string(alert_source s) noexcept {
  return s == alert_source::physiological ? "physiological" : "technical";
}

/// What happened to an alert condition.
enum class alert_transition : std::uint8_t { raised = 0, cleared = 1 };

constexpr std::string_view to_string(alert_transition t) noexcept {
  return t == alert_transition::raised ? "raised" : "cleared";
}

/// A detector's statement that a condition started or ended for a patient.
struct alert_event {
  short_id patient;
  short_id device;   ///< the device whose sample triggered the transition
  std::string rule;  ///< rule name, e.g. "spo2_low"; with patient it is the dedup key
  vital_kind kind = vital_kind::heart_rate;
  priority level = priority::medium;
  alert_source source = alert_source::physiological;
  alert_transition transition = alert_transition::raised;
  double value = 0.0;           ///< the triggering (or clearing) value, canonical unit
  double threshold = 0.0;       ///< the limit that was crossed
  timestamp condition_start{};  ///< device time the condition first held
  timestamp time{};             ///< device time of the transition
  std::string message;          ///< human-readable explanation, without patient identifiers
};

}  // namespace vitals::core
