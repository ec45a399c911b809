// Tests of vitals-eval: the ground-truth label format, the alert readers (vitalsd's SQLite file
// written through the real store, and alerts JSONL), the scoring arithmetic on a hand-made
// labels/alerts pair, and the command line.

#include <algorithm>
#include <chrono>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <vitals/adapters/sqlite/sqlite_store.hpp>
#include <vitals/core/alert.hpp>
#include <vitals/core/alert_manager.hpp>
#include <vitals/core/stats.hpp>
#include <vitals/simulators/eval.hpp>
#include <vitals/simulators/ground_truth.hpp>

#include "eval_test_util.hpp"

namespace sim = vitals::simulators;
namespace core = vitals::core;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;
using vitals::eval_test::read_file;
using vitals::eval_test::temp_dir;
using vitals::eval_test::write_file;

// A namespace of its own: the sanitizer presets are unity builds (tests/README.md).
namespace eval_test {
namespace {

// 2026-01-01T00:00:00Z.
const core::timestamp t0{milliseconds(1767225600000)};

core::timestamp at(int h, int m = 0, int s = 0) {
  return t0 + hours(h) + minutes(m) + seconds(s);
}

sim::label make_label(sim::label_type type, std::string patient, std::string kind,
                      std::optional<core::vital_kind> vital, core::timestamp start,
                      core::timestamp end, bool actionable) {
  sim::label l;
  l.type = type;
  l.patient = std::move(patient);
  l.kind = std::move(kind);
  l.vital = vital;
  l.start = start;
  l.end = end;
  l.actionable = actionable;
  return l;
}

sim::eval_alert make_alert(std::string patient, std::string rule, core::vital_kind vital,
                           core::timestamp raised, std::optional<core::timestamp> cleared,
                           core::alert_source source = core::alert_source::physiological,
                           core::priority level = core::priority::medium) {
  sim::eval_alert a;
  a.patient = std::move(patient);
  a.rule = std::move(rule);
  a.vital = vital;
  a.source = source;
  a.level = level;
  a.raised = raised;
  a.cleared = cleared;
  return a;
}

// The hand-made run: 2 patients x 1 day.
//   desaturation (spo2, actionable) x3: p001 1h-1h10 crossed 1h02 -> A1 20 s early (+ A2);
//     p002 3h-3h10 no crossing -> A3 40 s late; p001 5h-5h10 missed (only an HR alert then).
//   hypoglycaemia_level2 (glucose, actionable) x2: p002 10h-10h30 crossed 10h05 -> G1 raised
//     9h00, before the window, still active at 10h (delay -65 min); p001 14h-14h30 -> G2 at
//     13h45 (-15 min). G0 (p001, 13h00-13h20) cleared before the window: false.
//   nocturnal_dip (hr, not actionable): p002 2h-2h30 -> N1 at 2h10, also on a poor_perfusion
//     artifact (p002, any vital, 2h05-2h15).
//   motion artifact p001 spo2 7h-7h05 -> M1 at 7h01 (false, on the artifact).
//   sensor_dropout artifact p002 glucose 8h-8h20 -> only a technical alert T1 (not false).
//   F1: p001 hr_high at 5h05 (false: the event then is an SpO2 one).
//   X1 (patient p999) and X2 (p001 before the run) are ignored.
sim::label_set handmade_labels() {
  sim::label_set set;
  set.name = "handmade.jsonl";
  set.run.scenario = "handmade";
  set.run.seed = 7;
  set.run.patients = {"p001", "p002"};
  set.run.start = t0;
  set.run.end = t0 + hours(24);
  set.run_end = t0 + hours(24);
  using lt = sim::label_type;
  using vk = core::vital_kind;
  auto e1 = make_label(lt::event, "p001", "desaturation", vk::spo2, at(1), at(1, 10), true);
  e1.crossed = at(1, 2);
  e1.threshold = 90.0;
  e1.extreme = 84.0;
  e1.severity = "moderate";
  e1.device = "p001-ox";
  set.labels.push_back(e1);
  set.labels.push_back(
      make_label(lt::event, "p002", "desaturation", vk::spo2, at(3), at(3, 10), true));
  auto e3 = make_label(lt::event, "p001", "desaturation", vk::spo2, at(5), at(5, 10), true);
  e3.crossed = at(5, 1);
  set.labels.push_back(e3);
  set.labels.push_back(
      make_label(lt::event, "p002", "nocturnal_dip", vk::heart_rate, at(2), at(2, 30), false));
  auto h1 =
      make_label(lt::event, "p002", "hypoglycaemia_level2", vk::glucose, at(10), at(10, 30), true);
  h1.crossed = at(10, 5);
  h1.threshold = 54.0;
  h1.cause = "insulin_overdose";
  set.labels.push_back(h1);
  set.labels.push_back(
      make_label(lt::event, "p001", "hypoglycaemia_level2", vk::glucose, at(14), at(14, 30), true));
  auto motion = make_label(lt::artifact, "p001", "motion", vk::spo2, at(7), at(7, 5), false);
  motion.device = "p001-ox";
  set.labels.push_back(motion);
  set.labels.push_back(
      make_label(lt::artifact, "p002", "poor_perfusion", std::nullopt, at(2, 5), at(2, 15), false));
  set.labels.push_back(
      make_label(lt::artifact, "p002", "sensor_dropout", vk::glucose, at(8), at(8, 20), false));
  set.labels.push_back(
      make_label(lt::cause, "p002", "insulin_overdose", std::nullopt, at(9), at(9), false));
  return set;
}

std::vector<sim::eval_alert> handmade_alerts() {
  using vk = core::vital_kind;
  const auto tech = core::alert_source::technical;
  const auto phys = core::alert_source::physiological;
  return {
      make_alert("p001", "spo2_low", vk::spo2, at(1, 1, 40), at(1, 8), phys, core::priority::high),
      make_alert("p001", "spo2_trend", vk::spo2, at(1, 3), at(1, 5)),
      make_alert("p002", "spo2_low", vk::spo2, at(3, 0, 40), at(3, 6)),
      make_alert("p002", "hr_low", vk::heart_rate, at(2, 10), at(2, 12)),
      make_alert("p001", "hr_high", vk::heart_rate, at(5, 5), at(5, 6)),
      make_alert("p001", "spo2_low", vk::spo2, at(7, 1), at(7, 3)),
      make_alert("p002", "cgm_no_data", vk::glucose, at(8), at(8, 20), tech, core::priority::low),
      make_alert("p002", "glucose_low", vk::glucose, at(9), at(10, 40), phys, core::priority::high),
      make_alert("p001", "glucose_low", vk::glucose, at(13), at(13, 20)),
      make_alert("p001", "glucose_low", vk::glucose, at(13, 45), std::nullopt),
      make_alert("p999", "spo2_low", vk::spo2, at(1, 5), at(1, 6)),
      make_alert("p001", "spo2_low", vk::spo2, t0 - hours(1), t0 - minutes(50)),
  };
}

std::string labels_jsonl(const sim::label_set& set) {
  std::string text = sim::to_json(set.run) + "\n\n";
  for (const auto& l : set.labels) text += sim::to_json(l) + "\n";
  if (set.run_end) text += sim::run_end_json(*set.run_end) + "\n";
  return text;
}

std::string alerts_jsonl(const std::vector<sim::eval_alert>& alerts) {
  std::string text;
  for (const auto& a : alerts) text += sim::to_json(a) + "\n";
  return text;
}

/// Writes the alerts into a vitalsd database through the daemon's own store.
void write_db(const std::string& path, std::vector<sim::eval_alert> alerts) {
  std::stable_sort(alerts.begin(), alerts.end(),
                   [](const auto& a, const auto& b) { return a.raised < b.raised; });
  vitals::adapters::sqlite::store_options options;
  options.path = path;
  core::stats st;
  vitals::adapters::sqlite::sqlite_store store(options, st);
  store.start();
  core::alert_changes changes;
  std::uint64_t id = 0;
  for (const auto& a : alerts) {
    core::alert_record r;
    r.id = ++id;
    r.patient = core::short_id::truncate(a.patient);
    r.device = core::short_id::truncate(a.patient + "-dev");
    r.rule = r.group = r.current_rule = a.rule;
    r.kind = a.vital;
    r.level = r.peak_level = a.level;
    r.source = a.source;
    r.value = r.peak_value = r.last_value = 1.0;
    r.threshold = 2.0;
    r.condition_start = r.raised_at = r.created = r.updated = a.raised;
    r.message = "test";
    if (a.cleared) {
      r.state = core::alert_state::resolved;
      r.condition_present = false;
      r.cleared_at = r.resolved_at = *a.cleared;
    }
    changes.alerts.push_back(std::move(r));
  }
  store.apply(std::move(changes));
  store.flush();
  store.stop();
}

std::vector<sim::eval_alert> sorted(std::vector<sim::eval_alert> v) {
  std::stable_sort(v.begin(), v.end(), [](const auto& a, const auto& b) {
    return std::tie(a.raised, a.patient, a.rule) < std::tie(b.raised, b.patient, b.rule);
  });
  return v;
}

/// Checks every figure of the hand-made run scored with the default options.
void check_handmade(const sim::eval_report& r, double patient_days = 2.0) {
  CHECK(r.scenario == "handmade");
  CHECK(r.seed == 7);
  CHECK(r.patients == 2);
  CHECK(r.start == t0);
  CHECK(r.end == t0 + hours(24));
  CHECK(r.patient_days == Approx(patient_days));
  CHECK(r.event_labels == 6);
  CHECK(r.artifact_labels == 3);
  CHECK(r.cause_labels == 1);
  CHECK(r.alerts_physiological == 9);
  CHECK(r.alerts_technical == 1);
  CHECK(r.alerts_ignored == 2);
  CHECK(r.alerts_per_patient_day == Approx(9.0 / patient_days));

  REQUIRE(r.events.size() == 3);
  const auto& desat = r.events[0];
  CHECK(desat.kind == "desaturation");
  CHECK(desat.vital == "spo2");
  CHECK(desat.actionable == "yes");
  CHECK(desat.events == 3);
  CHECK(desat.detected == 2);
  CHECK(desat.missed == 1);
  CHECK(desat.sensitivity == Approx(2.0 / 3.0));
  CHECK(desat.alerts == 3);
  CHECK(desat.alerts_per_event == Approx(1.0));
  REQUIRE(desat.median_delay_s);
  CHECK(*desat.median_delay_s == Approx(10.0));  // mean of -20 and +40
  REQUIRE(desat.p90_delay_s);
  CHECK(*desat.p90_delay_s == Approx(40.0));  // ceil(0.9 * 2) = 2nd smallest

  // Per rule: both found desaturations had a spo2_low alert; one also a spo2_trend alert.
  std::map<std::string, const sim::rule_row*> desat_rules;
  for (const auto& x : r.rules) {
    if (x.kind == "desaturation") desat_rules[x.rule] = &x;
  }
  REQUIRE(desat_rules.size() == 2);
  REQUIRE(desat_rules.count("spo2_low") == 1);
  CHECK(desat_rules["spo2_low"]->detected == 2);
  CHECK(*desat_rules["spo2_low"]->median_delay_s == Approx(10.0));
  REQUIRE(desat_rules.count("spo2_trend") == 1);
  CHECK(desat_rules["spo2_trend"]->detected == 1);

  const auto& hypo = r.events[1];
  CHECK(hypo.kind == "hypoglycaemia_level2");
  CHECK(hypo.vital == "glucose");
  CHECK(hypo.actionable == "yes");
  CHECK(hypo.events == 2);
  CHECK(hypo.detected == 2);
  CHECK(hypo.missed == 0);
  CHECK(hypo.sensitivity == Approx(1.0));
  CHECK(hypo.alerts == 2);
  CHECK(hypo.alerts_per_event == Approx(1.0));
  CHECK(*hypo.median_delay_s == Approx(-2400.0));  // mean of -3900 and -900
  CHECK(*hypo.p90_delay_s == Approx(-900.0));

  const auto& dip = r.events[2];
  CHECK(dip.kind == "nocturnal_dip");
  CHECK(dip.vital == "hr");
  CHECK(dip.actionable == "no");
  CHECK(dip.events == 1);
  CHECK(dip.detected == 1);
  CHECK(dip.missed == 0);
  CHECK(dip.alerts == 1);
  CHECK(*dip.median_delay_s == Approx(600.0));
  CHECK(*dip.p90_delay_s == Approx(600.0));

  REQUIRE(r.artifacts.size() == 3);
  CHECK(r.artifacts[0] == sim::artifact_row{"motion", 1, 1});
  CHECK(r.artifacts[1] == sim::artifact_row{"poor_perfusion", 1, 1});
  CHECK(r.artifacts[2] == sim::artifact_row{"sensor_dropout", 1, 0});
  CHECK(r.alerts_on_artifacts == 2);

  CHECK(r.false_alerts == 4);
  CHECK(r.false_per_patient_day == Approx(4.0 / patient_days));
  const std::map<std::string, std::size_t> false_by_rule{
      {"glucose_low", 1}, {"hr_high", 1}, {"hr_low", 1}, {"spo2_low", 1}};
  CHECK(r.false_by_rule == false_by_rule);
  const std::map<std::string, std::size_t> technical{{"cgm_no_data", 1}};
  CHECK(r.technical_by_rule == technical);
}

}  // namespace

TEST_CASE("labels round-trip through JSON with every optional field set and unset") {
  sim::label full;
  full.type = sim::label_type::event;
  full.patient = "p003";
  full.kind = "hypoglycaemia_level2";
  full.vital = core::vital_kind::glucose;
  full.device = "p003-cgm";
  full.start = at(2);
  full.end = at(2, 40);
  full.severity = "level2";
  full.actionable = true;
  full.threshold = 54.0;
  full.crossed = at(2, 7, 30);
  full.extreme = 41.5;
  full.cause = "insulin_overdose";

  const auto text = sim::to_json(full);
  CHECK(text ==
        R"({"type":"event","patient":"p003","kind":"hypoglycaemia_level2","vital":"glucose",)"
        R"("device":"p003-cgm","start":1767232800000,"end":1767235200000,"severity":"level2",)"
        R"("actionable":true,"threshold":54.0,"crossed":1767233250000,"extreme":41.5,)"
        R"("cause":"insulin_overdose"})");
  const auto back = sim::label_from_json(text);
  CHECK(back.type == full.type);
  CHECK(back.patient == full.patient);
  CHECK(back.kind == full.kind);
  CHECK(back.vital == full.vital);
  CHECK(back.device == full.device);
  CHECK(back.start == full.start);
  CHECK(back.end == full.end);
  CHECK(back.severity == full.severity);
  CHECK(back.actionable == full.actionable);
  CHECK(back.threshold == full.threshold);
  CHECK(back.crossed == full.crossed);
  CHECK(back.extreme == full.extreme);
  CHECK(back.cause == full.cause);

  sim::label bare;
  bare.type = sim::label_type::artifact;
  bare.patient = "p001";
  bare.kind = "motion";
  bare.start = at(1);
  bare.end = at(1, 1);
  const auto bare_text = sim::to_json(bare);
  CHECK(bare_text ==
        R"({"type":"artifact","patient":"p001","kind":"motion","vital":null,)"
        R"("start":1767229200000,"end":1767229260000,"severity":"","actionable":false,)"
        R"("threshold":null,"crossed":null,"extreme":null})");
  const auto bare_back = sim::label_from_json(bare_text);
  CHECK(bare_back.type == sim::label_type::artifact);
  CHECK(bare_back.patient == "p001");
  CHECK(bare_back.kind == "motion");
  CHECK_FALSE(bare_back.vital);
  CHECK(bare_back.device.empty());
  CHECK(bare_back.start == bare.start);
  CHECK(bare_back.end == bare.end);
  CHECK(bare_back.severity.empty());
  CHECK_FALSE(bare_back.actionable);
  CHECK_FALSE(bare_back.threshold);
  CHECK_FALSE(bare_back.crossed);
  CHECK_FALSE(bare_back.extreme);
  CHECK(bare_back.cause.empty());

  CHECK(sim::parse_label_type("cause") == sim::label_type::cause);
  CHECK_FALSE(sim::parse_label_type("run"));

  sim::run_record run;
  run.scenario = "demo";
  run.seed = 42;
  run.patients = {"p001", "p002"};
  run.start = t0;
  CHECK(sim::to_json(run) ==
        R"({"type":"run","scenario":"demo","seed":42,"patients":["p001","p002"],)"
        R"("start":1767225600000,"end":null})");
  CHECK(sim::run_end_json(t0 + hours(1)) == R"({"type":"run_end","end":1767229200000})");
}

TEST_CASE("bad label lines name the key") {
  const std::string ok_head = R"({"type":"event","patient":"p001","kind":"tachycardia",)";
  const auto message_of = [](const std::string& line) {
    try {
      sim::label_from_json(line);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no exception");
  };
  CHECK_THAT(message_of(ok_head + R"("end":5})"), Contains("key 'start': missing"));
  CHECK_THAT(message_of(ok_head + R"("start":"noon","end":5})"), Contains("key 'start'"));
  CHECK_THAT(message_of(ok_head + R"("start":1.5,"end":5})"), Contains("key 'start'"));
  CHECK_THAT(message_of(ok_head + R"("start":9,"end":5})"), Contains("key 'end': before start"));
  CHECK_THAT(message_of(ok_head + R"("vital":"bp","start":1,"end":5})"), Contains("key 'vital'"));
  CHECK_THAT(message_of(ok_head + R"("start":1,"end":5,"actionable":"yes"})"),
             Contains("key 'actionable'"));
  CHECK_THAT(message_of(ok_head + R"("start":1,"end":5,"crossed":"x"})"),
             Contains("key 'crossed'"));
  CHECK_THAT(message_of(ok_head + R"("start":1,"end":5,"threshold":"x"})"),
             Contains("key 'threshold'"));
  CHECK_THAT(message_of(R"({"type":"bogus","patient":"p001","kind":"k","start":1,"end":2})"),
             Contains("key 'type'"));
  CHECK_THAT(message_of(R"({"type":"event","kind":"k","start":1,"end":2})"),
             Contains("key 'patient': missing"));
  CHECK_THAT(message_of(R"({"type":"event","patient":"p001","kind":"","start":1,"end":2})"),
             Contains("key 'kind'"));
  CHECK_THAT(message_of("{not json"), Contains("not valid JSON"));
  CHECK_THAT(message_of("[1,2]"), Contains("not a JSON object"));
}

TEST_CASE("labels and alerts files: bad lines are reported with file, line and key") {
  const std::string run =
      R"({"type":"run","scenario":"s","seed":1,"patients":["p001"],"start":0,"end":86400000})";
  const std::string good =
      R"({"type":"event","patient":"p001","kind":"k","vital":"hr","start":10,"end":20})";
  const auto error_of = [](const std::string& text, bool labels) {
    std::istringstream in(text);
    try {
      if (labels) {
        sim::read_labels(in, "l.jsonl");
      } else {
        sim::read_alerts(in, "a.jsonl");
      }
    } catch (const sim::eval_input_error& e) {
      return std::string(e.what());
    }
    return std::string("no exception");
  };

  {
    std::istringstream in(run + "\n\n" + good + "\n" + R"({"type":"run_end","end":3600000})");
    const auto set = sim::read_labels(in, "l.jsonl");
    CHECK(set.run.patients == std::vector<std::string>{"p001"});
    CHECK(set.run.end == core::timestamp{hours(24)});
    CHECK(set.run_end == core::timestamp{hours(1)});
    REQUIRE(set.labels.size() == 1);
    CHECK(set.labels[0].vital == core::vital_kind::heart_rate);
  }
  CHECK_THAT(error_of(run + "\n" + good + "\n" + R"({"type":"event","patient":"p001"})", true),
             StartsWith("l.jsonl:3: key 'kind': missing"));
  CHECK_THAT(error_of(good + "\n", true), StartsWith("l.jsonl:1: key 'type'"));
  CHECK_THAT(error_of(run + "\n" + run + "\n", true), StartsWith("l.jsonl:2: key 'type'"));
  CHECK_THAT(
      error_of(run + "\n\n" + R"({"type":"event","patient":"p009","kind":"k","start":1,"end":2})",
               true),
      StartsWith("l.jsonl:3: key 'patient': not in the run record"));
  CHECK_THAT(error_of(R"({"type":"run","scenario":"s","start":0})", true),
             StartsWith("l.jsonl:1: key 'patients': missing"));
  CHECK_THAT(error_of(run + "\n" + R"({"type":"run_end"})", true),
             StartsWith("l.jsonl:2: key 'end': missing"));
  CHECK_THAT(error_of("", true), Contains("no run record"));

  const std::string alert =
      R"({"patient":"p001","rule":"hr_high","vital":"hr","raised":5,"cleared":null})";
  {
    std::istringstream in(alert + "\n\n" + alert + "\n");
    const auto alerts = sim::read_alerts(in, "a.jsonl");
    REQUIRE(alerts.size() == 2);
    CHECK(alerts[0].source == core::alert_source::physiological);
    CHECK(alerts[0].level == core::priority::medium);
    CHECK_FALSE(alerts[0].cleared);
  }
  CHECK_THAT(error_of(alert + "\n" + R"({"patient":"p001","rule":"r","vital":"hr"})", false),
             StartsWith("a.jsonl:2: key 'raised': missing"));
  CHECK_THAT(
      error_of(R"({"patient":"p001","rule":"r","vital":"hr","raised":5,"source":"x"})", false),
      StartsWith("a.jsonl:1: key 'source'"));
  CHECK_THAT(
      error_of(R"({"patient":"p001","rule":"r","vital":"hr","raised":5,"cleared":4})", false),
      StartsWith("a.jsonl:1: key 'cleared': before raised"));

  const auto a = make_alert("p002", "glucose_low", core::vital_kind::glucose, at(1), at(2),
                            core::alert_source::technical, core::priority::high);
  CHECK(sim::alert_from_json(sim::to_json(a)) == a);
}

TEST_CASE("durations and delays") {
  CHECK(sim::parse_eval_duration("30m") == milliseconds(1'800'000));
  CHECK(sim::parse_eval_duration("90s") == milliseconds(90'000));
  CHECK(sim::parse_eval_duration("1h") == milliseconds(3'600'000));
  CHECK(sim::parse_eval_duration("1h30m") == milliseconds(5'400'000));
  CHECK(sim::parse_eval_duration("120") == milliseconds(120'000));
  CHECK(sim::parse_eval_duration("1.5") == milliseconds(1'500));
  CHECK(sim::parse_eval_duration("0") == milliseconds(0));
  CHECK_FALSE(sim::parse_eval_duration(""));
  CHECK_FALSE(sim::parse_eval_duration("5x"));
  CHECK_FALSE(sim::parse_eval_duration("m"));
  CHECK_FALSE(sim::parse_eval_duration("-3"));
  CHECK_FALSE(sim::parse_eval_duration("10m5"));

  CHECK(sim::format_delay(-250.0) == "-4m10s");
  CHECK(sim::format_delay(35.0) == "35s");
  CHECK(sim::format_delay(0.0) == "0s");
  CHECK(sim::format_delay(3725.0) == "1h2m5s");
  CHECK(sim::format_delay(-3900.0) == "-1h5m0s");
}

TEST_CASE("scoring arithmetic on a hand-made run, alerts from JSONL and from vitalsd's SQLite") {
  const auto labels = handmade_labels();
  const auto alerts = handmade_alerts();

  // Through the files, as vitals-eval reads them.
  temp_dir dir;
  write_file(dir.file("labels.jsonl"), labels_jsonl(labels));
  write_file(dir.file("alerts.jsonl"), alerts_jsonl(alerts));
  write_db(dir.file("vitalsd.db"), alerts);

  auto read_back = sim::read_labels_file(dir.file("labels.jsonl"));
  REQUIRE(read_back.labels.size() == labels.labels.size());
  read_back.name = labels.name;

  const auto from_jsonl = sim::read_alerts_file(dir.file("alerts.jsonl"));
  const auto from_db = sim::read_alerts_db(dir.file("vitalsd.db"));
  CHECK(from_jsonl == alerts);
  CHECK(sorted(from_db) == sorted(alerts));

  const auto report_jsonl = sim::evaluate(read_back, from_jsonl);
  const auto report_db = sim::evaluate(read_back, from_db);
  SECTION("alerts JSONL") {
    check_handmade(report_jsonl);
  }
  SECTION("vitalsd SQLite") {
    check_handmade(report_db);
  }
  SECTION("both readers agree") {
    CHECK(report_jsonl == report_db);
    CHECK(sim::to_json(report_jsonl) == sim::to_json(report_db));
    CHECK(sim::format_table(report_jsonl) == sim::format_table(report_db));
  }
  SECTION("the JSON report carries the same numbers") {
    const auto j = nlohmann::json::parse(sim::to_json(report_jsonl));
    CHECK(j["run"]["patient_days"].get<double>() == Approx(2.0));
    CHECK(j["events"][0]["kind"] == "desaturation");
    CHECK(j["events"][0]["sensitivity"].get<double>() == Approx(2.0 / 3.0));
    CHECK(j["events"][0]["median_delay_s"].get<double>() == Approx(10.0));
    CHECK(j["events"][1]["median_delay_s"].get<double>() == Approx(-2400.0));
    CHECK(j["events"][1]["p90_delay_s"].get<double>() == Approx(-900.0));
    CHECK(j["false_alerts"]["total"] == 4);
    CHECK(j["false_alerts"]["per_patient_day"].get<double>() == Approx(2.0));
    CHECK(j["false_alerts"]["by_rule"]["hr_low"] == 1);
    CHECK(j["artifacts"][0]["alerts"] == 1);
    CHECK(j["alerts_on_artifacts"] == 2);
    CHECK(j["technical_alerts"]["total"] == 1);
    std::vector<std::string> keys;
    const auto ordered = nlohmann::ordered_json::parse(sim::to_json(report_jsonl));
    for (const auto& item : ordered.items()) keys.push_back(item.key());
    CHECK(keys == std::vector<std::string>{"run", "options", "labels", "alerts", "events",
                                           "events_by_rule", "artifacts", "alerts_on_artifacts",
                                           "false_alerts", "technical_alerts"});
  }
  SECTION("the table shows the figures") {
    const auto table = sim::format_table(report_jsonl);
    CHECK_THAT(table, Contains("2.00 patient-days"));
    CHECK_THAT(table, Contains("66.7%"));
    CHECK_THAT(table, Contains("-40m0s"));  // hypoglycaemia median
    CHECK_THAT(table, Contains("false alerts: 4 (2.00 per patient-day), 2 of them on artifacts"));
  }
}

TEST_CASE("scoring options: patient-days, lead and grace") {
  const auto labels = handmade_labels();
  const auto alerts = handmade_alerts();

  SECTION("--patient-days overrides the run's figure") {
    sim::eval_options o;
    o.patient_days = 8.0;
    check_handmade(sim::evaluate(labels, alerts, o), 8.0);
  }
  SECTION("the last run_end line sets the end; else the planned end; else an error") {
    auto set = labels;
    set.run_end = t0 + hours(12);
    const auto half = sim::evaluate(set, alerts);
    CHECK(half.patient_days == Approx(1.0));
    // Alerts raised after 12 h are now outside the run: G0 and G2 (13h, 13h45).
    CHECK(half.alerts_ignored == 4);
    set.run_end.reset();
    set.run.end.reset();
    CHECK_THROWS_AS(sim::evaluate(set, alerts), sim::eval_input_error);
    sim::eval_options o;
    o.patient_days = 3.0;
    CHECK(sim::evaluate(set, alerts, o).patient_days == Approx(3.0));
  }
  SECTION("an alert cleared before the window only matches inside the lead") {
    // G0 (p001 glucose_low 13:00-13:20) lies inside a 60 min lead of the 14:00 event.
    sim::eval_options o;
    o.lead = minutes(60);
    const auto r = sim::evaluate(labels, alerts, o);
    CHECK(r.events[1].alerts == 3);
    CHECK(*r.events[1].p90_delay_s == Approx(-3600.0));  // delays -3900 and -3600
    CHECK(*r.events[1].median_delay_s == Approx(-3750.0));
    CHECK(r.false_alerts == 3);
    CHECK(r.false_by_rule.count("glucose_low") == 0);
  }
  SECTION("grace extends the window after the end") {
    // An extra SpO2 alert of p002 at 3:14, 4 min after the end of its 3:00-3:10 desaturation:
    // false without grace, matched with 5 min of grace.
    auto more = alerts;
    more.push_back(make_alert("p002", "spo2_low2", core::vital_kind::spo2, at(3, 14), at(3, 15)));
    CHECK(sim::evaluate(labels, more).false_alerts == 5);
    sim::eval_options o;
    o.grace = minutes(5);
    const auto r = sim::evaluate(labels, more, o);
    CHECK(r.false_alerts == 4);
    CHECK(r.events[0].alerts == 4);
  }
}

TEST_CASE("median and p90 follow the documented definitions") {
  sim::label_set set;
  set.name = "ten.jsonl";
  set.run.patients = {"p001"};
  set.run.start = t0;
  set.run.end = t0 + hours(24);
  std::vector<sim::eval_alert> alerts;
  // Ten events with delays 1..10 s (in reverse order, to check sorting), an 11th missed one.
  for (int i = 10; i >= 1; --i) {
    set.labels.push_back(make_label(sim::label_type::event, "p001", "tachycardia",
                                    core::vital_kind::heart_rate, at(i), at(i, 10), true));
    alerts.push_back(
        make_alert("p001", "hr_high", core::vital_kind::heart_rate, at(i, 0, i), at(i, 1)));
  }
  set.labels.push_back(make_label(sim::label_type::event, "p001", "tachycardia", std::nullopt,
                                  at(20), at(20, 10), false));
  const auto r = sim::evaluate(set, alerts);
  REQUIRE(r.events.size() == 1);
  const auto& row = r.events[0];
  CHECK(row.vital == "mixed");
  CHECK(row.actionable == "mixed");
  CHECK(row.events == 11);
  CHECK(row.detected == 10);
  CHECK(row.missed == 1);
  CHECK(*row.median_delay_s == Approx(5.5));  // mean of the 5th and 6th
  CHECK(*row.p90_delay_s == Approx(9.0));     // ceil(0.9 * 10) = 9th smallest
  CHECK(r.false_alerts == 0);
  CHECK(r.patient_days == Approx(1.0));

  // Odd n: 9 detections -> median the 5th, p90 ceil(8.1) = 9th.
  alerts.erase(alerts.begin());  // drop the 10 s one
  const auto odd = sim::evaluate(set, alerts);
  CHECK(*odd.events[0].median_delay_s == Approx(5.0));
  CHECK(*odd.events[0].p90_delay_s == Approx(9.0));
  CHECK(sim::to_json(odd).find("\"median_delay_s\": 5.0") != std::string::npos);
}

#ifdef VITALS_EVAL_PATH
using vitals::eval_test::run_eval;

TEST_CASE("vitals-eval command line") {
  temp_dir dir;
  const auto labels = dir.file("labels.jsonl");
  const auto alerts = dir.file("alerts.jsonl");
  const auto out = dir.file("out.json");
  const auto err = dir.file("err.txt");
  write_file(labels, labels_jsonl(handmade_labels()));
  write_file(alerts, alerts_jsonl(handmade_alerts()));
  write_db(dir.file("vitalsd.db"), handmade_alerts());

  SECTION("JSON output parses and has the figures; --db gives the same") {
    REQUIRE(
        run_eval("--labels '" + labels + "' --alerts '" + alerts + "' --json --out '" + out + "'",
                 err) == 0);
    const auto text = read_file(out);
    const auto j = nlohmann::json::parse(text);
    CHECK(j["false_alerts"]["total"] == 4);
    CHECK(j["events"][0]["p90_delay_s"].get<double>() == Approx(40.0));
    REQUIRE(run_eval("--labels '" + labels + "' --db '" + dir.file("vitalsd.db") +
                         "' --format json --out '" + out + "'",
                     err) == 0);
    CHECK(read_file(out) == text);
  }
  SECTION("table output, lead given in seconds") {
    REQUIRE(run_eval("--labels '" + labels + "' --alerts '" + alerts + "' --lead 1800 --out '" +
                         out + "'",
                     err) == 0);
    CHECK_THAT(read_file(out), Contains("desaturation"));
    CHECK_THAT(read_file(out), Contains("lead 30m0s"));
  }
  SECTION("a bad labels line exits 2 and names file and line") {
    write_file(labels, labels_jsonl(handmade_labels()) + R"({"type":"event","patient":"p001"})");
    CHECK(run_eval("--labels '" + labels + "' --alerts '" + alerts + "'", err) == 2);
    CHECK_THAT(read_file(err), Contains(labels + ":14: key 'kind': missing"));
  }
  SECTION("bad options exit 2; a missing file exits 1") {
    CHECK(run_eval("--labels '" + labels + "' --alerts '" + alerts + "' --lead 5x", err) == 2);
    CHECK(run_eval("--labels '" + labels + "'", err) == 2);
    CHECK(run_eval("--labels '" + labels + "' --alerts '" + dir.file("nope") + "'", err) == 1);
  }
}
#endif

}  // namespace eval_test
