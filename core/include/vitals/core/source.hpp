#pragma once
/// The source plugin contract: what ingest adapters (MQTT, BLE gateways, BlueZ, files, ...)
/// implement, what they are given when the daemon builds them, and how they describe
/// themselves to the registry (name, option table, factory).

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <vitals/core/device_directory.hpp>
#include <vitals/core/options.hpp>
#include <vitals/core/sample.hpp>
#include <vitals/core/stats.hpp>

namespace vitals::core {

/// Where a source delivers decoded samples. One sink per source thread (single producer).
class sample_sink {
 public:
  virtual ~sample_sink() = default;

  /// Delivers one sample. Waits (bounded) while the pipeline is behind; returns false only when
  /// the sample could not be accepted (the sink has counted and logged the drop).
  virtual bool push(const sample& s) = 0;
};

/// What /healthz and /metrics say about a running plugin instance.
struct plugin_status {
  bool up = true;                 ///< false makes /healthz answer 503 ("degraded")
  std::string state = "running";  ///< one word or a short phrase: "connected", "disconnected"
};

/// A running input: connects, decodes, pushes into its sink, stops cleanly.
class source {
 public:
  virtual ~source() = default;

  /// Short name for logs and metrics: the instance name from the configuration ("mqtt").
  virtual std::string_view name() const noexcept = 0;

  /// Starts delivering; throws on a configuration or start-up error.
  virtual void start() = 0;

  /// Stops delivering: after it returns no further push() is made. Safe to call twice.
  virtual void stop() = 0;

  /// The store cannot commit: stop taking data, leaving it with its sender where the sender
  /// keeps it (an MQTT source disconnects and the broker queues what is published for its
  /// persistent session), so that a stop or crash during the fault loses only what was taken
  /// before. Must not block for long. resume() takes again. Both on the daemon's io thread. The
  /// default does nothing: a source whose sender keeps nothing goes on pushing, and its readings
  /// wait in memory.
  virtual void pause() {}
  virtual void resume() {}

  /// Whether it is receiving (any thread). The default: up while it exists.
  virtual plugin_status status() const { return {}; }

  /// The device ids its own configuration lists with their patients (an allow-list such as a
  /// BLE source's [[sources.devices]]): vitalsd admits their readings as known, as if they were
  /// in [[devices]]. The default: none.
  virtual std::vector<short_id> listed_devices() const { return {}; }
};

/// A shared option section that several plugins read (the [mqtt] broker connection): declared
/// by the adapters like a plugin's options, validated by the loader, handed to every factory.
struct section_descriptor {
  std::string name;  ///< the TOML table ("mqtt")
  std::string doc;   ///< what it is for (the example configuration's heading)
  std::vector<option_spec> options;
  /// Checks beyond the table (one key against another); may be empty.
  std::function<void(const option_set&, std::vector<option_problem>&)> check;
};

/// Everything a source factory is given besides its own options.
struct source_context {
  std::string name;  ///< instance name (unique among sources; the ring and log prefix)
  sample_sink& sink;
  stats& counters;
  /// Shared sections by name ("mqtt"), each with every declared key filled in.
  const std::unordered_map<std::string, option_set>& sections;
  /// [[devices]]: the patient of a device whose payloads name none.
  const std::unordered_map<std::string, std::string>& device_patients;
  /// The same, live: a reload replaces its map while the sources run (nullptr: none; then
  /// `device_patients` is all there is). Outlives the source.
  const device_directory* devices = nullptr;

  /// The shared section `section_name`; throws std::out_of_range when no plugin declared it.
  const option_set& section(std::string_view section_name) const;
};

/// How the registry knows a source type: its name in `[[sources]] type = "..."`, the options
/// it accepts, extra checks, and the factory.
struct source_descriptor {
  std::string type;     ///< "mqtt", "ble_gateway", "bluez", "file"
  std::string summary;  ///< one line: what it ingests
  std::vector<option_spec> options;
  /// Runs with its defaults when the configuration names no [[sources]] at all (the MQTT source:
  /// vitalsd without a config file listens on the local broker).
  bool default_instance = false;
  /// Checks beyond the table; problems are reported with the file, line and column of their key.
  /// May be empty. Must not do I/O beyond reading files the options name.
  std::function<void(const option_set&, std::vector<option_problem>&)> check;
  /// Builds an instance; throws std::invalid_argument / std::runtime_error naming what is wrong.
  std::function<std::unique_ptr<source>(const option_set&, source_context&)> create;
};

}  // namespace vitals::core
