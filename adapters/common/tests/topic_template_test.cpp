#include <catch2/catch.hpp>

#include <stdexcept>

#include <vitals/adapters/common/topic_template.hpp>

using vitals::adapters::common::topic_template;
namespace core = vitals::core;

TEST_CASE("topic template: patient and device levels", "[topic][mqtt]") {
  const topic_template t("vitals/{patient}/{device}");
  CHECK(t.text() == "vitals/{patient}/{device}");
  CHECK(t.filter() == "vitals/+/+");
  const auto m = t.match("vitals/p001/hr-0001");
  REQUIRE(m);
  CHECK(m->patient == "p001");
  CHECK(m->device == "hr-0001");
  CHECK_FALSE(m->kind);
}

TEST_CASE("topic template: kind level", "[topic][mqtt]") {
  const topic_template t("vitals/{patient}/{device}/{kind}");
  CHECK(t.filter() == "vitals/+/+/+");
  const auto m = t.match("vitals/p1/cgm-7/glucose");
  REQUIRE(m);
  CHECK(m->kind == core::vital_kind::glucose);
  CHECK(t.match("vitals/p1/ox/spo2")->kind == core::vital_kind::spo2);
  CHECK(t.match("vitals/p1/hr/heart-rate")->kind == core::vital_kind::heart_rate);
  CHECK_FALSE(t.match("vitals/p1/bp/blood-pressure"));  // unknown vital: bad_topic
}

TEST_CASE("topic template: topics that do not match", "[topic][mqtt]") {
  const topic_template t("vitals/{patient}/{device}");
  CHECK_FALSE(t.match("vitals/p1"));
  CHECK_FALSE(t.match("vitals/p1/d1/extra"));
  CHECK_FALSE(t.match("other/p1/d1"));
  CHECK_FALSE(t.match("vitals//d1"));  // empty ids are not ids
  CHECK_FALSE(t.match("vitals/p1/"));
  CHECK_FALSE(t.match(""));
  CHECK_FALSE(t.match("vitals"));
}

TEST_CASE("topic template: literal levels, wildcards and no placeholders", "[topic][mqtt]") {
  const topic_template a("site/+/vitals/{device}");
  CHECK(a.filter() == "site/+/vitals/+");
  REQUIRE(a.match("site/ward-3/vitals/d9"));
  CHECK(a.match("site/ward-3/vitals/d9")->device == "d9");
  CHECK_FALSE(a.match("site/ward-3/other/d9"));

  const topic_template b("hub/{device}/#");
  CHECK(b.filter() == "hub/+/#");
  CHECK(b.match("hub/d1")->device == "d1");
  CHECK(b.match("hub/d1/a/b/c")->device == "d1");
  CHECK_FALSE(b.match("hub"));

  const topic_template c("readings");
  CHECK(c.filter() == "readings");
  REQUIRE(c.match("readings"));
  CHECK_FALSE(c.match("readings/x"));

  const topic_template d("/vitals/{device}");
  CHECK(d.filter() == "/vitals/+");
  CHECK(d.match("/vitals/d1")->device == "d1");
  CHECK_FALSE(d.match("vitals/d1"));
}

TEST_CASE("topic template: malformed templates throw naming the template", "[topic][mqtt]") {
  for (const char* bad : {"", "vitals/{patient}/{patient}", "vitals/{foo}", "vitals/dev-{device}",
                          "vitals/#/x", "vitals/a+/b", "vitals/{device", "vitals/{kind}/{kind}"}) {
    INFO(bad);
    CHECK_THROWS_AS(topic_template(bad), std::invalid_argument);
    CHECK_THROWS_WITH(topic_template(bad), Catch::Contains("'" + std::string(bad) + "'"));
  }
}
