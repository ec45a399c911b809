#include <vitals/adapters/notify/notifiers.hpp>

#include <vitals/core/tls_files.hpp>

#include <cmath>
#include <exception>

#include <fmt/format.h>

namespace vitals::adapters::notify {

namespace {

using core::delivery_result;
using core::option_spec;

/// Statuses worth another try: the receiver is overloaded, restarting or asked us to slow down.
/// Any other non-2xx answer will not change by repeating the same request.
bool retryable(int status) {
  return status == 0 || status == 408 || status == 429 || status >= 500;
}

delivery_result outcome_of(http_result res) {
  if (res.status >= 200 && res.status < 300) return delivery_result::ok();
  const std::string error = res.status != 0 ? "HTTP " + std::to_string(res.status) : res.error;
  delivery_result r =
      retryable(res.status) ? delivery_result::failed(error) : delivery_result::refused(error);
  r.retry_after = res.retry_after;
  r.detail = std::move(res.body);
  return r;
}

std::chrono::milliseconds ms_of(double seconds) {
  return std::chrono::milliseconds(std::llround(seconds * 1000.0));
}

}  // namespace

http_notifier::http_notifier(boost::asio::io_context& io, std::string name, const std::string& url,
                             tls_settings tls, renderer render, signer sign)
    : name_(std::move(name)),
      url_error_(),
      url_(parse_http_url(url, &url_error_)),
      sender_(io, name_, std::move(tls)),
      render_(std::move(render)),
      sign_(std::move(sign)) {}

http_notifier::~http_notifier() = default;

void http_notifier::send(const core::notification& n, std::chrono::milliseconds timeout,
                         completion done) {
  if (!url_) return done(delivery_result::refused("bad receiver URL: " + url_error_));
  std::optional<http_payload> payload;
  try {
    payload = render_(n);
  } catch (const std::exception& e) {
    return done(delivery_result::refused(std::string("cannot render the request: ") + e.what()));
  }
  if (!payload) return done(delivery_result::skip());
  http_post post;
  post.content_type = std::move(payload->content_type);
  post.headers = std::move(payload->headers);
  post.headers.emplace_back("Idempotency-Key", n.idempotency_key());
  post.body = std::move(payload->body);
  if (sign_) sign_(post);
  sender_.post(*url_, payload->target, std::move(post), timeout,
               [done = std::move(done)](http_result res) { done(outcome_of(std::move(res))); });
}

void http_notifier::cancel() {
  sender_.cancel();
}

message_notifier::message_notifier(core::message_publisher* publisher, renderer render)
    : publisher_(publisher), render_(std::move(render)) {}

void message_notifier::send(const core::notification& n, std::chrono::milliseconds,
                            completion done) {
  if (!publisher_) {
    return done(delivery_result::refused("no MQTT connection for receivers of type mqtt"));
  }
  std::pair<std::string, std::string> msg;
  try {
    msg = render_(n);
  } catch (const std::exception& e) {
    return done(delivery_result::refused(std::string("cannot render the message: ") + e.what()));
  }
  publisher_->publish(std::move(msg.first), std::move(msg.second),
                      [done = std::move(done)](std::string error) {
                        done(error.empty() ? delivery_result::ok()
                                           : delivery_result::failed("publish failed: " + error));
                      });
}

std::vector<core::option_spec> delivery_option_specs() {
  return {
      option_spec::number("timeout_s", 10.0, 0.1, 300.0,
                          "Per delivery attempt (connect, send, answer), seconds.", "s"),
      option_spec::number("backoff_min_s", 1.0, 0.01, 3600.0,
                          "Retries back off from backoff_min_s, doubling up to backoff_max_s, "
                          "jittered.",
                          "s"),
      option_spec::number("backoff_max_s", 300.0, 0.01, 86400.0, "", "s"),
      option_spec::integer("max_attempts", 0, 0, 1000000,
                           "0: retry until delivered. An answer that cannot change by "
                           "repeating (a 4xx other than 408/429) is never retried."),
      option_spec::number("rate_per_min", 60.0, 0.01, 100000.0,
                          "Rate limit: a steady rate with bursts of up to `burst`.", "per minute"),
      option_spec::integer("burst", 10, 1, 10000, ""),
  };
}

void check_delivery_options(const core::option_set& s, std::vector<core::option_problem>& out) {
  if (s.number("backoff_max_s") < s.number("backoff_min_s")) {
    out.push_back({"backoff_max_s", "must not be less than backoff_min_s"});
  }
}

delivery_options delivery_from(const core::option_set& s) {
  delivery_options d;
  d.timeout = ms_of(s.number("timeout_s"));
  d.backoff_min = ms_of(s.number("backoff_min_s"));
  d.backoff_max = ms_of(s.number("backoff_max_s"));
  d.max_attempts = static_cast<int>(s.integer("max_attempts"));
  d.rate_per_minute = s.number("rate_per_min");
  d.burst = static_cast<int>(s.integer("burst"));
  return d;
}

std::vector<core::option_spec> http_option_specs(std::string url_doc) {
  return {
      option_spec::string("url", "", std::move(url_doc))
          .make_required("\"https://alerts.example.org/vitalsd\""),
      option_spec::string("ca_file", "", "Extra CA bundle for https (default: the system's)."),
      option_spec::boolean("verify_tls", true,
                           "false skips certificate checks: for tests only (warned)."),
      option_spec::string("cert_file", "",
                          "A client certificate (PEM, with its chain) for an https receiver "
                          "that requires one (mutual TLS); \"\" for none."),
      option_spec::secret_file("key_file", "client key",
                               "The client certificate's private key (PEM, not encrypted), when "
                               "cert_file does not hold it. Keep it mode 0600."),
  };
}

void check_http_options(const core::option_set& s, std::vector<core::option_problem>& out) {
  if (s.find("url")) {
    const std::string& url = s.text("url");
    const bool http = url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0;
    if (!http) {
      out.push_back({"url", fmt::format("must be an http:// or https:// URL, got \"{}\"", url)});
    } else if (url.substr(0, url.find('/', 8)).find('@') != std::string::npos) {
      out.push_back({"url", "must not contain credentials; use secret_file"});
    }
  }
  if (!s.flag("verify_tls")) {
    out.push_back({"verify_tls",
                   "TLS certificates of this receiver are not verified: anyone on the path can "
                   "read and change alerts",
                   true});
  }
  core::tls_files files;
  files.ca_file = s.text("ca_file");
  files.cert_file = s.text("cert_file");
  files.key_file = s.text("key_file");
  for (auto& f : core::check_tls_files(files, "client")) {
    out.push_back({f.key, std::move(f.message), f.warning});
  }
}

std::unique_ptr<core::notifier> make_http_notifier(const core::option_set& s,
                                                   core::notifier_context& ctx,
                                                   http_notifier::renderer render,
                                                   http_notifier::signer sign) {
  return std::make_unique<http_notifier>(ctx.io, ctx.name, s.text("url"),
                                         tls_settings{s.text("ca_file"), s.flag("verify_tls"),
                                                      s.text("cert_file"), s.text("key_file")},
                                         std::move(render), std::move(sign));
}

receiver_settings renderer_settings(const core::option_set& s, const std::string& name) {
  receiver_settings r;
  r.name = name;
  r.secret = s.secret("secret_file");
  if (s.find("topic")) r.topic = s.text("topic");
  if (s.find("external_url")) r.external_url = s.text("external_url");
  return r;
}

}  // namespace vitals::adapters::notify
