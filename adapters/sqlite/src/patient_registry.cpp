#include <vitals/adapters/sqlite/patient_registry.hpp>

#include <filesystem>

#include "connection.hpp"

namespace vitals::adapters::sqlite {

namespace {

using namespace detail;

db_ptr open_registry(const std::string& path, int flags) {
  auto db = open_db(path, flags | SQLITE_OPEN_NOMUTEX, " for the patient registry");
  sqlite3_busy_timeout(db.get(), 5000);
  return db;
}

bool has_registry(sqlite3* db) {
  return query_int(db,
                   "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND "
                   "name = 'patient_registry'") != 0;
}

/// Runs `fn` in an IMMEDIATE transaction: committed when it returns, rolled back when it throws.
template <typename F>
auto in_transaction(sqlite3* db, F&& fn) {
  exec(db, "BEGIN IMMEDIATE");
  try {
    auto out = fn();
    exec(db, "COMMIT");
    return out;
  } catch (...) {
    sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

void record(sqlite3* db, const std::string& id, const char* action, const std::string* document,
            std::int64_t at, const std::string& by) {
  const auto s =
      prepare(db,
              "INSERT INTO patient_registry_events (patient, action, document, at, \"by\") "
              "VALUES (?, ?, ?, ?, ?)");
  bind_text(s.get(), 1, id);
  bind_text(s.get(), 2, action);
  if (document) bind_text(s.get(), 3, *document);
  sqlite3_bind_int64(s.get(), 4, at);
  bind_text(s.get(), 5, by);
  step_done(db, s.get());
}

}  // namespace

std::vector<registry_row> read_registry(const std::string& path) {
  std::error_code ec;
  if (!is_file_path(path) || !std::filesystem::exists(path, ec)) return {};
  const auto db = open_registry(path, SQLITE_OPEN_READONLY);
  return naming_path(path, [&] {
    if (!has_registry(db.get())) return std::vector<registry_row>{};
    const auto s = prepare(
        db.get(), "SELECT id, document, updated, updated_by FROM patient_registry ORDER BY id");
    return read_all(db.get(), s.get(), [](sqlite3_stmt* st) {
      return registry_row{col_text(st, 0), col_text(st, 1), sqlite3_column_int64(st, 2),
                          col_text(st, 3)};
    });
  });
}

void put_registry(const std::string& path, const registry_row& row) {
  const auto db = open_registry(path, SQLITE_OPEN_READWRITE);
  naming_path(path, [&] {
    return in_transaction(db.get(), [&] {
      const auto s = prepare(db.get(),
                             "INSERT INTO patient_registry (id, document, updated, updated_by) "
                             "VALUES (?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
                             "document = excluded.document, updated = excluded.updated, "
                             "updated_by = excluded.updated_by");
      bind_text(s.get(), 1, row.id);
      bind_text(s.get(), 2, row.document);
      sqlite3_bind_int64(s.get(), 3, row.updated);
      bind_text(s.get(), 4, row.updated_by);
      step_done(db.get(), s.get());
      record(db.get(), row.id, "put", &row.document, row.updated, row.updated_by);
      return true;
    });
  });
}

bool remove_registry(const std::string& path, const std::string& id, const std::string& by,
                     std::int64_t at_ms) {
  const auto db = open_registry(path, SQLITE_OPEN_READWRITE);
  return naming_path(path, [&] {
    return in_transaction(db.get(), [&] {
      const auto s = prepare(db.get(), "DELETE FROM patient_registry WHERE id = ?");
      bind_text(s.get(), 1, id);
      step_done(db.get(), s.get());
      if (sqlite3_changes(db.get()) == 0) return false;
      record(db.get(), id, "remove", nullptr, at_ms, by);
      return true;
    });
  });
}

}  // namespace vitals::adapters::sqlite
