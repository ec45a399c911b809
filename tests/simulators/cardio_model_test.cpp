// Tests of the heart-rate / SpO2 patient model and the pulse oximeter: a week per profile stays
// physiological and below the default alert limits, the day/night swing and activity bouts show,
// every scripted event does what it says and is labelled right, artifacts change the readings
// but not the truth, and everything is seeded per patient.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <vitals/simulators/cardio_model.hpp>

namespace sim = vitals::simulators;
namespace core = vitals::core;
using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

// A namespace of its own: the sanitizer presets are unity builds (tests/README.md).
namespace cardio_model_test {
namespace {

// 2026-01-01 00:00:00 UTC.
const core::timestamp t0{milliseconds(1767225600000)};

struct sample_row {
  core::timestamp t;
  sim::cardio_truth truth;
  sim::oximeter_reading reading;
};

struct run_result {
  std::vector<sample_row> rows;
  std::vector<sim::label> labels;
  double resting_hr = 0.0;
  double spo2_baseline = 0.0;
};

run_result run(const std::string& patient, sim::profile_kind profile, std::uint64_t seed,
               core::timestamp start, milliseconds length,
               std::vector<sim::cardio_event> events = {},
               std::vector<sim::oximeter_artifact> artifacts = {},
               minutes utc_offset = minutes(0)) {
  sim::cardio_model model(patient, profile, seed, start, utc_offset, std::move(events));
  sim::oximeter_device ox(patient + "-ox", patient, seed, std::move(artifacts));
  run_result r;
  r.resting_hr = model.resting_hr();
  r.spo2_baseline = model.spo2_baseline();
  const auto n = length / seconds(1);
  r.rows.reserve(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    const core::timestamp t = start + seconds(i);
    const auto truth = model.advance(t);
    r.rows.push_back({t, truth, ox.measure(t, truth)});
    if (i % 600 == 0) {
      model.drain_labels(r.labels);
      ox.drain_labels(r.labels);
    }
  }
  model.flush_labels(r.labels);
  ox.flush_labels(r.labels);
  return r;
}

// Local hour of day (UTC offset 0 here).
int hour_of(core::timestamp t) {
  const auto ms = t.time_since_epoch().count();
  return static_cast<int>((ms / 3'600'000) % 24);
}

// The longest run of consecutive readings (seconds) satisfying `pred`.
template <typename Pred>
std::int64_t longest_run(const run_result& r, Pred pred) {
  std::int64_t best = 0;
  std::int64_t cur = 0;
  for (const auto& row : r.rows) {
    cur = pred(row) ? cur + 1 : 0;
    best = std::max(best, cur);
  }
  return best;
}

std::vector<sim::label> labels_of(const run_result& r, sim::label_type type,
                                  std::string_view kind) {
  std::vector<sim::label> out;
  for (const auto& l : r.labels) {
    if (l.type == type && l.kind == kind) out.push_back(l);
  }
  return out;
}

struct week_figures {
  double day_mean = 0, night_mean = 0, active_mean = 0, rest_mean = 0, active_max = 0;
  double truth_hr_min = 1e9, truth_hr_max = 0, truth_spo2_min = 1e9, truth_spo2_max = 0;
  int reading_spo2_min = 1000, reading_spo2_max = 0, reading_hr_min = 1000, reading_hr_max = 0;
  double spo2_in_band = 0;  ///< fraction of readings in the profile's band
  std::size_t bouts = 0;
};

week_figures figures(const run_result& r, sim::profile_kind profile) {
  week_figures f;
  double day = 0, night = 0, act = 0, rest = 0;
  std::size_t nd = 0, nn = 0, na = 0, nr = 0, in_band = 0;
  const bool copd = profile == sim::profile_kind::copd;
  for (const auto& row : r.rows) {
    const int h = hour_of(row.t);
    if (h >= 2 && h < 5) night += row.truth.hr, ++nn;
    if (h >= 10 && h < 17) day += row.truth.hr, ++nd;
    if (row.truth.active) {
      act += row.truth.hr, ++na;
      f.active_max = std::max(f.active_max, row.truth.hr);
    } else if (!row.truth.asleep && h >= 10 && h < 17) {
      rest += row.truth.hr, ++nr;
    }
    f.truth_hr_min = std::min(f.truth_hr_min, row.truth.hr);
    f.truth_hr_max = std::max(f.truth_hr_max, row.truth.hr);
    f.truth_spo2_min = std::min(f.truth_spo2_min, row.truth.spo2);
    f.truth_spo2_max = std::max(f.truth_spo2_max, row.truth.spo2);
    f.reading_spo2_min = std::min(f.reading_spo2_min, row.reading.spo2);
    f.reading_spo2_max = std::max(f.reading_spo2_max, row.reading.spo2);
    f.reading_hr_min = std::min(f.reading_hr_min, row.reading.hr);
    f.reading_hr_max = std::max(f.reading_hr_max, row.reading.hr);
    const int s = row.reading.spo2;
    if (copd ? (s >= 88 && s <= 92) : (s >= 95 && s <= 99)) ++in_band;
  }
  f.day_mean = day / static_cast<double>(std::max<std::size_t>(nd, 1));
  f.night_mean = night / static_cast<double>(std::max<std::size_t>(nn, 1));
  f.active_mean = act / static_cast<double>(std::max<std::size_t>(na, 1));
  f.rest_mean = rest / static_cast<double>(std::max<std::size_t>(nr, 1));
  f.spo2_in_band = static_cast<double>(in_band) / static_cast<double>(r.rows.size());
  f.bouts = labels_of(r, sim::label_type::cause, "activity").size();
  return f;
}

}  // namespace

TEST_CASE("event and artifact names round-trip", "[cardio]") {
  for (const auto k : {sim::cardio_event_kind::tachycardia, sim::cardio_event_kind::bradycardia,
                       sim::cardio_event_kind::deterioration, sim::cardio_event_kind::desaturation,
                       sim::cardio_event_kind::nocturnal_dip}) {
    REQUIRE(sim::parse_cardio_event(sim::to_string(k)) == k);
  }
  CHECK(sim::to_string(sim::cardio_event_kind::nocturnal_dip) == "nocturnal_dip");
  CHECK_FALSE(sim::parse_cardio_event("desat"));
  CHECK(sim::parse_oximeter_artifact("motion") == sim::oximeter_artifact_kind::motion);
  CHECK(sim::parse_oximeter_artifact("probe_off") == sim::oximeter_artifact_kind::probe_off);
  CHECK(sim::parse_oximeter_artifact("displaced") == sim::oximeter_artifact_kind::displaced);
  CHECK(sim::parse_oximeter_artifact("low_perfusion") ==
        sim::oximeter_artifact_kind::low_perfusion);
  CHECK(sim::to_string(sim::oximeter_artifact_kind::low_perfusion) == "low_perfusion");
  CHECK_FALSE(sim::parse_oximeter_artifact("probe-off"));
}

TEST_CASE("a week without events stays physiological and below the default limits",
          "[cardio][slow]") {
  const auto profile = GENERATE(sim::profile_kind::healthy, sim::profile_kind::t1d,
                                sim::profile_kind::copd, sim::profile_kind::cardiac);
  const std::uint64_t seed = GENERATE(1u, 2u, 3u);
  const std::string patient = GENERATE(as<std::string>{}, "p001", "p017");
  CAPTURE(sim::to_string(profile), seed, patient);
  const auto r = run(patient, profile, seed, t0, hours(24 * 7));
  const auto f = figures(r, profile);
  CAPTURE(f.day_mean, f.night_mean, f.active_mean, f.rest_mean, f.active_max, f.truth_hr_min,
          f.truth_hr_max, f.truth_spo2_min, f.truth_spo2_max, f.spo2_in_band, f.bouts);

  // Per-patient constants are in the profile's ranges.
  const auto& p = sim::cardio_params(profile);
  CHECK(r.resting_hr >= p.hr_rest_lo);
  CHECK(r.resting_hr <= p.hr_rest_hi);
  CHECK(r.spo2_baseline >= p.spo2_lo);
  CHECK(r.spo2_baseline <= p.spo2_hi);

  // Physiological ranges and the oximeter's limits.
  CHECK(f.truth_hr_min >= 50.0);
  CHECK(f.truth_hr_max <= 116.0);
  CHECK(f.reading_spo2_max <= 100);
  CHECK(f.reading_hr_min >= 45);
  for (const auto& row : r.rows) {
    REQUIRE(row.reading.contact);
    REQUIRE(row.truth.spo2 <= 100.0);
  }
  switch (profile) {
    case sim::profile_kind::healthy:
    case sim::profile_kind::t1d:
      CHECK(f.truth_spo2_min >= 94.0);
      CHECK(f.truth_spo2_max <= 99.5);
      CHECK(f.spo2_in_band >= 0.99);
      CHECK(f.reading_spo2_min >= 93);
      break;
    case sim::profile_kind::copd:
      CHECK(f.truth_spo2_min >= 86.0);
      CHECK(f.truth_spo2_max <= 92.5);
      CHECK(f.spo2_in_band >= 0.90);
      CHECK(f.reading_spo2_min >= 85);
      CHECK(f.reading_spo2_max <= 94);
      break;
    case sim::profile_kind::cardiac:
      CHECK(f.truth_spo2_min >= 92.0);
      CHECK(f.reading_spo2_min >= 91);
      break;
  }

  // Lower at night, raised by activity.
  CHECK(f.night_mean < f.day_mean - 3.0);
  CHECK(f.bouts >= 7);
  CHECK(f.active_mean > f.rest_mean + 8.0);

  // Never the bedside defaults: HR < 50 or > 120 for 10 s, SpO2 < 90 for 15 s (scale 1), and
  // for COPD below its 85 % desaturation threshold for 15 s.
  CHECK(longest_run(r, [](const sample_row& s) { return s.reading.hr < 50; }) < 10);
  CHECK(longest_run(r, [](const sample_row& s) { return s.reading.hr > 120; }) < 10);
  if (profile == sim::profile_kind::copd) {
    CHECK(longest_run(r, [](const sample_row& s) { return s.reading.spo2 < 85; }) < 15);
  } else {
    CHECK(longest_run(r, [](const sample_row& s) { return s.reading.spo2 < 90; }) < 15);
  }

  // No event labels without events; activity labels are informational causes.
  for (const auto& l : r.labels) {
    REQUIRE(l.type == sim::label_type::cause);
    CHECK(l.kind == "activity");
    CHECK(l.vital == core::vital_kind::heart_rate);
    CHECK_FALSE(l.actionable);
    CHECK(l.end > l.start);
  }
}

TEST_CASE("sleep follows local time", "[cardio]") {
  // At UTC+10 the night falls around 13:00-21:00 UTC.
  const auto r = run("p001", sim::profile_kind::healthy, 5, t0, hours(48), {}, {}, minutes(600));
  std::size_t asleep_local_night = 0, asleep_local_day = 0;
  for (const auto& row : r.rows) {
    const int local_h = (hour_of(row.t) + 10) % 24;
    if (local_h >= 1 && local_h < 6) asleep_local_night += row.truth.asleep;
    if (local_h >= 9 && local_h < 21) asleep_local_day += row.truth.asleep;
  }
  CHECK(asleep_local_night == 2u * 5u * 3600u);
  CHECK(asleep_local_day == 0u);
}

TEST_CASE("tachycardia and bradycardia", "[cardio]") {
  const core::timestamp start = t0 + hours(9);
  const core::timestamp at = start + hours(1);
  SECTION("tachycardia, defaults") {
    const auto r = run("p001", sim::profile_kind::healthy, 11, start, hours(2),
                       {{sim::cardio_event_kind::tachycardia, at, {}, 0.0}});
    std::size_t above = 0, in_window = 0;
    double peak = 0;
    for (const auto& row : r.rows) {
      if (row.t >= at && row.t < at + minutes(20)) {
        ++in_window;
        above += row.truth.hr > 120.0;
        peak = std::max(peak, row.truth.hr);
      }
      if (row.t >= at + minutes(21)) REQUIRE(row.truth.hr < 118.0);
    }
    CHECK(static_cast<double>(above) / static_cast<double>(in_window) >= 0.85);
    const auto ls = labels_of(r, sim::label_type::event, "tachycardia");
    REQUIRE(ls.size() == 1);
    const auto& l = ls[0];
    CHECK(l.patient == "p001");
    CHECK(l.vital == core::vital_kind::heart_rate);
    CHECK(l.device.empty());
    CHECK(l.start == at);
    CHECK(l.end == at + minutes(20));
    CHECK(l.actionable);
    CHECK(l.threshold == 120.0);
    REQUIRE(l.crossed);
    CHECK(*l.crossed > at);
    CHECK(*l.crossed < at + seconds(90));
    REQUIRE(l.extreme);
    CHECK(*l.extreme == Approx(peak));
    CHECK(*l.extreme >= 143.0);
    CHECK(*l.extreme <= 150.0);
  }
  SECTION("bradycardia, level 38 for 5 min") {
    const auto r = run("p002", sim::profile_kind::cardiac, 12, start, hours(2),
                       {{sim::cardio_event_kind::bradycardia, at, minutes(5), 38.0}});
    std::size_t below = 0, in_window = 0;
    double nadir = 1e9;
    for (const auto& row : r.rows) {
      if (row.t >= at && row.t < at + minutes(5)) {
        ++in_window;
        below += row.truth.hr < 50.0;
        nadir = std::min(nadir, row.truth.hr);
      }
    }
    CHECK(static_cast<double>(below) / static_cast<double>(in_window) >= 0.75);
    const auto ls = labels_of(r, sim::label_type::event, "bradycardia");
    REQUIRE(ls.size() == 1);
    CHECK(ls[0].start == at);
    CHECK(ls[0].end == at + minutes(5));
    CHECK(ls[0].threshold == 50.0);
    CHECK(ls[0].actionable);
    REQUIRE(ls[0].crossed);
    CHECK(*ls[0].crossed < at + minutes(1));
    REQUIRE(ls[0].extreme);
    CHECK(*ls[0].extreme == Approx(nadir));
    CHECK(nadir < 40.0);
    CHECK(nadir > 30.0);
  }
}

TEST_CASE("deterioration raises the resting HR and stays", "[cardio]") {
  const core::timestamp at = t0 + hours(12);
  const std::vector<sim::cardio_event> ev{{sim::cardio_event_kind::deterioration, at, {}, 0.0}};
  const auto with = run("p003", sim::profile_kind::healthy, 21, t0, hours(30), ev);
  const auto without = run("p003", sim::profile_kind::healthy, 21, t0, hours(30));
  REQUIRE(with.rows.size() == without.rows.size());
  // Compare the nights (02-05 h, no activity in either run) before and after.
  double before = 0, after = 0, spo2_after = 0;
  std::size_t nb = 0, na = 0;
  for (std::size_t i = 0; i < with.rows.size(); ++i) {
    const auto& a = with.rows[i];
    const auto& b = without.rows[i];
    const int h = hour_of(a.t);
    if (h < 2 || h >= 5) continue;
    if (a.t < at) {
      before += a.truth.hr - b.truth.hr, ++nb;
    } else if (a.t > at + hours(6)) {
      after += a.truth.hr - b.truth.hr, ++na;
      spo2_after += b.truth.spo2 - a.truth.spo2;
    }
  }
  REQUIRE(nb > 0);
  REQUIRE(na > 0);
  CHECK(before / static_cast<double>(nb) == Approx(0.0).margin(1e-9));
  CHECK(after / static_cast<double>(na) == Approx(30.0).margin(0.5));
  CHECK(spo2_after / static_cast<double>(na) == Approx(2.0).margin(0.1));

  const auto ls = labels_of(with, sim::label_type::event, "deterioration");
  REQUIRE(ls.size() == 1);  // open until the end of the run
  const auto& l = ls[0];
  CHECK(l.start == at);
  CHECK(l.end == with.rows.back().t);
  CHECK(l.actionable);
  REQUIRE(l.threshold);
  CHECK(*l.threshold == Approx(with.resting_hr + 20.0));
  REQUIRE(l.crossed);
  CHECK(*l.crossed > at + hours(2));
  CHECK(*l.crossed < at + hours(6));
  REQUIRE(l.extreme);
  CHECK(*l.extreme > *l.threshold);
  // No activity bouts once it started.
  for (const auto& c : labels_of(with, sim::label_type::cause, "activity")) CHECK(c.start < at);
}

TEST_CASE("desaturation", "[cardio]") {
  const core::timestamp start = t0 + hours(10);
  const core::timestamp at = start + minutes(10);
  struct desat_case {
    sim::profile_kind profile;
    milliseconds duration;
    double level;
    double expect_level;
    double threshold;
    bool actionable;
    std::string severity;
  };
  const auto c =
      GENERATE(desat_case{sim::profile_kind::healthy, {}, 0.0, 85.0, 88.0, true, "moderate"},
               desat_case{sim::profile_kind::t1d, seconds(120), 78.0, 78.0, 88.0, true, "severe"},
               desat_case{sim::profile_kind::cardiac, seconds(30), 86.0, 86.0, 88.0, false, "mild"},
               desat_case{sim::profile_kind::copd, {}, 0.0, 81.0, 85.0, true, "moderate"});
  CAPTURE(sim::to_string(c.profile), c.level);
  const auto r = run("p004", c.profile, 31, start, hours(1),
                     {{sim::cardio_event_kind::desaturation, at, c.duration, c.level}});
  const double want_below =
      c.duration.count() > 0 ? std::chrono::duration<double>(c.duration).count() : 90.0;
  double nadir = 1e9, hr_before = 0, hr_peak = 0;
  int reading_min = 1000;
  std::size_t below = 0;
  std::optional<core::timestamp> first_below;
  for (const auto& row : r.rows) {
    if (row.t == at - seconds(1)) hr_before = row.truth.hr;
    if (row.t < at || row.t > at + minutes(5)) continue;
    nadir = std::min(nadir, row.truth.spo2);
    hr_peak = std::max(hr_peak, row.truth.hr);
    reading_min = std::min(reading_min, row.reading.spo2);
    if (row.truth.spo2 < c.threshold) {
      ++below;
      if (!first_below) first_below = row.t;
    }
  }
  CHECK(nadir == Approx(c.expect_level).margin(1.0));
  CHECK(static_cast<double>(below) == Approx(want_below).margin(6.0));
  CHECK(reading_min <= static_cast<int>(c.expect_level) + 2);
  CHECK(hr_peak > hr_before);

  const auto ls = labels_of(r, sim::label_type::event, "desaturation");
  REQUIRE(ls.size() == 1);
  const auto& l = ls[0];
  CHECK(l.vital == core::vital_kind::spo2);
  CHECK(l.start == at);
  CHECK(l.end > at + seconds(55) +
                    std::chrono::duration_cast<milliseconds>(
                        std::chrono::duration<double>(want_below * 0.5)));
  CHECK(l.end < at + seconds(55) +
                    std::chrono::duration_cast<milliseconds>(
                        std::chrono::duration<double>(want_below + 1.0)));
  CHECK(l.threshold == c.threshold);
  CHECK(l.crossed == first_below);
  REQUIRE(l.extreme);
  CHECK(*l.extreme == Approx(nadir));
  CHECK(l.actionable == c.actionable);
  CHECK(l.severity == c.severity);
  // Back to normal after the label's end.
  for (const auto& row : r.rows) {
    if (row.t > l.end + seconds(30)) REQUIRE(row.truth.spo2 > c.threshold + 1.0);
  }
}

TEST_CASE("nocturnal dip is shallow, brief and not actionable", "[cardio]") {
  const core::timestamp start = t0 + hours(2);
  const core::timestamp at = start + minutes(30);
  const auto r = run("p005", sim::profile_kind::healthy, 41, start, hours(1),
                     {{sim::cardio_event_kind::nocturnal_dip, at, {}, 0.0}});
  double nadir = 1e9;
  for (const auto& row : r.rows) {
    CHECK(row.truth.asleep);
    if (row.t >= at && row.t < at + seconds(45)) nadir = std::min(nadir, row.truth.spo2);
    if (row.t >= at + seconds(45)) REQUIRE(row.truth.spo2 >= 94.0);
  }
  CHECK(nadir == Approx(r.spo2_baseline - 4.0).margin(1.0));
  const auto ls = labels_of(r, sim::label_type::event, "nocturnal_dip");
  REQUIRE(ls.size() == 1);
  CHECK(ls[0].start == at);
  CHECK(ls[0].end == at + seconds(45));
  CHECK_FALSE(ls[0].actionable);
  CHECK(ls[0].threshold == 88.0);
  CHECK_FALSE(ls[0].crossed);
  REQUIRE(ls[0].extreme);
  CHECK(*ls[0].extreme == Approx(nadir));
}

TEST_CASE("oximeter artifacts change the readings, not the truth, and are labelled", "[cardio]") {
  const core::timestamp start = t0 + hours(11);
  const core::timestamp motion_at = start + minutes(10);
  const core::timestamp probe_at = start + minutes(20);
  const std::vector<sim::oximeter_artifact> arts{
      {sim::oximeter_artifact_kind::probe_off, probe_at, {}},
      {sim::oximeter_artifact_kind::motion, motion_at, {}}};
  const auto with = run("p006", sim::profile_kind::healthy, 51, start, hours(1), {}, arts);
  const auto without = run("p006", sim::profile_kind::healthy, 51, start, hours(1));

  const auto motion = labels_of(with, sim::label_type::artifact, "motion");
  const auto probe = labels_of(with, sim::label_type::artifact, "probe_off");
  REQUIRE(motion.size() == 1);
  REQUIRE(probe.size() == 1);
  CHECK(motion[0].start == motion_at);
  CHECK(motion[0].end >= motion_at + seconds(5));
  CHECK(motion[0].end <= motion_at + seconds(10));
  CHECK(probe[0].start == probe_at);
  CHECK(probe[0].end == probe_at + minutes(2));
  for (const auto& l : {motion[0], probe[0]}) {
    CHECK(l.patient == "p006");
    CHECK(l.device == "p006-ox");
    CHECK_FALSE(l.vital);
    CHECK_FALSE(l.actionable);
  }
  CHECK_FALSE(probe[0].extreme);
  REQUIRE(motion[0].extreme);

  int max_hr_jump = 0;
  int min_motion_spo2 = 1000;
  std::size_t probe_seconds = 0;
  for (std::size_t i = 0; i < with.rows.size(); ++i) {
    const auto& a = with.rows[i];
    const auto& b = without.rows[i];
    REQUIRE(a.truth.hr == b.truth.hr);  // the truth is untouched
    REQUIRE(a.truth.spo2 == b.truth.spo2);
    const bool in_motion = a.t >= motion_at && a.t < motion[0].end;
    const bool in_probe = a.t >= probe_at && a.t < probe[0].end;
    if (in_motion) {
      max_hr_jump = std::max(max_hr_jump, a.reading.hr - b.reading.hr);
      min_motion_spo2 = std::min(min_motion_spo2, a.reading.spo2);
      CHECK(a.reading.spo2 < b.reading.spo2);
    } else if (in_probe) {
      ++probe_seconds;
      CHECK_FALSE(a.reading.contact);
      CHECK(a.reading.hr == 0);
      CHECK(a.reading.spo2 == 0);
    } else {
      REQUIRE(a.reading.contact);
      if (a.t < probe_at) {
        REQUIRE(a.reading.hr == b.reading.hr);
        REQUIRE(a.reading.spo2 == b.reading.spo2);
      }
    }
  }
  CHECK(probe_seconds == 120u);
  CHECK(max_hr_jump >= 15);
  CHECK(*motion[0].extreme == min_motion_spo2);
}

TEST_CASE("readings are seeded per patient and device", "[cardio]") {
  const auto a = run("p001", sim::profile_kind::healthy, 7, t0, hours(12));
  const auto b = run("p001", sim::profile_kind::healthy, 7, t0, hours(12));
  const auto other_seed = run("p001", sim::profile_kind::healthy, 8, t0, hours(12));
  const auto other_patient = run("p002", sim::profile_kind::healthy, 7, t0, hours(12));
  std::size_t diff_seed = 0, diff_patient = 0;
  for (std::size_t i = 0; i < a.rows.size(); ++i) {
    REQUIRE(a.rows[i].truth.hr == b.rows[i].truth.hr);
    REQUIRE(a.rows[i].truth.spo2 == b.rows[i].truth.spo2);
    REQUIRE(a.rows[i].reading.hr == b.rows[i].reading.hr);
    REQUIRE(a.rows[i].reading.spo2 == b.rows[i].reading.spo2);
    diff_seed += a.rows[i].truth.hr != other_seed.rows[i].truth.hr;
    diff_patient += a.rows[i].reading.hr != other_patient.rows[i].reading.hr;
  }
  CHECK(diff_seed > a.rows.size() / 2);
  CHECK(diff_patient > a.rows.size() / 2);
  REQUIRE(a.labels.size() == b.labels.size());
  for (std::size_t i = 0; i < a.labels.size(); ++i) {
    CHECK(a.labels[i].start == b.labels[i].start);
    CHECK(a.labels[i].end == b.labels[i].end);
  }

  // Interleaving a second patient does not change the first's stream.
  sim::cardio_model m1("p001", sim::profile_kind::healthy, 7, t0, minutes(0), {});
  sim::cardio_model m2("p002", sim::profile_kind::copd, 7, t0, minutes(0), {});
  sim::oximeter_device o1("p001-ox", "p001", 7, {});
  sim::oximeter_device o2("p002-ox", "p002", 7, {});
  for (std::size_t i = 0; i < a.rows.size(); ++i) {
    const auto t = t0 + seconds(static_cast<std::int64_t>(i));
    const auto truth = m1.advance(t);
    const auto reading = o1.measure(t, truth);
    o2.measure(t, m2.advance(t));
    REQUIRE(truth.hr == a.rows[i].truth.hr);
    REQUIRE(reading.hr == a.rows[i].reading.hr);
    REQUIRE(reading.spo2 == a.rows[i].reading.spo2);
  }
}

TEST_CASE("figures for the README", "[.figures]") {
  for (const auto profile : {sim::profile_kind::healthy, sim::profile_kind::t1d,
                             sim::profile_kind::copd, sim::profile_kind::cardiac}) {
    for (std::uint64_t seed = 1; seed <= 5; ++seed) {
      const auto r = run("p001", profile, seed, t0, hours(24 * 7));
      const auto f = figures(r, profile);
      std::printf(
          "%-8s seed %llu rest %.1f spo2 %.1f | day %.1f night %.1f | rest-day %.1f active %.1f "
          "max %.1f | truth HR %.1f-%.1f SpO2 %.1f-%.1f | readings HR %d-%d SpO2 %d-%d "
          "in-band %.3f | bouts %zu\n",
          std::string(sim::to_string(profile)).c_str(), static_cast<unsigned long long>(seed),
          r.resting_hr, r.spo2_baseline, f.day_mean, f.night_mean, f.rest_mean, f.active_mean,
          f.active_max, f.truth_hr_min, f.truth_hr_max, f.truth_spo2_min, f.truth_spo2_max,
          f.reading_hr_min, f.reading_hr_max, f.reading_spo2_min, f.reading_spo2_max,
          f.spo2_in_band, f.bouts);
    }
  }
}

}  // namespace cardio_model_test
