#include <catch2/catch.hpp>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <vitals/adapters/notify/mqtt_channel.hpp>
#include <vitals/test/mosquitto_broker.hpp>

using namespace std::chrono_literals;
using vitals::adapters::notify::mqtt_channel;
using vitals::adapters::notify::mqtt_channel_options;
using vitals::test::eventually;
using vitals::test::mosquitto_broker;
using vitals::test::mqtt_subscriber;

// A namespace of its own: the sanitizer presets are unity builds (tests/README.md).
namespace mqtt_channel_test {
namespace {

mqtt_channel_options options_for(const mosquitto_broker& broker) {
  mqtt_channel_options o;
  o.broker.server_uri = broker.uri();
  o.client_id = "vitalsd-alerts-test-" + std::to_string(broker.port());
  o.broker.reconnect_min = 1s;
  o.broker.reconnect_max = 2s;
  return o;
}

/// The result of one publish, set from Paho's thread.
class outcome {
 public:
  std::function<void(std::string)> callback() {
    return [this](std::string error) {
      std::lock_guard lock(mutex_);
      ++calls_;
      error_ = std::move(error);
      cv_.notify_all();
    };
  }
  /// The error text once done was called; nullopt on timeout.
  std::optional<std::string> wait(std::chrono::milliseconds timeout = 5s) {
    std::unique_lock lock(mutex_);
    if (!cv_.wait_for(lock, timeout, [this] { return calls_ > 0; })) return std::nullopt;
    return error_;
  }
  int calls() const {
    std::lock_guard lock(mutex_);
    return calls_;
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  int calls_ = 0;
  std::string error_;
};

}  // namespace

TEST_CASE("mqtt channel: a publish reaches a subscriber and is confirmed", "[mqtt_channel]") {
  mosquitto_broker broker;
  mqtt_subscriber sub(broker.uri(), "vitalsd/alerts/#");
  mqtt_channel channel(options_for(broker));
  channel.start();
  REQUIRE(eventually([&] { return channel.connected(); }, 5s));
  outcome result;
  channel.publish("vitalsd/alerts/p1/spo2_low", R"({"a":1})", result.callback());
  const auto error = result.wait();
  REQUIRE(error);
  CHECK(error->empty());
  REQUIRE(sub.wait_for(1));
  const auto got = sub.messages();
  CHECK(got[0].first == "vitalsd/alerts/p1/spo2_low");
  CHECK(got[0].second == R"({"a":1})");
  channel.stop();
  CHECK(result.calls() == 1);
}

TEST_CASE("mqtt channel: commands on the command topic reach the handler", "[mqtt_channel]") {
  mosquitto_broker broker;
  auto o = options_for(broker);
  o.command_topic = "vitalsd/commands";
  mqtt_channel channel(o);
  std::mutex mutex;
  std::vector<std::pair<std::string, std::string>> commands;
  channel.on_command([&](const std::string& topic, const std::string& payload) {
    std::lock_guard lock(mutex);
    commands.emplace_back(topic, payload);
  });
  channel.start();
  REQUIRE(eventually([&] { return channel.connected(); }, 5s));
  const std::string cmd = R"({"alert_id":42,"action":"acknowledge","by":"nurse.kim"})";
  vitals::test::publish(broker.uri(), "vitalsd/commands", cmd);
  REQUIRE(eventually(
      [&] {
        std::lock_guard lock(mutex);
        return !commands.empty();
      },
      5s));
  channel.stop();
  std::lock_guard lock(mutex);
  CHECK(commands[0].first == "vitalsd/commands");
  CHECK(commands[0].second == cmd);
}

TEST_CASE("mqtt channel: publishing while the broker is down fails at once", "[mqtt_channel]") {
  auto broker = std::make_unique<mosquitto_broker>();
  const auto o = options_for(*broker);
  mqtt_channel channel(o);
  channel.start();
  REQUIRE(eventually([&] { return channel.connected(); }, 5s));
  broker->kill();
  REQUIRE(eventually([&] { return !channel.connected(); }, 5s));
  outcome result;
  channel.publish("vitalsd/alerts/p1/spo2_low", "{}", result.callback());
  const auto error = result.wait(1s);
  REQUIRE(error);
  CHECK(*error == "not connected");
  channel.stop();

  // Never connected, and after stop(): still an answer, not a hang.
  mqtt_channel idle(o);
  idle.start();
  outcome early;
  idle.publish("t", "{}", early.callback());
  CHECK(early.wait(1s) == std::optional<std::string>("not connected"));
  idle.stop();
  outcome late;
  idle.publish("t", "{}", late.callback());
  CHECK(late.wait(1s) == std::optional<std::string>("channel stopped"));
}

TEST_CASE("mqtt channel: unusable options are rejected", "[mqtt_channel]") {
  mqtt_channel_options o;
  o.broker.server_uri = "";
  CHECK_THROWS_AS(mqtt_channel(o), std::invalid_argument);
  o.broker.server_uri = "tcp://127.0.0.1:1";
  o.broker.reconnect_min = 0s;
  CHECK_THROWS_AS(mqtt_channel(o), std::invalid_argument);
}

}  // namespace mqtt_channel_test
