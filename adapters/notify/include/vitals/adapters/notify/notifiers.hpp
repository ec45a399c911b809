#pragma once
/// The two transports of the built-in notifiers, as core::notifier implementations that take a
/// renderer: HTTP(S) POSTs (webhook, Alertmanager, PagerDuty, ntfy, FHIR) and MQTT messages on
/// the alert channel. A notifier plugin is an option table plus a renderer on one of these.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>

#include <vitals/adapters/notify/http_sender.hpp>
#include <vitals/adapters/notify/payloads.hpp>
#include <vitals/core/notifier.hpp>
#include <vitals/core/options.hpp>

namespace vitals::adapters::notify {

/// POSTs what its renderer makes of each notification, with the Idempotency-Key header; answers
/// map to outcomes: 2xx delivered, 408/429/5xx and transport errors retry, other 4xx rejected.
class http_notifier final : public core::notifier {
 public:
  using renderer = std::function<std::optional<http_payload>(const core::notification&)>;
  /// Adds headers at send time (the webhook's HMAC signature over the body and the time).
  using signer = std::function<void(http_post&)>;

  /// A URL that does not parse is not thrown on: every notification is then rejected with the
  /// reason (the loader checks URLs first). Throws std::runtime_error for an unreadable ca_file.
  http_notifier(boost::asio::io_context& io, std::string name, const std::string& url,
                tls_settings tls, renderer render, signer sign = {});
  ~http_notifier() override;

  void send(const core::notification& n, std::chrono::milliseconds timeout,
            completion done) override;
  void cancel() override;
  bool bounds_attempts() const noexcept override { return true; }

 private:
  std::string name_;
  std::string url_error_;  // before url_: filled while url_ is parsed
  std::optional<http_url> url_;
  http_sender sender_;
  renderer render_;
  signer sign_;
};

/// Publishes what its renderer makes of each notification through the alert channel (QoS 1):
/// delivered on PUBACK, retried on a failed publish; the dispatcher bounds the wait.
class message_notifier final : public core::notifier {
 public:
  using renderer = std::function<std::pair<std::string, std::string>(const core::notification&)>;

  /// `publisher` null: every notification is rejected (no MQTT connection for this receiver).
  message_notifier(core::message_publisher* publisher, renderer render);

  void send(const core::notification& n, std::chrono::milliseconds timeout,
            completion done) override;

 private:
  core::message_publisher* publisher_;
  renderer render_;
};

/// How the dispatcher delivers to one receiver: the options every receiver takes.
struct delivery_options {
  std::chrono::milliseconds timeout{10000};       ///< per attempt (connect + send + response)
  std::chrono::milliseconds backoff_min{1000};    ///< first retry delay
  std::chrono::milliseconds backoff_max{300000};  ///< retry delay cap
  int max_attempts = 0;         ///< 0: retry until delivered (failures are counted and logged)
  double rate_per_minute = 60;  ///< steady rate limit; bursts up to `burst`; 0: none
  int burst = 10;
};

/// The option table of delivery_options (timeout_s, backoff_min_s, backoff_max_s, max_attempts,
/// rate_per_min, burst), registered as what every [[receivers]] table accepts.
std::vector<core::option_spec> delivery_option_specs();

/// Checks of the delivery options (backoff_max_s >= backoff_min_s).
void check_delivery_options(const core::option_set& s, std::vector<core::option_problem>& out);

/// delivery_options from a receiver's options.
delivery_options delivery_from(const core::option_set& receiver);

/// Options of HTTP receivers: url (required), ca_file, verify_tls.
std::vector<core::option_spec> http_option_specs(std::string url_doc);

/// Checks of the HTTP options: an http(s) URL without credentials, a warning when TLS
/// verification is off.
void check_http_options(const core::option_set& s, std::vector<core::option_problem>& out);

/// An http_notifier from a receiver's options (url, ca_file, verify_tls) and a renderer.
std::unique_ptr<core::notifier> make_http_notifier(const core::option_set& s,
                                                   core::notifier_context& ctx,
                                                   http_notifier::renderer render,
                                                   http_notifier::signer sign = {});

/// What a renderer knows of its receiver, from its options (secret_file, topic, external_url
/// when declared).
receiver_settings renderer_settings(const core::option_set& s, const std::string& name);

}  // namespace vitals::adapters::notify
