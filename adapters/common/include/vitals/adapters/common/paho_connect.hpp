#pragma once
/// Internal to vitals::adapters: the Paho connect options every MQTT client of vitalsd uses (the
/// subscribing sources and the alert channel).

#include <chrono>
#include <string>

#include <mqtt/connect_options.h>

#include <vitals/adapters/common/broker.hpp>

namespace vitals::adapters::common {

/// MQTT 3.1.1, a 10 s connect timeout, Paho's automatic reconnect with back-off from
/// `reconnect_min` up to `reconnect_max`, and the credentials when set (empty: anonymous).
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
  return builder.finalize();
}

}  // namespace vitals::adapters::common
