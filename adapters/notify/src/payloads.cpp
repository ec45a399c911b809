// The neutral JSON documents, UTC times, signatures and the helpers every renderer shares.
#include <vitals/adapters/notify/payloads.hpp>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <stdexcept>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "payload_detail.hpp"

namespace vitals::adapters::notify {

namespace detail {

using nlohmann::json;

json time_or_null(const std::optional<core::timestamp>& t) {
  return t ? json(format_utc(*t)) : json(nullptr);
}

json text_or_null(const std::string& s) {
  return s.empty() ? json(nullptr) : json(s);
}

json alert_object(const core::alert_record& a) {
  return json{
      {"id", a.id},
      {"patient", a.patient.view()},
      {"device", a.device.view()},
      {"rule", a.rule},
      {"group", a.group},
      {"current_rule", a.current_rule},
      {"vital", core::about_vitalsd(a) ? json(nullptr) : json(core::to_string(a.kind))},
      {"source", core::to_string(a.source)},
      {"priority", core::to_string(a.level)},
      {"peak_priority", core::to_string(a.peak_level)},
      {"state", core::to_string(a.state)},
      {"condition_present", a.condition_present},
      {"value", a.value},
      {"threshold", a.threshold},
      {"peak_value", a.peak_value},
      {"last_value", a.last_value},
      {"unit", core::about_vitalsd(a) ? json(nullptr) : json(core::canonical_unit(a.kind))},
      {"message", a.message},
      {"raised_at", format_utc(a.raised_at)},
      {"cleared_at", time_or_null(a.cleared_at)},
      {"acknowledged_at", time_or_null(a.acknowledged_at)},
      {"acknowledged_by", text_or_null(a.acknowledged_by)},
      {"resolved_at", time_or_null(a.resolved_at)},
      {"resolved_by", text_or_null(a.resolved_by)},
      {"flaps", a.flaps},
  };
}

json event_object(const core::lifecycle_event& e) {
  return json{
      {"id", e.id},
      {"action", core::to_string(e.action)},
      {"at", format_utc(e.at)},
      {"actor", e.actor},
      {"reason", e.reason},
      {"priority", core::to_string(e.level)},
      {"state", core::to_string(e.state)},
  };
}

json notification_object(const core::notification& n) {
  return json{
      {"idempotency_key", n.idempotency_key()},
      {"dedup_key", n.dedup_key()},
      {"action", core::to_string(n.action)},
      {"receiver", n.receiver},
      {"step", n.step},
      {"alert", alert_object(n.alert)},
      {"event", event_object(n.event)},
      {"sent_by", "vitalsd"},
  };
}

/// Link to the alert in vitalsd's API, or "" when no external URL is configured.
std::string alert_link(const receiver_settings& r, const core::alert_record& a) {
  if (r.external_url.empty()) return {};
  std::string base = r.external_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + "/api/v1/alerts/" + std::to_string(a.id);
}

/// A value with its unit, without trailing zeros ("87 %", "54.5 mg/dL").
std::string with_unit(double v, core::vital_kind k) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%g", v);
  const auto unit = core::canonical_unit(k);
  return std::string(buf) + (unit == "%" ? "" : " ") + std::string(unit);
}

std::string reading_text(const core::alert_record& a) {
  if (core::about_vitalsd(a)) return {};
  return std::string(core::to_string(a.kind)) + " " + with_unit(a.value, a.kind) + ", threshold " +
         with_unit(a.threshold, a.kind);
}

/// Cuts UTF-8 text to at most `max` bytes without splitting a code point.
std::string cut_utf8(std::string s, std::size_t max) {
  if (s.size() <= max) return s;
  std::size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  s.resize(n);
  return s;
}

/// Stable 64-bit FNV-1a (std::hash may differ between builds; fingerprints must not).
std::uint64_t fnv1a(std::string_view s) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (const char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return h;
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string rule_of(const core::alert_record& a) {
  return a.current_rule.empty() ? a.rule : a.current_rule;
}

}  // namespace detail

using namespace detail;

std::string format_utc(core::timestamp t) {
  using namespace std::chrono;
  const auto day = floor<days>(t);
  const year_month_day ymd{day};
  const hh_mm_ss hms{t - day};
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ",
                static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                static_cast<unsigned>(ymd.day()), static_cast<int>(hms.hours().count()),
                static_cast<int>(hms.minutes().count()), static_cast<int>(hms.seconds().count()),
                static_cast<int>(hms.subseconds().count()));
  return buf;
}

std::string_view pagerduty_severity(core::priority p, core::alert_source s) noexcept {
  switch (p) {
    case core::priority::high:
      return "critical";
    case core::priority::medium:
      return "error";
    case core::priority::low:
      // A low technical alert (e.g. a stale feed) needs no one's attention soon.
      return s == core::alert_source::technical ? "info" : "warning";
  }
  return "warning";
}

std::string alert_json(const core::alert_record& a) {
  return alert_object(a).dump();
}

std::string lifecycle_event_json(const core::lifecycle_event& e) {
  return event_object(e).dump();
}

std::string notification_json(const core::notification& n) {
  return notification_object(n).dump();
}

std::string webhook_signature(std::string_view secret, std::int64_t unix_seconds,
                              std::string_view body) {
  std::string message = std::to_string(unix_seconds);
  message += '.';
  message.append(body);
  return hmac_sha256_hex(secret, message);
}

std::string hmac_sha256_hex(std::string_view key, std::string_view message) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  // An empty key is legal for HMAC; OpenSSL wants a non-null pointer for it.
  static const unsigned char empty = 0;
  const auto* k = key.empty() ? &empty : reinterpret_cast<const unsigned char*>(key.data());
  if (HMAC(EVP_sha256(), k, static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac,
           &len) == nullptr) {
    throw std::runtime_error("HMAC-SHA256 failed");
  }
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i) {
    out += hex[mac[i] >> 4];
    out += hex[mac[i] & 0x0f];
  }
  return out;
}

}  // namespace vitals::adapters::notify
