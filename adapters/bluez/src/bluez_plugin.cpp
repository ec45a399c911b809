// The BlueZ source as a plugin ([[sources]] type "bluez"): its option table, checks and factory.
#include <fmt/format.h>

#include <vitals/adapters/ble/ble_options.hpp>
#include <vitals/adapters/bluez/bluez_source.hpp>
#include <vitals/core/plugin_registry.hpp>

namespace vitals::adapters::plugins {

namespace {

using core::option_spec;

std::vector<option_spec> options() {
  return {
      option_spec::string("bus", "system",
                          "\"system\" (the bus bluetoothd lives on) or a D-Bus address such as "
                          "\"unix:path=/run/x\".")
          .make_non_empty(),
      option_spec::string("adapter", "hci0", "Only devices under this adapter; \"\" for any."),
      option_spec::integer("reconnect_min_s", 1, 1, 3600,
                           "Reconnect back-off: starts at reconnect_min_s, doubles up to "
                           "reconnect_max_s.",
                           "s"),
      option_spec::integer("reconnect_max_s", 60, 1, 3600, "", "s"),
      option_spec::table_list("devices", ble::ble_device_options(false),
                              "One [[sources.devices]] table per BLE device to connect to; any "
                              "other device is left alone."),
  };
}

void check(const core::option_set& s, std::vector<core::option_problem>& out) {
  const auto& bus = s.text("bus");
  if (bus != "system" && bus.find(':') == std::string::npos) {
    out.push_back({"bus", fmt::format("must be \"system\" or a D-Bus address such as "
                                      "\"unix:path=/run/dbus/system_bus_socket\", got \"{}\"",
                                      bus)});
  }
  if (s.integer("reconnect_max_s") < s.integer("reconnect_min_s")) {
    out.push_back({s.written("reconnect_max_s") ? "reconnect_max_s" : "reconnect_min_s",
                   fmt::format("reconnect_max_s ({}) must not be less than reconnect_min_s ({})",
                               s.integer("reconnect_max_s"), s.integer("reconnect_min_s"))});
  }
  ble::check_ble_devices(s, nullptr, out);
  if (s.tables("devices").empty()) {
    out.push_back({"", "no [[sources.devices]] is configured: the BlueZ source uses none", true});
  }
}

std::unique_ptr<core::source> create(const core::option_set& s, core::source_context& ctx) {
  ble::bluez_options o;
  o.name = ctx.name;
  o.bus_address = s.text("bus") == "system" ? std::string() : s.text("bus");
  o.adapter = s.text("adapter");
  o.reconnect_min = std::chrono::seconds(s.integer("reconnect_min_s"));
  o.reconnect_max = std::chrono::seconds(s.integer("reconnect_max_s"));
  o.devices = ble::ble_devices_from(s);
  return std::make_unique<ble::bluez_source>(std::move(o), ctx.sink, ctx.counters);
}

}  // namespace

void register_bluez(core::plugin_registry& r) {
  core::source_descriptor d;
  d.type = "bluez";
  d.summary =
      "Bluetooth LE devices through the local BlueZ stack (D-Bus), on a home gateway box with "
      "its own adapter";
  d.options = options();
  d.check = check;
  d.create = create;
  r.add(std::move(d));
}

}  // namespace vitals::adapters::plugins
