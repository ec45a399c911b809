#pragma once
// Internal to vitals::daemon: the API server's routing and authorisation, from a request's
// method, target and headers to the backend's answer or the command to run. Free of Beast
// (api_server.cpp alone includes it) and of OpenSSL (api_routing.cpp alone hashes).

#include <array>
#include <span>
#include <string>
#include <string_view>
#include <variant>

#include <vitals/daemon/api_backend.hpp>

#include "api_request.hpp"

namespace vitals::daemon::detail {

/// A SHA-256 digest.
using digest = std::array<unsigned char, 32>;

/// SHA-256 of `text`: tokens are kept and compared as digests only.
digest sha256(std::string_view text);

/// A configured token as the server keeps it.
struct token_entry {
  std::string name;
  digest hash;
  bool may_command = false;  ///< api_role::ack: acknowledge, resolve, snooze as well as read
  bool may_admin = false;    ///< api_role::admin: the configuration reload as well
};

/// What routing needs of one HTTP request, without Beast's types.
struct request_view {
  std::string_view method;         ///< as sent: "GET"
  std::string_view target;         ///< path and query string
  std::string_view authorization;  ///< the Authorization header; empty when absent
  std::string_view content_type;   ///< the Content-Type header; empty when absent
  std::string_view body;
};

/// What to do with one request, and what to log about it.
struct routed {
  /// A reply to send now, or a command, reload or registry change for the backend, answered
  /// when it completes.
  std::variant<reply, alert_command, reload_request, patient_change> action;
  std::string log_pattern;    ///< the route's pattern (no ids or patient names); the path if none
  std::string log_who = "-";  ///< the token's name once one matched
};

/// Routes, authorises and validates `req`; calls the backend for everything but commands.
routed handle_request(const request_view& req, api_backend& backend,
                      std::span<const token_entry> tokens, bool metrics_auth);

}  // namespace vitals::daemon::detail
