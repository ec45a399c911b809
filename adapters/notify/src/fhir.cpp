// The FHIR R4 receiver: a transaction Bundle per notification.
//
// The alert is a DetectedIssue rather than a Flag: DetectedIssue has a severity, links the
// triggering Observation as evidence and records acknowledgement and resolution as mitigations,
// while a Flag only says "active/inactive" and cannot point at the Observation without an
// extension. Resources are:
// - trigger / repeat: Observation (triggering value) + DetectedIssue + Communication, each a
//   conditional create (ifNoneExist on an identifier derived from vitalsd's keys), so a retried
//   POST creates nothing twice;
// - escalate: the same, but the DetectedIssue is a conditional update (its severity changed) and
//   a detector-driven escalation adds an Observation of the escalating value;
// - acknowledge / resolve: conditional update of the DetectedIssue (status final, mitigation)
//   plus a Communication saying who did it.
// The patient is a logical reference by identifier: vitalsd knows device-level patient ids, not
// the server's Patient resource ids.
#include <vitals/adapters/notify/notifiers.hpp>
#include <vitals/adapters/notify/payloads.hpp>

#include "kinds.hpp"

#include <array>
#include <cstdio>
#include <stdexcept>

#include <openssl/evp.h>
#include <nlohmann/json.hpp>

namespace vitals::adapters::notify {

namespace {

using nlohmann::json;

constexpr std::string_view patient_system = "urn:vitalsd:patient";
constexpr std::string_view device_system = "urn:vitalsd:device";
constexpr std::string_view alert_system = "urn:vitalsd:alert";
constexpr std::string_view observation_system = "urn:vitalsd:observation";
constexpr std::string_view notification_system = "urn:vitalsd:notification";
constexpr std::string_view rule_system = "urn:vitalsd:rule";
constexpr std::string_view loinc = "http://loinc.org";
constexpr std::string_view ucum = "http://unitsofmeasure.org";
constexpr std::string_view interpretation_system =
    "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation";
constexpr std::string_view observation_category_system =
    "http://terminology.hl7.org/CodeSystem/observation-category";
constexpr std::string_view communication_category_system =
    "http://terminology.hl7.org/CodeSystem/communication-category";

/// A UUID derived from `seed` (SHA-256, shaped as a version 5 UUID): the same notification gives
/// the same Bundle on every retry.
std::string uuid_from(std::string_view seed) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  if (EVP_Digest(seed.data(), seed.size(), md.data(), &len, EVP_sha256(), nullptr) != 1)
    throw std::runtime_error("SHA-256 failed");
  md[6] = static_cast<unsigned char>((md[6] & 0x0f) | 0x50);
  md[8] = static_cast<unsigned char>((md[8] & 0x3f) | 0x80);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += hex[md[static_cast<std::size_t>(i)] >> 4];
    out += hex[md[static_cast<std::size_t>(i)] & 0x0f];
  }
  return "urn:uuid:" + out;
}

json identifier(std::string_view system, std::string_view value) {
  return json{{"system", system}, {"value", value}};
}

json patient_ref(const core::alert_record& a) {
  return json{{"identifier", identifier(patient_system, a.patient.view())},
              {"display", "Patient " + std::string(a.patient.view())}};
}

/// LOINC codings per vital (formats.md). Glucose from wearables is CGM, i.e. interstitial fluid:
/// 99504-3 (mass concentration, our canonical mg/dL), not 2339-0 (blood).
json vital_code(core::vital_kind k) {
  auto coding = [](std::string_view code) { return json{{"system", loinc}, {"code", code}}; };
  switch (k) {
    case core::vital_kind::heart_rate:
      return json{{"coding", json::array({coding("8867-4")})}, {"text", "Heart rate"}};
    case core::vital_kind::spo2:
      // US Core's pulse oximetry profile asks for both codings.
      return json{{"coding", json::array({coding("2708-6"), coding("59408-5")})},
                  {"text", "Oxygen saturation by pulse oximetry"}};
    case core::vital_kind::glucose:
      return json{{"coding", json::array({coding("99504-3")})},
                  {"text", "Glucose in interstitial fluid"}};
  }
  return json{{"text", core::to_string(k)}};
}

std::string_view category_code(core::vital_kind k) {
  // CGM implementation guide examples use laboratory for glucose.
  return k == core::vital_kind::glucose ? "laboratory" : "vital-signs";
}

/// L / H, or LL / HH (critical) for high-priority alerts. The direction comes from the value
/// against the threshold; on the threshold itself from the rule's name.
std::string interpretation_code(const core::alert_record& a, double value) {
  bool low = value < a.threshold;
  if (value == a.threshold) low = a.rule.find("low") != std::string::npos;
  const std::string one = low ? "L" : "H";
  return a.level == core::priority::high ? one + one : one;
}

std::string_view issue_severity(core::priority p) {
  switch (p) {
    case core::priority::high:
      return "high";
    case core::priority::medium:
      return "moderate";
    case core::priority::low:
      return "low";
  }
  return "low";
}

/// Communication.priority (RequestPriority).
std::string_view request_priority(core::priority p) {
  switch (p) {
    case core::priority::high:
      return "stat";
    case core::priority::medium:
      return "urgent";
    case core::priority::low:
      return "routine";
  }
  return "routine";
}

std::string with_unit(double v, core::vital_kind k) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%g", v);
  return std::string(buf) + " " + std::string(core::canonical_unit(k));
}

json entry_post(const std::string& full_url, json resource, std::string_view type,
                std::string_view id_system, std::string_view id_value) {
  return json{
      {"fullUrl", full_url},
      {"resource", std::move(resource)},
      {"request",
       {{"method", "POST"},
        {"url", type},
        {"ifNoneExist", "identifier=" + std::string(id_system) + "|" + std::string(id_value)}}}};
}

json entry_put(const std::string& full_url, json resource, std::string_view type,
               std::string_view id_system, std::string_view id_value) {
  return json{{"fullUrl", full_url},
              {"resource", std::move(resource)},
              {"request",
               {{"method", "PUT"},
                {"url", std::string(type) + "?identifier=" + std::string(id_system) + "|" +
                            std::string(id_value)}}}};
}

json observation(const core::alert_record& a, double value, core::timestamp at,
                 const std::string& id_value) {
  const auto unit = core::canonical_unit(a.kind);
  return json{
      {"resourceType", "Observation"},
      {"identifier", json::array({identifier(observation_system, id_value)})},
      {"status", "final"},
      {"category", json::array({{{"coding", json::array({{{"system", observation_category_system},
                                                          {"code", category_code(a.kind)}}})}}})},
      {"code", vital_code(a.kind)},
      {"subject", patient_ref(a)},
      {"effectiveDateTime", format_utc(at)},
      {"valueQuantity", {{"value", value}, {"unit", unit}, {"system", ucum}, {"code", unit}}},
      {"interpretation",
       json::array({{{"coding", json::array({{{"system", interpretation_system},
                                              {"code", interpretation_code(a, value)}}})}}})},
      {"device",
       {{"identifier", identifier(device_system, a.device.view())},
        {"display", "Device " + std::string(a.device.view())}}},
  };
}

/// The alert as a DetectedIssue, with its evidence and what was done about it.
json detected_issue(const receiver_settings& r, const core::notification& n,
                    const json& evidence_ref) {
  const auto& a = n.alert;
  const std::string alert_id = std::to_string(a.id);
  json issue{
      {"resourceType", "DetectedIssue"},
      {"identifier", json::array({identifier(alert_system, alert_id)})},
      // preliminary until someone acknowledged it or it resolved.
      {"status",
       a.state == core::alert_state::acknowledged || a.state == core::alert_state::resolved
           ? "final"
           : "preliminary"},
      {"code",
       {{"coding", json::array({{{"system", rule_system}, {"code", a.group}}})},
        {"text", a.message.empty() ? a.rule : a.message}}},
      {"severity", issue_severity(a.level)},
      {"patient", patient_ref(a)},
      {"identifiedDateTime", format_utc(a.raised_at)},
      {"detail", std::string(to_string(a.level)) + " priority " +
                     std::string(core::to_string(a.source)) + " alert " + alert_id + " (" +
                     (a.current_rule.empty() ? a.rule : a.current_rule) + "), " +
                     std::string(core::to_string(a.state))},
  };
  if (!evidence_ref.is_null())
    issue["evidence"] = json::array({{{"detail", json::array({evidence_ref})}}});
  if (!r.external_url.empty()) {
    std::string base = r.external_url;
    while (!base.empty() && base.back() == '/') base.pop_back();
    issue["reference"] = base + "/api/v1/alerts/" + alert_id;
  }
  json mitigation = json::array();
  auto mitigate = [&](std::string_view what, const std::optional<core::timestamp>& at,
                      const std::string& by) {
    if (!at) return;
    json m{{"action", {{"text", what}}}, {"date", format_utc(*at)}};
    if (!by.empty()) m["author"] = {{"display", by}};
    mitigation.push_back(std::move(m));
  };
  mitigate("acknowledged", a.acknowledged_at, a.acknowledged_by);
  mitigate("resolved", a.resolved_at, a.resolved_by);
  if (!mitigation.empty()) issue["mitigation"] = std::move(mitigation);
  return issue;
}

/// The message to the care team about the issue (and the escalating observation, if any).
json communication(const core::notification& n, const std::string& issue_url,
                   const std::string& escalating_url) {
  const auto& a = n.alert;
  const std::string alert_id = std::to_string(a.id);
  const std::string key = n.idempotency_key();
  const bool closing =
      n.action == core::notify_action::acknowledge || n.action == core::notify_action::resolve;
  std::string text;
  auto level = a.level;
  if (closing) {
    const bool ack = n.action == core::notify_action::acknowledge;
    text = "Alert " + alert_id + " (" + a.rule + ") " + (ack ? "acknowledged" : "resolved") +
           " by " + (n.event.actor.empty() ? "system" : n.event.actor) +
           (n.event.reason.empty() ? "" : ": " + n.event.reason);
    level = core::priority::low;  // routine: nobody needs to act on it
  } else {
    text = std::string(n.action == core::notify_action::escalate ? "Escalated "
                       : n.action == core::notify_action::repeat ? "Reminder: "
                                                                 : "") +
           std::string(to_string(a.level)) + " priority alert " + alert_id + ": " +
           (a.message.empty() ? a.rule : a.message) +
           (core::about_vitalsd(a)
                ? std::string()
                : " (" + std::string(core::to_string(a.kind)) + " " + with_unit(a.value, a.kind) +
                      ", threshold " + with_unit(a.threshold, a.kind) + ")");
  }
  json about = json::array({{{"reference", issue_url}}});
  if (!escalating_url.empty()) about.push_back({{"reference", escalating_url}});
  return json{
      {"resourceType", "Communication"},
      {"identifier", json::array({identifier(notification_system, key)})},
      {"status", "completed"},
      {"category", json::array({{{"coding", json::array({{{"system", communication_category_system},
                                                          {"code", "alert"}}})}}})},
      {"priority", request_priority(level)},
      {"subject", patient_ref(a)},
      {"about", std::move(about)},
      {"sent", format_utc(n.event.at)},
      {"payload", json::array({{{"contentString", text}}})},
  };
}

}  // namespace

std::optional<http_payload> render_fhir(const receiver_settings& r, const core::notification& n) {
  const auto& a = n.alert;
  const std::string alert_id = std::to_string(a.id);
  const std::string key = n.idempotency_key();
  const bool closing =
      n.action == core::notify_action::acknowledge || n.action == core::notify_action::resolve;
  const bool physiological = a.source == core::alert_source::physiological;
  json entries = json::array();

  // The triggering Observation: one per alert, so repeats and retries find it (ifNoneExist).
  // A technical alert's value (e.g. a feed's silence) is no vital sign: no Observation.
  const std::string raised_obs_id = n.dedup_key() + "-raised";
  json evidence_ref;
  if (physiological) {
    const std::string raised_url = uuid_from(raised_obs_id);
    if (closing) {
      // Not in this Bundle: a conditional reference the server resolves to the stored one.
      evidence_ref =
          json{{"reference",
                "Observation?identifier=" + std::string(observation_system) + "|" + raised_obs_id}};
    } else {
      entries.push_back(entry_post(raised_url, observation(a, a.value, a.raised_at, raised_obs_id),
                                   "Observation", observation_system, raised_obs_id));
      evidence_ref = json{{"reference", raised_url}};
    }
  }
  std::string escalating_url;
  if (physiological && n.action == core::notify_action::escalate && n.event.data_time) {
    // A detector-driven escalation: the value that made it worse, at its device time.
    escalating_url = uuid_from(key + "/Observation");
    entries.push_back(entry_post(escalating_url,
                                 observation(a, n.event.value, *n.event.data_time, key),
                                 "Observation", observation_system, key));
  }

  const std::string issue_url = uuid_from(key + "/DetectedIssue");
  json issue = detected_issue(r, n, evidence_ref);
  const bool update = closing || n.action == core::notify_action::escalate;
  entries.push_back(
      update ? entry_put(issue_url, std::move(issue), "DetectedIssue", alert_system, alert_id)
             : entry_post(issue_url, std::move(issue), "DetectedIssue", alert_system, alert_id));

  const json message = communication(n, issue_url, escalating_url);
  entries.push_back(entry_post(uuid_from(key + "/Communication"), message, "Communication",
                               notification_system, key));

  const json bundle{{"resourceType", "Bundle"}, {"type", "transaction"}, {"entry", entries}};
  http_payload p;
  p.content_type = "application/fhir+json";
  p.headers.emplace_back("Accept", "application/fhir+json");
  if (!r.secret.empty()) p.headers.emplace_back("Authorization", "Bearer " + r.secret);
  p.body = bundle.dump();
  return p;
}

core::notifier_descriptor detail::fhir_notifier() {
  return http_type("fhir",
                   "FHIR R4 transaction Bundles (Observation, DetectedIssue, Communication)",
                   "The FHIR server's base URL (transactions are POSTed to it).",
                   {token_file_option(), external_url_option()}, render_fhir);
}
}  // namespace vitals::adapters::notify
