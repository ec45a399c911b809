#include "alert_rows.hpp"

#include <vitals/adapters/sqlite/alert_reader.hpp>

#include <chrono>
#include <cstdint>
#include <iterator>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>

#include "alert_select.hpp"

namespace vitals::adapters::sqlite::detail {

namespace {

/// Columns of `alerts` after id, in the order write_alert() binds them (?2 on).
constexpr const char* alert_columns[] = {"patient_id",
                                         "device_id",
                                         "rule",
                                         "grp",
                                         "current_rule",
                                         "holding",
                                         "kind",
                                         "source",
                                         "priority",
                                         "peak_priority",
                                         "state",
                                         "condition_present",
                                         "inhibited",
                                         "flaps",
                                         "condition_start",
                                         "raised_at",
                                         "cleared_at",
                                         "created",
                                         "updated",
                                         "cleared_wall",
                                         "acknowledged_at",
                                         "acknowledged_by",
                                         "resolved_at",
                                         "resolved_by",
                                         "value",
                                         "threshold",
                                         "peak_value",
                                         "last_value",
                                         "message",
                                         "route",
                                         "step",
                                         "next_step_at",
                                         "next_repeat_at",
                                         "deferred_until"};

/// Upsert by the manager's id: every call carries the alert's final state.
std::string upsert_alert_sql() {
  std::string sql = "INSERT INTO alerts(id";
  std::string values = "?1";
  std::string update;
  for (std::size_t i = 0; i < std::size(alert_columns); ++i) {
    sql += std::string(", ") + alert_columns[i];
    values += ", ?" + std::to_string(i + 2);
    if (i > 0) update += ", ";
    update += std::string(alert_columns[i]) + " = excluded." + alert_columns[i];
  }
  return sql + ") VALUES (" + values + ") ON CONFLICT(id) DO UPDATE SET " + update;
}

/// `holding` is stored comma-separated (rule names have no commas); split_holding() reads it.
std::string join_holding(const std::vector<std::string>& rules) {
  std::string out;
  for (const auto& r : rules) {
    if (!out.empty()) out += ',';
    out += r;
  }
  return out;
}

/// A text column as a C string; NULL reads as "".
const char* col_c_str(sqlite3_stmt* s, int i) {
  const auto* t = reinterpret_cast<const char*>(sqlite3_column_text(s, i));
  return t != nullptr ? t : "";
}

/// A pending outbox row: the columns are the truth for what may change after the insert; the
/// document for the snapshot the notification was made with. nullopt (logged) when the
/// document cannot be read.
std::optional<core::notification> read_pending(sqlite3_stmt* r) {
  core::notification n;
  try {
    n = from_document(col_c_str(r, 5));
  } catch (const std::runtime_error& e) {
    // One unreadable row must not keep the daemon from starting; it stays in the table.
    spdlog::error("sqlite store: outbox row {} skipped: {}", sqlite3_column_int64(r, 0), e.what());
    return std::nullopt;
  }
  n.id = static_cast<std::uint64_t>(sqlite3_column_int64(r, 0));
  n.receiver = col_c_str(r, 1);
  n.action = core::parse_notify_action(col_c_str(r, 2)).value_or(n.action);
  n.step = sqlite3_column_int(r, 3);
  n.created = col_ms(r, 4);
  return n;
}

}  // namespace

alert_rows::alert_rows(sqlite3* db, id_cache& ids, core::stats& st)
    : db_(db),
      ids_(ids),
      st_(st),
      upsert_alert_(prepare(db, upsert_alert_sql().c_str())),
      // Events and outbox rows never change once written; a repeated apply() (not expected) is
      // a no-op instead of a batch that fails forever.
      insert_event_(prepare(db,
                            "INSERT INTO alert_events(id, alert_id, action, at, data_time, actor, "
                            "reason, priority, state, value) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
                            "?8, ?9, ?10) ON CONFLICT(id) DO NOTHING")),
      insert_outbox_(prepare(db,
                             "INSERT INTO outbox(id, alert_id, event_id, receiver, action, step, "
                             "idempotency_key, document, created) VALUES (?1, ?2, ?3, ?4, ?5, "
                             "?6, ?7, ?8, ?9) ON CONFLICT(id) DO NOTHING")),
      upsert_snooze_(prepare(db,
                             "INSERT INTO snoozes(patient_id, grp, until, up_to, \"by\", reason, "
                             "created) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) "
                             "ON CONFLICT(patient_id, grp) DO UPDATE SET until = excluded.until, "
                             "up_to = excluded.up_to, \"by\" = excluded.\"by\", "
                             "reason = excluded.reason, created = excluded.created")),
      delete_snooze_(prepare(db, "DELETE FROM snoozes WHERE patient_id = ?1 AND grp = ?2")),
      outbox_delivered_(prepare(db,
                                "UPDATE outbox SET status = 'delivered', delivered_at = ?2, "
                                "attempts = attempts + 1, last_error = NULL WHERE id = ?1")),
      outbox_failed_(
          prepare(db,
                  "UPDATE outbox SET status = CASE WHEN ?4 THEN 'failed' ELSE status END, "
                  "attempts = ?2, last_error = ?3 WHERE id = ?1")) {}

bool alert_rows::write_row(sqlite3_stmt* q, const char* what) {
  const int rc = sqlite3_step(q);
  if (rc == SQLITE_DONE || rc == SQLITE_ROW) return true;
  if ((rc & 0xff) == SQLITE_CONSTRAINT) {
    // A row the database can never take (a manager bug, e.g. two open alerts for one key):
    // retrying would block every later commit, samples included. Skip it, loudly.
    st_.store_errors.fetch_add(1, std::memory_order_relaxed);
    spdlog::error("sqlite store: {} rejected by the database, NOT stored: {}", what,
                  sqlite3_errmsg(db_));
    return false;
  }
  throw sqlite_error(sqlite3_errmsg(db_), rc);
}

void alert_rows::write_alert(const core::alert_record& a) {
  const auto now = ms(a.updated);
  const auto pid = ids_.patient(a.patient, now);
  sqlite3_stmt* q = upsert_alert_.get();
  reset_guard g{q};
  sqlite3_bind_int64(q, 1, static_cast<std::int64_t>(a.id));
  sqlite3_bind_int64(q, 2, pid);
  if (!a.device.empty()) sqlite3_bind_int64(q, 3, ids_.device(a.device, pid, now));
  bind_text(q, 4, a.rule);
  bind_text(q, 5, a.group);
  bind_text(q, 6, a.current_rule);
  bind_text(q, 7, join_holding(a.holding));
  sqlite3_bind_int(q, 8, static_cast<int>(a.kind));
  bind_text(q, 9, core::to_string(a.source));
  bind_text(q, 10, core::to_string(a.level));
  bind_text(q, 11, core::to_string(a.peak_level));
  bind_text(q, 12, core::to_string(a.state));
  sqlite3_bind_int(q, 13, a.condition_present ? 1 : 0);
  sqlite3_bind_int(q, 14, a.inhibited ? 1 : 0);
  sqlite3_bind_int64(q, 15, a.flaps);
  sqlite3_bind_int64(q, 16, ms(a.condition_start));
  sqlite3_bind_int64(q, 17, ms(a.raised_at));
  bind_opt_ms(q, 18, a.cleared_at);
  sqlite3_bind_int64(q, 19, ms(a.created));
  sqlite3_bind_int64(q, 20, ms(a.updated));
  bind_opt_ms(q, 21, a.cleared_wall);
  bind_opt_ms(q, 22, a.acknowledged_at);
  bind_text(q, 23, a.acknowledged_by);
  bind_opt_ms(q, 24, a.resolved_at);
  bind_text(q, 25, a.resolved_by);
  sqlite3_bind_double(q, 26, a.value);
  sqlite3_bind_double(q, 27, a.threshold);
  sqlite3_bind_double(q, 28, a.peak_value);
  sqlite3_bind_double(q, 29, a.last_value);
  bind_text(q, 30, a.message);
  bind_text(q, 31, a.route);
  sqlite3_bind_int(q, 32, a.step);
  bind_opt_ms(q, 33, a.next_step_at);
  bind_opt_ms(q, 34, a.next_repeat_at);
  bind_opt_ms(q, 35, a.deferred_until);
  write_row(q, "an alert");
}

void alert_rows::write(const core::alert_changes& c) {
  // Alerts leaving the dedup key (latched, resolved) first: when one call resolves an alert and
  // raises the next one of the same (patient, group), the unique index must see the old one go.
  for (const auto& a : c.alerts) {
    if (a.state == core::alert_state::latched || a.state == core::alert_state::resolved) {
      write_alert(a);
    }
  }
  for (const auto& a : c.alerts) {
    if (a.state == core::alert_state::active || a.state == core::alert_state::acknowledged) {
      write_alert(a);
    }
  }
  for (const auto& e : c.events) {
    sqlite3_stmt* q = insert_event_.get();
    reset_guard g{q};
    sqlite3_bind_int64(q, 1, static_cast<std::int64_t>(e.id));
    sqlite3_bind_int64(q, 2, static_cast<std::int64_t>(e.alert_id));
    bind_text(q, 3, core::to_string(e.action));
    sqlite3_bind_int64(q, 4, ms(e.at));
    bind_opt_ms(q, 5, e.data_time);
    bind_text(q, 6, e.actor);
    bind_text(q, 7, e.reason);
    bind_text(q, 8, core::to_string(e.level));
    bind_text(q, 9, core::to_string(e.state));
    sqlite3_bind_double(q, 10, e.value);
    write_row(q, "an alert event");
  }
  for (const auto& z : c.snoozes) {
    const auto pid = ids_.patient(z.patient, ms(z.created));
    sqlite3_stmt* q = z.removed ? delete_snooze_.get() : upsert_snooze_.get();
    reset_guard g{q};
    sqlite3_bind_int64(q, 1, pid);
    bind_text(q, 2, z.group);
    if (!z.removed) {
      sqlite3_bind_int64(q, 3, ms(z.until));
      bind_text(q, 4, core::to_string(z.up_to));
      bind_text(q, 5, z.by);
      bind_text(q, 6, z.reason);
      sqlite3_bind_int64(q, 7, ms(z.created));
    }
    write_row(q, "a snooze");
  }
  // Last: an outbox row references its alert (foreign key), written above.
  for (const auto& n : c.notifications) {
    sqlite3_stmt* q = insert_outbox_.get();
    reset_guard g{q};
    sqlite3_bind_int64(q, 1, static_cast<std::int64_t>(n.id));
    sqlite3_bind_int64(q, 2, static_cast<std::int64_t>(n.alert.id));
    sqlite3_bind_int64(q, 3, static_cast<std::int64_t>(n.event.id));
    bind_text(q, 4, n.receiver);
    bind_text(q, 5, core::to_string(n.action));
    sqlite3_bind_int(q, 6, n.step);
    bind_text(q, 7, n.idempotency_key());
    bind_text(q, 8, to_document(n));
    sqlite3_bind_int64(q, 9, ms(n.created));
    write_row(q, "an outbox row");
  }
}

void alert_rows::write(const outbox_update& u) {
  sqlite3_stmt* q = u.delivered ? outbox_delivered_.get() : outbox_failed_.get();
  reset_guard g{q};
  sqlite3_bind_int64(q, 1, static_cast<std::int64_t>(u.id));
  if (u.delivered) {
    sqlite3_bind_int64(q, 2, u.at);
  } else {
    sqlite3_bind_int(q, 2, u.attempts);
    bind_text(q, 3, u.error);
    sqlite3_bind_int(q, 4, u.final ? 1 : 0);
  }
  step_done(db_, q);
}

core::alert_snapshot load_alert_state(sqlite3* db) {
  core::alert_snapshot snap;
  {
    auto s = prepare(
        db, (std::string(alert_select) + "WHERE a.state <> 'resolved' ORDER BY a.id").c_str());
    snap.open = read_all(db, s.get(), read_alert);
  }
  {
    auto s = prepare(
        db, (std::string(snooze_select) + "WHERE z.until > ?1 ORDER BY p.key, z.grp").c_str());
    sqlite3_bind_int64(s.get(), 1, ms(core::now_ms()));
    snap.snoozes = read_all(db, s.get(), read_snooze);
  }
  const auto largest = [db](const char* sql) {
    return static_cast<std::uint64_t>(query_int(db, sql));
  };
  snap.ids.alert = largest("SELECT coalesce(max(id), 0) FROM alerts");
  snap.ids.event = largest("SELECT coalesce(max(id), 0) FROM alert_events");
  snap.ids.notification = largest("SELECT coalesce(max(id), 0) FROM outbox");
  auto s = prepare(db,
                   "SELECT id, receiver, action, step, created, document FROM outbox "
                   "WHERE status = 'pending' ORDER BY id");
  while (next_row(db, s.get())) {
    if (auto n = read_pending(s.get())) snap.pending.push_back(std::move(*n));
  }
  return snap;
}

}  // namespace vitals::adapters::sqlite::detail
