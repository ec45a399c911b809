#pragma once
/// The local BlueZ input for home gateway boxes: over D-Bus (org.bluez), finds the configured
/// devices that expose Heart Rate, Pulse Oximeter or CGM characteristics, calls StartNotify,
/// decodes each PropertiesChanged on Value, and reports disconnects (technical condition) and
/// reconnects with back-off. A failed StartNotify() is retried with back-off; a connection whose
/// services are never resolved is dropped and made again.

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <vitals/adapters/ble/ble_device.hpp>
#include <vitals/core/source.hpp>
#include <vitals/core/stats.hpp>

namespace vitals::adapters::ble {

/// Settings of the BlueZ source ([[sources]] type "bluez").
struct bluez_options {
  /// D-Bus address to connect to; empty: the system bus (where bluetoothd lives). Tests pass the
  /// address of a private bus.
  std::string bus_address;
  std::string adapter = "hci0";  ///< only devices under /org/bluez/<adapter>; empty: any adapter
  /// Back-off of Connect() and of a failed StartNotify(): from reconnect_min, doubling.
  std::chrono::milliseconds reconnect_min{1000}, reconnect_max{60000};
  /// A device Connected this long without ServicesResolved (a service discovery that hangs) is
  /// disconnected, then reconnected with back-off.
  std::chrono::milliseconds resolve_timeout{30000};
  std::vector<ble_device> devices;  ///< only these addresses are used
  std::string name = "bluez";       ///< instance name: metrics, the ring
};

/// core::source on BlueZ. Runs its own D-Bus event loop thread.
class bluez_source final : public core::source {
 public:
  /// Validates the options (throws std::invalid_argument naming what is wrong); connects later.
  bluez_source(bluez_options options, core::sample_sink& sink, core::stats& stats);
  ~bluez_source() override;
  bluez_source(const bluez_source&) = delete;
  bluez_source& operator=(const bluez_source&) = delete;

  std::string_view name() const noexcept override;
  /// Connects to the bus and starts the event loop thread; throws std::runtime_error when the
  /// bus cannot be reached. org.bluez missing from the bus is not an error: it is waited for.
  /// A bus lost later is reconnected to with back-off. No effect while running.
  void start() override;
  /// Leaves the event loop and joins its thread: no push() after it returns. Idempotent; a
  /// later start() connects again.
  void stop() override;

  /// Devices currently connected with notifications started (any thread).
  std::size_t active_devices() const noexcept;

  /// Up while it runs; the state counts the active devices.
  core::plugin_status status() const override;

  /// The devices of [[sources.devices]].
  std::vector<core::short_id> listed_devices() const override;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace vitals::adapters::ble
