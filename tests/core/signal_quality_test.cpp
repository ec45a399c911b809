#include <vitals/core/signal_quality.hpp>

#include <catch2/catch.hpp>
#include <chrono>

using namespace vitals::core;
using namespace std::chrono_literals;

// A namespace of its own: the sanitizer presets are unity builds (tests/README.md).
namespace signal_quality_test {
namespace {

const timestamp t0{std::chrono::milliseconds(1'764'000'000'000)};

}  // namespace

TEST_CASE("an impossible heart-rate jump is an artifact until the new level holds 10 s",
          "[quality]") {
  jump_filter f;
  const auto lim = default_jump_limit(vital_kind::heart_rate);
  CHECK_FALSE(f.is_artifact(72, t0, lim));
  CHECK_FALSE(f.is_artifact(80, t0 + 1s, lim));  // +8 in 1 s: fine
  CHECK(f.is_artifact(150, t0 + 2s, lim));       // +70 in 1 s: motion
  CHECK_FALSE(f.is_artifact(82, t0 + 3s, lim));  // back near the believed level
  // A real step to a new level: suspect until it has held for 10 s, then believed.
  for (int i = 4; i < 14; ++i) {
    INFO(i);
    CHECK(f.is_artifact(140 + (i % 2), t0 + std::chrono::seconds(i), lim));
  }
  CHECK_FALSE(f.is_artifact(141, t0 + 14s, lim));
  CHECK_FALSE(f.is_artifact(139, t0 + 15s, lim));
}

TEST_CASE("erratic motion readings never confirm each other", "[quality]") {
  jump_filter f;
  const auto lim = default_jump_limit(vital_kind::heart_rate);
  CHECK_FALSE(f.is_artifact(70, t0, lim));
  const double motion[] = {140, 60, 135, 190, 58, 150, 100, 180, 61, 145, 200, 130};
  int i = 1;
  for (const double v : motion) {
    INFO(v);
    // The believed level moves only with readings near it; every high reading is far from it
    // and from the suspect reading before, so none is ever believed.
    const bool artifact = f.is_artifact(v, t0 + std::chrono::seconds(i++), lim);
    if (v > 120) CHECK(artifact);
  }
}

TEST_CASE("a lone CGM outlier is an artifact, a physiological fall is not", "[quality]") {
  const auto lim = default_jump_limit(vital_kind::glucose);
  jump_filter spike;
  CHECK_FALSE(spike.is_artifact(120, t0, lim));
  CHECK(spike.is_artifact(92, t0 + 5min, lim));          // -28 in 5 min (25 allowed)
  CHECK_FALSE(spike.is_artifact(118, t0 + 10min, lim));  // back at the believed level
  CHECK(spike.is_artifact(170, t0 + 15min, lim));        // +52: the other way
  CHECK_FALSE(spike.is_artifact(121, t0 + 20min, lim));

  jump_filter fall;  // -4 mg/dL/min, faster than physiology usually falls
  double v = 250;
  for (int i = 0; i < 10; ++i, v -= 20) {
    INFO(v);
    CHECK_FALSE(fall.is_artifact(v, t0 + std::chrono::minutes(5 * i), lim));
  }
}

TEST_CASE("a glucose jump that the next reading confirms is believed one reading late",
          "[quality]") {
  const auto lim = default_jump_limit(vital_kind::glucose);
  jump_filter f;
  CHECK_FALSE(f.is_artifact(120, t0, lim));
  CHECK(f.is_artifact(92, t0 + 5min, lim));         // suspect: -28 in 5 min
  CHECK_FALSE(f.is_artifact(90, t0 + 10min, lim));  // agrees with it: a real new level
  CHECK_FALSE(f.is_artifact(88, t0 + 15min, lim));

  // Readings that never agree with each other nor with the believed level stay artifacts.
  jump_filter g;
  CHECK_FALSE(g.is_artifact(150, t0, lim));
  CHECK(g.is_artifact(95, t0 + 5min, lim));
  CHECK(g.is_artifact(60, t0 + 10min, lim));   // 35 from the suspect 95: no confirmation
  CHECK(g.is_artifact(100, t0 + 15min, lim));  // 40 from 60, 50 from 150 (40 allowed)
  CHECK_FALSE(g.is_artifact(140, t0 + 20min, lim));
}

TEST_CASE("a real fall to the sensor floor is never hidden: 103 -> 65 -> 40 -> 40 -> 40",
          "[quality]") {
  // Readings of a person with type 1 diabetes falling to the CGM's floor (issue 18): the jump
  // filter may hold back the first low reading, never the confirmed level or the floor.
  const auto lim = default_jump_limit(vital_kind::glucose);
  jump_filter f;
  CHECK_FALSE(f.is_artifact(103, t0, lim));
  CHECK(f.is_artifact(65, t0 + 5min, lim));  // -38 in 5 min: held back one reading
  CHECK_FALSE(f.is_artifact(40, t0 + 10min, lim));
  CHECK_FALSE(f.is_artifact(40, t0 + 15min, lim));
  CHECK_FALSE(f.is_artifact(40, t0 + 20min, lim));

  // The same fall stopping just above the floor is confirmed by its second low reading.
  jump_filter g;
  CHECK_FALSE(g.is_artifact(103, t0, lim));
  CHECK(g.is_artifact(65, t0 + 5min, lim));
  CHECK_FALSE(g.is_artifact(45, t0 + 10min, lim));  // agrees with 65 (20 in 5 min)
  CHECK_FALSE(g.is_artifact(44, t0 + 15min, lim));

  // A reading at the floor straight after a normal one is believed at once.
  jump_filter h;
  CHECK_FALSE(h.is_artifact(110, t0, lim));
  CHECK_FALSE(h.is_artifact(39, t0 + 5min, lim));
}

TEST_CASE("a new glucose level is believed at once after a silence", "[quality]") {
  const auto lim = default_jump_limit(vital_kind::glucose);
  jump_filter g;
  CHECK_FALSE(g.is_artifact(150, t0, lim));
  CHECK_FALSE(g.is_artifact(70, t0 + 20min, lim));  // 20 min without readings: nothing to doubt
}

TEST_CASE("lateness is judged against the stream's usual delay, so a skewed clock is fine",
          "[quality]") {
  lateness_tracker t;
  const auto tol = default_late_tolerance(vital_kind::heart_rate);  // 2 min
  // The device clock is 7 minutes behind: every reading seems 7 minutes old, none is late.
  for (int i = 0; i < 100; ++i) {
    const auto dev = t0 + std::chrono::seconds(i);
    CHECK_FALSE(t.is_late(dev, dev + 7min + 300ms, tol));
  }
  // A backlog delivered after a 10-minute gateway outage: the first readings are late.
  const auto outage_end = t0 + 100s + 10min;
  CHECK(t.is_late(t0 + 100s, outage_end + 7min, tol));
  CHECK(t.is_late(t0 + 101s, outage_end + 7min, tol));
  // Then readings taken now are on time again.
  CHECK_FALSE(t.is_late(outage_end, outage_end + 7min + 200ms, tol));
}

TEST_CASE("lateness re-learns a device clock that jumped back", "[quality]") {
  lateness_tracker t;
  const auto tol = default_late_tolerance(vital_kind::heart_rate);
  for (int i = 0; i < 10; ++i) {
    const auto dev = t0 + std::chrono::seconds(i);
    CHECK_FALSE(t.is_late(dev, dev, tol));
  }
  // From now on the device clock reads 5 minutes behind; readings still come every second.
  int late = 0;
  int i = 10;
  for (; i < 10 + 3600; ++i) {
    const auto wall = t0 + std::chrono::seconds(i);
    if (!t.is_late(wall - 5min, wall, tol)) break;
    ++late;
  }
  CHECK(late > 0);
  CHECK(late < 3600);  // re-learnt well within the hour (about 10 x (5 - 2) minutes of readings)
}

TEST_CASE("a 15-minute CGM's fall is judged over its interval", "[quality]") {
  // T1D-UOM 005 (15-minute sensor): 95 -> 52 in 13 minutes is -3.3 mg/dL/min, physiological;
  // with the allowance capped at 10 minutes it was an artifact and hid a level-2 episode.
  const auto lim = default_jump_limit(vital_kind::glucose);
  jump_filter f;
  CHECK_FALSE(f.is_artifact(95.4, t0, lim));
  CHECK_FALSE(f.is_artifact(52.2, t0 + 13min, lim));
  // Faster than 3 mg/dL/min over the interval is still held back.
  jump_filter g;
  CHECK_FALSE(g.is_artifact(120, t0, lim));
  CHECK(g.is_artifact(60, t0 + 15min, lim));  // -60 in 15 min (55 allowed)
}

}  // namespace signal_quality_test
