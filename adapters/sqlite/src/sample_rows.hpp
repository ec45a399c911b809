#pragma once
/// Sample rows and the devices' last_seen.

#include <sqlite3.h>

#include <cstdint>
#include <unordered_map>
#include <vector>

#include <vitals/core/sample.hpp>
#include <vitals/core/stale_monitor.hpp>
#include <vitals/core/stats.hpp>

#include "connection.hpp"
#include "ids.hpp"

namespace vitals::adapters::sqlite::detail {

/// Inserts samples inside the writer's transaction. Writer thread only.
class sample_rows {
 public:
  /// Prepares the statements on `db`; all three must outlive this.
  sample_rows(sqlite3* db, id_cache& ids, core::stats& st);

  /// Starts a transaction's worth of samples.
  void begin() noexcept { touched_.clear(); }

  /// Inserts one sample (a redelivery is a no-op); false when the database refuses the row,
  /// which is then skipped, counted and logged. Throws sqlite_error on other failures.
  bool write(const core::sample& s);

  /// Sets last_seen of the devices written since begin(): once per device per transaction, not
  /// once per row.
  void touch_devices();

 private:
  sqlite3* db_;
  id_cache& ids_;
  core::stats& st_;
  stmt_ptr insert_sample_, touch_device_;
  std::unordered_map<std::int64_t, std::int64_t> touched_;  // device id -> newest receive time
};

/// The streams (device and vital) of devices seen since `since_ms`, each with the receive time of
/// its newest reading: index seeks, not a scan of the samples.
std::vector<core::stream_seen> load_recent_streams(sqlite3* db, std::int64_t since_ms);

}  // namespace vitals::adapters::sqlite::detail
