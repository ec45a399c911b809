#pragma once
// Internal to vitals::daemon: the settings of each part (store, pipeline, detectors, API) made
// from config::settings, what a reload may not change, and the patient registry merged in at
// start. app.cpp wires the parts; this file only translates.

#include <cstddef>
#include <string>
#include <unordered_map>
#include <vector>

#include <vitals/adapters/sqlite/sqlite_store.hpp>
#include <vitals/config/patient_registry.hpp>
#include <vitals/config/settings.hpp>
#include <vitals/core/detector_set.hpp>
#include <vitals/core/intake_gate.hpp>
#include <vitals/core/pipeline.hpp>
#include <vitals/daemon/api_server.hpp>

namespace vitals::daemon::detail {

adapters::sqlite::store_options store_options_from(const config::settings& s,
                                                   core::intake_gate& intake);
core::pipeline_options pipeline_options_from(const config::settings& s);
core::detection_settings detection_settings_from(const config::settings& s);

/// max_connections within the descriptor limit: the soft limit is raised towards the hard one
/// when needed, and the cap lowered (with a warning) when even that is not enough.
std::size_t connections_within_fd_limit(std::size_t wanted);

std::vector<api_token> api_tokens_from(const config::settings& s);
api_options api_options_from(const config::settings& s);

/// [[devices]] (and the registry's devices) as device id -> patient id.
std::unordered_map<std::string, std::string> device_patients_of(const config::settings& s);

/// Same plugin tables (type, name and options) in the same order.
bool same_plugins(const std::vector<config::plugin_config>& a,
                  const std::vector<config::plugin_config>& b);

/// Settings a running vitalsd cannot change (connections, threads, files, listeners): where
/// `next` differs from `running`, the running value is kept in `next` and the setting named.
std::vector<std::string> keep_restart_only(const config::settings& running, config::settings& next);

/// The patient registry in the database at `path`, as config entries; throws
/// std::runtime_error naming the file when it cannot be read.
std::vector<config::registry_patient> registry_of(const std::string& path);

/// `file` with the database's patient registry applied, at start. An entry that fails the
/// checks (written by an older vitalsd, or by hand) is left out with an error, and so is the
/// whole registry when it cannot be read: every other patient is still watched, and the API
/// (vitalsctl patient update) can fix the entry. `problem` says what was left out ("" when
/// nothing), for /healthz.
config::settings with_registry(config::settings file, std::string& problem);

}  // namespace vitals::daemon::detail
