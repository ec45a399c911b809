#pragma once
/// The integer ids of patients and devices, which every other row refers to by id.

#include <sqlite3.h>

#include <cstdint>
#include <unordered_map>

#include <vitals/core/sample.hpp>

#include "connection.hpp"

namespace vitals::adapters::sqlite::detail {

/// Text keys to row ids, cached in memory; a key seen for the first time gets its row inserted.
/// Writer thread only.
class id_cache {
 public:
  /// Prepares the statements on `db`, which must outlive the cache.
  explicit id_cache(sqlite3* db);

  /// The id of patient `key`; inserted with first_seen `now` when new.
  std::int64_t patient(const core::short_id& key, std::int64_t now);

  /// The id of device `key`, inserted for `patient` when new; a device now worn by another
  /// patient has its row moved to that patient.
  std::int64_t device(const core::short_id& key, std::int64_t patient, std::int64_t now);

  /// Forgets every cached id: ids inserted by a rolled-back transaction no longer exist.
  void clear() noexcept;

 private:
  struct device_entry {
    std::int64_t id;
    std::int64_t patient_id;
  };

  sqlite3* db_;
  stmt_ptr find_patient_, insert_patient_, find_device_, insert_device_, move_device_;
  std::unordered_map<core::short_id, std::int64_t> patients_;
  std::unordered_map<core::short_id, device_entry> devices_;
};

}  // namespace vitals::adapters::sqlite::detail
