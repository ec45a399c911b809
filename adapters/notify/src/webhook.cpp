// Generic JSON webhooks, HMAC-SHA256 signed: the payload and the notifier plugin.
#include <cinttypes>
#include <cstdio>
#include <stdexcept>

#include <chrono>

#include <vitals/adapters/notify/notifiers.hpp>
#include "kinds.hpp"
#include "payload_detail.hpp"

namespace vitals::adapters::notify {

namespace {

using nlohmann::json;
using namespace detail;

}  // namespace

std::optional<http_payload> render_webhook(const receiver_settings&, const core::notification& n) {
  http_payload p;
  p.body = notification_json(n);
  return p;
}

core::notifier_descriptor detail::webhook_notifier() {
  auto d = http_type(
      "webhook", "the neutral JSON document, POSTed and signed with HMAC-SHA256 when a key is set",
      "Where to POST (http:// or https://).",
      {core::option_spec::secret_file(
          "secret_file", "signing key",
          "File holding the HMAC-SHA256 key: requests then carry X-Vitalsd-Signature: "
          "t=<unix seconds>,v1=<hex of HMAC(key, \"<t>.<body>\")>. \"\" for unsigned requests.")},
      render_webhook);
  // The signature covers the time of sending: the receiver may refuse stale ones (replays).
  d.create = [](const core::option_set& s, core::notifier_context& ctx) {
    const auto r = renderer_settings(s, ctx.name);
    http_notifier::signer sign;
    if (!r.secret.empty()) {
      sign = [secret = r.secret](http_post& post) {
        const auto t = std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
        post.headers.emplace_back(
            "X-Vitalsd-Signature",
            "t=" + std::to_string(t) + ",v1=" + webhook_signature(secret, t, post.body));
      };
    }
    return make_http_notifier(
        s, ctx, [r](const core::notification& n) { return render_webhook(r, n); }, std::move(sign));
  };
  return d;
}
}  // namespace vitals::adapters::notify
