#pragma once
/// The alert lifecycle's rows (schema v3): alerts, their audit trail, snoozes and the outbox.
/// The writer writes them, the store's start-up and alert_reader read them back.

#include <sqlite3.h>

#include <vitals/core/alert_model.hpp>
#include <vitals/core/alert_store.hpp>
#include <vitals/core/stats.hpp>

#include "connection.hpp"
#include "ids.hpp"
#include "work_item.hpp"

namespace vitals::adapters::sqlite::detail {

/// Writes the alert manager's changes and the outbox updates inside the writer's transaction.
/// Writer thread only.
class alert_rows {
 public:
  /// Prepares the statements on `db`; all three must outlive this.
  alert_rows(sqlite3* db, id_cache& ids, core::stats& st);

  /// Writes one apply()'s changes: alerts leaving the open states, the other alerts, events,
  /// snoozes, then the outbox rows that refer to them. A row the database refuses is skipped,
  /// counted and logged; other failures throw sqlite_error.
  void write(const core::alert_changes& c);

  /// Applies one mark_delivered() / mark_failed(). Throws sqlite_error.
  void write(const outbox_update& u);

 private:
  void write_alert(const core::alert_record& a);
  bool write_row(sqlite3_stmt* q, const char* what);

  sqlite3* db_;
  id_cache& ids_;
  core::stats& st_;
  stmt_ptr upsert_alert_, insert_event_, insert_outbox_, upsert_snooze_, delete_snooze_,
      outbox_delivered_, outbox_failed_;
};

/// What the alert manager and the dispatcher need after a restart: open alerts, running
/// snoozes, the largest ids and the pending outbox rows. Throws sqlite_error.
core::alert_snapshot load_alert_state(sqlite3* db);

}  // namespace vitals::adapters::sqlite::detail
