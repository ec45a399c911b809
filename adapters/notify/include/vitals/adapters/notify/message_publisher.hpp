#pragma once
/// How the dispatcher hands an MQTT notification to a broker connection (mqtt_channel).

#include <functional>
#include <string>

namespace vitals::adapters::notify {

/// Publishes one message at QoS 1. `done` is called exactly once, from any thread, with an
/// empty string when the broker acknowledged the message (PUBACK) or with the error otherwise.
class message_publisher {
 public:
  virtual ~message_publisher() = default;
  virtual void publish(std::string topic, std::string payload,
                       std::function<void(std::string error)> done) = 0;
};

}  // namespace vitals::adapters::notify
