#include <vitals/simulators/publisher.hpp>

#include <atomic>
#include <deque>
#include <stdexcept>

#include <mqtt/async_client.h>
#include <spdlog/spdlog.h>

namespace vitals::simulators {

using std::chrono::milliseconds;

struct mqtt_publisher::impl {
  mqtt_settings settings;
  mqtt::async_client client;
  std::deque<mqtt::delivery_token_ptr> pending;
  std::atomic<bool> lost{false};
  bool closed = false;

  explicit impl(mqtt_settings s)
      : settings(std::move(s)),
        client(settings.broker, settings.client_id, create_options(settings.max_inflight)) {}

  // Paho C also caps publishes queued but not yet written to the socket (100 by default,
  // MQTTASYNC_MAX_BUFFERED_MESSAGES); the window must fit in that queue too.
  static mqtt::create_options create_options(int window) {
    mqtt::create_options o(MQTTVERSION_DEFAULT, window);
    o.set_send_while_disconnected(false);
    return o;
  }
};

mqtt_publisher::mqtt_publisher(mqtt_settings settings) {
  if (settings.qos < 0 || settings.qos > 2) throw std::invalid_argument("qos must be 0, 1 or 2");
  if (settings.max_inflight < 1) throw std::invalid_argument("max_inflight must be at least 1");
  const std::string broker = settings.broker;
  try {
    impl_ = std::make_unique<impl>(std::move(settings));
    impl_->client.set_connection_lost_handler([this](const std::string& cause) {
      impl_->lost = true;
      spdlog::error("connection to {} lost{}{}", impl_->settings.broker, cause.empty() ? "" : ": ",
                    cause);
    });
    const auto opts = mqtt::connect_options_builder()
                          .clean_session(true)
                          .keep_alive_interval(std::chrono::seconds(30))
                          .connect_timeout(impl_->settings.connect_timeout)
                          .max_inflight(impl_->settings.max_inflight)
                          .finalize();
    impl_->client.connect(opts)->wait();
  } catch (const mqtt::exception& e) {
    throw std::runtime_error("cannot connect to MQTT broker " + broker + ": " + e.what());
  }
  spdlog::info("connected to {} as {} (QoS {}, at most {} in flight)", impl_->settings.broker,
               impl_->settings.client_id, impl_->settings.qos, impl_->settings.max_inflight);
}

mqtt_publisher::~mqtt_publisher() {
  if (!impl_ || impl_->closed) return;
  try {
    if (impl_->client.is_connected()) impl_->client.disconnect()->wait_for(milliseconds(2000));
  } catch (const mqtt::exception&) {
    // Nothing to do about it while tearing down.
  }
}

void mqtt_publisher::complete_front() {
  // Wait in slices: with a clean session, Paho may never complete a token whose connection
  // went away, so a lost connection must end the wait.
  auto& token = impl_->pending.front();
  try {
    while (!token->wait_for(milliseconds(250))) {
      if (impl_->lost || !impl_->client.is_connected()) {
        throw std::runtime_error("connection to " + impl_->settings.broker + " lost with " +
                                 std::to_string(impl_->pending.size()) +
                                 " publishes unacknowledged");
      }
    }
  } catch (const mqtt::exception& e) {
    throw std::runtime_error(std::string("publish failed: ") + e.what());
  }
  impl_->pending.pop_front();
  ++delivered_;
}

void mqtt_publisher::send(const message& m) {
  auto& pending = impl_->pending;
  // Retire what is already acknowledged without blocking, then block only when the window is
  // full.
  while (!pending.empty() && pending.front()->is_complete()) complete_front();
  while (pending.size() >= static_cast<std::size_t>(impl_->settings.max_inflight)) {
    complete_front();
  }
  if (impl_->lost) throw std::runtime_error("connection to " + impl_->settings.broker + " lost");
  try {
    pending.push_back(impl_->client.publish(m.topic, m.payload.data(), m.payload.size(),
                                            impl_->settings.qos, false));
  } catch (const mqtt::exception& e) {
    throw std::runtime_error(std::string("publish failed: ") + e.what());
  }
}

std::uint64_t mqtt_publisher::finish(milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto& pending = impl_->pending;
  while (!pending.empty() && !impl_->lost) {
    const auto left =
        std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left <= milliseconds(0)) break;
    try {
      if (!pending.front()->wait_for(std::min(left, milliseconds(250)))) continue;
      ++delivered_;
    } catch (const mqtt::exception& e) {
      spdlog::warn("a publish failed while draining: {}", e.what());
    }
    pending.pop_front();
  }
  const std::uint64_t undelivered = pending.size();
  if (undelivered > 0) {
    spdlog::warn("{} publishes were not acknowledged before closing", undelivered);
  }
  pending.clear();
  impl_->closed = true;
  try {
    if (impl_->client.is_connected()) impl_->client.disconnect()->wait_for(milliseconds(5000));
  } catch (const mqtt::exception& e) {
    spdlog::warn("disconnect from {}: {}", impl_->settings.broker, e.what());
  }
  return undelivered;
}

}  // namespace vitals::simulators
