#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>

#include <vitals/core/rfc3339.hpp>

namespace core = vitals::core;
using core::parse_rfc3339;

// A namespace of its own: the sanitizer presets are unity builds (tests/README.md).
namespace rfc3339_test {
namespace {

core::timestamp ms(std::int64_t v) {
  return core::timestamp{std::chrono::milliseconds{v}};
}

}  // namespace

TEST_CASE("parse_rfc3339: offsets, fractions and malformed text", "[core][time]") {
  CHECK(parse_rfc3339("2024-11-28T03:55:00Z") == ms(1732766100000));
  CHECK(parse_rfc3339("2024-11-28t03:55:00z") == ms(1732766100000));
  CHECK(parse_rfc3339("2024-11-28 03:55:00Z") == ms(1732766100000));
  CHECK(parse_rfc3339("2024-11-28T04:55:00+01:00") == ms(1732766100000));
  CHECK(parse_rfc3339("2024-11-27T22:25:00-05:30") == ms(1732766100000));
  CHECK(parse_rfc3339("2024-11-28T03:55:00.1Z") == ms(1732766100100));
  CHECK(parse_rfc3339("2024-11-28T03:55:00.123456789Z") == ms(1732766100123));
  CHECK(parse_rfc3339("2024-02-29T00:00:00Z").has_value());
  CHECK(parse_rfc3339("2016-12-31T23:59:60Z") == parse_rfc3339("2017-01-01T00:00:00Z"));
  for (const char* bad :
       {"", "2024-11-28", "2024-11-28T03:55:00", "2024-11-28T03:55Z", "2024-13-01T00:00:00Z",
        "2023-02-29T00:00:00Z", "2024-11-28T24:00:00Z", "2024-11-28T03:55:00.Z",
        "2024-11-28T03:55:00+0100", "2024-11-28T03:55:00Z ", "2024-11-28T03:55:00+01:00x",
        "24-11-28T03:55:00Z", "2024-11-28T03:5a:00Z"}) {
    INFO(bad);
    CHECK_FALSE(parse_rfc3339(bad).has_value());
  }
}

}  // namespace rfc3339_test
