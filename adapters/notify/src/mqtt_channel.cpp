// The alert channel's MQTT client (Paho async) and the command parser.
#include <vitals/adapters/notify/mqtt_channel.hpp>

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <stdexcept>
#include <utility>
#include <vector>

#include <mqtt/async_client.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include <vitals/adapters/common/paho_connect.hpp>
#include <vitals/adapters/common/tls.hpp>

namespace vitals::adapters::notify {

namespace {

using namespace std::chrono_literals;

/// How long stop() waits for the broker to confirm DISCONNECT.
constexpr auto broker_reply_timeout = 2s;

/// Commands are small; anything bigger is not one of ours.
constexpr std::size_t max_command_bytes = 4096;
constexpr std::size_t max_by_chars = 128;
constexpr std::size_t max_reason_chars = 1024;

}  // namespace

std::optional<ack_command> parse_ack_command(std::string_view payload, std::string& error) {
  if (payload.size() > max_command_bytes) {
    error = "command larger than " + std::to_string(max_command_bytes) + " bytes";
    return std::nullopt;
  }
  const auto doc = nlohmann::json::parse(payload, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    error = "not JSON";
    return std::nullopt;
  }
  if (!doc.is_object()) {
    error = "not a JSON object";
    return std::nullopt;
  }
  ack_command c;
  const auto id = doc.find("alert_id");
  if (id == doc.end() || !id->is_number_integer() || *id <= 0) {
    error = "alert_id missing or not a positive integer";
    return std::nullopt;
  }
  c.alert_id = id->get<std::uint64_t>();
  const auto action = doc.find("action");
  if (action == doc.end() || !action->is_string() ||
      (*action != "acknowledge" && *action != "resolve")) {
    error = "action must be acknowledge or resolve";
    return std::nullopt;
  }
  c.action = action->get<std::string>();
  const auto by = doc.find("by");
  if (by == doc.end() || !by->is_string() || by->get_ref<const std::string&>().empty()) {
    error = "by missing";
    return std::nullopt;
  }
  c.by = by->get<std::string>();
  if (c.by.size() > max_by_chars) {
    error = "by longer than " + std::to_string(max_by_chars) + " bytes";
    return std::nullopt;
  }
  if (const auto reason = doc.find("reason"); reason != doc.end() && !reason->is_null()) {
    if (!reason->is_string()) {
      error = "reason must be a string";
      return std::nullopt;
    }
    c.reason = reason->get<std::string>();
    if (c.reason.size() > max_reason_chars) {
      error = "reason longer than " + std::to_string(max_reason_chars) + " bytes";
      return std::nullopt;
    }
  }
  error.clear();
  return c;
}

struct mqtt_channel::impl {
  explicit impl(mqtt_channel_options o)
      : options(std::move(o)),
        publish_listener([this](const ::mqtt::token& t, bool ok) { on_publish_result(t, ok); }),
        connect_listener([this](const ::mqtt::token& t, bool ok) { on_connect_result(t, ok); }),
        subscribe_listener(
            [this](const ::mqtt::token& t, bool ok) { on_subscribe_result(t, ok); }) {
    if (options.broker.server_uri.empty())
      throw std::invalid_argument("alert mqtt server_uri is empty");
    if (options.client_id.empty()) throw std::invalid_argument("alert mqtt client_id is empty");
    if (options.qos < 0 || options.qos > 2)
      throw std::invalid_argument("alert mqtt qos " + std::to_string(options.qos) +
                                  " is not 0, 1 or 2");
    if (options.broker.reconnect_min < 1s ||
        options.broker.reconnect_max < options.broker.reconnect_min)
      throw std::invalid_argument(
          "alert mqtt reconnect_min must be at least 1 s and not above reconnect_max");
    try {
      // No client-side persistence: the dispatcher's outbox is what survives a restart.
      client = std::make_shared<::mqtt::async_client>(options.broker.server_uri, options.client_id,
                                                      nullptr);
    } catch (const ::mqtt::exception& e) {
      throw std::invalid_argument("alert mqtt server_uri '" + options.broker.server_uri +
                                  "' rejected by Paho: " + e.what());
    }
    raw = client.get();
  }

  mqtt_channel_options options;
  common::paho_listener publish_listener;
  common::paho_listener connect_listener;
  common::paho_listener subscribe_listener;

  // state_mutex guards client/started/stopped and is never held while calling into Paho: Paho
  // holds its own lock while it runs our callbacks (see mqtt_source).
  mutable std::mutex state_mutex;
  std::shared_ptr<::mqtt::async_client> client;
  bool started = false;
  bool stopped = false;
  // The client for Paho's callbacks, which only run while it exists; they take no lock for it.
  ::mqtt::async_client* raw = nullptr;

  std::atomic<bool> stopping{false};
  std::atomic<bool> link_up{false};
  std::atomic<bool> subscribed{false};
  std::uint64_t connects = 0;  // Paho's callback thread only

  // Publishes waiting for PUBACK, by the id passed to Paho as the token's user context; whoever
  // takes an entry out (the result callback or stop()) calls its `done`: exactly once.
  std::mutex pending_mutex;
  std::map<std::uintptr_t, std::function<void(std::string)>> pending;
  std::uintptr_t next_id = 1;

  // Guards `handler` calls against stop(): no command is handled once stop() returned.
  std::mutex callback_mutex;
  bool accepting = false;
  command_handler handler;

  std::function<void(std::string)> take(std::uintptr_t id) {
    std::lock_guard lock(pending_mutex);
    const auto it = pending.find(id);
    if (it == pending.end()) return {};
    auto done = std::move(it->second);
    pending.erase(it);
    return done;
  }

  void start() {
    {
      std::lock_guard lock(state_mutex);
      if (started) throw std::logic_error("mqtt_channel::start() called twice");
      if (stopped) throw std::logic_error("mqtt_channel::start() called after stop()");
      started = true;
    }
    {
      std::lock_guard lock(callback_mutex);
      accepting = true;
    }
    raw->set_connected_handler([this](const std::string&) { on_connected(); });
    raw->set_connection_lost_handler([this](const std::string& cause) { on_lost(cause); });
    raw->set_message_callback([this](::mqtt::const_message_ptr m) { on_message(m); });
    spdlog::info("alerts mqtt: connecting to {} as client '{}'{}", options.broker.server_uri,
                 options.client_id,
                 options.command_topic.empty() ? "" : ", commands on " + options.command_topic);
    try {
      // Clean session: commands sent while vitalsd is down are not replayed later, when they
      // may no longer be what the sender meant.
      raw->connect(common::paho_connect_options(options.broker, true), nullptr, connect_listener);
    } catch (const ::mqtt::exception& e) {
      throw std::runtime_error("alerts mqtt: cannot start connecting to " +
                               options.broker.server_uri + ": " + e.what());
    }
  }

  void stop() {
    std::shared_ptr<::mqtt::async_client> dying;
    {
      std::lock_guard lock(state_mutex);
      if (stopped) return;
      stopped = true;
      dying = std::move(client);
      if (!started) {
        dying.reset();
      }
    }
    stopping = true;
    {
      std::lock_guard lock(callback_mutex);
      accepting = false;  // waits for a command handler that is running
    }
    if (dying && dying->is_connected()) {
      try {
        dying->disconnect(broker_reply_timeout)->wait_for(broker_reply_timeout + 1s);
      } catch (const ::mqtt::exception& e) {
        spdlog::warn("alerts mqtt: disconnect on stop failed: {}", e.what());
      }
    }
    // Destroying the client is the only way to end the retries of a connection that never
    // succeeded; it may call pending listeners ("discarded"), which are still alive.
    dying.reset();
    link_up = false;
    subscribed = false;
    std::map<std::uintptr_t, std::function<void(std::string)>> left;
    {
      std::lock_guard lock(pending_mutex);
      left.swap(pending);
    }
    for (auto& [id, done] : left) done("channel stopped");
    spdlog::info("alerts mqtt: stopped (broker {})", options.broker.server_uri);
  }

  void publish(std::string topic, std::string payload, std::function<void(std::string)> done) {
    std::shared_ptr<::mqtt::async_client> c;
    {
      std::lock_guard lock(state_mutex);
      if (!stopped) c = client;
    }
    if (!c) {
      done("channel stopped");
      return;
    }
    // Fail fast: Paho's offline buffer is memory only; the dispatcher's retry keeps the order
    // and the outbox keeps the message across restarts.
    if (!link_up) {
      done("not connected");
      return;
    }
    std::uintptr_t id = 0;
    {
      std::lock_guard lock(pending_mutex);
      id = next_id++;
      pending.emplace(id, std::move(done));  // before publishing: PUBACK may come at once
    }
    try {
      auto msg = ::mqtt::make_message(std::move(topic), std::move(payload), options.qos, false);
      c->publish(msg, reinterpret_cast<void*>(id), publish_listener);
    } catch (const ::mqtt::exception& e) {
      if (auto d = take(id)) d(e.what());
    }
  }

  void on_publish_result(const ::mqtt::token& t, bool ok) {
    const auto id = reinterpret_cast<std::uintptr_t>(t.get_user_context());
    auto done = take(id);
    if (!done) return;  // stop() has answered it already
    if (ok) {
      done("");
      return;
    }
    const auto rc = t.get_return_code();
    std::string why = ::mqtt::exception::error_str(rc);
    if (why.empty()) why = "error " + std::to_string(rc);
    done(why);
  }

  void on_connect_result(const ::mqtt::token& t, bool ok) {
    if (ok || stopping) return;  // on_connected() logs
    spdlog::warn("alerts mqtt: broker {} not reachable ({}); retrying every {}-{} s",
                 options.broker.server_uri, ::mqtt::exception::error_str(t.get_return_code()),
                 options.broker.reconnect_min.count(), options.broker.reconnect_max.count());
    if (common::is_tls_uri(options.broker.server_uri)) {
      spdlog::error("alerts mqtt: TLS to {}: {}", options.broker.server_uri,
                    common::diagnose_tls(options.broker.server_uri, options.broker.tls, 5s));
    }
  }

  void on_connected() {
    if (stopping) return;
    spdlog::info("alerts mqtt: {} to {}", connects == 0 ? "connected" : "reconnected",
                 options.broker.server_uri);
    ++connects;
    link_up = true;
    if (options.command_topic.empty()) return;
    // Every (re)connect: a clean session starts without subscriptions. Never wait on a token
    // here: this is Paho's callback thread.
    try {
      raw->subscribe(options.command_topic, options.qos, nullptr, subscribe_listener);
    } catch (const ::mqtt::exception& e) {
      spdlog::error("alerts mqtt: subscribe to the command topic failed: {}", e.what());
    }
  }

  void on_subscribe_result(const ::mqtt::token& t, bool ok) {
    if (stopping) return;
    if (!ok) {
      spdlog::error("alerts mqtt: broker refused the subscription to {} ({}): no commands",
                    options.command_topic, ::mqtt::exception::error_str(t.get_return_code()));
      return;
    }
    subscribed = true;
    spdlog::info("alerts mqtt: listening for commands on {}", options.command_topic);
  }

  void on_lost(const std::string& cause) {
    link_up = false;
    subscribed = false;
    if (stopping) return;
    spdlog::warn("alerts mqtt: connection to {} lost{}{}; reconnecting", options.broker.server_uri,
                 cause.empty() ? "" : ": ", cause);
  }

  void on_message(const ::mqtt::const_message_ptr& m) {
    if (!m) return;
    std::lock_guard lock(callback_mutex);
    if (!accepting || !handler) return;
    try {
      handler(m->get_topic(), m->to_string());
    } catch (const std::exception& e) {
      // Paho's thread must not see exceptions; the payload may name a patient: not logged.
      spdlog::error("alerts mqtt: command handler failed: {}", e.what());
    }
  }
};

mqtt_channel::mqtt_channel(mqtt_channel_options options)
    : impl_(std::make_unique<impl>(std::move(options))) {}

mqtt_channel::~mqtt_channel() {
  stop();
}

void mqtt_channel::on_command(command_handler handler) {
  std::lock_guard lock(impl_->callback_mutex);
  impl_->handler = std::move(handler);
}

void mqtt_channel::start() {
  impl_->start();
}

void mqtt_channel::stop() {
  impl_->stop();
}

bool mqtt_channel::connected() const noexcept {
  return impl_->link_up && (impl_->options.command_topic.empty() || impl_->subscribed);
}

void mqtt_channel::publish(std::string topic, std::string payload,
                           std::function<void(std::string error)> done) {
  impl_->publish(std::move(topic), std::move(payload), std::move(done));
}

}  // namespace vitals::adapters::notify
