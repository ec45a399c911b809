#include <catch2/catch.hpp>

#include <string>

#include <vitals/adapters/sqlite/maintenance.hpp>
#include <vitals/adapters/sqlite/patient_registry.hpp>
#include <vitals/adapters/sqlite/sqlite_store.hpp>
#include <vitals/core/stats.hpp>
#include <vitals/test/temp_dir.hpp>

#include "sqlite_test_db.hpp"

// A namespace of its own: the sanitizer presets are unity builds (tests/README.md).
namespace patient_registry_test {
namespace {

namespace sq = vitals::adapters::sqlite;

/// A store's file as vitalsd leaves it (every migration applied).
std::string store_file(const vitals::test::temp_dir& dir) {
  const auto path = (dir.path() / "vitalsd.db").string();
  vitals::core::stats counters;
  sq::store_options o;
  o.path = path;
  sq::sqlite_store store(o, counters);
  return path;
}

TEST_CASE("registry rows are put, replaced, removed and each change is recorded") {
  vitals::test::temp_dir dir("vitals-registry");
  const auto path = store_file(dir);
  CHECK(sq::read_registry(path).empty());
  sq::put_registry(path, {"p-2", R"({"care_team": "icu"})", 1000, "admin"});
  sq::put_registry(path, {"p-1", R"({"devices": ["cgm-1"]})", 2000, "ops"});
  sq::put_registry(path, {"p-2", R"({"care_team": "ward-3"})", 3000, "nurse-station"});
  auto rows = sq::read_registry(path);
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].id == "p-1");  // by id
  CHECK(rows[1].document == R"({"care_team": "ward-3"})");
  CHECK(rows[1].updated == 3000);
  CHECK(rows[1].updated_by == "nurse-station");

  CHECK(sq::remove_registry(path, "p-1", "ops", 4000));
  CHECK_FALSE(sq::remove_registry(path, "p-1", "ops", 5000));
  rows = sq::read_registry(path);
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].id == "p-2");

  const vitals::test::sqlite_db raw(path);
  CHECK(raw.integer("SELECT count(*) FROM patient_registry_events") == 4);
  CHECK(raw.text("SELECT group_concat(action || ':' || patient || ':' || \"by\", ' ') FROM "
                 "(SELECT * FROM patient_registry_events ORDER BY id)") ==
        "put:p-2:admin put:p-1:ops put:p-2:nurse-station remove:p-1:ops");
  CHECK(raw.integer("SELECT count(*) FROM patient_registry_events WHERE action = 'remove' AND "
                    "document IS NULL") == 1);
  CHECK(sq::check(path).ok());
}

TEST_CASE("a missing file or one older than the registry reads as an empty registry") {
  vitals::test::temp_dir dir("vitals-registry");
  CHECK(sq::read_registry((dir.path() / "none.db").string()).empty());
  CHECK_FALSE(std::filesystem::exists(dir.path() / "none.db"));  // not created by reading
  const auto old = (dir.path() / "v4.db").string();
  sq::sqlite_store::create_schema_for_testing(old, 4);
  CHECK(sq::read_registry(old).empty());
  CHECK(sq::check(old).ok());  // the registry comes with the migration
  CHECK_THROWS_WITH(sq::put_registry(old, {"p-1", "{}", 1, "x"}), Catch::Contains(old));
}

TEST_CASE("a document that is not JSON is refused by the database itself") {
  vitals::test::temp_dir dir("vitals-registry");
  const auto path = store_file(dir);
  CHECK_THROWS_WITH(sq::put_registry(path, {"p-1", "{care_team", 1, "x"}),
                    Catch::Contains("CHECK constraint"));
  CHECK(sq::read_registry(path).empty());
  const vitals::test::sqlite_db raw(path);
  CHECK(raw.integer("SELECT count(*) FROM patient_registry_events") == 0);  // rolled back
}

}  // namespace
}  // namespace patient_registry_test
