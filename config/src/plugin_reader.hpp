#pragma once
// Internal to vitals::config: plugin tables ([[sources]], [[receivers]], shared sections such as
// [mqtt]) read against the option tables the plugins declare in the registry.

#include <string>
#include <string_view>
#include <vector>

#include <vitals/config/settings.hpp>
#include <vitals/core/options.hpp>
#include <vitals/core/plugin_registry.hpp>

#include "reader.hpp"

namespace vitals::config::detail {

/// Reads `t` (may be null: all defaults) against `specs`: types, ranges, choices, required keys,
/// secret files, sub-tables, and unknown keys (with did-you-mean). `reserved` keys are known but
/// not stored (a plugin table's "type" and "name"). Every declared key with a value or a default
/// is in the result.
core::option_set read_options(context& c, const toml::table* t, const std::string& path,
                              const std::vector<core::option_spec>& specs,
                              const std::vector<std::string>& reserved = {});

/// Reports a plugin's own findings (option_problem) at the file position of their key.
void report(context& c, const core::option_set& set, const std::vector<core::option_problem>& ps);

/// Every shared section the registry declares, read from the root table.
void read_sections(context& c, table_reader& root, const core::plugin_registry& plugins,
                   settings& s);

/// [[sources]]; the registry's default instances when the file lists none.
void read_sources(context& c, table_reader& root, const core::plugin_registry& plugins,
                  settings& s);

/// [[receivers]]: each with the delivery options every receiver takes and its type's own.
void read_receivers(context& c, table_reader& root, const core::plugin_registry& plugins,
                    settings& s);

/// A hint for an unknown top-level key that names a plugin type or a shared section's key.
std::string plugin_hint(const core::plugin_registry& plugins, std::string_view key);

}  // namespace vitals::config::detail
