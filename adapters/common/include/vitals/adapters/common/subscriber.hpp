#pragma once
/// Internal to vitals::adapters: what every MQTT-subscribing source shares (the MQTT source and
/// the BLE-to-MQTT gateway source): a Paho client with a persistent session, reconnect back-off,
/// resubscription on every (re)connect and a clean stop; plus the rate-limited reject log.

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <vitals/adapters/common/broker.hpp>
#include <vitals/core/stats.hpp>

namespace vitals::adapters::common {

/// Replaces bytes that could forge log lines or upset terminals; cuts text longer than `max`.
std::string printable(std::string_view s, std::size_t max);

/// Warn-level reject lines, at most one per reason per interval, saying how many were held
/// back: a misbehaving device can send thousands of bad messages a second, and a log that
/// floods hides everything else. Topic and payload (health data) only at debug level. Not
/// thread-safe: used from one callback thread.
class reject_log {
 public:
  /// `prefix` starts every line ("mqtt", "ble-gateway").
  explicit reject_log(std::string prefix) : prefix_(std::move(prefix)) {}

  /// Logs one rejection; `why` must be free of ids and values (it goes to warn level).
  void note(core::reject_reason reason, std::string_view why, std::string_view topic,
            std::string_view payload);

 private:
  struct entry {
    std::chrono::steady_clock::time_point next{};
    std::uint64_t suppressed = 0;
  };
  std::string prefix_;
  std::array<entry, core::reject_reason_count> entries_{};
  std::chrono::seconds interval_{10};
};

/// Connection settings of a subscriber.
struct subscriber_options {
  std::string name;  ///< log prefix and option prefix in errors ("mqtt", "ble-gateway")
  broker_options broker;
  std::string client_id;
  std::vector<std::string> filters;  ///< MQTT topic filters to subscribe to
  int qos = 1;
};

/// A Paho async_client subscribed to a fixed set of filters. Messages are handed to `handler`
/// on Paho's callback thread, one at a time; the handler must not throw (what escapes is
/// caught and logged). After stop() returns, the handler is never called again.
class subscriber {
 public:
  using message_handler = std::function<void(std::string_view topic, std::string_view payload)>;

  /// Validates the options (throws std::invalid_argument naming the option) without connecting.
  subscriber(subscriber_options options, message_handler handler);
  ~subscriber();
  subscriber(const subscriber&) = delete;
  subscriber& operator=(const subscriber&) = delete;

  /// Starts connecting in the background; an unreachable broker is retried, not an error.
  void start();
  /// Disconnects (keeping a persistent session), waits for a running handler; idempotent.
  void stop();
  /// Disconnects without waiting, keeping the session: with a persistent session the broker
  /// queues what is published until resume() connects again (with a clean one it is lost, and
  /// a warning says so). No reconnect in between. Not from a handler.
  void pause();
  /// Connects again after pause(); the broker then delivers what it queued.
  void resume();
  /// True while connected with every subscription acknowledged.
  bool connected() const noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace vitals::adapters::common
