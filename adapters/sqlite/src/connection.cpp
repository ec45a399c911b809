#include "connection.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <spdlog/spdlog.h>

namespace vitals::adapters::sqlite::detail {

db_ptr open_db(const std::string& path, int flags, std::string_view how) {
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  db_ptr db(raw);  // SQLite allocates a handle even when opening fails: close it either way
  if (rc != SQLITE_OK) {
    const std::string msg = raw != nullptr ? sqlite3_errmsg(raw) : sqlite3_errstr(rc);
    throw std::runtime_error("cannot open SQLite database '" + path + "'" + std::string(how) +
                             ": " + msg);
  }
  return db;
}

void exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err != nullptr ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    throw sqlite_error(msg, rc);
  }
}

stmt_ptr prepare(sqlite3* db, const char* sql) {
  sqlite3_stmt* s = nullptr;
  const int rc = sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr);
  if (rc != SQLITE_OK) throw sqlite_error(sqlite3_errmsg(db), rc);
  return stmt_ptr(s);
}

std::int64_t query_int(sqlite3* db, const char* sql) {
  auto s = prepare(db, sql);
  const int rc = sqlite3_step(s.get());
  if (rc != SQLITE_ROW) throw sqlite_error(sqlite3_errmsg(db), rc);
  return sqlite3_column_int64(s.get(), 0);
}

bool next_row(sqlite3* db, sqlite3_stmt* s) {
  const int rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  throw sqlite_error(sqlite3_errmsg(db), rc);
}

void step_done(sqlite3* db, sqlite3_stmt* s) {
  const int rc = sqlite3_step(s);
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) throw sqlite_error(sqlite3_errmsg(db), rc);
}

void fail(const std::string& path, const std::string& what) {
  throw std::runtime_error("SQLite database '" + path + "': " + what);
}

std::string col_text(sqlite3_stmt* s, int i) {
  const auto* t = reinterpret_cast<const char*>(sqlite3_column_text(s, i));
  return t != nullptr ? std::string(t, static_cast<std::size_t>(sqlite3_column_bytes(s, i)))
                      : std::string();
}

bool is_file_path(const std::string& path) {
  return !path.empty() && path != ":memory:" && path.rfind("file:", 0) != 0;
}

void secure_file(const std::string& path) {
  // SQLite would create the file 0644 minus umask, and gives -wal/-shm the main file's mode.
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    throw std::runtime_error("cannot open SQLite database '" + path + "': " + std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(fd, &st) == 0 && (st.st_mode & 077) != 0) {
    if (::fchmod(fd, 0600) == 0) {
      spdlog::warn("sqlite store: {} was accessible to group/others (mode {:o}); set to 600", path,
                   st.st_mode & 0777);
    } else {
      spdlog::warn(
          "sqlite store: {} is accessible to group/others (mode {:o}) and chmod failed: {}", path,
          st.st_mode & 0777, std::strerror(errno));
    }
  }
  ::close(fd);
}

void secure_sidecar(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || (st.st_mode & 077) == 0) return;
  if (::chmod(path.c_str(), 0600) == 0) {
    spdlog::warn("sqlite store: {} was accessible to group/others (mode {:o}); set to 600", path,
                 st.st_mode & 0777);
  }
}

}  // namespace vitals::adapters::sqlite::detail
