#pragma once
// Internal to vitals::config: the readers of the daemon's own sections (everything that is not
// a plugin's table), each a config map asking for its keys one by one.

#include <string>
#include <vector>

#include <vitals/config/settings.hpp>

#include "reader.hpp"

namespace vitals::config::detail {

// loader.cpp
void read_store(context& c, const toml::table* t, store_settings& s);
void read_pipeline(context& c, const toml::table* t, pipeline_settings& p);
void read_log(context& c, const toml::table* t, log_settings& l);
void read_devices(context& c, table_reader& root, settings& s);

// rules_reader.cpp
/// [rules.*] applied to the defaults of whichever detector owns each rule.
void read_global_rules(context& c, const toml::table* t, settings& s);
void read_baseline(context& c, const toml::table* t, core::baseline_settings& b);
void read_stale(context& c, const toml::table* t, core::stale_settings& st);
void read_patients(context& c, table_reader& root, settings& s);
void read_technical(context& c, const toml::table* t, core::condition_settings& s);

// alerts_reader.cpp
void read_alerts(context& c, const toml::table* t, alert_settings& a);
void read_api(context& c, const toml::table* t, api_settings& a);
/// [[routes]]; `receivers` are the names routes may page.
void read_routes(context& c, table_reader& root, const std::vector<std::string>& receivers,
                 std::vector<core::route>& out);

}  // namespace vitals::config::detail
