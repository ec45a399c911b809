// Storage faults end to end (issue 16): a real vitalsd, a real mosquitto, a real SQLite file and a
// real HTTP receiver. The disk fills up (a small tmpfs, so root only), the database file is
// deleted while readings arrive, or a page of it is damaged: vitalsd must page `store_failing`
// without its database, turn
// /healthz to 503 with the cause, leave what it cannot commit at the broker, recover by itself
// when space returns, and stop within a bounded time, saying how many readings it lost.

#include <sys/mount.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include <vitals/test/http_client.hpp>
#include <vitals/test/http_receiver.hpp>

#include "daemon_fixture.hpp"

using namespace std::chrono_literals;
using vitals::test::eventually;
using vitals::test::http_receiver;

// A namespace of its own: the sanitizer presets are unity builds (tests/README.md).
namespace store_failure_test {
namespace {

using vitals::it::now_ms;

/// A webhook receiver for technical alerts, with fast retries.
std::string ops_receiver(const http_receiver& ops) {
  return "[[receivers]]\nname = \"ops\"\ntype = \"webhook\"\nurl = \"" + ops.url("/hook") +
         "\"\nbackoff_min_s = 0.05\nbackoff_max_s = 0.2\ntimeout_s = 2\n"
         "[[routes]]\nname = \"ops\"\nsource = \"technical\"\n[[routes.steps]]\nreceivers = "
         "[\"ops\"]\n";
}

/// Points the environment's config at a database somewhere else.
void move_database(vitals::it::daemon_env& env, const std::filesystem::path& db) {
  std::string text;
  {
    std::ifstream in(env.config);
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  const auto at = text.find(env.db.string());
  REQUIRE(at != std::string::npos);
  text.replace(at, env.db.string().size(), db.string());
  std::ofstream(env.config) << text;
  env.db = db;
}

/// Publishes `n` heart-rate readings of one device, one per device-second from `from_ms`.
std::int64_t publish_hr(vitals::test::mqtt_publisher& pub, std::int64_t from_ms, int n) {
  for (int i = 0; i < n; ++i) {
    const auto t = from_ms + static_cast<std::int64_t>(i) * 1000;
    pub.publish("vitals/p1/hr-1", "{\"device\":\"hr-1\",\"ts\":" + std::to_string(t) +
                                      ",\"hr\":" + std::to_string(60 + i % 20) + "}");
  }
  return from_ms + static_cast<std::int64_t>(n) * 1000;
}

std::int64_t stored(const vitals::it::daemon_env& env) {
  return env.count("SELECT count(*) FROM samples");
}

/// GET /healthz: the status code and body.
vitals::test::http_reply health(const vitals::it::daemon_env& env) {
  return vitals::test::http_request(env.api_port, "GET", "/healthz", {}, {}, 3s);
}

bool health_is(const vitals::it::daemon_env& env, unsigned status, const std::string& text) {
  const auto r = health(env);
  return r.status == status && r.body.find(text) != std::string::npos;
}

/// Whether the receiver got a notification about `rule`.
bool paged(const http_receiver& r, const std::string& rule) {
  for (const auto& q : r.accepted()) {
    if (q.body.find(rule) != std::string::npos) return true;
  }
  return false;
}

/// A small tmpfs mounted for the test's lifetime (root only).
struct small_disk {
  std::filesystem::path path;
  bool mounted = false;
  explicit small_disk(std::filesystem::path p, const char* size) : path(std::move(p)) {
    std::filesystem::create_directories(path);
    const std::string options = std::string("size=") + size + ",mode=0700";
    mounted = ::mount("tmpfs", path.c_str(), "tmpfs", 0, options.c_str()) == 0;
  }
  ~small_disk() {
    if (mounted) ::umount2(path.c_str(), MNT_DETACH);
  }
  small_disk(const small_disk&) = delete;
  small_disk& operator=(const small_disk&) = delete;

  /// Writes a filler file until the file system is full.
  void fill() const {
    std::FILE* f = std::fopen((path / "filler").c_str(), "ab");
    REQUIRE(f != nullptr);
    const std::vector<char> block(4096, 'x');
    while (std::fwrite(block.data(), 1, block.size(), f) == block.size() && std::fflush(f) == 0) {
    }
    std::fclose(f);
  }
  /// Frees the space again.
  void free_space() const { std::filesystem::remove(path / "filler"); }
};

/// The count in vitalsd's "N reading(s) ... were NOT committed" line at its stop; 0 without one.
std::int64_t lost_at_stop(const std::string& log) {
  static const std::regex line(R"((\d+) reading\(s\) taken from the sources were NOT committed)");
  std::smatch m;
  return std::regex_search(log, m, line) ? std::stoll(m[1]) : 0;
}

/// SIGTERM while commits fail: it must exit 0 within 10 s; how long it took, and how many
/// accepted readings its log says were not committed.
struct failing_stop {
  double seconds = 0;
  std::int64_t lost = 0;
};
failing_stop stop_while_failing(vitals::test::child_process& daemon) {
  const auto began = std::chrono::steady_clock::now();
  const auto code = vitals::it::terminate(daemon, 10s);
  failing_stop out;
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
  const auto log = daemon.log_text();
  INFO("vitalsd's log:\n" << log);
  REQUIRE(code.has_value());
  CHECK(*code == 0);
  out.lost = lost_at_stop(log);
  return out;
}

}  // namespace

TEST_CASE("a full disk pages store_failing, holds readings at the broker and recovers by itself",
          "[integration][reliability]") {
  vitals::test::temp_dir scratch("vitals-disk");
  small_disk disk(scratch.path() / "disk", "4m");
  if (!disk.mounted) {
    // Mounting a tmpfs needs root (CI runs as root); say loudly that this case did not run.
    WARN("SKIPPED: cannot mount a tmpfs here (errno " << errno
                                                      << "); run as root to test a "
                                                         "full disk");
    return;
  }
  http_receiver ops;
  vitals::it::daemon_env env(ops_receiver(ops));
  move_database(env, disk.path / "vitalsd.db");
  auto daemon = env.start_daemon();
  vitals::test::mqtt_publisher pub(env.broker.uri(), "disk-pub");

  auto t = publish_hr(pub, now_ms() - 3'600'000, 200);
  REQUIRE(eventually([&] { return stored(env) == 200; }, 20s));
  REQUIRE(health_is(env, 200, "\"status\":\"ok\""));

  // Full while readings keep coming.
  disk.fill();
  t = publish_hr(pub, t, 300);
  const auto filled = std::chrono::steady_clock::now();
  REQUIRE(eventually([&] { return health_is(env, 503, "\"status\":\"failing\""); }, 10s));
  const double seconds_to_503 =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - filled).count();
  const auto failing = health(env);
  CHECK_THAT(failing.body, Catch::Contains("database or disk is full"));
  // The page reaches the receiver although nothing can be committed.
  REQUIRE(eventually([&] { return paged(ops, "store_failing"); }, 10s));
  const auto held_back = stored(env);
  CHECK(held_back < 500);

  // Space returns: commits resume, and every reading arrives from the broker, none lost.
  disk.free_space();
  const bool recovered =
      eventually([&] { return health_is(env, 200, "\"status\":\"ok\""); }, 20s) &&
      eventually([&] { return stored(env) == 500; }, 20s);
  if (!recovered) {
    INFO("/healthz: " << health(env).body << "\nvitalsd's log:\n" << daemon->log_text());
    REQUIRE(recovered);
  }

  // Full again, then SIGTERM: the stop is bounded and says what it lost; the rest stays at the
  // broker and arrives after the restart.
  disk.fill();
  t = publish_hr(pub, t, 100);
  REQUIRE(eventually([&] { return health_is(env, 503, "\"status\":\"failing\""); }, 10s));
  t = publish_hr(pub, t, 200);  // held back at the broker
  const auto stop = stop_while_failing(*daemon);
  const auto lost = stop.lost;
  disk.free_space();
  daemon = env.start_daemon();
  REQUIRE(eventually([&] { return stored(env) == 800 - lost; }, 20s));
  CHECK(vitals::it::terminate(*daemon) == 0);
  CHECK(stored(env) == 800 - lost);
  // The bound: what was taken from the broker before the failure was known (the 100 published
  // while the first failing commit was under way), plus the one reading the held source holds;
  // the 200 published later waited at the broker.
  CHECK(lost > 0);
  CHECK(lost <= 101);
  std::printf(
      "store failure (full disk): /healthz 503 after %.2f s; %lld of 300 readings committed "
      "while failing; 0 lost on recovery; stop while failing took %.2f s and lost %lld of 300\n",
      seconds_to_503, static_cast<long long>(held_back - 200), stop.seconds,
      static_cast<long long>(lost));
}

TEST_CASE("a deleted database file pages store_failing and stops the daemon's claims of health",
          "[integration][reliability]") {
  http_receiver ops;
  vitals::it::daemon_env env(ops_receiver(ops));
  auto daemon = env.start_daemon();
  vitals::test::mqtt_publisher pub(env.broker.uri(), "delete-pub");
  auto t = publish_hr(pub, now_ms() - 3'600'000, 50);
  REQUIRE(eventually([&] { return stored(env) == 50; }, 20s));

  std::filesystem::remove(env.db);
  t = publish_hr(pub, t, 20);
  REQUIRE(eventually([&] { return health_is(env, 503, "deleted"); }, 10s));
  REQUIRE(eventually([&] { return paged(ops, "store_failing"); }, 10s));
  const auto code = vitals::it::terminate(*daemon, 10s);
  REQUIRE(code.has_value());
  CHECK(*code == 0);
  const auto log = daemon->log_text();
  CHECK_THAT(log, Catch::Contains("was deleted while vitalsd ran"));
  // What the stop lost is said; the rest is still at the broker for the next start (which makes
  // a new database: the deleted one is gone with what it held).
  const auto lost = lost_at_stop(log);
  CHECK(lost <= 20);
  daemon = env.start_daemon();
  REQUIRE(eventually([&] { return stored(env) == 20 - lost; }, 20s));
  CHECK(vitals::it::terminate(*daemon) == 0);
}

TEST_CASE(
    "a damaged database page pages store_failing, keeps readings at the broker and stops "
    "in time",
    "[integration][reliability]") {
  http_receiver ops;
  vitals::it::daemon_env env(ops_receiver(ops));
  auto daemon = env.start_daemon();
  auto t = now_ms() - 3'600'000;
  {
    vitals::test::mqtt_publisher pub(env.broker.uri(), "damage-pub");
    t = publish_hr(pub, t, 400);
    REQUIRE(eventually([&] { return stored(env) == 400; }, 20s));
  }
  REQUIRE(vitals::it::terminate(*daemon) == 0);  // checkpointed: the pages are in the file

  // The root page of the samples table overwritten, as a failing disk or a stray write would.
  const auto root = env.count("SELECT rootpage FROM sqlite_schema WHERE name = 'samples'");
  const auto page_size = env.count("PRAGMA page_size");
  REQUIRE(root > 1);
  {
    std::fstream f(env.db, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp((root - 1) * page_size);
    const std::string garbage(static_cast<std::size_t>(page_size), '\x5a');
    f.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
  }

  daemon = env.start_daemon();
  vitals::test::mqtt_publisher pub(env.broker.uri(), "damage-pub-2");
  t = publish_hr(pub, t, 50);
  const auto damaged = std::chrono::steady_clock::now();
  REQUIRE(eventually([&] { return health_is(env, 503, "\"status\":\"failing\""); }, 10s));
  const double seconds_to_503 =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - damaged).count();
  CHECK_THAT(health(env).body, Catch::Contains("malformed"));
  REQUIRE(eventually([&] { return paged(ops, "store_failing"); }, 10s));
  t = publish_hr(pub, t, 100);  // held back at the broker
  // Bounded: at most what was taken before the failure was known, and the stop says how many.
  const auto stop = stop_while_failing(*daemon);
  const auto lost = stop.lost;
  CHECK(lost <= 51);
  // The operator's check names the damage.
  const auto check = vitals::it::run_to_end({VITALSCTL_PATH, "check", "--db", env.db.string()},
                                            env.dir.path(), "vitalsctl-check");
  CHECK(check.code == 1);
  CHECK_THAT(check.output, Catch::Contains("malformed") || Catch::Contains("integrity"));
  // Restored (here: a new database): what the broker held arrives, nothing else is missing.
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::filesystem::remove(env.db.string() + suffix);
  }
  daemon = env.start_daemon();
  REQUIRE(eventually([&] { return stored(env) == 150 - lost; }, 20s));
  CHECK(vitals::it::terminate(*daemon) == 0);
  std::printf(
      "store failure (damaged page): /healthz 503 after %.2f s; stop took %.2f s and lost %lld "
      "of 50 (the other 100 stayed at the broker)\n",
      seconds_to_503, stop.seconds, static_cast<long long>(lost));
}

}  // namespace store_failure_test
