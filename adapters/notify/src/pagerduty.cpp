// PagerDuty Events API v2: the payload and the notifier plugin.
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

/// PagerDuty rejects summaries longer than this.
constexpr std::size_t pagerduty_summary_max = 1024;

}  // namespace

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
        {"vital", core::about_vitalsd(a) ? json(nullptr) : json(core::to_string(a.kind))},
        {"value", a.value},
        {"threshold", a.threshold},
        {"peak_value", a.peak_value},
        {"unit", core::about_vitalsd(a) ? json(nullptr) : json(core::canonical_unit(a.kind))},
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
        {"component", core::about_vitalsd(a) ? "vitalsd" : core::to_string(a.kind)},
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

core::notifier_descriptor detail::pagerduty_notifier() {
  return http_type(
      "pagerduty",
      "PagerDuty Events API v2: trigger, acknowledge and resolve one incident per alert",
      "The Events API endpoint (https://events.pagerduty.com/v2/enqueue).",
      {core::option_spec::secret_file("secret_file", "routing key",
                                      "File holding the integration's routing key.")
           .make_required("\"/etc/vitalsd/secrets/pagerduty.key\""),
       external_url_option()},
      render_pagerduty);
}
}  // namespace vitals::adapters::notify
