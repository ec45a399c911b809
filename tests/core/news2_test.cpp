#include <vitals/core/news2.hpp>

#include <catch2/catch.hpp>
#include <limits>

using namespace vitals::core;

// A namespace of its own: the sanitizer presets are unity builds (tests/README.md).
namespace news2_test {
namespace {
constexpr double k_nan = std::numeric_limits<double>::quiet_NaN();
constexpr double k_inf = std::numeric_limits<double>::infinity();
}  // namespace

TEST_CASE("news2 pulse band boundaries") {
  CHECK(news2_pulse(0) == 3);
  CHECK(news2_pulse(40) == 3);
  CHECK(news2_pulse(41) == 1);
  CHECK(news2_pulse(50) == 1);
  CHECK(news2_pulse(51) == 0);
  CHECK(news2_pulse(90) == 0);
  CHECK(news2_pulse(91) == 1);
  CHECK(news2_pulse(110) == 1);
  CHECK(news2_pulse(111) == 2);
  CHECK(news2_pulse(130) == 2);
  CHECK(news2_pulse(131) == 3);
  CHECK(news2_pulse(250) == 3);
}

TEST_CASE("news2 non-integer readings are rounded to the nearest integer first") {
  CHECK(news2_pulse(40.4) == 3);
  CHECK(news2_pulse(40.5) == 1);
  CHECK(news2_pulse(90.49) == 0);
  CHECK(news2_pulse(90.5) == 1);
  CHECK(news2_spo2(95.5, spo2_scale::scale1, false) == 0);
  CHECK(news2_spo2(95.4, spo2_scale::scale1, false) == 1);
  CHECK(news2_resp_rate(20.5) == 2);
  CHECK(news2_systolic_bp(90.4) == 3);
  CHECK(news2_systolic_bp(90.5) == 2);
}

TEST_CASE("news2 non-finite readings are unscorable") {
  CHECK(news2_pulse(k_nan) == news2_unscorable);
  CHECK(news2_pulse(k_inf) == news2_unscorable);
  CHECK(news2_spo2(k_nan, spo2_scale::scale2, true) == news2_unscorable);
  CHECK(news2_resp_rate(-k_inf) == news2_unscorable);
  CHECK(news2_temperature(k_nan) == news2_unscorable);
  CHECK(news2_systolic_bp(k_nan) == news2_unscorable);
}

TEST_CASE("news2 spo2 scale 1 band boundaries, oxygen ignored") {
  for (const bool o2 : {false, true}) {
    CHECK(news2_spo2(80, spo2_scale::scale1, o2) == 3);
    CHECK(news2_spo2(91, spo2_scale::scale1, o2) == 3);
    CHECK(news2_spo2(92, spo2_scale::scale1, o2) == 2);
    CHECK(news2_spo2(93, spo2_scale::scale1, o2) == 2);
    CHECK(news2_spo2(94, spo2_scale::scale1, o2) == 1);
    CHECK(news2_spo2(95, spo2_scale::scale1, o2) == 1);
    CHECK(news2_spo2(96, spo2_scale::scale1, o2) == 0);
    CHECK(news2_spo2(100, spo2_scale::scale1, o2) == 0);
  }
}

TEST_CASE("news2 spo2 scale 2 on air") {
  CHECK(news2_spo2(83, spo2_scale::scale2, false) == 3);
  CHECK(news2_spo2(84, spo2_scale::scale2, false) == 2);
  CHECK(news2_spo2(85, spo2_scale::scale2, false) == 2);
  CHECK(news2_spo2(86, spo2_scale::scale2, false) == 1);
  CHECK(news2_spo2(87, spo2_scale::scale2, false) == 1);
  CHECK(news2_spo2(88, spo2_scale::scale2, false) == 0);
  CHECK(news2_spo2(92, spo2_scale::scale2, false) == 0);
  CHECK(news2_spo2(93, spo2_scale::scale2, false) == 0);
  CHECK(news2_spo2(97, spo2_scale::scale2, false) == 0);
  CHECK(news2_spo2(100, spo2_scale::scale2, false) == 0);
}

TEST_CASE("news2 spo2 scale 2 on oxygen") {
  CHECK(news2_spo2(83, spo2_scale::scale2, true) == 3);
  CHECK(news2_spo2(84, spo2_scale::scale2, true) == 2);
  CHECK(news2_spo2(85, spo2_scale::scale2, true) == 2);
  CHECK(news2_spo2(86, spo2_scale::scale2, true) == 1);
  CHECK(news2_spo2(87, spo2_scale::scale2, true) == 1);
  CHECK(news2_spo2(88, spo2_scale::scale2, true) == 0);
  CHECK(news2_spo2(92, spo2_scale::scale2, true) == 0);
  CHECK(news2_spo2(93, spo2_scale::scale2, true) == 1);
  CHECK(news2_spo2(94, spo2_scale::scale2, true) == 1);
  CHECK(news2_spo2(95, spo2_scale::scale2, true) == 2);
  CHECK(news2_spo2(96, spo2_scale::scale2, true) == 2);
  CHECK(news2_spo2(97, spo2_scale::scale2, true) == 3);
  CHECK(news2_spo2(100, spo2_scale::scale2, true) == 3);
}

TEST_CASE("news2 oxygen and consciousness") {
  CHECK(news2_oxygen(true) == 2);
  CHECK(news2_oxygen(false) == 0);
  CHECK(news2_consciousness(true) == 0);
  CHECK(news2_consciousness(false) == 3);
}

TEST_CASE("news2 respiration rate band boundaries") {
  CHECK(news2_resp_rate(4) == 3);
  CHECK(news2_resp_rate(8) == 3);
  CHECK(news2_resp_rate(9) == 1);
  CHECK(news2_resp_rate(11) == 1);
  CHECK(news2_resp_rate(12) == 0);
  CHECK(news2_resp_rate(20) == 0);
  CHECK(news2_resp_rate(21) == 2);
  CHECK(news2_resp_rate(24) == 2);
  CHECK(news2_resp_rate(25) == 3);
  CHECK(news2_resp_rate(40) == 3);
}

TEST_CASE("news2 temperature band boundaries, binned to 0.1 degree") {
  CHECK(news2_temperature(34.0) == 3);
  CHECK(news2_temperature(35.0) == 3);
  CHECK(news2_temperature(35.04) == 3);
  CHECK(news2_temperature(35.06) == 1);
  CHECK(news2_temperature(35.1) == 1);
  CHECK(news2_temperature(36.0) == 1);
  CHECK(news2_temperature(36.1) == 0);
  CHECK(news2_temperature(38.0) == 0);
  CHECK(news2_temperature(38.1) == 1);
  CHECK(news2_temperature(39.0) == 1);
  CHECK(news2_temperature(39.1) == 2);
  CHECK(news2_temperature(41.0) == 2);
}

TEST_CASE("news2 systolic blood pressure band boundaries") {
  CHECK(news2_systolic_bp(70) == 3);
  CHECK(news2_systolic_bp(90) == 3);
  CHECK(news2_systolic_bp(91) == 2);
  CHECK(news2_systolic_bp(100) == 2);
  CHECK(news2_systolic_bp(101) == 1);
  CHECK(news2_systolic_bp(110) == 1);
  CHECK(news2_systolic_bp(111) == 0);
  CHECK(news2_systolic_bp(219) == 0);
  CHECK(news2_systolic_bp(220) == 3);
  CHECK(news2_systolic_bp(260) == 3);
}

TEST_CASE("news2 band from aggregate and single 3") {
  CHECK(news2_band_for(0, 0) == news2_band::low);
  CHECK(news2_band_for(4, 2) == news2_band::low);
  CHECK(news2_band_for(3, 3) == news2_band::low_medium);
  CHECK(news2_band_for(4, 3) == news2_band::low_medium);
  CHECK(news2_band_for(5, 2) == news2_band::medium);
  CHECK(news2_band_for(6, 3) == news2_band::medium);
  CHECK(news2_band_for(7, 2) == news2_band::high);
  CHECK(news2_band_for(20, 3) == news2_band::high);
}

TEST_CASE("news2 full aggregate") {
  news2_inputs in;
  in.pulse = 115;         // 2
  in.spo2 = 93;           // scale 1: 2
  in.on_oxygen = true;    // 2
  in.resp_rate = 22;      // 2
  in.temperature = 38.5;  // 1
  in.systolic_bp = 105;   // 1
  in.alert = true;        // 0
  const auto r = news2_score(in);
  CHECK(r.total == 10);
  CHECK(r.max_single == 2);
  CHECK(r.parameters_scored == 7);
  CHECK(r.band == news2_band::high);
}

TEST_CASE("news2 all normal scores zero") {
  news2_inputs in;
  in.pulse = 70;
  in.spo2 = 98;
  in.on_oxygen = false;
  in.resp_rate = 16;
  in.temperature = 37.0;
  in.systolic_bp = 120;
  in.alert = true;
  const auto r = news2_score(in);
  CHECK(r.total == 0);
  CHECK(r.max_single == 0);
  CHECK(r.parameters_scored == 7);
  CHECK(r.band == news2_band::low);
}

TEST_CASE("news2 partial inputs: only heart rate and SpO2") {
  news2_inputs in;
  CHECK(news2_score(in).parameters_scored == 0);
  CHECK(news2_score(in).total == 0);
  CHECK(news2_score(in).band == news2_band::low);

  in.pulse = 100;  // 1
  in.spo2 = 94;    // 1
  auto r = news2_score(in);
  CHECK(r.total == 2);
  CHECK(r.parameters_scored == 2);
  CHECK(r.band == news2_band::low);

  in.pulse = 35;  // 3
  r = news2_score(in);
  CHECK(r.total == 4);
  CHECK(r.max_single == 3);
  CHECK(r.band == news2_band::low_medium);

  in.spo2 = 92;  // 2
  r = news2_score(in);
  CHECK(r.total == 5);
  CHECK(r.band == news2_band::medium);
}

TEST_CASE("news2 partial inputs: non-finite values are skipped") {
  news2_inputs in;
  in.pulse = k_nan;
  in.spo2 = 90;  // 3
  const auto r = news2_score(in);
  CHECK(r.total == 3);
  CHECK(r.parameters_scored == 1);
  CHECK(r.band == news2_band::low_medium);
}

TEST_CASE("news2 scale 2 uses on_oxygen, unknown oxygen scores as air") {
  news2_inputs in;
  in.scale = spo2_scale::scale2;
  in.spo2 = 97;
  auto r = news2_score(in);  // oxygen unknown: SpO2 0 on air, oxygen not scored
  CHECK(r.total == 0);
  CHECK(r.parameters_scored == 1);

  in.on_oxygen = false;
  r = news2_score(in);
  CHECK(r.total == 0);
  CHECK(r.parameters_scored == 2);

  in.on_oxygen = true;  // SpO2 3 + oxygen 2
  r = news2_score(in);
  CHECK(r.total == 5);
  CHECK(r.max_single == 3);
  CHECK(r.band == news2_band::medium);

  in.scale = spo2_scale::scale1;  // SpO2 0 + oxygen 2
  r = news2_score(in);
  CHECK(r.total == 2);
  CHECK(r.band == news2_band::low);
}

TEST_CASE("news2 consciousness alone triggers low_medium") {
  news2_inputs in;
  in.alert = false;
  const auto r = news2_score(in);
  CHECK(r.total == 3);
  CHECK(r.band == news2_band::low_medium);
}

}  // namespace news2_test
