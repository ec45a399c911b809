#pragma once
/// vitalsd's typed settings with their embedded defaults (config/vitalsd.example.toml shows each).

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <vitals/core/alert_manager.hpp>
#include <vitals/core/baseline_detector.hpp>
#include <vitals/core/condition_monitor.hpp>
#include <vitals/core/detector.hpp>
#include <vitals/core/diabetes_profile.hpp>
#include <vitals/core/glucose_detector.hpp>
#include <vitals/core/news2_detector.hpp>
#include <vitals/core/sample.hpp>
#include <vitals/core/stale_monitor.hpp>

namespace vitals::config {

/// [mqtt]: the broker connection and the subscriptions of the MQTT source.
struct mqtt_settings {
  std::string broker =
      "tcp://localhost:1883";         ///< tcp://, ssl://, mqtt://, mqtts://, ws://, wss://
  std::string client_id = "vitalsd";  ///< stable, so the persistent session survives
  std::vector<std::string> topics{"vitals/{patient}/{device}"};  ///< topic templates
  int qos = 1;                                                   ///< 0 or 1
  bool clean_session = false;  ///< false: the broker keeps our subscriptions and QoS 1 backlog
  int keep_alive_s = 30;       ///< MQTT keep-alive, 1..65535 s
  std::string username;        ///< empty: connect without credentials
  std::string password_file;   ///< file holding the password; empty: no password
  std::string password;        ///< read from password_file by the loader; never printed
  std::size_t max_payload_bytes = 65536;  ///< larger messages are rejected (counted)
  int reconnect_min_s = 1;                ///< first reconnect delay
  int reconnect_max_s = 30;               ///< the backoff stops growing here
  int max_future_h = 24;  ///< samples further ahead of receive time than this are rejected

  /// Member-wise comparison (tests compare loaded settings with the defaults).
  bool operator==(const mqtt_settings&) const = default;
};

/// [store]: the SQLite writer.
struct store_settings {
  std::string path = "vitalsd.db";       ///< database file, relative to the working directory
  std::size_t batch_rows = 1000;         ///< rows per transaction at most
  int batch_interval_ms = 200;           ///< commit at least this often (bounds crash loss)
  std::string synchronous = "normal";    ///< SQLite PRAGMA synchronous: "normal" or "full"
  std::size_t max_queued_rows = 100000;  ///< writer queue bound (back-pressure beyond it)

  /// Member-wise comparison.
  bool operator==(const store_settings&) const = default;
};

/// [pipeline]: the ring between sources and the pipeline thread.
struct pipeline_settings {
  std::size_t ring_capacity = 65536;  ///< samples per source ring, a power of two
  int push_timeout_ms = 5000;         ///< how long a full ring makes a producer wait
  std::size_t batch_max = 1024;       ///< samples taken from a ring per pass
  bool detection = true;              ///< false: store only, no physiological detector (benchmarks)

  /// Member-wise comparison.
  bool operator==(const pipeline_settings&) const = default;
};

/// [log]: daemon logging.
struct log_settings {
  std::string level = "info";   ///< trace, debug, info, warn or error
  std::string format = "text";  ///< "text" or "json"
  bool include_phi = false;     ///< true: alert log lines name the patient and the value

  /// Member-wise comparison.
  bool operator==(const log_settings&) const = default;
};

/// [[devices]]: the patient of a device whose payloads carry no patient.
struct device_mapping {
  std::string id;       ///< device id as it appears in topics or payloads
  std::string patient;  ///< patient id the device's samples belong to

  /// Member-wise comparison.
  bool operator==(const device_mapping&) const = default;
};

/// [alerts]: the alert lifecycle. Routes come from [[routes]], care teams from [[patients]].
struct alert_settings {
  core::alert_manager_settings lifecycle;  ///< flap window, latching, snooze bounds, inhibition
  std::string command_topic = "vitalsd/alerts/commands";  ///< MQTT acknowledge commands; "": off
  std::string client_id = "vitalsd-alerts";               ///< MQTT client of the alert channel
};

/// One [[api.tokens]] entry: a named bearer token read from a file.
struct api_token_settings {
  std::string name;
  std::string token_file;
  std::string token;         ///< read from token_file by the loader; never printed
  std::string role = "ack";  ///< "read" (GET only) or "ack" (also acknowledge, resolve, snooze)

  bool operator==(const api_token_settings&) const = default;
};

/// [api]: the HTTP API (alerts, acknowledgements, /healthz, /metrics).
struct api_settings {
  bool enabled = true;
  std::string listen = "127.0.0.1";  ///< loopback by default: other hosts need a proxy or this
  int port = 8470;
  bool metrics_auth = true;  ///< /metrics needs a token too
  std::vector<api_token_settings> tokens;

  bool operator==(const api_settings&) const = default;
};

/// One [[receivers]] entry: where notifications go (adapters::notify::receiver_settings).
struct receiver_config {
  std::string name;
  std::string type;  ///< webhook, alertmanager, pagerduty, ntfy, mqtt, fhir
  std::string url;
  std::string secret_file;  ///< HMAC key, PagerDuty routing key or bearer token, in a file
  std::string secret;       ///< read from secret_file by the loader; never printed
  std::string topic;        ///< ntfy topic, or MQTT topic template
  std::string external_url;
  std::string ca_file;
  bool verify_tls = true;
  double timeout_s = 10;
  double backoff_min_s = 1;
  double backoff_max_s = 300;
  int max_attempts = 0;
  double rate_per_min = 60;
  int burst = 10;

  bool operator==(const receiver_config&) const = default;
};

/// The member names of a gateway's JSON messages (adapters::ble::field_map): the loader fills
/// them with the preset's names and applies [ble.gateways.fields] on top; "" means absent.
struct ble_field_names {
  std::string type;           ///< message type member ("dataType")
  std::string notification;   ///< value of `type` for a notification
  std::string device;         ///< device address
  std::string uuid;           ///< characteristic UUID (or name)
  std::string handle;         ///< ATT handle (number)
  std::string value;          ///< characteristic value in hex
  std::string time;           ///< reading time, epoch ms or RFC 3339
  std::string state;          ///< connection state: connected / disconnected
  std::string session_start;  ///< CGM session start, epoch ms or RFC 3339

  bool operator==(const ble_field_names&) const = default;
};

/// One [[ble.gateways]] entry: a BLE-to-MQTT gateway.
struct ble_gateway_settings {
  std::string name;                 ///< what [[ble.devices]] gateway refers to
  std::string preset = "generic";   ///< "cassia", "generic" or "custom"
  ble_field_names fields;           ///< preset names with [ble.gateways.fields] applied
  std::vector<std::string> topics;  ///< MQTT topic filters of its notifications and states
  std::string status_topic;         ///< its own online state (last will); "": none
  std::string online_payload = "online";
  std::string offline_payload = "offline";

  bool operator==(const ble_gateway_settings&) const = default;
};

/// One [[ble.devices]] entry: a BLE device, its patient and how its characteristics are named.
struct ble_device_settings {
  std::string address;  ///< BLE MAC, normalised by the loader ("C0:26:DA:01:02:03")
  std::string patient;
  std::string device;   ///< device id of its samples; "": "ble-" + address without colons
  std::string gateway;  ///< the [[ble.gateways]] name that relays it; "": any gateway
  /// ATT handle -> characteristic, by adapters::ble::to_string() name ("plx_continuous").
  std::map<std::uint16_t, std::string> handles;
  std::string cgm_crc = "detect";                    ///< "detect", "required" or "absent"
  std::optional<core::timestamp> cgm_session_start;  ///< when no 0x2AAA value arrives

  bool operator==(const ble_device_settings&) const = default;
};

/// [ble]: the BLE-to-MQTT gateway source (on the [mqtt] broker, with its credentials), and the
/// BLE devices that the gateway source and the BlueZ source both use.
struct ble_settings {
  bool enabled = false;
  std::string client_id = "vitalsd-ble";       ///< MQTT client id of the gateway source
  std::size_t max_payload_bytes = 16384;       ///< larger gateway messages are rejected (counted)
  std::vector<ble_gateway_settings> gateways;  ///< [[ble.gateways]], in file order
  std::vector<ble_device_settings> devices;    ///< [[ble.devices]], in file order

  bool operator==(const ble_settings&) const = default;
};

/// [bluez]: the local BlueZ source (D-Bus) on a home gateway box.
struct bluez_settings {
  bool enabled = false;
  std::string bus = "system";    ///< "system", or a D-Bus address ("unix:path=/run/x")
  std::string adapter = "hci0";  ///< only devices under this adapter; "": any
  int reconnect_min_s = 1;       ///< reconnect back-off bounds, seconds
  int reconnect_max_s = 60;

  bool operator==(const bluez_settings&) const = default;
};

/// Everything vitalsd is configured with; a default-constructed value is the built-in defaults.
struct settings {
  mqtt_settings mqtt;
  store_settings store;
  pipeline_settings pipeline;
  log_settings log;
  std::vector<device_mapping> devices;  ///< [[devices]], in file order
  /// core::default_rules() with [rules.*] applied; [[patients]] overrides in `detector.patients`.
  core::detector_settings detector{core::default_rules(), {}};
  /// Glucose detector defaults with [rules.glucose_*] applied (per-patient overrides are in
  /// `detector.patients`, shared by every detector).
  core::glucose_settings glucose;
  /// NEWS2 defaults with [rules.news2_*] applied; `patient_context` holds [[patients]]
  /// spo2_scale / on_oxygen for the patients that set either.
  core::news2_settings news2;
  /// Personal baselines: [baseline] and [rules.*_baseline_deviation] applied; [[patients]]
  /// utc_offset_min in `patient_utc_offset_minutes`.
  core::baseline_settings baseline;
  /// [[patients]] diabetes ("type1", "type2", "none"), for the patients that set it; its rule
  /// overrides (core::diabetes_overrides) are already in `detector.patients`.
  std::map<std::string, core::diabetes_type> patient_diabetes;
  /// [stale]: silence limits per vital before a stale-data technical alert.
  core::stale_settings stale;
  /// [alerts] with [[routes]] and [[patients]] care_team in `alerts.lifecycle`.
  alert_settings alerts;
  api_settings api;
  std::vector<receiver_config> receivers;  ///< [[receivers]], in file order
  ble_settings ble;                        ///< [ble] with [[ble.gateways]] and [[ble.devices]]
  bluez_settings bluez;                    ///< [bluez]
  /// [technical]: delays of the device-condition technical alerts (sensor_off_delay_s ->
  /// rules[0], signal_poor_delay_s -> rules[1], link_delay_s -> rules[7] and rules[8]).
  core::condition_settings technical;
  /// Non-fatal findings of the loader ("FILE:LINE:COL: key 'k': ..."), for the caller to log.
  std::vector<std::string> warnings;
};

/// The built-in defaults (same as `settings{}`).
settings defaults();

/// A short multi-line summary for `vitalsd --check-config`: no password, no patient or device ids.
std::string summary(const settings& s);

}  // namespace vitals::config
