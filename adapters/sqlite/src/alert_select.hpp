#pragma once
/// Reading the alert lifecycle's rows back: the SELECTs and the row mapping shared by
/// alert_reader and sqlite_store::load_alert_state().

#include <sqlite3.h>

#include <optional>
#include <string_view>

#include <vitals/core/alert_model.hpp>

namespace vitals::adapters::sqlite::detail {

/// SELECT of every alert column in the order read_alert() expects; append WHERE/ORDER.
extern const char* const alert_select;
/// SELECT of every alert_events column in the order read_event() expects.
extern const char* const event_select;
/// SELECT of every snoozes column in the order read_snooze() expects.
extern const char* const snooze_select;

/// The current row of an alert_select statement.
core::alert_record read_alert(sqlite3_stmt* s);
/// The current row of an event_select statement.
core::lifecycle_event read_event(sqlite3_stmt* s);
/// The current row of a snooze_select statement.
core::snooze read_snooze(sqlite3_stmt* s);

/// core::alert_source from its to_string() name.
std::optional<core::alert_source> parse_source(std::string_view t) noexcept;

}  // namespace vitals::adapters::sqlite::detail
