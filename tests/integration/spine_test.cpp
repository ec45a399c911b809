// The spine end to end: vitals-sim publishes three simulated patients through a real mosquitto
// into vitalsd; the SQLite file holds every published sample exactly once, the scripted
// desaturation and hypoglycaemia as alerts of the right patient and rule, and nothing for the
// patient whose vitals stay normal.

#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <tuple>

#include "daemon_fixture.hpp"

using namespace std::chrono_literals;
using json = nlohmann::json;

// A namespace of its own: the sanitizer presets are unity builds (tests/README.md).
namespace spine_test {
namespace {

/// (device, vital, device time) of every reading in `vitals-sim --dry-run` output.
std::set<std::tuple<std::string, std::string, std::int64_t>> readings_in(const std::string& text) {
  std::set<std::tuple<std::string, std::string, std::int64_t>> out;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("vitals/", 0) != 0) continue;  // stderr (logs) shares the file
    const auto payload = json::parse(line.substr(line.find(' ') + 1));
    for (const char* vital : {"hr", "spo2", "glucose"}) {
      if (payload.contains(vital)) {
        out.emplace(payload["device"].get<std::string>(), vital, payload["ts"].get<std::int64_t>());
      }
    }
  }
  return out;
}

}  // namespace

TEST_CASE("simulated patients through mosquitto into vitalsd: stored once, alerts right",
          "[integration][spine]") {
  vitals::it::daemon_env env;
  auto daemon = env.start_daemon();

  // A fixed start makes the dry run and the real run produce the same messages.
  const auto start = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count() -
                     4 * 3'600'000;
  const std::vector<std::string> common = {
      "--patients",          "3",          "--seed", "11",      "--start",
      std::to_string(start), "--duration", "3h",     "--speed", "max"};
  auto sim_args = [&](std::vector<std::string> extra) {
    std::vector<std::string> args{VITALS_SIM_PATH};
    args.insert(args.end(), common.begin(), common.end());
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  };

  vitals::test::child_process dry(sim_args({"--dry-run", "--log-level", "warn"}),
                                  env.dir.path() / "dry-run.txt");
  REQUIRE(dry.wait_for(60s) == 0);
  const auto expected = readings_in(dry.log_text());
  std::map<std::string, std::int64_t> expected_per_device;
  for (const auto& [device, vital, ts] : expected) ++expected_per_device[device];
  REQUIRE(expected.size() > 10'000);

  const auto labels = env.dir.path() / "labels.jsonl";
  vitals::test::child_process sim(sim_args({"--broker", env.broker.uri(), "--duplicate-every", "25",
                                            "--labels", labels.string()}),
                                  env.dir.path() / "sim.log");
  const auto sim_code = sim.wait_for(120s);
  INFO(sim.log_text());
  REQUIRE(sim_code == 0);

  const auto want = static_cast<std::int64_t>(expected.size());
  CHECK(vitals::test::eventually([&] { return env.count("SELECT count(*) FROM samples") == want; },
                                 60s));
  const auto code = vitals::it::terminate(*daemon);
  INFO(daemon->log_text());
  REQUIRE(code == 0);

  // Every published reading stored exactly once (samples has a primary key on device, vital and
  // device time, so equal counts per device mean none missing and none twice).
  CHECK(env.count("SELECT count(*) FROM samples") == want);
  for (const auto& [device, n] : expected_per_device) {
    INFO(device);
    CHECK(env.count("SELECT count(*) FROM sample_view WHERE device = '" + device + "'") == n);
  }
  CHECK(daemon->log_text().find("duplicates=0 ") == std::string::npos);  // some were re-sent

  // The scripted events, as the labels file describes them.
  std::map<std::string, json> events;
  std::ifstream in(labels);
  for (std::string line; std::getline(in, line);) {
    auto j = json::parse(line);
    if (j["type"] == "event")
      events[j["patient"].get<std::string>() + "/" + j["kind"].get<std::string>()] = j;
  }
  REQUIRE(events.count("p001/desaturation") == 1);
  REQUIRE(events.count("p002/hypoglycaemia_level1") == 1);
  CHECK(events["p002/hypoglycaemia_level1"]["cause"] == "insulin_overdose");

  auto raised_in_window = [&](const std::string& patient, const std::string& rule,
                              const json& event) {
    const auto start_ms = event["start"].get<std::int64_t>();
    const auto end_ms = event["end"].get<std::int64_t>();
    return env.count(
        "SELECT count(*) FROM alerts a JOIN patients p ON p.id = a.patient_id "
        "WHERE p.key = '" +
        patient + "' AND a.rule = '" + rule + "' AND a.raised_at BETWEEN " +
        std::to_string(start_ms) + " AND " + std::to_string(end_ms) + "");
  };
  CHECK(raised_in_window("p001", "spo2_low", events["p001/desaturation"]) == 1);
  CHECK(raised_in_window("p002", "glucose_low", events["p002/hypoglycaemia_level1"]) >= 1);
  if (events.count("p002/hypoglycaemia_level2") == 1) {
    CHECK(raised_in_window("p002", "glucose_urgent_low", events["p002/hypoglycaemia_level2"]) >= 1);
  }

  // Nothing else: no alert for the patient without events, none of the wrong kind for the
  // others.
  CHECK(env.count("SELECT count(*) FROM alert_view WHERE patient = 'p003'") == 0);
  CHECK(env.count(
            "SELECT count(*) FROM alert_view WHERE patient = 'p001' AND rule <> 'spo2_low'") == 0);
  CHECK(env.count("SELECT count(*) FROM alert_view WHERE patient = 'p002' AND rule NOT LIKE "
                  "'glucose%'") == 0);
}

}  // namespace spine_test
