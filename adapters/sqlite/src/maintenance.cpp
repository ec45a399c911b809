#include <vitals/adapters/sqlite/maintenance.hpp>
#include <vitals/adapters/sqlite/sqlite_store.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <string_view>
#include <thread>

#include <fmt/format.h>

#include "connection.hpp"

namespace vitals::adapters::sqlite {

namespace {

/// The tables vitalsd reads and writes (schema version 5).
constexpr std::array required_tables{
    "patients",  "devices", "samples", "alerts",           "alert_events",
    "baselines", "snoozes", "outbox",  "patient_registry", "patient_registry_events"};

[[noreturn]] void io_failure(const std::string& what, const std::string& path) {
  throw std::runtime_error(fmt::format("{} '{}': {}", what, path, std::strerror(errno)));
}

/// Creates `path` empty, owner-only and new (no link followed), so that SQLite writes the copy
/// into a file nobody else can read whatever the umask.
void create_private(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) io_failure("cannot create", path);
  ::close(fd);
}

void sync_path(const std::string& path, int flags) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) io_failure("cannot open", path);
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) io_failure("cannot sync", path);
}

/// Copies every page of `src` into `dst` in one step (one read transaction); a writer that
/// holds a lock the copy needs for a moment is waited for, up to about 30 s.
std::int64_t copy_pages(sqlite3* src, sqlite3* dst, const std::string& from) {
  sqlite3_backup* b = sqlite3_backup_init(dst, "main", src, "main");
  if (!b) detail::fail(from, std::string("cannot start the backup: ") + sqlite3_errmsg(dst));
  int rc = SQLITE_OK;
  for (int attempt = 0; attempt < 300; ++attempt) {
    rc = sqlite3_backup_step(b, -1);
    if (rc != SQLITE_BUSY && rc != SQLITE_LOCKED) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const std::int64_t pages = sqlite3_backup_pagecount(b);
  const int finish = sqlite3_backup_finish(b);
  if (rc != SQLITE_DONE) {
    detail::fail(from, fmt::format("the backup stopped: {}", sqlite3_errstr(rc)));
  }
  if (finish != SQLITE_OK) {
    detail::fail(from, fmt::format("the backup failed: {}", sqlite3_errmsg(dst)));
  }
  return pages;
}

void add_integrity_problems(sqlite3* db, check_result& r) {
  const auto s = detail::prepare(db, "PRAGMA integrity_check(20)");
  while (detail::next_row(db, s.get())) {
    const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(s.get(), 0));
    const std::string line = text ? text : "";
    if (line != "ok") r.problems.push_back("integrity: " + line);
  }
}

void add_foreign_key_problems(sqlite3* db, check_result& r) {
  const auto s = detail::prepare(db, "PRAGMA foreign_key_check");
  int shown = 0;
  while (detail::next_row(db, s.get()) && shown++ < 20) {
    const auto* table = reinterpret_cast<const char*>(sqlite3_column_text(s.get(), 0));
    const auto* parent = reinterpret_cast<const char*>(sqlite3_column_text(s.get(), 2));
    r.problems.push_back(
        fmt::format("foreign key: a row of {} (rowid {}) refers to a missing {} row",
                    table ? table : "?", sqlite3_column_int64(s.get(), 1), parent ? parent : "?"));
  }
}

bool has_table(sqlite3* db, const char* name) {
  const auto s =
      detail::prepare(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1");
  sqlite3_bind_text(s.get(), 1, name, -1, SQLITE_STATIC);
  return detail::next_row(db, s.get()) && sqlite3_column_int64(s.get(), 0) > 0;
}

/// The walk of check(); an sqlite_error from a damaged page escapes it.
void check_tables(sqlite3* db, check_result& r) {
  r.schema_version = static_cast<int>(detail::query_int(db, "PRAGMA user_version"));
  add_integrity_problems(db, r);
  if (r.schema_version == 0) {
    r.problems.push_back("schema version 0: not a vitalsd database (or an empty file)");
    return;
  }
  if (r.schema_version > r.expected_version) {
    r.problems.push_back(
        fmt::format("schema version {} was written by a newer vitalsd (this one writes {})",
                    r.schema_version, r.expected_version));
  }
  for (const char* t : required_tables) {
    // An older file gets the registry when vitalsd migrates it.
    const bool registry = std::string_view(t).starts_with("patient_registry");
    if (registry && r.schema_version < 5) continue;
    if (!has_table(db, t)) r.problems.push_back(fmt::format("table {} is missing", t));
  }
  if (!r.problems.empty()) return;
  add_foreign_key_problems(db, r);
  r.samples = detail::query_int(db, "SELECT count(*) FROM samples");
  r.alerts = detail::query_int(db, "SELECT count(*) FROM alerts");
  r.pending = detail::query_int(db, "SELECT count(*) FROM outbox WHERE status = 'pending'");
}

}  // namespace

backup_result backup(const std::string& from, const std::string& to) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::exists(fs::symlink_status(to, ec))) {
    throw std::runtime_error(fmt::format("backup '{}' exists already: name a new file", to));
  }
  const auto src = detail::open_db(from, SQLITE_OPEN_READWRITE, " to back it up");
  sqlite3_busy_timeout(src.get(), 5000);
  const std::string partial = to + ".partial";
  fs::remove(partial, ec);  // a copy an earlier backup did not finish
  create_private(partial);
  backup_result r;
  try {
    {
      const auto dst = detail::open_db(partial, SQLITE_OPEN_READWRITE, " (the backup)");
      r.pages = copy_pages(src.get(), dst.get(), from);
    }
    sync_path(partial, O_RDONLY);
    // link() never replaces: a file that appeared under that name meanwhile is kept.
    if (::link(partial.c_str(), to.c_str()) != 0) io_failure("cannot name the backup", to);
    ::unlink(partial.c_str());
    const auto dir = fs::absolute(to).parent_path().string();
    sync_path(dir, O_RDONLY | O_DIRECTORY);
  } catch (...) {
    fs::remove(partial, ec);
    throw;
  }
  r.bytes = static_cast<std::int64_t>(fs::file_size(to, ec));
  return r;
}

check_result check(const std::string& path) {
  check_result r;
  r.expected_version = sqlite_store::current_schema_version;
  const auto db = detail::open_db(path, SQLITE_OPEN_READONLY, " to check it");
  sqlite3_busy_timeout(db.get(), 5000);
  try {
    check_tables(db.get(), r);
  } catch (const detail::sqlite_error& e) {
    // A page too damaged to read stops the walk: that is a finding too.
    r.problems.push_back(std::string("unreadable: ") + e.what());
  }
  return r;
}

}  // namespace vitals::adapters::sqlite
