// BLE gateways end to end (issue 6, point 4): vitals-sim plays the same seed once as compact JSON
// and once as BLE GATT frames in a generic gateway's JSON ({mac, uuid, hex, ts}), each through a
// real mosquitto into a real vitalsd (the BLE one configured from `vitals-sim --ble-config`); the
// two databases must hold the same samples. The oximeter's probe-off frames (status bits, NaN
// values) must raise the technical sensor_off alert and no physiological one. A Cassia-style run
// (numeric ATT handles, no gateway time) decodes end to end too. A gateway's MQTT last will
// (a real client killed without DISCONNECT) raises gateway_offline; its online message clears it.
//
// Runs go at --speed max, so a few simulated minutes take well under a second of wall time. The
// condition monitor also counts a reading condition's delay in device time, so the simulated
// minute of probe off in the middle of the run raises sensor_off (delay 5 s here), and the clean
// frames after it clear the condition.

#include <sqlite3.h>

#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <catch2/catch.hpp>

#include "daemon_fixture.hpp"

using namespace std::chrono_literals;

// A namespace of its own: the sanitizer presets are unity builds (tests/README.md).
namespace ble_gateway_test {
namespace {

/// What identifies a stored sample: patient, device, kind (0 hr, 1 spo2, 2 glucose), device time.
using sample_key = std::tuple<std::string, std::string, int, std::int64_t>;

/// One alert row, as far as the comparison needs it.
struct alert_row {
  std::string patient;
  std::string device;
  std::string rule;
  std::string source;
  std::int64_t condition_start = 0;
  bool condition_present = false;
};

/// Everything a run left in its database.
struct run_outcome {
  std::map<sample_key, double> samples;
  std::vector<alert_row> alerts;
  std::string daemon_log;
  std::string sim_log;
};

std::string read_all(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string text_column(sqlite3_stmt* stmt, int i) {
  const auto* t = sqlite3_column_text(stmt, i);
  return t ? reinterpret_cast<const char*>(t) : "";
}

/// Reads the samples and alerts of a vitalsd database (read-only).
void read_db(const std::filesystem::path& db, run_outcome& out) {
  sqlite3* conn = nullptr;
  REQUIRE(sqlite3_open_v2(db.c_str(), &conn, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  sqlite3_busy_timeout(conn, 2000);
  sqlite3_stmt* stmt = nullptr;
  REQUIRE(sqlite3_prepare_v2(conn,
                             "SELECT p.key, d.key, s.kind, s.device_ts, s.value FROM samples s "
                             "JOIN devices d ON d.id = s.device_id "
                             "JOIN patients p ON p.id = s.patient_id",
                             -1, &stmt, nullptr) == SQLITE_OK);
  while (sqlite3_step(stmt) == SQLITE_ROW) {
    out.samples[{text_column(stmt, 0), text_column(stmt, 1), sqlite3_column_int(stmt, 2),
                 sqlite3_column_int64(stmt, 3)}] = sqlite3_column_double(stmt, 4);
  }
  sqlite3_finalize(stmt);
  REQUIRE(sqlite3_prepare_v2(conn,
                             "SELECT p.key, coalesce(d.key, ''), a.rule, a.source, "
                             "a.condition_start, a.condition_present FROM alerts a "
                             "JOIN patients p ON p.id = a.patient_id "
                             "LEFT JOIN devices d ON d.id = a.device_id ORDER BY a.id",
                             -1, &stmt, nullptr) == SQLITE_OK);
  while (sqlite3_step(stmt) == SQLITE_ROW) {
    out.alerts.push_back({text_column(stmt, 0), text_column(stmt, 1), text_column(stmt, 2),
                          text_column(stmt, 3), sqlite3_column_int64(stmt, 4),
                          sqlite3_column_int(stmt, 5) != 0});
  }
  sqlite3_finalize(stmt);
  sqlite3_close(conn);
}

/// Waits until the number of stored samples has not changed for three seconds.
void wait_until_stored(vitals::it::daemon_env& env) {
  std::int64_t last = -1;
  int stable = 0;
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (stable < 3 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(1s);
    const auto n = env.count("SELECT count(*) FROM samples");
    stable = n == last && n > 0 ? stable + 1 : 0;
    last = n;
  }
  REQUIRE(stable >= 3);
}

/// The scenario both formats play: p001 (healthy) with a motion artifact, a minute of low
/// perfusion, and the probe off for a minute (5-6 min);
/// p002 (type 1 diabetic) with a CGM, which reads once or twice in 8 minutes.
const char* const scenario_toml = R"(name = "ble-compare"
seed = 21
duration = "8m"

[[patient]]
id = "p001"
profile = "healthy"
events = [
  { kind = "motion", at = "2m", duration = "6s" },
  { kind = "low_perfusion", at = "3m", duration = "1m" },
  { kind = "probe_off", at = "5m", duration = "1m" },
]

[[patient]]
id = "p002"
profile = "t1d"
)";

constexpr std::int64_t probe_off_from_ms = 5 * 60'000;
constexpr std::int64_t probe_off_to_ms = 6 * 60'000;
constexpr std::int64_t run_ms = 8 * 60'000;

/// Plays the scenario in `format` into a fresh broker and vitalsd; BLE formats get the
/// `--ble-config` settings. `wait_for_sensor_off`: also waits for the sensor_off alert.
run_outcome play(const std::string& format, std::int64_t start_ms, bool wait_for_sensor_off) {
  vitals::test::temp_dir scratch{"vitals-ble-it"};
  const auto scenario = scratch.path() / "scenario.toml";
  std::ofstream(scenario) << scenario_toml;
  const std::vector<std::string> common{
      VITALS_SIM_PATH, "--scenario", scenario.string(),       "--format",
      format,          "--start",    std::to_string(start_ms)};
  const bool ble = format.rfind("ble-", 0) == 0;
  std::string extra = "[technical]\nsensor_off_delay_s = 5\n";
  if (ble) {
    const auto file = scratch.path() / "ble.toml";
    auto args = common;
    args.insert(args.end(), {"--ble-config", file.string()});
    vitals::test::child_process print(args, scratch.path() / "print.log");
    REQUIRE(print.wait_for(60s) == 0);
    const auto text = read_all(file);
    INFO(text);
    REQUIRE(text.find("[[sources]]\ntype = \"ble_gateway\"\n") != std::string::npos);
    extra += text;
  }
  vitals::it::daemon_env env(extra);
  auto daemon = env.start_daemon();
  if (ble) {
    // start_daemon() saw the first "subscribed": the gateway source has its own connection.
    REQUIRE(vitals::test::eventually(
        [&] { return daemon->log_text().find("ble_gateway: subscribed") != std::string::npos; },
        20s));
  }

  auto args = common;
  args.insert(args.end(), {"--speed", "max", "--broker", env.broker.uri()});
  vitals::test::child_process sim(args, env.dir.path() / "sim.log");
  const auto sim_code = sim.wait_for(120s);
  run_outcome out;
  out.sim_log = sim.log_text();
  INFO(out.sim_log);
  REQUIRE(sim_code == 0);

  wait_until_stored(env);
  if (wait_for_sensor_off) {
    const bool raised = vitals::test::eventually(
        [&] { return env.count("SELECT count(*) FROM alerts WHERE rule = 'sensor_off'") > 0; },
        30s);
    INFO(daemon->log_text());
    CHECK(raised);
  }
  const auto code = vitals::it::terminate(*daemon);
  out.daemon_log = daemon->log_text();
  INFO(out.daemon_log);
  REQUIRE(code == 0);
  read_db(env.db, out);
  return out;
}

/// A whole second some minutes ago: the run's simulated start (whole seconds, so that the BLE CGM
/// times, session start + whole minutes, equal the JSON timestamps).
std::int64_t start_ms() {
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  return (now - 15 * 60) * 1000;
}

std::string describe(const sample_key& k) {
  return std::get<0>(k) + " " + std::get<1>(k) + " kind " + std::to_string(std::get<2>(k)) +
         " at " + std::to_string(std::get<3>(k));
}

}  // namespace

TEST_CASE("BLE gateway frames from vitals-sim are stored as the same samples as its JSON",
          "[integration][ble]") {
  const auto start = start_ms();
  const auto json = play("compact", start, false);
  const auto gatt = play("ble-generic", start, true);

  // The same samples: patient, device, kind, device time and value. HR and SpO2 travel as
  // whole-number SFLOATs and glucose as an SFLOAT with at most one decimal of the JSON's integer
  // mg/dL, so every value is exact; the tolerance is the SFLOAT's resolution below 204.5 mg/dL.
  REQUIRE(!json.samples.empty());
  std::map<int, int> kinds;
  for (const auto& [key, value] : json.samples) ++kinds[std::get<2>(key)];
  CHECK(kinds[0] > 400);
  CHECK(kinds[1] > 400);
  CHECK(kinds[2] >= 1);  // the CGM
  for (const auto& [key, value] : json.samples) {
    INFO(describe(key));
    const auto it = gatt.samples.find(key);
    REQUIRE(it != gatt.samples.end());
    CHECK(std::abs(it->second - value) <= (std::get<2>(key) == 2 ? 0.05 : 0.0));
  }
  for (const auto& [key, value] : gatt.samples) {
    INFO(describe(key));
    CHECK(json.samples.count(key) == 1);
  }
  CHECK(gatt.samples.size() == json.samples.size());

  // Nothing stored from the probe-off minute, in either run (JSON: 0/0 rejected as implausible;
  // BLE: condition-only frames).
  for (const auto* run : {&json, &gatt}) {
    for (const auto& [key, value] : run->samples) {
      if (std::get<1>(key) != "p001-ox") continue;
      const auto t = std::get<3>(key) - start;
      CHECK_FALSE((t >= probe_off_from_ms && t < probe_off_to_ms));
    }
  }

  // The probe-off frames raised the technical sensor_off alert for p001's oximeter.
  std::set<std::tuple<std::string, std::string, std::int64_t>> physiological_json;
  for (const auto& a : json.alerts) {
    if (a.source == "physiological")
      physiological_json.insert({a.patient, a.rule, a.condition_start});
  }
  int sensor_off = 0;
  int signal_poor = 0;
  for (const auto& a : gatt.alerts) {
    INFO(a.patient << " " << a.rule << " " << a.source << " " << a.condition_start);
    if (a.rule == "sensor_off") {
      ++sensor_off;
      CHECK(a.source == "technical");
      CHECK(a.patient == "p001");
      CHECK(a.device == "p001-ox");
      // Cleared by the clean frames after the probe-off minute.
      CHECK_FALSE(a.condition_present);
    }
    if (a.rule == "signal_poor") {
      // The minute of low perfusion (3-4 min; the delay is 30 s, counted in device time).
      ++signal_poor;
      CHECK(a.patient == "p001");
      CHECK(a.device == "p001-ox");
    }
    if (a.source == "technical") CHECK((a.rule == "sensor_off" || a.rule == "signal_poor"));
    if (a.source != "physiological") continue;
    // No physiological alert in the BLE run that the JSON run lacks, and none during the
    // probe-off window.
    CHECK(physiological_json.count({a.patient, a.rule, a.condition_start}) == 1);
    if (a.patient == "p001") {
      const auto t = a.condition_start - start;
      CHECK_FALSE((t >= probe_off_from_ms && t < probe_off_to_ms));
    }
  }
  CHECK(sensor_off == 1);
  CHECK(signal_poor == 1);
}

TEST_CASE("Cassia-style gateway frames from vitals-sim decode end to end", "[integration][ble]") {
  const auto start = start_ms();
  const auto cassia = play("ble-cassia", start, false);
  // Cassia notifications carry no time: oximeter readings take vitalsd's receive time (so at
  // --speed max several land on the same millisecond and only one of those is stored), the CGM's
  // come from its session start and time offsets.
  std::map<std::string, int> per_device_kind;
  for (const auto& [key, value] : cassia.samples) {
    ++per_device_kind[std::get<1>(key) + "/" + std::to_string(std::get<2>(key))];
    if (std::get<2>(key) == 0) CHECK((value > 30 && value < 200));
    if (std::get<2>(key) == 1) CHECK((value > 80 && value <= 100));
  }
  INFO(cassia.daemon_log);
  CHECK(per_device_kind["p001-ox/0"] > 0);
  CHECK(per_device_kind["p001-ox/1"] > 0);
  CHECK(per_device_kind["p002-ox/0"] > 0);
  CHECK(per_device_kind["p002-ox/1"] > 0);
  REQUIRE(per_device_kind["p002-cgm/2"] >= 1);
  // The CGM readings sit at whole minutes after a whole-second session start, in the run's
  // simulated window.
  for (const auto& [key, value] : cassia.samples) {
    if (std::get<2>(key) != 2) continue;
    const auto t = std::get<3>(key) - start;
    CHECK(t % 1000 == 0);
    CHECK((t >= 0 && t < run_ms));
    CHECK((value >= 40 && value <= 400));
  }
}

TEST_CASE("The gateway last will raises gateway_offline through vitalsd, online clears it",
          "[integration][ble]") {
  // The gateway: a real MQTT client (mosquitto_sub) holding the last will "offline" on the
  // status topic. Killed with SIGKILL, it never sends DISCONNECT, so the broker publishes the will.
  const std::string status_topic = "ble/livingroom/status";
  // Known devices only (the default; a [pipeline] table keeps the fixture from opening it):
  // the device of [[sources.devices]] is known without a [[devices]] table or a registry entry.
  vitals::it::daemon_env env(
      "[pipeline]\nmax_streams = 1000\n[technical]\nlink_delay_s = 0\n"
      "[[sources]]\ntype = \"ble_gateway\"\n"
      "[[sources.gateways]]\nname = \"livingroom\"\npreset = \"generic\"\n"
      "topics = [\"ble/livingroom/#\"]\nstatus_topic = \"" +
      status_topic +
      "\"\nonline_payload = \"online\"\noffline_payload = \"offline\"\n"
      "[[sources.devices]]\naddress = \"C0:26:DA:00:00:31\"\npatient = \"p-gw1\"\n"
      "device = \"p-gw1-hr\"\ngateway = \"livingroom\"\n");
  auto daemon = env.start_daemon();
  const auto wait_for = [&](auto pred, std::chrono::seconds timeout, const char* what) {
    if (!vitals::test::eventually(pred, timeout))
      FAIL(what << "\nvitalsd log:\n" << daemon->log_text());
  };
  wait_for([&] { return daemon->log_text().find("ble_gateway: subscribed") != std::string::npos; },
           20s, "gateway source subscribed");

  vitals::test::child_process gateway(
      {"/usr/bin/mosquitto_sub", "-h", "127.0.0.1", "-p", std::to_string(env.broker.port()), "-i",
       "gw-livingroom", "-t", "gw/livingroom/cmd", "--will-topic", status_topic, "--will-payload",
       "offline", "--will-qos", "1"},
      env.dir.path() / "gateway.log");
  vitals::test::mqtt_publisher pub(env.broker.uri());
  // Connected (so its will is registered) once it prints what is published on its topic.
  wait_for(
      [&] {
        pub.publish("gw/livingroom/cmd", "ping");
        return gateway.log_text().find("ping") != std::string::npos;
      },
      20s, "the gateway client connected");
  pub.publish(status_topic, "online");

  // Heart rate notifications (sensor contact detected, 72..76 bpm) from the device behind it.
  const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  const auto notify = [&](std::int64_t from_ms, int n) {
    for (int i = 0; i < n; ++i) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "06%02x", 72 + i);
      pub.publish("ble/livingroom/c026da000031",
                  std::string("{\"mac\":\"C0:26:DA:00:00:31\",\"uuid\":\"2a37\",\"hex\":\"") + hex +
                      "\",\"ts\":" + std::to_string(from_ms + i * 1000) + "}");
    }
  };
  const std::string samples_sql =
      "SELECT count(*) FROM samples s JOIN devices d ON d.id = s.device_id WHERE d.key = "
      "'p-gw1-hr'";
  const std::string offline_sql =
      "SELECT count(*) FROM alerts a JOIN patients p ON p.id = a.patient_id "
      "WHERE a.rule = 'gateway_offline' AND a.source = 'technical' AND p.key = 'p-gw1'";
  notify(now_ms - 20'000, 5);
  wait_for([&] { return env.count(samples_sql) == 5; }, 20s, "samples stored");
  CHECK(env.count(offline_sql) == 0);

  // The gateway dies: the broker publishes its will, vitalsd raises gateway_offline.
  gateway.send_signal(SIGKILL);
  REQUIRE(gateway.wait_for(10s).has_value());
  wait_for([&] { return env.count(offline_sql) == 1; }, 20s, "gateway_offline raised");
  CHECK(env.count(offline_sql + " AND a.condition_present = 1") == 1);
  CHECK(env.count(offline_sql + " AND a.device_id = (SELECT id FROM devices WHERE key = "
                                "'p-gw1-hr')") == 1);

  // Back online: the condition clears, and readings are stored again.
  pub.publish(status_topic, "online");
  wait_for([&] { return env.count(offline_sql + " AND a.condition_present = 0") == 1; }, 20s,
           "gateway_offline cleared");
  CHECK(env.count("SELECT count(*) FROM alert_events e JOIN alerts a ON a.id = e.alert_id "
                  "WHERE a.rule = 'gateway_offline' AND e.action = 'condition_cleared'") == 1);
  notify(now_ms - 10'000, 5);
  wait_for([&] { return env.count(samples_sql) == 10; }, 20s, "samples resumed");
  // The gateway was the only trouble: no other alert.
  CHECK(env.count("SELECT count(*) FROM alerts") == 1);

  const auto code = vitals::it::terminate(*daemon);
  const auto log = daemon->log_text();
  INFO(log);
  CHECK(code == 0);
  CHECK(log.find("gateway 'livingroom' offline") != std::string::npos);
  CHECK(log.find("p-gw1") == std::string::npos);
}

}  // namespace ble_gateway_test
