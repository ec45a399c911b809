#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include <vitals/adapters/registry.hpp>
#include <vitals/config/loader.hpp>
#include <vitals/config/patient_registry.hpp>

using vitals::config::config_error;
using vitals::config::registry_patient;

// A namespace of its own: the sanitizer presets are unity builds (tests/README.md).
namespace patient_registry_test {
namespace {

vitals::config::settings load(std::string_view text) {
  return vitals::config::load_string(text, "vitalsd.toml", vitals::adapters::registry());
}

const char* const file_patients = R"(
[[patients]]
id = "p-1"
care_team = "ward-3"
utc_offset_min = 60
  [patients.rules.spo2_low]
  limit = 86
[[patients]]
id = "p-2"
care_team = "ward-4"
[[devices]]
id = "cgm-1"
patient = "p-1"
[[devices]]
id = "cgm-2"
patient = "p-2"
)";

TEST_CASE("a registry patient takes the keys of a [[patients]] table and its devices") {
  auto s = load("");
  const std::vector<registry_patient> reg{
      {"p-9",
       R"({"care_team": "icu", "diabetes": "none", "spo2_scale": 2, "on_oxygen": true,
           "utc_offset_min": -300, "devices": ["cgm-9", "ox-9"],
           "rules": {"spo2_low": {"limit": 85.5, "priority": "high"}}})"}};
  const auto out = vitals::config::apply_registry(s, reg);
  CHECK(out.patients == 1);
  CHECK(out.devices == 2);
  CHECK(out.replaced == 0);
  REQUIRE(s.detector.patients.contains("p-9"));
  const auto& rules = s.detector.patients.at("p-9");
  REQUIRE(rules.contains("spo2_low"));
  CHECK(rules.at("spo2_low").limit == Approx(85.5));
  CHECK(rules.contains("glucose_low"));  // diabetes = "none" switches it off
  CHECK(s.alerts.lifecycle.care_teams.at("p-9") == "icu");
  CHECK(s.baseline.patient_utc_offset_minutes.at("p-9") == -300);
  CHECK(s.news2.patient_context.at("p-9").on_oxygen);
  REQUIRE(s.devices.size() == 2);
  CHECK(s.devices[0].id == "cgm-9");
  CHECK(s.devices[1].patient == "p-9");
}

TEST_CASE("the registry's entry replaces the file's patient and its devices") {
  auto s = load(file_patients);
  const std::vector<registry_patient> reg{{"p-1", R"({"care_team": "icu", "devices": ["ox-1"]})"},
                                          {"p-3", R"({"devices": ["cgm-2"]})"}};
  const auto out = vitals::config::apply_registry(s, reg);
  CHECK(out.replaced == 1);
  // p-1: the file's limit, offset and device are gone; the registry's team and device hold.
  CHECK(s.detector.patients.at("p-1").empty());
  CHECK(s.alerts.lifecycle.care_teams.at("p-1") == "icu");
  CHECK_FALSE(s.baseline.patient_utc_offset_minutes.contains("p-1"));
  // p-2 keeps its file settings, but its device moved to p-3 with the registry.
  CHECK(s.alerts.lifecycle.care_teams.at("p-2") == "ward-4");
  CHECK(s.detector.patients.contains("p-3"));
  std::vector<std::string> mapped;
  for (const auto& d : s.devices) mapped.push_back(d.id + "->" + d.patient);
  CHECK_THAT(mapped,
             Catch::Matchers::UnorderedEquals(std::vector<std::string>{"ox-1->p-1", "cgm-2->p-3"}));
}

TEST_CASE("registry problems name the entry and the key, and change nothing") {
  auto s = load(file_patients);
  const auto before = s.detector.patients.size();
  const std::vector<registry_patient> reg{
      {"p-1", R"({"care_team": "icu"})"},
      {"p-5", R"({"rules": {"spo2_low": {"limit": 20}}, "colour": "blue"})"},
      {"p-6", R"({"devices": ["ox-1", 7]})"},
      {"p-7", R"({"devices": ["ox-1"]})"},
      {"p-8", R"([1, 2])"},
      {"p-9", R"({"care_team": null})"},
      {"p-10", R"({"care_team": )"},
  };
  try {
    vitals::config::apply_registry(s, reg);
    FAIL("apply_registry accepted broken entries");
  } catch (const config_error& e) {
    const std::string text = e.what();
    CHECK_THAT(text, Catch::Contains("patient registry, entry 2: key 'rules.spo2_low.limit'"));
    CHECK_THAT(text, Catch::Contains("patient registry, entry 2: key 'colour'"));
    CHECK_THAT(text, Catch::Contains("patient registry, entry 3: key 'devices[1]'"));
    CHECK_THAT(text, Catch::Contains("patient registry, entry 4: key 'devices'"));
    CHECK_THAT(text, Catch::Contains("patient registry, entry 5"));
    CHECK_THAT(text, Catch::Contains("patient registry, entry 6: key 'care_team'"));
    CHECK_THAT(text, Catch::Contains("patient registry, entry 7"));
    CHECK_THAT(text, !Catch::Contains("entry 1:"));
  }
  CHECK(s.detector.patients.size() == before);
  CHECK(s.detector.patients.at("p-1").contains("spo2_low"));
  CHECK(s.alerts.lifecycle.care_teams.at("p-1") == "ward-3");
}

TEST_CASE("one entry is checked alone, with the caller's source name") {
  CHECK(
      vitals::config::check_registry_patient({"p-1", R"({"diabetes": "type1"})"}, "body").empty());
  const auto problems =
      vitals::config::check_registry_patient({"p-1", R"({"diabetes": "type3"})"}, "body");
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].file == "body");
  CHECK(problems[0].key == "diabetes");
  const auto wrong_id = vitals::config::check_registry_patient({"p-1", R"({"id": "p-2"})"}, "body");
  REQUIRE(wrong_id.size() == 1);
  CHECK(wrong_id[0].key == "id");
  const auto too_long = vitals::config::check_registry_patient({std::string(48, 'x'), "{}"}, "b");
  CHECK(too_long.size() == 1);
  CHECK(vitals::config::check_registry_patient({"", "{}"}, "b").size() == 1);
}

}  // namespace
}  // namespace patient_registry_test
