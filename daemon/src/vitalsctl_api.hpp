#pragma once
// Internal to vitalsctl: the operator commands that talk to a running vitalsd through its HTTP
// API (status, alerts), and check-config.

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>
#include <vector>

namespace vitals::ctl {

/// Exit codes of every vitalsctl command: 0 done, 1 it ran and failed (vitalsd unreachable or
/// degraded, a command refused, a frame that does not decode), 2 a usage or configuration error.
inline constexpr int exit_ok = 0;
inline constexpr int exit_failed = 1;
inline constexpr int exit_usage = 2;

/// Where the API is and how to authenticate; the token only ever from a file.
struct api_target {
  std::string url = "http://127.0.0.1:8470";
  std::string token_file;
  std::string ca_file;
  std::string cert_file;  ///< a client certificate, for an API that requires one
  std::string key_file;
  bool insecure = false;  ///< skip certificate verification (tests only)
};

/// `vitalsctl alerts ...` arguments.
struct alerts_args {
  std::string action = "list";  ///< list, show, ack, resolve, snooze
  std::uint64_t id = 0;
  std::string state;
  std::string patient;
  std::size_t limit = 50;
  double minutes = 0;
  std::string by;
  std::string reason;
  bool json = false;
};

/// Adds `status`, `alerts` and `check-config` to `cli`; the callbacks set `result`.
void add_api_commands(CLI::App& cli, api_target& target, alerts_args& alerts,
                      std::string& config_path, int& result);

}  // namespace vitals::ctl
