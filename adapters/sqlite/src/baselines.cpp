#include "baselines.hpp"

namespace vitals::adapters::sqlite::detail {

baseline_rows::baseline_rows(sqlite3* db, id_cache& ids)
    : db_(db),
      ids_(ids),
      upsert_baseline_(
          prepare(db,
                  "INSERT INTO baselines(patient_id, state, updated_at) VALUES (?1, ?2, ?3) "
                  "ON CONFLICT(patient_id) DO UPDATE SET state = excluded.state, "
                  "updated_at = excluded.updated_at")) {}

void baseline_rows::write(const baseline_row& b) {
  const auto pid = ids_.patient(b.patient, b.at);
  sqlite3_stmt* q = upsert_baseline_.get();
  reset_guard g{q};
  sqlite3_bind_int64(q, 1, pid);
  sqlite3_bind_blob(q, 2, b.state.data(), static_cast<int>(b.state.size()), SQLITE_STATIC);
  sqlite3_bind_int64(q, 3, b.at);
  step_done(db_, q);
}

std::vector<std::pair<std::string, std::vector<std::uint8_t>>> load_baselines(sqlite3* db) {
  auto s = prepare(db,
                   "SELECT p.key, b.state FROM baselines b JOIN patients p ON p.id = b.patient_id "
                   "ORDER BY p.key");
  return read_all(db, s.get(), [](sqlite3_stmt* r) {
    const auto* blob = static_cast<const std::uint8_t*>(sqlite3_column_blob(r, 1));
    const auto blob_bytes = static_cast<std::size_t>(sqlite3_column_bytes(r, 1));
    std::vector<std::uint8_t> state;
    if (blob != nullptr) state.assign(blob, blob + blob_bytes);
    return std::pair(col_text(r, 0), std::move(state));
  });
}

}  // namespace vitals::adapters::sqlite::detail
