#pragma once
/// vitalsd's typed settings with their embedded defaults (config/vitalsd.example.toml shows each).
/// Sources, receivers and the sections they share are plugins: their options are tables checked
/// against what each plugin declares (core/options.hpp), not structs of this library.

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <vitals/core/alert_manager.hpp>
#include <vitals/core/baseline_detector.hpp>
#include <vitals/core/condition_monitor.hpp>
#include <vitals/core/detector.hpp>
#include <vitals/core/diabetes_profile.hpp>
#include <vitals/core/glucose_detector.hpp>
#include <vitals/core/news2_detector.hpp>
#include <vitals/core/options.hpp>
#include <vitals/core/sample.hpp>
#include <vitals/core/stale_monitor.hpp>

namespace vitals::config {

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
  int reconfirm_oximetry_s = 120;     ///< restored HR/SpO2 alerts: fresh readings to end them
  int reconfirm_glucose_s = 1800;     ///< restored glucose alerts: the same
  /// false (the default): only devices and patients of [[devices]], [[patients]] or the
  /// patient registry; true: any, up to max_streams.
  bool accept_unknown = false;
  std::size_t max_streams = 100000;  ///< device x vital streams watched at most (unknown ones)

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
  std::string token;  ///< read from token_file by the loader; never printed
  /// "read" (GET only), "ack" (also acknowledge, resolve, snooze) or "admin" (also the
  /// configuration reload)
  std::string role = "ack";

  bool operator==(const api_token_settings&) const = default;
};

/// [api]: the HTTP API (alerts, acknowledgements, /healthz, /metrics).
struct api_settings {
  bool enabled = true;
  std::string listen = "127.0.0.1";  ///< loopback by default: other hosts need a proxy or this
  int port = 8470;
  bool metrics_auth = true;  ///< /metrics needs a token too
  /// Open API connections at most; a new one beyond closes the longest-idle connection.
  int max_connections = 512;
  std::vector<api_token_settings> tokens;
  /// HTTPS: the server certificate (PEM, with its chain) and its key; both or neither. Without
  /// them the API speaks plain HTTP, which a non-loopback `listen` refuses unless
  /// allow_plain_http (a TLS-terminating proxy in front).
  std::string tls_cert_file;
  std::string tls_key_file;
  /// HTTPS: also require a client certificate issued by a CA of this PEM file ("" : none).
  std::string tls_client_ca_file;
  bool allow_plain_http = false;

  bool tls() const noexcept { return !tls_cert_file.empty(); }

  bool operator==(const api_settings&) const = default;
};

/// One [[sources]] or [[receivers]] entry: an instance of a plugin type from the registry.
struct plugin_config {
  std::string type;          ///< the plugin type ("mqtt", "webhook")
  std::string name;          ///< unique among its list; the type when the file gives none
  core::option_set options;  ///< every declared option: the file's value or the default
};

/// Everything vitalsd is configured with. A default-constructed value has the built-in defaults
/// of the daemon's own sections; plugin sections, sources and receivers come from the loader
/// (loading an empty file gives the defaults of those too).
struct settings {
  /// Shared option sections that plugins declare ([mqtt]: the broker connection), by name, with
  /// every declared key filled in.
  std::unordered_map<std::string, core::option_set> sections;
  /// [[sources]], in file order; without any, the registry's default sources (MQTT).
  std::vector<plugin_config> sources;
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
  std::vector<plugin_config> receivers;  ///< [[receivers]], in file order
  /// [technical]: delays of the device-condition technical alerts (sensor_off_delay_s ->
  /// rules[0], signal_poor_delay_s -> rules[1], link_delay_s -> rules[7] and rules[8]).
  core::condition_settings technical;
  /// Non-fatal findings of the loader ("FILE:LINE:COL: key 'k': ..."), for the caller to log.
  std::vector<std::string> warnings;
};

/// A short multi-line summary for `vitalsd --check-config`: no password, no patient or device ids.
std::string summary(const settings& s);

}  // namespace vitals::config
