#include <vitals/adapters/common/subscriber.hpp>

#include <vitals/adapters/common/paho_connect.hpp>
#include <vitals/adapters/common/tls.hpp>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <stdexcept>

#include <mqtt/async_client.h>
#include <spdlog/spdlog.h>

namespace vitals::adapters::common {

namespace {

using namespace std::chrono_literals;

/// How long stop() waits for the broker to confirm DISCONNECT.
constexpr auto broker_reply_timeout = 5s;

}  // namespace

std::string printable(std::string_view s, std::size_t max) {
  std::string out;
  const auto n = std::min(s.size(), max);
  out.reserve(n + 3);
  for (std::size_t i = 0; i < n; ++i) {
    const auto u = static_cast<unsigned char>(s[i]);
    out += (u < 0x20 || u == 0x7f) ? '.' : s[i];
  }
  if (s.size() > max) out += "...";
  return out;
}

void reject_log::note(core::reject_reason reason, std::string_view why, std::string_view topic,
                      std::string_view payload) {
  // Topic and payload carry patient ids, device addresses and values: debug level only.
  if (spdlog::should_log(spdlog::level::debug))
    spdlog::debug("{}: rejected ({}): {}; topic '{}' payload '{}'", prefix_,
                  core::to_string(reason), why, printable(topic, 256), printable(payload, 512));
  auto& e = entries_[static_cast<std::size_t>(reason)];
  const auto now = std::chrono::steady_clock::now();
  if (now < e.next) {
    ++e.suppressed;
    return;
  }
  if (e.suppressed > 0)
    spdlog::warn(
        "{}: message rejected ({}): {} ({} more rejected for this reason in the "
        "last {} s; details at debug level)",
        prefix_, core::to_string(reason), why, e.suppressed, interval_.count());
  else
    spdlog::warn("{}: message rejected ({}): {} (details at debug level)", prefix_,
                 core::to_string(reason), why);
  e.suppressed = 0;
  e.next = now + interval_;
}

struct subscriber::impl {
  impl(subscriber_options o, message_handler h)
      : options(std::move(o)),
        handler(std::move(h)),
        connect_listener([this](const ::mqtt::token& t, bool ok) { on_connect_result(t, ok); }),
        subscribe_listener(
            [this](const ::mqtt::token& t, bool ok) { on_subscribe_result(t, ok); }) {
    const auto& n = options.name;
    if (options.broker.server_uri.empty()) throw std::invalid_argument(n + " server_uri is empty");
    if (options.client_id.empty() && !options.broker.clean_session)
      throw std::invalid_argument(
          n + " client_id is empty: a persistent session (clean_session = false) needs a fixed id");
    if (options.qos < 0 || options.qos > 2)
      throw std::invalid_argument(n + " qos " + std::to_string(options.qos) + " is not 0, 1 or 2");
    if (options.filters.empty()) throw std::invalid_argument(n + " topics is empty");
    if (options.broker.reconnect_min < 1s ||
        options.broker.reconnect_max < options.broker.reconnect_min)
      throw std::invalid_argument(
          n + " reconnect_min must be at least 1 s and not above reconnect_max");
    filters = std::make_shared<::mqtt::string_collection>();
    for (const auto& f : options.filters) filters->push_back(f);
    qos.assign(options.filters.size(), options.qos);
    try {
      // No client-side persistence: a subscriber has no outgoing QoS 1 messages to keep, and
      // Paho's default would write files into the working directory.
      client = std::make_unique<::mqtt::async_client>(options.broker.server_uri, options.client_id,
                                                      nullptr);
    } catch (const ::mqtt::exception& e) {
      throw std::invalid_argument(n + " server_uri '" + options.broker.server_uri +
                                  "' rejected by Paho: " + e.what());
    }
  }

  void start() {
    const auto& n = options.name;
    // state_mutex is never held while calling into Paho: Paho holds its own mutex while it runs
    // our callbacks, which take state_mutex (lock-order inversion found by ThreadSanitizer).
    {
      std::lock_guard lock(state_mutex);
      if (started) throw std::logic_error(n + " source: start() called twice");
      if (stopped) throw std::logic_error(n + " source: start() called after stop()");
      started = true;
    }
    {
      std::lock_guard lock(callback_mutex);
      accepting = true;
    }
    client->set_connected_handler([this](const std::string&) { on_connected(); });
    client->set_connection_lost_handler([this](const std::string& cause) { on_lost(cause); });
    client->set_message_callback([this](::mqtt::const_message_ptr m) { on_message(m); });

    spdlog::info("{}: connecting to {} as client '{}' ({} topic filter(s), QoS {}, {} session)", n,
                 options.broker.server_uri, options.client_id, filters->size(), options.qos,
                 options.broker.clean_session ? "clean" : "persistent");
    try {
      client->connect(paho_connect_options(options.broker, options.broker.clean_session), nullptr,
                      connect_listener);
    } catch (const ::mqtt::exception& e) {
      throw std::runtime_error(n + ": cannot start connecting to " + options.broker.server_uri +
                               ": " + e.what());
    }
  }

  // pause() and resume() run on the daemon's io thread, as stop() does, so `client` does not
  // change under them. Paho is called outside state_mutex: its callbacks take state_mutex while
  // holding Paho's own lock (on_connected), so the other order could deadlock.
  void pause() {
    {
      std::lock_guard lock(state_mutex);
      if (!started || stopped || paused || !client) return;
      paused = true;
    }
    is_connected = false;
    if (options.broker.clean_session) {
      spdlog::warn(
          "{}: pausing with a clean session: the broker drops what is published until it "
          "resumes",
          options.name);
    }
    spdlog::warn("{}: paused: disconnected from {}, which keeps what is published meanwhile",
                 options.name, options.broker.server_uri);
    try {
      client->disconnect();  // not waited for: this is the io thread
    } catch (const ::mqtt::exception& e) {
      // Not connected (a reconnect under way): on_connected() disconnects once it succeeds.
      spdlog::debug("{}: disconnect to pause: {}", options.name, e.what());
    }
  }

  void resume() {
    {
      std::lock_guard lock(state_mutex);
      if (!paused || stopped || !client) return;
      paused = false;
    }
    spdlog::info("{}: resuming: connecting to {} again", options.name, options.broker.server_uri);
    try {
      client->connect(paho_connect_options(options.broker, options.broker.clean_session), nullptr,
                      connect_listener);
    } catch (const ::mqtt::exception& e) {
      spdlog::error("{}: cannot connect again to {}: {}", options.name, options.broker.server_uri,
                    e.what());
    }
  }

  void stop() {
    {
      std::lock_guard lock(state_mutex);
      if (stopped) return;
      stopped = true;  // from here on a reconnect does not resubscribe (see on_connected)
      if (!started) return;
    }
    stopping = true;
    if (client->is_connected()) {
      // No unsubscribe: with a persistent session the broker keeps the subscriptions and queues
      // what is published while vitalsd restarts, so a restart loses nothing.
      try {
        client->disconnect(broker_reply_timeout)->wait_for(broker_reply_timeout + 1s);
      } catch (const ::mqtt::exception& e) {
        spdlog::warn("{}: disconnect on stop failed: {}", options.name, e.what());
      }
    }
    {
      // Waits for a callback that is inside the handler; later callbacks see !accepting.
      std::lock_guard cb(callback_mutex);
      accepting = false;
    }
    // Paho keeps retrying a connection that never succeeded even after disconnect() (which
    // then fails with "not connected"); destroying the client is the only way to end that.
    // Destroyed outside state_mutex: Paho calls pending listeners ("discarded") from inside.
    std::unique_ptr<::mqtt::async_client> dying;
    {
      std::lock_guard lock(state_mutex);
      dying = std::move(client);
    }
    dying.reset();
    is_connected = false;
    spdlog::info("{}: stopped (broker {})", options.name, options.broker.server_uri);
  }

  void on_connect_result(const ::mqtt::token& t, bool ok) {
    if (ok || stopping) return;  // on_connected() logs and subscribes
    spdlog::warn("{}: broker {} not reachable ({}); retrying in the background every {}-{} s",
                 options.name, options.broker.server_uri,
                 ::mqtt::exception::error_str(t.get_return_code()),
                 options.broker.reconnect_min.count(), options.broker.reconnect_max.count());
    // Paho says only "SSL connect error": a handshake of our own names the cause.
    if (is_tls_uri(options.broker.server_uri)) {
      spdlog::error("{}: TLS to {}: {}", options.name, options.broker.server_uri,
                    diagnose_tls(options.broker.server_uri, options.broker.tls, 5s));
    }
  }

  // Paho's cause text ("connect onSuccess called") tells an operator nothing; not logged.
  void on_connected() {
    std::lock_guard lock(state_mutex);
    if (stopped || !client) return;
    if (paused) {
      // A reconnect that was under way when the source paused: the broker would deliver the
      // session's queue at once, subscription or not.
      try {
        client->disconnect();
      } catch (const ::mqtt::exception&) {
      }
      return;
    }
    spdlog::info("{}: {} to {}", options.name, connects == 0 ? "connected" : "reconnected",
                 options.broker.server_uri);
    ++connects;
    // Every (re)connect: a broker that restarted without persistence has lost our session and
    // its subscriptions. Never wait on a token here: this is Paho's callback thread.
    try {
      client->subscribe(filters, qos, nullptr, subscribe_listener);
    } catch (const ::mqtt::exception& e) {
      spdlog::error("{}: subscribe failed: {}", options.name, e.what());
    }
  }

  void on_subscribe_result(const ::mqtt::token& t, bool ok) {
    if (stopping) return;
    if (!ok) {
      spdlog::error("{}: broker {} refused the subscription ({}): no data will arrive",
                    options.name, options.broker.server_uri,
                    ::mqtt::exception::error_str(t.get_return_code()));
      return;
    }
    is_connected = true;  // only now can messages arrive: connected() means "receiving"
    std::string list;
    for (std::size_t i = 0; i < filters->size(); ++i) {
      if (i) list += ", ";
      list += (*filters)[i];
    }
    spdlog::info("{}: subscribed to {} at QoS {}", options.name, list, options.qos);
  }

  void on_lost(const std::string& cause) {
    is_connected = false;
    if (stopping) return;
    spdlog::warn("{}: connection to {} lost{}{}; reconnecting", options.name,
                 options.broker.server_uri, cause.empty() ? "" : ": ", cause);
  }

  void on_message(const ::mqtt::const_message_ptr& msg) {
    std::lock_guard lock(callback_mutex);
    if (!accepting || !msg) return;
    // Nothing may escape into Paho: an exception here would leave the message unacknowledged
    // in Paho's queue and stall the subscription.
    try {
      handler(msg->get_topic(), msg->get_payload());
    } catch (const std::exception& e) {
      spdlog::error("{}: message handling failed: {}", options.name, e.what());
    } catch (...) {
      spdlog::error("{}: message handling failed with an unknown exception", options.name);
    }
  }

  subscriber_options options;
  message_handler handler;
  ::mqtt::string_collection_ptr filters;
  std::vector<int> qos;

  // Guards `accepting` and serialises the handler.
  std::mutex callback_mutex;
  bool accepting = false;

  // Lifecycle, guarded by state_mutex.
  std::mutex state_mutex;
  bool started = false;
  bool stopped = false;
  bool paused = false;  // pause() until resume(): disconnected on purpose
  std::uint64_t connects = 0;
  std::atomic<bool> is_connected{false};
  std::atomic<bool> stopping{false};  // read by Paho's threads to keep shutdown quiet

  common::paho_listener connect_listener;
  common::paho_listener subscribe_listener;
  // Last member: destroyed first, so no Paho callback can outlive the state it uses.
  std::unique_ptr<::mqtt::async_client> client;
};

subscriber::subscriber(subscriber_options options, message_handler handler)
    : impl_(std::make_unique<impl>(std::move(options), std::move(handler))) {}

subscriber::~subscriber() {
  stop();
}

void subscriber::start() {
  impl_->start();
}

void subscriber::stop() {
  impl_->stop();
}

void subscriber::pause() {
  impl_->pause();
}

void subscriber::resume() {
  impl_->resume();
}

bool subscriber::connected() const noexcept {
  return impl_->is_connected.load(std::memory_order_relaxed);
}

}  // namespace vitals::adapters::common
