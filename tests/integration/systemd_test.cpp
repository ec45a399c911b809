// vitalsd under a stand-in for systemd: the test binds the notification socket ($NOTIFY_SOCKET),
// asks for a watchdog ($WATCHDOG_USEC) and makes the daemon's stderr "the journal"
// ($JOURNAL_STREAM names the log file), then checks what the real vitalsd sends and writes:
// READY=1 once it runs, STATUS= lines with its counts, WATCHDOG=1 pings, STOPPING=1 on SIGTERM,
// and log lines that carry syslog priorities.

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <string>

#include <vitals/test/notify_listener.hpp>

#include "daemon_fixture.hpp"

using namespace std::chrono_literals;

TEST_CASE("vitalsd speaks systemd's notify protocol and logs with journal priorities",
          "[integration][systemd]") {
  vitals::it::daemon_env env;
  vitals::test::notify_listener socket(env.dir.path() / "notify");
  const auto log = env.dir.path() / "vitalsd.log";
  std::ofstream(log).close();
  struct stat st {};
  REQUIRE(::stat(log.c_str(), &st) == 0);
  const auto journal = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);

  vitals::test::child_process daemon({VITALSD_PATH, "--config", env.config.string()}, log,
                                     {{"NOTIFY_SOCKET", socket.path().string()},
                                      {"WATCHDOG_USEC", "1000000"},
                                      {"JOURNAL_STREAM", journal}});
  INFO(daemon.log_text());
  REQUIRE(vitals::test::eventually([&] { return socket.count("READY=1") == 1; }, 30s));
  CHECK(socket.count_prefix("STATUS=running: 0 samples stored, 0 alerts open") >= 1);
  // WatchdogSec=1s: a ping every 500 ms while the pipeline advances.
  CHECK(vitals::test::eventually([&] { return socket.count("WATCHDOG=1") >= 3; }, 30s));

  REQUIRE(vitals::test::eventually(
      [&] { return daemon.log_text().find("subscribed") != std::string::npos; }, 30s));
  vitals::test::mqtt_publisher pub(env.broker.uri(), "systemd-test-pub");
  const auto t0 = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count() -
                  60'000;
  for (int i = 0; i < 3; ++i) {
    pub.publish("vitals/p1/ox-1",
                R"({"device":"ox-1","ts":)" + std::to_string(t0 + i * 1000) + R"(,"hr":70})");
  }
  CHECK(vitals::test::eventually([&] { return env.count("SELECT count(*) FROM samples") == 3; },
                                 30s));
  CHECK(vitals::test::eventually(
      [&] { return socket.count_prefix("STATUS=running: 3 samples stored") >= 1; }, 30s));

  const auto code = vitals::it::terminate(daemon);
  REQUIRE(code.has_value());
  CHECK(*code == 0);
  CHECK(vitals::test::eventually([&] { return socket.count("STOPPING=1") == 1; }, 10s));

  // Journal lines: the priority first, no time stamp of our own (journald adds it).
  const auto text = daemon.log_text();
  INFO(text);
  CHECK(text.find("<6>vitalsd running:") != std::string::npos);
  CHECK(text.find("<6>systemd watchdog: 1000 ms") != std::string::npos);
  CHECK(text.rfind("<", 0) == 0);
  CHECK(text.find("\n20") == std::string::npos);  // no "2026-..." time stamps
}
