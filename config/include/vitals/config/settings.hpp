#pragma once
/// vitalsd's typed settings with their embedded defaults (config/vitalsd.example.toml shows each).

#include <cstddef>
#include <string>
#include <vector>

#include <map>

#include <vitals/core/alert_manager.hpp>
#include <vitals/core/baseline_detector.hpp>
#include <vitals/core/detector.hpp>
#include <vitals/core/glucose_detector.hpp>
#include <vitals/core/news2_detector.hpp>
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
  /// [stale]: silence limits per vital before a stale-data technical alert.
  core::stale_settings stale;
  /// [alerts] with [[routes]] and [[patients]] care_team in `alerts.lifecycle`.
  alert_settings alerts;
  api_settings api;
  std::vector<receiver_config> receivers;  ///< [[receivers]], in file order
  /// Non-fatal findings of the loader ("FILE:LINE:COL: key 'k': ..."), for the caller to log.
  std::vector<std::string> warnings;
};

/// The built-in defaults (same as `settings{}`).
settings defaults();

/// A short multi-line summary for `vitalsd --check-config`: no password, no patient or device ids.
std::string summary(const settings& s);

}  // namespace vitals::config
