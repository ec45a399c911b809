// Tests of vitals-sim's scenarios, generator, delivery faults, payloads and run loop; no broker
// needed. The models have their own tests (cardio_model_test, glucose_model_test).

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <vitals/adapters/common/topic_template.hpp>
#include <vitals/adapters/mqtt/json_decoder.hpp>
#include <vitals/core/stats.hpp>
#include <vitals/simulators/generator.hpp>
#include <vitals/simulators/options.hpp>
#include <vitals/simulators/runner.hpp>
#include <vitals/simulators/scenario.hpp>

namespace sim = vitals::simulators;
using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;
using vitals::core::timestamp;

// A namespace of its own: the sanitizer presets are unity builds (tests/README.md).
namespace generator_test {
namespace {

// 2026-01-01T00:00:00Z: a fixed start, so that streams are comparable byte for byte.
const timestamp t0{milliseconds(1767225600000)};

sim::run_overrides run_at(std::uint64_t seed, milliseconds duration) {
  sim::run_overrides r;
  r.seed = seed;
  r.duration = duration;
  r.start = t0;
  r.now = t0;
  r.speed = sim::speed_max;
  return r;
}

sim::generator_options demo(std::uint64_t seed, int patients, milliseconds duration) {
  sim::generator_options o;
  o.plan = sim::demo_scenario(patients, {}, run_at(seed, duration));
  return o;
}

sim::generator_options plain(std::uint64_t seed, int patients, milliseconds duration,
                             std::vector<sim::profile_kind> mix = {}) {
  sim::generator_options o;
  o.plan = sim::plain_scenario(patients, mix, run_at(seed, duration));
  return o;
}

sim::generator_options from_toml(const std::string& text, std::uint64_t seed,
                                 milliseconds duration) {
  sim::generator_options o;
  o.plan = sim::parse_scenario(text, "test.toml", run_at(seed, duration));
  return o;
}

struct stream {
  std::vector<sim::message> messages;
  std::vector<sim::label> labels;
};

stream generate(sim::generator_options o) {
  sim::message_generator gen(std::move(o));
  stream s;
  while (gen.next_tick(s.messages, s.labels)) {
  }
  gen.finish(s.messages, s.labels);
  return s;
}

std::vector<const sim::message*> select(const stream& s, const std::string& device) {
  std::vector<const sim::message*> out;
  for (const auto& m : s.messages) {
    if (m.device == device) out.push_back(&m);
  }
  return out;
}

const sim::label* find_label(const stream& s, const std::string& patient, const std::string& kind) {
  for (const auto& l : s.labels) {
    if (l.patient == patient && l.kind == kind) return &l;
  }
  return nullptr;
}

std::string message_text(const stream& s) {
  std::string all;
  for (const auto& m : s.messages) all += m.topic + ' ' + m.payload + '\n';
  return all;
}

std::string label_text(const stream& s) {
  std::string all;
  for (const auto& l : s.labels) all += sim::to_json(l) + '\n';
  return all;
}

std::string problems(const std::string& text) {
  try {
    (void)sim::parse_scenario(text, "bad.toml", run_at(1, hours(24)));
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("sim: the same seed gives a byte-identical stream, another seed a different one",
          "[sim]") {
  const auto a = generate(demo(5, 3, hours(3)));
  const auto b = generate(demo(5, 3, hours(3)));
  const auto c = generate(demo(6, 3, hours(3)));
  CHECK(message_text(a) == message_text(b));
  CHECK(label_text(a) == label_text(b));
  CHECK(message_text(a) != message_text(c));

  // Adding patients does not change the others' streams (each has its own random stream).
  const auto three = generate(plain(9, 3, minutes(20)));
  const auto five = generate(plain(9, 5, minutes(20)));
  for (const auto* device : {"p001-ox", "p002-ox", "p002-cgm", "p003-ox"}) {
    INFO(device);
    std::string x, y;
    for (const auto* m : select(three, device)) x += m->payload;
    for (const auto* m : select(five, device)) y += m->payload;
    CHECK(!x.empty());
    CHECK(x == y);
  }
}

TEST_CASE("sim: the demo desaturates p001 and gives p002 a labelled hypoglycaemia", "[sim]") {
  const auto s = generate(demo(1, 3, hours(4)));
  const auto* desat = find_label(s, "p001", "desaturation");
  REQUIRE(desat);
  CHECK(desat->type == sim::label_type::event);
  CHECK(desat->actionable);
  CHECK(desat->start == t0 + minutes(2));
  REQUIRE(desat->crossed);
  // The readings show it: SpO2 below 88 for about a minute and a half after onset.
  int below = 0;
  for (const auto* m : select(s, "p001-ox")) {
    if (m->spo2 > 0 && m->spo2 < 88) ++below;
  }
  CHECK(below >= 60);
  CHECK(below <= 150);

  const auto* cause = find_label(s, "p002", "insulin_overdose");
  REQUIRE(cause);
  CHECK(cause->type == sim::label_type::cause);
  CHECK(cause->start == t0 + minutes(10));
  const auto* hypo = find_label(s, "p002", "hypoglycaemia_level1");
  REQUIRE(hypo);
  CHECK(hypo->cause == "insulin_overdose");
  CHECK(hypo->start > cause->start);
  CHECK(hypo->start < cause->start + hours(3));
  // The CGM readings follow: some below 70 inside the labelled window.
  int low = 0;
  for (const auto* m : select(s, "p002-cgm")) {
    if (m->glucose_mgdl < 70 && m->ts >= hypo->start && m->ts <= hypo->end) ++low;
  }
  CHECK(low >= 2);
  // p003 has no events.
  for (const auto& l : s.labels) {
    if (l.patient == "p003") CHECK(l.type == sim::label_type::cause);
  }
}

TEST_CASE("sim: the demo's hypoglycaemia comes whatever the time of day it is run", "[sim]") {
  // Started at 06:30 or 17:30 on the patients' own clock, a routine meal would cancel the
  // overdose; the demo therefore runs its patients on a clock that reads 09:30 at the start.
  for (const int hour : {0, 6, 7, 12, 17, 18, 21}) {
    INFO("start at " << hour << ":30 UTC");
    sim::run_overrides r = run_at(11, hours(3));
    r.start = t0 + hours(hour) + minutes(30);
    sim::generator_options o;
    o.plan = sim::demo_scenario(3, {}, r);
    const auto s = generate(std::move(o));
    const auto* hypo = find_label(s, "p002", "hypoglycaemia_level1");
    REQUIRE(hypo);
    CHECK(hypo->cause == "insulin_overdose");
    CHECK(hypo->start < *r.start + hours(3));
  }
}

TEST_CASE("sim: messages have the documented topics, ids and payloads", "[sim]") {
  const stream s = generate(plain(1, 4, minutes(6)));
  std::map<std::string, std::uint64_t> last_seq;
  std::map<std::string, int> count;
  for (const auto& m : s.messages) {
    const auto j = nlohmann::json::parse(m.payload);
    CHECK(j.at("device") == m.device);
    CHECK(j.at("ts") == m.ts.time_since_epoch().count());
    CHECK(j.at("seq") == m.seq);
    CHECK(m.seq == ++last_seq[m.device]);  // 1, 2, 3 ... per device, no gaps
    CHECK(m.topic == "vitals/" + m.patient + "/" + m.device);
    CHECK(m.ts == t0 + m.elapsed);
    ++count[m.device];
    if (m.type == sim::device_type::oximeter) {
      CHECK(j.size() == 5);
      CHECK(j.at("hr") == m.hr);
      CHECK(j.at("spo2") == m.spo2);
    } else {
      CHECK(j.size() == 4);
      CHECK(j.at("glucose").is_number_integer());
      CHECK(j.at("glucose") == static_cast<int>(m.glucose_mgdl));
    }
  }
  // Healthy and t1d patients in turn; only the t1d wear a CGM (every 5 minutes, own phase).
  CHECK(count.at("p001-ox") == 360);
  CHECK(count.count("p001-cgm") == 0);
  CHECK(count.at("p002-cgm") >= 1);
  CHECK(count.at("p002-cgm") <= 2);
  CHECK(count.at("p004-ox") == 360);
  CHECK(s.messages.front().payload.rfind(R"({"device":"p001-ox","ts":1767225600000,"seq":1,"hr":)",
                                         0) == 0);
}

TEST_CASE("sim: Open mHealth output is one data point per vital", "[sim]") {
  sim::generator_options o = plain(2, 2, minutes(10));
  for (auto& p : o.plan.patients) p.output = sim::output_format::omh;
  o.plan.unit = sim::glucose_unit::mmol_l;
  const stream s = generate(o);
  int hr = 0, spo2 = 0, glucose = 0;
  for (const auto& m : s.messages) {
    const auto j = nlohmann::json::parse(m.payload);
    REQUIRE(m.vital);
    const auto& h = j.at("header");
    CHECK(h.at("user_id") == m.patient);
    CHECK(h.at("acquisition_provenance").at("source_name") == m.device);
    CHECK(h.at("schema_id").at("namespace") == "omh");
    const auto& body = j.at("body");
    CHECK(body.at("effective_time_frame").at("date_time") == sim::format_rfc3339(m.ts));
    switch (*m.vital) {
      case vitals::core::vital_kind::heart_rate:
        ++hr;
        CHECK(h.at("schema_id").at("name") == "heart-rate");
        CHECK(body.at("heart_rate").at("value") == m.hr);
        CHECK(body.at("heart_rate").at("unit") == "beats/min");
        break;
      case vitals::core::vital_kind::spo2:
        ++spo2;
        CHECK(h.at("schema_id").at("name") == "oxygen-saturation");
        CHECK(body.at("oxygen_saturation").at("value") == m.spo2);
        break;
      case vitals::core::vital_kind::glucose:
        ++glucose;
        CHECK(h.at("schema_id").at("name") == "blood-glucose");
        CHECK(h.at("schema_id").at("version") == "4.0");
        CHECK(body.at("blood_glucose").at("unit") == "mmol/L");
        CHECK(body.at("blood_glucose").at("value").get<double>() *
                  vitals::core::glucose_mgdl_per_mmol ==
              Approx(m.glucose_mgdl));
        break;
    }
  }
  CHECK(hr == 1200);
  CHECK(spo2 == 1200);
  CHECK(glucose >= 1);
}

TEST_CASE("sim: vitalsd's decoder accepts every generated compact message", "[sim]") {
  namespace mq = vitals::adapters::mqtt;
  vitals::core::stats stats;
  mq::json_decoder decoder(mq::decoder_options{}, stats);
  const vitals::adapters::common::topic_template tmpl("vitals/{patient}/{device}");
  for (const auto unit : {sim::glucose_unit::mg_dl, sim::glucose_unit::mmol_l}) {
    sim::generator_options o = demo(3, 3, minutes(25));
    o.plan.unit = unit;
    const stream s = generate(o);
    std::vector<vitals::core::sample> out;
    for (const auto& m : s.messages) {
      const auto fields = tmpl.match(m.topic);
      REQUIRE(fields);
      mq::decode_context ctx;
      ctx.patient = fields->patient;
      ctx.device = fields->device;
      ctx.receive_time = m.ts + seconds(1);
      out.clear();
      const auto st = decoder.decode(m.payload, ctx, out);
      INFO(m.payload << " -> " << decoder.last_error());
      REQUIRE(st.ok());
      REQUIRE(out.size() == (m.type == sim::device_type::oximeter ? 2u : 1u));
      CHECK(out[0].patient.view() == m.patient);
      CHECK(out[0].sequence == m.seq);
      if (m.type == sim::device_type::cgm) CHECK(out[0].value == Approx(m.glucose_mgdl));
    }
  }
  CHECK(sim::cgm_payload("x", t0, 3, 112.0, sim::glucose_unit::mmol_l) ==
        R"({"device":"x","ts":1767225600000,"seq":3,"glucose":{"value":6.2,"unit":"mmol/L"}})");
  CHECK(sim::cgm_payload("x", t0, 3, 111.6, sim::glucose_unit::mg_dl) ==
        R"({"device":"x","ts":1767225600000,"seq":3,"glucose":112})");
}

TEST_CASE("sim: delivery faults change delivery, not readings, and are labelled", "[sim]") {
  const std::string text = R"(
    [[patient]]
    profile = "t1d"
    events = [
      { kind = "dropout", device = "ox", at = "10m", duration = "2m" },
      { kind = "late", device = "cgm", at = "20m", duration = "30m" },
      { kind = "out_of_order", device = "ox", at = "60m", duration = "10s" },
      { kind = "duplicate", device = "ox", at = "70m", duration = "5s" },
      { kind = "clock_skew", device = "ox", at = "80m", duration = "1m", offset = "-3m" },
      { kind = "gateway_disconnect", at = "90m", duration = "1m" },
    ]
  )";
  const stream s = generate(from_toml(text, 4, hours(2)));
  const auto ox = select(s, "p001-ox");
  const auto in = [](const sim::message* m, minutes from, milliseconds length) {
    return m->elapsed >= from && m->elapsed < from + length;
  };
  // Dropout: 120 readings lost, nothing else.
  CHECK(std::none_of(ox.begin(), ox.end(),
                     [&](const auto* m) { return in(m, minutes(10), minutes(2)); }));
  // Gateway disconnect with backfill: the minute's readings arrive, after it, in order.
  std::vector<const sim::message*> held;
  for (std::size_t i = 0; i < ox.size(); ++i) {
    if (in(ox[i], minutes(90), minutes(1))) held.push_back(ox[i]);
  }
  REQUIRE(held.size() == 60);
  CHECK(std::all_of(held.begin(), held.end(), [](const auto* m) { return m->delayed; }));
  // Out of order: pairs swapped inside the window.
  std::vector<std::uint64_t> seqs;
  for (const auto* m : ox) {
    if (in(m, minutes(60), seconds(10))) seqs.push_back(m->seq);
  }
  REQUIRE(seqs.size() == 10);
  CHECK_FALSE(std::is_sorted(seqs.begin(), seqs.end()));
  CHECK(std::set<std::uint64_t>(seqs.begin(), seqs.end()).size() == 10);
  // Duplicates: every reading of the window twice.
  int dups = 0;
  for (const auto* m : ox) {
    if (m->duplicate) {
      ++dups;
      CHECK(in(m, minutes(70), seconds(5)));
    }
  }
  CHECK(dups == 5);
  // Clock skew: device time 3 minutes behind during the window.
  for (const auto* m : ox) {
    if (in(m, minutes(80), minutes(1))) {
      CHECK(m->ts == t0 + m->elapsed - minutes(3));
    } else {
      CHECK(m->ts == t0 + m->elapsed);
    }
  }
  // Late CGM readings are held and delivered together after the window, in order.
  const auto cgm = select(s, "p001-cgm");
  std::vector<std::size_t> late_positions;
  for (std::size_t i = 0; i < s.messages.size(); ++i) {
    const auto& m = s.messages[i];
    if (m.device == "p001-cgm" && m.elapsed >= minutes(20) && m.elapsed < minutes(50)) {
      CHECK(m.delayed);
      late_positions.push_back(i);
    }
  }
  REQUIRE(late_positions.size() == 6);
  for (std::size_t k = 1; k < late_positions.size(); ++k) {
    CHECK(late_positions[k] == late_positions[k - 1] + 1);  // delivered as one burst
  }
  CHECK(s.messages[late_positions.front() - 1].elapsed >= minutes(50));
  // Every fault has an artifact label with its window.
  for (const auto* kind :
       {"dropout", "late", "out_of_order", "duplicate", "clock_skew", "gateway_disconnect"}) {
    INFO(kind);
    const auto* l = find_label(s, "p001", kind);
    REQUIRE(l);
    CHECK(l->type == sim::label_type::artifact);
    CHECK_FALSE(l->actionable);
  }
  CHECK(find_label(s, "p001", "late")->device == "p001-cgm");
  CHECK(find_label(s, "p001", "late")->vital == vitals::core::vital_kind::glucose);
  CHECK(find_label(s, "p001", "dropout")->start == t0 + minutes(10));
  CHECK(find_label(s, "p001", "dropout")->end == t0 + minutes(12));
  CHECK(find_label(s, "p001", "gateway_disconnect")->device.empty());
}

TEST_CASE("sim: out_of_order swaps whole readings, also of Open mHealth oximeters", "[sim]") {
  const std::string text = R"(
    [[patient]]
    output = "omh"
    events = [
      { kind = "out_of_order", at = "10s", duration = "6s" },
      { kind = "duplicate", at = "12s", duration = "2s" },
    ]
  )";
  const stream s = generate(from_toml(text, 4, seconds(30)));
  std::vector<std::uint64_t> seqs;  // one entry per reading, in delivery order
  int copies = 0;
  for (std::size_t i = 0; i < s.messages.size(); ++i) {
    const auto& m = s.messages[i];
    if (m.duplicate) ++copies;
    if (m.duplicate || m.vital != vitals::core::vital_kind::heart_rate) continue;
    seqs.push_back(m.seq);
    // Each reading's SpO2 data point follows its HR data point (after the HR copy, if any).
    const auto& next = s.messages[i + (s.messages[i + 1].duplicate ? 2 : 1)];
    CHECK(next.vital == vitals::core::vital_kind::spo2);
    CHECK(next.seq == m.seq);
  }
  REQUIRE(seqs.size() == 30);
  CHECK(seqs[10] == 12);  // readings 11..16 (seconds 10-15) arrive as 12, 11, 14, 13, 16, 15
  CHECK(seqs[11] == 11);
  CHECK(seqs[12] == 14);
  CHECK(seqs[13] == 13);
  CHECK(seqs[14] == 16);
  CHECK(seqs[15] == 15);
  CHECK(copies == 4);  // the two readings of the duplicate window, both data points, once more
}

TEST_CASE("sim: scenario files place events, draw rates from the seed and number patients",
          "[sim]") {
  const std::string text = R"(
    name = "unit"
    seed = 3
    duration = "2d"
    [[patient]]
    id = "alice"
    profile = "copd"
    events = [{ kind = "desaturation", at = "1h", level = 80, duration = "2m" }]
    [[cohort]]
    profile = "t1d"
    count = 3
    rates = { insulin_overdose = 1.0, motion = 5, compression_low = 1 }
  )";
  sim::run_overrides r;
  r.now = t0;
  r.start = t0;
  r.speed = sim::speed_max;
  const auto a = sim::parse_scenario(text, "unit.toml", r);
  CHECK(a.name == "unit");
  CHECK(a.seed == 3);
  REQUIRE(a.duration);
  CHECK(*a.duration == hours(48));
  REQUIRE(a.patients.size() == 4);
  CHECK(a.patients[0].id == "alice");
  CHECK(a.patients[0].profile == sim::profile_kind::copd);
  REQUIRE(a.patients[0].cardio_events.size() == 1);
  CHECK(a.patients[0].cardio_events[0].at == hours(1));
  CHECK(a.patients[0].cardio_events[0].level == 80.0);
  CHECK(a.patients[1].id == "p002");
  CHECK(a.patients[3].id == "p004");
  std::size_t overdoses = 0, motion = 0, compression = 0;
  for (std::size_t i = 1; i < 4; ++i) {
    overdoses += a.patients[i].glucose_events.size();
    motion += a.patients[i].oximeter_artifacts.size();
    compression += a.patients[i].cgm_artifacts.size();
    CHECK(a.patients[i].glucose_params == i - 1);  // different virtual adults
  }
  CHECK(overdoses >= 1);  // 6 expected over 3 patient-days x 2 (kept apart by 6 h)
  CHECK(motion >= 10);    // 30 expected
  CHECK(compression >= 1);
  // Same seed, same schedule; --seed overrides the file's.
  const auto b = sim::parse_scenario(text, "unit.toml", r);
  CHECK(b.patients[2].oximeter_artifacts.size() == a.patients[2].oximeter_artifacts.size());
  CHECK(b.patients[2].oximeter_artifacts[0].at == a.patients[2].oximeter_artifacts[0].at);
  r.seed = 4;
  const auto c = sim::parse_scenario(text, "unit.toml", r);
  CHECK(c.seed == 4);
  bool differs = c.patients[2].oximeter_artifacts.size() != a.patients[2].oximeter_artifacts.size();
  for (std::size_t i = 0; !differs && i < c.patients[2].oximeter_artifacts.size(); ++i) {
    differs = c.patients[2].oximeter_artifacts[i].at != a.patients[2].oximeter_artifacts[i].at;
  }
  CHECK(differs);
}

TEST_CASE("sim: a broken scenario file names file, line and key for every mistake", "[sim]") {
  const auto p = problems(R"(
name = "x"
colour = "blue"
[[patient]]
profile = "healthy"
events = [{ kind = "insulin_overdose", at = "1h" }, { kind = "sneeze", at = "2h" }]
[[cohort]]
profile = "robot"
rates = { motion = -1 }
)");
  INFO(p);
  CHECK(p.find("bad.toml:3:1: key 'colour': unknown key") != std::string::npos);
  CHECK(p.find("insulin_overdose needs a CGM") != std::string::npos);
  CHECK(p.find("bad.toml:6:") != std::string::npos);
  CHECK(p.find("unknown kind 'sneeze'") != std::string::npos);
  CHECK(p.find("key 'cohort[0].profile': unknown profile 'robot'") != std::string::npos);
  CHECK(p.find("key 'cohort[0].count': missing") != std::string::npos);
  CHECK(p.find("key 'cohort[0].rates.motion'") != std::string::npos);
  CHECK(problems("[[patient]]\nevents = [{ kind = \"motion\" }]\n").find("at': missing") !=
        std::string::npos);
  CHECK(problems("this is not toml").find("bad.toml:1:") == 0);
  CHECK(problems("[[patient]]\nid = \"a/b\"\n").find("key 'patient[0].id': expected 1-40") !=
        std::string::npos);
  // A kind that needs a CGM fails for other profiles whatever the seed draws.
  CHECK(problems("[[cohort]]\ncount = 1\nprofile = \"copd\"\nrates = { compression_low = 0.01 }\n")
            .find("key 'cohort[0].rates.compression_low': needs a CGM") != std::string::npos);
  CHECK(problems("utc_offset = \"+-1:00\"\n[[patient]]\n").find("key 'utc_offset'") !=
        std::string::npos);
  CHECK(problems("[[patient]]\nprofile = \"t1d\"\nglucose_params = 12\n")
            .find("key 'patient[0].glucose_params': expected an integer 0..9") !=
        std::string::npos);
  CHECK(problems("[[patient]]\nprofile = \"t1d\"\nevents = [{ kind = \"insulin_overdose\", "
                 "at = \"1h\", magnitude = -3 }]\n")
            .find("magnitude': expected 0") != std::string::npos);
  CHECK(problems("name = \"empty\"\n").find("nobody to simulate") != std::string::npos);
}

TEST_CASE("sim: the shipped scenario files load", "[sim]") {
  for (const auto* name : {"ward-day.toml", "eval-week.toml"}) {
    INFO(name);
    sim::run_overrides r;
    r.now = t0;
    r.speed = sim::speed_max;
    const auto s = sim::load_scenario(std::string(VITALS_SCENARIO_DIR) + "/" + name, r);
    CHECK(s.patients.size() >= 6);
    REQUIRE(s.duration);
    // Fixed, so that the time-of-day placement is the same on every run.
    CHECK(s.start == sim::parse_start("2026-01-05T00:00:00Z", t0));
  }
}

TEST_CASE("sim: --duplicate-every re-sends every Nth reading of each oximeter unchanged", "[sim]") {
  sim::generator_options o = plain(1, 3, minutes(2));
  o.duplicate_every = 7;
  const stream s = generate(o);
  std::map<std::string, int> dups;
  std::uint64_t ox = 0;
  for (std::size_t i = 0; i < s.messages.size(); ++i) {
    const auto& m = s.messages[i];
    if (m.duplicate) {
      ++dups[m.device];
      REQUIRE(i > 0);
      CHECK(m.payload == s.messages[i - 1].payload);
      CHECK(m.seq % 7 == 0);
    } else if (m.type == sim::device_type::oximeter) {
      ++ox;
    }
  }
  CHECK(ox == 360);
  // Per device, so that adding patients does not move anyone's duplicates.
  CHECK(dups == std::map<std::string, int>{{"p001-ox", 17}, {"p002-ox", 17}, {"p003-ox", 17}});
}

TEST_CASE("sim: command-line values parse as documented", "[sim]") {
  CHECK(sim::parse_duration("30s") == seconds(30));
  CHECK(sim::parse_duration("1h30m") == minutes(90));
  CHECK(sim::parse_duration("1d") == hours(24));
  CHECK(sim::parse_duration("45") == seconds(45));
  CHECK_FALSE(sim::parse_duration("10x"));
  CHECK_FALSE(sim::parse_duration("0s"));
  CHECK(sim::parse_speed("max") == sim::speed_max);
  CHECK_FALSE(sim::parse_speed("0"));
  const timestamp now{milliseconds(1800000000000)};
  CHECK(sim::parse_start("2026-01-01T01:00:00+01:00", now) == t0);
  CHECK(sim::default_start(now, 20.0, hours(2)) == now - hours(2));
  CHECK(sim::default_start(now, 1.0, hours(2)) == now);
  CHECK(sim::format_rfc3339(t0 + milliseconds(250)) == "2026-01-01T00:00:00.250Z");
  CHECK(sim::patient_id(1234) == "p1234");
}

TEST_CASE("sim: the run loop writes the run record, labels, true values and stops on request",
          "[sim]") {
  spdlog::set_level(spdlog::level::warn);  // the loop's info lines are noise here
  sim::run_options ro;
  ro.speed = sim::speed_max;
  {
    sim::message_generator gen(demo(1, 2, minutes(5)));
    std::ostringstream out, labels, truth;
    sim::stream_sink sink(out);
    sim::stop_signal stop;
    const auto r = sim::run(gen, sink, &labels, ro, stop, &truth);
    CHECK_FALSE(r.stopped);
    CHECK(r.simulated == minutes(5));
    CHECK(r.delivered == r.published);
    std::vector<nlohmann::json> lines;
    std::istringstream in(labels.str());
    for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::json::parse(line));
    REQUIRE(lines.size() >= 3);
    CHECK(lines.front().at("type") == "run");
    CHECK(lines.front().at("patients") == nlohmann::json::array({"p001", "p002"}));
    CHECK(lines.front().at("start") == t0.time_since_epoch().count());
    CHECK(lines.back().at("type") == "run_end");
    CHECK(lines.back().at("end") == (t0 + minutes(5)).time_since_epoch().count());
    CHECK(r.labels == lines.size() - 2);
    // Truth: a header, then HR and SpO2 of both oximeters each second, plus the CGM readings.
    const std::string t = truth.str();
    CHECK(t.rfind("time_ms,patient,device,vital,true,reading\n", 0) == 0);
    const auto rows = std::count(t.begin(), t.end(), '\n') - 1;
    CHECK(rows >= 2 * 2 * 300 + 1);
    CHECK(rows <= 2 * 2 * 300 + 2);
  }
  {
    sim::generator_options o = plain(1, 1, hours(1));
    o.plan.duration.reset();
    sim::message_generator gen(std::move(o));
    std::ostringstream out;
    sim::stream_sink sink(out);
    sim::stop_signal stop;
    stop.request_stop();
    const auto r = sim::run(gen, sink, nullptr, ro, stop);
    CHECK(r.stopped);
    CHECK(r.published == 0);
  }
  spdlog::set_level(spdlog::level::info);
}

}  // namespace generator_test
