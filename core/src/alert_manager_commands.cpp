// The alert manager's operator commands: acknowledge, resolve, snooze (an alert, or a rule
// ahead of any alert) and unsnooze. Each checks what the manager alone knows (the alert is open,
// the condition no longer holds, the snooze bound) and names what it refused.
#include <cstdio>
#include <utility>

#include "alert_manager_state.hpp"

namespace vitals::core {

using detail::alert_key;

namespace {

std::string format_time(timestamp t) {
  const auto day = std::chrono::floor<std::chrono::days>(t);
  const std::chrono::year_month_day ymd{day};
  const std::chrono::hh_mm_ss hms{std::chrono::floor<std::chrono::seconds>(t - day)};
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()));
  return buf;
}

std::string format_length(std::chrono::seconds s) {
  if (s.count() % 60 == 0) return std::to_string(s.count() / 60) + " min";
  return std::to_string(s.count()) + " s";
}

command_result not_found(std::uint64_t id) {
  return {command_result::status::not_found,
          "alert " + std::to_string(id) + " does not exist or is resolved"};
}

command_result no_actor() {
  return {command_result::status::invalid, "who acts must be named (by)"};
}

}  // namespace

command_result alert_manager::impl_state::ops::place_snooze(const short_id& patient,
                                                            const std::string& group,
                                                            std::chrono::seconds length,
                                                            priority up_to, const actor_info& who,
                                                            timestamp now) {
  const auto bound = up_to == priority::high ? s_.max_snooze_high : s_.max_snooze;
  if (length < std::chrono::seconds(1) || length > bound) {
    return {command_result::status::invalid,
            "snooze length must be between 1 s and " + format_length(bound) +
                (up_to == priority::high ? " for high-priority alerts" : "")};
  }
  const alert_key key{patient.str(), group};
  snooze sn;
  sn.patient = patient;
  sn.group = group;
  sn.until = now + length;
  sn.up_to = up_to;
  sn.by = who.by;
  sn.reason = who.reason;
  sn.created = now;
  st_.snoozes[key] = sn;
  out_.snoozes.push_back(sn);
  for (auto& [id, a] : st_.by_id) {
    if (key_of(a) != key) continue;
    emit(a, alert_action::snoozed, now, who.by,
         "snoozed until " + format_time(sn.until) +
             (who.reason.empty() ? std::string() : ": " + who.reason),
         std::nullopt, a.last_value);
    touch(a);
  }
  return {};
}

command_result alert_manager::acknowledge(std::uint64_t alert_id, const actor_info& who,
                                          timestamp now, alert_changes& out) {
  const auto it = state_->by_id.find(alert_id);
  if (it == state_->by_id.end()) return not_found(alert_id);
  if (who.by.empty()) return no_actor();
  auto& a = it->second;
  if (a.state == alert_state::acknowledged) {
    return {command_result::status::conflict,
            "alert " + std::to_string(alert_id) + " is already acknowledged"};
  }
  impl_state::ops o(settings_, *state_, out);
  const std::string reason = who.reason.empty() ? std::string("acknowledged") : who.reason;
  a.acknowledged_at = now;
  a.acknowledged_by = who.by;
  a.next_step_at.reset();
  a.next_repeat_at.reset();
  a.deferred_until.reset();
  if (a.state == alert_state::latched) {
    // The condition is gone already: acknowledging a latched alert ends it.
    o.emit(a, alert_action::acknowledged, now, who.by, reason, std::nullopt, a.last_value);
    o.resolve(a, now, who.by, "acknowledged while latched");
    return {};
  }
  a.state = alert_state::acknowledged;
  const auto ev =
      o.emit(a, alert_action::acknowledged, now, who.by, reason, std::nullopt, a.last_value);
  o.notify_paged(a, notify_action::acknowledge, ev, now);
  o.touch(a);
  return {};
}

command_result alert_manager::resolve(std::uint64_t alert_id, const actor_info& who, timestamp now,
                                      alert_changes& out) {
  const auto it = state_->by_id.find(alert_id);
  if (it == state_->by_id.end()) return not_found(alert_id);
  if (who.by.empty()) return no_actor();
  auto& a = it->second;
  if (a.condition_present) {
    return {command_result::status::conflict, "alert " + std::to_string(alert_id) +
                                                  ": the condition still holds (" + a.current_rule +
                                                  "); acknowledge or snooze it instead"};
  }
  impl_state::ops(settings_, *state_, out)
      .resolve(a, now, who.by, who.reason.empty() ? std::string("resolved by hand") : who.reason);
  return {};
}

command_result alert_manager::snooze_alert(std::uint64_t alert_id, std::chrono::seconds length,
                                           const actor_info& who, timestamp now,
                                           alert_changes& out) {
  const auto it = state_->by_id.find(alert_id);
  if (it == state_->by_id.end()) return not_found(alert_id);
  if (who.by.empty()) return no_actor();
  const auto& a = it->second;
  return impl_state::ops(settings_, *state_, out)
      .place_snooze(a.patient, a.group, length, a.level, who, now);
}

command_result alert_manager::snooze_rule(const short_id& patient, std::string_view rule,
                                          std::chrono::seconds length, priority up_to,
                                          const actor_info& who, timestamp now,
                                          alert_changes& out) {
  if (who.by.empty()) return no_actor();
  if (patient.empty() || rule.empty()) {
    return {command_result::status::invalid, "a snooze needs a patient and a rule"};
  }
  impl_state::ops o(settings_, *state_, out);
  return o.place_snooze(patient, o.group_of(rule), length, up_to, who, now);
}

command_result alert_manager::unsnooze(const short_id& patient, std::string_view rule,
                                       const actor_info& who, timestamp now, alert_changes& out) {
  if (who.by.empty()) return no_actor();
  impl_state::ops o(settings_, *state_, out);
  const alert_key key{patient.str(), o.group_of(rule)};
  if (!state_->snoozes.contains(key)) {
    return {command_result::status::not_found,
            "no snooze for patient " + patient.str() + " and rule " + std::string(rule)};
  }
  o.end_snooze(key, now, who.by,
               who.reason.empty() ? std::string("snooze lifted") : "snooze lifted: " + who.reason);
  return {};
}

}  // namespace vitals::core
