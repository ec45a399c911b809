// What the API server reads out of a request: the query string of GET /api/v1/alerts, alert
// ids and the JSON bodies of the commands, each checked for shape with an error that names the
// field; and the JSON error replies.
#include "api_request.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cmath>
#include <initializer_list>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace vitals::daemon {

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

namespace detail {

namespace {

/// Longest piece of client input quoted back in an error message.
constexpr std::size_t max_quoted = 64;
/// Bounds of the audit-trail strings (the body limit bounds them too; these keep rows sane).
constexpr std::size_t max_by_bytes = 200;
constexpr std::size_t max_reason_bytes = 1000;
/// A year: far beyond any configured snooze bound, and keeps minutes * 60 well inside int64.
constexpr double max_minutes = 525600.0;

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

/// A whole decimal number (no sign, no spaces); nullopt otherwise or on overflow.
std::optional<std::uint64_t> parse_u64(std::string_view s) {
  std::uint64_t v = 0;
  if (s.empty()) return std::nullopt;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace

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

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

reply error_reply(unsigned status, std::string_view message) {
  return reply{json_error(status, message), {}, {}};
}

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

namespace {

/// A non-empty body that must be a JSON object.
std::optional<reply> parse_object(std::string_view body, std::string_view content_type, json& out) {
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
  return std::nullopt;
}

/// The JSON body of a command: an object with only `allowed` fields; an empty body is {}.
std::optional<reply> parse_body(std::string_view body, std::string_view content_type,
                                std::initializer_list<std::string_view> allowed, json& out) {
  out = json::object();
  if (body.empty()) return std::nullopt;
  if (auto e = parse_object(body, content_type, out)) return e;
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

}  // namespace

std::optional<reply> parse_command(alert_command::kind what, const std::vector<std::string>& params,
                                   std::string_view content_type, std::string_view body_text,
                                   const std::string& token_name, alert_command& c) {
  json body;
  c.what = what;
  switch (what) {
    case alert_command::kind::acknowledge:
    case alert_command::kind::resolve:
      if (auto e = parse_alert_id(params[0], c.alert_id)) return e;
      if (auto e = parse_body(body_text, content_type, {"by", "reason"}, body)) return e;
      break;
    case alert_command::kind::snooze_alert:
      if (auto e = parse_alert_id(params[0], c.alert_id)) return e;
      if (auto e = parse_body(body_text, content_type, {"minutes", "by", "reason"}, body)) {
        return e;
      }
      if (auto e = minutes_field(body, c.length)) return e;
      break;
    case alert_command::kind::snooze_rule:
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
    case alert_command::kind::unsnooze:
      c.patient = params[0];
      c.rule = params[1];
      if (auto e = parse_body(body_text, content_type, {"by", "reason"}, body)) return e;
      break;
  }
  return actor_fields(body, token_name, c.who);
}

std::optional<reply> parse_reload(std::string_view content_type, std::string_view body_text,
                                  const std::string& token_name, reload_request& r) {
  json body;
  if (auto e = parse_body(body_text, content_type, {"by", "reason"}, body)) return e;
  return actor_fields(body, token_name, r.who);
}

std::optional<reply> parse_patient_change(bool put, const std::string& id,
                                          std::string_view content_type, std::string_view body,
                                          const std::string& token_name, patient_change& c) {
  c.id = id;
  c.who.by = token_name;
  if (!put) {
    if (!body.empty()) return error_reply(400, "DELETE takes no request body");
    return std::nullopt;
  }
  if (body.empty()) {
    return error_reply(400,
                       "request body required: the patient's settings as a JSON object "
                       "({} for none), e.g. {\"care_team\": \"ward-3\", \"devices\": [\"cgm-1\"]}");
  }
  json doc;
  if (auto e = parse_object(body, content_type, doc)) return e;
  c.document = doc.dump();
  return std::nullopt;
}

}  // namespace detail

}  // namespace vitals::daemon
