// ntfy (JSON publish): the payload and the notifier plugin.
#include <cinttypes>
#include <cstdio>
#include <stdexcept>

#include <vitals/adapters/notify/notifiers.hpp>
#include "kinds.hpp"
#include "payload_detail.hpp"

namespace vitals::adapters::notify {

namespace {

using nlohmann::json;
using namespace detail;

}  // namespace

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
      const auto reading = reading_text(a);
      body["message"] = (a.message.empty() ? rule : a.message) + " — " +
                        (reading.empty() ? "" : reading + ", ") + "alert " + std::to_string(a.id);
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

core::notifier_descriptor detail::ntfy_notifier() {
  return http_type("ntfy", "ntfy push notifications to staff phones (JSON publish)",
                   "The ntfy server (https://ntfy.sh or your own).",
                   {core::option_spec::string("topic", "", "The ntfy topic to publish to.")
                        .make_required("\"ward-3-alerts\"")
                        .make_non_empty(),
                    token_file_option(), external_url_option()},
                   render_ntfy);
}
}  // namespace vitals::adapters::notify
