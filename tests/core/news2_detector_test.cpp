#include <vitals/core/news2_detector.hpp>

#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

using namespace vitals::core;
using namespace std::chrono_literals;

// Timing in these traces: the oximeter sends HR then SpO2 at every whole second. With
// `smoothing = 0` a reading goes through the median of the last three only, so a step in a
// steady trace at second k reaches the score at second k + 1 (one reading of median lag), and
// a rule whose band starts on the SpO2 reading at k + 1 raises on the HR reading 5 min later.

// A namespace of its own: the sanitizer presets are unity builds (tests/README.md).
namespace news2_detector_test {
namespace {

const timestamp t0{std::chrono::milliseconds(1'764'000'000'000)};
constexpr double k_nan = std::numeric_limits<double>::quiet_NaN();
constexpr double k_inf = std::numeric_limits<double>::infinity();

sample make(std::string_view patient, vital_kind kind, double value, std::chrono::seconds at) {
  sample s;
  s.patient = short_id::truncate(patient);
  s.device = short_id::truncate("oxi-1");
  s.kind = kind;
  s.value = value;
  s.device_time = t0 + at;
  return s;
}

/// Feeds HR then SpO2 at 1 Hz for seconds [from, to); a NaN here means "no reading" (skipped).
void oximeter(news2_detector& d, std::string_view patient, double hr, double spo2,
              std::chrono::seconds from, std::chrono::seconds to, std::vector<alert_event>& out) {
  for (auto t = from; t < to; t += 1s) {
    if (!std::isnan(hr)) d.observe(make(patient, vital_kind::heart_rate, hr, t), out);
    if (!std::isnan(spo2)) d.observe(make(patient, vital_kind::spo2, spo2, t), out);
  }
}

/// Median of three only, so the reading that raises or clears is exact.
news2_settings exact() {
  news2_settings s;
  s.smoothing = 0ms;
  return s;
}

std::chrono::seconds at(const alert_event& e) {
  return std::chrono::duration_cast<std::chrono::seconds>(e.time - t0);
}

bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("news2: SpO2 89 raises urgent review on scale 1 but not for a COPD patient on scale 2",
          "[news2_detector]") {
  auto settings = exact();
  settings.patient_context["copd-patient-77"] = {spo2_scale::scale2, false};
  news2_detector d(settings);
  std::vector<alert_event> on_scale1;
  std::vector<alert_event> on_scale2;
  oximeter(d, "patient-xyz-123", 80, 89, 0s, 299s, on_scale1);
  oximeter(d, "copd-patient-77", 80, 89, 0s, 1800s, on_scale2);
  CHECK(on_scale1.empty());  // band since the SpO2 reading at 0 s: not yet 5 min
  CHECK(on_scale2.empty());  // 89 % is inside the prescribed 88-92 % target

  oximeter(d, "patient-xyz-123", 80, 89, 299s, 301s, on_scale1);
  REQUIRE(on_scale1.size() == 1);
  const auto& e = on_scale1[0];
  CHECK(at(e) == 300s);
  CHECK(e.rule == "news2_urgent_review");
  CHECK(e.transition == alert_transition::raised);
  CHECK(e.level == priority::medium);
  CHECK(e.source == alert_source::physiological);
  CHECK(e.kind == vital_kind::spo2);  // SpO2 scores 3, pulse 0
  CHECK(e.value == 3);
  CHECK(e.threshold == 3);  // a single parameter scoring 3
  CHECK(e.condition_start == t0);
  CHECK(e.patient.view() == "patient-xyz-123");
  CHECK(e.device.view() == "oxi-1");
  CHECK(contains(e.message, "NEWS2 partial 3"));
  CHECK(contains(e.message, "SpO2 89 % scale 1: 3"));
  CHECK(contains(e.message, "pulse 80 /min: 0"));
  CHECK(contains(e.message, "air: 0"));
  CHECK(contains(e.message, "for 5 min"));
  CHECK(contains(e.message, "urgent review"));
  CHECK_FALSE(contains(e.message, "patient"));
  CHECK_FALSE(contains(e.message, "xyz"));

  // The COPD patient desaturating below the target does raise: 83 % scores 3 on scale 2.
  oximeter(d, "copd-patient-77", 80, 83, 1800s, 2200s, on_scale2);
  REQUIRE(on_scale2.size() == 1);
  CHECK(at(on_scale2[0]) == 2101s);
  CHECK(contains(on_scale2[0].message, "SpO2 83 % scale 2: 3"));
  CHECK(d.patient_count() == 2);
}

TEST_CASE("news2: the oxygen flag adds 2 and changes scale 2 above 92 %", "[news2_detector]") {
  auto settings = exact();
  settings.patient_context["s2-air"] = {spo2_scale::scale2, false};
  settings.patient_context["s2-o2"] = {spo2_scale::scale2, true};
  settings.patient_context["s1-o2"] = {spo2_scale::scale1, true};
  news2_detector d(settings);

  std::vector<alert_event> s2_air;
  std::vector<alert_event> s2_o2;
  std::vector<alert_event> s1_o2;
  oximeter(d, "s2-air", 80, 97, 0s, 900s, s2_air);  // 97 % on air, scale 2: 0
  oximeter(d, "s2-o2", 80, 97, 0s, 900s, s2_o2);    // 97 % on O2, scale 2: 3, + oxygen 2 = 5
  oximeter(d, "s1-o2", 80, 96, 0s, 900s, s1_o2);    // scale 1 ignores O2 for SpO2: 0 + 2
  CHECK(s2_air.empty());
  CHECK(s1_o2.empty());
  REQUIRE(s2_o2.size() == 1);
  CHECK(at(s2_o2[0]) == 300s);
  CHECK(s2_o2[0].value == 5);
  CHECK(s2_o2[0].threshold == 5);  // aggregate 5 (it also has a single 3)
  CHECK(s2_o2[0].kind == vital_kind::spo2);
  CHECK(contains(s2_o2[0].message, "SpO2 97 % scale 2: 3"));
  CHECK(contains(s2_o2[0].message, "oxygen: 2"));

  // On oxygen, scale 1: pulse 95 (1) + SpO2 93 (2) + oxygen (2) = 5; on air it would be 3.
  std::vector<alert_event> more;
  oximeter(d, "s1-o2", 95, 93, 900s, 1300s, more);
  REQUIRE(more.size() == 1);
  CHECK(more[0].value == 5);
  CHECK(at(more[0]) == 1201s);
}

TEST_CASE("news2: escalation to emergency keeps urgent review, they clear in turn",
          "[news2_detector]") {
  auto settings = exact();
  settings.patient_context["p"] = {spo2_scale::scale1, true};
  news2_detector d(settings);
  std::vector<alert_event> out;

  // Pulse 115 (2) + SpO2 94 (1) + oxygen (2) = 5, from the SpO2 reading at 0 s.
  oximeter(d, "p", 115, 94, 0s, 600s, out);
  REQUIRE(out.size() == 1);
  CHECK(out[0].rule == "news2_urgent_review");
  CHECK(at(out[0]) == 300s);
  CHECK(out[0].value == 5);

  // SpO2 91 (3): 7, from the SpO2 reading at 601 s.
  out.clear();
  oximeter(d, "p", 115, 91, 600s, 1200s, out);
  REQUIRE(out.size() == 1);  // urgent review stays active: no clear
  CHECK(out[0].rule == "news2_emergency");
  CHECK(out[0].transition == alert_transition::raised);
  CHECK(out[0].level == priority::high);
  CHECK(at(out[0]) == 901s);
  CHECK(out[0].value == 7);
  CHECK(out[0].threshold == 7);
  CHECK(out[0].kind == vital_kind::spo2);
  CHECK(out[0].condition_start == t0 + 601s);
  CHECK(contains(out[0].message, "emergency response"));

  // Back to 5: emergency clears 5 min after the SpO2 reading at 1201 s; urgent review stays.
  out.clear();
  oximeter(d, "p", 115, 94, 1200s, 2400s, out);
  REQUIRE(out.size() == 1);
  CHECK(out[0].rule == "news2_emergency");
  CHECK(out[0].transition == alert_transition::cleared);
  CHECK(at(out[0]) == 1501s);
  CHECK(out[0].value == 5);
  CHECK(contains(out[0].message, "peak 7"));

  // Pulse 80, SpO2 97: oxygen alone, 2. The HR reading at 2401 s is the first below the band.
  out.clear();
  oximeter(d, "p", 80, 97, 2400s, 3000s, out);
  REQUIRE(out.size() == 1);
  CHECK(out[0].rule == "news2_urgent_review");
  CHECK(out[0].transition == alert_transition::cleared);
  CHECK(at(out[0]) == 2701s);
  CHECK(out[0].value == 2);
  CHECK(contains(out[0].message, "peak 7"));
}

TEST_CASE("news2: jumping straight to 8 raises urgent review and emergency on the same reading",
          "[news2_detector]") {
  auto settings = exact();
  settings.patient_context["p"] = {spo2_scale::scale1, true};
  news2_detector d(settings);
  std::vector<alert_event> out;
  // Pulse 135 (3) + SpO2 90 (3) + oxygen (2) = 8.
  oximeter(d, "p", 135, 90, 0s, 301s, out);
  REQUIRE(out.size() == 2);
  CHECK(out[0].rule == "news2_urgent_review");
  CHECK(out[0].level == priority::medium);
  CHECK(out[0].threshold == 5);
  CHECK(out[1].rule == "news2_emergency");
  CHECK(out[1].level == priority::high);
  CHECK(out[1].threshold == 7);
  for (const auto& e : out) {
    CHECK(at(e) == 300s);
    CHECK(e.value == 8);
    CHECK(e.kind == vital_kind::spo2);  // pulse and SpO2 both score 3: SpO2 first on the chart
  }
}

TEST_CASE("news2: the band must hold for 5 min, a 2-minute dip does not raise",
          "[news2_detector]") {
  news2_detector d(exact());
  std::vector<alert_event> out;
  oximeter(d, "p", 80, 97, 0s, 60s, out);
  oximeter(d, "p", 80, 88, 60s, 180s, out);  // 2-minute dip
  oximeter(d, "p", 80, 97, 180s, 1000s, out);
  CHECK(out.empty());

  oximeter(d, "p", 80, 88, 1000s, 1300s, out);
  CHECK(out.empty());  // in the band since the SpO2 reading at 1001 s
  oximeter(d, "p", 80, 88, 1300s, 1302s, out);
  REQUIRE(out.size() == 1);
  CHECK(at(out[0]) == 1301s);
  CHECK(out[0].condition_start == t0 + 1001s);
}

TEST_CASE("news2: clearing needs 5 min below the band (hysteresis in time)", "[news2_detector]") {
  news2_detector d(exact());
  std::vector<alert_event> out;
  oximeter(d, "p", 80, 88, 0s, 400s, out);
  REQUIRE(out.size() == 1);
  CHECK(at(out[0]) == 300s);

  out.clear();
  oximeter(d, "p", 80, 96, 400s, 640s, out);  // 4 min below the band
  oximeter(d, "p", 80, 88, 640s, 700s, out);  // back in it: the clear countdown restarts
  oximeter(d, "p", 80, 96, 700s, 1000s, out);
  CHECK(out.empty());
  oximeter(d, "p", 80, 96, 1000s, 1100s, out);
  REQUIRE(out.size() == 1);
  CHECK(out[0].transition == alert_transition::cleared);
  CHECK(out[0].rule == "news2_urgent_review");
  CHECK(at(out[0]) == 1001s);  // 5 min after the SpO2 reading at 701 s
  CHECK(out[0].value == 0);
  CHECK(out[0].threshold == 3);
  CHECK(out[0].condition_start == t0);
  CHECK(contains(out[0].message, "for 5 min"));
}

TEST_CASE("news2: HR alone gives a partial score from pulse", "[news2_detector]") {
  news2_detector d(exact());
  std::vector<alert_event> out;
  oximeter(d, "p", 135, k_nan, 0s, 400s, out);  // a heart-rate source without SpO2
  REQUIRE(out.size() == 1);
  CHECK(at(out[0]) == 300s);
  CHECK(out[0].kind == vital_kind::heart_rate);
  CHECK(out[0].value == 3);
  CHECK(out[0].threshold == 3);
  CHECK(contains(out[0].message, "NEWS2 partial 3 (air: 0, pulse 135 /min: 3; no SpO2)"));
}

TEST_CASE("news2: a stale SpO2 is not scored", "[news2_detector]") {
  news2_detector d(exact());
  std::vector<alert_event> out;
  // SpO2 89 for one minute, then only HR: SpO2 drops out 2 min after its last reading (59 s),
  // so the band ends at 180 s, before its 5 minutes.
  oximeter(d, "p", 80, 89, 0s, 60s, out);
  oximeter(d, "p", 80, k_nan, 60s, 900s, out);
  CHECK(out.empty());
}

TEST_CASE("news2: an alert raised on SpO2 does not clear while SpO2 is missing",
          "[news2_detector]") {
  news2_detector d(exact());
  std::vector<alert_event> out;
  oximeter(d, "p", 80, 89, 0s, 400s, out);
  REQUIRE(out.size() == 1);
  out.clear();
  oximeter(d, "p", 80, k_nan, 400s, 1500s, out);  // HR alone scores 0 for 18 min
  CHECK(out.empty());
  oximeter(d, "p", 80, 97, 1500s, 1900s, out);  // SpO2 back (a fresh start: no median lag)
  REQUIRE(out.size() == 1);
  CHECK(out[0].transition == alert_transition::cleared);
  CHECK(at(out[0]) == 1800s);
}

TEST_CASE("news2: a silence longer than the validity window restarts the duration",
          "[news2_detector]") {
  news2_detector d(exact());
  std::vector<alert_event> out;
  oximeter(d, "p", 80, 88, 0s, 180s, out);    // 3 min in the band
  oximeter(d, "p", 80, 88, 360s, 700s, out);  // after 181 s of silence
  REQUIRE(out.size() == 1);
  CHECK(at(out[0]) == 660s);
  CHECK(out[0].condition_start == t0 + 360s);

  // A 61 s silence (within 2 min) does not restart it.
  news2_detector d2(exact());
  std::vector<alert_event> out2;
  oximeter(d2, "p", 80, 88, 0s, 180s, out2);
  oximeter(d2, "p", 80, 88, 240s, 400s, out2);
  REQUIRE(out2.size() == 1);
  CHECK(at(out2[0]) == 300s);
  CHECK(out2[0].condition_start == t0);
}

TEST_CASE("news2: per-patient overrides of enabled, level and min_duration", "[news2_detector]") {
  auto settings = exact();
  settings.patients["off"]["news2_urgent_review"].enabled = false;
  settings.patients["fast"]["news2_urgent_review"].min_duration = 60s;
  settings.patients["fast"]["news2_urgent_review"].level = priority::high;
  settings.patients["fast"]["news2_urgent_review"].limit = 99.0;  // ignored
  settings.patients["o2-off"]["news2_emergency"].enabled = false;
  settings.patient_context["o2-off"] = {spo2_scale::scale1, true};
  news2_detector d(settings);

  std::vector<alert_event> off;
  std::vector<alert_event> fast;
  std::vector<alert_event> plain;
  std::vector<alert_event> o2_off;
  oximeter(d, "off", 80, 88, 0s, 900s, off);
  oximeter(d, "fast", 80, 88, 0s, 900s, fast);
  oximeter(d, "plain", 80, 88, 0s, 900s, plain);
  oximeter(d, "o2-off", 135, 88, 0s, 900s, o2_off);  // 8, but emergency is off

  CHECK(off.empty());
  REQUIRE(fast.size() == 1);
  CHECK(at(fast[0]) == 60s);
  CHECK(fast[0].level == priority::high);
  CHECK(fast[0].threshold == 3);
  REQUIRE(plain.size() == 1);
  CHECK(at(plain[0]) == 300s);
  CHECK(plain[0].level == priority::medium);
  REQUIRE(o2_off.size() == 1);
  CHECK(o2_off[0].rule == "news2_urgent_review");
}

TEST_CASE("news2: non-finite values, flagged readings and glucose are ignored",
          "[news2_detector]") {
  news2_detector d(exact());
  std::vector<alert_event> out;
  oximeter(d, "nan-only", k_nan, k_nan, 0s, 10s, out);  // skipped by the helper
  d.observe(make("nan-only", vital_kind::spo2, k_nan, 10s), out);
  d.observe(make("nan-only", vital_kind::heart_rate, k_inf, 10s), out);
  d.observe(make("nan-only", vital_kind::glucose, 50, 10s), out);
  CHECK(d.patient_count() == 0);

  // NaN and inf readings inside a low-SpO2 trace neither score nor break the persistence.
  for (auto t = 0s; t < 400s; t += 1s) {
    const bool bad = t.count() % 7 == 3;
    d.observe(make("p", vital_kind::heart_rate, bad ? k_inf : 80, t), out);
    d.observe(make("p", vital_kind::spo2, bad ? k_nan : 88, t), out);
  }
  REQUIRE(out.size() == 1);
  CHECK(at(out[0]) == 300s);
  CHECK(out[0].value == 3);

  // Readings flagged as artifacts or without sensor contact are not scored.
  out.clear();
  for (auto t = 0s; t < 900s; t += 1s) {
    d.observe(make("q", vital_kind::heart_rate, 80, t), out);
    auto s = make("q", vital_kind::spo2, 70, t);
    s.quality = t.count() % 2 == 0 ? quality_artifact : quality_sensor_contact_lost;
    d.observe(s, out);
  }
  CHECK(out.empty());
}

TEST_CASE("news2: single noisy readings do not move the band (default smoothing)",
          "[news2_detector]") {
  news2_detector d;  // defaults: median of three, then a 60 s weighted mean
  std::vector<alert_event> out;
  for (auto t = 0s; t < 1800s; t += 1s) {
    const bool spike = t.count() % 20 == 10;
    d.observe(make("p", vital_kind::heart_rate, t.count() % 20 == 5 ? 160 : 80, t), out);
    d.observe(make("p", vital_kind::spo2, spike ? 75 : 97, t), out);
  }
  CHECK(out.empty());

  // A real step to 88 %: the weighted mean needs about a minute to score 3, then 5 min.
  for (auto t = 1800s; t < 2400s; t += 1s) {
    d.observe(make("p", vital_kind::heart_rate, 80, t), out);
    d.observe(make("p", vital_kind::spo2, 88, t), out);
  }
  REQUIRE(out.size() == 1);
  CHECK(at(out[0]) > 1800s + 330s);
  CHECK(at(out[0]) < 1800s + 400s);
  CHECK(contains(out[0].message, "SpO2 88 % scale 1: 3"));
}

TEST_CASE("news2: per-patient state stays small", "[news2_detector]") {
  news2_detector d(exact());
  std::vector<alert_event> out;
  for (int i = 0; i < 1000; ++i) {
    const auto id = "patient-" + std::to_string(i);
    d.observe(make(id, vital_kind::heart_rate, 80, 0s), out);
    d.observe(make(id, vital_kind::spo2, 97, 0s), out);
  }
  CHECK(d.patient_count() == 1000);
  const auto per_patient = d.state_bytes() / d.patient_count();
  INFO("NEWS2 detector state: " << per_patient << " bytes per patient");
  CHECK(per_patient < 512);
  CHECK(news2_parameter_for(vital_kind::glucose) == std::nullopt);
  CHECK(news2_parameter_for(vital_kind::heart_rate) == news2_parameter::pulse);
}

}  // namespace news2_detector_test
