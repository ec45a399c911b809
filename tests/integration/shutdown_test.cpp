// SIGTERM under load: a publisher streams a known set at QoS 1 while vitalsd is stopped mid-stream
// and started again. The persistent session keeps what arrives in between; every sample ends up
// stored exactly once.

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <thread>

#include "daemon_fixture.hpp"

using namespace std::chrono_literals;

TEST_CASE("SIGTERM mid-stream and restart lose nothing and store nothing twice",
          "[integration][shutdown]") {
  vitals::it::daemon_env env;
  auto daemon = env.start_daemon();

  constexpr int messages = 12'000;
  constexpr int devices = 20;
  const auto t0 = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count() -
                  3'600'000;
  std::atomic<int> published{0};
  std::atomic<bool> failed{false};
  std::thread publisher([&] {
    try {
      vitals::test::mqtt_publisher pub(env.broker.uri(), "shutdown-publisher");
      for (int i = 0; i < messages; ++i) {
        const int dev = i % devices;
        const auto ts = t0 + (i / devices) * 1000;
        const std::string payload = R"({"device":"ox-)" + std::to_string(dev) + R"(","ts":)" +
                                    std::to_string(ts) + R"(,"hr":70})";
        const std::string topic = "vitals/p" + std::to_string(dev) + "/ox-" + std::to_string(dev);
        pub.publish(topic, payload);
        if (i % 97 == 0) pub.publish(topic, payload);  // a redelivery, as a gateway retry would
        published.fetch_add(1);
      }
    } catch (...) {
      failed = true;
    }
  });

  // Stop the daemon once a good part of the stream is stored, while messages keep coming.
  REQUIRE(vitals::test::eventually(
      [&] { return env.count("SELECT count(*) FROM samples") >= 2000; }, 60s));
  const auto code = vitals::it::terminate(*daemon);
  REQUIRE(code.has_value());
  CHECK(*code == 0);
  const auto stored_at_stop = env.count("SELECT count(*) FROM samples");
  INFO("stored when stopped: " << stored_at_stop << ", published: " << published.load());
  CHECK(published.load() < messages);  // the stop really happened mid-stream

  auto second = env.start_daemon();
  publisher.join();
  REQUIRE_FALSE(failed);

  CHECK(vitals::test::eventually(
      [&] { return env.count("SELECT count(*) FROM samples") == messages; }, 90s));
  const auto code2 = vitals::it::terminate(*second);
  REQUIRE(code2.has_value());
  CHECK(*code2 == 0);
  INFO(daemon->log_text());
  INFO(second->log_text());
  CHECK(env.count("SELECT count(*) FROM samples") == messages);
  CHECK(daemon->log_text().find("drops=0") != std::string::npos);
  CHECK(second->log_text().find("drops=0") != std::string::npos);
}

TEST_CASE("a device silent across a restart still goes stale", "[integration][shutdown]") {
  // A 6-second stale limit for heart rate, so that the test does not wait minutes.
  vitals::it::daemon_env env("[stale]\nhr_warning_min = 0.1\nhr_urgent_min = 0\n");
  auto daemon = env.start_daemon();
  {
    vitals::test::mqtt_publisher pub(env.broker.uri(), "stale-publisher");
    const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    for (int i = 0; i < 3; ++i) {
      pub.publish("vitals/p1/hr-1", R"({"device":"hr-1","ts":)" +
                                        std::to_string(now - 2000 + i * 1000) + R"(,"hr":70})");
    }
  }
  REQUIRE(vitals::test::eventually([&] { return env.count("SELECT count(*) FROM samples") == 3; },
                                   20s));
  // Stopped before the limit: no stale alert yet.
  REQUIRE(vitals::it::terminate(*daemon) == 0);
  CHECK(env.count("SELECT count(*) FROM alerts WHERE rule = 'hr_stale'") == 0);

  // The device says nothing more; the new process knows it from the database.
  daemon = env.start_daemon();
  CHECK(vitals::test::eventually(
      [&] { return env.count("SELECT count(*) FROM alerts WHERE rule = 'hr_stale'") == 1; }, 20s));
  CHECK_THAT(daemon->log_text(), Catch::Contains("1 stream(s) seen in the last 24 h"));
  CHECK(vitals::it::terminate(*daemon) == 0);
}
