// Malformed input through a real broker into vitalsd: every bad message rejected with a counted
// reason, the daemon keeps running, every good sample around them is stored, no alert is raised.

#include <catch2/catch.hpp>
#include <chrono>
#include <string>

#include "daemon_fixture.hpp"

using namespace std::chrono_literals;

// A namespace of its own: the sanitizer presets are unity builds (tests/README.md).
namespace bad_input_test {
namespace {

using vitals::it::now_ms;

}  // namespace

TEST_CASE("malformed messages are rejected, counted, and lose no good sample", "[integration]") {
  vitals::it::daemon_env env;
  auto daemon = env.start_daemon();
  vitals::test::mqtt_publisher pub(env.broker.uri(), "bad-input-publisher");

  const auto t0 = now_ms() - 600'000;
  const std::string topic = "vitals/p-good/ox-good";
  const std::string bad_topic = "vitals/p-bad/ox-bad";
  const std::string huge(1 << 20, 'x');
  const std::vector<std::string> bad = {
      R"({"device":"ox-bad","ts":)",                           // invalid JSON
      R"(not json at all)",                                    // invalid JSON
      R"({"device":"ox-bad","hr":70})",                        // missing ts
      R"({"device":"ox-bad","ts":1764000000000})",             // no vital at all
      R"({"device":"ox-bad","ts":1764000000000,"bp":120})",    // unknown vital
      R"({"device":"ox-bad","ts":1764000000000,"hr":"NaN"})",  // NaN as a string
      R"({"device":"ox-bad","ts":1764000000000,"hr":1e400})",  // overflows to infinity
      R"({"device":"ox-bad","ts":1764000000000,"hr":400})",    // no heart beats 400/min
      R"({"device":"ox-bad","ts":1764000000000,"spo2":0})",    // probe off, not a desat
      R"({"device":"ox-bad","ts":"yesterday","hr":70})",       // bad timestamp
      R"({"device":"ox-bad","ts":1764000000000,"glucose":{"value":5,"unit":"furlongs"}})",
      "{\"device\":\"ox-bad\",\"ts\":1764000000000,\"note\":\"" + huge + "\",\"hr\":70}",
  };

  constexpr int good_count = 120;
  for (int i = 0; i < good_count; ++i) {
    const auto ts = t0 + i * 1000;
    pub.publish(topic,
                R"({"device":"ox-good","ts":)" + std::to_string(ts) + R"(,"hr":72,"spo2":97})");
    pub.publish(bad_topic, bad[static_cast<std::size_t>(i) % bad.size()]);
  }

  // Every good reading (2 samples each) arrives; the daemon is still up after all the bad ones.
  const auto expected = static_cast<std::int64_t>(good_count) * 2;
  CHECK(vitals::test::eventually(
      [&] { return env.count("SELECT count(*) FROM sample_view") == expected; }, 30s));
  CHECK(daemon->running());

  const auto code = vitals::it::terminate(*daemon);
  REQUIRE(code.has_value());
  CHECK(*code == 0);
  const auto log = daemon->log_text();
  INFO(log);

  CHECK(env.count("SELECT count(*) FROM sample_view") == expected);
  CHECK(env.count("SELECT count(*) FROM sample_view WHERE patient = 'p-bad'") == 0);
  CHECK(env.count("SELECT count(*) FROM alert_view") == 0);

  // The closing statistics name each reason; 120 bad messages in 12 kinds = 10 of each.
  CHECK(log.find("rejected=120 ") != std::string::npos);
  for (const char* reason : {"invalid_json=", "missing_field=10", "unknown_vital=20", "bad_value=",
                             "implausible=20", "bad_timestamp=10", "bad_unit=10", "too_large=10"}) {
    INFO(reason);
    CHECK(log.find(reason) != std::string::npos);
  }
  // Health data stays out of the log at info level.
  CHECK(log.find("p-good") == std::string::npos);
  CHECK(log.find("p-bad") == std::string::npos);
}

}  // namespace bad_input_test
