#pragma once
/// Loads vitalsd settings from TOML: unknown keys, wrong types and out-of-range values are all
/// reported together, each with file:line:column and the key.

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <vitals/config/config_error.hpp>
#include <vitals/config/settings.hpp>

namespace vitals::config {

/// Reads and validates a TOML file (and the MQTT password file it names); throws config_error
/// listing every problem. A missing or unreadable file is an error; an empty file gives defaults.
settings load_file(const std::filesystem::path& path);

/// Like load_file, from text; `source_name` is used as the file name in error messages.
settings load_string(std::string_view toml, std::string_view source_name = "<string>");

/// Every key the loader accepts, as dotted paths in schema order: "mqtt.qos",
/// "rules.spo2_low.limit", "devices[].id", "patients[].rules.hr_low.enabled", ...
std::vector<std::string> known_keys();

}  // namespace vitals::config
