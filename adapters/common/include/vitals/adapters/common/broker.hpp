#pragma once
/// The broker connection every part of vitalsd that talks MQTT shares (the MQTT source, the BLE
/// gateway source, the alert channel): one option set, the [mqtt] section of the configuration.

#include <chrono>
#include <string>
#include <vector>

#include <vitals/adapters/common/tls.hpp>
#include <vitals/core/options.hpp>
#include <vitals/core/source.hpp>

namespace vitals::adapters::common {

/// Where and how to connect. Each client adds its own client id and subscriptions.
struct broker_options {
  std::string server_uri = "tcp://localhost:1883";  ///< tcp://, ssl://, mqtt://, mqtts://, ws://
  bool clean_session = false;              ///< false: the broker keeps subscriptions and backlog
  std::chrono::seconds keep_alive{30};     ///< MQTT keep-alive interval
  std::string username;                    ///< empty: anonymous
  std::string password;                    ///< read from a file by the loader; never logged
  std::chrono::seconds reconnect_min{1};   ///< first reconnect delay
  std::chrono::seconds reconnect_max{30};  ///< the back-off stops growing here
  tls_options tls;                         ///< with an ssl://, mqtts:// or wss:// URI

  bool operator==(const broker_options&) const = default;
};

/// The [mqtt] section: its options, documentation and checks (credentials in the URI, a password
/// without a user name, the reconnect bounds, TLS options without a TLS URI, the TLS files).
core::section_descriptor broker_section();

/// The name of that section, for plugins that read it from their context.
inline constexpr std::string_view broker_section_name = "mqtt";

/// broker_options from the [mqtt] section's values.
broker_options broker_from(const core::option_set& section);

/// The [mqtt] section of a source's context.
broker_options broker_from(const core::source_context& ctx);

}  // namespace vitals::adapters::common
