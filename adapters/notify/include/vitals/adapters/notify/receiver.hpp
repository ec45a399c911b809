#pragma once
/// A notification receiver's settings and the payload each kind of receiver is sent.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <vitals/core/alert_model.hpp>

namespace vitals::adapters::notify {

/// The kinds of receiver vitalsd can deliver to.
enum class receiver_kind : std::uint8_t {
  webhook,       ///< generic JSON webhook, HMAC-SHA256 signed
  alertmanager,  ///< Prometheus Alertmanager webhook v4 shape
  pagerduty,     ///< PagerDuty Events API v2
  ntfy,          ///< ntfy JSON publish
  mqtt,          ///< MQTT publish, QoS 1
  fhir,          ///< FHIR R4 transaction Bundle
};

std::string_view to_string(receiver_kind k) noexcept;
std::optional<receiver_kind> parse_receiver_kind(std::string_view text) noexcept;

/// One [[receivers]] entry.
struct receiver_settings {
  std::string name;
  receiver_kind kind = receiver_kind::webhook;
  std::string url;           ///< http(s) endpoint; mqtt: unused (the alert channel's broker)
  std::string secret;        ///< webhook: HMAC key; pagerduty: routing key; ntfy/fhir: bearer token
  std::string topic;         ///< ntfy topic; mqtt topic ({patient} {rule} {priority} {action})
  std::string external_url;  ///< links back to vitalsd (Alertmanager externalURL, ntfy click)
  std::string ca_file;       ///< extra CA bundle for https; empty: the system store
  bool verify_tls = true;
  std::chrono::milliseconds timeout{10000};       ///< per attempt (connect + send + response)
  std::chrono::milliseconds backoff_min{1000};    ///< first retry delay
  std::chrono::milliseconds backoff_max{300000};  ///< retry delay cap
  int max_attempts = 0;         ///< 0: retry until delivered (failures are counted and logged)
  double rate_per_minute = 60;  ///< steady rate limit; bursts up to `burst`
  int burst = 10;
};

/// An HTTP request body with the headers it needs (the sender adds Host, Content-Length,
/// User-Agent, the idempotency key and, for webhooks, the signature).
struct http_payload {
  std::string target;  ///< path and query appended to the receiver URL's path ("" for none)
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

/// The payload for an HTTP receiver, or nullopt when the receiver has no use for the action
/// (the notification then counts as delivered, "skipped"). Pure: no I/O, no clock.
std::optional<http_payload> render_http(const receiver_settings& r, const core::notification& n);

/// The MQTT receiver's topic and JSON message.
std::pair<std::string, std::string> render_mqtt(const receiver_settings& r,
                                                const core::notification& n);

/// An alert as the HTTP API and every JSON payload show it (the "alert" object of
/// notification_json): one JSON object.
std::string alert_json(const core::alert_record& a);

/// One audit-trail entry as the HTTP API shows it (the "event" object of notification_json).
std::string lifecycle_event_json(const core::lifecycle_event& e);

/// The neutral JSON document of a notification (the generic webhook body and the MQTT message).
std::string notification_json(const core::notification& n);

/// Webhook signature: hex HMAC-SHA256 over "<unix seconds>.<body>" with the receiver secret,
/// sent as `X-Vitalsd-Signature: t=<unix seconds>,v1=<hex>`.
std::string webhook_signature(std::string_view secret, std::int64_t unix_seconds,
                              std::string_view body);

// Building blocks of the payloads, public for the FHIR renderer (fhir.cpp) and for tests.

/// ISO-8601 UTC with milliseconds, e.g. "2026-11-28T14:03:05.123Z".
std::string format_utc(core::timestamp t);

/// Lowercase hex HMAC-SHA256 of `message` keyed with `key`.
std::string hmac_sha256_hex(std::string_view key, std::string_view message);

/// PagerDuty Events v2 severity: high -> critical, medium -> error, low -> warning (technical
/// low -> info).
std::string_view pagerduty_severity(core::priority p, core::alert_source s) noexcept;

/// The MQTT receiver's topic when none is configured.
inline constexpr std::string_view default_mqtt_topic = "vitalsd/alerts/{patient}/{rule}";

/// The FHIR R4 transaction Bundle for a notification (render_http for kind fhir).
std::optional<http_payload> render_fhir(const receiver_settings& r, const core::notification& n);

}  // namespace vitals::adapters::notify
