#pragma once
/// Operator tasks on a vitalsd database, safe while vitalsd runs: an online backup and a check.
/// `vitalsctl backup` and `vitalsctl check` call them.

#include <cstdint>
#include <string>
#include <vector>

namespace vitals::adapters::sqlite {

/// What a backup copied.
struct backup_result {
  std::int64_t pages = 0;
  std::int64_t bytes = 0;
};

/// Copies the database at `from` into the new file `to` with SQLite's online backup API, in one
/// read transaction: a consistent snapshot, WAL included, taken while vitalsd goes on writing
/// (in WAL mode a reader does not block the writer). The copy is written to `to` + ".partial"
/// (mode 0600, whatever the umask) and renamed to `to` only when complete and synced, so a
/// file named `to` is always a whole backup. Refuses an existing `to`. Throws
/// std::runtime_error naming the file and the cause.
backup_result backup(const std::string& from, const std::string& to);

/// What `check` found.
struct check_result {
  int schema_version = 0;             ///< PRAGMA user_version
  int expected_version = 0;           ///< what this build of vitalsd writes
  std::int64_t samples = 0;           ///< rows in samples
  std::int64_t alerts = 0;            ///< rows in alerts
  std::int64_t pending = 0;           ///< outbox rows not delivered yet
  std::vector<std::string> problems;  ///< empty when the database is sound

  bool ok() const noexcept { return problems.empty(); }
};

/// Reads the database at `path` without changing it: `PRAGMA integrity_check` (every page, index
/// and constraint), `PRAGMA foreign_key_check`, the schema version against this build's, and the
/// tables vitalsd needs. Throws std::runtime_error only when the file cannot be opened at all;
/// everything else is a problem in the result.
check_result check(const std::string& path);

}  // namespace vitals::adapters::sqlite
