#include <vitals/adapters/ble/ble_options.hpp>

#include <charconv>
#include <map>
#include <optional>

#include <fmt/format.h>

#include <vitals/adapters/ble/gatt.hpp>
#include <vitals/core/rfc3339.hpp>
#include <vitals/core/sample.hpp>

namespace vitals::adapters::ble {

namespace {

using core::option_spec;

/// "16" -> 16 when it is a decimal ATT handle 1..65535.
std::optional<std::uint16_t> parse_handle(std::string_view text) {
  unsigned long handle = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), handle);
  if (ec != std::errc{} || end != text.data() + text.size() || handle < 1 || handle > 0xFFFF) {
    return std::nullopt;
  }
  return static_cast<std::uint16_t>(handle);
}

crc_mode crc_of(const std::string& text) {
  return text == "required" ? crc_mode::required
         : text == "absent" ? crc_mode::absent
                            : crc_mode::detect;
}

void check_id(const core::option_set& d, const std::string& path, std::string_view key,
              std::vector<core::option_problem>& out) {
  const auto* v = d.find(key);
  if (!v || v->empty()) return;
  const auto& text = std::get<std::string>(v->value);
  if (text.size() > core::short_id::max_size) {
    out.push_back(
        {path + "." + std::string(key),
         fmt::format("must be at most {} bytes, got {}", core::short_id::max_size, text.size())});
  }
}

void check_handles(const core::option_set& d, const std::string& path,
                   std::vector<core::option_problem>& out) {
  for (const auto& [key, name] : d.string_map("handles")) {
    const std::string where = path + ".handles." + key;
    if (!parse_handle(key)) {
      out.push_back(
          {where, fmt::format("an ATT handle is a decimal number 1..65535, got \"{}\"", key)});
    } else if (!parse_characteristic(name)) {
      out.push_back({where, fmt::format("unknown characteristic \"{}\"; known: 2a37 "
                                        "(heart_rate_measurement), 2a5e (plx_spot_check), 2a5f "
                                        "(plx_continuous), 2aa7 (cgm_measurement), 2aaa "
                                        "(cgm_session_start_time)",
                                        name)});
    }
  }
}

}  // namespace

std::vector<core::option_spec> ble_device_options(bool with_gateway) {
  std::vector<option_spec> o{
      option_spec::string("address", "", "BLE MAC address (any case, ':' or '-' separated).")
          .make_required("\"C0:26:DA:01:02:03\""),
      option_spec::string("patient", "", "The patient who wears it.").make_required("\"p-0042\""),
      option_spec::string("device", "",
                          "Device id of its samples (default \"ble-\" + the address without "
                          "':')."),
  };
  if (with_gateway) {
    o.push_back(option_spec::string("gateway", "",
                                    "The [[sources.gateways]] name that relays it (\"\" = any "
                                    "gateway)."));
  }
  o.push_back(
      option_spec::string_map(
          "handles",
          "ATT handle -> characteristic (UUID \"2a5f\" or name \"plx_continuous\"), for gateways "
          "that name handles rather than UUIDs (Cassia).")
          .with_example("{ \"16\" = \"2a5f\", \"20\" = \"2a37\" }"));
  o.push_back(option_spec::choice(
      "cgm_crc", "detect", {"detect", "required", "absent"},
      "CGM E2E-CRC, as the CGM Feature characteristic declares it: \"detect\" (a record two "
      "bytes longer than its flags imply carries one), \"required\" or \"absent\"."));
  o.push_back(option_spec::string(
      "cgm_session_start", "",
      "When the CGM session began (RFC 3339), until the device (0x2AAA) or the gateway says; "
      "without either, the newest record of a notification is taken to be from its arrival "
      "time."));
  return o;
}

void check_ble_devices(const core::option_set& plugin, const std::vector<std::string>* gateways,
                       std::vector<core::option_problem>& out) {
  std::map<std::string, std::size_t> addresses;  // normalised address -> index
  const auto& devices = plugin.tables("devices");
  for (std::size_t i = 0; i < devices.size(); ++i) {
    const auto& d = devices[i];
    const std::string path = fmt::format("devices[{}]", i);
    if (d.find("address")) {
      const auto normal = normalize_address(d.text("address"));
      if (!normal) {
        out.push_back({path + ".address",
                       fmt::format("expected a BLE MAC address such as \"C0:26:DA:01:02:03\", "
                                   "got \"{}\"",
                                   d.text("address"))});
      } else if (const auto [it, fresh] = addresses.emplace(*normal, i); !fresh) {
        out.push_back(
            {path + ".address", fmt::format("duplicate device address \"{}\" (also devices[{}])",
                                            *normal, it->second)});
      }
    }
    check_id(d, path, "patient", out);
    check_id(d, path, "device", out);
    if (gateways && d.find("gateway") && !d.text("gateway").empty()) {
      const auto& g = d.text("gateway");
      if (std::find(gateways->begin(), gateways->end(), g) == gateways->end()) {
        out.push_back(
            {path + ".gateway",
             fmt::format(
                 "unknown gateway \"{}\"{}; gateways: {}", g, core::did_you_mean(g, *gateways),
                 gateways->empty() ? std::string("none defined") : core::join_names(*gateways))});
      }
    }
    check_handles(d, path, out);
    const auto& start = d.text("cgm_session_start");
    if (!start.empty() && !core::parse_rfc3339(start)) {
      out.push_back(
          {path + ".cgm_session_start", fmt::format("expected an RFC 3339 date-time such as "
                                                    "\"2026-11-28T00:00:00Z\", got \"{}\"",
                                                    start)});
    }
  }
}

std::vector<ble_device> ble_devices_from(const core::option_set& plugin) {
  std::vector<ble_device> out;
  for (const auto& d : plugin.tables("devices")) {
    if (!d.find("address") || !d.find("patient")) continue;
    const auto address = normalize_address(d.text("address"));
    if (!address) continue;
    ble_device b;
    b.address = *address;
    b.patient = d.text("patient");
    b.device = d.text("device");
    if (d.find("gateway")) b.gateway = d.text("gateway");
    for (const auto& [key, name] : d.string_map("handles")) {
      const auto handle = parse_handle(key);
      const auto c = parse_characteristic(name);
      if (handle && c) b.handles.emplace(*handle, *c);
    }
    b.cgm_crc = crc_of(d.text("cgm_crc"));
    if (!d.text("cgm_session_start").empty()) {
      b.cgm_session_start = core::parse_rfc3339(d.text("cgm_session_start"));
    }
    out.push_back(std::move(b));
  }
  return out;
}

}  // namespace vitals::adapters::ble
