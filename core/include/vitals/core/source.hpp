#pragma once
/// The interfaces that ingest adapters (MQTT, BLE gateways, BlueZ) implement and use.

#include <string_view>

#include <vitals/core/sample.hpp>

namespace vitals::core {

/// Where a source delivers decoded samples. One sink per source thread (single producer).
class sample_sink {
 public:
  virtual ~sample_sink() = default;

  /// Delivers one sample. Waits (bounded) while the pipeline is behind; returns false only when
  /// the sample could not be accepted (the sink has counted and logged the drop).
  virtual bool push(const sample& s) = 0;
};

/// A running input: connects, decodes, pushes into its sink, stops cleanly.
class source {
 public:
  virtual ~source() = default;

  /// Short name for logs and metrics ("mqtt").
  virtual std::string_view name() const noexcept = 0;

  /// Starts delivering; throws on a configuration or start-up error.
  virtual void start() = 0;

  /// Stops delivering: after it returns no further push() is made. Safe to call twice.
  virtual void stop() = 0;
};

}  // namespace vitals::core
