// vitals-eval --episodes end to end on real CGM data: `vitals-sim replay` publishes the D1NAMO
// excerpt (tests/data/d1namo-001-excerpt.csv, person 001's first hypoglycaemia episode) through a
// real mosquitto into vitalsd; vitals-eval then scores vitalsd's alerts from its database against
// the episode, with the baselines replayed on the same trace. The whole cohort
// (../shared/data/cgm-d1namo) is scored by scripts/eval_d1namo.sh.

#include <chrono>
#include <fstream>
#include <string>
#include <thread>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "daemon_fixture.hpp"

using namespace std::chrono_literals;

TEST_CASE("vitals-eval --episodes scores vitalsd's alerts on a replayed CGM trace",
          "[integration][replay][eval]") {
  const std::string csv = std::string(VITALS_TEST_DATA_DIR) + "/d1namo-001-excerpt.csv";
  vitals::it::daemon_env env;
  // The excerpt's episodes, as listed for 001.csv in shared/data/cgm-d1namo/hypo_episodes.csv
  // (D1NAMO, Dubosson et al. 2018, CC BY-SA 4.0; see tests/data/README.md).
  const auto episodes = env.dir.path() / "hypo_episodes.csv";
  std::ofstream(episodes)
      << "dataset,file,level,threshold_mg_dl,start,end,duration_min,n_readings_below,"
         "nadir_mg_dl,gap_to_prev_min\n"
         "D1NAMO,001.csv,L1_lt70,70,2014-10-03 03:54:00,2014-10-03 10:14:01,385.0,77,39.6,\n"
         "D1NAMO,001.csv,L2_lt54,54,2014-10-03 04:29:00,2014-10-03 09:09:01,285.0,57,39.6,\n";

  auto daemon = env.start_daemon();
  vitals::test::child_process sim(
      {VITALS_SIM_PATH, "replay", "--csv", csv, "--patient", "d001", "--vital", "glucose",
       "--speed", "max", "--broker", env.broker.uri(), "--utc-offset", "+00:00"},
      env.dir.path() / "replay.log");
  const auto sim_code = sim.wait_for(120s);
  INFO(sim.log_text());
  REQUIRE(sim_code == 0);
  const bool stored = vitals::test::eventually(
      [&] { return env.count("SELECT count(*) FROM samples") >= 300; }, 30s);
  const auto code = vitals::it::terminate(*daemon);
  INFO(daemon->log_text());
  REQUIRE(stored);
  REQUIRE(code == 0);

  const auto report = env.dir.path() / "report.json";
  vitals::test::child_process eval(
      {VITALS_EVAL_PATH, "--episodes", episodes.string(), "--trace", csv, "--patient-map",
       "001.csv=d001", "--patient-map", "d1namo-001-excerpt.csv=d001", "--utc-offset", "+00:00",
       "--db", env.db.string(), "--baselines", "--json", "--out", report.string()},
      env.dir.path() / "eval.log");
  const auto eval_code = eval.wait_for(60s);
  INFO(eval.log_text());
  REQUIRE(eval_code == 0);
  std::ifstream in(report);
  const auto j = nlohmann::json::parse(in);
  INFO(j.dump(2));

  CHECK(j["episodes"]["level1"] == 1);
  CHECK(j["episodes"]["level2"] == 1);
  CHECK(j["traces"]["patients"] == nlohmann::json::array({"d001"}));
  // 2014-10-02 15:59 .. 2014-10-03 16:54: 24 h 55 min.
  CHECK(j["traces"]["patient_days"].get<double>() == Approx(1495.0 / 1440.0));
  CHECK(j["alerts"]["selected"].get<int>() >= 1);
  CHECK(j["alerts"]["ignored"] == 0);
  REQUIRE(j["detectors"].size() == 5);

  // vitalsd: glucose_urgent_low raises at the episode's first reading below 54 at the latest.
  const auto& v = j["detectors"][0];
  CHECK(v["id"] == "vitalsd");
  CHECK(v["caught"] == 1);
  REQUIRE(v["median_lead_min"].is_number());
  CHECK(v["median_lead_min"].get<double>() >= 0.0);

  // The baselines, replayed by vitals-eval on the trace: reading <= 55 at 04:24 (54.0), < 70 at
  // 03:54, AR2 at 03:39, linear at 03:59.
  const auto& d = j["detectors"];
  CHECK(d[1]["id"] == "threshold_55");
  CHECK(d[1]["median_lead_min"].get<double>() == Approx(5.0));
  CHECK(d[2]["median_lead_min"].get<double>() == Approx(35.0));
  CHECK(d[3]["median_lead_min"].get<double>() == Approx(50.0));
  CHECK(d[4]["median_lead_min"].get<double>() == Approx(30.0));
  for (int i = 1; i <= 4; ++i) CHECK(d[i]["false_alerts"] == 0);
}
