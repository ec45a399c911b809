#pragma once
/// RAII handles for SQLite connections and statements and the checked calls made on them, shared
/// by the store (writer, schema, loads) and the read-only alert_reader.

#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <vitals/core/sample.hpp>

namespace vitals::adapters::sqlite::detail {

/// Closes with close_v2: a statement still alive turns the connection into a zombie that
/// closes with it, instead of a failed close that leaks it.
struct db_closer {
  void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
};
/// An open connection.
using db_ptr = std::unique_ptr<sqlite3, db_closer>;

/// Finalizes a prepared statement.
struct stmt_finalizer {
  void operator()(sqlite3_stmt* s) const noexcept { sqlite3_finalize(s); }
};
/// A prepared statement.
using stmt_ptr = std::unique_ptr<sqlite3_stmt, stmt_finalizer>;

/// An SQLite failure with its result code; inside a transaction the writer catches it, rolls
/// back and retries.
struct sqlite_error : std::runtime_error {
  sqlite_error(const std::string& what, int code) : std::runtime_error(what), code(code) {}
  int code;
};

/// Opens `path` with sqlite3_open_v2 `flags`; throws std::runtime_error
/// "cannot open SQLite database '<path>'<how>: <reason>".
db_ptr open_db(const std::string& path, int flags, std::string_view how = {});

/// Runs SQL that returns no rows (several statements allowed); throws sqlite_error.
void exec(sqlite3* db, const char* sql);

/// Prepares a statement meant to be reused (SQLITE_PREPARE_PERSISTENT); throws sqlite_error.
stmt_ptr prepare(sqlite3* db, const char* sql);

/// The first column of the first row of `sql`; throws sqlite_error, also when there is no row.
std::int64_t query_int(sqlite3* db, const char* sql);

/// Steps to the next row: true on a row, false at the end; throws sqlite_error.
bool next_row(sqlite3* db, sqlite3_stmt* s);

/// Steps a statement run for its effect; throws sqlite_error.
void step_done(sqlite3* db, sqlite3_stmt* s);

/// Every remaining row of `s`, each made a value by `read`; throws sqlite_error.
template <typename Read>
auto read_all(sqlite3* db, sqlite3_stmt* s, Read read) {
  std::vector<decltype(read(s))> out;
  while (next_row(db, s)) out.push_back(read(s));
  return out;
}

/// Resets a statement and clears its bindings when leaving scope: an exception never leaves it
/// mid-step, and an unfinished read would keep its read transaction open and stop the writer's
/// checkpoints from reaching the end of the WAL.
struct reset_guard {
  sqlite3_stmt* s;
  ~reset_guard() {
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
  }
};

/// Throws std::runtime_error "SQLite database '<path>': <what>".
[[noreturn]] void fail(const std::string& path, const std::string& what);

/// Runs `fn`; an sqlite_error from it becomes std::runtime_error naming the database file, as
/// fail() does, so that the error the daemon logs says which file is at fault.
template <typename F>
decltype(auto) naming_path(const std::string& path, F&& fn) {
  try {
    return std::forward<F>(fn)();
  } catch (const sqlite_error& e) {
    fail(path, e.what());
  }
}

/// Epoch milliseconds, the unit of every time column.
inline std::int64_t ms(core::timestamp t) noexcept {
  return t.time_since_epoch().count();
}

/// The timestamp of an epoch-milliseconds column value.
inline core::timestamp from_ms(std::int64_t v) noexcept {
  return core::timestamp(std::chrono::milliseconds(v));
}

/// Binds text (copied by SQLite, so `v` may be a temporary).
inline void bind_text(sqlite3_stmt* s, int i, std::string_view v) {
  sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
}

/// Binds a time, or leaves the parameter NULL when there is none.
inline void bind_opt_ms(sqlite3_stmt* s, int i, const std::optional<core::timestamp>& t) {
  if (t) sqlite3_bind_int64(s, i, ms(*t));
}

/// A text column; NULL reads as empty.
std::string col_text(sqlite3_stmt* s, int i);

/// A time column.
inline core::timestamp col_ms(sqlite3_stmt* s, int i) {
  return from_ms(sqlite3_column_int64(s, i));
}

/// A time column that may be NULL.
inline std::optional<core::timestamp> col_opt_ms(sqlite3_stmt* s, int i) {
  if (sqlite3_column_type(s, i) == SQLITE_NULL) return std::nullopt;
  return from_ms(sqlite3_column_int64(s, i));
}

/// False for ":memory:" and "file:" URIs, which name no file whose mode we could set.
bool is_file_path(const std::string& path);

/// Creates the file owner-only before SQLite sees it, or tightens it when someone left it
/// looser; throws std::runtime_error naming the path when it cannot be opened.
void secure_file(const std::string& path);

/// Tightens a leftover -wal or -shm file of an earlier run, which keeps its old mode.
void secure_sidecar(const std::string& path);

}  // namespace vitals::adapters::sqlite::detail
