// Tests of vitals-eval --episodes: the episodes reader, the patient mapping, hypo alerts (merging,
// the causal replay of a condition), each baseline on a hand-made trace, the scoring rules of
// shared/data/README.md at their edges, the report, the command line, and the baselines on the
// D1NAMO traces against the README's table (when ../shared/data is there).

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <span>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <vitals/core/glucose_forecast.hpp>
#include <vitals/simulators/cgm_eval.hpp>
#include <vitals/simulators/eval.hpp>
#include <vitals/simulators/replay.hpp>

#include "eval_test_util.hpp"

namespace sim = vitals::simulators;
namespace core = vitals::core;
using Catch::Matchers::Contains;
using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;
using vitals::eval_test::read_file;
using vitals::eval_test::temp_dir;
using vitals::eval_test::write_file;

// A namespace of its own: the sanitizer presets are unity builds (tests/README.md).
namespace cgm_eval_test {
namespace {

// 2026-01-01T00:00:00Z.
const core::timestamp t0{milliseconds(1767225600000)};

core::timestamp at(int h, int m = 0, int s = 0) {
  return t0 + hours(h) + minutes(m) + seconds(s);
}

/// A trace of `values`, one every `step` from `start`.
sim::trace make_trace(const std::vector<double>& values, core::timestamp start = t0,
                      milliseconds step = minutes(5)) {
  sim::trace t;
  t.name = "hand.csv";
  for (std::size_t i = 0; i < values.size(); ++i) {
    t.rows.push_back({start + step * static_cast<int>(i), values[i], i + 2});
  }
  return t;
}

/// A flat trace from `from` to `to` (inclusive), one reading every 5 minutes.
sim::trace flat_trace(core::timestamp from, core::timestamp to) {
  sim::trace t;
  t.name = "flat.csv";
  for (auto ts = from; ts <= to; ts += minutes(5)) t.rows.push_back({ts, 120.0, 0});
  return t;
}

sim::hypo_episode episode(std::string patient, sim::hypo_level level, core::timestamp start,
                          core::timestamp end) {
  sim::hypo_episode e;
  e.file = patient + ".csv";
  e.patient = std::move(patient);
  e.level = level;
  e.threshold = level == sim::hypo_level::level1 ? 70.0 : 54.0;
  e.start = start;
  e.end = end;
  return e;
}

/// p1 traced for a day (level 1 10:00-11:00 around level 2 10:20-10:50), p2 for half a day.
sim::cgm_dataset handmade_dataset() {
  std::vector<sim::hypo_episode> episodes{
      episode("p1", sim::hypo_level::level1, at(10), at(11)),
      episode("p1", sim::hypo_level::level2, at(10, 20), at(10, 50)),
  };
  std::vector<sim::patient_trace> traces{{"p1", flat_trace(at(0), at(24))},
                                         {"p2", flat_trace(at(0), at(12))}};
  return sim::make_cgm_dataset("hand_episodes.csv", std::move(episodes), std::move(traces),
                               minutes(0));
}

sim::detector_score score_p1(std::vector<sim::hypo_alert> alerts,
                             const sim::cgm_eval_options& options = {}) {
  const sim::hypo_alerts by_patient{{"p1", std::move(alerts)}};
  return sim::score_hypo_alerts("test", "test", by_patient, handmade_dataset(), options);
}

/// Lead of p1's level-2 episode for one alert; nullopt when missed.
std::optional<double> lead_of(core::timestamp raised, std::optional<core::timestamp> cleared) {
  const auto s = score_p1({{raised, cleared}});
  REQUIRE(s.episodes.size() == 1);
  return s.episodes[0].lead_min;
}

std::size_t false_of(core::timestamp raised) {
  return score_p1({{raised, raised + minutes(5)}}).false_alerts;
}

const std::string d1namo_header =
    "dataset,file,level,threshold_mg_dl,start,end,duration_min,n_readings_below,nadir_mg_dl,"
    "gap_to_prev_min\n";

}  // namespace

TEST_CASE("episodes file: the D1NAMO format is read, times local, files mapped to patients") {
  const std::string text =
      d1namo_header +
      "D1NAMO,001.csv,L1_lt70,70,2014-10-03 03:54:00,2014-10-03 10:14:01,385.0,77,39.6,\n"
      "\n# a comment\n"
      "D1NAMO,001.csv,L2_lt54,54,2014-10-03 04:29:00,2014-10-03 09:09:01,285.0,57,39.6,\n"
      "D1NAMO,002.csv,L2_lt54,53.5,2014-10-01 19:42:01,2014-10-01 19:57:01,20.0,4,43.2,1.0\n";
  std::istringstream in(text);
  sim::patient_mapping mapping;
  const auto e = sim::read_episodes(in, "eps.csv", minutes(120), mapping);
  REQUIRE(e.size() == 3);
  CHECK(e[0].file == "001.csv");
  CHECK(e[0].patient == "001");
  CHECK(e[0].level == sim::hypo_level::level1);
  CHECK(e[0].threshold == 70.0);
  CHECK(e[0].line == 2);
  // 2014-10-03 03:54:00 at UTC+02:00 is 01:54:00Z.
  CHECK(e[0].start == sim::parse_trace_time("2014-10-03T01:54:00Z", minutes(0)));
  CHECK(e[0].end == sim::parse_trace_time("2014-10-03T08:14:01Z", minutes(0)));
  CHECK(e[1].level == sim::hypo_level::level2);
  CHECK(e[1].line == 5);
  CHECK(e[2].patient == "002");
  CHECK(e[2].threshold == 53.5);

  SECTION("a prefix, and explicit entries that win over it") {
    mapping.prefix = "d";
    mapping.by_file["002.csv"] = "anna";
    CHECK(mapping.patient_of("001.csv") == "d001");
    CHECK(mapping.patient_of("/data/cgm/002.csv") == "anna");
    CHECK(mapping.patient_of("noext") == "dnoext");
    std::istringstream again(text);
    const auto m = sim::read_episodes(again, "eps.csv", minutes(0), mapping);
    CHECK(m[0].patient == "d001");
    CHECK(m[2].patient == "anna");
  }
  SECTION("--patient-map entries") {
    const auto entry = sim::parse_patient_map_entry("/x/001.csv=d001");
    REQUIRE(entry);
    CHECK(entry->first == "001.csv");
    CHECK(entry->second == "d001");
    CHECK_FALSE(sim::parse_patient_map_entry("001.csv"));
    CHECK_FALSE(sim::parse_patient_map_entry("=d001"));
    CHECK_FALSE(sim::parse_patient_map_entry("001.csv="));
    CHECK_FALSE(sim::parse_patient_map_entry("001.csv=a b"));
  }
}

TEST_CASE("episodes file: a bad line is named with file and line") {
  const auto error_of = [](const std::string& body) {
    std::istringstream in(body);
    try {
      sim::read_episodes(in, "eps.csv", minutes(0), {});
    } catch (const sim::eval_input_error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const std::string good =
      "D1NAMO,001.csv,L2_lt54,54,2014-10-03 04:29:00,2014-10-03 09:09:01,285.0,57,39.6,\n";
  CHECK(error_of(d1namo_header + good + "D1NAMO,001.csv,L2_lt54,54,2014-10-03 04:29:00\n") ==
        "eps.csv:3: expected 10 fields as in the header, found 5");
  CHECK(error_of(d1namo_header +
                 "D1NAMO,001.csv,L3_lt40,40,2014-10-03 04:29:00,2014-10-03 09:09:01,1,1,1,\n") ==
        "eps.csv:2: column 'level': unknown level 'L3_lt40' (known: L1_lt70, L2_lt54)");
  CHECK_THAT(
      error_of(d1namo_header + "D1NAMO,001.csv,L2_lt54,54,yesterday,2014-10-03 09:09:01,1,1,1,\n"),
      Contains("eps.csv:2: column 'start': time 'yesterday' is not"));
  CHECK(error_of(d1namo_header +
                 "D1NAMO,001.csv,L2_lt54,54,2014-10-03 04:29:00,2014-10-03 04:00:00,1,1,1,\n") ==
        "eps.csv:2: column 'end': before the start");
  CHECK(error_of(d1namo_header +
                 "D1NAMO,001.csv,L2_lt54,low,2014-10-03 04:29:00,2014-10-03 09:09:01,1,1,1,\n") ==
        "eps.csv:2: column 'threshold_mg_dl': 'low' is not a positive number");
  CHECK(error_of(d1namo_header +
                 "D1NAMO,,L2_lt54,54,2014-10-03 04:29:00,2014-10-03 09:09:01,1,1,1,\n") ==
        "eps.csv:2: column 'file': empty");
  CHECK_THAT(error_of("dataset,file,level,start\n"),
             Contains("eps.csv:1: header: no column 'end'"));
  CHECK(error_of("") == "eps.csv: no header line (the file is empty)");
}

TEST_CASE("dataset: episodes without a trace or outside it are set aside, patient-days") {
  std::vector<sim::hypo_episode> episodes{
      episode("p1", sim::hypo_level::level2, at(10), at(10, 30)),
      episode("p1", sim::hypo_level::level2, at(23, 50), at(24, 10)),  // past the trace
      episode("p3", sim::hypo_level::level2, at(10), at(10, 30)),      // no trace
  };
  std::vector<sim::patient_trace> traces{{"p1", flat_trace(at(0), at(24))},
                                         {"p2", flat_trace(at(0), at(12))}};
  const auto data = sim::make_cgm_dataset("e.csv", episodes, traces, minutes(0));
  CHECK(data.episodes.size() == 1);
  CHECK(data.without_trace == 1);
  CHECK(data.outside_trace == 1);
  CHECK(sim::patient_days(data) == Approx(1.5));
  CHECK(sim::reading_interval(data.traces[0].data) == minutes(5));

  traces.push_back({"p1", flat_trace(at(0), at(1))});
  CHECK_THROWS_WITH(sim::make_cgm_dataset("e.csv", episodes, traces, minutes(0)),
                    Contains("are both of patient 'p1'"));
  CHECK_THROWS_AS(sim::make_cgm_dataset("e.csv", episodes, {}, minutes(0)), sim::eval_input_error);
}

TEST_CASE("scoring: caught and missed at the window's edges, active at the start") {
  // Level 2 10:20-10:50; the window opens 30 min before the start and closes at the end.
  CHECK(lead_of(at(9, 50), at(9, 55)) == Approx(30.0));
  CHECK_FALSE(lead_of(at(9, 49, 59), at(9, 55)));
  CHECK(lead_of(at(10, 50), at(10, 55)) == Approx(-30.0));
  CHECK_FALSE(lead_of(at(10, 50, 1), at(10, 55)));
  // Raised before the window and still active at the start (cleared after it, or never).
  CHECK(lead_of(at(9), std::nullopt) == Approx(80.0));
  CHECK(lead_of(at(9), at(10, 21)) == Approx(80.0));
  CHECK_FALSE(lead_of(at(9), at(10, 20)));  // cleared at the start: not active at it
  // The earliest qualifying alert gives the lead.
  const auto two = score_p1({{at(10, 0), at(10, 5)}, {at(10, 30), at(10, 40)}});
  CHECK(two.caught == 1);
  CHECK(two.alerts == 2);
  CHECK(*two.episodes[0].lead_min == Approx(20.0));
  CHECK(*two.median_lead_min == Approx(20.0));
  CHECK(*two.min_lead_min == Approx(20.0));
  // Nothing: missed, no lead figures.
  const auto none = score_p1({});
  CHECK(none.level2 == 1);
  CHECK(none.caught == 0);
  CHECK_FALSE(none.median_lead_min);
  CHECK_FALSE(none.min_lead_min);
  // A wider --lead.
  sim::cgm_eval_options wide;
  wide.lead = minutes(60);
  CHECK(score_p1({{at(9, 30), at(9, 35)}}, wide).caught == 1);
}

TEST_CASE("scoring: false alerts start outside every level-1 episode widened by 30 min") {
  // Level 1 10:00-11:00: alerts starting in [09:30, 11:30] are not false.
  CHECK(false_of(at(9, 30)) == 0);
  CHECK(false_of(at(9, 29)) == 1);
  CHECK(false_of(at(11, 30)) == 0);
  CHECK(false_of(at(11, 31)) == 1);
  // A level-2 window does not excuse by itself: only level-1 windows count.
  sim::cgm_eval_options narrow;
  narrow.margin = minutes(0);
  CHECK(score_p1({{at(9, 59), at(10, 5)}}, narrow).false_alerts == 1);
  // Rates per patient-day: p1 one day + p2 half a day.
  const auto s = score_p1({{at(3), at(3, 5)}, {at(10, 10), at(10, 30)}, {at(15), at(15, 5)}});
  CHECK(s.alerts == 3);
  CHECK(s.false_alerts == 2);
  CHECK(s.alerts_per_patient_day == Approx(3.0 / 1.5));
  CHECK(s.false_per_patient_day == Approx(2.0 / 1.5));
}

TEST_CASE("hypo alerts merge: re-arm after 15 min clear, overlapping rules, data gaps") {
  const auto t = flat_trace(at(0), at(24));
  const sim::cgm_eval_options options;
  using ha = sim::hypo_alert;
  // Raised less than 15 min after the previous one cleared: the same hypo alert.
  CHECK(sim::merge_hypo_alerts({{at(13), at(13, 10)}, {at(13, 24), at(13, 30)}}, t, options) ==
        std::vector<ha>{{at(13), at(13, 30)}});
  // 15 min or more: a new one.
  CHECK(sim::merge_hypo_alerts({{at(13), at(13, 10)}, {at(13, 25), at(13, 30)}}, t, options) ==
        std::vector<ha>{{at(13), at(13, 10)}, {at(13, 25), at(13, 30)}});
  // Overlapping alerts of two rules (urgent low soon, then urgent low), in any order: one.
  CHECK(sim::merge_hypo_alerts({{at(10, 20), at(10, 50)}, {at(10), at(10, 25)}}, t, options) ==
        std::vector<ha>{{at(10), at(10, 50)}});
  // One still active swallows the later ones.
  CHECK(sim::merge_hypo_alerts({{at(10), std::nullopt}, {at(12), at(12, 5)}}, t, options) ==
        std::vector<ha>{{at(10), std::nullopt}});
  // --rearm 0: only overlapping alerts merge.
  sim::cgm_eval_options no_rearm;
  no_rearm.rearm = milliseconds(0);
  CHECK(sim::merge_hypo_alerts({{at(13), at(13, 10)}, {at(13, 11), at(13, 30)}}, t, no_rearm)
            .size() == 2);

  // A gap of 13 min (> 2.5 x 5 min) between 11:55 and 12:08.
  auto gap = flat_trace(at(0), at(11, 55));
  for (auto ts = at(12, 8); ts <= at(23, 58); ts += minutes(5)) gap.rows.push_back({ts, 120, 0});
  CHECK(sim::reading_interval(gap) == minutes(5));
  // Raised 13 min after the clear, but across the gap: re-armed, a new alert.
  CHECK(sim::merge_hypo_alerts({{at(11, 50), at(11, 55)}, {at(12, 8), at(12, 20)}}, gap, options) ==
        std::vector<ha>{{at(11, 50), at(11, 55)}, {at(12, 8), at(12, 20)}});
  // Active across the gap: ends at the last reading + 12.5 min.
  CHECK(sim::merge_hypo_alerts({{at(11, 50), std::nullopt}}, gap, options) ==
        std::vector<ha>{{at(11, 50), at(12, 7, 30)}});
  CHECK(
      sim::merge_hypo_alerts({{at(11, 50), at(12, 20)}, {at(12, 13), at(12, 30)}}, gap, options) ==
      std::vector<ha>{{at(11, 50), at(12, 7, 30)}, {at(12, 13), at(12, 30)}});
}

TEST_CASE("replaying a condition: starts, clear runs, re-arm, unknown readings, gaps") {
  // 1 = alerting, 0 = clear, 2 = cannot tell.
  const sim::hypo_condition by_value = [](std::span<const sim::trace_row> seen,
                                          const sim::condition_context&) -> std::optional<bool> {
    const double v = seen.back().value;
    if (v == 2.0) return std::nullopt;
    return v == 1.0;
  };
  const sim::cgm_eval_options options;
  using ha = sim::hypo_alert;
  // 00:00 unknown; 00:05 starts; 00:10 clear; 00:20 alerting again within 15 min: the same
  // alert; 00:25 clear; 00:30 unknown; 00:40 15 min after 00:25: re-armed (cleared 00:25);
  // 00:45 a new alert, open at the end.
  const auto t = make_trace({2, 1, 0, 0, 1, 0, 2, 0, 0, 1, 2, 2});
  CHECK(sim::replay_condition(t, by_value, options) ==
        std::vector<ha>{{at(0, 5), at(0, 25)}, {at(0, 45), std::nullopt}});
  // A run of clear readings that the trace's end interrupts: cleared at its first reading.
  CHECK(sim::replay_condition(make_trace({1, 0, 0}), by_value, options) ==
        std::vector<ha>{{at(0), at(0, 5)}});
  // Only unknown readings after the start: still active.
  CHECK(sim::replay_condition(make_trace({1, 2, 2, 2, 2, 2}), by_value, options) ==
        std::vector<ha>{{at(0), std::nullopt}});
  // A gap of 15 min (> 12.5) ends the alert at the last reading + 12.5 min; a new one after it.
  auto gap = make_trace({1, 1, 1, 1});
  gap.rows.push_back({at(0, 30), 1, 0});
  CHECK(sim::replay_condition(gap, by_value, options) ==
        std::vector<ha>{{at(0), at(0, 27, 30)}, {at(0, 30), std::nullopt}});
}

TEST_CASE("baselines on hand-made traces") {
  const sim::cgm_eval_options options;
  using ha = sim::hypo_alert;
  const auto run = [&](sim::baseline b, const sim::trace& t) {
    return sim::replay_condition(t, sim::baseline_condition(b), options);
  };

  SECTION("reading <= 55 and reading < 70") {
    // 00:10 55 starts; 00:20 clear; 00:30 54 within 15 min: same; 00:35 clear; 00:50 re-armed
    // (cleared 00:35); 00:55 55 starts again.
    const auto t = make_trace({100, 60, 55, 50, 56, 60, 54, 60, 60, 60, 60, 55});
    CHECK(run(sim::baseline::threshold_55, t) ==
          std::vector<ha>{{at(0, 10), at(0, 35)}, {at(0, 55), std::nullopt}});
    CHECK(run(sim::baseline::threshold_70, t) == std::vector<ha>{{at(0, 5), std::nullopt}});
    CHECK(sim::baseline_id(sim::baseline::threshold_55) == "threshold_55");
    CHECK(sim::baseline_name(sim::baseline::threshold_55) == "reading <= 55");
  }
  SECTION("AR2: core's predictive-low rule on readings one interval apart, not across two") {
    std::vector<double> values;
    for (double v = 150; v >= 60; v -= 6) values.push_back(v);
    std::size_t first = 0;
    for (std::size_t i = 1; i < values.size() && first == 0; ++i) {
      if (core::ar2_predictive_low(values[i - 1], values[i])) first = i;
    }
    REQUIRE(first > 1);
    REQUIRE(first + 1 < values.size());
    REQUIRE(core::ar2_predictive_low(values[first], values[first + 1]));
    const auto regular = make_trace(values);
    CHECK(run(sim::baseline::ar2, regular) ==
          std::vector<ha>{{regular.rows[first].ts, std::nullopt}});
    // The reading that first alerts comes 10 minutes (two intervals) after the previous one: not
    // evaluated; the next one (5 minutes later) alerts.
    auto irregular = regular;
    for (std::size_t i = first; i < irregular.rows.size(); ++i) irregular.rows[i].ts += minutes(5);
    CHECK(run(sim::baseline::ar2, irregular) ==
          std::vector<ha>{{irregular.rows[first + 1].ts, std::nullopt}});
    const sim::condition_context five_min{minutes(5), seconds(750)};
    CHECK(sim::baseline_condition(sim::baseline::ar2)(std::span(regular.rows).first(1), five_min) ==
          std::nullopt);
  }
  SECTION("AR2 on a 15-minute sensor: one step is one reading interval") {
    std::vector<double> values;
    for (double v = 150; v >= 60; v -= 15) values.push_back(v);
    std::size_t first = 0;
    for (std::size_t i = 1; i < values.size() && first == 0; ++i) {
      if (core::ar2_predictive_low(values[i - 1], values[i])) first = i;
    }
    REQUIRE(first > 0);
    const auto t15 = make_trace(values, t0, minutes(15));
    CHECK(run(sim::baseline::ar2, t15) == std::vector<ha>{{t15.rows[first].ts, std::nullopt}});
  }
  SECTION("linear: the last 3 readings' slope at +20 min <= 55, none across a gap") {
    // -4 mg/dL per 5 min: 72 extrapolates to 56, 68 to 52 (reading 8, 00:40).
    std::vector<double> values;
    for (int k = 0; k <= 12; ++k) values.push_back(100.0 - 4.0 * k);
    const auto regular = make_trace(values);
    CHECK(run(sim::baseline::linear, regular) == std::vector<ha>{{at(0, 40), std::nullopt}});
    // Fewer than 3 readings: cannot tell.
    const sim::condition_context five_min{minutes(5), seconds(750)};
    CHECK(sim::baseline_condition(sim::baseline::linear)(std::span(regular.rows).first(2),
                                                         five_min) == std::nullopt);
    // A 15-min gap before reading 7: readings 7 and 8 have it among their last three.
    auto gap = regular;
    for (std::size_t i = 7; i < gap.rows.size(); ++i) gap.rows[i].ts += minutes(10);
    CHECK(run(sim::baseline::linear, gap) == std::vector<ha>{{gap.rows[9].ts, std::nullopt}});
    // Extrapolated from the last reading with the slope (last - first) / their time apart, not
    // a least-squares line: 100, 150, 80 (5 min apart) is -2 mg/dL/min, 80 - 40 = 40 at +20 min
    // (the least-squares line through them gives 60).
    CHECK(run(sim::baseline::linear, make_trace({100, 150, 80})) ==
          std::vector<ha>{{at(0, 10), std::nullopt}});
    // A reading <= 55 is "at 55 within 20 minutes" even while rising, with any history.
    CHECK(run(sim::baseline::linear, make_trace({50, 52})) ==
          std::vector<ha>{{at(0, 0), std::nullopt}});
  }
  SECTION("run_baseline: every trace of the dataset") {
    auto data = handmade_dataset();
    data.traces[1].data = make_trace({100, 60, 50, 50});
    const auto alerts = sim::run_baseline(sim::baseline::threshold_55, data, options);
    REQUIRE(alerts.size() == 2);
    CHECK(alerts.at("p1").empty());
    CHECK(alerts.at("p2") == std::vector<ha>{{at(0, 10), std::nullopt}});
  }
}

TEST_CASE("alerts to score: rules, vital, source, patient and time filter") {
  const auto data = handmade_dataset();
  const auto alert = [](std::string patient, std::string rule, core::timestamp raised,
                        core::vital_kind vital = core::vital_kind::glucose,
                        core::alert_source source = core::alert_source::physiological) {
    sim::eval_alert a;
    a.patient = std::move(patient);
    a.rule = std::move(rule);
    a.vital = vital;
    a.source = source;
    a.raised = raised;
    a.cleared = raised + minutes(5);
    return a;
  };
  const std::vector<sim::eval_alert> alerts{
      alert("p1", "glucose_urgent_low", at(10, 20)),
      alert("p1", "glucose_urgent_low_soon", at(10, 5)),
      alert("p1", "glucose_low", at(10)),
      alert("p1", "glucose_urgent_low", at(10), core::vital_kind::heart_rate),
      alert("p1", "glucose_urgent_low", at(10), core::vital_kind::glucose,
            core::alert_source::technical),
      alert("p9", "glucose_urgent_low", at(10)),
      alert("p2", "glucose_urgent_low", at(13)),  // p2's trace ends at 12:00
  };
  const sim::cgm_eval_options options;
  const auto s = sim::select_alerts(alerts, data, options);
  CHECK(s.read == 7);
  CHECK(s.selected == 2);
  CHECK(s.other_rules == 3);
  CHECK(s.ignored == 2);
  REQUIRE(s.alerts.count("p1") == 1);
  CHECK(s.alerts.at("p1").size() == 2);

  SECTION("the report: vitalsd's row, then the baselines; table and JSON") {
    const auto r = sim::evaluate_cgm(data, &alerts, "x.db", true, options);
    REQUIRE(r.detectors.size() == 5);
    CHECK(r.detectors[0].id == "vitalsd");
    CHECK(r.detectors[0].caught == 1);
    CHECK(*r.detectors[0].median_lead_min == Approx(15.0));  // urgent low soon at 10:05
    CHECK(r.detectors[0].alerts == 1);                       // the two rules merged
    CHECK(r.merged_alerts == 1);
    CHECK(r.detectors[1].id == "threshold_55");
    CHECK(r.detectors[4].id == "linear");
    CHECK(r.level1 == 1);
    CHECK(r.level2 == 1);
    CHECK(r.patient_days == Approx(1.5));
    const auto table = sim::format_table(r);
    CHECK_THAT(table, Contains("x.db: 7 read, 2 of the rules"));
    CHECK_THAT(table, Contains("  p1       2026-01-01 10:20  2026-01-01 10:50"));
    CHECK_THAT(table, Contains("goal: "));
    const auto j = nlohmann::json::parse(sim::to_json(r));
    CHECK(j["traces"]["patient_days"].get<double>() == Approx(1.5));
    CHECK(j["detectors"][0]["median_lead_min"].get<double>() == Approx(15.0));
    CHECK(j["detectors"][1]["median_lead_min"].is_null());  // flat traces: nothing caught
    CHECK(j["alerts"]["other_rules"] == 3);
    CHECK(j["options"]["rules"].size() == 2);

    // --rules glucose_low: the level-1 rule alone.
    sim::cgm_eval_options low = options;
    low.rules = {"glucose_low"};
    const auto l = sim::evaluate_cgm(data, &alerts, "x.db", false, low);
    REQUIRE(l.detectors.size() == 1);
    CHECK(*l.detectors[0].median_lead_min == Approx(20.0));
  }
}

#ifdef VITALS_EVAL_PATH
TEST_CASE("vitals-eval --episodes command line") {
  using vitals::eval_test::run_eval;
  temp_dir dir;
  const auto episodes = dir.file("hypo_episodes.csv");
  const auto trace = dir.file("001.csv");
  const auto alerts = dir.file("alerts.jsonl");
  const auto out = dir.file("out");
  const auto err = dir.file("err.txt");
  // Local times at UTC+01:00, readings every 5 min from 08:00: below 70 08:30-09:10 (level 1),
  // below 54 08:45-09:00 (level 2).
  write_file(episodes, d1namo_header +
                           "D1NAMO,001.csv,L1_lt70,70,2014-10-03 08:30:00,2014-10-03 "
                           "09:10:00,45.0,9,50,\n"
                           "D1NAMO,001.csv,L2_lt54,54,2014-10-03 08:45:00,2014-10-03 "
                           "09:00:00,20.0,4,50,\n");
  std::string csv = "timestamp,glucose_value_mg_dl\n";
  const double values[] = {120, 110, 100, 90, 80, 70, 66, 62, 58, 53, 50,
                           50,  52,  60,  68, 75, 80, 85, 90, 95, 100};
  for (int i = 0; i < 21; ++i) {
    char line[64];
    std::snprintf(line, sizeof line, "2014-10-03 %02d:%02d:00,%g\n", 8 + i * 5 / 60, i * 5 % 60,
                  values[i]);
    csv += line;
  }
  write_file(trace, csv);
  // vitalsd's alert, as JSONL: 08:45 local = 07:45Z, cleared 09:05 local.
  write_file(alerts, R"({"patient":"d001","rule":"glucose_urgent_low","vital":"glucose",)"
                     R"("raised":1412322300000,"cleared":1412323500000})"
                     "\n");
  const std::string common = "--episodes '" + episodes + "' --trace '" + trace +
                             "' --utc-offset +01:00 --patient-prefix d";

  SECTION("JSON report with vitalsd's row and the baselines") {
    REQUIRE(run_eval(common + " --alerts '" + alerts + "' --baselines --json --out '" + out + "'",
                     err) == 0);
    const auto j = nlohmann::json::parse(read_file(out));
    CHECK(j["episodes"]["level2"] == 1);
    CHECK(j["traces"]["patients"][0] == "d001");
    REQUIRE(j["detectors"].size() == 5);
    CHECK(j["detectors"][0]["id"] == "vitalsd");
    CHECK(j["detectors"][0]["caught"] == 1);
    CHECK(j["detectors"][0]["median_lead_min"].get<double>() == Approx(0.0));
    CHECK(j["detectors"][0]["false_alerts"] == 0);
    CHECK(j["detectors"][1]["median_lead_min"].get<double>() == Approx(0.0));   // <= 55 at 53
    CHECK(j["detectors"][2]["median_lead_min"].get<double>() == Approx(15.0));  // < 70 at 66
  }
  SECTION("table, baselines only") {
    REQUIRE(run_eval(common + " --baselines --out '" + out + "'", err) == 0);
    CHECK_THAT(read_file(out), Contains("AR2 predictive low"));
    CHECK_THAT(read_file(out), Contains("1/1"));
  }
  SECTION("mistakes exit 2 and say what is wrong") {
    write_file(dir.file("bad.csv"), d1namo_header + "D1NAMO,001.csv,L9,54,x,y,1,1,1,\n");
    CHECK(run_eval("--episodes '" + dir.file("bad.csv") + "' --trace '" + trace + "' --baselines",
                   err) == 2);
    CHECK_THAT(read_file(err), Contains(dir.file("bad.csv") + ":2: column 'level'"));
    CHECK(run_eval("--episodes '" + episodes + "' --baselines", err) == 2);  // no --trace
    CHECK(run_eval(common, err) == 2);                                       // nothing to score
    CHECK(run_eval(common + " --baselines --grace 5m", err) == 2);
    CHECK_THAT(read_file(err), Contains("--grace"));
    CHECK(run_eval("--labels x --alerts '" + alerts + "' --trace '" + trace + "'", err) == 2);
    CHECK(run_eval("--episodes '" + episodes + "' --labels x --trace '" + trace + "'", err) == 2);
    CHECK(run_eval(common + " --baselines --patient-map 001.csv", err) == 2);
    CHECK(run_eval(common + " --baselines --utc-offset 1h", err) == 2);
    write_file(dir.file("002.csv"), "timestamp,glucose\n2014-10-03 08:00:00,x\n");
    CHECK(run_eval(common + " --baselines --trace '" + dir.file("002.csv") + "'", err) == 2);
    CHECK_THAT(read_file(err), Contains(dir.file("002.csv") + ":2: value 'x' is not a number"));
    CHECK(run_eval(common + " --baselines --trace '" + dir.file("nope.csv") + "'", err) == 1);
  }
}
#endif

#ifdef VITALS_SHARED_DATA_DIR
TEST_CASE("baselines on the D1NAMO traces reproduce shared/data/README.md's table") {
  const std::filesystem::path dir = std::filesystem::path(VITALS_SHARED_DATA_DIR) / "cgm-d1namo";
  if (!std::filesystem::exists(dir / "hypo_episodes.csv")) {
    WARN("no " << dir.string() << ": skipped");
    return;
  }
  const sim::patient_mapping mapping;
  auto episodes =
      sim::read_episodes_file((dir / "hypo_episodes.csv").string(), minutes(0), mapping);
  std::vector<sim::patient_trace> traces;
  for (int i = 1; i <= 9; ++i) {
    const auto name = "00" + std::to_string(i) + ".csv";
    traces.push_back(
        {mapping.patient_of(name),
         sim::read_trace_file((dir / name).string(), core::vital_kind::glucose, minutes(0))});
  }
  const auto data = sim::make_cgm_dataset("hypo_episodes.csv", std::move(episodes),
                                          std::move(traces), minutes(0));
  const auto r = sim::evaluate_cgm(data, nullptr, "", true, {});
  CHECK(r.level2 == 14);
  CHECK(r.level1 == 33);
  CHECK(r.without_trace + r.outside_trace == 0);
  CHECK(r.patient_days == Approx(29.04).margin(0.005));
  REQUIRE(r.detectors.size() == 4);
  struct expected {
    const char* id;
    double median_lead, false_per_day, all_per_day;
    std::size_t false_alerts, alerts;
  };
  // The README rounds the medians 22.5 and 17.5 half to even (22, 18).
  const expected rows[] = {{"threshold_55", 0.0, 0.00, 0.62, 0, 18},
                           {"threshold_70", 15.0, 0.07, 1.21, 2, 35},
                           {"ar2", 22.5, 0.45, 1.58, 13, 46},
                           {"linear", 17.5, 0.10, 1.21, 3, 35}};
  for (std::size_t i = 0; i < 4; ++i) {
    const auto& d = r.detectors[i];
    INFO(d.name);
    CHECK(d.id == rows[i].id);
    CHECK(d.caught == 14);
    CHECK(*d.median_lead_min == Approx(rows[i].median_lead));
    CHECK(d.false_alerts == rows[i].false_alerts);
    CHECK(d.alerts == rows[i].alerts);
    CHECK(d.false_per_patient_day == Approx(rows[i].false_per_day).margin(0.005));
    CHECK(d.alerts_per_patient_day == Approx(rows[i].all_per_day).margin(0.005));
  }
}
#endif

}  // namespace cgm_eval_test
