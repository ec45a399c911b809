#pragma once
// Internal to vitals::daemon: what the API server reads out of a request (the query string of
// GET /api/v1/alerts, alert ids, command bodies) and the error replies it answers with when that
// fails. No Beast and no JSON library here: the connections (api_server.cpp) and the routing
// (api_routing.cpp) include this, the JSON parsing stays in api_request.cpp.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <vitals/daemon/api_backend.hpp>

namespace vitals::daemon::detail {

/// What the server answers: the backend's response plus the HTTP-level headers of errors.
struct reply {
  api_response response;
  std::string allow;             ///< 405
  std::string www_authenticate;  ///< 401
};

/// json_error() as a reply without extra headers.
reply error_reply(unsigned status, std::string_view message);

/// %XX-decoding (and '+' as space in query strings); nullopt for a broken escape.
std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space);

/// ASCII case-insensitive equality (header values, the auth scheme).
bool iequals(std::string_view a, std::string_view b);

/// `s` without leading and trailing spaces and tabs.
std::string_view trim(std::string_view s);

/// Fills `out` from the query string of GET /api/v1/alerts; an error reply otherwise.
std::optional<reply> parse_list_query(std::string_view query, alert_list_query& out);

/// A positive alert id from a path segment; an error reply otherwise.
std::optional<reply> parse_alert_id(const std::string& text, std::uint64_t& id);

/// Fills `c` for a command of kind `what` from the path's decoded parameters (alert id, or
/// patient and rule), the body (JSON, with its Content-Type) and the authenticated token's
/// name; an error reply for the first thing wrong.
std::optional<reply> parse_command(alert_command::kind what, const std::vector<std::string>& params,
                                   std::string_view content_type, std::string_view body,
                                   const std::string& token_name, alert_command& c);

/// Fills `r` for POST /api/v1/reload from its optional body ({"by", "reason"}) and the token's
/// name; an error reply for the first thing wrong.
std::optional<reply> parse_reload(std::string_view content_type, std::string_view body,
                                  const std::string& token_name, reload_request& r);

/// Fills `c` for PUT (`put`: the body is the patient's document, a JSON object) or DELETE (no
/// body) /api/v1/patients/{id}; who is the token's name. An error reply for the first thing
/// wrong; the document's keys are the backend's to check.
std::optional<reply> parse_patient_change(bool put, const std::string& id,
                                          std::string_view content_type, std::string_view body,
                                          const std::string& token_name, patient_change& c);

}  // namespace vitals::daemon::detail
