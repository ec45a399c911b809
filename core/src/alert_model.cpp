// Names of the alert model's enums, notification keys, and the built-in alert groups.
#include <vitals/core/alert_model.hpp>

#include <vitals/core/alert_manager.hpp>

#include <array>
#include <string>

namespace vitals::core {

namespace {

template <typename E, std::size_t N>
std::optional<E> parse_name(std::string_view text,
                            const std::array<std::string_view, N>& names) noexcept {
  for (std::size_t i = 0; i < N; ++i) {
    if (names[i] == text) return static_cast<E>(i);
  }
  return std::nullopt;
}

template <typename E, std::size_t N>
std::string_view name_of(E value, const std::array<std::string_view, N>& names) noexcept {
  const auto i = static_cast<std::size_t>(value);
  return i < N ? names[i] : std::string_view("unknown");
}

// In enum order.
constexpr std::array<std::string_view, 4> state_names{"active", "acknowledged", "latched",
                                                      "resolved"};
constexpr std::array<std::string_view, 13> action_names{
    "raised",    "retriggered",  "escalated", "deescalated", "condition_cleared",
    "latched",   "acknowledged", "resolved",  "snoozed",     "snooze_ended",
    "inhibited", "uninhibited",  "notified"};
constexpr std::array<std::string_view, 5> notify_names{"trigger", "escalate", "repeat",
                                                       "acknowledge", "resolve"};
constexpr std::array<std::string_view, 3> priority_names{"low", "medium", "high"};

}  // namespace

std::string_view to_string(alert_state s) noexcept {
  return name_of(s, state_names);
}

std::optional<alert_state> parse_alert_state(std::string_view text) noexcept {
  return parse_name<alert_state>(text, state_names);
}

std::optional<priority> parse_priority(std::string_view text) noexcept {
  return parse_name<priority>(text, priority_names);
}

std::string_view to_string(alert_action a) noexcept {
  return name_of(a, action_names);
}

std::optional<alert_action> parse_alert_action(std::string_view text) noexcept {
  return parse_name<alert_action>(text, action_names);
}

std::string_view to_string(notify_action a) noexcept {
  return name_of(a, notify_names);
}

std::optional<notify_action> parse_notify_action(std::string_view text) noexcept {
  return parse_name<notify_action>(text, notify_names);
}

std::vector<alert_group> default_alert_groups() {
  std::vector<alert_group> groups{
      {"glucose_low", {"glucose_low", "glucose_urgent_low"}},
      {"news2_urgent_review", {"news2_urgent_review", "news2_emergency"}},
  };
  for (const auto kind : {vital_kind::heart_rate, vital_kind::spo2, vital_kind::glucose}) {
    const std::string stale = std::string(to_string(kind)) + "_stale";
    groups.push_back({stale, {stale, stale + "_urgent"}});
  }
  return groups;
}

std::string notification::idempotency_key() const {
  return "vitalsd-" + std::to_string(alert.id) + "-" + std::to_string(event.id);
}

std::string notification::dedup_key() const {
  return "vitalsd-alert-" + std::to_string(alert.id);
}

void alert_changes::clear() {
  alerts.clear();
  events.clear();
  notifications.clear();
  snoozes.clear();
}

}  // namespace vitals::core
