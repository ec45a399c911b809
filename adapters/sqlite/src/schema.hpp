#pragma once
/// The schema of the store's file: migration steps 1..sqlite_store::current_schema_version.
/// sqlite_store::create_schema_for_testing() and schema_version() live beside them.

#include <sqlite3.h>

#include <string>

namespace vitals::adapters::sqlite::detail {

/// Applies the steps the file does not have yet, each in its own IMMEDIATE transaction. Throws
/// std::runtime_error naming `path` and both versions when the file is newer than this code,
/// sqlite_error when a step fails (that step is rolled back, earlier ones stay).
void migrate(sqlite3* db, const std::string& path);

}  // namespace vitals::adapters::sqlite::detail
