#pragma once
/// Which patient wears which BLE device, and how its characteristics are reached: shared by the
/// BLE-to-MQTT gateway source and the BlueZ source (config [[sources.devices]]).

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <vitals/adapters/ble/gatt.hpp>
#include <vitals/core/sample.hpp>

namespace vitals::adapters::ble {

/// One BLE device.
struct ble_device {
  std::string address;  ///< BLE MAC "C0:26:DA:01:02:03" (compared case-insensitively)
  std::string patient;  ///< patient id of its samples
  std::string device;   ///< device id of its samples; empty: "ble-" + address without colons
  std::string gateway;  ///< name of the gateway that relays it; empty: any gateway / BlueZ
  /// ATT handle -> characteristic, for gateways that name handles rather than UUIDs (Cassia).
  std::map<std::uint16_t, characteristic> handles;
  crc_mode cgm_crc = crc_mode::detect;  ///< what the CGM Feature characteristic declares
  std::optional<core::timestamp> cgm_session_start;  ///< when no 0x2AAA value arrives
};

/// "C0:26:DA:01:02:03" in upper case; nullopt when `text` is not six hex octets separated by
/// ':' or '-' (or twelve hex digits without separators).
std::optional<std::string> normalize_address(std::string_view text);

/// The device id used when ble_device::device is empty: "ble-c026da010203".
std::string default_device_id(std::string_view normalized_address);

/// The device ids of `devices` as their samples carry them (core::source::listed_devices);
/// devices whose address or id is invalid are left out (the sources refuse those at start).
std::vector<core::short_id> device_ids(const std::vector<ble_device>& devices);

}  // namespace vitals::adapters::ble
