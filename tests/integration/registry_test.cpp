// The patient registry end to end: vitalsd under a real mosquitto with its SQLite file, patients
// added, changed, removed and imported with `vitalsctl patient` while readings flow; admission
// follows at once, the registry survives a restart, and a bad change changes nothing.

#include <sqlite3.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include <vitals/test/http_client.hpp>

#include "daemon_fixture.hpp"

using namespace std::chrono_literals;
using nlohmann::json;
using vitals::test::eventually;

// A namespace of its own: the sanitizer presets are unity builds (tests/README.md).
namespace registry_test {
namespace {

using vitals::it::now_ms;
using vitals::it::run_outcome;

const std::string admin_token = "admin-token-0123456789abcdef";
const std::string read_token = "read-token-0123456789abcdef";

std::int64_t stored(const vitals::it::daemon_env& env, const std::string& patient) {
  return env.count("SELECT count(*) FROM sample_view WHERE patient = '" + patient + "'");
}

std::int64_t alerts(const vitals::it::daemon_env& env, const std::string& patient) {
  return env.count("SELECT count(*) FROM alert_view WHERE patient = '" + patient + "'");
}

}  // namespace

TEST_CASE(
    "patients added, changed, removed and imported with vitalsctl are admitted at once, survive "
    "a restart, and a bad change changes nothing",
    "[integration][registry]") {
  vitals::test::temp_dir secrets("vitals-secrets");
  const auto admin_file = vitals::it::write_secret(secrets.path(), "admin.token", admin_token);
  const auto read_file = vitals::it::write_secret(secrets.path(), "read.token", read_token);
  const std::string tokens = "[[api.tokens]]\nname = \"ops\"\nrole = \"admin\"\ntoken_file = \"" +
                             admin_file +
                             "\"\n[[api.tokens]]\nname = \"viewer\"\nrole = "
                             "\"read\"\ntoken_file = \"" +
                             read_file + "\"\n";
  // Known devices only: the default (a [pipeline] table without accept_unknown, so that the
  // fixture adds none), one patient in the file.
  vitals::it::daemon_env env("[pipeline]\nbatch_max = 1024\n[[patients]]\nid = \"p-file\"\n",
                             tokens);
  {
    // Gateways publish by device on gw/{device}: the patient comes from the registry.
    std::ifstream in(env.config);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::string mqtt = "type = \"mqtt\"\n";
    text.insert(text.find(mqtt) + mqtt.size(),
                "topics = [\"vitals/{patient}/{device}\", \"gw/{device}\"]\n");
    std::ofstream(env.config) << text;
  }
  const auto api = "http://127.0.0.1:" + std::to_string(env.api_port);
  int runs = 0;
  const auto ctl = [&](std::vector<std::string> args, const std::string& token_file) {
    std::vector<std::string> argv{VITALSCTL_PATH, "patient"};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), {"--api", api, "--token-file", token_file});
    return vitals::it::run_to_end(argv, env.dir.path(), "vitalsctl-" + std::to_string(++runs));
  };
  auto daemon = env.start_daemon();
  vitals::test::mqtt_publisher pub(env.broker.uri(), "registry-pub");
  const auto spo2 = [&](const std::string& topic, std::int64_t ts, double v) {
    const auto device = topic.substr(topic.rfind('/') + 1);
    pub.publish(topic, "{\"device\":\"" + device + "\",\"ts\":" + std::to_string(ts) +
                           ",\"spo2\":" + std::to_string(v) + "}");
  };
  auto t = now_ms() - 300'000;

  // Unknown: p-new's readings (by patient topic and by device) are refused and counted.
  spo2("vitals/p-new/ox-a", t += 1000, 97);
  spo2("gw/ox-b", t += 1000, 97);
  spo2("vitals/p-file/ox-f", t += 1000, 97);
  REQUIRE(eventually([&] { return stored(env, "p-file") == 1; }, 10s));
  CHECK(stored(env, "p-new") == 0);
  CHECK(env.count("SELECT count(*) FROM samples") == 1);

  // Added with a device and a personal SpO2 limit of 92 % (the default is 90), raised at once.
  auto r = ctl({"add", "p-new", "--care-team", "ward-3", "--device", "ox-b", "--rule",
                "spo2_low.limit=92", "--rule", "spo2_low.min_duration_s=0"},
               admin_file);
  REQUIRE(r.code == 0);
  CHECK_THAT(r.output, Catch::Contains("added p-new"));
  CHECK_THAT(daemon->log_text(), Catch::Contains("patient registry: a patient added by ops"));
  CHECK_THAT(daemon->log_text(), !Catch::Contains("p-new"));  // no patient id in the log
  spo2("vitals/p-new/ox-a", t += 1000, 97);                   // by the patient's topic
  spo2("gw/ox-b", t += 1000, 96);                             // by the registered device
  spo2("gw/ox-b", t += 1000, 91);                             // below the personal limit
  REQUIRE(eventually([&] { return stored(env, "p-new") == 3; }, 10s));
  REQUIRE(eventually([&] { return alerts(env, "p-new") == 1; }, 10s));
  CHECK(env.count("SELECT count(*) FROM sample_view WHERE device = 'ox-b' AND patient = "
                  "'p-new'") == 2);

  // A change out of range is refused whole, with the key; the entry stays as it was.
  r = ctl({"update", "p-new", "--care-team", "icu", "--rule", "spo2_low.limit=20"}, admin_file);
  CHECK(r.code == 1);
  CHECK_THAT(r.output, Catch::Contains("request body: key 'rules.spo2_low.limit'"));
  // A read token may list but not change.
  r = ctl({"remove", "p-new"}, read_file);
  CHECK(r.code == 1);
  CHECK_THAT(r.output, Catch::Contains("not an admin token"));
  r = ctl({"list"}, read_file);
  REQUIRE(r.code == 0);
  CHECK_THAT(r.output, Catch::Contains("p-new") && Catch::Contains("ox-b") &&
                           Catch::Contains("care_team=ward-3") &&
                           Catch::Contains("spo2_low.limit=92"));
  // Two patients cannot share a device.
  r = ctl({"add", "p-other", "--device", "ox-b"}, admin_file);
  CHECK(r.code == 1);
  CHECK_THAT(r.output, Catch::Contains("a device is listed by two patients of the registry"));

  // The registry is in the database: after a restart p-new is still admitted.
  REQUIRE(vitals::it::terminate(*daemon) == 0);
  daemon = env.start_daemon();
  CHECK_THAT(daemon->log_text(),
             Catch::Contains("patient registry: 1 patient(s) with 1 device(s) from the database"));
  spo2("gw/ox-b", t += 1000, 97);
  REQUIRE(eventually([&] { return stored(env, "p-new") == 4; }, 10s));

  // Import from a file: a patient with a device, and a device of the file's patient.
  const auto file = env.dir.path() / "ward.toml";
  std::ofstream(file) << "[[patients]]\nid = \"p-imp\"\ndiabetes = \"type2\"\n"
                         "[patients.rules.glucose_low]\nlimit = 80\n"
                         "[[devices]]\nid = \"cgm-imp\"\npatient = \"p-imp\"\n";
  r = ctl({"import", file.string()}, admin_file);
  REQUIRE(r.code == 0);
  CHECK_THAT(r.output, Catch::Contains("imported 1 patient(s) and 1 device(s)"));
  spo2("gw/cgm-imp", t += 1000, 98);
  REQUIRE(eventually([&] { return stored(env, "p-imp") == 1; }, 10s));

  // Removed: refused again from the next reading on.
  r = ctl({"remove", "p-new"}, admin_file);
  REQUIRE(r.code == 0);
  spo2("gw/ox-b", t += 1000, 97);
  spo2("vitals/p-new/ox-a", t += 1000, 97);
  spo2("gw/cgm-imp", t += 1000, 98);  // a reading behind them, to know they were seen
  REQUIRE(eventually([&] { return stored(env, "p-imp") == 2; }, 10s));
  CHECK(stored(env, "p-new") == 4);
  r = ctl({"remove", "p-new"}, admin_file);
  CHECK(r.code == 1);
  CHECK_THAT(r.output, Catch::Contains("no such patient in the registry"));

  // Every change is recorded with who made it (the refused ones are not).
  CHECK(env.count("SELECT count(*) FROM patient_registry_events") == 3);
  CHECK(env.count("SELECT count(*) FROM patient_registry_events WHERE \"by\" = 'ops'") == 3);
  CHECK(env.count("SELECT count(*) FROM patient_registry") == 1);
  // The two refused after the removal (the counters start again with the restart).
  const auto metrics = vitals::test::http_request(env.api_port, "GET", "/metrics",
                                                  {{"Authorization", "Bearer " + admin_token}});
  CHECK_THAT(metrics.body,
             Catch::Contains("vitalsd_samples_rejected_total{reason=\"unknown_device\"} 2\n"));
  CHECK(vitals::it::terminate(*daemon) == 0);
}

TEST_CASE("a registry entry left out at start makes /healthz say so until it is mended",
          "[integration][registry]") {
  vitals::test::temp_dir secrets("vitals-secrets");
  const auto admin_file = vitals::it::write_secret(secrets.path(), "admin.token", admin_token);
  vitals::it::daemon_env env(
      "[pipeline]\nbatch_max = 1024\n",
      "[[api.tokens]]\nname = \"ops\"\nrole = \"admin\"\ntoken_file = \"" + admin_file + "\"\n");
  auto daemon = env.start_daemon();
  REQUIRE(vitals::it::terminate(*daemon) == 0);
  // An entry an older vitalsd (or a hand with sqlite3) wrote: a limit out of range.
  {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(env.db.c_str(), &db) == SQLITE_OK);
    const auto rc = sqlite3_exec(db,
                                 "INSERT INTO patient_registry VALUES ('p-bad', "
                                 "'{\"rules\": {\"spo2_low\": {\"limit\": 20}}}', 0, 'hand')",
                                 nullptr, nullptr, nullptr);
    sqlite3_close(db);
    REQUIRE(rc == SQLITE_OK);
  }
  daemon = env.start_daemon();
  CHECK_THAT(daemon->log_text(),
             Catch::Contains("patient registry, entry 1: key 'rules.spo2_low.limit'"));
  auto health = vitals::test::http_request(env.api_port, "GET", "/healthz");
  CHECK(health.status == 503);
  CHECK_THAT(health.body, Catch::Contains("\"status\":\"degraded\"") &&
                              Catch::Contains("1 entry(ies) left out as invalid"));
  // Mended through the API: healthy again.
  const auto r = vitals::it::run_to_end(
      {VITALSCTL_PATH, "patient", "update", "p-bad", "--clear-rule", "spo2_low", "--api",
       "http://127.0.0.1:" + std::to_string(env.api_port), "--token-file", admin_file},
      env.dir.path(), "vitalsctl-mend");
  CHECK(r.code == 0);
  health = vitals::test::http_request(env.api_port, "GET", "/healthz");
  CHECK(health.status == 200);
  CHECK(vitals::it::terminate(*daemon) == 0);
}

}  // namespace registry_test
