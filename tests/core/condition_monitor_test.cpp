#include <vitals/core/condition_monitor.hpp>

#include <chrono>
#include <vector>

#include <catch2/catch.hpp>

using namespace vitals::core;
using namespace std::chrono_literals;

// A namespace of its own: the sanitizer presets are unity builds (tests/README.md).
namespace condition_monitor_test {
namespace {

const timestamp t0{std::chrono::milliseconds(1'700'000'000'000)};

sample reading(std::uint16_t conditions, timestamp at, double value = 72,
               vital_kind kind = vital_kind::heart_rate) {
  sample s;
  s.patient = *short_id::make("p1");
  s.device = *short_id::make("ox-1");
  s.kind = kind;
  s.value = value;
  s.device_time = at;
  s.receive_time = at;
  s.conditions = conditions;
  return s;
}

sample report(std::uint16_t conditions, timestamp at) {
  auto s = reading(conditions, at, 0);
  s.quality = quality_no_value;
  return s;
}

sample link(std::uint16_t conditions, timestamp at) {
  auto s = report(conditions, at);
  s.quality |= quality_link_state;
  return s;
}

}  // namespace

TEST_CASE("sensor off alerts only after its delay and clears with the next clean reading",
          "[conditions]") {
  condition_monitor m;  // sensor_off: medium after 10 s
  std::vector<alert_event> out;
  for (int i = 0; i < 10; ++i) m.observe(report(condition_sensor_off, t0 + i * 1s), out);
  CHECK(out.empty());  // 0..9 s: a probe re-seated within seconds pages nobody
  m.observe(report(condition_sensor_off, t0 + 10s), out);
  REQUIRE(out.size() == 1);
  CHECK(out[0].rule == "sensor_off");
  CHECK(out[0].source == alert_source::technical);
  CHECK(out[0].level == priority::medium);
  CHECK(out[0].transition == alert_transition::raised);
  CHECK(out[0].condition_start == t0);
  CHECK(out[0].device.view() == "ox-1");
  out.clear();
  m.observe(report(condition_sensor_off, t0 + 11s), out);
  CHECK(out.empty());  // raised once
  m.observe(reading(condition_none, t0 + 12s), out);
  REQUIRE(out.size() == 1);
  CHECK(out[0].rule == "sensor_off");
  CHECK(out[0].transition == alert_transition::cleared);
  CHECK(m.active_devices() == 0);
}

TEST_CASE("a short probe-off blip raises nothing and leaves no state", "[conditions]") {
  condition_monitor m;
  std::vector<alert_event> out;
  m.observe(report(condition_sensor_off, t0), out);
  m.observe(report(condition_sensor_off, t0 + 3s), out);
  m.observe(reading(condition_none, t0 + 4s), out);
  m.tick(t0 + 60s, out);
  CHECK(out.empty());
  CHECK(m.active_devices() == 0);
}

TEST_CASE("tick raises a held condition without further reports", "[conditions]") {
  condition_monitor m;
  std::vector<alert_event> out;
  m.observe(link(condition_disconnected, t0), out);
  m.tick(t0 + 29s, out);
  CHECK(out.empty());
  m.tick(t0 + 30s, out);
  REQUIRE(out.size() == 1);
  CHECK(out[0].rule == "device_disconnected");
  out.clear();
  m.tick(t0 + 31s, out);
  CHECK(out.empty());
  // Reconnected: a connection-state report with no conditions ends it.
  m.observe(link(condition_none, t0 + 40s), out);
  REQUIRE(out.size() == 1);
  CHECK(out[0].transition == alert_transition::cleared);
  CHECK(out[0].rule == "device_disconnected");
}

TEST_CASE(
    "any reading of the device ends its link conditions, link reports leave reading "
    "conditions alone",
    "[conditions]") {
  condition_settings cfg;
  for (auto& r : cfg.rules) r.delay = 0s;
  condition_monitor m(cfg);
  std::vector<alert_event> out;
  m.observe(reading(condition_battery_low, t0), out);
  REQUIRE(out.size() == 1);
  CHECK(out[0].rule == "device_battery_low");
  CHECK(out[0].level == priority::low);
  out.clear();
  m.observe(link(condition_gateway_offline, t0 + 1s), out);
  REQUIRE(out.size() == 1);
  CHECK(out[0].rule == "gateway_offline");
  out.clear();
  m.observe(link(condition_none, t0 + 2s), out);  // gateway back: battery still low
  REQUIRE(out.size() == 1);
  CHECK(out[0].rule == "gateway_offline");
  CHECK(out[0].transition == alert_transition::cleared);
  out.clear();
  m.observe(link(condition_disconnected, t0 + 3s), out);
  out.clear();
  m.observe(reading(condition_battery_low, t0 + 4s), out);  // data flows: link is up
  REQUIRE(out.size() == 1);
  CHECK(out[0].rule == "device_disconnected");
  CHECK(out[0].transition == alert_transition::cleared);
}

TEST_CASE("several conditions at once alert separately, no_reading never alerts on its own",
          "[conditions]") {
  condition_settings cfg;
  for (auto& r : cfg.rules) r.delay = 0s;
  condition_monitor m(cfg);
  std::vector<alert_event> out;
  m.observe(report(condition_sensor_fault | condition_no_reading | condition_session_stopped, t0),
            out);
  REQUIRE(out.size() == 2);
  CHECK(out[0].rule == "sensor_fault");
  CHECK(out[1].rule == "sensor_session_stopped");
  out.clear();
  m.observe(reading(condition_session_stopped, t0 + 1s), out);
  REQUIRE(out.size() == 1);
  CHECK(out[0].rule == "sensor_fault");
  CHECK(out[0].transition == alert_transition::cleared);
}

TEST_CASE("an older (backfilled) record says nothing about the device now", "[conditions]") {
  condition_settings cfg;
  for (auto& r : cfg.rules) r.delay = 0s;
  condition_monitor m(cfg);
  std::vector<alert_event> out;
  m.observe(reading(condition_sensor_off, t0 + 10s), out);
  REQUIRE(out.size() == 1);
  out.clear();
  auto old = reading(condition_none, t0);
  old.receive_time = t0 + 11s;
  m.observe(old, out);
  CHECK(out.empty());
  CHECK(m.active_devices() == 1);
}

TEST_CASE("condition rule names", "[conditions]") {
  CHECK(condition_rule_name(condition_sensor_off) == "sensor_off");
  CHECK(condition_rule_name(condition_gateway_offline) == "gateway_offline");
  CHECK(condition_rule_name(static_cast<device_condition>(3)).empty());
  CHECK(condition_rule_name(condition_none).empty());
}

TEST_CASE("reading conditions also count device time: a fast replay of a probe off alerts",
          "[conditions]") {
  condition_monitor m;  // sensor_off after 10 s, signal_poor after 30 s, links after 30 s
  std::vector<alert_event> out;
  // A backlog (or a replay) delivers 15 s of probe-off frames within 15 ms of receive time.
  const auto replayed = [](std::uint16_t c, timestamp device_at, timestamp received) {
    auto s = report(c, device_at);
    s.receive_time = received;
    return s;
  };
  for (int i = 0; i < 10; ++i)
    m.observe(replayed(condition_sensor_off, t0 + i * 1s, t0 + i * 1ms), out);
  CHECK(out.empty());  // 9 s of device time: not yet
  m.observe(replayed(condition_sensor_off, t0 + 10s, t0 + 10ms), out);
  REQUIRE(out.size() == 1);
  CHECK(out[0].rule == "sensor_off");
  CHECK(out[0].transition == alert_transition::raised);
  CHECK(out[0].value == Approx(10.0));  // held 10 s (of device time), not 10 ms
  out.clear();
  auto clean = reading(condition_none, t0 + 11s);
  clean.receive_time = t0 + 11ms;
  m.observe(clean, out);
  REQUIRE(out.size() == 1);
  CHECK(out[0].transition == alert_transition::cleared);
  CHECK(out[0].value == Approx(11.0));
  out.clear();

  // A blip shorter than the delay in both clocks still raises nothing.
  m.observe(replayed(condition_sensor_off, t0 + 20s, t0 + 20ms), out);
  m.observe(replayed(condition_sensor_off, t0 + 25s, t0 + 25ms), out);
  auto back = reading(condition_none, t0 + 26s);
  back.receive_time = t0 + 26ms;
  m.observe(back, out);
  CHECK(out.empty());

  // Link reports carry no device time of their own: they are timed in receive time only.
  auto down = link(condition_disconnected, t0 + 100s);
  down.receive_time = t0 + 100ms;
  m.observe(down, out);
  auto still_down = link(condition_disconnected, t0 + 200s);
  still_down.receive_time = t0 + 101ms;
  m.observe(still_down, out);
  CHECK(out.empty());
  m.tick(t0 + 100ms + 30s, out);
  REQUIRE(out.size() == 1);
  CHECK(out[0].rule == "device_disconnected");
}

}  // namespace condition_monitor_test
