// The settings of each part made from config::settings (app_settings.hpp).
#include "app_settings.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <stdexcept>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <vitals/adapters/sqlite/patient_registry.hpp>
#include <vitals/config/config_error.hpp>
#include <vitals/core/short_id.hpp>

namespace vitals::daemon::detail {

adapters::sqlite::store_options store_options_from(const config::settings& s,
                                                   core::intake_gate& intake) {
  adapters::sqlite::store_options o;
  o.intake = &intake;
  o.path = s.store.path;
  o.batch_rows = s.store.batch_rows;
  o.batch_interval = std::chrono::milliseconds(s.store.batch_interval_ms);
  o.synchronous = s.store.synchronous;
  o.max_queued_rows = s.store.max_queued_rows;
  return o;
}

core::pipeline_options pipeline_options_from(const config::settings& s) {
  core::pipeline_options o;
  o.batch_max = s.pipeline.batch_max;
  o.push_timeout = std::chrono::milliseconds(s.pipeline.push_timeout_ms);
  const std::chrono::seconds oximetry(s.pipeline.reconfirm_oximetry_s);
  o.reconfirm_window = {oximetry, oximetry, std::chrono::seconds(s.pipeline.reconfirm_glucose_s)};
  o.accept_unknown = s.pipeline.accept_unknown;
  o.max_streams = s.pipeline.max_streams;
  for (const auto& d : s.devices) o.known_devices.insert(core::short_id::truncate(d.id));
  for (const auto& [id, rules] : s.detector.patients) {
    o.known_patients.insert(core::short_id::truncate(id));
  }
  return o;
}

core::detection_settings detection_settings_from(const config::settings& s) {
  core::detection_settings d;
  d.thresholds = s.detector;
  d.glucose = s.glucose;
  d.news2 = s.news2;
  // Per-patient overrides name rules of every detector; each detector looks up its own. A
  // patient without any (most of a registry: a device mapping) needs no entry in any of them.
  std::erase_if(d.thresholds.patients, [](const auto& p) { return p.second.empty(); });
  d.glucose.patients = d.thresholds.patients;
  d.news2.patients = d.thresholds.patients;
  d.baseline = s.baseline;
  d.baseline.patients = d.thresholds.patients;
  d.stale = s.stale;
  d.conditions = s.technical;
  d.physiological = s.pipeline.detection;
  return d;
}

namespace {

/// Descriptors kept for everything but the API: broker connections, the database and its WAL,
/// receivers, logs.
constexpr std::size_t fd_reserve = 128;

}  // namespace

std::size_t connections_within_fd_limit(std::size_t wanted) {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) return wanted;
  const auto needed = static_cast<rlim_t>(wanted + fd_reserve);
  if (lim.rlim_cur != RLIM_INFINITY && lim.rlim_cur < needed) {
    rlimit raised = lim;
    raised.rlim_cur = lim.rlim_max == RLIM_INFINITY ? needed : std::min(needed, lim.rlim_max);
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) lim = raised;
  }
  if (lim.rlim_cur == RLIM_INFINITY || lim.rlim_cur >= needed) return wanted;
  const auto fit = lim.rlim_cur > fd_reserve + 16
                       ? static_cast<std::size_t>(lim.rlim_cur) - fd_reserve
                       : std::size_t{16};
  spdlog::warn(
      "api: max_connections {} lowered to {}: the descriptor limit is {} and {} are kept for "
      "the broker, the database and the receivers (raise LimitNOFILE)",
      wanted, fit, static_cast<unsigned long long>(lim.rlim_cur), fd_reserve);
  return fit;
}

std::vector<api_token> api_tokens_from(const config::settings& s) {
  std::vector<api_token> out;
  for (const auto& t : s.api.tokens) {
    const auto role = t.role == "read"    ? api_role::read
                      : t.role == "admin" ? api_role::admin
                                          : api_role::ack;
    out.push_back({t.name, t.token, role});
  }
  return out;
}

api_options api_options_from(const config::settings& s) {
  api_options o;
  o.max_connections = connections_within_fd_limit(static_cast<std::size_t>(s.api.max_connections));
  o.address = s.api.listen;
  o.port = static_cast<std::uint16_t>(s.api.port);
  o.metrics_auth = s.api.metrics_auth;
  o.tls_cert_file = s.api.tls_cert_file;
  o.tls_key_file = s.api.tls_key_file;
  o.tls_client_ca_file = s.api.tls_client_ca_file;
  o.allow_plain_http = s.api.allow_plain_http;
  o.tokens = api_tokens_from(s);
  return o;
}

std::unordered_map<std::string, std::string> device_patients_of(const config::settings& s) {
  std::unordered_map<std::string, std::string> out;
  for (const auto& d : s.devices) out.emplace(d.id, d.patient);
  return out;
}

bool same_plugins(const std::vector<config::plugin_config>& a,
                  const std::vector<config::plugin_config>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const auto& x, const auto& y) {
    return x.type == y.type && x.name == y.name && x.options == y.options;
  });
}

std::vector<std::string> keep_restart_only(const config::settings& running,
                                           config::settings& next) {
  std::vector<std::string> kept;
  const auto keep = [&kept](auto& to, const auto& from, std::string name) {
    if (to == from) return;
    to = from;
    kept.push_back(std::move(name));
  };
  for (const auto& [name, set] : running.sections) {
    const auto it = next.sections.find(name);
    if (it == next.sections.end() || !(it->second == set)) {
      next.sections[name] = set;
      kept.push_back("[" + name + "]");
    }
  }
  if (!same_plugins(running.sources, next.sources)) {
    next.sources = running.sources;
    kept.emplace_back("[[sources]]");
  }
  keep(next.store, running.store, "[store]");
  keep(next.pipeline.ring_capacity, running.pipeline.ring_capacity, "pipeline.ring_capacity");
  keep(next.pipeline.push_timeout_ms, running.pipeline.push_timeout_ms, "pipeline.push_timeout_ms");
  keep(next.pipeline.batch_max, running.pipeline.batch_max, "pipeline.batch_max");
  keep(next.pipeline.detection, running.pipeline.detection, "pipeline.detection");
  keep(next.log.format, running.log.format, "log.format");
  keep(next.alerts.command_topic, running.alerts.command_topic, "alerts.command_topic");
  keep(next.alerts.client_id, running.alerts.client_id, "alerts.client_id");
  // The API's listener; its tokens change live.
  auto next_api = next.api;
  next_api.tokens = running.api.tokens;
  if (!(next_api == running.api)) {
    auto tokens = std::move(next.api.tokens);
    next.api = running.api;
    next.api.tokens = std::move(tokens);
    kept.emplace_back("[api] (all but its tokens)");
  }
  keep(next.baseline.buckets, running.baseline.buckets, "baseline.buckets");
  return kept;
}

std::vector<config::registry_patient> registry_of(const std::string& path) {
  std::vector<config::registry_patient> out;
  for (auto& r : adapters::sqlite::read_registry(path)) {
    out.push_back({std::move(r.id), std::move(r.document)});
  }
  return out;
}

config::settings with_registry(config::settings file, std::string& problem) {
  std::vector<config::registry_patient> entries;
  try {
    entries = registry_of(file.store.path);
  } catch (const std::exception& e) {
    spdlog::error(
        "patient registry: cannot be read, only the configuration file's patients are known: {}",
        e.what());
    problem = "cannot be read; the log says why";
    return file;
  }
  std::vector<config::registry_patient> good;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const auto problems = config::check_registry_patient(
        entries[i], "patient registry, entry " + std::to_string(i + 1));
    for (const auto& p : problems) {
      spdlog::error(
          "{} (this patient is left out; `vitalsctl patient list` shows the entries "
          "in this order, `vitalsctl patient update` fixes one)",
          p.to_string());
    }
    if (problems.empty()) good.push_back(std::move(entries[i]));
  }
  if (good.size() != entries.size()) {
    problem = std::to_string(entries.size() - good.size()) +
              " entry(ies) left out as invalid (the log names them); fix or remove them";
  }
  try {
    const auto out = config::apply_registry(file, good);
    if (out.patients != 0) {
      spdlog::info("patient registry: {} patient(s) with {} device(s) from the database{}",
                   out.patients, out.devices,
                   out.replaced == 0 ? std::string()
                                     : fmt::format(" ({} replace the file's entry of the same id)",
                                                   out.replaced));
    }
  } catch (const config::config_error& e) {
    spdlog::error(
        "patient registry left out, only the configuration file's patients are known:\n{}",
        e.what());
    problem = "left out whole (the log says why)";
  }
  return file;
}

}  // namespace vitals::daemon::detail
