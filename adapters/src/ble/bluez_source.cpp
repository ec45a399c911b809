#include <vitals/adapters/ble/bluez_source.hpp>

#include <stdexcept>

namespace vitals::adapters::ble {

// Not implemented yet (issue 6 stays open for it): the D-Bus discovery, StartNotify, Value
// decoding and reconnect back-off described in the header. Until then, asking for the BlueZ
// source is a clear start-up error rather than a source that silently delivers nothing.
struct bluez_source::impl {};

bluez_source::bluez_source(bluez_options /*options*/, core::sample_sink& /*sink*/,
                           core::stats& /*stats*/) {
  throw std::invalid_argument(
      "[bluez]: the BlueZ source is not implemented yet; use a BLE-to-MQTT gateway ([ble]) or "
      "set [bluez] enabled = false");
}

bluez_source::~bluez_source() = default;

void bluez_source::start() {}

void bluez_source::stop() {}

std::size_t bluez_source::active_devices() const noexcept {
  return 0;
}

}  // namespace vitals::adapters::ble
