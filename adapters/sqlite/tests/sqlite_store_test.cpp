#include <sqlite3.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <vitals/adapters/sqlite/sqlite_store.hpp>
#include <vitals/core/baseline_detector.hpp>

#include "sqlite_test_db.hpp"

// A namespace of its own: the sanitizer presets are unity builds (tests/README.md).
namespace sqlite_store_test {
namespace {

using namespace std::chrono_literals;
using vitals::adapters::sqlite::sqlite_store;
using vitals::adapters::sqlite::store_options;
namespace core = vitals::core;

/// A fresh directory under $TMPDIR, removed with everything in it.
struct temp_dir {
  std::filesystem::path path;
  temp_dir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "vitals-sqlite-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path = tmpl;
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string file(const char* name) const { return (path / name).string(); }
};

/// A second, independent connection, as a human with the sqlite3 CLI would have.
using reader = vitals::test::sqlite_db;

/// Polls until `pred` holds or 10 s have passed; returns the last result (no timing asserted).
bool eventually(const std::function<bool()>& pred) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

core::timestamp at_ms(std::int64_t ms) {
  return core::timestamp(std::chrono::milliseconds(ms));
}

constexpr std::int64_t t0 = 1700000000123;  // 2023-11-14T22:13:20.123Z

core::sample make_sample(std::int64_t i, const char* device = "dev-1",
                         const char* patient = "pat-1",
                         core::vital_kind kind = core::vital_kind::heart_rate) {
  core::sample s;
  s.patient = core::short_id::truncate(patient);
  s.device = core::short_id::truncate(device);
  s.kind = kind;
  s.value = 60.0 + static_cast<double>(i % 40);
  s.device_time = at_ms(t0 + i * 1000);
  s.receive_time = at_ms(t0 + i * 1000 + 50);
  s.sequence = static_cast<std::uint64_t>(i);
  s.has_sequence = true;
  return s;
}

std::vector<core::sample> make_samples(std::int64_t first, std::int64_t n) {
  std::vector<core::sample> v;
  for (std::int64_t i = first; i < first + n; ++i) v.push_back(make_sample(i));
  return v;
}

store_options options_for(const temp_dir& dir) {
  store_options o;
  o.path = dir.file("vitals.db");
  return o;
}

}  // namespace

TEST_CASE("sqlite store: device conditions and the CGM annunciation are kept with the sample",
          "[sqlite]") {
  temp_dir dir;
  core::stats st;
  const auto o = options_for(dir);
  {
    sqlite_store store(o, st);
    store.start();
    auto samples = make_samples(0, 2);
    samples[0].kind = core::vital_kind::glucose;
    samples[0].quality = core::quality_device_flagged;
    samples[0].conditions = core::condition_calibration | core::condition_battery_low;
    samples[0].device_status = 0x0C0802;  // battery low, calibration required, hypo warnings
    store.append(samples);
    store.flush();
  }
  reader r(o.path);
  const auto at = std::to_string(t0);
  CHECK(r.integer("SELECT conditions FROM samples WHERE kind = 2 AND device_ts = " + at) ==
        (core::condition_calibration | core::condition_battery_low));
  CHECK(r.integer("SELECT device_status FROM sample_view WHERE vital = 'glucose'") == 0x0C0802);
  CHECK(r.integer("SELECT conditions FROM sample_view WHERE vital = 'hr'") == 0);
  CHECK(r.integer("SELECT device_status FROM sample_view WHERE vital = 'hr'") == 0);
}

TEST_CASE("sqlite store: samples are stored and readable through sample_view", "[sqlite]") {
  temp_dir dir;
  core::stats st;
  const auto o = options_for(dir);
  {
    sqlite_store store(o, st);
    store.start();
    auto samples = make_samples(0, 3);
    samples[1].kind = core::vital_kind::spo2;
    samples[1].value = 97.0;
    samples[2].has_sequence = false;
    samples[2].quality = core::quality_artifact;
    store.append(samples);
    store.flush();
    CHECK(st.samples_stored == 3);
    CHECK(st.store_commits == 1);
    CHECK(st.store_errors == 0);
  }
  reader r(o.path);
  CHECK(r.count("samples") == 3);
  CHECK(r.count("patients") == 1);
  CHECK(r.count("devices") == 1);
  CHECK(r.integer("SELECT seq FROM samples WHERE device_ts = " + std::to_string(t0)) == 0);
  CHECK(r.text("SELECT quote(seq) FROM samples WHERE device_ts = " + std::to_string(t0 + 2000)) ==
        "NULL");
  CHECK(r.integer("SELECT last_seen FROM devices") == t0 + 2050);
  CHECK(r.integer("SELECT first_seen FROM devices") == t0 + 50);
  CHECK(r.text("SELECT time FROM sample_view ORDER BY time LIMIT 1") == "2023-11-14T22:13:20.123Z");
  CHECK(r.text("SELECT patient || '/' || device || '/' || vital || '/' || unit || '/' || value "
               "FROM sample_view WHERE vital = 'spo2'") == "pat-1/dev-1/spo2/%/97.0");
  CHECK(r.integer("SELECT quality FROM sample_view WHERE time LIKE '%:22.123Z'") ==
        core::quality_artifact);
}

TEST_CASE("sqlite store: a redelivered sample is stored once, also across restarts", "[sqlite]") {
  temp_dir dir;
  core::stats st;
  const auto o = options_for(dir);
  const auto s = make_sample(7);
  {
    sqlite_store store(o, st);
    store.start();
    store.append(std::span(&s, 1));
    store.append(std::span(&s, 1));
    store.flush();
  }
  {
    sqlite_store store(o, st);
    store.start();
    store.append(std::span(&s, 1));
    store.stop();
  }
  reader r(o.path);
  CHECK(r.count("samples") == 1);
  CHECK(r.count("devices") == 1);
  CHECK(r.count("patients") == 1);
  CHECK(st.samples_stored == 3);  // attempted rows, duplicates included
  CHECK(st.store_errors == 0);
}

TEST_CASE("sqlite store: a batch is committed when batch_rows rows are waiting", "[sqlite]") {
  temp_dir dir;
  core::stats st;
  auto o = options_for(dir);
  o.batch_rows = 100;
  o.batch_interval = 1h;  // only the row count can trigger a commit
  sqlite_store store(o, st);
  store.start();
  reader r(o.path);
  for (int i = 0; i < 25; ++i) {
    const auto chunk = make_samples(i * 10, 10);
    store.append(chunk);
  }
  REQUIRE(eventually([&] { return r.count("samples") == 200; }));
  CHECK(st.store_commits == 2);
  CHECK(st.samples_stored == 200);
  CHECK(store.queued_rows() == 50);
  store.flush();
  CHECK(r.count("samples") == 250);
  CHECK(st.store_commits == 3);
}

TEST_CASE("sqlite store: a batch is committed batch_interval after its first row", "[sqlite]") {
  temp_dir dir;
  core::stats st;
  auto o = options_for(dir);
  o.batch_rows = 1000000;  // only the interval can trigger a commit
  o.batch_interval = 50ms;
  sqlite_store store(o, st);
  store.start();
  reader r(o.path);
  const auto samples = make_samples(0, 10);
  store.append(samples);
  REQUIRE(eventually([&] { return r.count("samples") == 10; }));
  CHECK(st.store_commits == 1);
  CHECK(st.samples_stored == 10);
}

TEST_CASE("sqlite store: flush commits everything queued before it", "[sqlite]") {
  temp_dir dir;
  core::stats st;
  auto o = options_for(dir);
  o.batch_interval = 1h;
  sqlite_store store(o, st);
  store.start();
  reader r(o.path);
  const auto samples = make_samples(0, 42);
  store.append(samples);
  store.flush();
  CHECK(r.count("samples") == 42);
  CHECK(st.samples_stored == 42);
  store.flush();  // nothing queued: returns at once
  CHECK(st.store_commits == 1);
}

TEST_CASE("sqlite store: flush and stop work without start", "[sqlite]") {
  temp_dir dir;
  core::stats st;
  const auto o = options_for(dir);
  sqlite_store store(o, st);
  const auto samples = make_samples(0, 5);
  store.append(samples);
  store.flush();
  reader r(o.path);
  CHECK(r.count("samples") == 5);
  store.append(make_samples(5, 5));
  store.stop();
  CHECK(r.count("samples") == 10);
  store.stop();  // idempotent
}

TEST_CASE("sqlite store: stop commits everything queued", "[sqlite]") {
  temp_dir dir;
  core::stats st;
  auto o = options_for(dir);
  o.batch_interval = 1h;
  {
    sqlite_store store(o, st);
    store.start();
    for (int i = 0; i < 50; ++i) store.append(make_samples(i * 1000, 1000));
    store.stop();
    CHECK(store.queued_rows() == 0);
  }
  reader r(o.path);
  CHECK(r.count("samples") == 50000);
  CHECK(st.samples_stored == 50000);
  CHECK(st.store_errors == 0);
  CHECK(st.store_commits >= 50);
}

TEST_CASE("sqlite store: schema migrations", "[sqlite]") {
  temp_dir dir;
  core::stats st;
  const auto o = options_for(dir);

  SECTION("a new database has the current version; reopening changes nothing") {
    { sqlite_store store(o, st); }
    CHECK(sqlite_store::schema_version(o.path) == sqlite_store::current_schema_version);
    {
      reader r(o.path);
      CHECK(r.integer("SELECT count(*) FROM sqlite_schema") > 0);
    }
    const auto objects = reader(o.path).count("sqlite_schema");
    {
      sqlite_store store(o, st);
      const auto s = make_sample(1);
      store.append(std::span(&s, 1));
    }
    { sqlite_store store(o, st); }
    reader r(o.path);
    CHECK(r.count("sqlite_schema") == objects);
    CHECK(r.count("samples") == 1);
    CHECK(r.integer("PRAGMA user_version") == sqlite_store::current_schema_version);
    CHECK(r.text("PRAGMA journal_mode") == "wal");
  }

  SECTION("a database newer than the code is rejected, naming both versions") {
    { sqlite_store store(o, st); }
    reader(o.path).exec("PRAGMA user_version = 99");
    using Catch::Matchers::Contains;
    CHECK_THROWS_WITH(
        sqlite_store(o, st),
        Contains("99") && Contains(o.path) &&
            Contains("(" + std::to_string(sqlite_store::current_schema_version) + ")"));
    CHECK(sqlite_store::schema_version(o.path) == 99);
  }
}

TEST_CASE("sqlite store: database files are readable by the owner only", "[sqlite]") {
  temp_dir dir;
  core::stats st;
  auto o = options_for(dir);
  struct stat info {};

  SECTION("a new file is created 0600, and so is its WAL") {
    sqlite_store store(o, st);
    store.start();
    const auto s = make_sample(1);
    store.append(std::span(&s, 1));
    store.flush();
    REQUIRE(::stat(o.path.c_str(), &info) == 0);
    CHECK((info.st_mode & 0777) == 0600);
    REQUIRE(::stat((o.path + "-wal").c_str(), &info) == 0);
    CHECK((info.st_mode & 0777) == 0600);
  }

  SECTION("an existing file with a looser mode is tightened") {
    { sqlite_store store(o, st); }
    REQUIRE(::chmod(o.path.c_str(), 0644) == 0);
    { sqlite_store store(o, st); }
    REQUIRE(::stat(o.path.c_str(), &info) == 0);
    CHECK((info.st_mode & 0777) == 0600);
  }
}

TEST_CASE("sqlite store: bad paths and options are rejected with the culprit named", "[sqlite]") {
  temp_dir dir;
  core::stats st;
  using Catch::Matchers::Contains;

  store_options o;
  o.path = dir.file("no/such/dir/vitals.db");
  CHECK_THROWS_AS(sqlite_store(o, st), std::runtime_error);
  CHECK_THROWS_WITH(sqlite_store(o, st), Contains(o.path));
  CHECK_FALSE(std::filesystem::exists(dir.path / "no"));

  o = options_for(dir);
  o.synchronous = "sometimes";
  CHECK_THROWS_WITH(sqlite_store(o, st), Contains("sometimes"));
}

TEST_CASE("sqlite store: back-pressure bounds the queue and loses nothing", "[sqlite]") {
  temp_dir dir;
  core::stats st;
  auto o = options_for(dir);
  o.max_queued_rows = 10;
  o.batch_rows = 4;
  o.batch_interval = 1ms;
  sqlite_store store(o, st);
  store.start();
  std::size_t most_queued = 0;
  constexpr std::int64_t total = 3000;
  for (std::int64_t i = 0; i < total; i += 3) {
    store.append(make_samples(i, 3));
    most_queued = std::max(most_queued, store.queued_rows());
  }
  CHECK(most_queued <= o.max_queued_rows);
  store.flush();
  reader r(o.path);
  CHECK(r.count("samples") == total);
  CHECK(st.samples_stored == static_cast<std::uint64_t>(total));
}

TEST_CASE("sqlite store: a failed commit is counted and retried without losing the batch",
          "[sqlite]") {
  temp_dir dir;
  core::stats st;
  auto o = options_for(dir);
  o.busy_timeout = 20ms;
  o.batch_interval = 1ms;
  sqlite_store store(o, st);
  store.start();
  reader blocker(o.path);
  blocker.exec("BEGIN IMMEDIATE");  // holds the write lock: the store's commits get SQLITE_BUSY
  const auto samples = make_samples(0, 20);
  store.append(samples);
  REQUIRE(eventually([&] { return st.store_errors >= 2; }));
  CHECK(st.store_commits == 0);
  blocker.exec("ROLLBACK");
  store.flush();
  CHECK(blocker.count("samples") == 20);
  CHECK(st.store_commits == 1);
  CHECK(st.samples_stored == 20);
}

TEST_CASE("sqlite store: failing commits hold the intake, say why, and recover by themselves",
          "[sqlite]") {
  temp_dir dir;
  core::stats st;
  core::intake_gate gate;
  auto o = options_for(dir);
  o.busy_timeout = 20ms;
  o.batch_interval = 1ms;
  o.max_queued_rows = 10;
  o.batch_rows = 4;
  o.intake = &gate;
  // Declared before the store: its writer thread calls the health callback until it stops.
  std::mutex m;
  std::vector<std::pair<bool, std::string>> told;
  const auto told_count = [&] {
    std::lock_guard lock(m);
    return told.size();
  };
  sqlite_store store(o, st);
  store.on_health([&](bool failing, const std::string& cause) {
    std::lock_guard lock(m);
    told.emplace_back(failing, cause);
  });
  store.start();
  CHECK_FALSE(store.status().failing);
  reader blocker(o.path);
  blocker.exec("BEGIN IMMEDIATE");  // the store's commits get SQLITE_BUSY
  store.append(make_samples(0, 10));
  REQUIRE(eventually([&] { return store.status().failing; }));
  CHECK(gate.held());
  const auto failing = store.status();
  CHECK(failing.failures == 1);
  CHECK(failing.failure.find("locked") != std::string::npos);
  // The writer marks itself failing, then tells: the call may come a moment after status().
  CHECK(eventually([&] { return told_count() >= 1; }));
  {
    std::lock_guard lock(m);
    REQUIRE(told.size() == 1);
    CHECK(told[0].first);
  }
  // The queue is full, yet outbox updates (from the io thread) do not wait for room.
  std::atomic<bool> returned{false};
  std::thread io_thread([&] {
    store.mark_delivered(1, at_ms(t0));
    returned = true;
  });
  const bool did_not_wait = eventually([&] { return returned.load(); });
  blocker.exec("ROLLBACK");
  io_thread.join();
  CHECK(did_not_wait);
  store.flush();
  CHECK_FALSE(store.status().failing);
  CHECK_FALSE(gate.held());
  CHECK(blocker.count("samples") == 10);
  CHECK(st.samples_not_stored == 0);
  CHECK(eventually([&] { return told_count() >= 2; }));
  std::lock_guard lock(m);
  REQUIRE(told.size() == 2);
  CHECK_FALSE(told[1].first);
  CHECK(told[1].second.find("succeed again") != std::string::npos);
}

TEST_CASE("sqlite store: a stop with failing commits is bounded and counts what it lost",
          "[sqlite]") {
  temp_dir dir;
  core::stats st;
  auto o = options_for(dir);
  o.busy_timeout = 20ms;
  o.batch_interval = 1ms;
  sqlite_store store(o, st);
  store.start();
  reader blocker(o.path);
  blocker.exec("BEGIN IMMEDIATE");
  store.append(make_samples(0, 20));
  REQUIRE(eventually([&] { return store.status().failing; }));
  store.begin_shutdown();
  store.flush();  // returns: the batch is given up after a few attempts
  CHECK(st.samples_not_stored == 20);
  store.stop();
  blocker.exec("ROLLBACK");
  CHECK(blocker.count("samples") == 0);
}

TEST_CASE("sqlite store: a deleted or replaced database file fails the commits loudly",
          "[sqlite]") {
  temp_dir dir;
  core::stats st;
  auto o = options_for(dir);
  o.batch_interval = 1ms;
  sqlite_store store(o, st);
  store.start();
  store.append(make_samples(0, 5));
  store.flush();
  CHECK_FALSE(store.status().failing);
  std::string expected;
  SECTION("deleted") {
    std::filesystem::remove(o.path);
    expected = "deleted";
  }
  SECTION("replaced") {
    std::filesystem::copy_file(o.path, o.path + ".copy");
    std::filesystem::rename(o.path + ".copy", o.path);
    expected = "replaced";
  }
  store.append(make_samples(100, 1));
  REQUIRE(eventually([&] { return store.status().failing; }));
  CHECK(store.status().failure.find(expected) != std::string::npos);
  store.stop();  // bounded: gives up on what it cannot commit
  CHECK(st.samples_not_stored >= 1);
}

TEST_CASE("sqlite store: synchronous=full is accepted", "[sqlite]") {
  temp_dir dir;
  core::stats st;
  auto o = options_for(dir);
  o.synchronous = "full";
  sqlite_store store(o, st);
  store.start();
  store.append(make_samples(0, 3));
  store.flush();
  CHECK(reader(o.path).count("samples") == 3);
}

TEST_CASE("sqlite store: alert changes are committed without waiting for the interval",
          "[sqlite]") {
  temp_dir dir;
  core::stats st;
  auto o = options_for(dir);
  o.batch_interval = 1h;
  sqlite_store store(o, st);
  store.start();
  reader r(o.path);
  const auto s = make_sample(0);
  store.append(std::span(&s, 1));
  core::alert_changes c;
  core::alert_record a;
  a.id = 1;
  a.patient = core::short_id::truncate("pat-1");
  a.device = core::short_id::truncate("dev-1");
  a.rule = a.group = a.current_rule = "spo2_low";
  a.message = "SpO2 below 90%";
  c.alerts.push_back(a);
  store.apply(std::move(c));
  REQUIRE(eventually([&] { return r.count("alerts") == 1; }));
  CHECK(r.count("samples") == 1);  // samples queued before the alert are committed with it
  // The writer counts a commit after COMMIT returns, which is after the reader can see it.
  REQUIRE(eventually([&] { return st.store_commits.load() >= 1; }));
  CHECK(st.store_commits == 1);
}

TEST_CASE("sqlite store: the streams seen recently are loaded with their last receive time",
          "[sqlite]") {
  temp_dir dir;
  core::stats st;
  const auto o = options_for(dir);
  {
    sqlite_store store(o, st);
    store.start();
    store.append(make_samples(0, 5));  // dev-1 heart rate, received t0 + 50 ms .. t0 + 4050 ms
    store.append(std::vector<core::sample>{make_sample(3, "dev-1", "pat-1", core::vital_kind::spo2),
                                           make_sample(100, "dev-2", "pat-2")});
    store.stop();
  }
  sqlite_store store(o, st);
  auto streams = store.load_recent_streams(at_ms(t0));
  std::sort(streams.begin(), streams.end(), [](const auto& a, const auto& b) {
    return std::pair(a.device.view(), a.kind) < std::pair(b.device.view(), b.kind);
  });
  REQUIRE(streams.size() == 3);
  CHECK(streams[0].device.view() == "dev-1");
  CHECK(streams[0].kind == core::vital_kind::heart_rate);
  CHECK(streams[0].patient.view() == "pat-1");
  CHECK(streams[0].last_receive == at_ms(t0 + 4 * 1000 + 50));
  CHECK(streams[1].kind == core::vital_kind::spo2);
  CHECK(streams[1].last_receive == at_ms(t0 + 3 * 1000 + 50));
  CHECK(streams[2].device.view() == "dev-2");
  // Devices not seen since the given time are left out.
  CHECK(store.load_recent_streams(at_ms(t0 + 10 * 1000)).size() == 1);
}

TEST_CASE("sqlite store: personal baselines are upserted and loaded after a restart", "[sqlite]") {
  temp_dir dir;
  core::stats st;
  const auto o = options_for(dir);
  const auto p1 = core::short_id::truncate("pat-1");
  const auto p2 = core::short_id::truncate("pat-2");

  // A real detector state: a few hours of 1 Hz HR and SpO2.
  core::baseline_detector learnt;
  {
    std::vector<core::alert_event> out;
    for (std::int64_t i = 0; i < 4 * 3600; ++i) {
      auto s = make_sample(i, "ox-1", "pat-2");
      learnt.observe(s, out);
      s.kind = core::vital_kind::spo2;
      s.value = 96.0 + static_cast<double>(i % 3);
      learnt.observe(s, out);
    }
  }
  const auto state = learnt.export_state(p2);
  REQUIRE(!state.empty());

  {
    sqlite_store store(o, st);
    CHECK(store.load_baselines().empty());
    store.start();
    CHECK_THROWS_AS(store.load_baselines(), std::logic_error);
    store.save_baseline(p1, {1, 2, 3});
    store.save_baseline(p2, state);
    store.save_baseline(p1, {4, 5, 6, 7});  // replaces the first
    store.save_baseline(p1, {});            // nothing to keep: ignored
    store.flush();
    reader r(o.path);
    CHECK(r.count("baselines") == 2);
    CHECK(r.count("patients") == 2);
    CHECK(r.integer("SELECT bytes FROM baseline_view WHERE patient = 'pat-1'") == 4);
    CHECK(r.integer("SELECT bytes FROM baseline_view WHERE patient = 'pat-2'") ==
          static_cast<std::int64_t>(state.size()));
    CHECK(r.integer("SELECT count(*) FROM baseline_view WHERE updated LIKE '____-__-__T%Z'") == 2);
    CHECK(st.store_errors == 0);
  }

  sqlite_store store(o, st);
  const auto rows = store.load_baselines();
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].first == "pat-1");
  CHECK(rows[0].second == std::vector<std::uint8_t>{4, 5, 6, 7});
  CHECK(rows[1].first == "pat-2");
  CHECK(rows[1].second == state);

  core::baseline_detector restarted;
  CHECK_FALSE(restarted.import_state(p1, rows[0].second));  // not a baseline: rejected
  REQUIRE(restarted.import_state(p2, rows[1].second));
  CHECK(restarted.export_state(p2) == state);
  CHECK(restarted.patient_count() == 1);
}

TEST_CASE("sqlite store: a version 1 database gains the baselines table", "[sqlite]") {
  temp_dir dir;
  core::stats st;
  const auto o = options_for(dir);
  // What vitalsd before schema 2 left behind, with one sample.
  sqlite_store::create_schema_for_testing(o.path, 1);
  {
    reader r(o.path);
    r.exec(
        "INSERT INTO patients(id, key, first_seen) VALUES (1, 'pat-1', 0);"
        "INSERT INTO devices(id, key, patient_id, first_seen, last_seen) "
        "VALUES (1, 'dev-1', 1, 0, 0);"
        "INSERT INTO samples(device_id, kind, device_ts, value, receive_ts, patient_id) "
        "VALUES (1, 0, 1000, 61.0, 1050, 1)");
  }
  CHECK(sqlite_store::schema_version(o.path) == 1);
  {
    sqlite_store store(o, st);
    CHECK(store.load_baselines().empty());
    store.save_baseline(core::short_id::truncate("pat-1"), {9});
  }
  CHECK(sqlite_store::schema_version(o.path) == sqlite_store::current_schema_version);
  reader r(o.path);
  CHECK(r.count("samples") == 1);
  CHECK(r.count("baselines") == 1);
}

}  // namespace sqlite_store_test
