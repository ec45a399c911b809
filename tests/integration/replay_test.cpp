// A recorded CGM trace end to end: `vitals-sim replay` publishes 300 rows of D1NAMO person 001
// (tests/data/d1namo-001-excerpt.csv, with their first hypoglycaemia episode) at full speed
// through a real mosquitto into vitalsd; every row must be stored once, with its value and its
// own time, and the episode must raise glucose_low.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "daemon_fixture.hpp"

using namespace std::chrono_literals;

// A namespace of its own: the sanitizer presets are unity builds (tests/README.md).
namespace replay_test {
namespace {

/// "2014-10-02 15:59:00,176.4" -> "2014-10-02T15:59:00.000Z,176.4" (the CSV is local time,
/// replayed with --utc-offset +00:00), as sample_view shows it.
std::vector<std::string> expected_rows(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> rows;
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const auto comma = line.find(',');
    std::string time = line.substr(0, comma);
    time[10] = 'T';
    rows.push_back(time + ".000Z," + line.substr(comma + 1));
  }
  return rows;
}

}  // namespace

TEST_CASE("a recorded CGM trace replayed through mosquitto into vitalsd", "[integration][replay]") {
  // A path, not a string concatenation: GCC 12 warns falsely (-Warray-bounds) on the latter.
  const std::string csv =
      (std::filesystem::path(VITALS_TEST_DATA_DIR) / "d1namo-001-excerpt.csv").string();
  const auto expected = expected_rows(csv);
  REQUIRE(expected.size() == 300);

  vitals::it::daemon_env env;
  auto daemon = env.start_daemon();

  vitals::test::child_process sim(
      {VITALS_SIM_PATH, "replay", "--csv", csv, "--patient", "d001", "--vital", "glucose",
       "--speed", "max", "--broker", env.broker.uri(), "--utc-offset", "+00:00"},
      env.dir.path() / "replay.log");
  const auto sim_code = sim.wait_for(120s);
  INFO(sim.log_text());
  REQUIRE(sim_code == 0);
  CHECK(sim.log_text().find("done: 300/300 rows in 300 messages") != std::string::npos);
  CHECK(sim.log_text().find("d001") == std::string::npos);  // no patient id at info

  const bool stored = vitals::test::eventually(
      [&] { return env.count("SELECT count(*) FROM samples") >= 300; }, 30s);
  std::this_thread::sleep_for(500ms);  // anything beyond 300 would be a duplicate
  const auto code = vitals::it::terminate(*daemon);
  INFO(daemon->log_text());
  REQUIRE(stored);
  REQUIRE(code == 0);

  CHECK(env.count("SELECT count(*) FROM samples") == 300);
  const auto rows = vitals::it::query_strings(
      env.db,
      "SELECT time || ',' || printf('%.1f', value) FROM sample_view WHERE patient = 'd001' AND "
      "device = 'd001-cgm' AND vital = 'glucose' ORDER BY time");
  REQUIRE(rows.size() == expected.size());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    INFO("row " << i + 1);
    CHECK(rows[i] == expected[i]);
  }

  // The episode (77 readings below 70 from 03:54:00 to 10:14:01, nadir at the 39.6 floor) raises
  // glucose_low at its first reading, and glucose_urgent_low on the way down, which escalates
  // that same alert (one group) to high priority.
  const auto low = vitals::it::query_strings(
      env.db,
      "SELECT raised FROM alert_view WHERE patient = 'd001' AND rule = 'glucose_low' ORDER BY "
      "raised");
  REQUIRE_FALSE(low.empty());
  CHECK(low.front() == "2014-10-03T03:54:00.000Z");
  CHECK(env.count("SELECT count(*) FROM alert_view WHERE patient = 'd001' AND rule = "
                  "'glucose_low' AND peak_priority = 'high' AND raised >= '2014-10-03T03:54:00' "
                  "AND raised <= '2014-10-03T10:14:01'") >= 1);
  CHECK(env.count("SELECT count(*) FROM alert_events e JOIN alerts a ON a.id = e.alert_id "
                  "WHERE e.action = 'escalated' AND a.current_rule = 'glucose_urgent_low' OR "
                  "(e.action = 'escalated' AND e.reason LIKE '%glucose_urgent_low%')") >= 1);
}

TEST_CASE("a trace with bad lines is refused, nothing published", "[integration][replay]") {
  vitals::test::temp_dir dir{"vitals-replay"};
  const auto csv = dir.path() / "bad.csv";
  {
    std::ofstream out(csv);
    out << "timestamp,glucose\n2014-10-03 03:54:00,68.4\n2014-10-03 03:59:00,x\n"
        << "2014-10-03 03:49:00,70\n";
  }
  vitals::test::child_process sim(
      {VITALS_SIM_PATH, "replay", "--csv", csv.string(), "--patient", "d001", "--dry-run"},
      dir.path() / "replay.log");
  const auto code = sim.wait_for(30s);
  INFO(sim.log_text());
  CHECK(code == 2);
  CHECK(sim.log_text().find(csv.string() + ":3: value 'x' is not a number") != std::string::npos);
  CHECK(sim.log_text().find(csv.string() + ":4: time 2014-10-03T03:49:00.000Z is before") !=
        std::string::npos);
  CHECK(sim.log_text().find("vitals/d001") == std::string::npos);
}

}  // namespace replay_test
