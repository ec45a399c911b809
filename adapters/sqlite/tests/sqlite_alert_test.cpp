// The alert lifecycle's persistence (schema v3): sqlite_store::apply() and friends, the v2 -> v3
// migration, the read-only alert_reader and the outbox document.
#include <sqlite3.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <vitals/adapters/sqlite/alert_reader.hpp>
#include <vitals/adapters/sqlite/sqlite_store.hpp>
#include <vitals/test/temp_dir.hpp>

#include "sqlite_test_db.hpp"

// A namespace of its own: the sanitizer presets are unity builds (tests/README.md).
namespace sqlite_alert_test {
namespace {

using namespace std::chrono_literals;
using vitals::adapters::sqlite::alert_query;
using vitals::adapters::sqlite::alert_reader;
using vitals::adapters::sqlite::sqlite_store;
using vitals::adapters::sqlite::store_options;
namespace core = vitals::core;
namespace sq = vitals::adapters::sqlite;

/// An independent read-write connection, as the sqlite3 CLI would be.
using raw_db = vitals::test::sqlite_db;

core::timestamp at_ms(std::int64_t ms) {
  return core::timestamp(std::chrono::milliseconds(ms));
}

constexpr std::int64_t t0 = 1700000000123;  // 2023-11-14T22:13:20.123Z

core::alert_record make_alert(std::uint64_t id, const char* patient = "pat-1",
                              const char* group = "glucose_low",
                              core::alert_state state = core::alert_state::active) {
  core::alert_record a;
  a.id = id;
  a.patient = core::short_id::truncate(patient);
  a.device = core::short_id::truncate("cgm-1");
  a.rule = group;
  a.group = group;
  a.current_rule = std::string(group) + "_x";
  a.holding = {group, std::string(group) + "_x"};
  a.kind = core::vital_kind::glucose;
  a.source = core::alert_source::technical;
  a.level = core::priority::medium;
  a.peak_level = core::priority::high;
  a.state = state;
  a.condition_present = state == core::alert_state::active;
  a.inhibited = true;
  a.flaps = 2;
  a.condition_start = at_ms(t0 - 5000);
  a.raised_at = at_ms(t0);
  a.cleared_at = at_ms(t0 + 60000);
  a.created = at_ms(t0 + 10);
  a.updated = at_ms(t0 + 20);
  a.cleared_wall = at_ms(t0 + 60010);
  a.acknowledged_at = at_ms(t0 + 30000);
  a.acknowledged_by = "nurse";
  a.resolved_by = "";
  a.value = 65.5;
  a.threshold = 70.0;
  a.peak_value = 50.25;
  a.last_value = 72.0;
  a.message = "glucose below 70 mg/dL";
  a.route = "ward";
  a.step = 1;
  a.next_step_at = at_ms(t0 + 90000);
  a.next_repeat_at = at_ms(t0 + 120000);
  a.deferred_until = std::nullopt;
  return a;
}

core::lifecycle_event make_event(std::uint64_t id, std::uint64_t alert_id,
                                 core::alert_action action = core::alert_action::raised) {
  core::lifecycle_event e;
  e.id = id;
  e.alert_id = alert_id;
  e.action = action;
  e.at = at_ms(t0 + static_cast<std::int64_t>(id) * 1000);
  e.data_time = at_ms(t0);
  e.actor = "detector";
  e.reason = "why " + std::to_string(id);
  e.level = core::priority::high;
  e.state = core::alert_state::active;
  e.value = 61.0;
  return e;
}

core::notification make_notification(std::uint64_t id, const core::alert_record& a,
                                     const core::lifecycle_event& e) {
  core::notification n;
  n.id = id;
  n.receiver = "pager-" + std::to_string(id);
  n.action = core::notify_action::escalate;
  n.step = 1;
  n.alert = a;
  n.event = e;
  n.created = at_ms(t0 + 500);
  return n;
}

store_options options_for(const vitals::test::temp_dir& dir) {
  store_options o;
  o.path = (dir.path() / "vitals.db").string();
  return o;
}

void check_same(const core::alert_record& a, const core::alert_record& b) {
  CHECK(a.id == b.id);
  CHECK(a.patient == b.patient);
  CHECK(a.device == b.device);
  CHECK(a.rule == b.rule);
  CHECK(a.group == b.group);
  CHECK(a.current_rule == b.current_rule);
  CHECK(a.holding == b.holding);
  CHECK(a.kind == b.kind);
  CHECK(a.source == b.source);
  CHECK(a.level == b.level);
  CHECK(a.peak_level == b.peak_level);
  CHECK(a.state == b.state);
  CHECK(a.condition_present == b.condition_present);
  CHECK(a.inhibited == b.inhibited);
  CHECK(a.flaps == b.flaps);
  CHECK(a.condition_start == b.condition_start);
  CHECK(a.raised_at == b.raised_at);
  CHECK(a.cleared_at == b.cleared_at);
  CHECK(a.created == b.created);
  CHECK(a.updated == b.updated);
  CHECK(a.cleared_wall == b.cleared_wall);
  CHECK(a.acknowledged_at == b.acknowledged_at);
  CHECK(a.acknowledged_by == b.acknowledged_by);
  CHECK(a.resolved_at == b.resolved_at);
  CHECK(a.resolved_by == b.resolved_by);
  CHECK(a.value == b.value);
  CHECK(a.threshold == b.threshold);
  CHECK(a.peak_value == b.peak_value);
  CHECK(a.last_value == b.last_value);
  CHECK(a.message == b.message);
  CHECK(a.route == b.route);
  CHECK(a.step == b.step);
  CHECK(a.next_step_at == b.next_step_at);
  CHECK(a.next_repeat_at == b.next_repeat_at);
  CHECK(a.deferred_until == b.deferred_until);
}

void check_same(const core::lifecycle_event& a, const core::lifecycle_event& b) {
  CHECK(a.id == b.id);
  CHECK(a.alert_id == b.alert_id);
  CHECK(a.action == b.action);
  CHECK(a.at == b.at);
  CHECK(a.data_time == b.data_time);
  CHECK(a.actor == b.actor);
  CHECK(a.reason == b.reason);
  CHECK(a.level == b.level);
  CHECK(a.state == b.state);
  CHECK(a.value == b.value);
}

void check_same(const core::notification& a, const core::notification& b) {
  CHECK(a.id == b.id);
  CHECK(a.receiver == b.receiver);
  CHECK(a.action == b.action);
  CHECK(a.step == b.step);
  CHECK(a.created == b.created);
  check_same(a.alert, b.alert);
  check_same(a.event, b.event);
}

/// One alert with two events, two notifications and a snooze.
core::alert_changes sample_changes() {
  core::alert_changes c;
  const auto a = make_alert(7);
  const auto e1 = make_event(11, 7);
  const auto e2 = make_event(12, 7, core::alert_action::escalated);
  c.alerts.push_back(a);
  c.events = {e1, e2};
  c.notifications = {make_notification(21, a, e1), make_notification(22, a, e2)};
  core::snooze z;
  z.patient = core::short_id::truncate("pat-1");
  z.group = "glucose_low";
  z.until = core::now_ms() + std::chrono::hours(1);
  z.up_to = core::priority::medium;
  z.by = "nurse";
  z.reason = "procedure";
  z.created = core::now_ms();
  c.snoozes.push_back(z);
  return c;
}

}  // namespace

TEST_CASE("sqlite alert: the outbox document round-trips a notification", "[sqlite_alert]") {
  auto a = make_alert(3);
  a.cleared_at.reset();
  a.deferred_until = at_ms(t0 + 7);
  a.holding.clear();
  a.device = {};
  auto e = make_event(4, 3, core::alert_action::snooze_ended);
  e.data_time.reset();
  const auto n = make_notification(5, a, e);
  const auto doc = sq::to_document(n);
  check_same(sq::from_document(doc), n);
  CHECK(sq::from_document(doc).idempotency_key() == n.idempotency_key());
  CHECK_THROWS_AS(sq::from_document("{}"), std::runtime_error);
  CHECK_THROWS_AS(sq::from_document("not json"), std::runtime_error);
}

TEST_CASE("sqlite alert: apply writes alerts, events, snoozes and the outbox", "[sqlite_alert]") {
  vitals::test::temp_dir dir("vitals-sqlalert");
  core::stats st;
  const auto o = options_for(dir);
  sqlite_store store(o, st);
  store.start();
  std::promise<std::vector<core::notification>> done;
  store.apply(sample_changes(), [&](bool ok, std::vector<core::notification> n) {
    // The callback runs after COMMIT: a separate connection already sees the rows.
    raw_db other(o.path);
    CHECK(ok);
    CHECK(other.count("outbox") == 2);
    CHECK(other.count("alerts") == 1);
    done.set_value(std::move(n));
  });
  auto committed = done.get_future().get();
  REQUIRE(committed.size() == 2);
  CHECK(committed[0].id == 21);
  CHECK(committed[1].id == 22);

  raw_db r(o.path);
  CHECK(r.count("alert_events") == 2);
  CHECK(r.count("snoozes") == 1);
  CHECK(
      r.text("SELECT grp || '|' || holding || '|' || state || '|' || peak_priority FROM alerts") ==
      "glucose_low|glucose_low,glucose_low_x|active|high");
  CHECK(r.text("SELECT group_concat(action) FROM (SELECT action FROM alert_events ORDER BY id)") ==
        "raised,escalated");
  CHECK(r.text("SELECT idempotency_key FROM outbox WHERE id = 22") == "vitalsd-7-12");
  CHECK(r.text("SELECT status FROM outbox WHERE id = 21") == "pending");
  CHECK(r.text("SELECT patient || '|' || action || '|' || time || '|' || actor FROM "
               "alert_event_view WHERE alert = 7 ORDER BY time LIMIT 1") ==
        "pat-1|raised|2023-11-14T22:13:31.123Z|detector");
  CHECK(r.text("SELECT patient || '|' || state || '|' || acknowledged_by FROM alert_view") ==
        "pat-1|active|nurse");
  CHECK(r.integer("SELECT count(*) FROM outbox_view WHERE status = 'pending'") == 2);
  CHECK(r.text("SELECT d.key FROM alerts a JOIN devices d ON d.id = a.device_id") == "cgm-1");

  // An upsert of the same alert updates its row; a snooze removal deletes the row.
  core::alert_changes c;
  auto a = make_alert(7, "pat-1", "glucose_low", core::alert_state::acknowledged);
  a.last_value = 80.0;
  a.device = {};  // no device: NULL
  c.alerts.push_back(a);
  c.events.push_back(make_event(13, 7, core::alert_action::acknowledged));
  core::snooze z;
  z.patient = core::short_id::truncate("pat-1");
  z.group = "glucose_low";
  z.removed = true;
  c.snoozes.push_back(z);
  store.apply(std::move(c));
  store.mark_delivered(21, at_ms(t0 + 900));
  store.mark_failed(22, 3, "HTTP 503", false);
  store.flush();
  CHECK(r.count("alerts") == 1);
  CHECK(r.text("SELECT state || '|' || last_value FROM alerts") == "acknowledged|80.0");
  CHECK(r.text("SELECT coalesce(device_id, 'null') FROM alerts") == "null");
  CHECK(r.count("snoozes") == 0);
  CHECK(r.text("SELECT status || '|' || attempts || '|' || delivered_at FROM outbox WHERE id = "
               "21") == "delivered|1|" + std::to_string(t0 + 900));
  CHECK(r.text("SELECT status || '|' || attempts || '|' || last_error FROM outbox WHERE id = 22") ==
        "pending|3|HTTP 503");
  store.mark_failed(22, 4, "HTTP 410", true);
  store.flush();
  CHECK(r.text("SELECT status || '|' || attempts FROM outbox WHERE id = 22") == "failed|4");
  CHECK(st.store_errors == 0);

  const auto lat = store.commit_latency();
  CHECK(lat.count >= 3);
  CHECK(lat.sum_seconds >= lat.max_seconds);
  CHECK(lat.max_seconds > 0.0);
}

TEST_CASE("sqlite alert: one open alert per (patient, group), latched ones may pile up",
          "[sqlite_alert]") {
  vitals::test::temp_dir dir("vitals-sqlalert");
  core::stats st;
  const auto o = options_for(dir);
  sqlite_store store(o, st);
  store.start();
  {
    core::alert_changes c;
    c.alerts.push_back(make_alert(1, "pat-1", "hr_high", core::alert_state::latched));
    c.alerts.push_back(make_alert(2, "pat-1", "hr_high", core::alert_state::latched));
    c.alerts.push_back(make_alert(3, "pat-1", "hr_high", core::alert_state::active));
    c.alerts.push_back(make_alert(4, "pat-2", "hr_high", core::alert_state::acknowledged));
    store.apply(std::move(c));
  }
  {
    // In one call, the active alert resolves and a new one of its key is raised: listed
    // new-first, still accepted (the leaving alert is written first).
    core::alert_changes c;
    c.alerts.push_back(make_alert(5, "pat-1", "hr_high", core::alert_state::active));
    c.alerts.push_back(make_alert(3, "pat-1", "hr_high", core::alert_state::resolved));
    store.apply(std::move(c));
  }
  store.flush();
  CHECK(st.store_errors == 0);
  raw_db r(o.path);
  CHECK(r.count("alerts") == 5);

  // A second open alert of one key is refused by the database: skipped and counted, and the
  // writer goes on with the rest.
  core::alert_changes c;
  c.alerts.push_back(make_alert(6, "pat-2", "hr_high", core::alert_state::active));
  c.alerts.push_back(make_alert(7, "pat-3", "hr_high", core::alert_state::active));
  std::atomic<bool> ok{false};
  store.apply(std::move(c),
              [&](bool committed, std::vector<core::notification>) { ok = committed; });
  store.flush();
  CHECK(ok);
  CHECK(st.store_errors == 1);
  CHECK(r.integer("SELECT count(*) FROM alerts WHERE id = 6") == 0);
  CHECK(r.integer("SELECT count(*) FROM alerts WHERE id = 7") == 1);
  CHECK_THROWS(r.exec("UPDATE alerts SET state = 'active' WHERE id = 1"));
}

TEST_CASE("sqlite alert: load_alert_state restores what the manager and dispatcher need",
          "[sqlite_alert]") {
  vitals::test::temp_dir dir("vitals-sqlalert");
  core::stats st;
  const auto o = options_for(dir);
  const auto changes = sample_changes();
  {
    sqlite_store store(o, st);
    store.start();
    store.apply(changes);
    core::alert_changes c;
    c.alerts.push_back(make_alert(8, "pat-2", "spo2_low", core::alert_state::resolved));
    c.alerts.push_back(make_alert(9, "pat-2", "hr_high", core::alert_state::latched));
    c.events.push_back(make_event(30, 8, core::alert_action::resolved));
    core::snooze old;
    old.patient = core::short_id::truncate("pat-2");
    old.group = "spo2_low";
    old.until = core::now_ms() - 1s;  // expired: not restored
    old.created = core::now_ms() - 1h;
    c.snoozes.push_back(old);
    c.notifications.push_back(make_notification(40, c.alerts[0], c.events[0]));
    store.apply(std::move(c));
    store.mark_delivered(22, core::now_ms());
  }
  sqlite_store store(o, st);
  auto snap = store.load_alert_state();
  REQUIRE(snap.open.size() == 2);
  check_same(snap.open[0], changes.alerts[0]);
  CHECK(snap.open[1].id == 9);
  CHECK(snap.open[1].state == core::alert_state::latched);
  REQUIRE(snap.snoozes.size() == 1);
  CHECK(snap.snoozes[0].patient == changes.snoozes[0].patient);
  CHECK(snap.snoozes[0].group == "glucose_low");
  CHECK(snap.snoozes[0].until == changes.snoozes[0].until);
  CHECK(snap.snoozes[0].by == "nurse");
  CHECK(snap.snoozes[0].reason == "procedure");
  CHECK(snap.ids.alert == 9);
  CHECK(snap.ids.event == 30);
  CHECK(snap.ids.notification == 40);
  REQUIRE(snap.pending.size() == 2);
  check_same(snap.pending[0], changes.notifications[0]);
  CHECK(snap.pending[1].id == 40);
  store.start();
  CHECK_THROWS_AS(store.load_alert_state(), std::logic_error);
}

TEST_CASE("sqlite alert: apply after stop reports failure", "[sqlite_alert]") {
  vitals::test::temp_dir dir("vitals-sqlalert");
  core::stats st;
  sqlite_store store(options_for(dir), st);
  store.stop();
  bool called = false;
  bool result = true;
  store.apply(sample_changes(), [&](bool ok, std::vector<core::notification> n) {
    called = true;
    result = ok;
    CHECK(n.empty());
  });
  CHECK(called);
  CHECK_FALSE(result);
}

TEST_CASE("sqlite alert: alert_reader lists, gets and counts", "[sqlite_alert]") {
  vitals::test::temp_dir dir("vitals-sqlalert");
  core::stats st;
  const auto o = options_for(dir);
  sqlite_store store(o, st);
  store.start();
  store.apply(sample_changes());
  {
    core::alert_changes c;
    for (std::uint64_t id = 100; id < 105; ++id) {
      c.alerts.push_back(
          make_alert(id, id % 2 == 0 ? "pat-2" : "pat-3", "spo2_low", core::alert_state::resolved));
    }
    store.apply(std::move(c));
  }
  store.mark_failed(22, 5, "gone", true);
  store.flush();

  alert_reader reader(o.path);
  auto all = reader.list({});
  REQUIRE(all.size() == 6);
  CHECK(all.front().id == 104);  // newest first
  CHECK(all.back().id == 7);

  alert_query q;
  q.state = core::alert_state::resolved;
  q.limit = 2;
  auto page = reader.list(q);
  REQUIRE(page.size() == 2);
  CHECK(page[0].id == 104);
  CHECK(page[1].id == 103);
  q.before_id = page[1].id;
  page = reader.list(q);
  REQUIRE(page.size() == 2);
  CHECK(page[0].id == 102);

  alert_query by_patient;
  by_patient.patient = "pat-2";
  CHECK(reader.list(by_patient).size() == 3);
  by_patient.state = core::alert_state::active;
  CHECK(reader.list(by_patient).empty());

  const auto got = reader.get(7);
  REQUIRE(got);
  check_same(*got, make_alert(7));
  CHECK_FALSE(reader.get(999));

  const auto events = reader.events(7);
  REQUIRE(events.size() == 2);
  check_same(events[0], make_event(11, 7));
  CHECK(events[1].action == core::alert_action::escalated);

  CHECK(reader.snoozes(core::now_ms()).size() == 1);
  CHECK(reader.snoozes(core::now_ms() + 2h).empty());

  const auto counts = reader.outbox();
  CHECK(counts.pending == 1);
  CHECK(counts.delivered == 0);
  CHECK(counts.failed == 1);

  // Reading while the writer writes.
  core::alert_changes c;
  c.alerts.push_back(make_alert(200, "pat-9", "hr_high"));
  store.apply(std::move(c));
  store.flush();
  CHECK(reader.list({}).front().id == 200);
}

TEST_CASE("sqlite alert: alert_reader names the path when it cannot read", "[sqlite_alert]") {
  vitals::test::temp_dir dir("vitals-sqlalert");
  using Catch::Matchers::Contains;
  const auto missing = (dir.path() / "missing.db").string();
  CHECK_THROWS_WITH(alert_reader(missing), Contains(missing));
  const auto old = (dir.path() / "old.db").string();
  sqlite_store::create_schema_for_testing(old, 2);
  CHECK_THROWS_WITH(alert_reader(old), Contains(old) && Contains("version 2"));
}

TEST_CASE("sqlite alert: a version 2 database migrates to version 3 with its alerts",
          "[sqlite_alert]") {
  vitals::test::temp_dir dir("vitals-sqlalert");
  core::stats st;
  const auto o = options_for(dir);
  sqlite_store::create_schema_for_testing(o.path, 2);
  {
    // Rows as vitalsd with schema 2 wrote them: one resolved and one active alert.
    raw_db r(o.path);
    r.exec(
        "INSERT INTO patients(id, key, first_seen) VALUES (1, 'pat-1', 0);"
        "INSERT INTO devices(id, key, patient_id, first_seen, last_seen) "
        "VALUES (1, 'ox-1', 1, 0, 0);"
        "INSERT INTO alerts(id, patient_id, device_id, rule, kind, priority, source, state, "
        "raised_at, cleared_at, condition_start, value, threshold, worst_value, last_value, "
        "message) VALUES (1, 1, 1, 'spo2_low', 1, 'high', 'physiological', 'resolved', "
        "1700000020123, 1700000060123, 1700000005123, 85, 90, 82, 95, 'SpO2 low');"
        "INSERT INTO alerts(id, patient_id, device_id, rule, kind, priority, source, state, "
        "raised_at, cleared_at, condition_start, value, threshold, worst_value, last_value, "
        "message) VALUES (2, 1, NULL, 'hr_high', 0, 'medium', 'physiological', 'active', "
        "1700000070123, NULL, 1700000065123, 130, 120, 140, 135, 'HR high');"
        "INSERT INTO alert_events(id, alert_id, transition, at, value, actor, reason) VALUES "
        "(1, 1, 'raised', 1700000020123, 85, 'detector', 'SpO2 low'),"
        "(2, 1, 'cleared', 1700000060123, 95, 'detector', 'SpO2 low'),"
        "(3, 2, 'raised', 1700000070123, 130, 'detector', 'HR high');");
  }
  REQUIRE(sqlite_store::schema_version(o.path) == 2);
  {
    sqlite_store store(o, st);
    const auto snap = store.load_alert_state();
    REQUIRE(snap.open.size() == 1);
    CHECK(snap.open[0].id == 2);
    CHECK(snap.open[0].group == "hr_high");
    CHECK(snap.open[0].holding == std::vector<std::string>{"hr_high"});
    CHECK(snap.ids.alert == 2);
    CHECK(snap.ids.event == 3);
  }
  CHECK(sqlite_store::schema_version(o.path) == sqlite_store::current_schema_version);

  alert_reader reader(o.path);
  const auto old = reader.get(1);
  REQUIRE(old);
  CHECK(old->patient.view() == "pat-1");
  CHECK(old->device.view() == "ox-1");
  CHECK(old->state == core::alert_state::resolved);
  CHECK(old->level == core::priority::high);
  CHECK(old->peak_value == 82.0);
  CHECK(old->last_value == 95.0);
  CHECK(old->raised_at == at_ms(1700000020123));
  CHECK(old->cleared_at == at_ms(1700000060123));
  CHECK(old->resolved_at == at_ms(1700000060123));
  CHECK_FALSE(old->condition_present);
  const auto events = reader.events(1);
  REQUIRE(events.size() == 2);
  CHECK(events[0].action == core::alert_action::raised);
  CHECK(events[1].action == core::alert_action::condition_cleared);
  CHECK(events[1].state == core::alert_state::resolved);
  CHECK(events[1].actor == "detector");

  raw_db r(o.path);
  CHECK(r.text("SELECT patient || '|' || state || '|' || raised || '|' || cleared FROM "
               "alert_view WHERE id = 1") ==
        "pat-1|resolved|2023-11-14T22:13:40.123Z|2023-11-14T22:14:20.123Z");
  CHECK(r.integer("SELECT count(*) FROM alert_event_view") == 3);
  // The query vitals-eval runs still works.
  CHECK(r.integer("SELECT count(*) FROM (SELECT p.key, a.rule, a.kind, a.priority, a.source, "
                  "a.raised_at, a.cleared_at FROM alerts a JOIN patients p ON p.id = "
                  "a.patient_id)") == 2);
  CHECK(r.integer("PRAGMA foreign_key_check") == -1);  // no violations
  CHECK(r.count("sqlite_schema WHERE name LIKE '%_v2'") == 0);
}

TEST_CASE("sqlite alert: samples, a baseline, alert changes and outbox updates share a transaction",
          "[sqlite_alert]") {
  vitals::test::temp_dir dir("vitals-sqlalert");
  core::stats st;
  const auto o = options_for(dir);
  sqlite_store store(o, st);  // not started: flush() commits on this thread, as one batch
  std::vector<core::sample> samples(3);
  for (std::size_t i = 0; i < samples.size(); ++i) {
    samples[i].patient = core::short_id::truncate("pat-1");
    samples[i].device = core::short_id::truncate("cgm-1");
    samples[i].kind = core::vital_kind::glucose;
    samples[i].value = 100.0;
    samples[i].device_time = at_ms(t0 + static_cast<std::int64_t>(i) * 300000);
    samples[i].receive_time = samples[i].device_time;
  }
  store.append(samples);
  store.save_baseline(core::short_id::truncate("pat-1"), {1, 2, 3});
  bool ok = false;
  store.apply(sample_changes(), [&](bool committed, std::vector<core::notification> n) {
    ok = committed && n.size() == 2;
  });
  // Queued after the apply() that inserts their rows: they only work if written after it.
  store.mark_delivered(21, at_ms(t0 + 900));
  store.mark_failed(22, 1, "HTTP 503", false);
  CHECK(store.queued_rows() == samples.size() + 4);  // every entry but samples counts as one row
  store.flush();
  CHECK(ok);
  CHECK(st.store_commits == 1);
  CHECK(st.samples_stored == samples.size());
  CHECK(st.store_errors == 0);
  raw_db r(o.path);
  CHECK(r.count("samples") == 3);
  CHECK(r.count("baselines") == 1);
  CHECK(r.count("alerts") == 1);
  CHECK(r.count("snoozes") == 1);
  CHECK(r.text("SELECT status || '|' || attempts FROM outbox WHERE id = 21") == "delivered|1");
  CHECK(r.text("SELECT status || '|' || attempts || '|' || last_error FROM outbox WHERE id = 22") ==
        "pending|1|HTTP 503");
  CHECK(r.integer("SELECT count(*) FROM patients") == 1);  // one id for the same key in all rows
}

TEST_CASE("sqlite alert: stop gives up on a database that stays locked and says so",
          "[sqlite_alert]") {
  vitals::test::temp_dir dir("vitals-sqlalert");
  core::stats st;
  auto o = options_for(dir);
  o.busy_timeout = 20ms;
  sqlite_store store(o, st);
  store.start();
  raw_db blocker(o.path);
  blocker.exec("BEGIN IMMEDIATE");  // the store's commits get SQLITE_BUSY until stop() gives up
  std::atomic<int> calls{0};
  std::atomic<bool> result{true};
  store.apply(sample_changes(), [&](bool ok, std::vector<core::notification> n) {
    result = ok;
    CHECK(n.empty());
    ++calls;
  });
  const auto began = std::chrono::steady_clock::now();
  while (st.store_errors == 0 && std::chrono::steady_clock::now() - began < 10s) {
    std::this_thread::sleep_for(5ms);
  }
  REQUIRE(st.store_errors >= 1);
  store.stop();  // bounded: a few attempts at once, not the backoff of a running store
  CHECK(calls == 1);
  CHECK_FALSE(result);
  CHECK(st.store_errors >= 3);
  CHECK(st.store_commits == 0);
  blocker.exec("ROLLBACK");
  CHECK(blocker.count("alerts") == 0);
  CHECK(blocker.count("outbox") == 0);
}

}  // namespace sqlite_alert_test
