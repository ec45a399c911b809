#pragma once
// Internal to vitalsctl: the operator commands that talk to a running vitalsd through its HTTP
// API (status, alerts, reload, patient), and check-config.

#include <CLI/CLI.hpp>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

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

/// A usage or configuration problem: exit 2 with the message.
struct usage_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Runs `fn`, turning a usage_error into exit 2.
template <class Fn>
int guarded(Fn fn) {
  try {
    return fn();
  } catch (const usage_error& e) {
    std::fprintf(stderr, "vitalsctl: %s\n", e.what());
    return exit_usage;
  }
}

/// An answer of the API.
struct reply {
  int status = 0;     ///< HTTP status; 0: no answer
  std::string body;   ///< the answer
  std::string error;  ///< status 0: why
};

/// One request to the API, waiting for its answer (10 s at most); throws usage_error for a bad
/// --api URL or a missing token file.
reply call(const api_target& t, const std::string& method, const std::string& target,
           const std::string& body = {}, bool with_token = true);

/// The API's {"error": ...} with the status, or the transport error.
std::string error_of(const reply& r);

/// `j[key]` as text: strings as they are, other values as JSON, "-" when absent or null.
std::string text(const nlohmann::json& j, const char* key);

/// --api, --token-file and the TLS options of a command that talks to the API.
void add_api_options(CLI::App* cmd, api_target& t);

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

/// `vitalsctl patient` arguments (vitalsctl_patient.cpp).
struct patient_args;

/// Adds `patient` (list, show, add, update, remove, import) to `cli`; the callbacks set
/// `result`. Keep the returned arguments as long as `cli`.
std::shared_ptr<patient_args> add_patient_commands(CLI::App& cli, api_target& target, int& result);

}  // namespace vitals::ctl
