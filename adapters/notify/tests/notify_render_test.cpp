#include <catch2/catch.hpp>

#include <string>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <nlohmann/json.hpp>

#include <vitals/adapters/notify/mqtt_channel.hpp>
#include <vitals/adapters/notify/payloads.hpp>
#include <vitals/adapters/registry.hpp>

namespace core = vitals::core;
namespace notify = vitals::adapters::notify;
using nlohmann::json;
using notify::receiver_settings;

// A namespace of its own: the sanitizer presets are unity builds (tests/README.md).
namespace notify_render_test {
namespace {

core::timestamp at_ms(std::int64_t ms) {
  return core::timestamp(std::chrono::milliseconds(ms));
}

// 2026-11-28T14:03:05.123Z
constexpr std::int64_t t0 = 1795874585123;

core::notification make_notification(core::notify_action action = core::notify_action::trigger,
                                     core::vital_kind kind = core::vital_kind::spo2,
                                     core::priority level = core::priority::high) {
  core::notification n;
  n.id = 9;
  n.receiver = "ward";
  n.action = action;
  n.step = 1;
  auto& a = n.alert;
  a.id = 42;
  a.patient = *core::short_id::make("p1");
  a.device = *core::short_id::make("ring7");
  a.rule = "spo2_low";
  a.group = "spo2_low";
  a.current_rule = "spo2_low";
  a.kind = kind;
  a.level = level;
  a.peak_level = level;
  a.value = 84;
  a.threshold = 88;
  a.peak_value = 82;
  a.last_value = 83;
  a.message = "SpO2 below 88 %";
  a.raised_at = at_ms(t0);
  a.created = at_ms(t0 + 50);
  n.event.id = 77;
  n.event.alert_id = 42;
  n.event.action = core::alert_action::raised;
  n.event.at = at_ms(t0 + 50);
  n.event.actor = "detector";
  n.event.level = level;
  if (action == core::notify_action::acknowledge) {
    a.state = core::alert_state::acknowledged;
    a.acknowledged_at = at_ms(t0 + 60000);
    a.acknowledged_by = "nurse.kim";
    n.event.action = core::alert_action::acknowledged;
    n.event.actor = "nurse.kim";
    n.event.at = at_ms(t0 + 60000);
    n.event.id = 78;
  } else if (action == core::notify_action::resolve) {
    a.state = core::alert_state::resolved;
    a.condition_present = false;
    a.cleared_at = at_ms(t0 + 90000);
    a.resolved_at = at_ms(t0 + 120000);
    a.resolved_by = "system";
    n.event.action = core::alert_action::resolved;
    n.event.actor = "system";
    n.event.at = at_ms(t0 + 120000);
    n.event.id = 79;
  }
  return n;
}

/// The built-in notifier types, by the renderer each uses.
enum class receiver_kind { webhook, alertmanager, pagerduty, ntfy, mqtt, fhir };

/// A renderer's view of a receiver of `kind`.
struct test_receiver : receiver_settings {
  receiver_kind kind = receiver_kind::webhook;
};

test_receiver receiver(receiver_kind kind) {
  test_receiver r;
  r.name = "ward";
  r.kind = kind;
  return r;
}

/// The HTTP payload the notifier type of `r` renders.
std::optional<notify::http_payload> render_http(const test_receiver& r,
                                                const core::notification& n) {
  switch (r.kind) {
    case receiver_kind::webhook:
      return notify::render_webhook(r, n);
    case receiver_kind::alertmanager:
      return notify::render_alertmanager(r, n);
    case receiver_kind::pagerduty:
      return notify::render_pagerduty(r, n);
    case receiver_kind::ntfy:
      return notify::render_ntfy(r, n);
    case receiver_kind::fhir:
      return notify::render_fhir(r, n);
    case receiver_kind::mqtt:
      break;
  }
  throw std::invalid_argument("not an HTTP receiver");
}

json body_of(const test_receiver& r, const core::notification& n) {
  const auto p = render_http(r, n);
  REQUIRE(p);
  return json::parse(p->body);
}

std::string header(const notify::http_payload& p, const std::string& name) {
  for (const auto& [k, v] : p.headers) {
    if (k == name) return v;
  }
  return {};
}

std::string openssl_hmac_hex(const std::string& key, const std::string& msg) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), mac, &len);
  std::string out;
  char b[3];
  for (unsigned int i = 0; i < len; ++i) {
    std::snprintf(b, sizeof b, "%02x", mac[i]);
    out += b;
  }
  return out;
}

}  // namespace

TEST_CASE("the built-in receiver types are registered by name", "[notify]") {
  const auto& plugins = vitals::adapters::registry();
  for (const char* type : {"webhook", "alertmanager", "pagerduty", "ntfy", "mqtt", "fhir"}) {
    INFO(type);
    const auto* d = plugins.notifier(type);
    REQUIRE(d);
    CHECK(d->type == type);
    CHECK_FALSE(d->summary.empty());
    // Only the MQTT receiver publishes on the alert channel; the others are HTTP.
    CHECK(d->uses_message_channel == (std::string(type) == "mqtt"));
    CHECK((core::find_spec(d->options, "url") != nullptr) == (std::string(type) != "mqtt"));
  }
  CHECK_FALSE(plugins.notifier("slack"));
  // Delivery options apply to every receiver.
  CHECK(core::find_spec(plugins.receiver_options(), "timeout_s"));
  CHECK(core::find_spec(plugins.receiver_options(), "rate_per_min"));
}

TEST_CASE("times are ISO-8601 UTC with milliseconds", "[notify]") {
  CHECK(notify::format_utc(at_ms(t0)) == "2026-11-28T14:03:05.123Z");
  CHECK(notify::format_utc(at_ms(0)) == "1970-01-01T00:00:00.000Z");
}

TEST_CASE("webhook body is the neutral notification document", "[notify]") {
  const auto n = make_notification();
  const auto p = render_http(receiver(receiver_kind::webhook), n);
  REQUIRE(p);
  CHECK(p->content_type == "application/json");
  CHECK(p->target.empty());
  const auto j = json::parse(p->body);
  CHECK(j["idempotency_key"] == "vitalsd-42-77");
  CHECK(j["dedup_key"] == "vitalsd-alert-42");
  CHECK(j["action"] == "trigger");
  CHECK(j["receiver"] == "ward");
  CHECK(j["step"] == 1);
  CHECK(j["sent_by"] == "vitalsd");
  const auto& a = j["alert"];
  CHECK(a["id"] == 42);
  CHECK(a["patient"] == "p1");
  CHECK(a["device"] == "ring7");
  CHECK(a["rule"] == "spo2_low");
  CHECK(a["vital"] == "spo2");
  CHECK(a["source"] == "physiological");
  CHECK(a["priority"] == "high");
  CHECK(a["state"] == "active");
  CHECK(a["value"] == 84.0);
  CHECK(a["threshold"] == 88.0);
  CHECK(a["unit"] == "%");
  CHECK(a["raised_at"] == "2026-11-28T14:03:05.123Z");
  CHECK(a["cleared_at"].is_null());
  CHECK(a["acknowledged_at"].is_null());
  CHECK(a["resolved_by"].is_null());
  CHECK(a["flaps"] == 0);
  for (const char* key :
       {"group", "current_rule", "peak_priority", "condition_present", "peak_value", "last_value",
        "message", "acknowledged_by", "resolved_at"}) {
    CHECK(a.contains(key));
  }
  const auto& e = j["event"];
  CHECK(e["id"] == 77);
  CHECK(e["action"] == "raised");
  CHECK(e["at"] == "2026-11-28T14:03:05.173Z");
  CHECK(e["actor"] == "detector");
  CHECK(e["priority"] == "high");
  CHECK(e["state"] == "active");
  CHECK(j == json::parse(notify::notification_json(n)));

  auto hr = make_notification(core::notify_action::trigger, core::vital_kind::heart_rate);
  CHECK(json::parse(notify::alert_json(hr.alert))["unit"] == "/min");
  auto glu = make_notification(core::notify_action::trigger, core::vital_kind::glucose);
  CHECK(json::parse(notify::alert_json(glu.alert))["unit"] == "mg/dL");
  const auto ack =
      json::parse(notify::notification_json(make_notification(core::notify_action::acknowledge)));
  CHECK(ack["alert"]["acknowledged_by"] == "nurse.kim");
  CHECK(ack["alert"]["acknowledged_at"] == "2026-11-28T14:04:05.123Z");
}

TEST_CASE("webhook signature is HMAC-SHA256 over '<t>.<body>'", "[notify]") {
  const std::string body = R"({"a":1})";
  CHECK(notify::webhook_signature("s3cret", 1795874585, body) ==
        openssl_hmac_hex("s3cret", "1795874585." + body));
  // RFC 4231, test case 2.
  CHECK(notify::hmac_sha256_hex("Jefe", "what do ya want for nothing?") ==
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST_CASE("alertmanager: firing, resolved, acknowledgement skipped", "[notify]") {
  auto r = receiver(receiver_kind::alertmanager);
  r.external_url = "https://vitals.example/";
  const auto firing = body_of(r, make_notification());
  CHECK(firing["version"] == "4");
  CHECK(firing["status"] == "firing");
  CHECK(firing["receiver"] == "ward");
  CHECK(firing["truncatedAlerts"] == 0);
  CHECK(firing["externalURL"] == "https://vitals.example/");
  CHECK(firing["groupLabels"]["alertname"] == "spo2_low");
  const auto& cl = firing["commonLabels"];
  CHECK(cl["alertname"] == "spo2_low");
  CHECK(cl["patient"] == "p1");
  CHECK(cl["priority"] == "high");
  CHECK(cl["severity"] == "critical");
  CHECK(cl["source"] == "physiological");
  CHECK(cl["vital"] == "spo2");
  CHECK(firing["commonAnnotations"]["summary"] == "SpO2 below 88 %");
  REQUIRE(firing["alerts"].size() == 1);
  const auto& a = firing["alerts"][0];
  CHECK(a["status"] == "firing");
  CHECK(a["startsAt"] == "2026-11-28T14:03:05.123Z");
  CHECK(a["endsAt"] == "0001-01-01T00:00:00Z");
  CHECK(a["generatorURL"] == "https://vitals.example/api/v1/alerts/42");
  const std::string fp = a["fingerprint"];
  CHECK(fp.size() == 16);

  const auto resolved = body_of(r, make_notification(core::notify_action::resolve));
  CHECK(resolved["status"] == "resolved");
  CHECK(resolved["alerts"][0]["status"] == "resolved");
  CHECK(resolved["alerts"][0]["endsAt"] == "2026-11-28T14:05:05.123Z");
  CHECK(resolved["alerts"][0]["fingerprint"] == fp);

  CHECK_FALSE(render_http(r, make_notification(core::notify_action::acknowledge)));
}

TEST_CASE("pagerduty: one dedup_key for trigger, acknowledge and resolve, severities", "[notify]") {
  auto r = receiver(receiver_kind::pagerduty);
  r.secret = "R0UTINGKEY";
  const auto trig = body_of(r, make_notification());
  const auto esc = body_of(r, make_notification(core::notify_action::escalate));
  const auto rep = body_of(r, make_notification(core::notify_action::repeat));
  const auto ack = body_of(r, make_notification(core::notify_action::acknowledge));
  const auto res = body_of(r, make_notification(core::notify_action::resolve));
  CHECK(trig["routing_key"] == "R0UTINGKEY");
  CHECK(trig["event_action"] == "trigger");
  CHECK(esc["event_action"] == "trigger");
  CHECK(rep["event_action"] == "trigger");
  CHECK(ack["event_action"] == "acknowledge");
  CHECK(res["event_action"] == "resolve");
  for (const auto* b : {&esc, &rep, &ack, &res}) CHECK((*b)["dedup_key"] == trig["dedup_key"]);
  CHECK(trig["dedup_key"] == "vitalsd-alert-42");
  const auto& p = trig["payload"];
  CHECK(p["source"] == "vitalsd");
  CHECK(p["severity"] == "critical");
  CHECK(p["timestamp"] == "2026-11-28T14:03:05.123Z");
  CHECK(p["component"] == "spo2");
  CHECK(p["class"] == "spo2_low");
  CHECK(p["custom_details"]["alert_id"] == 42);
  CHECK(p["summary"].get<std::string>().find("p1") != std::string::npos);
  CHECK(trig["client"] == "vitalsd");
  CHECK_FALSE(ack.contains("payload"));

  auto medium = make_notification(core::notify_action::trigger, core::vital_kind::spo2,
                                  core::priority::medium);
  CHECK(body_of(r, medium)["payload"]["severity"] == "error");
  auto low =
      make_notification(core::notify_action::trigger, core::vital_kind::spo2, core::priority::low);
  CHECK(body_of(r, low)["payload"]["severity"] == "warning");
  low.alert.source = core::alert_source::technical;
  CHECK(body_of(r, low)["payload"]["severity"] == "info");

  auto longer = make_notification();
  longer.alert.message = std::string(3000, 'x');
  CHECK(body_of(r, longer)["payload"]["summary"].get<std::string>().size() <= 1024);
}

TEST_CASE("ntfy: priority, tags, click and bearer token", "[notify]") {
  auto r = receiver(receiver_kind::ntfy);
  r.topic = "ward-3";
  r.secret = "tk_abc";
  r.external_url = "https://vitals.example";
  const auto p = render_http(r, make_notification());
  REQUIRE(p);
  CHECK(header(*p, "Authorization") == "Bearer tk_abc");
  const auto j = json::parse(p->body);
  CHECK(j["topic"] == "ward-3");
  CHECK(j["priority"] == 5);
  CHECK(j["tags"] == json::array({"rotating_light"}));
  CHECK(j["click"] == "https://vitals.example/api/v1/alerts/42");
  CHECK(j["title"].is_string());
  CHECK(j["message"].is_string());
  CHECK(body_of(r, make_notification(core::notify_action::trigger, core::vital_kind::spo2,
                                     core::priority::medium))["priority"] == 4);
  CHECK(body_of(r, make_notification(core::notify_action::trigger, core::vital_kind::spo2,
                                     core::priority::low))["priority"] == 3);
  const auto res = body_of(r, make_notification(core::notify_action::resolve));
  CHECK(res["priority"] == 2);
  CHECK(res["tags"] == json::array({"white_check_mark"}));
  CHECK(body_of(r, make_notification(core::notify_action::acknowledge))["priority"] == 2);

  r.secret.clear();
  r.external_url.clear();
  const auto plain = render_http(r, make_notification());
  REQUIRE(plain);
  CHECK(header(*plain, "Authorization").empty());
  CHECK_FALSE(json::parse(plain->body).contains("click"));
}

TEST_CASE("mqtt: topic template and payload", "[notify]") {
  auto r = receiver(receiver_kind::mqtt);
  const auto n = make_notification();
  auto [topic, payload] = notify::render_mqtt(r, n);
  CHECK(topic == "vitalsd/alerts/p1/spo2_low");
  CHECK(json::parse(payload) == json::parse(notify::notification_json(n)));
  r.topic = "ward/{priority}/{patient}/{rule}/{action}";
  CHECK(notify::render_mqtt(r, n).first == "ward/high/p1/spo2_low/trigger");
}

namespace {

const json& entry_of(const json& bundle, const std::string& type) {
  for (const auto& e : bundle["entry"]) {
    if (e["resource"]["resourceType"] == type) return e;
  }
  FAIL("no " << type << " entry");
  static const json none;
  return none;
}

}  // namespace

TEST_CASE("fhir: trigger bundle with Observation, DetectedIssue and Communication", "[notify]") {
  auto r = receiver(receiver_kind::fhir);
  r.secret = "tok";
  const auto p = render_http(r, make_notification());
  REQUIRE(p);
  CHECK(p->content_type == "application/fhir+json");
  CHECK(header(*p, "Authorization") == "Bearer tok");
  const auto b = json::parse(p->body);
  CHECK(b["resourceType"] == "Bundle");
  CHECK(b["type"] == "transaction");
  REQUIRE(b["entry"].size() == 3);
  for (const auto& e : b["entry"]) {
    CHECK(e["fullUrl"].get<std::string>().rfind("urn:uuid:", 0) == 0);
    CHECK(e["request"]["method"] == "POST");
    CHECK(e["request"]["url"] == e["resource"]["resourceType"]);
    CHECK(e["request"]["ifNoneExist"].get<std::string>().rfind("identifier=", 0) == 0);
  }
  const auto& obs = entry_of(b, "Observation");
  const auto& issue = entry_of(b, "DetectedIssue");
  const auto& comm = entry_of(b, "Communication");
  const auto& o = obs["resource"];
  CHECK(o["status"] == "final");
  CHECK(o["category"][0]["coding"][0]["code"] == "vital-signs");
  CHECK(o["code"]["coding"][0]["system"] == "http://loinc.org");
  CHECK(o["code"]["coding"][0]["code"] == "2708-6");
  CHECK(o["code"]["coding"][1]["code"] == "59408-5");
  CHECK(o["subject"]["identifier"]["system"] == "urn:vitalsd:patient");
  CHECK(o["subject"]["identifier"]["value"] == "p1");
  CHECK(o["effectiveDateTime"] == "2026-11-28T14:03:05.123Z");
  CHECK(o["valueQuantity"]["value"] == 84.0);
  CHECK(o["valueQuantity"]["system"] == "http://unitsofmeasure.org");
  CHECK(o["valueQuantity"]["code"] == "%");
  CHECK(o["interpretation"][0]["coding"][0]["code"] == "LL");
  CHECK(o["interpretation"][0]["coding"][0]["system"] ==
        "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation");
  const auto& d = issue["resource"];
  CHECK(d["status"] == "preliminary");
  CHECK(d["severity"] == "high");
  CHECK(d["evidence"][0]["detail"][0]["reference"] == obs["fullUrl"]);
  CHECK(issue["request"]["ifNoneExist"] == "identifier=urn:vitalsd:alert|42");
  const auto& c = comm["resource"];
  CHECK(c["status"] == "completed");
  CHECK(c["priority"] == "stat");
  CHECK(c["category"][0]["coding"][0]["code"] == "alert");
  CHECK(c["about"][0]["reference"] == issue["fullUrl"]);
  CHECK(c["payload"][0]["contentString"].is_string());
  // A retry renders the same Bundle: the same uuids and identifiers.
  CHECK(render_http(r, make_notification())->body == p->body);

  auto hr = make_notification(core::notify_action::trigger, core::vital_kind::heart_rate,
                              core::priority::medium);
  hr.alert.value = 140;
  hr.alert.threshold = 120;
  const auto hro = entry_of(body_of(r, hr), "Observation")["resource"];
  CHECK(hro["code"]["coding"][0]["code"] == "8867-4");
  CHECK(hro["valueQuantity"]["code"] == "/min");
  CHECK(hro["interpretation"][0]["coding"][0]["code"] == "H");

  auto glu = make_notification(core::notify_action::trigger, core::vital_kind::glucose,
                               core::priority::low);
  const auto go = entry_of(body_of(r, glu), "Observation")["resource"];
  CHECK(go["code"]["coding"][0]["code"] == "99504-3");
  CHECK(go["valueQuantity"]["code"] == "mg/dL");
  CHECK(go["category"][0]["coding"][0]["code"] == "laboratory");
  CHECK(go["interpretation"][0]["coding"][0]["code"] == "L");
}

TEST_CASE("fhir: acknowledge and resolve update the DetectedIssue", "[notify]") {
  const auto r = receiver(receiver_kind::fhir);
  for (const auto action : {core::notify_action::acknowledge, core::notify_action::resolve}) {
    const auto b = body_of(r, make_notification(action));
    REQUIRE(b["entry"].size() == 2);
    const auto& issue = entry_of(b, "DetectedIssue");
    CHECK(issue["request"]["method"] == "PUT");
    CHECK(issue["request"]["url"] == "DetectedIssue?identifier=urn:vitalsd:alert|42");
    CHECK(issue["resource"]["status"] == "final");
    CHECK(issue["resource"]["mitigation"].size() == 1);
    const auto& comm = entry_of(b, "Communication");
    CHECK(comm["resource"]["about"][0]["reference"] == issue["fullUrl"]);
    const std::string text = comm["resource"]["payload"][0]["contentString"];
    CHECK(text.find(action == core::notify_action::acknowledge
                        ? "acknowledged by nurse.kim"
                        : "resolved by system") != std::string::npos);
  }
}

TEST_CASE("an alert about vitalsd itself carries no vital and no reading in any payload",
          "[notify]") {
  auto n = make_notification();
  auto& a = n.alert;
  a.patient = *core::short_id::make(core::vitalsd_patient);
  a.device = *core::short_id::make("vitalsd");
  a.rule = a.group = a.current_rule = "store_failing";
  a.source = core::alert_source::technical;
  a.kind = core::vital_kind::heart_rate;  // what the record holds: no vital of its own
  a.value = a.threshold = a.peak_value = a.last_value = 0;
  a.message = "the database cannot commit: database or disk is full";

  const auto web = body_of(receiver(receiver_kind::webhook), n);
  CHECK(web["alert"]["vital"].is_null());
  CHECK(web["alert"]["unit"].is_null());
  CHECK(web["alert"]["rule"] == "store_failing");

  const auto am = body_of(receiver(receiver_kind::alertmanager), n);
  CHECK_FALSE(am["alerts"][0]["labels"].contains("vital"));
  const auto description = am["alerts"][0]["annotations"]["description"].get<std::string>();
  CHECK(description.find("heart_rate") == std::string::npos);
  CHECK(description.find("/min") == std::string::npos);

  const auto pd = body_of(receiver(receiver_kind::pagerduty), n);
  CHECK(pd["payload"]["component"] == "vitalsd");
  CHECK(pd["payload"]["custom_details"]["vital"].is_null());

  auto ntfy_receiver = receiver(receiver_kind::ntfy);
  ntfy_receiver.topic = "ops";
  const auto ntfy = body_of(ntfy_receiver, n)["message"].get<std::string>();
  CHECK(ntfy.find("heart_rate") == std::string::npos);
  CHECK(ntfy.find("database or disk is full") != std::string::npos);

  const auto fhir = body_of(receiver(receiver_kind::fhir), n);
  for (const auto& e : fhir["entry"]) {
    CHECK(e["resource"]["resourceType"] != "Observation");
    if (e["resource"]["resourceType"] == "Communication") {
      const auto text = e["resource"]["payload"][0]["contentString"].get<std::string>();
      CHECK(text.find("heart_rate") == std::string::npos);
    }
  }

  // A patient's alert keeps them all.
  const auto patient = body_of(receiver(receiver_kind::webhook), make_notification());
  CHECK(patient["alert"]["vital"] == "spo2");
  CHECK(patient["alert"]["unit"] == "%");
}

TEST_CASE("parse_ack_command accepts good commands and explains bad ones", "[notify]") {
  std::string error;
  auto c = notify::parse_ack_command(
      R"({"alert_id":42,"action":"acknowledge","by":"nurse.kim","reason":"on it"})", error);
  REQUIRE(c);
  CHECK(c->alert_id == 42);
  CHECK(c->action == "acknowledge");
  CHECK(c->by == "nurse.kim");
  CHECK(c->reason == "on it");
  c = notify::parse_ack_command(R"({"alert_id":7,"action":"resolve","by":"dr.o"})", error);
  REQUIRE(c);
  CHECK(c->action == "resolve");
  CHECK(c->reason.empty());

  const std::pair<const char*, const char*> bad[] = {
      {"not json", "not JSON"},
      {"[1]", "not a JSON object"},
      {R"({"action":"acknowledge","by":"x"})", "alert_id missing or not a positive integer"},
      {R"({"alert_id":0,"action":"acknowledge","by":"x"})",
       "alert_id missing or not a positive integer"},
      {R"({"alert_id":"42","action":"acknowledge","by":"x"})",
       "alert_id missing or not a positive integer"},
      {R"({"alert_id":4.5,"action":"acknowledge","by":"x"})",
       "alert_id missing or not a positive integer"},
      {R"({"alert_id":42,"action":"acknowledge"})", "by missing"},
      {R"({"alert_id":42,"action":"acknowledge","by":""})", "by missing"},
      {R"({"alert_id":42,"action":"snooze","by":"x"})", "action must be acknowledge or resolve"},
      {R"({"alert_id":42,"by":"x"})", "action must be acknowledge or resolve"},
      {R"({"alert_id":42,"action":"resolve","by":"x","reason":5})", "reason must be a string"},
  };
  for (const auto& [payload, why] : bad) {
    INFO(payload);
    CHECK_FALSE(notify::parse_ack_command(payload, error));
    CHECK(error == why);
  }
}

}  // namespace notify_render_test
