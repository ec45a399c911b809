#include <vitals/core/stale_monitor.hpp>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <vector>

using namespace vitals::core;
using namespace std::chrono_literals;

// A namespace of its own: the sanitizer presets are unity builds (tests/README.md).
namespace stale_monitor_test {
namespace {

const timestamp t0{std::chrono::milliseconds(1'764'000'000'000)};

sample reading(std::string_view device, vital_kind kind, timestamp received) {
  sample s;
  s.patient = short_id::truncate("p1");
  s.device = short_id::truncate(device);
  s.kind = kind;
  s.value = 100;
  s.device_time = received;
  s.receive_time = received;
  return s;
}

}  // namespace

TEST_CASE(
    "a silent CGM raises a warning at 15 min, an urgent alert at 30 min, and clears on "
    "a fresh reading",
    "[stale]") {
  stale_monitor m;
  std::vector<alert_event> out;
  m.on_fresh(reading("cgm", vital_kind::glucose, t0), out);
  m.tick(t0 + 15min, out);
  CHECK(out.empty());  // exactly at the limit: not yet
  m.tick(t0 + 15min + 1s, out);
  CHECK(out.empty());  // within the storm window: others of its source may follow
  m.tick(t0 + 15min + 6s, out);
  REQUIRE(out.size() == 1);
  CHECK(out[0].rule == "glucose_stale");
  CHECK(out[0].source == alert_source::technical);
  CHECK(out[0].level == priority::medium);
  CHECK(out[0].transition == alert_transition::raised);
  CHECK(out[0].condition_start == t0);
  CHECK(out[0].device.view() == "cgm");
  m.tick(t0 + 20min, out);
  CHECK(out.size() == 1);  // raised once
  m.tick(t0 + 31min, out);
  REQUIRE(out.size() == 2);
  CHECK(out[1].rule == "glucose_stale_urgent");
  CHECK(out[1].level == priority::high);

  out.clear();
  m.on_fresh(reading("cgm", vital_kind::glucose, t0 + 32min), out);
  REQUIRE(out.size() == 2);
  CHECK(out[0].transition == alert_transition::cleared);
  CHECK(out[1].transition == alert_transition::cleared);
  CHECK(out[0].value == Approx(32.0));  // minutes of silence
  out.clear();
  m.tick(t0 + 40min, out);
  CHECK(out.empty());
}

TEST_CASE("streams go stale independently, a zero limit switches a level off", "[stale]") {
  stale_settings settings;
  settings.limits[static_cast<std::size_t>(vital_kind::heart_rate)] = {1min, 0ms};
  stale_monitor m(settings);
  std::vector<alert_event> out;
  m.on_fresh(reading("ox", vital_kind::heart_rate, t0), out);
  m.on_fresh(reading("ox", vital_kind::spo2, t0), out);
  for (int i = 1; i <= 120; ++i) {
    m.on_fresh(reading("ox", vital_kind::spo2, t0 + std::chrono::seconds(i)), out);
    m.tick(t0 + std::chrono::seconds(i), out);
  }
  m.tick(t0 + 30min, out);
  std::vector<std::string> rules;
  for (const auto& e : out) rules.push_back(e.rule);
  // SpO2 kept coming; HR stopped and has no urgent level; SpO2 goes stale once it stops too.
  CHECK(rules == std::vector<std::string>{"hr_stale", "spo2_stale", "spo2_stale_urgent"});
  CHECK(m.stream_count() == 2);
}

TEST_CASE("a stream seen before a restart goes stale from its last reading", "[stale]") {
  stale_settings st;
  st.limits[static_cast<std::size_t>(vital_kind::heart_rate)] = {2min, 0ms};
  stale_monitor m(st);
  m.seed({short_id::truncate("p1"), short_id::truncate("hr-1"), vital_kind::heart_rate, t0});
  CHECK(m.stream_count() == 1);
  std::vector<alert_event> out;
  m.tick(t0 + 1min, out);
  CHECK(out.empty());
  m.tick(t0 + 3min, out);
  REQUIRE(out.size() == 1);
  CHECK(out[0].rule == "hr_stale");
  CHECK(out[0].patient.view() == "p1");
  // A stream watched already keeps what it knows.
  m.seed({short_id::truncate("p1"), short_id::truncate("hr-1"), vital_kind::heart_rate, t0 + 3min});
  out.clear();
  m.tick(t0 + 4min, out);
  CHECK(out.empty());  // still the same (warning already active), not re-seeded
  m.on_fresh(reading("hr-1", vital_kind::heart_rate, t0 + 5min), out);
  REQUIRE(out.size() == 1);
  CHECK(out[0].transition == alert_transition::cleared);
}

TEST_CASE("a whole source going silent is one source_silent alert, not one per device", "[stale]") {
  stale_settings st;
  st.limits[static_cast<std::size_t>(vital_kind::heart_rate)] = {2min, 0ms};
  st.storm_streams = 10;
  stale_monitor m(st);
  m.set_source_names({"mqtt", "ble"});
  std::vector<alert_event> out;
  for (int i = 0; i < 30; ++i) {
    auto s = reading("gw-dev-" + std::to_string(i), vital_kind::heart_rate, t0);
    s.source = 0;
    m.on_fresh(s, out);
  }
  for (int i = 0; i < 3; ++i) {
    auto s = reading("ble-dev-" + std::to_string(i), vital_kind::heart_rate, t0);
    s.source = 1;
    m.on_fresh(s, out);
  }
  REQUIRE(out.empty());
  m.tick(t0 + 3min, out);
  // 30 streams of "mqtt" at once: one alert for the source; 3 of "ble": one each.
  std::vector<std::string> rules;
  for (const auto& e : out) rules.push_back(e.rule + "@" + std::string(e.device.view()));
  std::sort(rules.begin(), rules.end());
  CHECK(rules == std::vector<std::string>{"hr_stale@ble-dev-0", "hr_stale@ble-dev-1",
                                          "hr_stale@ble-dev-2", "source_silent@mqtt"});
  const auto storm = std::find_if(out.begin(), out.end(),
                                  [](const alert_event& e) { return e.rule == "source_silent"; });
  CHECK(storm->patient.view() == "vitalsd");
  CHECK(storm->level == priority::high);
  CHECK(storm->value == 30);

  // Later ticks add nothing: the grouped streams stay quiet.
  out.clear();
  m.tick(t0 + 4min, out);
  CHECK(out.empty());

  // One device of the source speaks again: the source alert clears; the other 29 count their
  // silence afresh and, still silent after the limit, go stale together again: one alert.
  auto back = reading("gw-dev-0", vital_kind::heart_rate, t0 + 5min);
  back.source = 0;
  m.on_fresh(back, out);
  REQUIRE(out.size() == 1);
  CHECK(out[0].rule == "source_silent");
  CHECK(out[0].transition == alert_transition::cleared);
  out.clear();
  m.tick(t0 + 6min, out);
  CHECK(out.empty());
  m.tick(t0 + 7min + 1s, out);
  // All 30 (gw-dev-0 fell silent again too): one alert for the source.
  REQUIRE(out.size() == 1);
  CHECK(out[0].rule == "source_silent");
  CHECK(out[0].value == 30);
}

TEST_CASE("a storm whose streams cross their limits seconds apart is still one alert", "[stale]") {
  stale_settings st;
  st.limits[static_cast<std::size_t>(vital_kind::heart_rate)] = {2min, 0ms};
  st.storm_streams = 10;
  stale_monitor m(st);
  m.set_source_names({"mqtt"});
  std::vector<alert_event> out;
  // 30 devices whose last readings are 100 ms apart (a 1 Hz gateway's round, and a few more).
  for (int i = 0; i < 30; ++i) {
    auto s = reading("dev-" + std::to_string(i), vital_kind::heart_rate, t0 + i * 100ms);
    s.source = 0;
    m.on_fresh(s, out);
  }
  // Ticks every second: the first sees only a few past their limit, fewer than storm_streams.
  for (auto t = t0 + 2min; t < t0 + 2min + 10s; t += 1s) m.tick(t, out);
  REQUIRE(out.size() == 1);
  CHECK(out[0].rule == "source_silent");
}

TEST_CASE("a lone silent stream raises its own alert once the storm window has passed", "[stale]") {
  stale_settings st;
  st.limits[static_cast<std::size_t>(vital_kind::heart_rate)] = {2min, 0ms};
  stale_monitor m(st);  // storm_streams 10, storm_window 5 s
  std::vector<alert_event> out;
  m.on_fresh(reading("hr-1", vital_kind::heart_rate, t0), out);
  m.tick(t0 + 2min + 1s, out);
  CHECK(out.empty());  // waits: others of its source may be going silent with it
  m.tick(t0 + 2min + 6s, out);
  REQUIRE(out.size() == 1);
  CHECK(out[0].rule == "hr_stale");
}

TEST_CASE("storm grouping off: every silent stream raises its own alert", "[stale]") {
  stale_settings st;
  st.limits[static_cast<std::size_t>(vital_kind::heart_rate)] = {2min, 0ms};
  st.storm_streams = 0;
  stale_monitor m(st);
  std::vector<alert_event> out;
  for (int i = 0; i < 30; ++i)
    m.on_fresh(reading("d" + std::to_string(i), vital_kind::heart_rate, t0), out);
  m.tick(t0 + 3min, out);
  CHECK(out.size() == 30);
}

}  // namespace stale_monitor_test

namespace stale_monitor_test {

TEST_CASE("streams removed from the configuration end their stale alerts and stay quiet",
          "[stale]") {
  stale_settings st;
  st.limits[static_cast<std::size_t>(vital_kind::heart_rate)] = {30s, 0s};
  st.storm_streams = 0;
  stale_monitor m(st);
  std::vector<alert_event> out;
  m.on_fresh(reading("ox-1", vital_kind::heart_rate, t0), out);
  auto other = reading("ox-2", vital_kind::heart_rate, t0);
  other.patient = short_id::truncate("p2");
  m.on_fresh(other, out);
  m.tick(t0 + 31s, out);
  REQUIRE(out.size() == 2);  // both stale
  out.clear();

  m.forget_if([](const short_id&, const short_id& patient) { return patient.view() == "p2"; },
              t0 + 32s, out);
  REQUIRE(out.size() == 1);
  CHECK(out[0].transition == alert_transition::cleared);
  CHECK(out[0].patient.view() == "p2");
  CHECK_THAT(out[0].message, Catch::Contains("no longer watched"));
  CHECK(m.stream_count() == 1);
  out.clear();
  m.tick(t0 + 600s, out);
  CHECK(out.empty());  // p1 alerts already; p2 is gone
}

}  // namespace stale_monitor_test
