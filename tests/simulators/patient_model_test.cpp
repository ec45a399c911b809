// Tests of vitals-sim's models, event schedule, generator and run loop; no broker needed.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <vitals/adapters/mqtt/json_decoder.hpp>
#include <vitals/adapters/mqtt/topic_template.hpp>
#include <vitals/core/stats.hpp>
#include <vitals/simulators/generator.hpp>
#include <vitals/simulators/options.hpp>
#include <vitals/simulators/patient_model.hpp>
#include <vitals/simulators/runner.hpp>
#include <vitals/simulators/scenario.hpp>

namespace sim = vitals::simulators;
using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;
using vitals::core::timestamp;

namespace {

// 2026-01-01T00:00:00Z: a fixed start, so that streams are comparable byte for byte.
const timestamp t0{milliseconds(1767225600000)};

sim::generator_options options(std::uint64_t seed, int patients, milliseconds duration,
                               bool events) {
  sim::generator_options o;
  o.seed = seed;
  o.patients = patients;
  o.start = t0;
  o.duration = duration;
  o.events = sim::make_scenario(events ? "demo" : "none", patients);
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
  return s;
}

/// Runs a generator and hands every message to `visit` without keeping them (long runs).
template <class F>
std::vector<sim::label> visit_stream(sim::generator_options o, F visit) {
  sim::message_generator gen(std::move(o));
  std::vector<sim::message> batch;
  std::vector<sim::label> labels;
  while (true) {
    batch.clear();
    if (!gen.next_tick(batch, labels)) break;
    for (const auto& m : batch) visit(m);
  }
  return labels;
}

std::string concat(const stream& s) {
  std::string all;
  for (const auto& m : s.messages) {
    all += m.topic;
    all += ' ';
    all += m.payload;
    all += '\n';
  }
  return all;
}

std::vector<const sim::message*> select(const stream& s, const std::string& device) {
  std::vector<const sim::message*> out;
  for (const auto& m : s.messages) {
    if (m.device == device && !m.duplicate) out.push_back(&m);
  }
  return out;
}

const sim::label* find_label(const stream& s, const std::string& patient) {
  for (const auto& l : s.labels) {
    if (l.patient == patient) return &l;
  }
  return nullptr;
}

}  // namespace

TEST_CASE("sim: vitals stay physiological and inside the default alert limits over a day",
          "[sim]") {
  for (const std::uint64_t seed : {1ULL, 2ULL, 42ULL, 20261128ULL}) {
    INFO("seed " << seed);
    int hr_min = 1000, hr_max = 0, spo2_min = 1000, spo2_max = 0;
    double g_min = 1000, g_max = 0;
    std::uint64_t ox = 0, spo2_mid = 0, cgm = 0;
    std::map<std::string, std::pair<double, double>> glucose_span;  // per patient min, max
    int violations = 0;
    visit_stream(options(seed, 4, hours(24), false), [&](const sim::message& m) {
      if (m.type == sim::device_type::oximeter) {
        ++ox;
        hr_min = std::min(hr_min, m.hr);
        hr_max = std::max(hr_max, m.hr);
        spo2_min = std::min(spo2_min, m.spo2);
        spo2_max = std::max(spo2_max, m.spo2);
        if (m.spo2 >= 96 && m.spo2 <= 98) ++spo2_mid;
        // Default rules: HR < 50 or > 120, SpO2 < 90.
        if (m.hr < 50 || m.hr > 120 || m.spo2 < 90) ++violations;
      } else {
        ++cgm;
        g_min = std::min(g_min, m.glucose_mgdl);
        g_max = std::max(g_max, m.glucose_mgdl);
        auto& [lo, hi] = glucose_span.try_emplace(m.patient, 1000.0, 0.0).first->second;
        lo = std::min(lo, m.glucose_mgdl);
        hi = std::max(hi, m.glucose_mgdl);
        if (m.glucose_mgdl < 70 || m.glucose_mgdl > 250) ++violations;
      }
    });
    CHECK(ox == 4 * 86400);
    CHECK(cgm == 4 * 288);
    CHECK(violations == 0);
    // Physiological and plausible (reference/clinical.md), as the task describes them.
    CHECK(hr_min >= 52);
    CHECK(hr_max <= 95);
    CHECK(spo2_min >= 95);
    CHECK(spo2_max <= 99);
    CHECK(static_cast<double>(spo2_mid) / static_cast<double>(ox) > 0.8);
    CHECK(g_min >= 75);
    CHECK(g_max <= 210);
    // Alive, not flat: heart rate wanders, and every patient has at least one meal bump.
    CHECK(hr_max - hr_min >= 10);
    for (const auto& [patient, span] : glucose_span) {
      INFO(patient);
      CHECK(span.second - span.first >= 20.0);
    }
  }
}

TEST_CASE("sim: per-patient baselines are drawn from the seed within their ranges", "[sim]") {
  for (std::uint64_t seed = 1; seed <= 50; ++seed) {
    for (int i = 1; i <= 5; ++i) {
      sim::baseline_patient p(sim::patient_id(i), seed, {});
      const auto& t = p.traits();
      CHECK(t.hr_rest >= 62.0);
      CHECK(t.hr_rest <= 78.0);
      CHECK(t.spo2_base >= 96.6);
      CHECK(t.spo2_base <= 97.6);
      CHECK(t.glucose_base >= 95.0);
      CHECK(t.glucose_base <= 130.0);
    }
  }
  sim::baseline_patient a("p001", 1, {});
  sim::baseline_patient b("p002", 1, {});
  sim::baseline_patient c("p001", 2, {});
  CHECK(a.traits().hr_rest != b.traits().hr_rest);
  CHECK(a.traits().hr_rest != c.traits().hr_rest);
}

TEST_CASE("sim: demo desaturation of p001 happens on schedule and matches its label", "[sim]") {
  for (const std::uint64_t seed : {1ULL, 2ULL, 3ULL, 99ULL}) {
    INFO("seed " << seed);
    const stream s = generate(options(seed, 3, minutes(10), true));
    const sim::label* l = find_label(s, "p001");
    REQUIRE(l != nullptr);
    CHECK(l->kind == sim::event_kind::desaturation);
    CHECK(l->start == t0 + minutes(2));
    CHECK(l->end == t0 + minutes(2) + seconds(20 + 90 + 30));
    CHECK(l->actionable);
    CHECK(l->threshold == 90.0);
    REQUIRE(l->below_from);
    REQUIRE(l->below_until);

    const auto ox = select(s, "p001-ox");
    REQUIRE(ox.size() == 600);
    std::optional<timestamp> first_low, last_low;
    int nadir = 100;
    double hr_before = 0, hr_hold = 0;
    int n_before = 0, n_hold = 0;
    for (const auto* m : ox) {
      if (m->spo2 < 90) {
        if (!first_low) first_low = m->ts;
        last_low = m->ts;
        // Never below 90 outside the labelled event.
        CHECK(m->ts >= l->start);
        CHECK(m->ts < l->end);
      }
      nadir = std::min(nadir, m->spo2);
      if (m->elapsed >= seconds(60) && m->elapsed < seconds(120)) {
        hr_before += m->hr;
        ++n_before;
      }
      if (m->elapsed >= seconds(140) && m->elapsed < seconds(230)) {
        hr_hold += m->hr;
        ++n_hold;
        CHECK(m->spo2 <= 86);
      }
      if (m->elapsed >= seconds(290)) CHECK(m->spo2 >= 95);  // recovered
    }
    REQUIRE(first_low);
    // SpO2 falls below 90 during the 20 s fall that starts at minute 2 ...
    CHECK(*first_low >= t0 + seconds(125));
    CHECK(*first_low <= t0 + seconds(140));
    // ... where the label says (noise moves it by a second or two) ...
    CHECK(std::chrono::abs(*first_low - *l->below_from) <= seconds(3));
    CHECK(std::chrono::abs(*last_low - *l->below_until) <= seconds(3));
    // ... long enough for a 15 s alarm delay, and deep (84-85).
    CHECK(*last_low - *first_low >= seconds(95));
    CHECK(nadir >= 83);
    CHECK(nadir <= 85);
    // Heart rate rises about 10 bpm.
    CHECK(hr_hold / n_hold - hr_before / n_before >= 6.0);
  }
}

TEST_CASE("sim: demo hypoglycaemia of p002 happens on schedule and matches its label", "[sim]") {
  for (const std::uint64_t seed : {1ULL, 2ULL, 3ULL, 99ULL, 12345ULL}) {
    INFO("seed " << seed);
    const stream s = generate(options(seed, 3, hours(2), true));
    const sim::label* l = find_label(s, "p002");
    REQUIRE(l != nullptr);
    CHECK(l->kind == sim::event_kind::hypoglycaemia);
    CHECK(l->start == t0 + minutes(10));
    CHECK(l->end == t0 + minutes(10 + 12 + 28 + 20));
    CHECK(l->severity == "level2");
    CHECK(l->threshold == 70.0);
    REQUIRE(l->below_from);
    REQUIRE(l->below_until);

    const auto cgm = select(s, "p002-cgm");
    REQUIRE(cgm.size() == 24);
    std::optional<timestamp> first_low, first_l2, last_l2, last_low;
    double nadir = 1000;
    for (const auto* m : cgm) {
      if (m->glucose_mgdl < 70) {
        if (!first_low) first_low = m->ts;
        last_low = m->ts;
        CHECK(m->ts >= l->start);
        CHECK(m->ts < l->end);
      }
      if (m->glucose_mgdl < 54) {
        if (!first_l2) first_l2 = m->ts;
        last_l2 = m->ts;
      }
      nadir = std::min(nadir, m->glucose_mgdl);
    }
    REQUIRE(first_low);
    REQUIRE(first_l2);
    // The first CGM reading below 70 comes at simulated minute 15-20 ...
    CHECK(*first_low >= t0 + minutes(15));
    CHECK(*first_low <= t0 + minutes(20));
    // ... the first one after the labelled crossing (5-minute readings, noise ~1 minute) ...
    CHECK(*first_low >= *l->below_from - minutes(1));
    CHECK(*first_low <= *l->below_from + minutes(6));
    CHECK(*last_low <= *l->below_until + minutes(1));
    CHECK(*last_low >= *l->below_until - minutes(6));
    // ... below 54 for about 30 minutes, down to ~48, then back above 70.
    CHECK(*last_l2 - *first_l2 >= minutes(25));
    CHECK(*last_l2 - *first_l2 <= minutes(35));
    CHECK(nadir >= 44.0);
    CHECK(nadir <= 52.0);
    for (const auto* m : cgm) {
      if (m->ts >= l->end) CHECK(m->glucose_mgdl >= 70.0);
    }
  }
}

TEST_CASE("sim: in the demo the other patients stay normal", "[sim]") {
  const stream s = generate(options(7, 5, hours(3), true));
  CHECK(s.labels.size() == 2);
  for (const auto& m : s.messages) {
    if (m.patient == "p001" || m.patient == "p002") continue;
    if (m.type == sim::device_type::oximeter) {
      CHECK(m.spo2 >= 95);
      CHECK(m.hr > 50);
      CHECK(m.hr < 120);
    } else {
      CHECK(m.glucose_mgdl >= 70.0);
      CHECK(m.glucose_mgdl <= 250.0);
    }
  }
  // p001's glucose and p002's oxygenation are not touched either.
  for (const auto* m : select(s, "p001-cgm")) CHECK(m->glucose_mgdl >= 70.0);
  for (const auto* m : select(s, "p002-ox")) CHECK(m->spo2 >= 95);
}

TEST_CASE("sim: event times can be moved or switched off", "[sim]") {
  sim::generator_options o = options(1, 3, minutes(40), false);
  o.events = sim::make_scenario("demo", 3, {minutes(30), std::nullopt});
  const stream s = generate(o);
  REQUIRE(s.labels.size() == 1);
  CHECK(s.labels[0].patient == "p001");
  CHECK(s.labels[0].start == t0 + minutes(30));
  for (const auto* m : select(s, "p001-ox")) {
    if (m->elapsed < minutes(30)) CHECK(m->spo2 >= 95);
  }
  CHECK(sim::make_scenario("demo", 1).events.size() == 1);  // no p002 to give the hypo to
  CHECK(sim::make_scenario("none", 3).events.empty());
  CHECK_THROWS_WITH(sim::make_scenario("sepsis", 3), Catch::Contains("'sepsis'"));
  // An event that starts after the run ends is never labelled.
  const stream short_run = generate(options(1, 3, minutes(1), true));
  CHECK(short_run.labels.empty());
}

TEST_CASE("sim: labels are compact JSON lines with the ground truth", "[sim]") {
  const stream s = generate(options(1, 3, minutes(20), true));
  REQUIRE(s.labels.size() == 2);
  const auto j = nlohmann::json::parse(sim::to_json(s.labels[0]));
  CHECK(j.at("patient") == "p001");
  CHECK(j.at("kind") == "desaturation");
  CHECK(j.at("start") == (t0 + minutes(2)).time_since_epoch().count());
  CHECK(j.at("end") == (t0 + seconds(260)).time_since_epoch().count());
  CHECK(j.at("severity") == "moderate");
  CHECK(j.at("actionable") == true);
  CHECK(j.at("vital") == "spo2");
  CHECK(j.at("threshold") == 90.0);
  CHECK(j.at("below_from").get<std::int64_t>() > j.at("start").get<std::int64_t>());
  CHECK(j.at("below_until").get<std::int64_t>() < j.at("end").get<std::int64_t>());
  const auto line = sim::to_json(s.labels[1]);
  CHECK(line.find('\n') == std::string::npos);
  CHECK(line.rfind(R"({"patient":"p002","kind":"hypoglycaemia","start":)", 0) == 0);
}

TEST_CASE("sim: the same seed gives a byte-identical stream, another seed a different one",
          "[sim]") {
  const std::string a = concat(generate(options(5, 4, hours(3), true)));
  const std::string b = concat(generate(options(5, 4, hours(3), true)));
  const std::string c = concat(generate(options(6, 4, hours(3), true)));
  REQUIRE(a.size() > 1000000);
  CHECK(a == b);
  CHECK(a != c);

  // Each patient and device has its own random stream: adding patients changes nobody else.
  const stream three = generate(options(5, 3, minutes(30), true));
  const stream four = generate(options(5, 4, minutes(30), true));
  std::string p001_three, p001_four;
  for (const auto& m : three.messages) {
    if (m.patient == "p001") p001_three += m.payload;
  }
  for (const auto& m : four.messages) {
    if (m.patient == "p001") p001_four += m.payload;
  }
  CHECK(p001_three == p001_four);
}

TEST_CASE("sim: messages have the documented topics, ids and payloads", "[sim]") {
  const stream s = generate(options(1, 12, minutes(6), false));
  REQUIRE(s.messages.size() == 12 * 360 + 12 * 2);
  const auto& first = s.messages[0];
  CHECK(first.topic == "vitals/p001/p001-ox");
  CHECK(first.payload.rfind(R"({"device":"p001-ox","ts":1767225600000,"seq":1,"hr":)", 0) == 0);
  CHECK(s.messages[1].topic == "vitals/p001/p001-cgm");
  CHECK(s.messages[1].payload.rfind(R"({"device":"p001-cgm","ts":1767225600000,"seq":1,"glucose":)",
                                    0) == 0);
  std::map<std::string, std::uint64_t> last_seq;
  for (const auto& m : s.messages) {
    const auto j = nlohmann::json::parse(m.payload);
    CHECK(j.at("device") == m.device);
    CHECK(j.at("ts") == m.ts.time_since_epoch().count());
    CHECK(j.at("seq") == m.seq);
    CHECK(m.seq == ++last_seq[m.device]);  // 1, 2, 3 ... per device, no gaps
    CHECK(m.topic == "vitals/" + m.patient + "/" + m.device);
    if (m.type == sim::device_type::oximeter) {
      CHECK(j.size() == 5);
      CHECK(j.at("hr") == m.hr);
      CHECK(j.at("spo2") == m.spo2);
      CHECK(m.ts == t0 + m.elapsed);
    } else {
      CHECK(j.size() == 4);
      CHECK(j.at("glucose").is_number_integer());
      CHECK(j.at("glucose") == static_cast<int>(m.glucose_mgdl));
      CHECK(m.elapsed % minutes(5) == milliseconds(0));
    }
  }
  CHECK(last_seq.at("p012-ox") == 360);
  CHECK(last_seq.at("p012-cgm") == 2);
}

TEST_CASE("sim: mmol/L payloads carry one decimal and a unit", "[sim]") {
  sim::generator_options o = options(1, 2, minutes(30), true);
  o.unit = sim::glucose_unit::mmol_l;
  o.topic_prefix = "ward7";
  const stream s = generate(o);
  int n = 0;
  for (const auto* m : select(s, "p002-cgm")) {
    ++n;
    CHECK(m->topic == "ward7/p002/p002-cgm");
    const auto j = nlohmann::json::parse(m->payload);
    const auto& g = j.at("glucose");
    CHECK(g.at("unit") == "mmol/L");
    const std::string text = m->payload.substr(m->payload.find(R"("value":)") + 8);
    const auto dot = text.find('.');
    REQUIRE(dot != std::string::npos);
    CHECK(text[dot + 2] == ',');  // exactly one decimal
    CHECK(g.at("value").get<double>() * vitals::core::glucose_mgdl_per_mmol ==
          Approx(m->glucose_mgdl));
  }
  CHECK(n == 6);
  CHECK(sim::cgm_payload("x", t0, 3, 112.0, sim::glucose_unit::mmol_l) ==
        R"({"device":"x","ts":1767225600000,"seq":3,"glucose":{"value":6.2,"unit":"mmol/L"}})");
  CHECK(sim::cgm_payload("x", t0, 3, 36.0, sim::glucose_unit::mmol_l).find(R"("value":2.0,)") !=
        std::string::npos);
  CHECK(sim::cgm_payload("x", t0, 3, 111.6, sim::glucose_unit::mg_dl) ==
        R"({"device":"x","ts":1767225600000,"seq":3,"glucose":112})");
}

TEST_CASE("sim: vitalsd's decoder accepts every generated message", "[sim]") {
  namespace mq = vitals::adapters::mqtt;
  vitals::core::stats stats;
  mq::json_decoder decoder(mq::decoder_options{}, stats);
  const mq::topic_template tmpl("vitals/{patient}/{device}");
  for (const auto unit : {sim::glucose_unit::mg_dl, sim::glucose_unit::mmol_l}) {
    sim::generator_options o = options(3, 3, minutes(25), true);
    o.unit = unit;
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
      CHECK(out[0].has_sequence);
      CHECK(out[0].sequence == m.seq);
      if (m.type == sim::device_type::cgm) CHECK(out[0].value == Approx(m.glucose_mgdl));
    }
  }
}

TEST_CASE("sim: --duplicate-every re-sends every Nth oximeter message unchanged", "[sim]") {
  sim::generator_options o = options(1, 3, minutes(2), false);
  o.duplicate_every = 7;
  const stream s = generate(o);
  std::uint64_t ox = 0, dups = 0;
  for (std::size_t i = 0; i < s.messages.size(); ++i) {
    const auto& m = s.messages[i];
    if (m.duplicate) {
      ++dups;
      REQUIRE(i > 0);
      CHECK(m.payload == s.messages[i - 1].payload);
      CHECK(m.topic == s.messages[i - 1].topic);
      CHECK(ox % 7 == 0);
      CHECK(m.type == sim::device_type::oximeter);
    } else if (m.type == sim::device_type::oximeter) {
      ++ox;
    }
  }
  CHECK(ox == 360);
  CHECK(dups == 360 / 7);
  // Without the option there are none.
  const stream plain = generate(options(1, 3, minutes(2), false));
  CHECK(std::none_of(plain.messages.begin(), plain.messages.end(),
                     [](const sim::message& m) { return m.duplicate; }));
}

TEST_CASE("sim: command-line values parse as documented", "[sim]") {
  CHECK(sim::parse_duration("30s") == seconds(30));
  CHECK(sim::parse_duration("10m") == minutes(10));
  CHECK(sim::parse_duration("2h") == hours(2));
  CHECK(sim::parse_duration("1d") == hours(24));
  CHECK(sim::parse_duration("1h30m") == minutes(90));
  CHECK(sim::parse_duration("250ms") == milliseconds(250));
  CHECK(sim::parse_duration("1.5h") == minutes(90));
  CHECK(sim::parse_duration("45") == seconds(45));
  CHECK_FALSE(sim::parse_duration(""));
  CHECK_FALSE(sim::parse_duration("10x"));
  CHECK_FALSE(sim::parse_duration("m"));
  CHECK_FALSE(sim::parse_duration("0s"));
  CHECK_FALSE(sim::parse_duration("-5"));

  CHECK(sim::parse_speed("1") == 1.0);
  CHECK(sim::parse_speed("20") == 20.0);
  CHECK(sim::parse_speed("max") == sim::speed_max);
  CHECK_FALSE(sim::parse_speed("0"));
  CHECK_FALSE(sim::parse_speed("fast"));
  CHECK_FALSE(sim::parse_speed("inf"));

  const timestamp now{milliseconds(1800000000000)};
  CHECK(sim::parse_start("now", now) == now);
  CHECK(sim::parse_start("1767225600000", now) == t0);
  CHECK(sim::parse_start("2026-01-01T00:00:00Z", now) == t0);
  CHECK(sim::parse_start("2026-01-01T01:00:00+01:00", now) == t0);
  CHECK_FALSE(sim::parse_start("yesterday", now));

  // Real time or endless: start now; fast with a duration: end at about now.
  CHECK(sim::default_start(now, 1.0, hours(2)) == now);
  CHECK(sim::default_start(now, 20.0, std::nullopt) == now);
  CHECK(sim::default_start(now, 20.0, hours(2)) == now - hours(2));
  CHECK(sim::default_start(now, sim::speed_max, hours(2)) == now - hours(2));

  CHECK(sim::format_rfc3339(t0 + milliseconds(250)) == "2026-01-01T00:00:00.250Z");
  CHECK(sim::format_duration(seconds(3723)) == "1h02m03s");
  CHECK(sim::patient_id(7) == "p007");
  CHECK(sim::patient_id(1234) == "p1234");
}

TEST_CASE("sim: the run loop paces, writes labels and stops on request", "[sim]") {
  spdlog::set_level(spdlog::level::warn);  // the loop's info lines are noise here
  sim::run_options ro;
  ro.speed = sim::speed_max;
  {
    sim::message_generator gen(options(1, 2, minutes(3), true));
    std::ostringstream out, labels;
    sim::stream_sink sink(out);
    sim::stop_signal stop;
    const auto r = sim::run(gen, sink, &labels, ro, stop);
    CHECK_FALSE(r.stopped);
    CHECK(r.published == 2 * 180 + 2 * 1);
    CHECK(r.delivered == r.published);
    CHECK(r.simulated == minutes(3));
    CHECK(r.labels == 1);  // p001's desaturation; p002's hypo starts after the run
    const std::string text = out.str();
    CHECK(std::count(text.begin(), text.end(), '\n') == 362);
    CHECK(text.rfind("vitals/p001/p001-ox {\"device\":\"p001-ox\"", 0) == 0);
    CHECK(labels.str().rfind(R"({"patient":"p001","kind":"desaturation")", 0) == 0);
  }
  {
    // 10 simulated seconds at 200x take 45 ms of wall time (the first tick goes at once).
    sim::message_generator gen(options(1, 1, seconds(10), false));
    std::ostringstream out;
    sim::stream_sink sink(out);
    sim::stop_signal stop;
    ro.speed = 200.0;
    const auto r = sim::run(gen, sink, nullptr, ro, stop);
    CHECK(r.wall_seconds >= 0.044);
    CHECK(r.published == 10 + 1);
  }
  {
    // A stop request ends an endless run.
    sim::generator_options o = options(1, 1, hours(1), false);
    o.duration.reset();
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
