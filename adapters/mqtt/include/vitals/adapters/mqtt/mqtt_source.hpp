#pragma once
/// The MQTT input: a Paho async_client subscribed to topic templates, decoding compact JSON in
/// Paho's callback thread and pushing samples into a core::sample_sink.

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <vitals/adapters/common/broker.hpp>
#include <vitals/core/device_directory.hpp>
#include <vitals/core/source.hpp>
#include <vitals/core/stats.hpp>

namespace vitals::adapters::mqtt {

/// Settings of one MQTT source ([[sources]] type "mqtt", on the [mqtt] broker).
struct source_options {
  common::broker_options broker;      ///< the shared broker connection
  std::string client_id = "vitalsd";  ///< fixed: the persistent session's key
  std::vector<std::string> topics = {"vitals/{patient}/{device}"};  ///< topic templates
  int qos = 1;                                                   ///< subscription QoS (0, 1 or 2)
  std::size_t max_payload_bytes = 65536;                         ///< larger messages are rejected
  std::unordered_map<std::string, std::string> device_patients;  ///< patient of unmapped devices
  /// The daemon's live [[devices]]; when set, `device_patients` is unused. Must outlive the source.
  const core::device_directory* directory = nullptr;
  std::chrono::hours max_future{24};  ///< device time may lead the receive time by this much
  std::string name = "mqtt";          ///< instance name: logs, metrics, the ring
};

/// core::source on MQTT. Persistent session under a fixed client id, automatic reconnect with
/// back-off, resubscription on every (re)connect. A message that cannot be decoded is counted,
/// logged (rate-limited, without health data above debug level) and acknowledged like any
/// other, so it can never stall the subscription.
class mqtt_source final : public core::source {
 public:
  /// Validates the options (throws std::invalid_argument naming the option) without connecting.
  mqtt_source(source_options options, core::sample_sink& sink, core::stats& stats);
  ~mqtt_source() override;
  mqtt_source(const mqtt_source&) = delete;
  mqtt_source& operator=(const mqtt_source&) = delete;

  std::string_view name() const noexcept override;

  /// Starts connecting in the background and returns; an unreachable broker is retried with
  /// back-off and logged, it is not an error. Call once.
  void start() override;

  /// Disconnects (keeping the persistent session and its subscriptions), waits until the callback
  /// thread has left push(): after it returns, the sink is never called again. Idempotent.
  void stop() override;
  /// Disconnects while the store fails; the broker keeps what is published for the session.
  void pause() override;
  void resume() override;

  /// True while connected to the broker with every subscription acknowledged (receiving).
  bool connected() const noexcept;

  /// Up while connected().
  core::plugin_status status() const override;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace vitals::adapters::mqtt
