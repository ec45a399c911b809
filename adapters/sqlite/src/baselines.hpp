#pragma once
/// Personal baselines: one opaque state per patient (core::baseline_detector's export).

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "connection.hpp"
#include "ids.hpp"
#include "work_item.hpp"

namespace vitals::adapters::sqlite::detail {

/// Upserts baselines inside the writer's transaction. Writer thread only.
class baseline_rows {
 public:
  /// Prepares the statement on `db`; both must outlive this.
  baseline_rows(sqlite3* db, id_cache& ids);

  /// Replaces the patient's stored state. Throws sqlite_error.
  void write(const baseline_row& b);

 private:
  sqlite3* db_;
  id_cache& ids_;
  stmt_ptr upsert_baseline_;
};

/// Every stored baseline as (patient key, state), by key. Throws sqlite_error.
std::vector<std::pair<std::string, std::vector<std::uint8_t>>> load_baselines(sqlite3* db);

}  // namespace vitals::adapters::sqlite::detail
