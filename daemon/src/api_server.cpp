#include <vitals/daemon/api_server.hpp>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <algorithm>
#include <array>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <cmath>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

namespace vitals::daemon {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using json = nlohmann::json;

unsigned http_status(core::command_result::status s) noexcept {
  switch (s) {
    case core::command_result::status::ok:
      return 200;
    case core::command_result::status::not_found:
      return 404;
    case core::command_result::status::conflict:
      return 409;
    case core::command_result::status::invalid:
      return 400;
  }
  return 500;
}

api_response json_error(unsigned status, std::string_view message) {
  api_response r;
  r.status = status;
  // Messages may quote what the client sent; replace invalid UTF-8 rather than throw.
  r.body = json{{"error", message}}.dump(-1, ' ', false, json::error_handler_t::replace);
  return r;
}

namespace {

using digest = std::array<unsigned char, SHA256_DIGEST_LENGTH>;

digest sha256(std::string_view text) {
  digest d{};
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), d.data());
  return d;
}

/// Longest piece of client input quoted back in an error message.
constexpr std::size_t max_quoted = 64;
/// Bounds of the audit-trail strings (the body limit bounds them too; these keep rows sane).
constexpr std::size_t max_by_bytes = 200;
constexpr std::size_t max_reason_bytes = 1000;
/// A year: far beyond any configured snooze bound, and keeps minutes * 60 well inside int64.
constexpr double max_minutes = 525600.0;
/// Lingering close: how long to drain what a client still sends after we shut down our side,
/// so it reads our last answer instead of a connection reset.
constexpr auto linger_time = std::chrono::seconds(2);

/// Client input quoted back in an error message, cut short.
std::string echo(std::string_view s) {
  if (s.size() > max_quoted) return fmt::format("\"{}...\"", s.substr(0, max_quoted));
  return fmt::format("\"{}\"", s);
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// %XX-decoding (and '+' as space in query strings); nullopt for a broken escape.
std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      const int hi = hex_value(s[i + 1]);
      const int lo = hex_value(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view sv(beast::string_view s) {
  return {s.data(), s.size()};
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

/// A whole decimal number (no sign, no spaces); nullopt otherwise or on overflow.
std::optional<std::uint64_t> parse_u64(std::string_view s) {
  std::uint64_t v = 0;
  if (s.empty()) return std::nullopt;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

enum class route_id {
  healthz,
  metrics,
  alerts,
  alert,
  acknowledge,
  resolve,
  snooze_alert,
  snoozes,
  snooze
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

/// What the server answers: the backend's response plus the HTTP-level headers of errors.
struct reply {
  api_response response;
  std::string allow;             ///< 405
  std::string www_authenticate;  ///< 401
};

reply error_reply(unsigned status, std::string_view message) {
  return reply{json_error(status, message), {}, {}};
}

/// Fills `out` from the query string of GET /api/v1/alerts; an error reply otherwise.
std::optional<reply> parse_list_query(std::string_view query, alert_list_query& out) {
  bool seen_state = false, seen_patient = false, seen_limit = false, seen_before = false;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const auto pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    const auto raw_key = pair.substr(0, eq);
    const auto raw_value = eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
    const auto key = percent_decode(raw_key, true);
    const auto value = percent_decode(raw_value, true);
    if (!key || !value) return error_reply(400, "malformed %-escape in the query string");
    auto once = [&](bool& seen) -> std::optional<reply> {
      if (seen) return error_reply(400, fmt::format("query parameter '{}' given twice", *key));
      seen = true;
      return std::nullopt;
    };
    if (*key == "state") {
      if (auto e = once(seen_state)) return e;
      if (!core::parse_alert_state(*value)) {
        return error_reply(400, fmt::format("'state' must be active, acknowledged, latched or "
                                            "resolved, not {}",
                                            echo(*value)));
      }
      out.state = *value;
    } else if (*key == "patient") {
      if (auto e = once(seen_patient)) return e;
      if (value->empty()) return error_reply(400, "'patient' must not be empty");
      out.patient = *value;
    } else if (*key == "limit") {
      if (auto e = once(seen_limit)) return e;
      const auto v = parse_u64(*value);
      if (!v || *v < 1 || *v > 1000) {
        return error_reply(
            400, fmt::format("'limit' must be an integer from 1 to 1000, not {}", echo(*value)));
      }
      out.limit = static_cast<std::size_t>(*v);
    } else if (*key == "before") {
      if (auto e = once(seen_before)) return e;
      const auto v = parse_u64(*value);
      if (!v) {
        return error_reply(400, fmt::format("'before' must be an alert id (a whole number), not {}",
                                            echo(*value)));
      }
      out.before = *v;
    } else {
      // A typo such as ?status=active would otherwise list every alert without saying so.
      return error_reply(400, fmt::format("unknown query parameter {} (known: state, patient, "
                                          "limit, before)",
                                          echo(*key)));
    }
  }
  return std::nullopt;
}

std::optional<reply> parse_alert_id(const std::string& text, std::uint64_t& id) {
  const auto v = parse_u64(text);
  if (!v || *v == 0) {
    return error_reply(400, fmt::format("alert id must be a positive integer, not {}", echo(text)));
  }
  id = *v;
  return std::nullopt;
}

/// The JSON body of a command: an object with only `allowed` fields; an empty body is {}.
std::optional<reply> parse_body(const std::string& body, std::string_view content_type,
                                std::initializer_list<std::string_view> allowed, json& out) {
  out = json::object();
  if (body.empty()) return std::nullopt;
  const auto semicolon = content_type.find(';');
  if (!iequals(trim(content_type.substr(0, semicolon)), "application/json")) {
    return error_reply(415, content_type.empty()
                                ? std::string("a request body needs Content-Type: application/json")
                                : fmt::format("Content-Type must be application/json, not {}",
                                              echo(content_type)));
  }
  try {
    out = json::parse(body);
  } catch (const json::parse_error& e) {
    // Drop nlohmann's "[json.exception.parse_error.101] " prefix: noise to an API client.
    std::string_view what = e.what();
    if (const auto close = what.find("] "); close != std::string_view::npos && what[0] == '[') {
      what.remove_prefix(close + 2);
    }
    return error_reply(400, fmt::format("request body is not valid JSON: {}", what));
  }
  if (!out.is_object()) return error_reply(400, "request body must be a JSON object");
  for (const auto& item : out.items()) {
    if (std::find(allowed.begin(), allowed.end(), item.key()) == allowed.end()) {
      std::string known;
      for (const auto a : allowed) known += (known.empty() ? "" : ", ") + std::string(a);
      // Rejected rather than ignored: a misspelt "reason" would vanish from the audit trail.
      return error_reply(400, fmt::format("unknown field {} (known: {})", echo(item.key()), known));
    }
  }
  return std::nullopt;
}

/// An optional string field of at most `max` bytes.
std::optional<reply> string_field(const json& body, const char* name, std::size_t max,
                                  std::string& out) {
  const auto it = body.find(name);
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) return error_reply(400, fmt::format("'{}' must be a string", name));
  const auto& s = it->get_ref<const std::string&>();
  if (s.size() > max) {
    return error_reply(400, fmt::format("'{}' must be at most {} bytes", name, max));
  }
  out = s;
  return std::nullopt;
}

std::optional<reply> required_string(const json& body, const char* name, std::size_t max,
                                     std::string& out) {
  if (auto e = string_field(body, name, max, out)) return e;
  if (out.empty())
    return error_reply(400, fmt::format("'{}' is required (a non-empty string)", name));
  return std::nullopt;
}

std::optional<reply> minutes_field(const json& body, std::chrono::seconds& out) {
  const auto it = body.find("minutes");
  if (it == body.end() || it->is_null()) {
    return error_reply(400, "'minutes' is required (a positive number)");
  }
  if (!it->is_number()) return error_reply(400, "'minutes' must be a positive number");
  const double m = it->get<double>();
  if (!std::isfinite(m) || m <= 0.0) return error_reply(400, "'minutes' must be a positive number");
  if (m > max_minutes) {
    return error_reply(400, fmt::format("'minutes' must be at most {}", max_minutes));
  }
  // Rounded up so a tiny positive value still snoozes (the backend bounds the length).
  out = std::chrono::seconds(static_cast<std::int64_t>(std::ceil(m * 60.0)));
  return std::nullopt;
}

/// The audit trail records the authenticated app and the person it names.
std::optional<reply> actor_fields(const json& body, const std::string& token_name,
                                  core::actor_info& who) {
  std::string by;
  if (auto e = string_field(body, "by", max_by_bytes, by)) return e;
  if (auto e = string_field(body, "reason", max_reason_bytes, who.reason)) return e;
  who.by = by.empty() ? token_name : token_name + "/" + by;
  return std::nullopt;
}

struct token_entry {
  std::string name;
  digest hash;
  api_role role;
};

class session;

struct server_state : std::enable_shared_from_this<server_state> {
  server_state(asio::io_context& io_, api_options o, api_backend& b)
      : io(io_), options(std::move(o)), backend(b), acceptor(io_), retry(io_) {
    for (auto& t : options.tokens) {
      tokens.push_back({t.name, sha256(t.token), t.role});
      // Only digests are kept: a core dump or a stray log of the options shows no secret.
      std::fill(t.token.begin(), t.token.end(), '\0');
      t.token.clear();
    }
  }

  void do_accept();

  asio::io_context& io;
  api_options options;
  api_backend& backend;
  std::vector<token_entry> tokens;
  tcp::acceptor acceptor;
  asio::steady_timer retry;  ///< accept errors (EMFILE): back off instead of spinning
  std::uint16_t bound_port = 0;
  bool stopped = false;
  std::unordered_map<const void*, std::weak_ptr<session>> sessions;
};

/// One connection: reads a request, answers it, repeats while keep-alive holds.
class session : public std::enable_shared_from_this<session> {
 public:
  session(tcp::socket socket, std::shared_ptr<server_state> server)
      : stream_(std::move(socket)), server_(std::move(server)) {}

  ~session() { server_->sessions.erase(this); }

  void start() {
    server_->sessions.emplace(this, weak_from_this());
    do_read_header();
  }

  void close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
  }

 private:
  void do_read_header() {
    version_ = 11;
    client_keep_alive_ = false;
    log_method_ = "?";
    log_pattern_.clear();
    log_who_ = "-";
    token_name_.clear();
    parser_.emplace();
    parser_->header_limit(8192);
    parser_->body_limit(server_->options.max_body_bytes);
    stream_.expires_after(server_->options.timeout);
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_header(ec); });
  }

  void on_header(beast::error_code ec) {
    if (ec) return on_read_error(ec);
    const auto length = parser_->content_length();
    if (length && *length > server_->options.max_body_bytes) return too_large();
    const auto& req = parser_->get();
    // Kept apart from the message: release() in on_request() empties the parser's copy.
    version_ = req.version() == 10 ? 10 : 11;
    client_keep_alive_ = req.keep_alive();
    log_method_ = std::string(sv(req.method_string()));
    const auto expect = sv(req[http::field::expect]);
    if (iequals(expect, "100-continue") && !parser_->is_done()) {
      // curl and others wait for this before sending a larger body.
      continue_.emplace(http::status::continue_, req.version());
      stream_.expires_after(server_->options.timeout);
      http::async_write(stream_, *continue_,
                        [self = shared_from_this()](beast::error_code e, std::size_t) {
                          if (e) return self->close();
                          self->do_read_body();
                        });
      return;
    }
    do_read_body();
  }

  void do_read_body() {
    stream_.expires_after(server_->options.timeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) {
                       if (ec) return self->on_read_error(ec);
                       self->on_request();
                     });
  }

  void on_read_error(beast::error_code ec) {
    if (ec == http::error::body_limit) return too_large();
    if (ec == http::error::header_limit) {
      return send(error_reply(431, "request header fields too large"), false);
    }
    if (ec.category() == http::make_error_code(http::error::bad_target).category() &&
        ec != http::error::end_of_stream && ec != http::error::partial_message) {
      return send(error_reply(400, "malformed HTTP request"), false);
    }
    // End of stream, timeout, reset or stop(): nothing to answer.
    close();
  }

  void too_large() {
    send(error_reply(413, fmt::format("request body is larger than {} bytes",
                                      server_->options.max_body_bytes)),
         false);
  }

  void on_request() {
    req_ = parser_->release();
    if (server_->stopped) return close();
    handle();
  }

  void handle() {
    const std::string_view target = sv(req_.target());
    const auto qmark = target.find('?');
    const auto path = target.substr(0, qmark);
    const auto query =
        qmark == std::string_view::npos ? std::string_view{} : target.substr(qmark + 1);
    const std::string_view method = sv(req_.method_string());

    bool bad_escape = false;
    const auto route = match_route(path, bad_escape);
    if (!route) {
      log_pattern_ = std::string(path);
      return send(error_reply(404, fmt::format("no such endpoint: {} {}", method, path)));
    }
    log_pattern_ = std::string(route->pattern);
    if (!method_allowed(route->allow, method)) {
      auto r = error_reply(405, fmt::format("{} is not allowed on {}; allowed: {}", method,
                                            route->pattern, route->allow));
      r.allow = std::string(route->allow);
      return send(std::move(r));
    }
    if (bad_escape) return send(error_reply(400, "malformed %-escape in the path"));

    auto& backend = server_->backend;
    if (route->id == route_id::healthz) return send(reply{backend.health(), {}, {}});
    if (route->id != route_id::metrics || server_->options.metrics_auth) {
      if (auto e = authorise(req_.method() != http::verb::get)) return send(std::move(*e));
    }

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
        return send(reply{std::move(r), {}, {}});
      }
      case route_id::alerts: {
        alert_list_query q;
        if (auto e = parse_list_query(query, q)) return send(std::move(*e));
        return send(reply{backend.list_alerts(q), {}, {}});
      }
      case route_id::alert: {
        std::uint64_t id = 0;
        if (auto e = parse_alert_id(route->params[0], id)) return send(std::move(*e));
        return send(reply{backend.get_alert(id), {}, {}});
      }
      case route_id::snoozes:
        if (req_.method() == http::verb::get) return send(reply{backend.list_snoozes(), {}, {}});
        [[fallthrough]];
      case route_id::acknowledge:
      case route_id::resolve:
      case route_id::snooze_alert:
      case route_id::snooze: {
        alert_command c;
        if (auto e = parse_command(*route, c)) return send(std::move(*e));
        return run_command(c);
      }
    }
    send(error_reply(500, "unhandled route"));
  }

  /// nullopt: authorised. Sets log_who_ and token_name_.
  std::optional<reply> authorise(bool command) {
    const auto& tokens = server_->tokens;
    if (tokens.empty()) return error_reply(503, "no API tokens configured");
    auto header = trim(sv(req_[http::field::authorization]));
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
    const token_entry* found = nullptr;
    for (const auto& t : tokens) {
      const bool same = CRYPTO_memcmp(d.data(), t.hash.data(), d.size()) == 0;
      found = same ? &t : found;
    }
    if (found == nullptr) {
      auto r = error_reply(401, "invalid token");
      r.www_authenticate = "Bearer realm=\"vitalsd\", error=\"invalid_token\"";
      return r;
    }
    token_name_ = found->name;
    log_who_ = found->name;
    if (command && found->role != api_role::ack) {
      return error_reply(
          403,
          fmt::format("token '{}' may read but not acknowledge, resolve or snooze", found->name));
    }
    return std::nullopt;
  }

  std::optional<reply> parse_command(const route_match& route, alert_command& c) {
    const auto content_type = sv(req_[http::field::content_type]);
    const auto& body_text = req_.body();
    json body;
    switch (route.id) {
      case route_id::acknowledge:
      case route_id::resolve:
        c.what = route.id == route_id::acknowledge ? alert_command::kind::acknowledge
                                                   : alert_command::kind::resolve;
        if (auto e = parse_alert_id(route.params[0], c.alert_id)) return e;
        if (auto e = parse_body(body_text, content_type, {"by", "reason"}, body)) return e;
        break;
      case route_id::snooze_alert:
        c.what = alert_command::kind::snooze_alert;
        if (auto e = parse_alert_id(route.params[0], c.alert_id)) return e;
        if (auto e = parse_body(body_text, content_type, {"minutes", "by", "reason"}, body)) {
          return e;
        }
        if (auto e = minutes_field(body, c.length)) return e;
        break;
      case route_id::snoozes: {
        c.what = alert_command::kind::snooze_rule;
        if (body_text.empty()) {
          return error_reply(400, "request body required: {\"patient\", \"rule\", \"minutes\"}");
        }
        if (auto e = parse_body(body_text, content_type,
                                {"patient", "rule", "minutes", "up_to", "by", "reason"}, body)) {
          return e;
        }
        if (auto e = required_string(body, "patient", max_by_bytes, c.patient)) return e;
        if (auto e = required_string(body, "rule", max_by_bytes, c.rule)) return e;
        if (auto e = minutes_field(body, c.length)) return e;
        if (auto e = string_field(body, "up_to", 16, c.up_to)) return e;
        if (!c.up_to.empty() && c.up_to != "low" && c.up_to != "medium" && c.up_to != "high") {
          return error_reply(400, "'up_to' must be \"low\", \"medium\" or \"high\"");
        }
        break;
      }
      case route_id::snooze:
        c.what = alert_command::kind::unsnooze;
        c.patient = route.params[0];
        c.rule = route.params[1];
        if (auto e = parse_body(body_text, content_type, {"by", "reason"}, body)) return e;
        break;
      default:
        return error_reply(500, "not a command");
    }
    return actor_fields(body, token_name_, c.who);
  }

  /// Calls `done` once; a completion the backend drops without calling answers 500, so the
  /// client is not left waiting on a connection no timer watches.
  struct completion {
    std::shared_ptr<session> owner;
    bool answered = false;
    completion(const completion&) = delete;
    completion& operator=(const completion&) = delete;
    explicit completion(std::shared_ptr<session> s) : owner(std::move(s)) {}
    ~completion() {
      // After stop() nobody is listening, and the io_context may be going away.
      if (!answered && !owner->server_->stopped)
        owner->answer(json_error(500, "the command was dropped without an answer"));
    }
  };

  void run_command(const alert_command& c) {
    auto state = std::make_shared<completion>(shared_from_this());
    server_->backend.command(c, [state](api_response r) {
      if (state->answered) return;  // a second call would write into the next request
      state->answered = true;
      state->owner->answer(std::move(r));
    });
  }

  void answer(api_response r) {
    // The backend should call on the io thread; dispatch makes another thread harmless.
    asio::dispatch(stream_.get_executor(), [self = shared_from_this(), r = std::move(r)]() mutable {
      if (self->server_->stopped) return self->close();
      self->send(reply{std::move(r), {}, {}});
    });
  }

  void send(reply r, bool keep_alive = true) {
    res_.emplace();
    res_->version(version_);
    res_->result(r.response.status);
    res_->set(http::field::server, "vitalsd");
    res_->set(http::field::content_type, r.response.content_type);
    // Alert state changes by the second: no cache in between may answer for us.
    res_->set(http::field::cache_control, "no-store");
    res_->set("X-Content-Type-Options", "nosniff");
    if (!r.allow.empty()) res_->set(http::field::allow, r.allow);
    if (!r.www_authenticate.empty()) res_->set(http::field::www_authenticate, r.www_authenticate);
    res_->body() = std::move(r.response.body);
    res_->keep_alive(keep_alive && client_keep_alive_ && !server_->stopped);
    res_->prepare_payload();
    spdlog::debug("api: {} {} -> {} ({})", log_method_,
                  log_pattern_.empty() ? std::string_view("?") : std::string_view(log_pattern_),
                  r.response.status, log_who_);
    stream_.expires_after(server_->options.timeout);
    http::async_write(stream_, *res_,
                      [self = shared_from_this()](beast::error_code ec, std::size_t) {
                        if (ec) return self->close();
                        if (!self->res_->keep_alive()) return self->linger();
                        self->do_read_header();
                      });
  }

  /// Shuts our side down and reads what the client still sends until it closes, so unread
  /// request bytes do not turn into a reset that destroys our answer in flight.
  void linger() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return close();
    stream_.expires_after(linger_time);
    drain();
  }

  void drain() {
    stream_.async_read_some(asio::buffer(scratch_),
                            [self = shared_from_this()](beast::error_code ec, std::size_t) {
                              if (ec) return self->close();
                              self->drain();
                            });
  }

  beast::tcp_stream stream_;
  std::shared_ptr<server_state> server_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::request<http::string_body> req_;
  std::optional<http::response<http::empty_body>> continue_;
  std::optional<http::response<http::string_body>> res_;
  std::array<char, 4096> scratch_{};
  unsigned version_ = 11;
  bool client_keep_alive_ = false;
  std::string token_name_;
  std::string log_method_ = "?";
  std::string log_pattern_;
  std::string log_who_ = "-";
};

std::string endpoint_text(const std::string& address, std::uint16_t port) {
  if (address.find(':') != std::string::npos) return fmt::format("[{}]:{}", address, port);
  return fmt::format("{}:{}", address, port);
}

}  // namespace

struct api_server::impl : server_state {
  using server_state::server_state;
};

void server_state::do_accept() {
  acceptor.async_accept([self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
    if (self->stopped || ec == asio::error::operation_aborted) return;
    if (ec) {
      // Out of descriptors and the like: try again shortly rather than spin.
      spdlog::warn("api: accept failed: {}", ec.message());
      self->retry.expires_after(std::chrono::milliseconds(100));
      self->retry.async_wait([self](beast::error_code e) {
        if (!e && !self->stopped) self->do_accept();
      });
      return;
    }
    std::make_shared<session>(std::move(socket), self)->start();
    self->do_accept();
  });
}

api_server::api_server(asio::io_context& io, api_options options, api_backend& backend)
    : impl_(std::make_shared<impl>(io, std::move(options), backend)) {
  auto& d = *impl_;
  const auto where = endpoint_text(d.options.address, d.options.port);
  beast::error_code ec;
  const auto address = asio::ip::make_address(d.options.address, ec);
  if (ec) throw std::runtime_error(fmt::format("API: invalid listen address {}", where));
  const tcp::endpoint endpoint(address, d.options.port);
  auto fail = [&](std::string_view what) {
    throw std::runtime_error(
        fmt::format("API: cannot listen on {}: {} failed: {}", where, what, ec.message()));
  };
  if (d.acceptor.open(endpoint.protocol(), ec); ec) fail("open");
  if (d.acceptor.set_option(asio::socket_base::reuse_address(true), ec); ec) fail("setsockopt");
  if (d.acceptor.bind(endpoint, ec); ec) fail("bind");
  if (d.acceptor.listen(asio::socket_base::max_listen_connections, ec); ec) fail("listen");
  d.bound_port = d.acceptor.local_endpoint(ec).port();
  if (ec) fail("getsockname");
}

api_server::~api_server() {
  stop();
}

void api_server::start() {
  auto& d = *impl_;
  if (d.tokens.empty()) {
    // Health stays open for the orchestrator; the data needs a token, and there is none.
    spdlog::warn(
        "API: no tokens configured ([[api.tokens]]): every endpoint but /healthz answers 503");
  }
  spdlog::info("API: listening on {} ({} token(s), /metrics {})",
               endpoint_text(d.options.address, d.bound_port), d.tokens.size(),
               d.options.metrics_auth ? "needs a token" : "open");
  d.do_accept();
}

void api_server::stop() {
  auto& d = *impl_;
  if (d.stopped) return;
  d.stopped = true;
  beast::error_code ec;
  d.acceptor.close(ec);
  d.retry.cancel();
  // Copied first: closing may destroy a session, which erases itself from the map.
  std::vector<std::shared_ptr<session>> open;
  for (const auto& [key, weak] : d.sessions) {
    if (auto s = weak.lock()) open.push_back(std::move(s));
  }
  for (const auto& s : open) s->close();
}

std::uint16_t api_server::port() const noexcept {
  return impl_->bound_port;
}

}  // namespace vitals::daemon
