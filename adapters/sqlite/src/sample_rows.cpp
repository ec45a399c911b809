#include "sample_rows.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>

namespace vitals::adapters::sqlite::detail {

sample_rows::sample_rows(sqlite3* db, id_cache& ids, core::stats& st)
    : db_(db),
      ids_(ids),
      st_(st),
      // ON CONFLICT on the key only: a redelivery is skipped, while a NOT NULL violation (a NaN
      // binds as NULL) still fails loudly, which INSERT OR IGNORE would also swallow.
      insert_sample_(prepare(db,
                             "INSERT INTO samples(device_id, kind, device_ts, value, receive_ts, "
                             "seq, quality, patient_id, conditions, device_status) "
                             "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) "
                             "ON CONFLICT(device_id, kind, device_ts) DO NOTHING")),
      touch_device_(
          prepare(db, "UPDATE devices SET last_seen = max(last_seen, ?2) WHERE id = ?1")) {}

bool sample_rows::write(const core::sample& s) {
  const auto now = ms(s.receive_time);
  const auto pid = ids_.patient(s.patient, now);
  const auto did = ids_.device(s.device, pid, now);
  sqlite3_stmt* q = insert_sample_.get();
  reset_guard g{q};
  sqlite3_bind_int64(q, 1, did);
  sqlite3_bind_int(q, 2, static_cast<int>(s.kind));
  sqlite3_bind_int64(q, 3, ms(s.device_time));
  sqlite3_bind_double(q, 4, s.value);
  sqlite3_bind_int64(q, 5, now);
  if (s.has_sequence) {
    // Sequence numbers above 2^63 wrap to negative; devices count far lower.
    sqlite3_bind_int64(q, 6, static_cast<std::int64_t>(s.sequence));
  }
  sqlite3_bind_int(q, 7, s.quality);
  sqlite3_bind_int64(q, 8, pid);
  sqlite3_bind_int(q, 9, s.conditions);
  sqlite3_bind_int64(q, 10, s.device_status);
  const int rc = sqlite3_step(q);
  if (rc == SQLITE_DONE) {
    auto& newest = touched_[did];
    newest = std::max(newest, now);
    return true;
  }
  if ((rc & 0xff) == SQLITE_CONSTRAINT) {
    // This row can never be stored (e.g. a NaN value): skip it rather than fail the batch
    // forever; counted and logged without the value.
    st_.store_errors.fetch_add(1, std::memory_order_relaxed);
    spdlog::warn("sqlite store: a {} sample was rejected by the database: {}",
                 core::to_string(s.kind), sqlite3_errmsg(db_));
    return false;
  }
  throw sqlite_error(sqlite3_errmsg(db_), rc);
}

void sample_rows::touch_devices() {
  for (const auto& [id, newest] : touched_) {
    reset_guard g{touch_device_.get()};
    sqlite3_bind_int64(touch_device_.get(), 1, id);
    sqlite3_bind_int64(touch_device_.get(), 2, newest);
    step_done(db_, touch_device_.get());
  }
}

std::vector<core::stream_seen> load_recent_streams(sqlite3* db, std::int64_t since_ms) {
  auto s = prepare(db,
                   "SELECT p.key, d.key, k.kind, "
                   "  (SELECT s.receive_ts FROM samples s WHERE s.device_id = d.id AND "
                   "   s.kind = k.kind ORDER BY s.device_ts DESC LIMIT 1) AS last_receive "
                   "FROM devices d JOIN patients p ON p.id = d.patient_id "
                   "CROSS JOIN (SELECT 0 AS kind UNION ALL SELECT 1 UNION ALL SELECT 2) k "
                   "WHERE d.last_seen >= ?1");
  sqlite3_bind_int64(s.get(), 1, since_ms);
  std::vector<core::stream_seen> out;
  while (next_row(db, s.get())) {
    if (sqlite3_column_type(s.get(), 3) == SQLITE_NULL) continue;  // no reading of this vital
    const auto patient = core::short_id::make(col_text(s.get(), 0));
    const auto device = core::short_id::make(col_text(s.get(), 1));
    const int kind = sqlite3_column_int(s.get(), 2);
    if (!patient || !device || kind < 0 || kind >= static_cast<int>(core::vital_kind_count)) {
      continue;
    }
    out.push_back({*patient, *device, static_cast<core::vital_kind>(kind),
                   core::timestamp(std::chrono::milliseconds(sqlite3_column_int64(s.get(), 3)))});
  }
  return out;
}

}  // namespace vitals::adapters::sqlite::detail
