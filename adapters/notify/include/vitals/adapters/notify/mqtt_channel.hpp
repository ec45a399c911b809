#pragma once
/// The MQTT connection for alerts: publishes notifications of kind mqtt (QoS 1) and receives
/// acknowledgement commands. Separate from the data source's connection so that a flood of
/// vitals never delays an alert, and each has its own client id and session.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <vitals/adapters/common/broker.hpp>
#include <vitals/core/notifier.hpp>

namespace vitals::adapters::notify {

struct mqtt_channel_options {
  common::broker_options
      broker;  ///< the [mqtt] broker (its clean_session is not used: always clean)
  std::string client_id = "vitalsd-alerts";
  std::string command_topic;  ///< empty: no subscription, no commands
  int qos = 1;                ///< of publishes and of the command subscription
};

/// An operator command received on the command topic.
struct ack_command {
  std::uint64_t alert_id = 0;
  std::string action;  ///< "acknowledge" or "resolve"
  std::string by;
  std::string reason;
};

/// Validates a command: {"alert_id":N,"action":"acknowledge"|"resolve","by":"...","reason":"..."}
/// ("reason" is optional). On failure returns nullopt and sets
/// `error` to what is wrong (without echoing the payload).
std::optional<ack_command> parse_ack_command(std::string_view payload, std::string& error);

/// One Paho async client. Publishing fails fast ("not connected") while the broker is away: the
/// dispatcher retries with backoff, and its outbox survives restarts, which Paho's in-memory
/// offline buffer would not.
class mqtt_channel final : public core::message_publisher {
 public:
  using command_handler = std::function<void(const std::string& topic, const std::string& payload)>;

  /// Throws std::invalid_argument for unusable options.
  explicit mqtt_channel(mqtt_channel_options options);
  ~mqtt_channel() override;
  mqtt_channel(const mqtt_channel&) = delete;
  mqtt_channel& operator=(const mqtt_channel&) = delete;

  /// Sets the command handler; call before start(). Runs on Paho's thread: keep it short.
  void on_command(command_handler handler);

  /// Starts connecting (in the background; reconnects automatically).
  void start();

  /// Disconnects; publishes still waiting for PUBACK report "channel stopped". Idempotent.
  void stop();

  /// Connected to the broker (and subscribed to the command topic, when there is one).
  bool connected() const noexcept;

  void publish(std::string topic, std::string payload,
               std::function<void(std::string error)> done) override;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace vitals::adapters::notify
