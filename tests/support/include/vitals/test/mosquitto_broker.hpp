#pragma once
/// A private mosquitto on a loopback port, configured from the shipped template, plus small
/// synchronous MQTT helpers for tests.

#include <sys/types.h>
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>

#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <vitals/test/process.hpp>
#include <vitals/test/temp_dir.hpp>

namespace vitals::test {

/// A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0, read it, close).
std::uint16_t free_loopback_port();

/// True when something accepts TCP connections on 127.0.0.1:`port`.
bool port_accepts(std::uint16_t port);

/// mosquitto started from config/mosquitto/vitals-mosquitto.conf.in with @PORT@ and @DIR@
/// filled in; its config and log live in a temp dir of its own.
class mosquitto_broker {
 public:
  /// Starts the broker on `port` (0: a free one) and waits until it accepts connections;
  /// throws std::runtime_error with the broker's log when it does not within `timeout`.
  /// `extra_config` lines are appended to the shipped config (benchmarks try broker settings).
  explicit mosquitto_broker(std::uint16_t port = 0,
                            std::chrono::milliseconds timeout = std::chrono::seconds(10),
                            const std::vector<std::string>& extra_config = {});
  ~mosquitto_broker();
  mosquitto_broker(const mosquitto_broker&) = delete;
  mosquitto_broker& operator=(const mosquitto_broker&) = delete;

  /// The listening port.
  std::uint16_t port() const noexcept { return port_; }

  /// The broker's process id, or -1 once stopped.
  pid_t pid() const noexcept;

  /// "tcp://127.0.0.1:PORT".
  std::string uri() const;

  /// Stops the broker (SIGTERM, then SIGKILL after 5 s) and waits until the port is closed.
  void stop();

  /// Kills the broker with SIGKILL, as a crash would.
  void kill();

  /// The broker's log so far.
  std::string log_text() const;

 private:
  std::uint16_t port_ = 0;
  temp_dir dir_;
  std::unique_ptr<child_process> process_;
};

/// TLS files of a test client (an ssl:// URI); empty: none.
struct mqtt_tls {
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
};

/// A connected MQTT publisher for tests (clean session, no persistence); each publish waits
/// until the broker has acknowledged it (QoS 1/2) or it has been sent (QoS 0).
class mqtt_publisher {
 public:
  /// Connects to `uri`; throws std::runtime_error when that fails.
  explicit mqtt_publisher(const std::string& uri, const std::string& client_id = "vitals-test-pub",
                          const mqtt_tls& tls = {});
  ~mqtt_publisher();
  mqtt_publisher(const mqtt_publisher&) = delete;
  mqtt_publisher& operator=(const mqtt_publisher&) = delete;

  /// Publishes one message and waits for its completion; throws std::runtime_error on failure.
  void publish(const std::string& topic, std::string_view payload, int qos = 1);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// A connected MQTT subscriber for tests that records every message on `filter` (QoS 1).
class mqtt_subscriber {
 public:
  /// Connects and subscribes; throws std::runtime_error when either fails.
  mqtt_subscriber(const std::string& uri, const std::string& filter,
                  const std::string& client_id = "vitals-test-sub");
  ~mqtt_subscriber();
  mqtt_subscriber(const mqtt_subscriber&) = delete;
  mqtt_subscriber& operator=(const mqtt_subscriber&) = delete;

  /// (topic, payload) of every message so far, in arrival order.
  std::vector<std::pair<std::string, std::string>> messages() const;
  /// Waits until at least `n` messages arrived; false on timeout.
  bool wait_for(std::size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(5)) const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// Connects, publishes one message, waits for its acknowledgement and disconnects.
void publish(const std::string& uri, const std::string& topic, std::string_view payload,
             int qos = 1);

/// Polls `pred` until it is true or `timeout` passes; returns its last value. For tests that
/// wait for something asynchronous without sleeping longer than needed.
template <typename Pred>
bool eventually(Pred&& pred, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto pause = std::chrono::milliseconds(1);
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline) return pred();
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(50));
  }
  return true;
}

}  // namespace vitals::test
