#pragma once
/// The BLE-to-MQTT gateway input: gateways (Cassia-style access points, ESP32 bridges, phone
/// apps) forward GATT notifications as JSON with the value in hex; this source subscribes to
/// their topics, maps gateway + device address + (UUID or ATT handle) to a characteristic and a
/// patient, decodes the frame (gatt.hpp) and pushes samples and technical conditions.

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <vitals/adapters/ble/ble_device.hpp>
#include <vitals/adapters/common/broker.hpp>
#include <vitals/core/source.hpp>
#include <vitals/core/stats.hpp>

namespace vitals::adapters::ble {

/// Named shapes of gateway JSON.
enum class gateway_preset : std::uint8_t {
  /// {"dataType":"notification","ap":"<gateway mac>","device":"CA:79:..","handle":16,
  ///  "value":"1648"}; connection state {"dataType":"connection_state","ap":..,"device":..,
  ///  "connectionState":"connected"|"disconnected"}.
  cassia,
  /// {"mac":"CA:79:..","uuid":"2a37","hex":"0655","ts":<epoch ms, optional>}; connection state
  /// {"mac":..,"state":"connected"|"disconnected"}.
  generic,
  /// field names from gateway_config::fields.
  custom,
};

/// Where each field is in a gateway message (names of top-level JSON members; empty: absent).
struct field_map {
  std::string type;  ///< message type member ("dataType"); empty: every message is a notification
                     ///< unless it has `state`
  std::string notification = "notification";  ///< value of `type` for a notification
  std::string device = "mac";                 ///< device address
  std::string uuid = "uuid";                  ///< characteristic UUID (or name)
  std::string handle;           ///< ATT handle (number), looked up in ble_device::handles
  std::string value = "hex";    ///< the characteristic value in hex
  std::string time = "ts";      ///< reading time, epoch ms or RFC 3339; empty: receive time
  std::string state = "state";  ///< connection state member: "connected" / "disconnected"
  std::string session_start = "session_start";  ///< CGM session start (RFC 3339 or epoch ms)

  bool operator==(const field_map&) const = default;
};

/// The field map of a preset. The defaults above are the generic preset (and custom's starting
/// point).
field_map preset_fields(gateway_preset p);

/// One gateway.
struct gateway_config {
  std::string name;  ///< matches ble_device::gateway
  gateway_preset preset = gateway_preset::generic;
  field_map fields = preset_fields(gateway_preset::generic);
  std::vector<std::string> topics;  ///< MQTT topic filters of its notifications and states
  /// Topic of the gateway's own online state (its MQTT last will): `offline_payload` there
  /// raises gateway_offline for every device behind it, `online_payload` ends it. Empty: none.
  std::string status_topic;
  std::string online_payload = "online";
  std::string offline_payload = "offline";
};

/// Settings of the gateway source ([[sources]] type "ble_gateway", on the [mqtt] broker).
struct gateway_source_options {
  common::broker_options broker;  ///< the shared broker connection
  std::string client_id = "vitalsd-ble";
  int qos = 1;
  std::size_t max_payload_bytes = 16384;
  std::vector<gateway_config> gateways;
  std::vector<ble_device> devices;
  std::string name = "ble-gateway";  ///< instance name: logs, metrics, the ring
};

/// core::source for BLE-to-MQTT gateways. A message that cannot be used (not JSON, unknown
/// device or handle, bad hex, a frame that does not decode) is counted under a reject reason
/// and logged rate-limited at warn without addresses or values (debug shows them); it never
/// stops the subscription.
class gateway_source final : public core::source {
 public:
  /// Validates the options (throws std::invalid_argument naming what is wrong).
  gateway_source(gateway_source_options options, core::sample_sink& sink, core::stats& stats);
  ~gateway_source() override;
  gateway_source(const gateway_source&) = delete;
  gateway_source& operator=(const gateway_source&) = delete;

  std::string_view name() const noexcept override;
  void start() override;
  void stop() override;
  /// Disconnects while the store fails; the broker keeps what is published for the session.
  void pause() override;
  void resume() override;

  /// True while connected to the broker with every subscription acknowledged.
  bool connected() const noexcept;

  /// Up while connected().
  core::plugin_status status() const override;

  /// The devices of [[sources.devices]].
  std::vector<core::short_id> listed_devices() const override;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace vitals::adapters::ble
