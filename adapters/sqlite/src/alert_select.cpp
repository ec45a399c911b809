#include "alert_select.hpp"

#include <cstdint>
#include <string>
#include <vector>

#include "connection.hpp"

namespace vitals::adapters::sqlite::detail {

namespace {

/// `holding` as join_holding() in alert_rows.cpp wrote it.
std::vector<std::string> split_holding(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    if (end > start) out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

// Rows were written by sqlite_store and are guarded by CHECK constraints; a value that does not
// parse anyway (a hand-edited database) falls back rather than failing the whole API request.
core::priority col_priority(sqlite3_stmt* s, int i) {
  return core::parse_priority(col_text(s, i)).value_or(core::priority::medium);
}

core::alert_state col_state(sqlite3_stmt* s, int i) {
  return core::parse_alert_state(col_text(s, i)).value_or(core::alert_state::resolved);
}

}  // namespace

const char* const alert_select =
    "SELECT a.id, p.key, d.key, a.rule, a.grp, a.current_rule, a.holding, a.kind, a.source, "
    "a.priority, a.peak_priority, a.state, a.condition_present, a.inhibited, a.flaps, "
    "a.condition_start, a.raised_at, a.cleared_at, a.created, a.updated, a.cleared_wall, "
    "a.acknowledged_at, a.acknowledged_by, a.resolved_at, a.resolved_by, a.value, a.threshold, "
    "a.peak_value, a.last_value, a.message, a.route, a.step, a.next_step_at, a.next_repeat_at, "
    "a.deferred_until FROM alerts a JOIN patients p ON p.id = a.patient_id "
    "LEFT JOIN devices d ON d.id = a.device_id ";

const char* const event_select =
    "SELECT e.id, e.alert_id, e.action, e.at, e.data_time, e.actor, e.reason, e.priority, "
    "e.state, e.value FROM alert_events e ";

const char* const snooze_select =
    "SELECT p.key, z.grp, z.until, z.up_to, z.\"by\", z.reason, z.created FROM snoozes z "
    "JOIN patients p ON p.id = z.patient_id ";

core::alert_record read_alert(sqlite3_stmt* s) {
  core::alert_record a;
  a.id = static_cast<std::uint64_t>(sqlite3_column_int64(s, 0));
  a.patient = core::short_id::truncate(col_text(s, 1));
  a.device = core::short_id::truncate(col_text(s, 2));
  a.rule = col_text(s, 3);
  a.group = col_text(s, 4);
  a.current_rule = col_text(s, 5);
  a.holding = split_holding(col_text(s, 6));
  a.kind = static_cast<core::vital_kind>(sqlite3_column_int(s, 7));
  a.source = parse_source(col_text(s, 8)).value_or(core::alert_source::physiological);
  a.level = col_priority(s, 9);
  a.peak_level = col_priority(s, 10);
  a.state = col_state(s, 11);
  a.condition_present = sqlite3_column_int(s, 12) != 0;
  a.inhibited = sqlite3_column_int(s, 13) != 0;
  a.flaps = static_cast<std::uint32_t>(sqlite3_column_int64(s, 14));
  a.condition_start = col_ms(s, 15);
  a.raised_at = col_ms(s, 16);
  a.cleared_at = col_opt_ms(s, 17);
  a.created = col_ms(s, 18);
  a.updated = col_ms(s, 19);
  a.cleared_wall = col_opt_ms(s, 20);
  a.acknowledged_at = col_opt_ms(s, 21);
  a.acknowledged_by = col_text(s, 22);
  a.resolved_at = col_opt_ms(s, 23);
  a.resolved_by = col_text(s, 24);
  a.value = sqlite3_column_double(s, 25);
  a.threshold = sqlite3_column_double(s, 26);
  a.peak_value = sqlite3_column_double(s, 27);
  a.last_value = sqlite3_column_double(s, 28);
  a.message = col_text(s, 29);
  a.route = col_text(s, 30);
  a.step = sqlite3_column_int(s, 31);
  a.next_step_at = col_opt_ms(s, 32);
  a.next_repeat_at = col_opt_ms(s, 33);
  a.deferred_until = col_opt_ms(s, 34);
  return a;
}

core::lifecycle_event read_event(sqlite3_stmt* s) {
  core::lifecycle_event e;
  e.id = static_cast<std::uint64_t>(sqlite3_column_int64(s, 0));
  e.alert_id = static_cast<std::uint64_t>(sqlite3_column_int64(s, 1));
  e.action = core::parse_alert_action(col_text(s, 2)).value_or(core::alert_action::raised);
  e.at = col_ms(s, 3);
  e.data_time = col_opt_ms(s, 4);
  e.actor = col_text(s, 5);
  e.reason = col_text(s, 6);
  e.level = col_priority(s, 7);
  e.state = col_state(s, 8);
  e.value = sqlite3_column_double(s, 9);
  return e;
}

core::snooze read_snooze(sqlite3_stmt* s) {
  core::snooze z;
  z.patient = core::short_id::truncate(col_text(s, 0));
  z.group = col_text(s, 1);
  z.until = col_ms(s, 2);
  z.up_to = col_priority(s, 3);
  z.by = col_text(s, 4);
  z.reason = col_text(s, 5);
  z.created = col_ms(s, 6);
  return z;
}

std::optional<core::alert_source> parse_source(std::string_view t) noexcept {
  if (t == "physiological") return core::alert_source::physiological;
  if (t == "technical") return core::alert_source::technical;
  return std::nullopt;
}

}  // namespace vitals::adapters::sqlite::detail
