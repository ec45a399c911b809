// Live configuration changes end to end: vitalsd under a real mosquitto, its SQLite file and
// real HTTP receivers; the config file rewritten and re-read by SIGHUP, by POST /api/v1/reload
// and by `vitalsctl reload`, while an alert is open and its escalation is running.

#include <catch2/catch.hpp>
#include <chrono>
#include <csignal>
#include <fstream>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include <vitals/test/http_client.hpp>
#include <vitals/test/http_receiver.hpp>

#include "daemon_fixture.hpp"

using namespace std::chrono_literals;
using nlohmann::json;
using vitals::test::eventually;
using vitals::test::http_receiver;

// A namespace of its own: the sanitizer presets are unity builds (tests/README.md).
namespace reload_test {
namespace {

using vitals::it::now_ms;
using vitals::it::write_secret;

const std::string admin_token = "admin-token-0123456789abcdef";
const std::string ack_token = "ack-token-0123456789abcdef";

/// SpO2 readings of `value`, one per second of device time from `from_ms`; the next time.
std::int64_t publish_spo2(vitals::test::mqtt_publisher& pub, const std::string& patient,
                          std::int64_t from_ms, int seconds, double value) {
  const std::string device = "ox-" + patient;
  for (int i = 0; i < seconds; ++i) {
    pub.publish("vitals/" + patient + "/" + device,
                "{\"device\":\"" + device + "\",\"ts\":" + std::to_string(from_ms + i * 1000) +
                    ",\"spo2\":" + std::to_string(value) + "}");
  }
  return from_ms + seconds * 1000;
}

/// A gradual fall from 97 % to `low` (no impossible jump), held for `hold` seconds.
std::int64_t desaturate(vitals::test::mqtt_publisher& pub, const std::string& patient,
                        std::int64_t t, double low, int hold) {
  t = publish_spo2(pub, patient, t, 5, 97);
  for (double v = 95; v > low; v -= 2) t = publish_spo2(pub, patient, t, 1, v);
  return publish_spo2(pub, patient, t, hold, low);
}

std::int64_t stored(const vitals::it::daemon_env& env, const std::string& patient) {
  return env.count("SELECT count(*) FROM sample_view WHERE patient = '" + patient + "'");
}

std::int64_t open_alerts(const vitals::it::daemon_env& env, const std::string& patient) {
  return env.count("SELECT count(*) FROM alert_view WHERE patient = '" + patient +
                   "' AND state IN ('active', 'acknowledged', 'latched')");
}

std::size_t count_action(const http_receiver& r, const std::string& action) {
  std::size_t n = 0;
  for (const auto& q : r.accepted()) n += json::parse(q.body)["action"] == action ? 1 : 0;
  return n;
}

}  // namespace

TEST_CASE(
    "a reload adds a patient, changes a limit and adds a receiver and a route, keeping an open "
    "alert and its escalation, and a broken file changes nothing",
    "[integration][reload]") {
  http_receiver ward, icu;
  vitals::test::temp_dir secrets("vitals-secrets");
  const std::string tokens = "[[api.tokens]]\nname = \"ops\"\nrole = \"admin\"\ntoken_file = \"" +
                             write_secret(secrets.path(), "admin.token", admin_token) +
                             "\"\n[[api.tokens]]\nname = \"nurse\"\ntoken_file = \"" +
                             write_secret(secrets.path(), "ack.token", ack_token) + "\"\n";
  // The ward's receiver from the start; the ICU's comes with the reload.
  const std::string ward_receiver = "[[receivers]]\nname = \"ward\"\ntype = \"webhook\"\nurl = \"" +
                                    ward.url("/") +
                                    "\"\nbackoff_min_s = 0.05\nbackoff_max_s = 0.2\n";
  const std::string receivers = ward_receiver +
                                "[[receivers]]\nname = \"icu\"\ntype = \"webhook\"\nurl = \"" +
                                icu.url("/") + "\"\nbackoff_min_s = 0.05\nbackoff_max_s = 0.2\n";
  // The ward route pages "ward" at once and again (escalation step 1) 0.15 min (9 s) later.
  const std::string ward_route =
      "[[routes]]\nname = \"ward\"\n[[routes.steps]]\nreceivers = [\"ward\"]\n"
      "[[routes.steps]]\nafter_min = 0.15\nreceivers = [\"ward\"]\n";
  const std::string before = "[pipeline]\naccept_unknown = false\n" + ward_receiver +
                             "[[patients]]\nid = \"p-1\"\n" + ward_route;
  // After: p-2 is known, with its own SpO2 limit (94 instead of 90), and a new receiver with
  // a route of its own (in front of the ward's, so that it takes p-2's alerts).
  const auto after = [&](const std::string& pipeline_extra) {
    return "[pipeline]\naccept_unknown = false\n" + pipeline_extra + receivers +
           "[[patients]]\nid = \"p-1\"\n[[patients]]\nid = \"p-2\"\n"
           "[patients.rules.spo2_low]\nlimit = 94.0\n"
           "[[routes]]\nname = \"icu\"\npatients = [\"p-2\"]\n"
           "[[routes.steps]]\nreceivers = [\"icu\"]\n" +
           ward_route;
  };
  vitals::it::daemon_env env(before, tokens);
  const auto rewrite = [&env, &tokens](const std::string& body) {
    // As daemon_env writes it: the broker, the store and the API first.
    std::ifstream in(env.config);
    std::string head((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    head = head.substr(0, head.find("[[api.tokens]]"));
    std::ofstream(env.config) << head << tokens << body;
  };
  auto daemon = env.start_daemon();
  vitals::test::mqtt_publisher pub(env.broker.uri(), "reload-pub");

  // p-1 desaturates: the alert opens and pages the ward (step 0).
  const auto t1 = desaturate(pub, "p-1", now_ms() - 120'000, 85, 20);
  REQUIRE(ward.wait_for_accepted(1, 20s));
  REQUIRE(open_alerts(env, "p-1") == 1);
  const auto alert_id = env.count("SELECT max(id) FROM alert_view WHERE patient = 'p-1'");
  // p-2 is not known yet: rejected, nothing stored.
  auto t2 = publish_spo2(pub, "p-2", now_ms() - 60'000, 5, 97);
  std::this_thread::sleep_for(1s);
  CHECK(stored(env, "p-2") == 0);

  // The new file, by SIGHUP.
  rewrite(after(""));
  daemon->send_signal(SIGHUP);
  REQUIRE(eventually(
      [&] { return daemon->log_text().find("configuration reloaded") != std::string::npos; }, 10s));
  CHECK(daemon->log_text().find("cannot change while vitalsd runs") == std::string::npos);

  // The open alert is the same one, still open, and its escalation step still comes (9 s
  // after the raise): the timer survived the reload.
  CHECK(open_alerts(env, "p-1") == 1);
  CHECK(env.count("SELECT max(id) FROM alert_view WHERE patient = 'p-1'") == alert_id);
  REQUIRE(eventually([&] { return count_action(ward, "escalate") == 1; }, 30s));
  // Its condition holds on: more low readings raise nothing new.
  publish_spo2(pub, "p-1", t1, 5, 85);
  std::this_thread::sleep_for(1s);
  CHECK(env.count("SELECT count(*) FROM alert_view WHERE patient = 'p-1'") == 1);

  // p-2 is taken now, and 92 % is below its new limit of 94 (not below the default 90): its
  // alert goes to the new route's receiver only.
  t2 = desaturate(pub, "p-2", t2, 92, 35);
  REQUIRE(icu.wait_for_accepted(1, 20s));
  // All of them stored: 5 at 97 %, 95 and 93 on the way down, 35 at 92.
  CHECK(eventually([&] { return stored(env, "p-2") == 42; }, 10s));
  const auto icu_body = json::parse(icu.accepted().front().body);
  CHECK(icu_body["alert"]["patient"] == "p-2");
  CHECK(icu_body["alert"]["rule"] == "spo2_low");
  CHECK(ward.accepted().size() == 2);  // p-1's trigger and escalation, nothing of p-2
  CHECK(env.count("SELECT count(*) FROM alert_view WHERE patient = 'p-1'") == 1);

  // A broken file by the API: refused whole with FILE:LINE and the key; the ack token may not.
  rewrite(after("") + "[rules.spo2_low]\nlimt = 80\n");
  const auto auth = [](const std::string& token) {
    return std::vector<std::pair<std::string, std::string>>{{"Authorization", "Bearer " + token},
                                                            {"Content-Type", "application/json"}};
  };
  const auto refused =
      vitals::test::http_request(env.api_port, "POST", "/api/v1/reload", auth(ack_token), "{}");
  CHECK(refused.status == 403);
  const auto bad =
      vitals::test::http_request(env.api_port, "POST", "/api/v1/reload", auth(admin_token), "{}");
  CHECK(bad.status == 422);
  INFO(bad.body);
  CHECK(bad.body.find("vitalsd.toml:") != std::string::npos);
  CHECK(bad.body.find("limt") != std::string::npos);
  CHECK(daemon->log_text().find("configuration reload refused") != std::string::npos);
  // The old configuration is in force: p-2 is still known, its limit still 94.
  publish_spo2(pub, "p-2", t2, 3, 92);
  CHECK(eventually([&] { return stored(env, "p-2") == 45; }, 10s));
  // Under a limit back at 90, 92 % would have ended the condition (92 >= 90 + 2).
  std::this_thread::sleep_for(500ms);
  CHECK(env.count("SELECT count(*) FROM alerts a JOIN patients p ON p.id = a.patient_id WHERE "
                  "p.key = 'p-2' AND a.condition_present = 1") == 1);

  // `vitalsctl reload` with the file mended, and a setting that needs a restart: named.
  rewrite(after("ring_capacity = 1024\n"));
  const auto ctl = vitals::it::run_to_end(
      {VITALSCTL_PATH, "reload", "--api", "http://127.0.0.1:" + std::to_string(env.api_port),
       "--token-file", (secrets.path() / "admin.token").string()},
      env.dir.path(), "vitalsctl-reload");
  CHECK(ctl.code == 0);
  CHECK(ctl.output.find("reloaded: 2 patient(s)") != std::string::npos);
  CHECK(ctl.output.find("pipeline.ring_capacity") != std::string::npos);
  CHECK(eventually(
      [&] {
        return daemon->log_text().find("pipeline.ring_capacity changed but cannot change") !=
               std::string::npos;
      },
      5s));
  CHECK(open_alerts(env, "p-1") == 1);
  CHECK(open_alerts(env, "p-2") == 1);

  CHECK(vitals::it::terminate(*daemon) == 0);
}

}  // namespace reload_test
