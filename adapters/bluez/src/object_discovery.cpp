#include "object_discovery.hpp"

#include <algorithm>
#include <stdexcept>

#include <vitals/adapters/common/subscriber.hpp>

namespace vitals::adapters::ble::detail {

using namespace std::chrono_literals;

void bad_option(std::string_view what) {
  throw std::invalid_argument("bluez: " + std::string(what));
}

std::string device_path_of(std::string_view path) {
  std::size_t pos = 0;
  for (int i = 0; i < 4; ++i) {
    pos = path.find('/', pos + 1);
    if (pos == std::string_view::npos) return {};
  }
  return std::string(path.substr(0, pos));
}

object_discovery::object_discovery(const bluez_options& options, dbus_connection& bus,
                                   object_events& events)
    : options_(options), bus_(bus), events_(events) {
  for (const char ch : options_.adapter) {
    const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                    (ch >= '0' && ch <= '9') || ch == '_';
    if (!ok) bad_option("adapter '" + options_.adapter + "' is not an adapter name such as hci0");
  }
  for (const auto& d : options_.devices) {
    const auto address = normalize_address(d.address);
    if (!address) bad_option("device address '" + d.address + "' is not a BLE address");
    if (by_address_.contains(*address)) bad_option("duplicate device address '" + *address + "'");
    const auto patient = core::short_id::make(d.patient);
    const auto device =
        core::short_id::make(d.device.empty() ? default_device_id(*address) : d.device);
    if (!patient) bad_option("device " + *address + ": patient id empty or too long");
    if (!device) bad_option("device " + *address + ": device id empty or too long");
    device_config c;
    c.address = *address;
    c.patient = *patient;
    c.device = *device;
    c.cgm_crc = d.cgm_crc;
    c.number = configs_.size() + 1;
    c.session_start = d.cgm_session_start;
    for (const auto& [handle, ch] : d.handles) c.kinds |= vital_bits(ch);
    by_address_.emplace(*address, configs_.size());
    configs_.push_back(std::move(c));
  }
  prefix_ = "/org/bluez/";
  if (!options_.adapter.empty()) prefix_ += options_.adapter + "/";
}

device_object* object_discovery::find_device(const std::string& path) {
  const auto it = devices_.find(path);
  return it == devices_.end() ? nullptr : &it->second;
}

char_object* object_discovery::find_char(const std::string& path) {
  const auto it = chars_.find(path);
  return it == chars_.end() ? nullptr : &it->second;
}

// -------------------------------------------------------------------------------------------------
// The bus.

void object_discovery::bus_opened() {
  auto handler = [this](void (object_discovery::*member)(sdbus::Message&)) {
    return [this, member](sdbus::Message& m) { (this->*member)(m); };
  };
  bus_.add_match(
      "type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',"
      "interface='org.freedesktop.DBus',member='NameOwnerChanged',arg0='org.bluez'",
      handler(&object_discovery::on_name_owner_changed));
  bus_.add_match(
      "type='signal',sender='org.bluez',path='/',interface='org.freedesktop.DBus.ObjectManager'",
      handler(&object_discovery::on_object_manager_signal));
  const auto ns =
      options_.adapter.empty() ? std::string("/org/bluez") : "/org/bluez/" + options_.adapter;
  bus_.add_match(
      "type='signal',sender='org.bluez',interface='org.freedesktop.DBus.Properties',"
      "member='PropertiesChanged',path_namespace='" +
          ns + "'",
      handler(&object_discovery::on_properties_changed));
}

void object_discovery::bus_ready() {
  discover();
}

void object_discovery::bus_lost() {
  events_.all_unreachable();
}

void object_discovery::bus_closing() {
  forget_objects();
}

// -------------------------------------------------------------------------------------------------
// Listing.

void object_discovery::discover() {
  const auto generation = bluez_generation_;
  bus_.call("/", "org.freedesktop.DBus.ObjectManager", "GetManagedObjects", {},
            [this, generation](sdbus::MethodReply* reply, const sdbus::Error* error) {
              if (generation != bluez_generation_) return;  // org.bluez changed meanwhile
              if (error) {
                if (is_absent(*error)) {
                  spdlog::warn(
                      "{}: org.bluez is not on the D-Bus {} (is bluetoothd running?); waiting "
                      "for it to appear",
                      source_name, bus_.bus_description());
                  return;
                }
                discovery_backoff_ = std::clamp(discovery_backoff_ * 2, options_.reconnect_min,
                                                options_.reconnect_max);
                bus_.errors().warn("{}: cannot list the org.bluez objects ({}); retrying in {} ms",
                                   source_name, describe(*error), discovery_backoff_.count());
                bus_.add_timer(discovery_backoff_, [this, generation] {
                  if (generation == bluez_generation_) discover();
                });
                return;
              }
              discovery_backoff_ = 0ms;
              managed_objects objects;
              *reply >> objects;
              on_managed_objects(objects);
            });
}

void object_discovery::on_managed_objects(const managed_objects& objects) {
  // Characteristics first, so that a device knows its vitals when its state is reported.
  for (const auto& [path, ifaces] : objects) {
    const auto it = ifaces.find(char_iface);
    if (it != ifaces.end()) add_char(path, it->second);
  }
  std::size_t found = 0;
  for (const auto& [path, ifaces] : objects) {
    const auto it = ifaces.find(device_iface);
    if (it != ifaces.end() && add_device(path, it->second)) ++found;
  }
  // Again now that the devices are known: a cached CGM Session Start Time Value is only used
  // for a characteristic whose device is (add_char is idempotent).
  for (const auto& [path, ifaces] : objects) {
    const auto it = ifaces.find(char_iface);
    if (it != ifaces.end()) add_char(path, it->second);
  }
  spdlog::info("{}: org.bluez lists {} of the {} configured device(s){}", source_name, found,
               configs_.size(),
               options_.adapter.empty() ? std::string() : " under adapter " + options_.adapter);
  events_.objects_changed();
}

/// A Device1 object appeared (or was listed); true when it is a configured one.
bool object_discovery::add_device(const std::string& path, const properties& props) {
  if (!under_adapter(path)) return false;
  const auto address_text = property<std::string>(props, "Address");
  const auto address = address_text ? normalize_address(*address_text) : std::nullopt;
  const auto cfg = address ? by_address_.find(*address) : by_address_.end();
  if (cfg == by_address_.end()) {
    if (spdlog::should_log(spdlog::level::debug))
      spdlog::debug("{}: ignoring {} (not in [[sources.devices]])", source_name,
                    common::printable(path, 120));
    return false;
  }
  auto [it, added] = devices_.try_emplace(path);
  auto& d = it->second;
  if (added) {
    d.id = ++next_object_id_;
    d.path = path;
    d.config = cfg->second;
    spdlog::info("{}: found device #{} of [[sources.devices]]", source_name, configs_[d.config].number);
  }
  if (const auto c = property<bool>(props, "Connected")) d.connected = *c;
  const auto resolved = property<bool>(props, "ServicesResolved");
  d.has_resolved = resolved.has_value();
  // Without the property (an old BlueZ), services count as resolved once connected.
  d.resolved = resolved.value_or(d.connected);
  events_.device_changed(d);
  return true;
}

/// A GattCharacteristic1 object appeared (or was listed).
void object_discovery::add_char(const std::string& path, const properties& props) {
  if (!under_adapter(path)) return;
  const auto uuid = property<std::string>(props, "UUID");
  const auto c = uuid ? parse_characteristic(*uuid) : std::nullopt;
  if (!c) return;
  auto device_path = device_path_of(path);
  if (device_path.empty()) return;
  auto [it, added] = chars_.try_emplace(path);
  auto& ch = it->second;
  if (added) {
    ch.path = path;
    ch.device_path = std::move(device_path);
    ch.c = *c;
  }
  events_.characteristic_found(find_device(ch.device_path), ch, props);
}

void object_discovery::remove_device(const std::string& path) {
  auto* d = find_device(path);
  if (!d) return;
  spdlog::warn("{}: device #{} of [[sources.devices]] was removed from BlueZ", source_name,
               configs_[d->config].number);
  events_.device_removing(*d);
  devices_.erase(path);  // pending replies and timers find it gone (or find a new id)
}

/// Forgets the objects of the current org.bluez (their timers and replies become no-ops).
void object_discovery::forget_objects() {
  ++bluez_generation_;
  devices_.clear();
  chars_.clear();
  events_.objects_changed();
}

// -------------------------------------------------------------------------------------------------
// Signals.

void object_discovery::on_object_manager_signal(sdbus::Message& m) {
  const auto member = m.getMemberName();
  sdbus::ObjectPath path;
  if (member == "InterfacesAdded") {
    interface_map ifaces;
    m >> path >> ifaces;
    if (const auto it = ifaces.find(char_iface); it != ifaces.end()) add_char(path, it->second);
    if (const auto it = ifaces.find(device_iface); it != ifaces.end()) add_device(path, it->second);
    events_.objects_changed();
  } else if (member == "InterfacesRemoved") {
    std::vector<std::string> ifaces;
    m >> path >> ifaces;
    for (const auto& i : ifaces) {
      if (i == char_iface) chars_.erase(path);
      if (i == device_iface) remove_device(path);
    }
    events_.objects_changed();
  }
}

void object_discovery::on_name_owner_changed(sdbus::Message& m) {
  std::string name, old_owner, new_owner;
  m >> name >> old_owner >> new_owner;
  if (name != bluez_name) return;
  if (!old_owner.empty()) {
    spdlog::warn("{}: org.bluez left the D-Bus; its devices are reported disconnected",
                 source_name);
    events_.all_unreachable();
    forget_objects();
  }
  if (!new_owner.empty()) {
    spdlog::info("{}: org.bluez is on the D-Bus; listing its devices", source_name);
    ++bluez_generation_;
    discover();
  }
}

void object_discovery::on_properties_changed(sdbus::Message& m) {
  const auto path = m.getPath();
  std::string iface;
  properties changed;
  std::vector<std::string> invalidated;
  m >> iface >> changed >> invalidated;
  if (iface == device_iface) {
    auto* d = find_device(path);
    if (!d) return;
    if (const auto c = property<bool>(changed, "Connected")) {
      d->connected = *c;
      if (!*c || !d->has_resolved) d->resolved = *c;
    }
    if (const auto r = property<bool>(changed, "ServicesResolved")) d->resolved = *r;
    events_.device_changed(*d);
    events_.objects_changed();
  } else if (iface == char_iface) {
    if (auto* ch = find_char(path)) {
      if (const auto v = changed.find("Value"); v != changed.end())
        events_.value_changed(*ch, v->second);
    }
  }
}

}  // namespace vitals::adapters::ble::detail
