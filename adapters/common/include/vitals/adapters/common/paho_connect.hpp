#pragma once
/// Internal to vitals::adapters: the Paho connect options every MQTT client of vitalsd uses (the
/// subscribing sources and the alert channel).

#include <chrono>
#include <string>

#include <mqtt/connect_options.h>

namespace vitals::adapters::common {

/// MQTT 3.1.1, a 10 s connect timeout, Paho's automatic reconnect with back-off from
/// `reconnect_min` up to `reconnect_max`, and the credentials when set (empty: anonymous).
inline ::mqtt::connect_options paho_connect_options(
    bool clean_session, std::chrono::seconds keep_alive, std::chrono::seconds reconnect_min,
    std::chrono::seconds reconnect_max, const std::string& username, const std::string& password) {
  auto builder = ::mqtt::connect_options_builder()
                     .mqtt_version(MQTTVERSION_3_1_1)
                     .clean_session(clean_session)
                     .keep_alive_interval(keep_alive)
                     .connect_timeout(std::chrono::seconds(10))
                     .automatic_reconnect(reconnect_min, reconnect_max);
  if (!username.empty()) builder.user_name(username);
  if (!password.empty()) builder.password(password);
  return builder.finalize();
}

}  // namespace vitals::adapters::common
