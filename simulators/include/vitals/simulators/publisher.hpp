#pragma once
/// The MQTT sink of vitals-sim: Paho async_client with a bounded window of unacknowledged
/// publishes, so that --speed max pushes back instead of queueing without limit.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <vitals/simulators/runner.hpp>

namespace vitals::simulators {

/// Connection settings of the publisher.
struct mqtt_settings {
  std::string broker = "tcp://localhost:1883";  ///< server URI
  std::string client_id;                        ///< must be unique on the broker
  int qos = 1;                                  ///< 0, 1 or 2
  int max_inflight = 1000;  ///< unacknowledged publishes at most (also Paho's max_inflight)
  std::chrono::seconds connect_timeout{10};
};

/// Publishes messages to an MQTT broker.
class mqtt_publisher final : public message_sink {
 public:
  /// Connects; throws std::runtime_error naming the broker and the reason when it cannot.
  explicit mqtt_publisher(mqtt_settings settings);
  /// Disconnects if finish() has not.
  ~mqtt_publisher() override;
  mqtt_publisher(const mqtt_publisher&) = delete;
  mqtt_publisher& operator=(const mqtt_publisher&) = delete;

  /// Publishes; first waits for the oldest publish while max_inflight are outstanding. Throws
  /// std::runtime_error when the connection is lost or a publish fails.
  void send(const message& m) override;
  std::uint64_t finish(std::chrono::milliseconds timeout) override;
  std::uint64_t delivered() const noexcept override { return delivered_; }

 private:
  struct impl;
  void complete_front();
  std::unique_ptr<impl> impl_;
  std::uint64_t delivered_ = 0;
};

}  // namespace vitals::simulators
