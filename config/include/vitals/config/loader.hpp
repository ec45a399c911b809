#pragma once
/// Loads vitalsd settings from TOML: unknown keys, wrong types and out-of-range values are all
/// reported together, each with file:line:column and the key. Plugin tables ([[sources]],
/// [[receivers]], shared sections such as [mqtt]) are checked against the option tables their
/// plugins declare in `plugins`; the loader itself knows no plugin by name.

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <vitals/config/config_error.hpp>
#include <vitals/config/settings.hpp>
#include <vitals/core/plugin_registry.hpp>

namespace vitals::config {

/// Reads and validates a TOML file (and the secret files it names); throws config_error listing
/// every problem. A missing or unreadable file is an error; an empty file gives defaults.
settings load_file(const std::filesystem::path& path, const core::plugin_registry& plugins);

/// Like load_file, from text; `source_name` is used as the file name in error messages.
settings load_string(std::string_view toml, std::string_view source_name,
                     const core::plugin_registry& plugins);

/// The built-in defaults: what an empty file gives (the default sources with their defaults).
settings defaults(const core::plugin_registry& plugins);

/// Every key the loader accepts, as dotted paths in schema order: "mqtt.broker",
/// "rules.spo2_low.limit", "devices[].id", "sources[].type", "sources[mqtt].topics",
/// "receivers[webhook].url", "sources[ble_gateway].gateways[].name", ...
std::vector<std::string> known_keys(const core::plugin_registry& plugins);

}  // namespace vitals::config
