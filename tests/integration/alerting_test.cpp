// Alert delivery end to end: readings through a real mosquitto into vitalsd, alerts committed to
// SQLite, notifications delivered to real HTTP receivers started by the test (webhook,
// Alertmanager, PagerDuty, ntfy, FHIR) and to MQTT; acknowledgement over the daemon's HTTP API
// and its MQTT command topic; escalation on schedule; kill -9 between commit and delivery.

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <csignal>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include <vitals/test/http_client.hpp>
#include <vitals/test/http_receiver.hpp>

#include "daemon_fixture.hpp"

using namespace std::chrono_literals;
using nlohmann::json;
using vitals::test::eventually;
using vitals::test::http_receiver;
using vitals::test::http_reply;
using vitals::test::http_request;

// A namespace of its own: the sanitizer presets are unity builds (tests/README.md).
namespace alerting_test {
namespace {

using vitals::it::now_ms;
using vitals::it::write_secret;

const std::string ack_token = "ack-token-0123456789abcdef";
const std::string read_token = "read-token-0123456789abcdef";
const std::string webhook_secret = "webhook-secret-0123456789";
const std::string routing_key = "R0UT1NGKEY0123456789";

/// The API tokens (an "ack" one and a "read" one), as [api] lines.
std::string api_tokens(const std::filesystem::path& dir) {
  return "[[api.tokens]]\nname = \"nurse-station\"\ntoken_file = \"" +
         write_secret(dir, "ack.token", ack_token) +
         "\"\n[[api.tokens]]\nname = \"dashboard\"\nrole = \"read\"\ntoken_file = \"" +
         write_secret(dir, "read.token", read_token) + "\"\n";
}

/// A [[receivers]] block; fast retries so that tests do not wait for production backoffs.
std::string receiver(const std::string& name, const std::string& type, const std::string& url,
                     const std::string& extra = "") {
  return "[[receivers]]\nname = \"" + name + "\"\ntype = \"" + type + "\"\n" +
         (url.empty() ? std::string() : "url = \"" + url + "\"\n") +
         "backoff_min_s = 0.05\nbackoff_max_s = 0.2\ntimeout_s = 2\n" + extra;
}

/// Publishes `seconds` SpO2 readings of `value`, one per second of device time from `from_ms`.
std::int64_t publish_spo2(vitals::test::mqtt_publisher& pub, const std::string& patient,
                          const std::string& device, std::int64_t from_ms, int seconds,
                          double value) {
  for (int i = 0; i < seconds; ++i) {
    pub.publish("vitals/" + patient + "/" + device,
                "{\"device\":\"" + device + "\",\"ts\":" + std::to_string(from_ms + i * 1000) +
                    ",\"spo2\":" + std::to_string(value) + "}");
  }
  return from_ms + seconds * 1000;
}

/// SpO2 back from 80 % to normal, gradually (clears spo2_low). Returns the next device time.
std::int64_t recovery(vitals::test::mqtt_publisher& pub, const std::string& patient,
                      std::int64_t from_ms) {
  const std::string device = "ox-" + patient;
  auto t = from_ms;
  for (const double v : {82.0, 84.0, 86.0, 88.0, 90.0, 92.0, 94.0, 96.0}) {
    t = publish_spo2(pub, patient, device, t, 1, v);
  }
  return publish_spo2(pub, patient, device, t, 10, 97);
}

/// A desaturation to 80 % (raises spo2_low within seconds of device time), then, when `recover`,
/// normal readings that clear it. Returns the next device time.
std::int64_t desaturation(vitals::test::mqtt_publisher& pub, const std::string& patient,
                          std::int64_t from_ms, bool recover = true) {
  const std::string device = "ox-" + patient;
  auto t = publish_spo2(pub, patient, device, from_ms, 5, 97);
  // Gradual, as a real desaturation: a sudden 17-point drop would be an impossible jump.
  for (const double v : {95.0, 93.0, 91.0, 89.0, 87.0, 85.0, 83.0, 81.0}) {
    t = publish_spo2(pub, patient, device, t, 1, v);
  }
  t = publish_spo2(pub, patient, device, t, 15, 80);
  if (recover) t = recovery(pub, patient, t);
  return t;
}

std::string hex_hmac(const std::string& key, const std::string& data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &len);
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += digits[mac[i] >> 4];
    out += digits[mac[i] & 15];
  }
  return out;
}

/// True when the webhook signature header matches the body (t=<unix s>,v1=<hex>).
bool signature_ok(const vitals::test::received_request& r, const std::string& secret) {
  const std::string sig = r.header("X-Vitalsd-Signature");
  const auto t = sig.find("t=");
  const auto v = sig.find(",v1=");
  if (t != 0 || v == std::string::npos) return false;
  const std::string ts = sig.substr(2, v - 2);
  return sig.substr(v + 4) == hex_hmac(secret, ts + "." + r.body);
}

/// Accepted requests' JSON bodies.
std::vector<json> bodies(const http_receiver& r) {
  std::vector<json> out;
  for (const auto& q : r.accepted()) out.push_back(json::parse(q.body));
  return out;
}

http_reply api(const vitals::it::daemon_env& env, const std::string& method,
               const std::string& target, const std::string& token = ack_token,
               const std::string& body = {}) {
  std::vector<std::pair<std::string, std::string>> headers;
  if (!token.empty()) headers.emplace_back("Authorization", "Bearer " + token);
  return http_request(env.api_port, method, target, headers, body);
}

/// The id of the newest alert of a patient (0: none yet).
std::int64_t alert_id(const vitals::it::daemon_env& env, const std::string& patient) {
  return env.count(
      "SELECT coalesce(max(a.id), 0) FROM alerts a JOIN patients p ON p.id = a.patient_id WHERE "
      "p.key = '" +
      patient + "'");
}

}  // namespace

TEST_CASE("every receiver gets its documented payload: trigger, acknowledge, resolve",
          "[integration][alerting]") {
  vitals::test::temp_dir secrets("vitals-secrets");
  http_receiver web, am, pd, ntfy, fhir;
  const std::string config =
      "[alerts]\nflap_window_s = 1\n" +
      receiver("web", "webhook", web.url("/hook"),
               "secret_file = \"" + write_secret(secrets.path(), "web", webhook_secret) + "\"\n") +
      receiver("am", "alertmanager", am.url("/api/v2/alerts"),
               "external_url = \"http://vitalsd.example\"\n") +
      receiver("pd", "pagerduty", pd.url("/v2/enqueue"),
               "secret_file = \"" + write_secret(secrets.path(), "pd", routing_key) + "\"\n") +
      receiver("ntfy", "ntfy", ntfy.url("/"), "topic = \"ward-3\"\n") +
      receiver("fhir", "fhir", fhir.url("/fhir")) +
      receiver("mq", "mqtt", "", "topic = \"staff/{patient}/{action}\"\n") +
      "[[routes]]\nname = \"all\"\nsource = \"physiological\"\n[[routes.steps]]\nreceivers = "
      "[\"web\", \"am\", \"pd\", \"ntfy\", \"fhir\", \"mq\"]\n";
  vitals::it::daemon_env env(config, api_tokens(secrets.path()));
  auto daemon = env.start_daemon();
  vitals::test::mqtt_subscriber staff(env.broker.uri(), "staff/#");
  vitals::test::mqtt_publisher pub(env.broker.uri(), "alerting-pub");

  auto t = desaturation(pub, "p-7", now_ms() - 120'000, false);
  REQUIRE(web.wait_for_accepted(1, 20s));
  REQUIRE(am.wait_for_accepted(1, 10s));
  REQUIRE(pd.wait_for_accepted(1, 10s));
  REQUIRE(ntfy.wait_for_accepted(1, 10s));
  REQUIRE(fhir.wait_for_accepted(1, 10s));
  REQUIRE(staff.wait_for(1, 10s));
  const auto id = alert_id(env, "p-7");
  REQUIRE(id > 0);

  // Generic webhook: the neutral document, signed, with an idempotency key per event.
  const auto w = web.accepted().front();
  CHECK(w.target == "/hook");
  CHECK(signature_ok(w, webhook_secret));
  const auto wj = json::parse(w.body);
  CHECK(wj["action"] == "trigger");
  CHECK(wj["alert"]["id"] == id);
  CHECK(wj["alert"]["patient"] == "p-7");
  CHECK(wj["alert"]["rule"] == "spo2_low");
  CHECK(wj["alert"]["priority"] == "medium");
  CHECK(wj["alert"]["unit"] == "%");
  CHECK(w.header("Idempotency-Key") == wj["idempotency_key"].get<std::string>());

  // Alertmanager v4.
  const auto aj = json::parse(am.accepted().front().body);
  CHECK(aj["version"] == "4");
  CHECK(aj["status"] == "firing");
  CHECK(aj["receiver"] == "am");
  REQUIRE(aj["alerts"].size() == 1);
  CHECK(aj["alerts"][0]["labels"]["alertname"] == "spo2_low");
  CHECK(aj["alerts"][0]["status"] == "firing");
  CHECK(aj["externalURL"] == "http://vitalsd.example");

  // PagerDuty Events v2.
  const auto pj = json::parse(pd.accepted().front().body);
  CHECK(pj["routing_key"] == routing_key);
  CHECK(pj["event_action"] == "trigger");
  CHECK(pj["dedup_key"] == "vitalsd-alert-" + std::to_string(id));
  CHECK(pj["payload"]["severity"] == "error");
  CHECK(pj["payload"]["source"] == "vitalsd");

  // ntfy.
  const auto nj = json::parse(ntfy.accepted().front().body);
  CHECK(nj["topic"] == "ward-3");
  CHECK(nj["priority"] == 4);

  // FHIR R4 transaction Bundle with the Observation of the triggering SpO2.
  const auto f = fhir.accepted().front();
  CHECK(f.header("Content-Type").find("application/fhir+json") == 0);
  const auto fj = json::parse(f.body);
  CHECK(fj["resourceType"] == "Bundle");
  CHECK(fj["type"] == "transaction");
  std::set<std::string> types;
  for (const auto& e : fj["entry"]) types.insert(e["resource"]["resourceType"]);
  CHECK(types.count("Observation") == 1);
  CHECK(types.count("Communication") == 1);
  for (const auto& e : fj["entry"]) {
    if (e["resource"]["resourceType"] != "Observation") continue;
    std::set<std::string> codes;
    for (const auto& c : e["resource"]["code"]["coding"]) codes.insert(c["code"]);
    CHECK(codes.count("59408-5") == 1);
    CHECK(e["resource"]["valueQuantity"]["code"] == "%");
  }

  // MQTT, QoS 1 on the configured topic.
  const auto staff_msgs = staff.messages();
  REQUIRE(!staff_msgs.empty());
  CHECK(staff_msgs.front().first == "staff/p-7/trigger");
  CHECK(json::parse(staff_msgs.front().second)["alert"]["id"] == id);

  // Acknowledge over the HTTP API: PagerDuty, the webhook and MQTT hear of it; Alertmanager has
  // no acknowledgement (skipped).
  const auto ack = api(env, "POST", "/api/v1/alerts/" + std::to_string(id) + "/acknowledge",
                       ack_token, R"({"by":"jane","reason":"at the bedside"})");
  REQUIRE(ack.status == 200);
  const auto ackj = json::parse(ack.body);
  CHECK(ackj["alert"]["state"] == "acknowledged");
  CHECK(ackj["alert"]["acknowledged_by"] == "nurse-station/jane");
  REQUIRE(pd.wait_for_accepted(2, 10s));
  CHECK(json::parse(pd.accepted()[1].body)["event_action"] == "acknowledge");
  REQUIRE(web.wait_for_accepted(2, 10s));
  CHECK(json::parse(web.accepted()[1].body)["action"] == "acknowledge");

  // The condition ends: after the flap window the alert resolves and everyone hears of it.
  recovery(pub, "p-7", t);
  REQUIRE(am.wait_for_accepted(2, 20s));
  const auto resolved = json::parse(am.accepted()[1].body);
  CHECK(resolved["status"] == "resolved");
  CHECK(resolved["alerts"][0]["endsAt"] != "0001-01-01T00:00:00Z");
  REQUIRE(pd.wait_for_accepted(3, 10s));
  CHECK(json::parse(pd.accepted()[2].body)["event_action"] == "resolve");
  REQUIRE(fhir.wait_for_accepted(3, 10s));  // trigger, acknowledge, resolve
  CHECK(env.count("SELECT count(*) FROM alerts WHERE state = 'resolved'") == 1);
  // Every committed notification was delivered (or skipped), none failed for good.
  CHECK(eventually(
      [&] { return env.count("SELECT count(*) FROM outbox WHERE status <> 'delivered'") == 0; }));

  // The audit trail names the people and the reasons.
  const auto trail = api(env, "GET", "/api/v1/alerts/" + std::to_string(id), read_token);
  REQUIRE(trail.status == 200);
  std::vector<std::string> actions;
  const auto trail_json = json::parse(trail.body);
  for (const auto& e : trail_json["events"]) actions.push_back(e["action"]);
  CHECK(actions.front() == "raised");
  CHECK(std::find(actions.begin(), actions.end(), "acknowledged") != actions.end());
  CHECK(actions.back() == "resolved");

  // /metrics counts what each receiver got: trigger, acknowledge and resolve for the webhook;
  // Alertmanager's acknowledgement skipped.
  const auto metrics = api(env, "GET", "/metrics", read_token);
  REQUIRE(metrics.status == 200);
  CHECK_THAT(
      metrics.body,
      Catch::Contains("vitalsd_notifications_sent_total{receiver=\"web\",kind=\"webhook\"} 3"));
  CHECK_THAT(metrics.body,
             Catch::Contains("vitalsd_notifications_skipped_total{receiver=\"am\"} 1"));
  CHECK_THAT(metrics.body, Catch::Contains("vitalsd_notifications_pending{receiver=\"web\"} 0"));

  CHECK(vitals::it::terminate(*daemon) == 0);
}

TEST_CASE("a receiver down for a while gets every notification once, in order per alert",
          "[integration][alerting]") {
  http_receiver web;
  web.go_down();
  const std::string config =
      "[alerts]\nflap_window_s = 1\n" + receiver("web", "webhook", web.url("/hook")) +
      "[[routes]]\nname = \"all\"\nsource = \"physiological\"\n[[routes.steps]]\nreceivers = "
      "[\"web\"]\n";
  vitals::it::daemon_env env(config);
  auto daemon = env.start_daemon();
  vitals::test::mqtt_publisher pub(env.broker.uri(), "alerting-pub");

  // Three patients desaturate and recover while the receiver is unreachable: 3 triggers and 3
  // resolves are committed and wait.
  const auto t0 = now_ms() - 120'000;
  for (const std::string p : {"p-1", "p-2", "p-3"}) desaturation(pub, p, t0, true);
  REQUIRE(eventually(
      [&] { return env.count("SELECT count(*) FROM outbox WHERE action = 'resolve'") == 3; }, 30s));
  CHECK(eventually([&] { return env.count("SELECT max(attempts) FROM outbox") >= 2; }, 10s));
  CHECK(web.count() == 0);

  web.come_up();
  REQUIRE(web.wait_for_accepted(6, 20s));
  std::this_thread::sleep_for(1s);  // anything extra would arrive now
  const auto got = bodies(web);
  CHECK(got.size() == 6);
  std::map<std::string, int> per_key;
  std::map<std::int64_t, std::vector<std::string>> per_alert;
  for (const auto& b : got) {
    ++per_key[b["idempotency_key"].get<std::string>()];
    per_alert[b["alert"]["id"].get<std::int64_t>()].push_back(b["action"]);
  }
  for (const auto& [key, n] : per_key) {
    INFO(key);
    CHECK(n == 1);
  }
  REQUIRE(per_alert.size() == 3);
  for (const auto& [id, actions] : per_alert) {
    CHECK(actions == std::vector<std::string>{"trigger", "resolve"});
  }
  CHECK(vitals::it::terminate(*daemon) == 0);
}

TEST_CASE("kill -9 between commit and delivery: after restart the notification arrives once",
          "[integration][alerting]") {
  http_receiver web;
  web.respond_status(503);
  const std::string config =
      receiver("web", "webhook", web.url("/hook")) +
      "[[routes]]\nname = \"all\"\nsource = \"physiological\"\n[[routes.steps]]\nreceivers = "
      "[\"web\"]\n";
  vitals::it::daemon_env env(config);
  auto daemon = env.start_daemon();
  vitals::test::mqtt_publisher pub(env.broker.uri(), "alerting-pub");
  desaturation(pub, "p-9", now_ms() - 120'000, false);

  // Committed, attempted, refused: the notification is in the outbox, not delivered.
  REQUIRE(eventually(
      [&] {
        return env.count(
                   "SELECT count(*) FROM outbox WHERE status = 'pending' AND attempts >= 1") == 1;
      },
      30s));
  daemon->send_signal(SIGKILL);
  REQUIRE(daemon->wait_for(10s).has_value());
  const auto refused = web.count();
  CHECK(web.accepted().empty());

  web.respond_status(200);
  daemon = env.start_daemon();
  REQUIRE(web.wait_for_accepted(1, 20s));
  CHECK(eventually(
      [&] { return env.count("SELECT count(*) FROM outbox WHERE status = 'delivered'") == 1; }));
  CHECK(vitals::it::terminate(*daemon) == 0);

  // A clean restart does not send it again: delivered is delivered.
  daemon = env.start_daemon();
  std::this_thread::sleep_for(2s);
  CHECK(web.accepted().size() == 1);
  CHECK(web.count() == refused + 1);
  const auto b = json::parse(web.accepted().front().body);
  CHECK(b["action"] == "trigger");
  CHECK(b["alert"]["patient"] == "p-9");
  CHECK(vitals::it::terminate(*daemon) == 0);
}

TEST_CASE(
    "kill -9 during an alert whose condition ends while vitalsd is down: it resolves after "
    "the restart",
    "[integration][alerting]") {
  http_receiver web;
  const std::string config =
      "[alerts]\nflap_window_s = 1\n[pipeline]\naccept_unknown = true\nreconfirm_oximetry_s = 3\n" +
      receiver("web", "webhook", web.url("/hook")) +
      "[[routes]]\nname = \"all\"\nsource = \"physiological\"\n[[routes.steps]]\nreceivers = "
      "[\"web\"]\n";
  vitals::it::daemon_env env(config);
  auto daemon = env.start_daemon();
  auto t = now_ms() - 120'000;
  {
    vitals::test::mqtt_publisher pub(env.broker.uri(), "alerting-pub");
    t = desaturation(pub, "p-7", t, false);
  }
  REQUIRE(web.wait_for_accepted(1, 20s));
  REQUIRE(json::parse(web.accepted().front().body)["action"] == "trigger");
  daemon->send_signal(SIGKILL);
  REQUIRE(daemon->wait_for(10s).has_value());

  // The patient recovered meanwhile: the new process sees only normal readings, and no
  // detector of it ever raised the alert it restores open.
  daemon = env.start_daemon();
  {
    vitals::test::mqtt_publisher pub(env.broker.uri(), "alerting-pub");
    publish_spo2(pub, "p-7", "ox-p-7", t + 60'000, 20, 97);
  }
  REQUIRE(web.wait_for_accepted(2, 30s));
  const auto resolved = json::parse(web.accepted()[1].body);
  CHECK(resolved["action"] == "resolve");
  CHECK(env.count("SELECT count(*) FROM alerts WHERE state = 'resolved'") == 1);
  CHECK(env.count("SELECT count(*) FROM alerts WHERE state != 'resolved'") == 0);
  CHECK(vitals::it::terminate(*daemon) == 0);
}

TEST_CASE(
    "escalation: nobody acknowledges, tiers 2 and 3 are paged on schedule, an HTTP "
    "acknowledgement stops the chain",
    "[integration][alerting]") {
  vitals::test::temp_dir secrets("vitals-secrets");
  http_receiver nurse, oncall, lead;
  // Tier 2 after 3 s, tier 3 after 6 s (fractions of a minute, so that the test is quick).
  const std::string config =
      "[alerts]\nflap_window_s = 1\n" + receiver("nurse", "webhook", nurse.url("/")) +
      receiver("oncall", "pagerduty", oncall.url("/v2/enqueue"),
               "secret_file = \"" + write_secret(secrets.path(), "pd", routing_key) + "\"\n") +
      receiver("lead", "alertmanager", lead.url("/")) +
      "[[routes]]\nname = \"ward\"\nsource = \"physiological\"\n"
      "[[routes.steps]]\nreceivers = [\"nurse\"]\n"
      "[[routes.steps]]\nafter_min = 0.05\nreceivers = [\"oncall\"]\n"
      "[[routes.steps]]\nafter_min = 0.1\nreceivers = [\"lead\"]\n";
  vitals::it::daemon_env env(config, api_tokens(secrets.path()));
  auto daemon = env.start_daemon();
  vitals::test::mqtt_publisher pub(env.broker.uri(), "alerting-pub");
  const auto t = desaturation(pub, "p-5", now_ms() - 120'000, false);

  REQUIRE(nurse.wait_for_accepted(1, 20s));
  REQUIRE(oncall.wait_for_accepted(1, 20s));
  REQUIRE(lead.wait_for_accepted(1, 20s));
  const auto t1 = nurse.accepted().front().at;
  const auto t2 = oncall.accepted().front().at;
  const auto t3 = lead.accepted().front().at;
  // Not before their delays (the upper side is bounded only by the waits above).
  CHECK(t2 - t1 >= 2500ms);
  CHECK(t3 - t1 >= 5500ms);
  CHECK(json::parse(oncall.accepted().front().body)["event_action"] == "trigger");
  CHECK(json::parse(lead.accepted().front().body)["status"] == "firing");
  CHECK(json::parse(nurse.accepted().front().body)["step"] == 0);

  const auto id = alert_id(env, "p-5");
  const auto ack = api(env, "POST", "/api/v1/alerts/" + std::to_string(id) + "/acknowledge",
                       ack_token, R"({"by":"dr-lee"})");
  REQUIRE(ack.status == 200);
  REQUIRE(oncall.wait_for_accepted(2, 10s));
  CHECK(json::parse(oncall.accepted()[1].body)["event_action"] == "acknowledge");
  REQUIRE(nurse.wait_for_accepted(2, 10s));
  CHECK(json::parse(nurse.accepted()[1].body)["action"] == "acknowledge");

  // The condition ends: Alertmanager (tier 3) gets the resolve, PagerDuty too.
  recovery(pub, "p-5", t);
  REQUIRE(lead.wait_for_accepted(2, 20s));
  CHECK(json::parse(lead.accepted()[1].body)["status"] == "resolved");
  REQUIRE(oncall.wait_for_accepted(3, 10s));
  CHECK(json::parse(oncall.accepted()[2].body)["event_action"] == "resolve");
  // Nothing but acknowledge and resolve after the acknowledgement: no escalation, no repeats.
  std::this_thread::sleep_for(1s);
  CHECK(nurse.accepted().size() == 3);
  CHECK(oncall.accepted().size() == 3);
  CHECK(lead.accepted().size() == 2);
  CHECK(vitals::it::terminate(*daemon) == 0);
}

TEST_CASE("bad API requests get the right status and a clear message, and change nothing",
          "[integration][alerting][api]") {
  vitals::test::temp_dir secrets("vitals-secrets");
  vitals::it::daemon_env env("[alerts]\nflap_window_s = 1\n", api_tokens(secrets.path()));
  auto daemon = env.start_daemon();
  vitals::test::mqtt_publisher pub(env.broker.uri(), "alerting-pub");
  // One alert that stays active, one resolved.
  desaturation(pub, "p-open", now_ms() - 120'000, false);
  desaturation(pub, "p-done", now_ms() - 120'000, true);
  REQUIRE(eventually(
      [&] { return env.count("SELECT count(*) FROM alerts WHERE state = 'resolved'") == 1; }, 30s));
  REQUIRE(eventually(
      [&] { return env.count("SELECT count(*) FROM alerts WHERE state = 'active'") == 1; }));
  const auto open_id = std::to_string(alert_id(env, "p-open"));
  const auto done_id = std::to_string(alert_id(env, "p-done"));
  const auto events_before = env.count("SELECT count(*) FROM alert_events");

  const auto error_of = [](const http_reply& r) {
    return json::parse(r.body).value("error", std::string());
  };
  const std::string ack_open = "/api/v1/alerts/" + open_id + "/acknowledge";

  auto r = api(env, "POST", ack_open, "");
  CHECK(r.status == 401);
  CHECK(r.headers["www-authenticate"].find("Bearer") == 0);
  CHECK_THAT(error_of(r), Catch::Contains("missing bearer token"));

  r = api(env, "POST", ack_open, "not-the-token-0123456789");
  CHECK(r.status == 401);
  CHECK_THAT(error_of(r), Catch::Contains("invalid token"));

  r = api(env, "POST", ack_open, read_token);
  CHECK(r.status == 403);
  CHECK_THAT(error_of(r), Catch::Contains("dashboard"));

  r = api(env, "POST", "/api/v1/alerts/999999/acknowledge", ack_token, "{}");
  CHECK(r.status == 404);
  CHECK_THAT(error_of(r), Catch::Contains("999999"));

  r = api(env, "POST", ack_open, ack_token, R"({"by": "jane",)");
  CHECK(r.status == 400);
  CHECK_THAT(error_of(r), Catch::Contains("not valid JSON"));

  r = api(env, "POST", "/api/v1/alerts/" + done_id + "/acknowledge", ack_token, "{}");
  CHECK(r.status == 409);
  CHECK_THAT(error_of(r), Catch::Contains("resolved"));

  r = api(env, "POST", "/api/v1/alerts/" + open_id + "/resolve", ack_token, "{}");
  CHECK(r.status == 409);
  CHECK_THAT(error_of(r), Catch::Contains("still"));

  r = api(env, "POST", "/api/v1/alerts/" + open_id + "/snooze", ack_token,
          R"({"minutes": 100000})");
  CHECK(r.status == 400);

  // Nothing changed state.
  CHECK(env.count("SELECT count(*) FROM alert_events") == events_before);
  CHECK(env.count("SELECT count(*) FROM alerts WHERE state = 'active'") == 1);

  // The good requests around them work: list, health, metrics.
  r = api(env, "GET", "/api/v1/alerts?state=active", read_token);
  REQUIRE(r.status == 200);
  CHECK(json::parse(r.body)["alerts"].size() == 1);
  r = api(env, "GET", "/healthz", "");
  CHECK(r.status == 200);
  r = api(env, "GET", "/metrics", read_token);
  REQUIRE(r.status == 200);
  CHECK_THAT(r.body, Catch::Contains("vitalsd_alerts{state=\"active\",priority=\"medium\"} 1"));
  CHECK_THAT(r.body, Catch::Contains("vitalsd_store_commit_seconds_count"));
  CHECK(vitals::it::terminate(*daemon) == 0);
}

TEST_CASE("staff apps acknowledge over the MQTT command topic", "[integration][alerting]") {
  vitals::it::daemon_env env("[alerts]\ncommand_topic = \"vitalsd/alerts/commands\"\n");
  auto daemon = env.start_daemon();
  vitals::test::mqtt_publisher pub(env.broker.uri(), "alerting-pub");
  desaturation(pub, "p-4", now_ms() - 120'000, false);
  REQUIRE(eventually([&] { return alert_id(env, "p-4") > 0; }, 30s));
  const auto id = alert_id(env, "p-4");

  pub.publish("vitalsd/alerts/commands", "not json");
  pub.publish("vitalsd/alerts/commands",
              R"({"alert_id":)" + std::to_string(id) +
                  R"(,"action":"acknowledge","by":"nurse-app-7","reason":"seen"})");
  REQUIRE(eventually(
      [&] { return env.count("SELECT count(*) FROM alerts WHERE state = 'acknowledged'") == 1; },
      20s));
  CHECK(vitals::it::query_strings(env.db, "SELECT acknowledged_by FROM alerts") ==
        std::vector<std::string>{"mqtt/nurse-app-7"});
  CHECK(daemon->log_text().find("MQTT alert command refused") != std::string::npos);
  CHECK(vitals::it::terminate(*daemon) == 0);
}

}  // namespace alerting_test
