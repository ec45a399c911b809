// The systemd notification protocol and the watchdog, in-process: a real core::pipeline, the
// daemon's systemd_service on an io_context, and a real unix datagram socket as $NOTIFY_SOCKET.
// The pipeline is stalled by test doubles that exist only here (an alert handler or a store that
// blocks), so nothing an operator can configure or send reaches the stall.

#include <vitals/daemon/systemd_service.hpp>

#include <algorithm>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>

#include <vitals/core/pipeline.hpp>
#include <vitals/test/mosquitto_broker.hpp>
#include <vitals/test/notify_listener.hpp>
#include <vitals/test/temp_dir.hpp>

using namespace std::chrono_literals;
using vitals::daemon::liveness;
using vitals::daemon::progress_gate;
using vitals::daemon::systemd_service;
using vitals::test::eventually;

// A namespace of its own: the sanitizer presets are unity builds (tests/README.md).
namespace systemd_service_test {
namespace {

/// A latch the pipeline thread blocks on inside a test double, until released.
class stall {
 public:
  /// Called on the pipeline thread: blocks while held.
  void enter() {
    std::unique_lock lock(mutex_);
    ++entered_;
    cv_.notify_all();
    cv_.wait(lock, [&] { return !held_; });
  }
  void hold() {
    std::lock_guard lock(mutex_);
    held_ = true;
  }
  void release() {
    std::lock_guard lock(mutex_);
    held_ = false;
    cv_.notify_all();
  }
  bool wait_entered(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, timeout, [&] { return entered_ > 0; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool held_ = false;
  int entered_ = 0;
};

/// A store that keeps nothing; append() blocks on `gate` (a store stuck on back-pressure).
class stalling_store final : public vitals::core::store {
 public:
  explicit stalling_store(stall& gate) : gate_(gate) {}
  void append(std::span<const vitals::core::sample>) override { gate_.enter(); }
  void flush() override {}

 private:
  stall& gate_;
};

/// Releases a stall when the test leaves its scope, also on a failed REQUIRE: the pipeline's
/// destructor joins its thread, which must not stay blocked.
class release_on_exit {
 public:
  explicit release_on_exit(stall& s) : stall_(s) {}
  ~release_on_exit() { stall_.release(); }
  release_on_exit(const release_on_exit&) = delete;
  release_on_exit& operator=(const release_on_exit&) = delete;

 private:
  stall& stall_;
};

/// A store that keeps nothing and never blocks.
class discard_store final : public vitals::core::store {
 public:
  void append(std::span<const vitals::core::sample>) override {}
  void flush() override {}
};

/// Points $NOTIFY_SOCKET and $WATCHDOG_USEC at the test's socket for the test's lifetime.
class notify_env {
 public:
  notify_env(const std::string& socket, const char* watchdog_usec) {
    ::setenv("NOTIFY_SOCKET", socket.c_str(), 1);
    ::setenv("WATCHDOG_USEC", watchdog_usec, 1);
    ::unsetenv("WATCHDOG_PID");
  }
  ~notify_env() {
    ::unsetenv("NOTIFY_SOCKET");
    ::unsetenv("WATCHDOG_USEC");
  }
  notify_env(const notify_env&) = delete;
  notify_env& operator=(const notify_env&) = delete;
};

/// A heart-rate reading received now, from a device that then goes silent.
vitals::core::sample fresh_reading() {
  vitals::core::sample s;
  s.patient = vitals::core::short_id::truncate("p1");
  s.device = vitals::core::short_id::truncate("ox-1");
  s.kind = vitals::core::vital_kind::heart_rate;
  s.value = 70;
  s.device_time = vitals::core::now_ms();
  s.receive_time = s.device_time;
  return s;
}

/// The pipeline, its counters and the io thread that runs the service, started and stopped.
struct running_service {
  running_service(vitals::core::store& store, vitals::core::detection_settings detection,
                  std::function<void(const vitals::core::alert_event&)> on_alert = {})
      : pipe({.idle_wait = 20ms, .tick_interval = 20ms}, vitals::core::detector_set(detection),
             store, counters),
        port(pipe.open_port("test", 16)),
        service(io, {[this] { return vitals::daemon::pipeline_liveness(pipe, counters); },
                     [] { return std::string("running: test"); }}) {
    if (on_alert) pipe.on_alert(std::move(on_alert));
    pipe.start();
    service.ready();
    io_thread = std::thread([this] { io.run(); });
  }
  ~running_service() {
    boost::asio::post(io, [this] { service.stopping(); });
    io_thread.join();
  }
  running_service(const running_service&) = delete;
  running_service& operator=(const running_service&) = delete;

  vitals::core::stats counters;
  vitals::core::pipeline pipe;
  vitals::core::ingest_port& port;
  boost::asio::io_context io;
  systemd_service service;
  std::thread io_thread;
};

/// Waits until `checks` more checks found no progress, then returns the pings sent by then.
std::uint64_t pings_after_withheld(const systemd_service& s, std::uint64_t checks) {
  const auto target = s.withheld() + checks;
  REQUIRE(eventually([&] { return s.withheld() >= target; }, 30s));
  return s.pings();
}

}  // namespace

TEST_CASE("progress gate: a pipeline pass, or a store that keeps trying, is progress",
          "[systemd][watchdog]") {
  progress_gate gate;
  CHECK(gate.advanced({10, false, 0}));        // the first check passes
  CHECK_FALSE(gate.advanced({10, false, 0}));  // no pass since
  CHECK(gate.advanced({11, false, 0}));
  CHECK_FALSE(gate.advanced({11, false, 5}));  // store activity alone is not the pipeline's
  CHECK_FALSE(gate.advanced({11, true, 5}));   // waiting on the store since this check only
  CHECK(gate.advanced({11, true, 6}));         // waits on a store that keeps trying: alive
  CHECK_FALSE(gate.advanced({11, true, 6}));   // ... and then the store stopped too
  CHECK(gate.advanced({12, false, 6}));
}

TEST_CASE("without NOTIFY_SOCKET the service sends nothing and runs no watchdog",
          "[systemd][watchdog]") {
  ::unsetenv("NOTIFY_SOCKET");
  ::setenv("WATCHDOG_USEC", "200000", 1);
  vitals::core::stats counters;
  discard_store store;
  vitals::core::pipeline pipe({}, vitals::core::detector_set(vitals::core::detection_settings{}),
                              store, counters);
  boost::asio::io_context io;
  systemd_service service(io, {[&] { return vitals::daemon::pipeline_liveness(pipe, counters); },
                               [] { return std::string("running"); }});
  service.ready();
  CHECK_FALSE(service.watchdog_interval().has_value());
  io.run_for(300ms);
  CHECK(service.pings() == 0);
  ::unsetenv("WATCHDOG_USEC");
}

TEST_CASE("the watchdog ping stops while the pipeline is stalled and resumes after",
          "[systemd][watchdog]") {
  vitals::test::temp_dir dir{"vitals-notify"};
  vitals::test::notify_listener socket(dir.path() / "notify");
  notify_env env(socket.path().string(), "200000");  // WatchdogSec=200ms: a check every 100 ms

  // The stall: the alert handler blocks the pipeline thread when the silent device's stale-data
  // alert comes, as a detector or a hand-off that hangs would.
  stall gate;
  vitals::core::detection_settings detection;
  detection.stale.limits[static_cast<std::size_t>(vitals::core::vital_kind::heart_rate)] = {300ms,
                                                                                            0ms};
  discard_store store;
  running_service s(store, detection, [&](const vitals::core::alert_event&) { gate.enter(); });
  const release_on_exit unblock(gate);
  REQUIRE(s.service.watchdog_interval() == std::chrono::microseconds(200000));

  REQUIRE(eventually([&] { return socket.count("READY=1") == 1; }, 10s));
  CHECK(socket.count_prefix("STATUS=running: test") >= 1);
  // A healthy, idle pipeline: the pings come.
  REQUIRE(eventually([&] { return socket.count("WATCHDOG=1") >= 3; }, 30s));

  gate.hold();
  REQUIRE(s.port.push(fresh_reading()));
  REQUIRE(gate.wait_entered(30s));
  // A check that read the heartbeat just before the stall may still ping once; after the first
  // check that finds no progress, no more pings while the stall lasts.
  const auto pings_at_stall = pings_after_withheld(s.service, 1);
  CHECK(pings_after_withheld(s.service, 5) == pings_at_stall);
  CHECK(eventually([&] { return socket.count_prefix("STATUS=pipeline stalled") >= 1; }, 10s));
  CHECK(eventually([&] { return socket.count("WATCHDOG=1") == pings_at_stall; }, 10s));

  gate.release();
  CHECK(eventually([&] { return s.service.pings() >= pings_at_stall + 3; }, 30s));
  CHECK(eventually([&] { return socket.count("WATCHDOG=1") >= pings_at_stall + 3; }, 30s));
}

TEST_CASE("a pipeline blocked on the store is alive while the store keeps trying, not after",
          "[systemd][watchdog]") {
  vitals::test::temp_dir dir{"vitals-notify"};
  vitals::test::notify_listener socket(dir.path() / "notify");
  notify_env env(socket.path().string(), "200000");

  stall gate;
  stalling_store store(gate);
  running_service s(store, {});
  const release_on_exit unblock(gate);
  REQUIRE(eventually([&] { return socket.count("WATCHDOG=1") >= 2; }, 30s));

  gate.hold();
  REQUIRE(s.port.push(fresh_reading()));
  REQUIRE(gate.wait_entered(30s));
  REQUIRE(s.pipe.heartbeat().waiting_on_store);

  // The writer fails commit after commit (a full disk): back-pressure, not a stuck daemon.
  std::jthread writer([&](const std::stop_token& stop) {
    while (!stop.stop_requested()) {
      s.counters.store_errors.fetch_add(1);
      std::this_thread::sleep_for(20ms);
    }
  });
  const auto before = s.service.pings();
  CHECK(eventually([&] { return s.service.pings() >= before + 3; }, 30s));

  // The writer stops trying too (a hung fsync): now nothing advances and the pings stop.
  writer.request_stop();
  writer.join();
  const auto pings_at_stall = pings_after_withheld(s.service, 1);
  CHECK(pings_after_withheld(s.service, 5) == pings_at_stall);

  gate.release();
  CHECK(eventually([&] { return s.service.pings() >= pings_at_stall + 2; }, 30s));
}

TEST_CASE("STOPPING=1 is sent once, and the watchdog stops with it", "[systemd][watchdog]") {
  vitals::test::temp_dir dir{"vitals-notify"};
  vitals::test::notify_listener socket(dir.path() / "notify");
  notify_env env(socket.path().string(), "200000");
  stall gate;
  stalling_store store(gate);
  {
    running_service s(store, {});
    REQUIRE(eventually([&] { return socket.count("WATCHDOG=1") >= 1; }, 30s));
  }  // the destructor posts stopping() and the io_context runs out of work
  CHECK(eventually([&] { return socket.count("STOPPING=1") == 1; }, 10s));
  const auto messages = socket.messages();
  REQUIRE_FALSE(messages.empty());
  // Nothing after STOPPING=1 but its status line.
  const auto stop = std::find(messages.begin(), messages.end(), "STOPPING=1");
  REQUIRE(stop != messages.end());
  for (auto it = stop + 1; it != messages.end(); ++it) CHECK(it->rfind("STATUS=", 0) == 0);
}

}  // namespace systemd_service_test
