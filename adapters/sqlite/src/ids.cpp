#include "ids.hpp"

#include <spdlog/spdlog.h>

namespace vitals::adapters::sqlite::detail {

id_cache::id_cache(sqlite3* db)
    : db_(db),
      find_patient_(prepare(db, "SELECT id FROM patients WHERE key = ?1")),
      insert_patient_(prepare(db, "INSERT INTO patients(key, first_seen) VALUES (?1, ?2)")),
      find_device_(prepare(db, "SELECT id, patient_id FROM devices WHERE key = ?1")),
      insert_device_(prepare(db,
                             "INSERT INTO devices(key, patient_id, first_seen, last_seen) "
                             "VALUES (?1, ?2, ?3, ?3)")),
      move_device_(prepare(db, "UPDATE devices SET patient_id = ?2 WHERE id = ?1")) {}

std::int64_t id_cache::patient(const core::short_id& key, std::int64_t now) {
  if (auto it = patients_.find(key); it != patients_.end()) return it->second;
  std::int64_t id = 0;
  {
    reset_guard g{find_patient_.get()};
    bind_text(find_patient_.get(), 1, key.view());
    if (next_row(db_, find_patient_.get())) id = sqlite3_column_int64(find_patient_.get(), 0);
  }
  if (id == 0) {
    reset_guard g{insert_patient_.get()};
    bind_text(insert_patient_.get(), 1, key.view());
    sqlite3_bind_int64(insert_patient_.get(), 2, now);
    step_done(db_, insert_patient_.get());
    id = sqlite3_last_insert_rowid(db_);
  }
  patients_.emplace(key, id);
  return id;
}

std::int64_t id_cache::device(const core::short_id& key, std::int64_t patient, std::int64_t now) {
  auto it = devices_.find(key);
  if (it == devices_.end()) {
    device_entry e{0, patient};
    {
      reset_guard g{find_device_.get()};
      bind_text(find_device_.get(), 1, key.view());
      if (next_row(db_, find_device_.get())) {
        e = {sqlite3_column_int64(find_device_.get(), 0),
             sqlite3_column_int64(find_device_.get(), 1)};
      }
    }
    if (e.id == 0) {
      reset_guard g{insert_device_.get()};
      bind_text(insert_device_.get(), 1, key.view());
      sqlite3_bind_int64(insert_device_.get(), 2, patient);
      sqlite3_bind_int64(insert_device_.get(), 3, now);
      step_done(db_, insert_device_.get());
      e.id = sqlite3_last_insert_rowid(db_);
    }
    it = devices_.emplace(key, e).first;
  }
  if (it->second.patient_id != patient) {
    // A device handed to another patient: samples keep their own patient_id, the device row
    // follows the newest owner.
    reset_guard g{move_device_.get()};
    sqlite3_bind_int64(move_device_.get(), 1, it->second.id);
    sqlite3_bind_int64(move_device_.get(), 2, patient);
    step_done(db_, move_device_.get());
    it->second.patient_id = patient;
    spdlog::info("sqlite store: a device was reassigned to another patient");
    spdlog::debug("sqlite store: device {} now belongs to patient id {}", key.view(), patient);
  }
  return it->second.id;
}

void id_cache::clear() noexcept {
  patients_.clear();
  devices_.clear();
}

}  // namespace vitals::adapters::sqlite::detail
