// The API server's routing and authorisation: which endpoint a path names and which methods
// it allows, bearer tokens and their roles, and the call into the backend (or the command to
// run) for each endpoint.
#include "api_routing.hpp"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <optional>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include <vitals/core/short_id.hpp>

namespace vitals::daemon::detail {

static_assert(std::tuple_size_v<digest> == SHA256_DIGEST_LENGTH);

digest sha256(std::string_view text) {
  digest d{};
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), d.data());
  return d;
}

namespace {

enum class route_id {
  healthz,
  metrics,
  alerts,
  alert,
  acknowledge,
  resolve,
  snooze_alert,
  snoozes,
  snooze,
  reload,
  patients,
  patient
};

struct route_match {
  route_id id = route_id::healthz;
  std::string_view allow;    ///< methods, for 405's Allow header
  std::string_view pattern;  ///< for logs: no ids or patient names in it
  std::vector<std::string> params;
};

/// nullopt: no such path. Throws nothing; a broken %-escape makes the segment not match.
std::optional<route_match> match_route(std::string_view path, bool& bad_escape) {
  bad_escape = false;
  if (path.empty() || path.front() != '/') return std::nullopt;
  std::vector<std::string_view> seg;
  std::string_view rest = path.substr(1);
  while (true) {
    const auto slash = rest.find('/');
    seg.push_back(rest.substr(0, slash));
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  auto param = [&](std::string_view s) -> std::string {
    auto d = percent_decode(s, false);
    if (!d) {
      bad_escape = true;
      return {};
    }
    return *d;
  };
  const auto n = seg.size();
  if (n == 1 && seg[0] == "healthz") return route_match{route_id::healthz, "GET", "/healthz", {}};
  if (n == 1 && seg[0] == "metrics") return route_match{route_id::metrics, "GET", "/metrics", {}};
  if (n < 3 || seg[0] != "api" || seg[1] != "v1") return std::nullopt;
  if (n == 3 && seg[2] == "reload") {
    return route_match{route_id::reload, "POST", "/api/v1/reload", {}};
  }
  if (seg[2] == "alerts") {
    if (n == 3) return route_match{route_id::alerts, "GET", "/api/v1/alerts", {}};
    if (seg[3].empty()) return std::nullopt;
    if (n == 4) return route_match{route_id::alert, "GET", "/api/v1/alerts/{id}", {param(seg[3])}};
    if (n != 5) return std::nullopt;
    if (seg[4] == "acknowledge") {
      return route_match{
          route_id::acknowledge, "POST", "/api/v1/alerts/{id}/acknowledge", {param(seg[3])}};
    }
    if (seg[4] == "resolve") {
      return route_match{route_id::resolve, "POST", "/api/v1/alerts/{id}/resolve", {param(seg[3])}};
    }
    if (seg[4] == "snooze") {
      return route_match{
          route_id::snooze_alert, "POST", "/api/v1/alerts/{id}/snooze", {param(seg[3])}};
    }
    return std::nullopt;
  }
  if (seg[2] == "patients") {
    if (n == 3) return route_match{route_id::patients, "GET", "/api/v1/patients", {}};
    if (n == 4 && !seg[3].empty()) {
      return route_match{
          route_id::patient, "GET, PUT, DELETE", "/api/v1/patients/{id}", {param(seg[3])}};
    }
    return std::nullopt;
  }
  if (seg[2] == "snoozes") {
    if (n == 3) return route_match{route_id::snoozes, "GET, POST", "/api/v1/snoozes", {}};
    if (n == 5 && !seg[3].empty() && !seg[4].empty()) {
      return route_match{route_id::snooze,
                         "DELETE",
                         "/api/v1/snoozes/{patient}/{rule}",
                         {param(seg[3]), param(seg[4])}};
    }
  }
  return std::nullopt;
}

bool method_allowed(std::string_view allow, std::string_view method) {
  while (!allow.empty()) {
    const auto comma = allow.find(',');
    if (trim(allow.substr(0, comma)) == method) return true;
    if (comma == std::string_view::npos) break;
    allow.remove_prefix(comma + 1);
  }
  return false;
}

/// nullopt: authorised. `found` is the token that matched, also when its role is too weak.
std::optional<reply> authorise(std::string_view authorization, std::span<const token_entry> tokens,
                               bool command, const token_entry*& found) {
  if (tokens.empty()) return error_reply(503, "no API tokens configured");
  auto header = trim(authorization);
  constexpr std::string_view scheme = "bearer ";
  std::string_view presented;
  if (header.size() > scheme.size() && iequals(header.substr(0, scheme.size()), scheme)) {
    presented = trim(header.substr(scheme.size()));
  }
  if (presented.empty()) {
    auto r = error_reply(401, "missing bearer token");
    r.www_authenticate = "Bearer realm=\"vitalsd\"";
    return r;
  }
  // Fixed-length digests compared with CRYPTO_memcmp against every token, without stopping
  // at a match: the time taken says nothing about which token, or how much of one, matched.
  const auto d = sha256(presented);
  found = nullptr;
  for (const auto& t : tokens) {
    const bool same = CRYPTO_memcmp(d.data(), t.hash.data(), d.size()) == 0;
    found = same ? &t : found;
  }
  if (found == nullptr) {
    auto r = error_reply(401, "invalid token");
    r.www_authenticate = "Bearer realm=\"vitalsd\", error=\"invalid_token\"";
    return r;
  }
  if (command && !found->may_command) {
    return error_reply(
        403,
        fmt::format("token '{}' may read but not acknowledge, resolve or snooze", found->name));
  }
  return std::nullopt;
}

/// nullopt: `token` may change the configuration and the patient registry.
std::optional<reply> admin_only(const token_entry* token, const std::string& token_name) {
  if (token != nullptr && token->may_admin) return std::nullopt;
  return error_reply(
      403, fmt::format("token '{}' is not an admin token (role = \"admin\")", token_name));
}

}  // namespace

routed handle_request(const request_view& req, api_backend& backend,
                      std::span<const token_entry> tokens, bool metrics_auth) {
  routed out;
  const auto answer = [&out](reply r) {
    out.action = std::move(r);
    return std::move(out);
  };
  const std::string_view target = req.target;
  const auto qmark = target.find('?');
  const auto path = target.substr(0, qmark);
  const auto query =
      qmark == std::string_view::npos ? std::string_view{} : target.substr(qmark + 1);
  const std::string_view method = req.method;

  bool bad_escape = false;
  const auto route = match_route(path, bad_escape);
  if (!route) {
    out.log_pattern = std::string(path);
    return answer(error_reply(404, fmt::format("no such endpoint: {} {}", method, path)));
  }
  out.log_pattern = std::string(route->pattern);
  if (!method_allowed(route->allow, method)) {
    auto r = error_reply(405, fmt::format("{} is not allowed on {}; allowed: {}", method,
                                          route->pattern, route->allow));
    r.allow = std::string(route->allow);
    return answer(std::move(r));
  }
  if (bad_escape) return answer(error_reply(400, "malformed %-escape in the path"));

  if (route->id == route_id::healthz) return answer(reply{backend.health(), {}, {}});
  const token_entry* token = nullptr;
  if (route->id != route_id::metrics || metrics_auth) {
    // After method_allowed(), the method is one of the route's, spelt as listed.
    // Routes for admin tokens check the role themselves, with a message that names it.
    const bool admin_route = route->id == route_id::reload || route->id == route_id::patient;
    auto e = authorise(req.authorization, tokens, method != "GET" && !admin_route, token);
    if (token != nullptr) out.log_who = token->name;
    if (e) return answer(std::move(*e));
  }
  const std::string token_name = token != nullptr ? token->name : std::string();

  const auto command = [&](alert_command::kind what) {
    alert_command c;
    if (auto e = parse_command(what, route->params, req.content_type, req.body, token_name, c)) {
      return answer(std::move(*e));
    }
    out.action = std::move(c);
    return std::move(out);
  };
  switch (route->id) {
    case route_id::healthz:
      break;
    case route_id::metrics: {
      auto r = backend.metrics();
      // Prometheus needs the exposition format's type; keep a more specific one from the
      // backend (e.g. with a charset).
      if (r.status == 200 && r.content_type.rfind("text/plain", 0) != 0) {
        r.content_type = "text/plain; version=0.0.4";
      }
      return answer(reply{std::move(r), {}, {}});
    }
    case route_id::alerts: {
      alert_list_query q;
      if (auto e = parse_list_query(query, q)) return answer(std::move(*e));
      return answer(reply{backend.list_alerts(q), {}, {}});
    }
    case route_id::alert: {
      std::uint64_t id = 0;
      if (auto e = parse_alert_id(route->params[0], id)) return answer(std::move(*e));
      return answer(reply{backend.get_alert(id), {}, {}});
    }
    case route_id::snoozes:
      if (method == "GET") return answer(reply{backend.list_snoozes(), {}, {}});
      return command(alert_command::kind::snooze_rule);
    case route_id::acknowledge:
      return command(alert_command::kind::acknowledge);
    case route_id::resolve:
      return command(alert_command::kind::resolve);
    case route_id::snooze_alert:
      return command(alert_command::kind::snooze_alert);
    case route_id::snooze:
      return command(alert_command::kind::unsnooze);
    case route_id::patients:
      return answer(reply{backend.list_patients(), {}, {}});
    case route_id::patient: {
      const auto& id = route->params[0];
      if (!core::valid_id_text(id)) {
        return answer(
            error_reply(400, fmt::format("a patient id is 1 to {} bytes without control characters",
                                         core::short_id::max_size)));
      }
      if (method == "GET") return answer(reply{backend.get_patient(id), {}, {}});
      if (auto e = admin_only(token, token_name)) return answer(std::move(*e));
      patient_change c;
      if (auto e = parse_patient_change(method == "PUT", id, req.content_type, req.body, token_name,
                                        c)) {
        return answer(std::move(*e));
      }
      out.action = std::move(c);
      return out;
    }
    case route_id::reload: {
      if (auto e = admin_only(token, token_name)) return answer(std::move(*e));
      reload_request r;
      if (auto e = parse_reload(req.content_type, req.body, token_name, r)) {
        return answer(std::move(*e));
      }
      out.action = std::move(r);
      return out;
    }
  }
  return answer(error_reply(500, "unhandled route"));
}

}  // namespace vitals::daemon::detail
