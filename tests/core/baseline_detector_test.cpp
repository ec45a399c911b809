#include <vitals/core/baseline_detector.hpp>

#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

using namespace vitals::core;
using namespace std::chrono_literals;

// A namespace of its own: the sanitizer presets are unity builds (tests/README.md).
namespace baseline_detector_test {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

/// 2026-01-01T00:00:00Z, a midnight in UTC.
const timestamp t0{std::chrono::milliseconds(1'767'225'600'000)};

constexpr std::string_view hr_rule = baseline_detector::hr_rule;
constexpr std::string_view cardio_rule = baseline_detector::cardio_rule;

/// Deterministic noise in [-amp, amp].
double noise(std::int64_t i, double amp) {
  auto x = static_cast<std::uint64_t>(i) * 0x9E3779B97F4A7C15ULL;
  x ^= x >> 31;
  x *= 0xBF58476D1CE4E5B9ULL;
  x ^= x >> 27;
  return (static_cast<double>(x % 2001) / 1000.0 - 1.0) * amp;
}

struct vitals_at {
  double hr;
  double spo2;
};

/// The true HR and SpO2 at a (UTC) time.
using trace_fn = std::function<vitals_at(timestamp)>;

/// Hours since local midnight, local = UTC + offset.
double local_hour(timestamp t, minutes offset = 0min) {
  const auto ms = (t + offset).time_since_epoch().count();
  const auto day_ms = std::int64_t{24} * 3600 * 1000;
  return static_cast<double>(((ms % day_ms) + day_ms) % day_ms) / 3'600'000.0;
}

/// Feeds HR and SpO2 readings (same device time, separate samples, a little noise) every
/// `step` in [from, to); returns the transitions.
std::vector<alert_event> feed(baseline_detector& d, std::string_view patient, timestamp from,
                              timestamp to, const trace_fn& f, seconds step = 20s) {
  std::vector<alert_event> out;
  sample s;
  s.patient = short_id::truncate(patient);
  s.device = short_id::truncate("ox-1");
  for (auto t = from; t < to; t += step) {
    const auto v = f(t);
    const auto i = t.time_since_epoch().count() / 1000;
    s.device_time = t;
    s.kind = vital_kind::heart_rate;
    s.value = std::round(v.hr + noise(i, 3.0));
    d.observe(s, out);
    s.kind = vital_kind::spo2;
    s.value = std::round(v.spo2 + noise(i + 7, 0.6));
    d.observe(s, out);
  }
  return out;
}

std::vector<alert_event> only(const std::vector<alert_event>& events, std::string_view rule) {
  std::vector<alert_event> v;
  for (const auto& e : events) {
    if (e.rule == rule) v.push_back(e);
  }
  return v;
}

const trace_fn flat = [](timestamp) { return vitals_at{70.0, 97.0}; };

/// Flat, except HR + `rise` in [from, to).
trace_fn shifted(timestamp from, timestamp to, double rise, double spo2_fall = 0.0) {
  return [=](timestamp t) {
    return t >= from && t < to ? vitals_at{70.0 + rise, 97.0 - spo2_fall} : vitals_at{70.0, 97.0};
  };
}

/// Asleep 00-06 local (HR 58), awake otherwise (HR 80), in local time.
trace_fn night_and_day(minutes offset = 0min) {
  return [=](timestamp t) {
    const double h = local_hour(t, offset);
    return h < 6.0 ? vitals_at{58.0, 96.0} : vitals_at{80.0, 97.0};
  };
}

/// CRC-32 as zlib computes it, to forge blobs with a valid checksum.
std::uint32_t crc32(const std::vector<std::uint8_t>& data, std::size_t n) {
  std::uint32_t c = 0xFFFFFFFFU;
  for (std::size_t i = 0; i < n; ++i) {
    c ^= data[i];
    for (int k = 0; k < 8; ++k) c = (c & 1U) != 0 ? 0xEDB88320U ^ (c >> 1) : c >> 1;
  }
  return c ^ 0xFFFFFFFFU;
}

void reseal(std::vector<std::uint8_t>& blob) {
  const auto n = blob.size() - 4;
  const auto c = crc32(blob, n);
  for (int i = 0; i < 4; ++i)
    blob[n + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(c >> (8 * i));
}

/// The events, one per line, for failure messages.
std::string describe(const std::vector<alert_event>& events) {
  std::string s;
  for (const auto& e : events) {
    s += e.rule + " " + std::string(to_string(e.transition)) + " at +" +
         std::to_string(std::chrono::duration_cast<minutes>(e.time - t0).count()) +
         " min: " + e.message + "\n";
  }
  return s;
}

minutes minutes_between(timestamp a, timestamp b) {
  return std::chrono::duration_cast<minutes>(b - a);
}

}  // namespace

TEST_CASE("baseline: learns a patient's norm, then raises on a sustained +25 /min shift",
          "[baseline]") {
  baseline_detector d;
  const auto day3 = t0 + 48h;
  CHECK(feed(d, "patient-x", t0, day3, flat).empty());

  // Night of day 3: HR 95 from 02:00 to 04:00.
  const auto ev = feed(d, "patient-x", day3, day3 + 5h, shifted(day3 + 2h, day3 + 4h, 25.0));
  const auto hr = only(ev, hr_rule);
  REQUIRE(hr.size() == 2);
  const auto& raised = hr[0];
  CHECK(raised.transition == alert_transition::raised);
  // The 10-min mean reaches +20 after ~16 min, then 60 min must pass.
  CHECK(minutes_between(day3 + 2h, raised.time) >= 70min);
  CHECK(minutes_between(day3 + 2h, raised.time) <= 85min);
  CHECK(minutes_between(day3 + 2h, raised.condition_start) >= 10min);
  CHECK(raised.level == priority::low);
  CHECK(raised.source == alert_source::physiological);
  CHECK(raised.kind == vital_kind::heart_rate);
  CHECK(raised.patient.view() == "patient-x");
  CHECK(raised.device.view() == "ox-1");
  CHECK(raised.value == Approx(95).margin(5));
  CHECK(raised.threshold == Approx(90).margin(2));  // norm 70 + 20
  using Catch::Matchers::Contains;
  CHECK_THAT(raised.message, Contains("above this patient's 00-04 h norm 70 for 60 min"));
  CHECK(raised.message.find("patient-x") == std::string::npos);

  const auto& cleared = hr[1];
  CHECK(cleared.transition == alert_transition::cleared);
  CHECK(cleared.time >= day3 + 4h);
  CHECK(cleared.time <= day3 + 4h + 15min);
  CHECK_THAT(cleared.message, Contains("back within 15 /min"));

  // HR 25 above a quiet night norm is also a joint (Mahalanobis) deviation.
  const auto cardio = only(ev, cardio_rule);
  REQUIRE(cardio.size() == 2);
  CHECK(cardio[0].transition == alert_transition::raised);
  CHECK(cardio[0].level == priority::low);
  CHECK(cardio[1].transition == alert_transition::cleared);
  CHECK(d.patient_count() == 1);
}

TEST_CASE("baseline: walking bouts, sleep and waking do not raise", "[baseline]") {
  // Night 58, day 80, two walks a day (20 and 30 min, +30 /min, SpO2 a little down).
  const auto ordinary = [](timestamp t) {
    const double h = local_hour(t);
    auto v = h < 6.0 ? vitals_at{58.0, 96.0} : vitals_at{80.0, 97.0};
    const bool walking = (h >= 10.0 && h < 10.0 + 20.0 / 60) || (h >= 17.0 && h < 17.5);
    if (walking) v = {110.0, 96.0};
    return v;
  };
  baseline_detector d;
  const auto days = feed(d, "p1", t0, t0 + 24h * 5, ordinary);
  INFO(describe(days));
  CHECK(days.empty());

  // And a longer walk (40 min, +35) on the sixth day.
  const auto day6 = t0 + 24h * 5;
  const auto long_walk = [&](timestamp t) {
    return t >= day6 + 14h && t < day6 + 14h + 40min ? vitals_at{115.0, 96.0} : ordinary(t);
  };
  const auto day = feed(d, "p1", day6, day6 + 24h, long_walk);
  INFO(describe(day));
  CHECK(day.empty());
}

TEST_CASE("baseline: no alert during the warm-up", "[baseline]") {
  SECTION("before warmup_total of data") {
    // One bucket; 3 h at 70 then HR 110 for 3 h: clearly deviating, but only 6 h learnt.
    baseline_settings st;
    st.buckets = 1;
    const auto trace = shifted(t0 + 3h, t0 + 6h, 40.0);
    baseline_detector d(st);
    CHECK(feed(d, "p1", t0, t0 + 6h, trace).empty());

    // The same trace with a 2 h warm-up raises.
    st.warmup_total = 2h;
    baseline_detector early(st);
    CHECK(only(feed(early, "p1", t0, t0 + 6h, trace), hr_rule).size() == 1);
  }
  SECTION("before the bucket itself has been seen for warmup_bucket") {
    baseline_settings st;
    st.warmup_total = 1h;
    st.warmup_bucket = 1h;
    st.hr_min_duration = 10min;
    st.cardio_min_duration = 10min;
    baseline_detector d(st);
    CHECK(feed(d, "p1", t0, t0 + 4h, flat).empty());
    // 04:00 opens an unseen bucket: 40 min at +40 raise nothing there.
    CHECK(feed(d, "p1", t0 + 4h, t0 + 5h, shifted(t0 + 4h, t0 + 4h + 40min, 40.0)).empty());

    // The same excursion in a bucket with an hour of data raises.
    baseline_detector seen(st);
    CHECK(feed(seen, "p2", t0, t0 + 2h, flat).empty());
    CHECK(
        !only(feed(seen, "p2", t0 + 2h, t0 + 3h, shifted(t0 + 2h, t0 + 2h + 40min, 40.0)), hr_rule)
             .empty());
  }
}

TEST_CASE("baseline: night and day norms are kept apart (time-of-day buckets, local time)",
          "[baseline]") {
  const auto offset = GENERATE(0, 120, -300);
  baseline_settings st;
  st.utc_offset_minutes = offset;
  const minutes off{offset};
  baseline_detector d(st);
  const auto normal = night_and_day(off);
  // Local midnight of the first simulated day, in UTC.
  const auto midnight = t0 - off;
  const auto learning = feed(d, "p1", midnight, midnight + 72h, normal);
  INFO(describe(learning));
  CHECK(learning.empty());

  // Day 4: a whole ordinary day, then HR at its day level (80) from 01:00 to 03:30 at night.
  const auto day4 = midnight + 72h;
  CHECK(feed(d, "p1", day4, day4 + 24h, normal).empty());
  const auto night = day4 + 24h;
  const auto awake_at_night = [&](timestamp t) {
    return t >= night + 1h && t < night + 3h + 30min ? vitals_at{80.0, 97.0} : normal(t);
  };
  const auto ev = only(feed(d, "p1", night, night + 5h, awake_at_night), hr_rule);
  REQUIRE(ev.size() == 2);
  CHECK(ev[0].transition == alert_transition::raised);
  using Catch::Matchers::Contains;
  CHECK_THAT(ev[0].message, Contains("00-04 h norm 58"));
  CHECK(ev[1].transition == alert_transition::cleared);
}

TEST_CASE("baseline: a joint HR and SpO2 change raises the Mahalanobis rule alone", "[baseline]") {
  baseline_detector d;
  const auto day3 = t0 + 48h;
  CHECK(feed(d, "p1", t0, day3, flat).empty());
  // +12 /min is below the HR rule's 20; with SpO2 4 % down it is far from the joint norm.
  const auto ev = feed(d, "p1", day3, day3 + 5h, shifted(day3 + 1h, day3 + 3h + 30min, 12.0, 4.0));
  CHECK(only(ev, hr_rule).empty());
  const auto cardio = only(ev, cardio_rule);
  REQUIRE(cardio.size() == 2);
  CHECK(cardio[0].transition == alert_transition::raised);
  CHECK(cardio[0].value >= 5.0);
  CHECK(cardio[0].threshold == 5.0);
  CHECK(cardio[0].kind == vital_kind::heart_rate);
  using Catch::Matchers::Contains;
  CHECK_THAT(cardio[0].message, Contains("SD (Mahalanobis) from this patient's 00-04 h norm"));
  CHECK(cardio[1].transition == alert_transition::cleared);
}

TEST_CASE("baseline: sparse readings (every 5 min) learn and raise too", "[baseline]") {
  baseline_detector d;
  const auto day3 = t0 + 48h;
  CHECK(feed(d, "p1", t0, day3, flat, 300s).empty());
  const auto ev = only(
      feed(d, "p1", day3, day3 + 5h, shifted(day3 + 1h, day3 + 3h + 30min, 30.0), 300s), hr_rule);
  REQUIRE(ev.size() == 2);
  CHECK(ev[0].transition == alert_transition::raised);
  CHECK(minutes_between(day3 + 1h, ev[0].time) >= 60min);
  CHECK(minutes_between(day3 + 1h, ev[0].time) <= 85min);
}

TEST_CASE("baseline: glucose and artifact readings are ignored", "[baseline]") {
  baseline_detector d;
  const auto day3 = t0 + 48h;
  CHECK(feed(d, "p1", t0, day3, flat).empty());
  std::vector<alert_event> out;
  sample s;
  s.patient = short_id::truncate("p1");
  s.device = short_id::truncate("ox-1");
  for (auto t = day3; t < day3 + 3h; t += 10s) {
    s.device_time = t;
    s.kind = vital_kind::heart_rate;
    s.value = 70.0;
    d.observe(s, out);
    s.value = 140.0;
    s.quality = quality_artifact;
    d.observe(s, out);
    s.quality = quality_sensor_contact_lost;
    d.observe(s, out);
    s.quality = quality_none;
    s.kind = vital_kind::glucose;
    s.value = 300.0;
    d.observe(s, out);
  }
  CHECK(out.empty());
}

TEST_CASE("baseline: export and import keep behaviour identical across a restart", "[baseline]") {
  const auto day3 = t0 + 48h;
  const auto end = day3 + 5h;
  const auto trace = [&](timestamp t) {
    return t < day3 ? flat(t) : shifted(day3 + 2h, day3 + 4h, 25.0)(t);
  };
  // Restart points: between days, and mid-minute while both rules are pending.
  const auto split = GENERATE(as<std::int64_t>{}, 48 * 3600, 48 * 3600 + 2 * 3600 + 40 * 60 + 40);
  const auto at = t0 + seconds(split);

  baseline_detector whole;
  auto expected = feed(whole, "p1", t0, end, trace);
  std::erase_if(expected, [&](const alert_event& e) { return e.time < at; });
  REQUIRE(expected.size() >= 2);

  baseline_detector before;
  CHECK(feed(before, "p1", t0, at, trace).empty());
  const auto blob = before.export_state(short_id::truncate("p1"));
  REQUIRE(!blob.empty());
  CHECK(blob.size() < 256);

  baseline_detector after;
  REQUIRE(after.import_state(short_id::truncate("p1"), blob));
  CHECK(after.patient_count() == 1);
  CHECK(after.export_state(short_id::truncate("p1")) == blob);
  const auto got = feed(after, "p1", at, end, trace);

  REQUIRE(got.size() == expected.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    CHECK(got[i].rule == expected[i].rule);
    CHECK(got[i].transition == expected[i].transition);
    CHECK(got[i].time == expected[i].time);
    CHECK(got[i].condition_start == expected[i].condition_start);
    CHECK(got[i].value == expected[i].value);
    CHECK(got[i].message == expected[i].message);
  }
  CHECK(after.export_state(short_id::truncate("p1")) ==
        whole.export_state(short_id::truncate("p1")));
}

TEST_CASE("baseline: corrupt or foreign blobs are rejected without a change", "[baseline]") {
  baseline_detector trained;
  const auto p1 = short_id::truncate("p1");
  feed(trained, "p1", t0, t0 + 30h, flat);
  const auto good = trained.export_state(p1);
  REQUIRE(!good.empty());
  CHECK(trained.export_state(short_id::truncate("nobody")).empty());

  baseline_detector d;
  CHECK_FALSE(d.import_state(p1, {}));
  CHECK_FALSE(d.import_state(p1, std::span(good).first(good.size() - 1)));
  auto longer = good;
  longer.push_back(0);
  CHECK_FALSE(d.import_state(p1, longer));

  // Every single-bit error is caught (CRC-32).
  for (std::size_t i = 0; i < good.size(); ++i) {
    for (const std::uint8_t bit : {std::uint8_t{0x01}, std::uint8_t{0x80}}) {
      auto bad = good;
      bad[i] ^= bit;
      if (d.import_state(p1, bad)) FAIL("bit flip at byte " << i << " accepted");
    }
  }

  // A valid checksum does not make bad content acceptable.
  const auto forged = [&](std::size_t at, const void* bytes, std::size_t n) {
    auto b = good;
    std::memcpy(b.data() + at, bytes, n);
    reseal(b);
    return b;
  };
  const std::uint8_t version2 = 2;
  CHECK_FALSE(d.import_state(p1, forged(4, &version2, 1)));  // format version
  CHECK_FALSE(d.import_state(p1, forged(0, "XXXX", 4)));     // magic
  const float nan = std::nanf("");
  CHECK_FALSE(d.import_state(p1, forged(73, &nan, 4)));  // first bucket's HR mean
  const float negative = -1.0F;
  CHECK_FALSE(d.import_state(p1, forged(73 + 8, &negative, 4)));  // its HR variance
  const std::uint8_t both[2] = {1, 1};
  CHECK_FALSE(d.import_state(p1, forged(61, both, 2)));  // pending and active at once
  const std::uint8_t two = 2;
  CHECK_FALSE(d.import_state(p1, forged(8, &two, 1)));  // has_minute not a flag
  CHECK(d.patient_count() == 0);

  // Another bucket count: the norms mean something else.
  baseline_settings four;
  four.buckets = 4;
  baseline_detector other(four);
  CHECK_FALSE(other.import_state(p1, good));
  CHECK(other.patient_count() == 0);

  // A resealed copy of the good blob itself is still fine.
  CHECK(d.import_state(p1, forged(4, &good[4], 1)));
  CHECK(d.patient_count() == 1);
}

TEST_CASE("baseline: per-patient overrides", "[baseline]") {
  baseline_settings st;
  st.patients["p-off"][std::string(hr_rule)].enabled = false;
  st.patients["p-limit"][std::string(hr_rule)].limit = 30.0;
  st.patients["p-fast"][std::string(hr_rule)].min_duration = 20min;
  st.patients["p-fast"][std::string(hr_rule)].level = priority::high;
  st.patients["p-sticky"][std::string(hr_rule)].hysteresis = 0.0;
  st.patients["p-fast"]["hr_high"].limit = 100.0;  // another detector's rule: ignored
  for (const auto* p : {"p-off", "p-limit", "p-fast", "p-default", "p-sticky"}) {
    st.patients[p][std::string(cardio_rule)].enabled = false;
  }
  baseline_detector d(st);
  const auto day3 = t0 + 48h;
  const auto trace = [&](timestamp t) {
    return t < day3 ? flat(t) : shifted(day3 + 1h, day3 + 3h + 30min, 25.0)(t);
  };
  std::map<std::string, std::vector<alert_event>> ev;
  for (const auto* p : {"p-off", "p-limit", "p-fast", "p-default", "p-sticky"}) {
    ev[p] = feed(d, p, t0, day3 + 5h, trace);
  }
  CHECK(ev["p-off"].empty());
  CHECK(ev["p-limit"].empty());
  REQUIRE(ev["p-default"].size() == 2);
  REQUIRE(ev["p-fast"].size() == 2);
  CHECK(ev["p-fast"][0].level == priority::high);
  CHECK(ev["p-default"][0].level == priority::low);
  CHECK(ev["p-fast"][0].time + 40min == ev["p-default"][0].time);
  // Without hysteresis the alert clears as soon as the mean is back under +20.
  REQUIRE(ev["p-sticky"].size() == 2);
  CHECK(ev["p-sticky"][1].time < ev["p-default"][1].time);

  SECTION("bad settings are rejected, naming the setting") {
    using Catch::Matchers::Contains;
    baseline_settings bad;
    bad.buckets = 5;
    CHECK_THROWS_WITH(baseline_detector(bad), Contains("buckets"));
    bad = {};
    bad.learning_days = 0.0;
    CHECK_THROWS_WITH(baseline_detector(bad), Contains("learning_days"));
    bad = {};
    bad.patients["p1"][std::string(hr_rule)].limit = -1.0;
    CHECK_THROWS_WITH(baseline_detector(bad), Contains("hr_baseline_deviation.limit"));
    bad = {};
    bad.patient_utc_offset_minutes["p1"] = 5000;
    CHECK_THROWS_AS(baseline_detector(bad), std::invalid_argument);
  }
}

TEST_CASE("baseline: dirty patients and state size", "[baseline]") {
  baseline_detector d;
  std::vector<alert_event> out;
  sample s;
  s.device = short_id::truncate("ox-1");
  s.kind = vital_kind::heart_rate;
  s.value = 70.0;
  s.device_time = t0;
  for (int i = 0; i < 1000; ++i) {
    s.patient = short_id::truncate("patient-" + std::to_string(i));
    d.observe(s, out);
  }
  CHECK(d.patient_count() == 1000);
  // Well under the 2 KiB per patient that every detector together may use.
  CHECK(d.state_bytes() / d.patient_count() < 400);

  std::vector<short_id> dirty;
  d.take_dirty(dirty);
  CHECK(dirty.size() == 1000);
  dirty.clear();
  d.take_dirty(dirty);
  CHECK(dirty.empty());

  s.patient = short_id::truncate("patient-7");
  s.device_time = t0 + 1s;
  d.observe(s, out);
  d.take_dirty(dirty);
  REQUIRE(dirty.size() == 1);
  CHECK(dirty[0].view() == "patient-7");

  // An imported patient matches what is stored: not dirty.
  const auto blob = d.export_state(short_id::truncate("patient-7"));
  CHECK(d.import_state(short_id::truncate("new"), blob));
  dirty.clear();
  d.take_dirty(dirty);
  CHECK(dirty.empty());
  CHECK(out.empty());
}

TEST_CASE("baseline: a reload keeps the learnt norm and ends an alert whose rule it disables",
          "[baseline][reload]") {
  const auto day3 = t0 + 48h;
  baseline_detector d;
  CHECK(feed(d, "p1", t0, day3, flat).empty());
  const auto learnt = d.export_state(short_id::truncate("p1"));
  REQUIRE(!learnt.empty());

  SECTION("other limits: the learnt state is untouched") {
    baseline_settings s;
    s.hr_limit = 30.0;
    std::vector<alert_event> out;
    d.reconfigure(s, out);
    CHECK(out.empty());
    CHECK(d.export_state(short_id::truncate("p1")) == learnt);
    CHECK(d.settings().hr_limit == 30.0);
  }
  SECTION("the HR rule disabled while its alert is active: the alert ends") {
    const auto ev = feed(d, "p1", day3, day3 + 3h + 30min, shifted(day3 + 2h, day3 + 4h, 25.0));
    REQUIRE(only(ev, hr_rule).size() == 1);  // raised, not cleared yet
    baseline_settings s;
    s.hr_enabled = false;
    std::vector<alert_event> out;
    d.reconfigure(s, out);
    const auto ended = only(out, hr_rule);
    REQUIRE(ended.size() == 1);
    CHECK(ended[0].transition == alert_transition::cleared);
    CHECK(ended[0].patient.view() == "p1");
    CHECK(out.size() == 1);  // nothing else ends
  }
  SECTION("another bucket count is refused, and nothing changes") {
    baseline_settings s;
    s.buckets = 3;
    std::vector<alert_event> out;
    CHECK_THROWS_AS(d.reconfigure(s, out), std::invalid_argument);
    CHECK(d.export_state(short_id::truncate("p1")) == learnt);
  }
}

}  // namespace baseline_detector_test
