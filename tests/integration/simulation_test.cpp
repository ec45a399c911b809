// A simulated day end to end: vitals-sim plays simulators/scenarios/ward-day.toml (six patients,
// every profile, event family, artifact and delivery fault, compact JSON and Open mHealth) at
// full speed through a real mosquitto into vitalsd; vitals-eval then scores the daemon's alerts
// against the simulator's labels. The scoring arithmetic itself is asserted on hand-made inputs
// in tests/simulators/eval_test.cpp; here the whole chain must hold together.

#include <chrono>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "daemon_fixture.hpp"

using namespace std::chrono_literals;
using json = nlohmann::json;

// A namespace of its own: the sanitizer presets are unity builds (tests/README.md).
namespace simulation_test {
namespace {

std::string read_all(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace

TEST_CASE("a simulated ward day through mosquitto and vitalsd, scored by vitals-eval",
          "[integration][simulation]") {
  const auto scenario = std::string(VITALS_SCENARIO_DIR) + "/ward-day.toml";
  // The limits a clinician would set for the scenario's patients (the COPD patient's SpO2
  // target), as vitals-sim writes them; the rest of vitalsd runs on its defaults.
  std::string patient_settings;
  {
    vitals::test::temp_dir scratch;
    const auto file = scratch.path() / "patients.toml";
    vitals::test::child_process print(
        {VITALS_SIM_PATH, "--scenario", scenario, "--patient-config", file.string()},
        scratch.path() / "print.log");
    REQUIRE(print.wait_for(60s) == 0);
    patient_settings = read_all(file);
  }
  CHECK(patient_settings.find("id = \"p004\"") != std::string::npos);  // the COPD patient
  vitals::it::daemon_env env(patient_settings);
  auto daemon = env.start_daemon();

  const auto labels = env.dir.path() / "labels.jsonl";
  // Half-minute batches (as phone apps upload) keep the message count small; the readings and
  // their timestamps are the same as one message per reading.
  vitals::test::child_process sim(
      {VITALS_SIM_PATH, "--scenario", scenario, "--speed", "max", "--batch", "30", "--broker",
       env.broker.uri(), "--labels", labels.string(), "--progress-every", "5"},
      env.dir.path() / "sim.log");
  const auto sim_code = sim.wait_for(600s);
  INFO(sim.log_text());
  REQUIRE(sim_code == 0);

  // Everything published is delivered to the daemon; wait until the store stops growing.
  std::int64_t last = -1;
  int stable = 0;
  const auto deadline = std::chrono::steady_clock::now() + 300s;
  while (stable < 3 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(1s);
    const auto n = env.count("SELECT count(*) FROM samples");
    stable = n == last ? stable + 1 : 0;
    last = n;
  }
  REQUIRE(stable >= 3);
  const auto code = vitals::it::terminate(*daemon);
  INFO(daemon->log_text());
  REQUIRE(code == 0);
  // Each patient's personal baseline was saved when the daemon stopped, and is restored when it
  // starts again.
  CHECK(env.count("SELECT count(*) FROM baselines") == 6);
  {
    auto again = env.start_daemon();
    INFO(again->log_text());
    CHECK(again->log_text().find("personal baselines: 6 restored") != std::string::npos);
    CHECK(vitals::it::terminate(*again) == 0);
  }

  // Six patients over a day: about 86 400 oximeter readings each (two samples each), minus the
  // dropouts and probe-off seconds; CGM readings of the two diabetics.
  for (const auto* patient : {"p001", "p002", "p003", "p004", "p005", "p006"}) {
    INFO(patient);
    const auto hr = env.count(std::string("SELECT count(*) FROM sample_view WHERE patient = '") +
                              patient + "' AND vital = 'hr'");
    CHECK(hr > 84'000);
    CHECK(hr <= 86'400);
  }
  for (const auto* patient : {"p002", "p006"}) {
    INFO(patient);
    const auto g = env.count(std::string("SELECT count(*) FROM sample_view WHERE patient = '") +
                             patient + "' AND vital = 'glucose'");
    CHECK(g > 240);  // 288 a day, minus warm-up
    CHECK(g <= 288);
  }
  // p004's oximeter dropped out for 15 minutes at 9 h: nothing stored from then.
  const std::string label_lines = read_all(labels);
  const auto run = json::parse(label_lines.substr(0, label_lines.find('\n')));
  REQUIRE(run.at("type") == "run");
  const auto start = run.at("start").get<std::int64_t>();
  CHECK(env.count("SELECT count(*) FROM samples s JOIN devices d ON d.id = s.device_id WHERE "
                  "d.key = 'p004-ox' AND s.device_ts >= " +
                  std::to_string(start + 9 * 3'600'000) + " AND s.device_ts < " +
                  std::to_string(start + 9 * 3'600'000 + 15 * 60'000)) == 0);

  // The labels cover every kind the scenario schedules.
  std::set<std::string> kinds;
  {
    std::istringstream in(label_lines);
    for (std::string line; std::getline(in, line);) {
      const auto j = json::parse(line);
      if (j.at("type") != "run" && j.at("type") != "run_end") kinds.insert(j.at("kind"));
    }
  }
  for (const auto* kind :
       {"desaturation", "tachycardia", "bradycardia", "deterioration", "nocturnal_dip",
        "hypoglycaemia_level1", "insulin_overdose", "missed_meal", "motion", "probe_off",
        "compression_low", "sensor_warmup", "dropout", "gateway_disconnect", "late", "out_of_order",
        "duplicate", "clock_skew"}) {
    INFO(kind);
    CHECK(kinds.count(kind) == 1);
  }

  // vitals-eval: the table for people, then the JSON whose numbers must agree with the inputs.
  const auto table_file = env.dir.path() / "eval.txt";
  vitals::test::child_process table(
      {VITALS_EVAL_PATH, "--labels", labels.string(), "--db", env.db.string()}, table_file);
  REQUIRE(table.wait_for(60s) == 0);
  std::cout << "vitals-eval on the simulated ward day:\n" << table.log_text() << std::flush;

  const auto json_file = env.dir.path() / "eval.json";
  vitals::test::child_process as_json(
      {VITALS_EVAL_PATH, "--labels", labels.string(), "--db", env.db.string(), "--json"},
      json_file);
  REQUIRE(as_json.wait_for(60s) == 0);
  const auto report = json::parse(as_json.log_text());
  INFO(report.dump(2));
  CHECK(report.at("run").at("patient_days").get<double>() == Approx(6.0));
  // Every alert in the database is accounted for: physiological + technical, and each
  // escalation within a rule group scored as an alert of the more severe rule.
  const auto alerts = env.count("SELECT count(*) FROM alerts") +
                      env.count("SELECT count(*) FROM alert_events WHERE action = 'escalated'");
  CHECK(report.at("alerts").at("physiological").get<std::int64_t>() +
            report.at("alerts").at("technical").get<std::int64_t>() +
            report.at("alerts").at("ignored").get<std::int64_t>() ==
        alerts);
  std::map<std::string, json> rows;
  for (const auto& row : report.at("events")) rows[row.at("kind")] = row;
  REQUIRE(rows.count("desaturation") == 1);
  CHECK(rows["desaturation"].at("events") == 2);  // p001 and p004
  REQUIRE(rows.count("tachycardia") == 1);
  CHECK(rows["tachycardia"].at("events") == 1);
  std::set<std::string> artifact_kinds;
  for (const auto& row : report.at("artifacts")) artifact_kinds.insert(row.at("kind"));
  CHECK(artifact_kinds.count("motion") == 1);
  CHECK(artifact_kinds.count("compression_low") == 1);

  // Detection on this day (docs/DETECTION.md has the full evaluation): every desaturation,
  // tachycardia, bradycardia and hypoglycaemia found, at most one false physiological alert
  // per patient-day.
  for (const auto* kind : {"desaturation", "tachycardia", "bradycardia", "hypoglycaemia_level1"}) {
    INFO(kind);
    REQUIRE(rows.count(kind) == 1);
    CHECK(rows[kind].at("detected") == rows[kind].at("events"));
  }
  CHECK(report.at("false_alerts").at("per_patient_day").get<double>() <= 1.0);
}

}  // namespace simulation_test
