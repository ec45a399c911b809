#pragma once
/// Object discovery of the BlueZ source (private): which org.bluez objects exist and which of
/// them are ours. Lists them with the ObjectManager, follows InterfacesAdded / InterfacesRemoved,
/// PropertiesChanged and bluetoothd coming and going (NameOwnerChanged), and tells the source
/// (object_events) what changed. Everything runs on the connection's loop thread.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <vitals/adapters/ble/frame_samples.hpp>
#include <vitals/adapters/ble/gatt.hpp>
#include <vitals/adapters/bluez/bluez_source.hpp>

#include "dbus_connection.hpp"

namespace vitals::adapters::ble::detail {

inline constexpr const char* device_iface = "org.bluez.Device1";
inline constexpr const char* char_iface = "org.bluez.GattCharacteristic1";

/// Throws std::invalid_argument("bluez: " + what): a bad option.
[[noreturn]] void bad_option(std::string_view what);

/// The device object a characteristic belongs to: /org/bluez/<adapter>/<device>, the first
/// four path elements; empty when `path` is not that deep.
std::string device_path_of(std::string_view path);

/// A configured device.
struct device_config {
  std::string address;  ///< normalised
  core::short_id patient;
  core::short_id device;
  crc_mode cgm_crc = crc_mode::detect;
  std::size_t number = 0;  ///< 1-based position in [[sources.devices]], for logs without addresses
  // Learnt while running (loop thread):
  vital_set kinds = 0;                           ///< vitals seen from it
  std::optional<core::timestamp> session_start;  ///< CGM session start (0x2AAA or config)
};

/// An org.bluez.Device1 object of a configured device: what BlueZ says about it (kept up to date
/// by the discovery), then the source's state machine for it.
struct device_object {
  std::uint64_t id = 0;  ///< tells a re-added object from the one a reply was meant for
  std::string path;
  std::size_t config = 0;  ///< index into the configured devices
  bool connected = false;
  bool resolved = false;
  bool has_resolved = false;  ///< the object has ServicesResolved (BlueZ 5.43 and later)
  // The source's state:
  bool ready = false;           ///< connected, services resolved, notifications asked for
  std::optional<bool> link_up;  ///< the link state last reported (pushed) for it
  std::chrono::milliseconds backoff{0};
  bool connect_pending = false;  ///< a Connect() call is in flight
  std::uint64_t timer = 0;       ///< generation of the reconnect timer that counts
  bool timer_armed = false;
  std::uint64_t resolve_timer = 0;  ///< generation of the ServicesResolved watchdog that counts
  bool resolve_armed = false;
  std::uint64_t connect_attempts = 0;  ///< since it was last connected
};

/// An org.bluez.GattCharacteristic1 object of a characteristic vitalsd decodes.
struct char_object {
  std::string path;
  std::string device_path;
  characteristic c = characteristic::heart_rate_measurement;
  // The source's state:
  bool notify_requested = false;  ///< StartNotify() sent since the device became ready
  bool notifying = false;         ///< StartNotify() succeeded
  bool read_requested = false;    ///< (0x2AAA) ReadValue() sent since the device became ready
  std::chrono::milliseconds notify_backoff{0};  ///< after a failed StartNotify()
  std::uint64_t notify_timer = 0;  ///< generation of the StartNotify() retry that counts
};

/// What the discovery tells the source, on the loop thread.
class object_events {
 public:
  /// A device's Connected / ServicesResolved state was listed or changed.
  virtual void device_changed(device_object& d) = 0;
  /// A device object is being removed; it is forgotten when this returns.
  virtual void device_removing(device_object& d) = 0;
  /// A characteristic of ours was listed or added (again: it may be known already); `d` is its
  /// device when that is known, `props` its properties as listed (a cached Value).
  virtual void characteristic_found(device_object* d, char_object& ch, const properties& props) = 0;
  /// A characteristic's Value changed.
  virtual void value_changed(char_object& ch, const sdbus::Variant& value) = 0;
  /// org.bluez or the bus went away: no device is reachable any more (its objects are forgotten
  /// next).
  virtual void all_unreachable() = 0;
  /// Devices or characteristics came, went or changed: count the active devices again.
  virtual void objects_changed() = 0;

 protected:
  ~object_events() = default;
};

/// The configured devices and the org.bluez objects of them that exist now.
class object_discovery final : public dbus_connection::listener {
 public:
  /// Validates the adapter name and the device list (throws std::invalid_argument naming what is
  /// wrong). Keeps references to all three: `bus` may be constructed after this.
  object_discovery(const bluez_options& options, dbus_connection& bus, object_events& events);

  /// The device object at `path`, if it is one of ours.
  device_object* find_device(const std::string& path);
  /// The characteristic object at `path`, if it is one of ours.
  char_object* find_char(const std::string& path);
  /// The configuration of a device object.
  device_config& config(const device_object& d) noexcept { return configs_[d.config]; }

  std::map<std::string, device_object>& devices() noexcept { return devices_; }
  std::map<std::string, char_object>& chars() noexcept { return chars_; }

  // dbus_connection::listener
  void bus_opened() override;
  void bus_ready() override;
  void bus_lost() override;
  void bus_closing() override;

 private:
  void discover();
  void on_managed_objects(const managed_objects& objects);
  bool under_adapter(std::string_view path) const noexcept { return path.starts_with(prefix_); }
  bool add_device(const std::string& path, const properties& props);
  void add_char(const std::string& path, const properties& props);
  void remove_device(const std::string& path);
  void forget_objects();
  void on_object_manager_signal(sdbus::Message& m);
  void on_name_owner_changed(sdbus::Message& m);
  void on_properties_changed(sdbus::Message& m);

  // Set at construction, read-only afterwards.
  const bluez_options& options_;
  dbus_connection& bus_;
  object_events& events_;
  std::unordered_map<std::string, std::size_t> by_address_;
  std::string prefix_;  ///< "/org/bluez/<adapter>/" or "/org/bluez/"

  // Loop-thread state.
  std::vector<device_config> configs_;
  std::map<std::string, device_object> devices_;
  std::map<std::string, char_object> chars_;
  std::uint64_t next_object_id_ = 0;
  std::uint64_t bluez_generation_ = 0;  ///< which org.bluez a reply or retry was meant for
  std::chrono::milliseconds discovery_backoff_{0};
};

}  // namespace vitals::adapters::ble::detail
