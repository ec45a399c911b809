#include <catch2/catch.hpp>

#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <vitals/adapters/mqtt/mqtt_source.hpp>
#include <vitals/test/collecting_sink.hpp>
#include <vitals/test/mosquitto_broker.hpp>

using namespace std::chrono_literals;
using vitals::adapters::mqtt::mqtt_source;
using vitals::adapters::mqtt::source_options;
using vitals::test::eventually;
using vitals::test::mosquitto_broker;
using vitals::test::mqtt_publisher;
namespace core = vitals::core;
using core::reject_reason;

// A namespace of its own: the sanitizer presets are unity builds (tests/README.md).
namespace mqtt_source_test {
namespace {

using vitals::test::collecting_sink;

source_options options_for(const std::string& uri, std::uint16_t port) {
  source_options o;
  o.broker.server_uri = uri;
  o.client_id = "vitalsd-test-" + std::to_string(port);  // unique per broker port
  o.topics = {"vitals/{patient}/{device}", "kinds/{patient}/{device}/{kind}"};
  o.broker.reconnect_min = 1s;
  o.broker.reconnect_max = 2s;
  return o;
}

std::string now_ms_text() {
  return std::to_string(core::now_ms().time_since_epoch().count());
}

}  // namespace

TEST_CASE("mqtt source: good messages arrive, bad ones are counted by reason and do not stall",
          "[mqtt][integration]") {
  mosquitto_broker broker;
  collecting_sink sink;
  core::stats stats;
  mqtt_source source(options_for(broker.uri(), broker.port()), sink, stats);
  CHECK(source.name() == "mqtt");
  source.start();
  REQUIRE(eventually([&] { return source.connected(); }));

  mqtt_publisher pub(broker.uri());
  const auto ts = now_ms_text();
  std::size_t expected = 0, messages = 0;
  auto good = [&](const std::string& topic, const std::string& payload, std::size_t samples) {
    pub.publish(topic, payload, 1);
    expected += samples;
    ++messages;
  };
  auto bad = [&](const std::string& topic, const std::string& payload) {
    pub.publish(topic, payload, 1);
    ++messages;
  };

  good("vitals/p1/hr-1", R"({"ts":)" + ts + R"(,"hr":70})", 1);
  bad("vitals/p1/hr-1", "{");                      // invalid_json
  bad("vitals/p1/hr-1", std::string(70000, ' '));  // too_large
  good("vitals/p1/ox-1", R"({"ts":)" + ts + R"(,"spo2":97,"hr":80,"seq":5})", 2);
  bad("vitals/p1/hr-1", R"({"ts":)" + ts + R"(,"bp":120})");                  // unknown_vital
  bad("vitals/p1/hr-1", R"({"ts":)" + ts + R"(,"hr":"NaN"})");                // bad_value
  bad("kinds/p2/cgm-1/blood-pressure", R"({"ts":)" + ts + R"(,"value":5})");  // bad_topic
  good("kinds/p2/cgm-1/glucose",
       R"({"ts":"2024-11-28T03:55:00Z","value":{"value":5.5,"unit":"mmol/L"}})", 1);
  // Batch with one bad element (bad_timestamp) between two good ones.
  good("vitals/p1/hr-1",
       R"([{"ts":)" + ts + R"(,"hr":71},{"ts":"later","hr":72},{"ts":)" + ts + R"(,"hr":73}])", 2);
  good("vitals/p1/hr-1", R"({"ts":)" + ts + R"(,"hr":74})", 1);  // after all the poison

  REQUIRE(eventually([&] { return sink.size() >= expected; }));
  REQUIRE(eventually([&] { return stats.messages_received.load() == messages; }));
  CHECK(sink.size() == expected);
  CHECK(stats.samples_decoded.load() == expected);
  CHECK(stats.rejects(reject_reason::invalid_json) == 1);
  CHECK(stats.rejects(reject_reason::too_large) == 1);
  CHECK(stats.rejects(reject_reason::unknown_vital) == 1);
  CHECK(stats.rejects(reject_reason::bad_value) == 1);
  CHECK(stats.rejects(reject_reason::bad_topic) == 1);
  CHECK(stats.rejects(reject_reason::bad_timestamp) == 1);
  CHECK(stats.total_rejects() == 6);

  // In order (one callback thread, one publisher) and with ids from the topics.
  const auto got = sink.samples();
  REQUIRE(got.size() == 7);
  CHECK(got[0].patient.view() == "p1");
  CHECK(got[0].device.view() == "hr-1");
  CHECK(got[0].value == 70.0);
  CHECK(got[1].kind == core::vital_kind::heart_rate);
  CHECK(got[2].kind == core::vital_kind::spo2);
  CHECK(got[2].sequence == 5);
  CHECK(got[3].patient.view() == "p2");
  CHECK(got[3].kind == core::vital_kind::glucose);
  CHECK(got[3].value == Approx(5.5 * core::glucose_mgdl_per_mmol));
  CHECK(got[4].value == 71.0);
  CHECK(got[5].value == 73.0);
  CHECK(got[6].value == 74.0);

  // After stop() nothing more reaches the sink, and the source says it is not receiving.
  source.stop();
  CHECK_FALSE(source.connected());
  pub.publish("vitals/p1/hr-1", R"({"ts":)" + ts + R"(,"hr":75})", 1);
  std::this_thread::sleep_for(200ms);  // a negative check needs some time to pass
  CHECK(sink.size() == expected);
  source.stop();  // idempotent
}

TEST_CASE("mqtt source: resubscribes after the broker restarts without its session",
          "[mqtt][integration]") {
  auto broker = std::make_unique<mosquitto_broker>();
  const auto port = broker->port();
  const auto uri = broker->uri();
  collecting_sink sink;
  core::stats stats;
  mqtt_source source(options_for(uri, port), sink, stats);
  source.start();
  REQUIRE(eventually([&] { return source.connected(); }));
  vitals::test::publish(uri, "vitals/p1/hr-1", R"({"ts":)" + now_ms_text() + R"(,"hr":60})");
  REQUIRE(eventually([&] { return sink.size() == 1; }));

  broker->stop();
  REQUIRE(eventually([&] { return !source.connected(); }));
  // A new broker on the same port: persistence is off, so it knows nothing of our session and
  // only a resubscription in the connected callback brings messages back.
  broker = std::make_unique<mosquitto_broker>(port);
  REQUIRE(eventually([&] { return source.connected(); }, 15s));
  vitals::test::publish(uri, "vitals/p1/hr-1", R"({"ts":)" + now_ms_text() + R"(,"hr":61})");
  REQUIRE(eventually([&] { return sink.size() == 2; }));
  CHECK(sink.samples()[1].value == 61.0);
  CHECK(stats.total_rejects() == 0);
  source.stop();
}

TEST_CASE("mqtt source: start() with no broker yet keeps retrying and connects later",
          "[mqtt][integration]") {
  const auto port = vitals::test::free_loopback_port();
  const auto uri = "tcp://127.0.0.1:" + std::to_string(port);
  collecting_sink sink;
  core::stats stats;
  mqtt_source source(options_for(uri, port), sink, stats);
  REQUIRE_NOTHROW(source.start());
  CHECK_FALSE(source.connected());
  mosquitto_broker broker(port);
  REQUIRE(eventually([&] { return source.connected(); }, 15s));
  vitals::test::publish(uri, "vitals/p3/hr-3", R"({"ts":)" + now_ms_text() + R"(,"hr":90})");
  REQUIRE(eventually([&] { return sink.size() == 1; }));
  CHECK(sink.samples()[0].patient.view() == "p3");
}

TEST_CASE("mqtt source: stop() while the broker is still unreachable ends the retries",
          "[mqtt][integration]") {
  const auto port = vitals::test::free_loopback_port();
  const auto uri = "tcp://127.0.0.1:" + std::to_string(port);
  collecting_sink sink;
  core::stats stats;
  auto options = options_for(uri, port);
  mqtt_source source(options, sink, stats);
  source.start();
  source.stop();
  // Paho would otherwise connect in the background once a broker appears, and take the
  // session (and its queued messages) that a restarted daemon is about to claim.
  mosquitto_broker broker(port);
  vitals::test::publish(uri, "vitals/p1/hr-1", R"({"ts":)" + now_ms_text() + R"(,"hr":60})");
  std::this_thread::sleep_for(2500ms);  // longer than reconnect_max: a retry would have happened
  CHECK_FALSE(source.connected());
  CHECK(sink.size() == 0);
  CHECK(broker.log_text().find(options.client_id) == std::string::npos);
}

TEST_CASE("mqtt source: invalid options are rejected at construction, naming the option",
          "[mqtt]") {
  collecting_sink sink;
  core::stats stats;
  auto make = [&](auto change) {
    source_options o;
    change(o);
    return mqtt_source(o, sink, stats);
  };
  CHECK_THROWS_WITH(make([](source_options& o) { o.topics = {"vitals/{nope}"}; }),
                    Catch::Contains("vitals/{nope}"));
  CHECK_THROWS_WITH(make([](source_options& o) { o.qos = 3; }), Catch::Contains("qos"));
  CHECK_THROWS_WITH(make([](source_options& o) { o.topics.clear(); }), Catch::Contains("topics"));
  CHECK_THROWS_WITH(make([](source_options& o) { o.broker.reconnect_max = 0s; }),
                    Catch::Contains("reconnect"));
  CHECK_THROWS_WITH(make([](source_options& o) { o.broker.server_uri = "nonsense://x"; }),
                    Catch::Contains("nonsense://x"));
  CHECK_THROWS_WITH(make([](source_options& o) {
                      o.device_patients = {{"d", ""}};
                    }),
                    Catch::Contains("device_patients"));
  // A source that never started stops (and is destroyed) quietly.
  source_options o;
  mqtt_source idle(o, sink, stats);
  idle.stop();
}

}  // namespace mqtt_source_test
