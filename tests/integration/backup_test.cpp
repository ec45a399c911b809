// vitalsctl backup and check against a real vitalsd that goes on ingesting from a real
// mosquitto, and a restore from the backup (docs/DEPLOYING.md, "What to back up").
#include <sys/stat.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "daemon_fixture.hpp"

using namespace std::chrono_literals;
namespace fs = std::filesystem;

// A namespace of its own: the sanitizer presets are unity builds (tests/README.md).
namespace backup_test {
namespace {

using vitals::it::now_ms;

using vitals::it::run_to_end;

/// Publishes heart-rate readings of 10 patients until stopped, each with a time of its own.
class ingest_load {
 public:
  explicit ingest_load(const std::string& uri)
      : pub_(uri, "backup-load"), thread_([this](const std::stop_token& stop) { run(stop); }) {}
  ~ingest_load() { stop(); }
  void stop() {
    thread_.request_stop();
    if (thread_.joinable()) thread_.join();
  }
  std::int64_t published() const { return published_.load(); }

 private:
  void run(const std::stop_token& stop) {
    const auto t0 = now_ms() - 3'600'000;
    for (std::int64_t i = 0; !stop.stop_requested(); ++i) {
      const auto patient = "p-" + std::to_string(i % 10);
      pub_.publish("vitals/" + patient + "/hr-" + patient,
                   R"({"device":"hr-)" + patient + R"(","ts":)" + std::to_string(t0 + i * 100) +
                       R"(,"hr":72})");
      published_.fetch_add(1);
      if (i % 50 == 49) std::this_thread::sleep_for(5ms);
    }
  }

  vitals::test::mqtt_publisher pub_;
  std::atomic<std::int64_t> published_{0};
  std::jthread thread_;
};

}  // namespace

TEST_CASE("vitalsctl backup copies the live database while vitalsd ingests, then check and restore",
          "[integration][backup]") {
  vitals::it::daemon_env env;
  auto daemon = env.start_daemon();
  ingest_load load(env.broker.uri());
  REQUIRE(vitals::test::eventually([&] { return env.count("SELECT count(*) FROM samples") > 2000; },
                                   60s));

  const auto backup = env.dir.path() / "backup.db";
  const auto r =
      run_to_end({VITALSCTL_PATH, "backup", backup.string(), "--config", env.config.string()},
                 env.dir.path(), "backup");
  INFO(r.output);
  REQUIRE(r.code == 0);
  CHECK_THAT(r.output, Catch::Contains("backup of") && Catch::Contains("complete"));
  CHECK_FALSE(fs::exists(backup.string() + ".partial"));
  struct stat st {};
  REQUIRE(::stat(backup.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);

  // Ingest went on during the copy and after it.
  const auto in_backup = vitals::it::query_int(backup, "SELECT count(*) FROM samples");
  CHECK(in_backup > 2000);
  REQUIRE(vitals::test::eventually(
      [&] { return env.count("SELECT count(*) FROM samples") > in_backup + 500; }, 60s));

  const auto check =
      run_to_end({VITALSCTL_PATH, "check", "--db", backup.string()}, env.dir.path(), "check");
  INFO(check.output);
  CHECK(check.code == 0);
  CHECK_THAT(check.output, Catch::Contains("ok: schema version") &&
                               Catch::Contains(std::to_string(in_backup) + " samples"));

  // The live database checks clean too, while vitalsd writes it.
  const auto live = run_to_end({VITALSCTL_PATH, "check", "--config", env.config.string()},
                               env.dir.path(), "check-live");
  INFO(live.output);
  CHECK(live.code == 0);

  // A second backup to the same name is refused, and the first is left as it was.
  const auto again =
      run_to_end({VITALSCTL_PATH, "backup", backup.string(), "--db", env.db.string()},
                 env.dir.path(), "again");
  CHECK(again.code == 1);
  CHECK_THAT(again.output, Catch::Contains("exists already"));
  CHECK(vitals::it::query_int(backup, "SELECT count(*) FROM samples") == in_backup);

  // Nothing published was lost to the backup: every reading is stored.
  load.stop();
  CHECK(vitals::test::eventually(
      [&] { return env.count("SELECT count(*) FROM samples") == load.published(); }, 60s));

  // Restore: stop, put the backup in place, start; vitalsd runs on from the backup's content.
  REQUIRE(vitals::it::terminate(*daemon) == 0);
  daemon.reset();
  for (const char* suffix : {"-wal", "-shm"}) fs::remove(env.db.string() + suffix);
  fs::copy_file(backup, env.db, fs::copy_options::overwrite_existing);
  daemon = env.start_daemon();
  CHECK(env.count("SELECT count(*) FROM samples") == in_backup);
  vitals::test::mqtt_publisher pub(env.broker.uri(), "backup-after");
  pub.publish("vitals/p-new/hr-new",
              R"({"device":"hr-new","ts":)" + std::to_string(now_ms()) + R"(,"hr":70})");
  CHECK(vitals::test::eventually(
      [&] { return env.count("SELECT count(*) FROM samples") == in_backup + 1; }, 30s));
  REQUIRE(vitals::it::terminate(*daemon) == 0);
}

TEST_CASE("vitalsctl check finds a damaged database and names what is wrong",
          "[integration][backup]") {
  vitals::it::daemon_env env;
  {
    auto daemon = env.start_daemon();
    ingest_load load(env.broker.uri());
    REQUIRE(vitals::test::eventually(
        [&] { return env.count("SELECT count(*) FROM samples") > 3000; }, 60s));
    load.stop();
    REQUIRE(vitals::test::eventually(
        [&] { return env.count("SELECT count(*) FROM samples") == load.published(); }, 60s));
    REQUIRE(vitals::it::terminate(*daemon) == 0);
    // After a clean stop the database file alone is complete (the WAL was checkpointed).
    const auto alone = env.dir.path() / "alone.db";
    fs::copy_file(env.db, alone);
    CHECK(vitals::it::query_int(alone, "SELECT count(*) FROM samples") == load.published());
  }
  // A backup (a file of its own, no WAL beside it), then damaged.
  const auto damaged = env.dir.path() / "damaged.db";
  REQUIRE(run_to_end({VITALSCTL_PATH, "backup", damaged.string(), "--db", env.db.string()},
                     env.dir.path(), "backup")
              .code == 0);
  {
    // Overwrite a page in the middle of the file (not the header): the b-tree it held breaks.
    const auto size = fs::file_size(damaged);
    REQUIRE(size > 8 * 4096);
    std::fstream f(damaged, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>((size / 4096 / 2) * 4096));
    const std::string junk(4096, '\x5a');
    f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  }
  const auto r = run_to_end({VITALSCTL_PATH, "check", "--db", damaged.string()}, env.dir.path(),
                            "check-damaged");
  INFO(r.output);
  CHECK(r.code == 1);
  CHECK_THAT(r.output, Catch::Contains("damaged.db") && Catch::Contains("problem"));

  const auto missing =
      run_to_end({VITALSCTL_PATH, "check", "--db", (env.dir.path() / "none.db").string()},
                 env.dir.path(), "check-missing");
  CHECK(missing.code == 1);
  CHECK_THAT(missing.output, Catch::Contains("none.db"));

  const auto usage = run_to_end(
      {VITALSCTL_PATH, "check", "--db", env.db.string(), "--config", env.config.string()},
      env.dir.path(), "check-both");
  CHECK(usage.code == 2);
}

}  // namespace backup_test
