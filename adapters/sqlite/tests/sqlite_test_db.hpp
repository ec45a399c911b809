#pragma once
/// A second, independent read-write connection to a store's file, as a person with the sqlite3
/// CLI would have: the sqlite tests check what the store wrote through it.

#include <sqlite3.h>

#include <cstdint>
#include <stdexcept>
#include <string>

namespace vitals::test {

/// Opens `path` read-write (busy timeout 5 s); every query throws std::runtime_error naming the
/// SQL when it cannot be prepared.
struct sqlite_db {
  sqlite3* db = nullptr;
  explicit sqlite_db(const std::string& path) {
    if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
      throw std::runtime_error("sqlite_db: cannot open " + path);
    }
    sqlite3_busy_timeout(db, 5000);
  }
  ~sqlite_db() { sqlite3_close(db); }
  sqlite_db(const sqlite_db&) = delete;
  sqlite_db& operator=(const sqlite_db&) = delete;

  /// The first column of the first row, -1 when there is no row.
  std::int64_t integer(const std::string& sql) const {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) != SQLITE_OK) {
      throw std::runtime_error("sqlite_db: " + std::string(sqlite3_errmsg(db)) + " in " + sql);
    }
    std::int64_t v = -1;
    if (sqlite3_step(s) == SQLITE_ROW) v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
  }
  /// The first column of the first row as text, "<no row>" or "<null>" when there is none.
  std::string text(const std::string& sql) const {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) != SQLITE_OK) {
      throw std::runtime_error("sqlite_db: " + std::string(sqlite3_errmsg(db)) + " in " + sql);
    }
    std::string v = "<no row>";
    if (sqlite3_step(s) == SQLITE_ROW) {
      const auto* t = sqlite3_column_text(s, 0);
      v = t != nullptr ? reinterpret_cast<const char*>(t) : "<null>";
    }
    sqlite3_finalize(s);
    return v;
  }
  /// Runs SQL (several statements allowed); throws on failure.
  void exec(const std::string& sql) const {
    char* err = nullptr;
    if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = err != nullptr ? err : "?";
      sqlite3_free(err);
      throw std::runtime_error("sqlite_db: " + msg + " in " + sql);
    }
  }
  /// Rows of `table` (which may carry a WHERE clause).
  std::int64_t count(const char* table) const {
    return integer(std::string("SELECT count(*) FROM ") + table);
  }
};

}  // namespace vitals::test
