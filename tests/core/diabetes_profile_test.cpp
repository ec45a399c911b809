#include <vitals/core/diabetes_profile.hpp>

#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <vector>

#include <vitals/core/detector_set.hpp>

using namespace vitals::core;
using namespace std::chrono_literals;

// A namespace of its own: the sanitizer presets are unity builds (tests/README.md).
namespace diabetes_profile_test {
namespace {

const timestamp t0{std::chrono::milliseconds(1'764'000'000'000)};

/// The rules raised for one patient's glucose readings, 5 minutes apart.
std::vector<std::string> raised(diabetes_type type, const std::vector<double>& readings) {
  detection_settings s;
  apply_diabetes_type(s.thresholds.patients["p1"], type);
  s.glucose.patients = s.thresholds.patients;
  detector_set set(s);
  std::vector<alert_event> out;
  for (std::size_t i = 0; i < readings.size(); ++i) {
    sample x;
    x.patient = short_id::truncate("p1");
    x.device = short_id::truncate("cgm");
    x.kind = vital_kind::glucose;
    x.value = readings[i];
    x.device_time = t0 + std::chrono::minutes(5 * i);
    set.observe(x, out);
  }
  std::vector<std::string> rules;
  for (const auto& e : out) {
    if (e.transition == alert_transition::raised) rules.push_back(e.rule);
  }
  return rules;
}

}  // namespace

TEST_CASE("diabetes types: names, and the overrides each implies", "[diabetes]") {
  for (const auto d : {diabetes_type::type1, diabetes_type::type2, diabetes_type::none}) {
    CHECK(parse_diabetes_type(to_string(d)) == d);
  }
  CHECK_FALSE(parse_diabetes_type("Type1"));
  CHECK_FALSE(parse_diabetes_type(""));
  CHECK(diabetes_overrides(diabetes_type::type1).empty());
  CHECK(diabetes_overrides(diabetes_type::type2).empty());
  const auto none = diabetes_overrides(diabetes_type::none);
  CHECK(none.at("glucose_low").enabled == false);
  CHECK(none.at("glucose_urgent_low_soon").enabled == false);
  CHECK(none.at("glucose_urgent_low").min_duration == std::chrono::milliseconds(10min));

  // A patient's own override wins over the one the type implies.
  std::map<std::string, rule_override> mine;
  mine["glucose_low"].limit = 60.0;
  apply_diabetes_type(mine, diabetes_type::none);
  CHECK(mine.at("glucose_low").limit == 60.0);
  CHECK_FALSE(mine.at("glucose_low").enabled);
  CHECK(mine.contains("glucose_urgent_low_soon"));
}

TEST_CASE("a person without diabetes is paged for a sustained level-2 low only", "[diabetes]") {
  // A fall that levels off at 62: type 1 gets the forecast and the < 70 alert, none nothing.
  const std::vector<double> dip{120, 110, 100, 90, 80, 72, 66, 63, 62, 62, 64, 70, 80, 90};
  const auto t1 = raised(diabetes_type::type1, dip);
  CHECK(std::find(t1.begin(), t1.end(), "glucose_low") != t1.end());
  CHECK(raised(diabetes_type::none, dip).empty());
  // One reading below 54 (a sensor dip): nothing for none.
  CHECK(raised(diabetes_type::none, {100, 98, 50, 97, 99, 100}).empty());
  // A real level-2 low that lasts: raised once it has held 10 minutes (third reading).
  const auto low = raised(diabetes_type::none, {80, 70, 60, 52, 50, 49, 50, 52, 60});
  CHECK(low == std::vector<std::string>{"glucose_urgent_low"});
}

}  // namespace diabetes_profile_test
