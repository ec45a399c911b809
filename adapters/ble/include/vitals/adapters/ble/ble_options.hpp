#pragma once
/// The configuration of BLE devices as both BLE sources declare it ([[sources.devices]] of the
/// ble_gateway and bluez plugins): the option table, its checks and the conversion.

#include <string>
#include <vector>

#include <vitals/adapters/ble/ble_device.hpp>
#include <vitals/core/options.hpp>

namespace vitals::adapters::ble {

/// The options of one [[sources.devices]] table; `with_gateway`: it names the gateway that
/// relays it (the gateway source), otherwise not (BlueZ).
std::vector<core::option_spec> ble_device_options(bool with_gateway);

/// Checks the plugin's `devices` list: addresses (valid, unique), ids (at most 47 bytes),
/// handles, CGM session start, and (when `gateways` is not null) the gateway each one names.
void check_ble_devices(const core::option_set& plugin, const std::vector<std::string>* gateways,
                       std::vector<core::option_problem>& out);

/// The plugin's `devices` list as ble_device values (checked before: bad entries are skipped).
std::vector<ble_device> ble_devices_from(const core::option_set& plugin);

}  // namespace vitals::adapters::ble
