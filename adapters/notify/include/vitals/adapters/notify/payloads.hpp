#pragma once
/// What each kind of receiver is sent: the payload renderers of the built-in notifiers and their
/// building blocks (the neutral JSON documents, UTC times, signatures). Pure functions: no I/O,
/// no clock.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <vitals/core/alert_model.hpp>

namespace vitals::adapters::notify {

/// What a renderer needs to know about its receiver.
struct receiver_settings {
  std::string name;          ///< the receiver's name (Alertmanager's "receiver")
  std::string secret;        ///< webhook: HMAC key; pagerduty: routing key; ntfy/fhir: bearer token
  std::string topic;         ///< ntfy topic; mqtt topic template ({patient} {rule} {priority} {action})
  std::string external_url;  ///< links back to vitalsd (Alertmanager externalURL, ntfy click)
};

/// An HTTP request body with the headers it needs (the sender adds Host, Content-Length,
/// User-Agent, the idempotency key and, for webhooks, the signature).
struct http_payload {
  std::string target;  ///< path and query appended to the receiver URL's path ("" for none)
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

// The renderers; nullopt: the receiver has no use for the action (the notification then counts
// as delivered, "skipped").

/// Generic webhook: notification_json() (the signature is added at send time).
std::optional<http_payload> render_webhook(const receiver_settings& r, const core::notification& n);
/// Prometheus Alertmanager webhook v4 shape; acknowledgements are skipped.
std::optional<http_payload> render_alertmanager(const receiver_settings& r,
                                                const core::notification& n);
/// PagerDuty Events API v2.
std::optional<http_payload> render_pagerduty(const receiver_settings& r,
                                             const core::notification& n);
/// ntfy JSON publish; throws std::invalid_argument without a topic.
std::optional<http_payload> render_ntfy(const receiver_settings& r, const core::notification& n);
/// The FHIR R4 transaction Bundle for a notification.
std::optional<http_payload> render_fhir(const receiver_settings& r, const core::notification& n);
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

/// ISO-8601 UTC with milliseconds, e.g. "2026-11-28T14:03:05.123Z".
std::string format_utc(core::timestamp t);

/// Lowercase hex HMAC-SHA256 of `message` keyed with `key`.
std::string hmac_sha256_hex(std::string_view key, std::string_view message);

/// PagerDuty Events v2 severity: high -> critical, medium -> error, low -> warning (technical
/// low -> info).
std::string_view pagerduty_severity(core::priority p, core::alert_source s) noexcept;

/// The MQTT receiver's topic when none is configured.
inline constexpr std::string_view default_mqtt_topic = "vitalsd/alerts/{patient}/{rule}";

}  // namespace vitals::adapters::notify
