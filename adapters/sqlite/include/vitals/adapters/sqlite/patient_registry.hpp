#pragma once
/// The patient registry in the store's file (schema v5): one row per patient with its settings
/// as JSON, and every change in patient_registry_events with who made it. The daemon reads it at
/// start and on every reload, and writes it for /api/v1/patients. Each call opens a short
/// connection of its own (changes are rare; the writer's connection stays the writer's) and
/// waits up to 5 s for the writer's lock.

#include <cstdint>
#include <string>
#include <vector>

namespace vitals::adapters::sqlite {

/// One row of patient_registry.
struct registry_row {
  std::string id;
  std::string document;      ///< JSON object (config::registry_patient)
  std::int64_t updated = 0;  ///< epoch ms
  std::string updated_by;
};

/// Every row, by id. Empty when the file does not exist yet or predates the registry (schema
/// version below 5: the store migrates it when it opens). Throws std::runtime_error naming the
/// file when it exists but cannot be read.
std::vector<registry_row> read_registry(const std::string& path);

/// Inserts or replaces `row` and records the change, in one transaction. Throws
/// std::runtime_error naming the file (a failing disk, a database without the registry).
void put_registry(const std::string& path, const registry_row& row);

/// Removes the patient `id` and records it; false (and nothing recorded) when it is not there.
bool remove_registry(const std::string& path, const std::string& id, const std::string& by,
                     std::int64_t at_ms);

}  // namespace vitals::adapters::sqlite
