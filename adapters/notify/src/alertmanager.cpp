// Prometheus Alertmanager (webhook v4 shape): the payload and the notifier plugin.
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

/// Alertmanager's "not yet ended" value for endsAt (Go's zero time).
constexpr std::string_view alertmanager_zero_time = "0001-01-01T00:00:00Z";

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

}  // namespace

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
  json labels{
      {"alertname", a.group},
      {"patient", a.patient.view()},
      {"priority", to_string(a.level)},
      {"severity", am_severity(a.level)},
      {"source", to_string(a.source)},
      {"rule", rule_of(a)},
      {"alert_id", std::to_string(a.id)},
  };
  // An alert about vitalsd itself concerns no vital: no label rather than a wrong one.
  if (!core::about_vitalsd(a)) labels["vital"] = core::to_string(a.kind);
  const std::string summary = a.message.empty() ? rule_of(a) : a.message;
  const auto reading = reading_text(a);
  const std::string description = summary + " (" + (reading.empty() ? "" : reading + ", ") +
                                  std::string(to_string(a.level)) + " priority, " +
                                  std::string(to_string(a.state)) + ")";
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

core::notifier_descriptor detail::alertmanager_notifier() {
  return http_type(
      "alertmanager", "Prometheus Alertmanager webhook v4 payloads (acknowledgements are skipped)",
      "Where to POST (http:// or https://).", {external_url_option()}, render_alertmanager);
}
}  // namespace vitals::adapters::notify
