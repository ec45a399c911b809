// Payloads of every notification receiver kind (FHIR lives in fhir.cpp), the neutral JSON
// document and the webhook signature. Pure functions: no I/O, no clock.
#include <vitals/adapters/notify/receiver.hpp>

#include <array>
#include <cctype>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <stdexcept>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <nlohmann/json.hpp>

namespace vitals::adapters::notify {

namespace {

using nlohmann::json;

constexpr std::array<std::string_view, 6> kind_names{"webhook", "alertmanager", "pagerduty",
                                                     "ntfy",    "mqtt",         "fhir"};

/// Alertmanager's "not yet ended" value for endsAt (Go's zero time).
constexpr std::string_view alertmanager_zero_time = "0001-01-01T00:00:00Z";

/// PagerDuty rejects summaries longer than this.
constexpr std::size_t pagerduty_summary_max = 1024;

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
      {"vital", core::to_string(a.kind)},
      {"source", core::to_string(a.source)},
      {"priority", core::to_string(a.level)},
      {"peak_priority", core::to_string(a.peak_level)},
      {"state", core::to_string(a.state)},
      {"condition_present", a.condition_present},
      {"value", a.value},
      {"threshold", a.threshold},
      {"peak_value", a.peak_value},
      {"last_value", a.last_value},
      {"unit", core::canonical_unit(a.kind)},
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

// Alertmanager ---------------------------------------------------------------------------------

// Prometheus' customary severity label values.
std::string_view am_severity(core::priority p) {
  switch (p) {
    case core::priority::high:
      return "critical";
    case core::priority::medium:
      return "warning";
    case core::priority::low:
      return "info";
  }
  return "info";
}

std::optional<http_payload> render_alertmanager(const receiver_settings& r,
                                                const core::notification& n) {
  // Alertmanager's model has no acknowledgement (silences are its nearest idea, and they are
  // set on Alertmanager, not sent to receivers): an acknowledged alert keeps firing until it
  // resolves, so the acknowledgement itself is skipped.
  if (n.action == core::notify_action::acknowledge) return std::nullopt;
  const auto& a = n.alert;
  const bool resolved = n.action == core::notify_action::resolve;
  const std::string status = resolved ? "resolved" : "firing";
  // alertname is the group: it stays the same when the alert escalates to a sibling rule, so a
  // receiver sees one alert, as Alertmanager identifies alerts by their labels.
  const json labels{
      {"alertname", a.group},
      {"patient", a.patient.view()},
      {"priority", to_string(a.level)},
      {"severity", am_severity(a.level)},
      {"source", to_string(a.source)},
      {"vital", core::to_string(a.kind)},
      {"rule", rule_of(a)},
      {"alert_id", std::to_string(a.id)},
  };
  const std::string summary = a.message.empty() ? rule_of(a) : a.message;
  const std::string description =
      summary + " (" + std::string(core::to_string(a.kind)) + " " + with_unit(a.value, a.kind) +
      ", threshold " + with_unit(a.threshold, a.kind) + ", " + std::string(to_string(a.level)) +
      " priority, " + std::string(to_string(a.state)) + ")";
  const json annotations{{"summary", summary}, {"description", description}};
  const std::string ends =
      resolved ? (a.resolved_at ? format_utc(*a.resolved_at) : format_utc(n.event.at))
               : std::string(alertmanager_zero_time);
  char fingerprint[17];
  std::snprintf(fingerprint, sizeof fingerprint, "%016" PRIx64, fnv1a(n.dedup_key()));
  // One alert per message: commonLabels / commonAnnotations are then all of its labels and
  // annotations, as Alertmanager computes them. Grouped by (alertname, patient).
  const json body{
      {"version", "4"},
      {"groupKey",
       "{}:{alertname=\"" + a.group + "\", patient=\"" + std::string(a.patient.view()) + "\"}"},
      {"truncatedAlerts", 0},
      {"status", status},
      {"receiver", r.name},
      {"groupLabels", {{"alertname", a.group}, {"patient", a.patient.view()}}},
      {"commonLabels", labels},
      {"commonAnnotations", annotations},
      {"externalURL", r.external_url},
      {"alerts", json::array({json{
                     {"status", status},
                     {"labels", labels},
                     {"annotations", annotations},
                     {"startsAt", format_utc(a.raised_at)},
                     {"endsAt", ends},
                     {"generatorURL", alert_link(r, a)},
                     {"fingerprint", fingerprint},
                 }})},
  };
  http_payload p;
  p.body = body.dump();
  return p;
}

// PagerDuty ------------------------------------------------------------------------------------

std::optional<http_payload> render_pagerduty(const receiver_settings& r,
                                             const core::notification& n) {
  const auto& a = n.alert;
  json body{{"routing_key", r.secret}, {"dedup_key", n.dedup_key()}};
  switch (n.action) {
    case core::notify_action::acknowledge:
      body["event_action"] = "acknowledge";
      break;
    case core::notify_action::resolve:
      body["event_action"] = "resolve";
      break;
    default:
      // trigger, escalate and repeat: PagerDuty dedups on dedup_key and updates the incident.
      body["event_action"] = "trigger";
      break;
  }
  // PagerDuty ignores payload on acknowledge and resolve: sending none keeps patient data off
  // those requests.
  if (body["event_action"] == "trigger") {
    const std::string summary =
        cut_utf8("[" + upper(to_string(a.level)) + "] " + rule_of(a) + " for patient " +
                     std::string(a.patient.view()) + (a.message.empty() ? "" : ": " + a.message),
                 pagerduty_summary_max);
    json details{
        {"alert_id", a.id},
        {"rule", rule_of(a)},
        {"priority", to_string(a.level)},
        {"state", to_string(a.state)},
        {"vital", core::to_string(a.kind)},
        {"value", a.value},
        {"threshold", a.threshold},
        {"peak_value", a.peak_value},
        {"unit", core::canonical_unit(a.kind)},
        {"device", a.device.view()},
        {"raised_at", format_utc(a.raised_at)},
        {"notification", core::to_string(n.action)},
        {"step", n.step},
    };
    body["payload"] = json{
        {"summary", summary},
        {"source", "vitalsd"},
        {"severity", pagerduty_severity(a.level, a.source)},
        {"timestamp", format_utc(a.raised_at)},
        {"component", core::to_string(a.kind)},
        {"group", a.patient.view()},
        {"class", rule_of(a)},
        {"custom_details", std::move(details)},
    };
    body["client"] = "vitalsd";
    if (const auto link = alert_link(r, a); !link.empty()) body["client_url"] = link;
  }
  http_payload p;
  p.body = body.dump();
  return p;
}

// ntfy -----------------------------------------------------------------------------------------

std::optional<http_payload> render_ntfy(const receiver_settings& r, const core::notification& n) {
  if (r.topic.empty()) throw std::invalid_argument("ntfy receiver '" + r.name + "' has no topic");
  const auto& a = n.alert;
  const std::string rule = rule_of(a);
  const std::string patient(a.patient.view());
  json body{{"topic", r.topic}};
  switch (n.action) {
    case core::notify_action::acknowledge:
      body["title"] = "Acknowledged: " + rule + " (patient " + patient + ")";
      body["message"] = "Alert " + std::to_string(a.id) + " acknowledged by " +
                        (n.event.actor.empty() ? "someone" : n.event.actor) +
                        (n.event.reason.empty() ? "" : ": " + n.event.reason);
      body["priority"] = 2;
      body["tags"] = json::array({"heavy_check_mark"});
      break;
    case core::notify_action::resolve:
      body["title"] = "Resolved: " + rule + " (patient " + patient + ")";
      body["message"] = "Alert " + std::to_string(a.id) + " resolved by " +
                        (n.event.actor.empty() ? "system" : n.event.actor) +
                        (n.event.reason.empty() ? "" : ": " + n.event.reason);
      body["priority"] = 2;
      body["tags"] = json::array({"white_check_mark"});
      break;
    default: {
      const std::string prefix = n.action == core::notify_action::escalate ? "Escalated "
                                 : n.action == core::notify_action::repeat ? "Reminder: "
                                                                           : "";
      body["title"] =
          prefix + upper(to_string(a.level)) + " " + rule + " (patient " + patient + ")";
      body["message"] = (a.message.empty() ? rule : a.message) + " — " +
                        std::string(core::to_string(a.kind)) + " " + with_unit(a.value, a.kind) +
                        ", threshold " + with_unit(a.threshold, a.kind) + ", alert " +
                        std::to_string(a.id);
      body["priority"] = a.level == core::priority::high     ? 5
                         : a.level == core::priority::medium ? 4
                                                             : 3;
      body["tags"] = json::array({a.level == core::priority::high     ? "rotating_light"
                                  : a.level == core::priority::medium ? "warning"
                                                                      : "information_source"});
      break;
    }
  }
  if (const auto link = alert_link(r, a); !link.empty()) body["click"] = link;
  http_payload p;
  p.body = body.dump();
  if (!r.secret.empty()) p.headers.emplace_back("Authorization", "Bearer " + r.secret);
  return p;
}

/// MQTT topic levels must not contain wildcards or separators taken from data.
std::string topic_safe(std::string_view s) {
  std::string out(s);
  for (auto& c : out) {
    if (c == '/' || c == '+' || c == '#' || c == '\0') c = '_';
  }
  return out;
}

void replace_all(std::string& s, std::string_view what, const std::string& with) {
  for (auto pos = s.find(what); pos != std::string::npos; pos = s.find(what, pos + with.size()))
    s.replace(pos, what.size(), with);
}

}  // namespace

std::string_view to_string(receiver_kind k) noexcept {
  const auto i = static_cast<std::size_t>(k);
  return i < kind_names.size() ? kind_names[i] : std::string_view("unknown");
}

std::optional<receiver_kind> parse_receiver_kind(std::string_view text) noexcept {
  for (std::size_t i = 0; i < kind_names.size(); ++i) {
    if (kind_names[i] == text) return static_cast<receiver_kind>(i);
  }
  return std::nullopt;
}

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

std::optional<http_payload> render_http(const receiver_settings& r, const core::notification& n) {
  switch (r.kind) {
    case receiver_kind::webhook: {
      http_payload p;
      p.body = notification_json(n);
      return p;
    }
    case receiver_kind::alertmanager:
      return render_alertmanager(r, n);
    case receiver_kind::pagerduty:
      return render_pagerduty(r, n);
    case receiver_kind::ntfy:
      return render_ntfy(r, n);
    case receiver_kind::fhir:
      return render_fhir(r, n);
    case receiver_kind::mqtt:
      break;
  }
  throw std::invalid_argument("receiver '" + r.name + "' of kind " +
                              std::string(to_string(r.kind)) + " is not an HTTP receiver");
}

std::pair<std::string, std::string> render_mqtt(const receiver_settings& r,
                                                const core::notification& n) {
  std::string topic = r.topic.empty() ? std::string(default_mqtt_topic) : r.topic;
  // The first rule: it names the alert for its whole life, so one alert stays on one topic.
  replace_all(topic, "{patient}", topic_safe(n.alert.patient.view()));
  replace_all(topic, "{rule}", topic_safe(n.alert.rule));
  replace_all(topic, "{priority}", std::string(to_string(n.alert.level)));
  replace_all(topic, "{action}", std::string(core::to_string(n.action)));
  return {std::move(topic), notification_json(n)};
}

}  // namespace vitals::adapters::notify
