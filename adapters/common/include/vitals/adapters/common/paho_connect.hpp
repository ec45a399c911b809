#pragma once
/// Internal to vitals::adapters: the Paho connect options every MQTT client of vitalsd uses (the
/// subscribing sources and the alert channel).

#include <chrono>
#include <functional>
#include <string>

#include <mqtt/connect_options.h>
#include <mqtt/iaction_listener.h>
#include <mqtt/ssl_options.h>

#include <vitals/adapters/common/broker.hpp>
#include <vitals/adapters/common/tls.hpp>

namespace vitals::adapters::common {

/// MQTT 3.1.1, a 10 s connect timeout, Paho's automatic reconnect with back-off from
/// `reconnect_min` up to `reconnect_max`, the credentials when set (empty: anonymous), and the
/// TLS options with a TLS URI.
/// `clean_session` overrides the broker options' (the alert channel always starts clean).
inline ::mqtt::connect_options paho_connect_options(const broker_options& b, bool clean_session) {
  auto builder = ::mqtt::connect_options_builder()
                     .mqtt_version(MQTTVERSION_3_1_1)
                     .clean_session(clean_session)
                     .keep_alive_interval(b.keep_alive)
                     .connect_timeout(std::chrono::seconds(10))
                     .automatic_reconnect(b.reconnect_min, b.reconnect_max);
  if (!b.username.empty()) builder.user_name(b.username);
  if (!b.password.empty()) builder.password(b.password);
  if (is_tls_uri(b.server_uri)) {
    // Without SSL options Paho refuses a TLS URI ("Invalid (NULL) parameter"). TLS 1.2 and later
    // (Paho's default method; Debian's OpenSSL refuses older ones): pinning 1.2 would exclude 1.3.
    auto ssl = ::mqtt::ssl_options_builder()
                   .enable_server_cert_auth(b.tls.verify)
                   .verify(b.tls.verify)
                   .finalize();
    if (!b.tls.ca_file.empty()) ssl.set_trust_store(b.tls.ca_file);
    if (!b.tls.ca_path.empty()) ssl.ca_path(b.tls.ca_path);
    if (!b.tls.cert_file.empty()) ssl.set_key_store(b.tls.cert_file);
    if (!b.tls.key_file.empty()) ssl.set_private_key(b.tls.key_file);
    builder.ssl(std::move(ssl));
  }
  return builder.finalize();
}

/// Forwards Paho's action results (connect, subscribe) to one function, from Paho's threads.
class paho_listener final : public ::mqtt::iaction_listener {
 public:
  using handler = std::function<void(const ::mqtt::token&, bool ok)>;
  explicit paho_listener(handler h) : handler_(std::move(h)) {}
  void on_failure(const ::mqtt::token& t) override { handler_(t, false); }
  void on_success(const ::mqtt::token& t) override { handler_(t, true); }

 private:
  handler handler_;
};

}  // namespace vitals::adapters::common
