#include <vitals/test/mosquitto_broker.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>

#include <mqtt/async_client.h>

#ifndef VITALS_MOSQUITTO_PATH
#error "VITALS_MOSQUITTO_PATH must be defined by the build"
#endif
#ifndef VITALS_MOSQUITTO_CONF_TEMPLATE
#error "VITALS_MOSQUITTO_CONF_TEMPLATE must be defined by the build"
#endif

namespace vitals::test {

namespace {

sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

std::string replace_all(std::string s, std::string_view from, std::string_view to) {
  for (auto pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size()))
    s.replace(pos, from.size(), to);
  return s;
}

}  // namespace

std::uint16_t free_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "socket");
  auto a = loopback(0);
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    const int err = errno;
    ::close(fd);
    throw std::system_error(err, std::generic_category(), "bind 127.0.0.1:0");
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

bool port_accepts(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  const auto a = loopback(port);
  const bool ok = ::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

mosquitto_broker::mosquitto_broker(std::uint16_t port, std::chrono::milliseconds timeout,
                                   const std::vector<std::string>& extra_config)
    : port_(port == 0 ? free_loopback_port() : port), dir_("vitals-mosquitto") {
  std::ifstream in(VITALS_MOSQUITTO_CONF_TEMPLATE);
  if (!in)
    throw std::runtime_error(std::string("mosquitto_broker: cannot read ") +
                             VITALS_MOSQUITTO_CONF_TEMPLATE);
  std::ostringstream text;
  text << in.rdbuf();
  auto conf = replace_all(text.str(), "@PORT@", std::to_string(port_));
  conf = replace_all(conf, "@DIR@", dir_.path().string());
  if (!extra_config.empty()) {
    conf += "\n# added by the caller\n";
    for (const auto& line : extra_config) conf += line + "\n";
  }
  const auto conf_path = dir_.path() / "mosquitto.conf";
  std::ofstream(conf_path) << conf;

  process_ = std::make_unique<child_process>(
      std::vector<std::string>{VITALS_MOSQUITTO_PATH, "-c", conf_path.string()},
      dir_.path() / "mosquitto.log");
  if (!eventually([&] { return port_accepts(port_) || !process_->running(); }, timeout) ||
      !process_->running()) {
    const auto log = log_text();
    process_.reset();
    throw std::runtime_error("mosquitto_broker: no listener on 127.0.0.1:" + std::to_string(port_) +
                             " within " + std::to_string(timeout.count()) + " ms; log:\n" + log);
  }
}

mosquitto_broker::~mosquitto_broker() {
  try {
    stop();
  } catch (...) {
    // A destructor must not throw; child_process kills what is left.
  }
}

pid_t mosquitto_broker::pid() const noexcept {
  return process_ ? process_->pid() : -1;
}

std::string mosquitto_broker::uri() const {
  return "tcp://127.0.0.1:" + std::to_string(port_);
}

void mosquitto_broker::stop() {
  if (!process_) return;
  process_->send_signal(SIGTERM);
  if (!process_->wait_for(std::chrono::seconds(5))) {
    process_->send_signal(SIGKILL);
    process_->wait_for(std::chrono::seconds(5));
  }
  process_.reset();
}

void mosquitto_broker::kill() {
  if (!process_) return;
  process_->send_signal(SIGKILL);
  process_->wait_for(std::chrono::seconds(5));
  process_.reset();
}

std::string mosquitto_broker::log_text() const {
  std::ifstream in(dir_.path() / "mosquitto.log");
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

struct mqtt_publisher::impl {
  explicit impl(const std::string& uri, const std::string& id) : client(uri, id, nullptr) {}
  ::mqtt::async_client client;
};

mqtt_publisher::mqtt_publisher(const std::string& uri, const std::string& client_id,
                               const mqtt_tls& tls)
    : impl_(std::make_unique<impl>(uri, client_id)) {
  try {
    auto builder = ::mqtt::connect_options_builder()
                       .mqtt_version(MQTTVERSION_3_1_1)
                       .clean_session(true)
                       .connect_timeout(std::chrono::seconds(5));
    if (!tls.ca_file.empty()) {
      auto ssl = ::mqtt::ssl_options_builder().trust_store(tls.ca_file).finalize();
      if (!tls.cert_file.empty()) ssl.set_key_store(tls.cert_file);
      if (!tls.key_file.empty()) ssl.set_private_key(tls.key_file);
      builder.ssl(std::move(ssl));
    }
    auto opts = builder.finalize();
    impl_->client.connect(opts)->wait();
  } catch (const ::mqtt::exception& e) {
    throw std::runtime_error("mqtt_publisher: cannot connect to " + uri + ": " + e.what());
  }
}

mqtt_publisher::~mqtt_publisher() {
  try {
    if (impl_->client.is_connected()) impl_->client.disconnect()->wait_for(std::chrono::seconds(2));
  } catch (const ::mqtt::exception&) {
    // The broker may be gone already (reconnect tests): nothing left to clean up.
  }
}

void mqtt_publisher::publish(const std::string& topic, std::string_view payload, int qos) {
  try {
    auto msg = ::mqtt::make_message(topic, payload.data(), payload.size(), qos, false);
    if (!impl_->client.publish(msg)->wait_for(std::chrono::seconds(10)))
      throw std::runtime_error("mqtt_publisher: publish to " + topic + " timed out");
  } catch (const ::mqtt::exception& e) {
    throw std::runtime_error("mqtt_publisher: publish to " + topic + " failed: " + e.what());
  }
}

struct mqtt_subscriber::impl {
  impl(const std::string& uri, const std::string& id) : client(uri, id, nullptr) {}
  ::mqtt::async_client client;
  mutable std::mutex mutex;
  std::vector<std::pair<std::string, std::string>> messages;
};

mqtt_subscriber::mqtt_subscriber(const std::string& uri, const std::string& filter,
                                 const std::string& client_id)
    : impl_(std::make_unique<impl>(uri, client_id)) {
  auto* d = impl_.get();
  d->client.set_message_callback([d](::mqtt::const_message_ptr m) {
    std::lock_guard lock(d->mutex);
    d->messages.emplace_back(m->get_topic(), m->to_string());
  });
  try {
    auto opts = ::mqtt::connect_options_builder()
                    .mqtt_version(MQTTVERSION_3_1_1)
                    .clean_session(true)
                    .connect_timeout(std::chrono::seconds(5))
                    .finalize();
    d->client.connect(opts)->wait();
    d->client.subscribe(filter, 1)->wait();
  } catch (const ::mqtt::exception& e) {
    throw std::runtime_error("mqtt_subscriber: cannot subscribe to " + filter + " at " + uri +
                             ": " + e.what());
  }
}

mqtt_subscriber::~mqtt_subscriber() {
  try {
    if (impl_->client.is_connected()) impl_->client.disconnect()->wait_for(std::chrono::seconds(2));
  } catch (const ::mqtt::exception&) {
    // The broker may be gone already.
  }
}

std::vector<std::pair<std::string, std::string>> mqtt_subscriber::messages() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->messages;
}

bool mqtt_subscriber::wait_for(std::size_t n, std::chrono::milliseconds timeout) const {
  return eventually([&] { return messages().size() >= n; }, timeout);
}

void publish(const std::string& uri, const std::string& topic, std::string_view payload, int qos) {
  mqtt_publisher p(uri);
  p.publish(topic, payload, qos);
}

}  // namespace vitals::test
