#pragma once
// Internal to the file plugin: the source itself (the plugin's public face is its registration).

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include <vitals/core/source.hpp>
#include <vitals/core/stats.hpp>

namespace vitals::adapters::file {

/// Settings of one file source ([[sources]] type "file").
struct file_options {
  std::string name = "file";  ///< instance name: logs, metrics, the ring
  std::string path;           ///< the JSON-lines file to follow
  bool from_start = false;    ///< read what the file holds already (else only what is appended)
  std::chrono::milliseconds poll_interval{200};  ///< how often growth is checked
  std::size_t max_line_bytes = 65536;            ///< longer lines are rejected (too_large)
  std::chrono::hours max_future{24};             ///< as the MQTT source's
  std::unordered_map<std::string, std::string> device_patients;  ///< patient of unmapped devices
};

/// Follows a file of JSON lines (each a compact JSON reading, or an array of them, as the MQTT
/// source accepts), like `tail -F`: lines appended are decoded and pushed; a truncated or
/// replaced file is read again from its start; a missing file is waited for. One thread of its
/// own, polling.
class file_source final : public core::source {
 public:
  file_source(file_options options, core::sample_sink& sink, core::stats& stats);
  ~file_source() override;
  file_source(const file_source&) = delete;
  file_source& operator=(const file_source&) = delete;

  std::string_view name() const noexcept override;
  void start() override;
  void stop() override;
  /// Up while the file is open; the state says how many lines were read.
  core::plugin_status status() const override;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace vitals::adapters::file
