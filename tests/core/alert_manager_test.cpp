#include <vitals/core/alert_manager.hpp>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <vector>

using namespace vitals::core;
using namespace std::chrono_literals;

// A namespace of its own: the sanitizer presets are unity builds (tests/README.md).
namespace alert_manager_test {
namespace {

// 2025-11-24 16:00:00 UTC.
const timestamp t0{std::chrono::milliseconds(1'764'000'000'000)};

// A simulated wall clock; device time follows it in these tests unless set apart.
struct fake_clock {
  timestamp now = t0;
  timestamp advance(std::chrono::milliseconds d) { return now += d; }
};

alert_event raise(std::string rule, priority level, timestamp time, double value = 50.0,
                  double threshold = 55.0) {
  alert_event e;
  e.patient = short_id::truncate("p1");
  e.device = short_id::truncate("cgm");
  e.rule = std::move(rule);
  e.kind = vital_kind::glucose;
  e.level = level;
  e.source = alert_source::physiological;
  e.transition = alert_transition::raised;
  e.value = value;
  e.threshold = threshold;
  e.condition_start = time;
  e.time = time;
  e.message = e.rule + " below limit";
  return e;
}

alert_event clear(alert_event e, timestamp time, double value = 60.0) {
  e.transition = alert_transition::cleared;
  e.value = value;
  e.time = time;
  e.message = e.rule + " back in range";
  return e;
}

route ward_route() {
  route r;
  r.name = "ward";
  r.steps = {{0s, {"nurse", "nurse2"}}, {5min, {"charge"}}, {15min, {"oncall", "nurse"}}};
  return r;
}

alert_manager_settings ward_settings() {
  alert_manager_settings s;
  s.routes = {ward_route()};
  return s;
}

std::size_t count_notifications(const alert_changes& out, notify_action a) {
  return static_cast<std::size_t>(std::count_if(out.notifications.begin(), out.notifications.end(),
                                                [a](const auto& n) { return n.action == a; }));
}

std::size_t count_events(const alert_changes& out, alert_action a) {
  return static_cast<std::size_t>(std::count_if(out.events.begin(), out.events.end(),
                                                [a](const auto& e) { return e.action == a; }));
}

std::vector<std::string> receivers(const alert_changes& out) {
  std::vector<std::string> r;
  for (const auto& n : out.notifications) r.push_back(n.receiver);
  return r;
}

void check_audit(const alert_changes& out) {
  for (const auto& e : out.events) {
    INFO("event " << e.id << " " << to_string(e.action));
    CHECK_FALSE(e.actor.empty());
    CHECK_FALSE(e.reason.empty());
    CHECK(e.alert_id != 0);
  }
}

const actor_info alice{"alice", "at the bedside"};

}  // namespace

TEST_CASE("a raise opens an active alert, audits it and pages step 0", "[alert_manager]") {
  alert_manager m(ward_settings());
  alert_changes out;
  m.on_event(raise("glucose_low", priority::medium, t0), t0, out);
  REQUIRE(out.alerts.size() == 1);
  const auto& a = out.alerts[0];
  CHECK(a.id == 1);
  CHECK(a.state == alert_state::active);
  CHECK(a.condition_present);
  CHECK(a.group == "glucose_low");
  CHECK(a.route == "ward");
  CHECK(a.step == 0);
  CHECK(a.next_step_at == t0 + 5min);
  CHECK(a.holding == std::vector<std::string>{"glucose_low"});
  REQUIRE(out.events.size() == 1);
  CHECK(out.events[0].action == alert_action::raised);
  CHECK(out.events[0].actor == "detector");
  CHECK(out.events[0].data_time == t0);
  CHECK(receivers(out) == std::vector<std::string>{"nurse", "nurse2"});
  for (const auto& n : out.notifications) {
    CHECK(n.action == notify_action::trigger);
    CHECK(n.step == 0);
    CHECK(n.event.id == out.events[0].id);
    CHECK(n.alert.step == 0);
    CHECK(n.idempotency_key() == "vitalsd-1-1");
  }
  CHECK(m.counts()[0][1] == 1);
  check_audit(out);

  SECTION("a duplicate raise of the same rule adds nothing") {
    out.clear();
    m.on_event(raise("glucose_low", priority::medium, t0 + 1min, 45), t0 + 1min, out);
    CHECK(out.events.empty());
    CHECK(out.notifications.empty());
    CHECK(m.open_alerts().size() == 1);
    CHECK(m.find(1)->peak_value == Approx(45));  // lower is worse for a low
    CHECK(m.find(1)->last_value == Approx(45));
  }
}

TEST_CASE("a more severe member of the group escalates the one alert, and de-escalates on clear",
          "[alert_manager]") {
  alert_manager m(ward_settings());
  alert_changes out;
  const auto low = raise("glucose_low", priority::medium, t0, 62, 70);
  m.on_event(low, t0, out);
  const auto urgent = raise("glucose_urgent_low", priority::high, t0 + 2min, 50, 54);
  m.on_event(urgent, t0 + 2min, out);
  REQUIRE(m.open_alerts().size() == 1);
  const auto* a = m.find(1);
  CHECK(a->level == priority::high);
  CHECK(a->peak_level == priority::high);
  CHECK(a->current_rule == "glucose_urgent_low");
  CHECK(a->holding.size() == 2);
  CHECK(count_events(out, alert_action::escalated) == 1);
  CHECK(count_notifications(out, notify_action::escalate) == 2);  // step 0 told of the rise
  CHECK(out.alerts.size() == 1);                                  // one row per alert touched

  out.clear();
  m.on_event(clear(urgent, t0 + 10min, 58), t0 + 10min, out);
  CHECK(a->level == priority::medium);
  CHECK(a->current_rule == "glucose_low");
  CHECK(a->condition_present);
  CHECK(a->peak_level == priority::high);
  REQUIRE(out.events.size() == 1);
  CHECK(out.events[0].action == alert_action::deescalated);
  check_audit(out);
}

TEST_CASE("an acknowledged alert whose priority rises is active again and pages",
          "[alert_manager]") {
  alert_manager m(ward_settings());
  alert_changes out;
  m.on_event(raise("glucose_low", priority::medium, t0), t0, out);
  REQUIRE(m.acknowledge(1, alice, t0 + 1min, out).ok());
  CHECK(m.find(1)->state == alert_state::acknowledged);
  out.clear();
  m.on_event(raise("glucose_urgent_low", priority::high, t0 + 3min), t0 + 3min, out);
  const auto* a = m.find(1);
  CHECK(a->state == alert_state::active);
  CHECK(a->level == priority::high);
  CHECK(count_notifications(out, notify_action::escalate) == 2);
  CHECK(a->next_step_at == t0 + 3min + 5min);  // the chain restarts from now
  CHECK(m.counts()[0][2] == 1);
}

TEST_CASE("a cleared condition resolves after the flap window, telling those paged",
          "[alert_manager]") {
  fake_clock clock;
  alert_manager m(ward_settings());
  alert_changes out;
  const auto e = raise("glucose_low", priority::medium, clock.now);
  m.on_event(e, clock.now, out);
  out.clear();
  m.on_event(clear(e, clock.advance(1min)), clock.now, out);
  REQUIRE(out.events.size() == 1);
  CHECK(out.events[0].action == alert_action::condition_cleared);
  CHECK(m.find(1)->state == alert_state::active);
  CHECK_FALSE(m.find(1)->condition_present);
  CHECK(m.next_due() == clock.now + 2min);

  out.clear();
  m.tick(clock.now + 2min - 1ms, out);
  CHECK(out.empty());
  m.tick(clock.advance(2min), out);
  REQUIRE(out.alerts.size() == 1);
  CHECK(out.alerts[0].state == alert_state::resolved);
  CHECK(out.alerts[0].resolved_by == "system");
  CHECK(out.alerts[0].resolved_at == clock.now);
  CHECK(count_events(out, alert_action::resolved) == 1);
  CHECK(receivers(out) == std::vector<std::string>{"nurse", "nurse2"});
  CHECK(count_notifications(out, notify_action::resolve) == 2);
  CHECK(m.find(1) == nullptr);  // resolved alerts leave memory
  CHECK(m.open_alerts().empty());
  CHECK(m.next_due() == std::nullopt);
  check_audit(out);
}

TEST_CASE("flapping within the window is one alert paged once, after the window a new one",
          "[alert_manager]") {
  fake_clock clock;
  alert_manager m(ward_settings());
  alert_changes out;
  const auto e = raise("glucose_low", priority::medium, clock.now);
  m.on_event(e, clock.now, out);
  for (int i = 0; i < 10; ++i) {
    m.on_event(clear(e, clock.advance(30s)), clock.now, out);
    m.tick(clock.now, out);
    m.on_event(raise("glucose_low", priority::medium, clock.advance(30s)), clock.now, out);
    m.tick(clock.now, out);
  }
  REQUIRE(m.open_alerts().size() == 1);
  CHECK(m.find(1)->flaps == 10);
  CHECK(count_events(out, alert_action::retriggered) == 10);
  CHECK(count_notifications(out, notify_action::trigger) == 2);  // one set: nurse, nurse2
  CHECK(out.alerts.size() == 1);
  check_audit(out);

  SECTION("a return after the window is a new alert") {
    out.clear();
    m.on_event(clear(e, clock.advance(10s)), clock.now, out);
    // The resolving tick was missed (e.g. busy loop); the raise resolves the old one itself.
    m.on_event(raise("glucose_low", priority::medium, clock.advance(3min)), clock.now, out);
    REQUIRE(m.open_alerts().size() == 1);
    CHECK(m.open_alerts()[0]->id == 2);
    CHECK(m.open_alerts()[0]->flaps == 0);
    REQUIRE(out.alerts.size() == 2);
    CHECK(out.alerts[0].state == alert_state::resolved);
    CHECK(count_notifications(out, notify_action::resolve) == 3);  // step 1 came at 5 min
    CHECK(count_notifications(out, notify_action::trigger) == 2);
  }
}

TEST_CASE("an unacknowledged high alert latches, frees its key, and ack resolves it",
          "[alert_manager]") {
  fake_clock clock;
  alert_manager m(ward_settings());
  alert_changes out;
  const auto e = raise("spo2_low", priority::high, clock.now, 85, 88);
  m.on_event(e, clock.now, out);
  out.clear();
  m.on_event(clear(e, clock.advance(1min), 95), clock.now, out);
  CHECK(m.find(1)->state == alert_state::latched);
  CHECK(count_events(out, alert_action::condition_cleared) == 1);
  CHECK(count_events(out, alert_action::latched) == 1);
  m.tick(clock.advance(20min), out);  // no flap resolution; the chain runs on: nobody saw it
  REQUIRE(m.find(1) != nullptr);
  CHECK(m.find(1)->state == alert_state::latched);
  CHECK(m.counts()[2][2] == 1);

  SECTION("a return within the flap window takes the latched alert back") {
    alert_manager m2(ward_settings());
    alert_changes o2;
    m2.on_event(e, t0, o2);
    m2.on_event(clear(e, t0 + 1min), t0 + 1min, o2);
    m2.on_event(raise("spo2_low", priority::high, t0 + 2min, 85, 88), t0 + 2min, o2);
    REQUIRE(m2.open_alerts().size() == 1);
    CHECK(m2.find(1)->state == alert_state::active);
    CHECK(m2.find(1)->flaps == 1);
  }

  out.clear();
  m.on_event(raise("spo2_low", priority::high, clock.advance(1min), 84, 88), clock.now, out);
  REQUIRE(m.open_alerts().size() == 2);
  CHECK(m.find(2)->state == alert_state::active);
  CHECK(m.find(1)->state == alert_state::latched);

  SECTION("resolve by hand is allowed for the latched one, refused for the holding one") {
    out.clear();
    CHECK(m.resolve(1, alice, clock.now, out).ok());
    CHECK(m.find(1) == nullptr);
    const auto r = m.resolve(2, alice, clock.now, out);
    CHECK(r.code == command_result::status::conflict);
    CHECK(r.message.find("still holds") != std::string::npos);
    CHECK(m.find(2)->state == alert_state::active);
  }

  SECTION("acknowledging the latched alert resolves it") {
    out.clear();
    REQUIRE(m.acknowledge(1, alice, clock.now, out).ok());
    CHECK(m.find(1) == nullptr);
    REQUIRE(out.alerts.size() == 1);
    CHECK(out.alerts[0].state == alert_state::resolved);
    CHECK(out.alerts[0].acknowledged_by == "alice");
    CHECK(out.alerts[0].resolved_by == "alice");
    REQUIRE(out.events.size() == 2);
    CHECK(out.events[0].action == alert_action::acknowledged);
    CHECK(out.events[1].action == alert_action::resolved);
    // Steps 0..2 were reached while latched; nurse is in two steps but told once.
    CHECK(count_notifications(out, notify_action::resolve) == 4);
    CHECK(m.acknowledge(1, alice, clock.now, out).code == command_result::status::not_found);
    check_audit(out);
  }
}

TEST_CASE("escalation steps fire at their times measured from the first page", "[alert_manager]") {
  fake_clock clock;
  alert_manager m(ward_settings());
  alert_changes out;
  m.on_event(raise("glucose_low", priority::medium, clock.now), clock.now, out);
  out.clear();
  m.tick(t0 + 4min + 59s, out);
  CHECK(out.empty());
  m.tick(t0 + 5min, out);
  REQUIRE(out.notifications.size() == 1);
  CHECK(out.notifications[0].receiver == "charge");
  CHECK(out.notifications[0].action == notify_action::escalate);
  CHECK(out.notifications[0].step == 1);
  REQUIRE(out.events.size() == 1);
  CHECK(out.events[0].action == alert_action::notified);
  CHECK(out.events[0].reason == "escalation step 1: charge");
  CHECK(m.find(1)->next_step_at == t0 + 15min);
  CHECK(m.next_due() == t0 + 15min);
  out.clear();
  m.tick(t0 + 14min + 59s, out);
  CHECK(out.empty());
  m.tick(t0 + 15min, out);
  CHECK(receivers(out) == std::vector<std::string>{"oncall", "nurse"});
  CHECK(m.find(1)->step == 2);
  CHECK_FALSE(m.find(1)->next_step_at);
  out.clear();
  m.tick(t0 + 5h, out);
  CHECK(out.empty());
  CHECK(m.next_due() == std::nullopt);
}

TEST_CASE("acknowledging stops escalation and tells only those paged", "[alert_manager]") {
  fake_clock clock;
  alert_manager m(ward_settings());
  alert_changes out;
  m.on_event(raise("glucose_low", priority::medium, clock.now), clock.now, out);
  m.tick(clock.advance(6min), out);  // charge paged
  out.clear();
  REQUIRE(m.acknowledge(1, alice, clock.advance(1min), out).ok());
  CHECK(receivers(out) == std::vector<std::string>{"nurse", "nurse2", "charge"});
  CHECK(count_notifications(out, notify_action::acknowledge) == 3);
  REQUIRE(out.events.size() == 1);
  CHECK(out.events[0].actor == "alice");
  CHECK(out.events[0].reason == "at the bedside");
  const auto* a = m.find(1);
  CHECK(a->acknowledged_by == "alice");
  CHECK(a->acknowledged_at == clock.now);
  CHECK_FALSE(a->next_step_at);
  out.clear();
  for (int i = 0; i < 24; ++i) m.tick(clock.advance(5min), out);
  CHECK(out.notifications.empty());

  const auto twice = m.acknowledge(1, alice, clock.now, out);
  CHECK(twice.code == command_result::status::conflict);
  CHECK(twice.message == "alert 1 is already acknowledged");
  CHECK(m.acknowledge(99, alice, clock.now, out).code == command_result::status::not_found);
  CHECK(m.acknowledge(1, {"", "why"}, clock.now, out).code == command_result::status::invalid);
}

TEST_CASE("unacknowledged alerts are reminded every repeat interval", "[alert_manager]") {
  auto s = ward_settings();
  s.routes[0].steps = {{0s, {"nurse"}}};
  s.routes[0].repeat_interval = 10min;
  fake_clock clock;
  alert_manager m(s);
  alert_changes out;
  m.on_event(raise("glucose_low", priority::medium, clock.now), clock.now, out);
  out.clear();
  m.tick(t0 + 9min, out);
  CHECK(out.empty());
  m.tick(t0 + 10min, out);
  REQUIRE(out.notifications.size() == 1);
  CHECK(out.notifications[0].action == notify_action::repeat);
  CHECK(out.events[0].reason == "reminder: nurse");
  m.tick(t0 + 20min, out);
  CHECK(count_notifications(out, notify_action::repeat) == 2);
  CHECK(m.find(1)->next_repeat_at == t0 + 30min);
  REQUIRE(m.acknowledge(1, alice, t0 + 21min, out).ok());
  out.clear();
  m.tick(t0 + 2h, out);
  CHECK(out.notifications.empty());
}

TEST_CASE("snoozes silence paging until they end", "[alert_manager]") {
  fake_clock clock;
  alert_manager m(ward_settings());
  alert_changes out;
  m.on_event(raise("glucose_low", priority::medium, clock.now), clock.now, out);

  SECTION("bounds") {
    const auto too_long = m.snooze_alert(1, 3h, alice, clock.now, out);
    CHECK(too_long.code == command_result::status::invalid);
    CHECK(too_long.message.find("120 min") != std::string::npos);
    CHECK(m.snooze_alert(1, 0s, alice, clock.now, out).code == command_result::status::invalid);
    CHECK(m.snooze_alert(1, 2h, alice, clock.now, out).ok());
    CHECK(m.snooze_alert(7, 1h, alice, clock.now, out).code == command_result::status::not_found);
    // A high alert's snooze is bounded tighter.
    m.on_event(raise("spo2_low", priority::high, clock.now, 85, 88), clock.now, out);
    const auto high = m.snooze_alert(2, 31min, alice, clock.now, out);
    CHECK(high.code == command_result::status::invalid);
    CHECK(high.message.find("30 min") != std::string::npos);
    CHECK(m.snooze_alert(2, 30min, alice, clock.now, out).ok());
  }

  SECTION("no escalation while snoozed; the expiry pages at the exact time") {
    out.clear();
    REQUIRE(m.snooze_alert(1, 20min, alice, clock.advance(1min), out).ok());
    REQUIRE(out.snoozes.size() == 1);
    CHECK(out.snoozes[0].until == t0 + 21min);
    CHECK(out.snoozes[0].up_to == priority::medium);
    CHECK(out.snoozes[0].by == "alice");
    REQUIRE(out.events.size() == 1);
    CHECK(out.events[0].action == alert_action::snoozed);
    CHECK(out.events[0].reason.find("at the bedside") != std::string::npos);
    CHECK(m.next_due() == t0 + 21min);
    out.clear();
    m.tick(t0 + 20min, out);
    CHECK(out.empty());
    m.tick(t0 + 21min - 1ms, out);
    CHECK(out.empty());
    m.tick(t0 + 21min, out);
    REQUIRE(out.snoozes.size() == 1);
    CHECK(out.snoozes[0].removed);
    CHECK(count_events(out, alert_action::snooze_ended) == 1);
    CHECK(count_notifications(out, notify_action::repeat) == 2);  // reached steps reminded
    CHECK(m.snoozes().empty());
    // The chain continues from the end of the snooze.
    CHECK(m.find(1)->next_step_at == t0 + 26min);
    out.clear();
    m.tick(t0 + 26min, out);
    CHECK(receivers(out) == std::vector<std::string>{"charge"});
    check_audit(out);
  }

  SECTION("a higher priority breaks through") {
    REQUIRE(m.snooze_alert(1, 1h, alice, clock.now, out).ok());
    out.clear();
    m.on_event(raise("glucose_urgent_low", priority::high, clock.advance(2min)), clock.now, out);
    CHECK(count_notifications(out, notify_action::escalate) == 2);
    out.clear();
    m.tick(clock.now + 5min, out);
    CHECK(receivers(out) == std::vector<std::string>{"charge"});
  }

  SECTION("unsnooze lifts it early and pages") {
    REQUIRE(m.snooze_alert(1, 1h, alice, clock.now, out).ok());
    out.clear();
    REQUIRE(
        m.unsnooze(short_id::truncate("p1"), "glucose_urgent_low", alice, clock.advance(1min), out)
            .ok());
    CHECK(count_events(out, alert_action::snooze_ended) == 1);
    CHECK(out.snoozes.size() == 1);
    CHECK(count_notifications(out, notify_action::repeat) == 2);
    CHECK(m.unsnooze(short_id::truncate("p1"), "glucose_low", alice, clock.now, out).code ==
          command_result::status::not_found);
  }
}

TEST_CASE("a rule snoozed ahead of any alert pages when the snooze ends", "[alert_manager]") {
  fake_clock clock;
  alert_manager m(ward_settings());
  alert_changes out;
  CHECK(m.snooze_rule(short_id::truncate("p1"), "glucose_urgent_low", 45min, priority::high, alice,
                      clock.now, out)
            .code == command_result::status::invalid);  // high bound is 30 min
  REQUIRE(m.snooze_rule(short_id::truncate("p1"), "glucose_urgent_low", 30min, priority::high,
                        alice, clock.now, out)
              .ok());
  REQUIRE(m.snoozes().size() == 1);
  CHECK(m.snoozes()[0].group == "glucose_low");  // a member snoozes its group
  out.clear();
  m.on_event(raise("glucose_low", priority::medium, clock.advance(5min)), clock.now, out);
  CHECK(out.notifications.empty());
  CHECK(m.find(1)->step == -1);
  m.on_event(raise("glucose_urgent_low", priority::high, clock.advance(1min)), clock.now, out);
  CHECK(out.notifications.empty());  // up to high: still silent
  m.tick(t0 + 30min, out);
  CHECK(count_notifications(out, notify_action::trigger) == 2);
  CHECK(m.find(1)->step == 0);
}

TEST_CASE("a stale device mutes its physiological alerts until the data returns",
          "[alert_manager]") {
  fake_clock clock;
  alert_manager m(ward_settings());
  alert_changes out;
  auto stale = raise("glucose_stale", priority::medium, clock.now, 16, 15);
  stale.source = alert_source::technical;
  m.on_event(stale, clock.now, out);
  out.clear();
  m.on_event(raise("glucose_low", priority::medium, clock.advance(1min)), clock.now, out);
  REQUIRE(m.find(2) != nullptr);
  CHECK(m.find(2)->inhibited);
  CHECK(count_events(out, alert_action::inhibited) == 1);
  CHECK(out.notifications.empty());
  m.tick(clock.advance(20min), out);
  CHECK(out.notifications.size() == 3);  // the technical alert's own escalation only
  for (const auto& n : out.notifications) CHECK(n.alert.id == 1);

  out.clear();
  m.on_event(clear(stale, clock.advance(1min), 0), clock.now, out);
  CHECK_FALSE(m.find(2)->inhibited);
  CHECK(count_events(out, alert_action::uninhibited) == 1);
  CHECK(count_notifications(out, notify_action::trigger) == 2);
  for (const auto& n : out.notifications) CHECK(n.alert.id == 2);
  check_audit(out);

  SECTION("a technical raise mutes alerts already open") {
    auto again = raise("glucose_stale", priority::medium, t0, 16, 15);
    again.source = alert_source::technical;
    alert_manager m2(ward_settings());
    alert_changes o2;
    m2.on_event(raise("glucose_low", priority::medium, t0), t0, o2);
    o2.clear();
    m2.on_event(again, t0 + 1min, o2);
    CHECK(m2.find(1)->inhibited);
    CHECK(count_events(o2, alert_action::inhibited) == 1);
    o2.clear();
    m2.tick(t0 + 10min, o2);
    for (const auto& n : o2.notifications) CHECK(n.alert.id == 2);
  }
}

TEST_CASE("quiet hours defer medium alerts but never high ones", "[alert_manager]") {
  auto s = ward_settings();
  s.routes[0].quiet = quiet_hours{22 * 60, 7 * 60};
  s.utc_offset_min = 7 * 60;  // t0 is 16:00 UTC = 23:00 local
  alert_manager m(s);
  alert_changes out;
  m.on_event(raise("glucose_low", priority::medium, t0), t0, out);
  CHECK(out.notifications.empty());
  const timestamp morning = t0 + 8h;  // 07:00 local
  CHECK(m.find(1)->deferred_until == morning);
  CHECK(m.next_due() == morning);
  m.on_event(raise("spo2_low", priority::high, t0, 85, 88), t0, out);
  CHECK(count_notifications(out, notify_action::trigger) == 2);
  out.clear();
  m.tick(morning - 1s, out);
  for (const auto& n : out.notifications) CHECK(n.alert.id == 2);
  out.clear();
  m.tick(morning, out);
  REQUIRE(count_notifications(out, notify_action::trigger) == 2);
  for (const auto& n : out.notifications) CHECK(n.alert.id == 1);
  CHECK_FALSE(m.find(1)->deferred_until);
  check_audit(out);
}

TEST_CASE("resolve needs the condition gone", "[alert_manager]") {
  alert_manager m(ward_settings());
  alert_changes out;
  const auto e = raise("glucose_low", priority::medium, t0);
  m.on_event(e, t0, out);
  CHECK(m.resolve(1, alice, t0, out).code == command_result::status::conflict);
  REQUIRE(m.acknowledge(1, alice, t0, out).ok());
  CHECK(m.resolve(1, alice, t0, out).code == command_result::status::conflict);
  m.on_event(clear(e, t0 + 1min), t0 + 1min, out);
  out.clear();
  REQUIRE(m.resolve(1, alice, t0 + 1min, out).ok());
  CHECK(out.alerts[0].resolved_by == "alice");
  CHECK(count_notifications(out, notify_action::resolve) == 2);
  CHECK(m.resolve(1, alice, t0 + 1min, out).code == command_result::status::not_found);
}

TEST_CASE("restore continues ids and timers", "[alert_manager]") {
  alert_changes out;
  std::vector<alert_record> open;
  {
    alert_manager m(ward_settings());
    m.on_event(raise("glucose_low", priority::medium, t0), t0, out);
    for (const auto* a : m.open_alerts()) open.push_back(*a);
  }
  alert_id_state ids;
  ids.alert = 1;
  ids.event = out.events.back().id;
  ids.notification = out.notifications.back().id;
  alert_manager m(ward_settings());
  m.restore(open, {}, ids);
  CHECK(m.next_due() == t0 + 5min);
  alert_changes after;
  m.tick(t0 + 5min, after);
  REQUIRE(after.notifications.size() == 1);
  CHECK(after.notifications[0].receiver == "charge");
  CHECK(after.notifications[0].id == ids.notification + 1);
  CHECK(after.events[0].id == ids.event + 1);
  // The key is held: a member raise joins the restored alert, then a new key gets id 2.
  m.on_event(raise("glucose_urgent_low", priority::high, t0 + 6min), t0 + 6min, after);
  CHECK(m.open_alerts().size() == 1);
  m.on_event(raise("spo2_low", priority::high, t0 + 6min, 85, 88), t0 + 6min, after);
  CHECK(m.find(2) != nullptr);
  CHECK(m.find(2)->rule == "spo2_low");

  SECTION("timers of a route removed from the config are dropped") {
    alert_manager no_routes{alert_manager_settings{}};
    no_routes.restore(open, {}, ids);
    CHECK(no_routes.next_due() == std::nullopt);
    alert_changes none;
    no_routes.tick(t0 + 1h, none);
    CHECK(none.empty());
  }

  SECTION("an expired snooze is dropped on the next tick") {
    snooze sn;
    sn.patient = short_id::truncate("p1");
    sn.group = "glucose_low";
    sn.until = t0 + 1min;
    sn.up_to = priority::high;
    alert_manager m3(ward_settings());
    m3.restore(open, {sn}, ids);
    CHECK(m3.next_due() == t0 + 1min);
    alert_changes o3;
    m3.tick(t0 + 3min, o3);
    REQUIRE(o3.snoozes.size() == 1);
    CHECK(o3.snoozes[0].removed);
    CHECK(count_events(o3, alert_action::snooze_ended) == 1);
    CHECK(count_notifications(o3, notify_action::repeat) == 2);
    CHECK(m3.snoozes().empty());
  }
}

TEST_CASE("a snoozed alert's quiet-hours deferral does not make the caller spin",
          "[alert_manager]") {
  auto s = ward_settings();
  s.routes[0].quiet = quiet_hours{22 * 60, 7 * 60};
  s.utc_offset_min = 7 * 60;  // 23:00 local
  alert_manager m(s);
  alert_changes out;
  m.on_event(raise("glucose_low", priority::medium, t0), t0, out);
  REQUIRE(m.snooze_alert(1, 2h, alice, t0 + 7h + 30min, out).ok());
  m.tick(t0 + 8h + 1min, out);  // quiet hours over, but snoozed
  CHECK(m.next_due() == t0 + 9h + 30min);
}

TEST_CASE("without a matching route nobody is paged but everything is audited", "[alert_manager]") {
  auto s = ward_settings();
  s.routes[0].patients = {"someone_else"};
  alert_manager m(s);
  alert_changes out;
  const auto e = raise("glucose_low", priority::medium, t0);
  m.on_event(e, t0, out);
  CHECK(m.find(1)->route.empty());
  m.tick(t0 + 1h, out);
  REQUIRE(m.acknowledge(1, alice, t0 + 1h, out).ok());
  m.on_event(clear(e, t0 + 2h), t0 + 2h, out);
  m.tick(t0 + 3h, out);
  CHECK(out.notifications.empty());
  std::vector<alert_action> actions;
  for (const auto& ev : out.events) actions.push_back(ev.action);
  CHECK(actions == std::vector<alert_action>{alert_action::raised, alert_action::acknowledged,
                                             alert_action::condition_cleared,
                                             alert_action::resolved});
  check_audit(out);
}

TEST_CASE("out-of-order and unknown input is ignored", "[alert_manager]") {
  alert_manager m(ward_settings());
  alert_changes out;
  m.on_event(clear(raise("hr_high", priority::medium, t0), t0), t0, out);
  CHECK(out.empty());
  m.tick(t0, out);
  CHECK(out.empty());
  CHECK(m.resolve(5, alice, t0, out).code == command_result::status::not_found);
  CHECK(m.snooze_alert(5, 1min, alice, t0, out).code == command_result::status::not_found);
  const auto e = raise("glucose_low", priority::medium, t0);
  m.on_event(e, t0, out);
  m.on_event(clear(raise("glucose_urgent_low", priority::high, t0), t0), t0, out);
  CHECK(m.find(1)->condition_present);
  CHECK(m.find(1)->level == priority::medium);
}

}  // namespace alert_manager_test

namespace alert_manager_test {

TEST_CASE("a reload keeps open alerts and their escalation, new routes take new alerts",
          "[alert_manager][reload]") {
  alert_manager m(ward_settings());
  alert_changes out;
  m.on_event(raise("glucose_low", priority::medium, t0), t0, out);
  REQUIRE(m.find(1) != nullptr);

  SECTION("a route added in front takes new alerts; the open one escalates on its own route") {
    auto s = ward_settings();
    route icu;
    icu.name = "icu";
    icu.rules = {"hr_high"};
    icu.steps = {{0s, {"icu-desk"}}};
    s.routes.insert(s.routes.begin(), icu);
    out.clear();
    m.reconfigure(s, t0 + 1min, out);
    CHECK(out.notifications.empty());
    REQUIRE(m.find(1) != nullptr);
    CHECK(m.find(1)->route == "ward");
    CHECK(m.find(1)->next_step_at == t0 + 5min);
    out.clear();
    m.tick(t0 + 5min, out);
    CHECK(receivers(out) == std::vector<std::string>{"charge"});
    out.clear();
    auto hr = raise("hr_high", priority::medium, t0 + 6min);
    hr.kind = vital_kind::heart_rate;
    m.on_event(hr, t0 + 6min, out);
    CHECK(receivers(out) == std::vector<std::string>{"icu-desk"});
  }
  SECTION("the open alert's route loses its later steps: its timer stops, the alert stays") {
    auto s = ward_settings();
    s.routes[0].steps.resize(1);
    out.clear();
    m.reconfigure(s, t0 + 1min, out);
    REQUIRE(m.find(1) != nullptr);
    CHECK_FALSE(m.find(1)->next_step_at.has_value());
    CHECK_FALSE(m.next_due().has_value());
  }
  SECTION("its route gone: the open alert takes the route that matches now and is paged") {
    alert_manager_settings s;
    route desk;
    desk.name = "desk";
    desk.steps = {{0s, {"desk"}}, {10min, {"lead"}}};
    s.routes = {desk};
    out.clear();
    m.reconfigure(s, t0 + 2min, out);
    REQUIRE(m.find(1) != nullptr);
    CHECK(m.find(1)->route == "desk");
    CHECK(receivers(out) == std::vector<std::string>{"desk"});
    CHECK(count_events(out, alert_action::notified) == 1);
    CHECK(m.find(1)->next_step_at == t0 + 2min + 10min);
    check_audit(out);
  }
  SECTION("no route left: the alert stays open, its timers stop") {
    out.clear();
    m.reconfigure(alert_manager_settings{}, t0 + 2min, out);
    REQUIRE(m.find(1) != nullptr);
    CHECK(m.find(1)->route.empty());
    CHECK_FALSE(m.next_due().has_value());
    CHECK(out.notifications.empty());
  }
  SECTION("a route without steps is refused and the old settings stay") {
    auto s = ward_settings();
    s.routes[0].steps.clear();
    out.clear();
    CHECK_THROWS_AS(m.reconfigure(s, t0 + 1min, out), std::invalid_argument);
    CHECK(out.empty());
    CHECK(m.settings().routes[0].steps.size() == 3);
    CHECK(m.find(1)->next_step_at == t0 + 5min);
  }
}

}  // namespace alert_manager_test
