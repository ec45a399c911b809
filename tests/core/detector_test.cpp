#include <vitals/core/detector.hpp>

#include <catch2/catch.hpp>
#include <chrono>
#include <vector>

using namespace vitals::core;
using namespace std::chrono_literals;

// A namespace of its own: the sanitizer presets are unity builds (tests/README.md).
namespace detector_test {
namespace {

const timestamp t0{std::chrono::milliseconds(1'764'000'000'000)};

sample make(std::string_view patient, vital_kind kind, double value, std::chrono::milliseconds at) {
  sample s;
  s.patient = short_id::truncate(patient);
  s.device = short_id::truncate("dev-1");
  s.kind = kind;
  s.value = value;
  s.device_time = t0 + at;
  return s;
}

/// Feeds a 1 Hz trace and returns every transition.
std::vector<alert_event> feed(threshold_detector& d, std::string_view patient, vital_kind kind,
                              const std::vector<double>& values,
                              std::chrono::milliseconds step = 1s,
                              std::chrono::milliseconds start = 0ms) {
  std::vector<alert_event> out;
  for (std::size_t i = 0; i < values.size(); ++i) {
    d.observe(make(patient, kind, values[i], start + step * static_cast<int>(i)), out);
  }
  return out;
}

}  // namespace

TEST_CASE("a shallow SpO2 dip below 90 raises after 30 s and clears with hysteresis",
          "[detector]") {
  threshold_detector d({default_rules(), {}});
  std::vector<double> trace(30, 89.0);  // 0..29 s: 29 s below, area 29 %·s: not yet
  auto ev = feed(d, "p1", vital_kind::spo2, trace);
  CHECK(ev.empty());

  std::vector<alert_event> out;
  d.observe(make("p1", vital_kind::spo2, 89, 30s), out);  // 30 s after the first low reading
  REQUIRE(out.size() == 1);
  CHECK(out[0].rule == "spo2_low");
  CHECK(out[0].transition == alert_transition::raised);
  CHECK(out[0].value == 89);
  CHECK(out[0].threshold == 90);
  CHECK(out[0].condition_start == t0);
  CHECK(out[0].patient.view() == "p1");

  out.clear();
  d.observe(make("p1", vital_kind::spo2, 91, 31s), out);  // above 90 but below 90 + 2
  CHECK(out.empty());
  d.observe(make("p1", vital_kind::spo2, 92, 32s), out);
  REQUIRE(out.size() == 1);
  CHECK(out[0].transition == alert_transition::cleared);
  CHECK(out[0].rule == "spo2_low");
}

TEST_CASE("a deeper desaturation raises sooner (depth x duration)", "[detector]") {
  // 80 %: 10 points below the limit, 60 %·s reached 6 s after the first low reading.
  threshold_detector d({default_rules(), {}});
  auto ev = feed(d, "p1", vital_kind::spo2, std::vector<double>(10, 80.0));
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].time == t0 + 6s);
  CHECK(ev[0].message.find("depth x duration") != std::string::npos);
  // 85 %: 5 below, 12 s.
  ev = feed(d, "p2", vital_kind::spo2, std::vector<double>(20, 85.0));
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].time == t0 + 12s);
  // Switched off per patient: back to the plain 30 s.
  detector_settings settings{default_rules(), {}};
  settings.patients["p3"]["spo2_low"] = rule_override{.area_limit = 0.0};
  threshold_detector plain(settings);
  ev = feed(plain, "p3", vital_kind::spo2, std::vector<double>(40, 80.0));
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].time == t0 + 30s);
}

TEST_CASE("min_readings asks for N readings in a row beyond the limit", "[detector]") {
  // Two CGM readings below 70 (as users ask for against compression lows).
  detector_settings settings{default_rules(), {}};
  settings.patients["p1"]["glucose_low"] = rule_override{.min_readings = 2};
  threshold_detector d(settings);
  auto ev = feed(d, "p1", vital_kind::glucose, {90, 65, 90, 66, 64}, 5min);
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].rule == "glucose_low");
  CHECK(ev[0].value == 64);
  CHECK(ev[0].time == t0 + 20min);
  CHECK(ev[0].condition_start == t0 + 15min);
}

TEST_CASE("a short dip does not alert, and a recovery restarts the duration", "[detector]") {
  threshold_detector d({default_rules(), {}});
  std::vector<double> trace;
  for (int i = 0; i < 10; ++i) trace.push_back(85);  // 10 s low
  trace.push_back(95);                               // recovered
  for (int i = 0; i < 10; ++i) trace.push_back(85);  // another 10 s low
  CHECK(feed(d, "p1", vital_kind::spo2, trace).empty());
}

TEST_CASE("a data gap longer than max_gap restarts the duration", "[detector]") {
  threshold_detector d({default_rules(), {}});
  std::vector<alert_event> out;
  d.observe(make("p1", vital_kind::spo2, 85, 0s), out);
  d.observe(make("p1", vital_kind::spo2, 85, 10s), out);
  d.observe(make("p1", vital_kind::spo2, 85, 10s + 5min), out);  // long silence in between
  CHECK(out.empty());
  d.observe(make("p1", vital_kind::spo2, 85, 10s + 5min + 15s), out);
  CHECK(out.size() == 1);  // 15 s x 5 points = 75 %·s since the restart
}

TEST_CASE("glucose below 54 raises the urgent low at once, high priority", "[detector]") {
  threshold_detector d({default_rules(), {}});
  auto ev = feed(d, "p2", vital_kind::glucose, {100, 80, 68, 52}, 5min);
  REQUIRE(ev.size() == 2);
  CHECK(ev[0].rule == "glucose_low");
  CHECK(ev[0].value == 68);
  CHECK(ev[1].rule == "glucose_urgent_low");
  CHECK(ev[1].level == priority::high);
  CHECK(ev[1].value == 52);
}

TEST_CASE("heart rate rules: high and low with 10 s persistence", "[detector]") {
  threshold_detector d({default_rules(), {}});
  std::vector<double> tachy(11, 130);
  auto ev = feed(d, "p3", vital_kind::heart_rate, tachy);
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].rule == "hr_high");
  CHECK(ev[0].time == t0 + 10s);
  std::vector<double> brady(11, 45);
  ev = feed(d, "p3", vital_kind::heart_rate, brady, 1s, 20s);
  REQUIRE(ev.size() == 2);  // hr_high clears (45 <= 115), hr_low raises after 10 s
  CHECK(ev[0].rule == "hr_high");
  CHECK(ev[0].transition == alert_transition::cleared);
  CHECK(ev[1].rule == "hr_low");
  CHECK(ev[1].transition == alert_transition::raised);
}

TEST_CASE("an active alert is not raised twice while the condition holds", "[detector]") {
  threshold_detector d({default_rules(), {}});
  auto ev = feed(d, "p1", vital_kind::glucose, {60, 58, 57, 59, 61, 62}, 5min);
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].rule == "glucose_low");
}

TEST_CASE("per-patient overrides change limits for that patient only", "[detector]") {
  detector_settings settings{default_rules(), {}};
  settings.patients["copd-1"]["spo2_low"] = rule_override{.limit = 86.0};
  settings.patients["quiet-1"]["hr_high"] = rule_override{.enabled = false};
  threshold_detector d(settings);

  std::vector<double> at88(40, 88);
  CHECK(feed(d, "copd-1", vital_kind::spo2, at88).empty());
  CHECK(feed(d, "other", vital_kind::spo2, at88).size() == 1);

  std::vector<double> tachy(20, 140);
  CHECK(feed(d, "quiet-1", vital_kind::heart_rate, tachy).empty());
  CHECK(d.rules_for("copd-1")[2].limit == 86.0);
  CHECK(d.rules_for("nobody")[2].limit == 90.0);
}

TEST_CASE("patients are independent", "[detector]") {
  threshold_detector d({default_rules(), {}});
  std::vector<alert_event> out;
  for (int i = 0; i < 20; ++i) {
    d.observe(make("a", vital_kind::spo2, 85, std::chrono::seconds(i)), out);
    d.observe(make("b", vital_kind::spo2, 97, std::chrono::seconds(i)), out);
  }
  REQUIRE(out.size() == 1);
  CHECK(out[0].patient.view() == "a");
  CHECK(d.patient_count() == 2);
}

TEST_CASE("an alert still beyond its limit after a silence is raised anew", "[detector]") {
  // T1D-UOM 001: 46.8 mg/dL, then no reading for 20 minutes, then 41.4: the reader of the
  // first alert may have stopped watching; the low is raised again with the new reading.
  threshold_detector d(detector_settings{default_rules(), {}});
  std::vector<alert_event> out;
  const timestamp t0{std::chrono::milliseconds(1'764'000'000'000)};
  const auto feed = [&](double v, std::chrono::minutes at) {
    sample s;
    s.patient = short_id::truncate("p1");
    s.device = short_id::truncate("cgm");
    s.kind = vital_kind::glucose;
    s.value = v;
    s.device_time = t0 + at;
    d.observe(s, out);
  };
  feed(55.8, std::chrono::minutes(0));
  feed(46.8, std::chrono::minutes(5));
  feed(41.4, std::chrono::minutes(25));  // 20 min of silence (max_gap 15)
  feed(41.4, std::chrono::minutes(30));  // no silence: nothing new
  std::vector<std::string> urgent;
  for (const auto& e : out) {
    if (e.rule == "glucose_urgent_low") urgent.push_back(std::string(to_string(e.transition)));
  }
  CHECK(urgent == std::vector<std::string>{"raised", "cleared", "raised"});
  CHECK(out.back().rule == "glucose_urgent_low");
  CHECK(out.back().time == t0 + std::chrono::minutes(25));
}

}  // namespace detector_test

namespace detector_test {

TEST_CASE("a reload keeps excursions and alerts, applies new limits, ends withdrawn rules",
          "[detector][reload]") {
  threshold_detector d({default_rules(), {}});
  // p1: heart rate high and alerting; p2: an SpO2 dip in progress (20 s of 30).
  auto ev = feed(d, "p1", vital_kind::heart_rate, std::vector<double>(12, 130.0));
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].transition == alert_transition::raised);
  CHECK(feed(d, "p2", vital_kind::spo2, std::vector<double>(20, 89.5)).empty());

  SECTION("a changed limit: the alert stays, the dip goes on, the new limit decides") {
    auto rules = default_rules();
    for (auto& r : rules) {
      if (r.name == "hr_high") r.limit = 140.0;
    }
    std::vector<alert_event> out;
    d.reconfigure({rules, {}}, out);
    CHECK(out.empty());  // nothing is cleared by the reload itself
    // 130 is now below 140 - 5: the alert clears on the next reading, as a reading would.
    out = feed(d, "p1", vital_kind::heart_rate, {130.0}, 1s, 12s);
    REQUIRE(out.size() == 1);
    CHECK(out[0].transition == alert_transition::cleared);
    CHECK(out[0].rule == "hr_high");
    // The dip's 20 s were kept: 10 more seconds raise it (a fresh excursion would need 30).
    out = feed(d, "p2", vital_kind::spo2, std::vector<double>(11, 89.5), 1s, 20s);
    REQUIRE(out.size() == 1);
    CHECK(out[0].rule == "spo2_low");
    CHECK(out[0].condition_start == t0);
  }
  SECTION("a per-patient override that disables an active rule ends its alert") {
    detector_settings s{default_rules(), {}};
    s.patients["p1"]["hr_high"].enabled = false;
    std::vector<alert_event> out;
    d.reconfigure(s, out);
    REQUIRE(out.size() == 1);
    CHECK(out[0].transition == alert_transition::cleared);
    CHECK(out[0].rule == "hr_high");
    CHECK(out[0].patient.view() == "p1");
    CHECK(out[0].message.find("reload") != std::string::npos);
    // Disabled: no raise however long it lasts.
    CHECK(feed(d, "p1", vital_kind::heart_rate, std::vector<double>(30, 150.0), 1s, 12s).empty());
    // Another patient is untouched by p1's override.
    out = feed(d, "p3", vital_kind::heart_rate, std::vector<double>(12, 150.0));
    CHECK(out.size() == 1);
  }
  SECTION("a removed rule ends its alert too") {
    auto rules = default_rules();
    std::erase_if(rules, [](const threshold_rule& r) { return r.name == "hr_high"; });
    std::vector<alert_event> out;
    d.reconfigure({rules, {}}, out);
    REQUIRE(out.size() == 1);
    CHECK(out[0].rule == "hr_high");
    CHECK(out[0].transition == alert_transition::cleared);
  }
}

}  // namespace detector_test
