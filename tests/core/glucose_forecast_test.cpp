#include <vitals/core/glucose_forecast.hpp>

#include <array>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstddef>
#include <limits>

using namespace vitals::core;

// A namespace of its own: the sanitizer presets are unity builds (tests/README.md).
namespace glucose_forecast_test {
namespace {
constexpr double k_nan = std::numeric_limits<double>::quiet_NaN();
constexpr double k_inf = std::numeric_limits<double>::infinity();
}  // namespace

TEST_CASE("ar2 forecast: flat at 140 stays flat") {
  const auto f = ar2_forecast(140.0, 140.0, 6);
  REQUIRE(f.size() == 6);
  for (const double v : f) CHECK(v == Approx(140.0));
}

TEST_CASE("ar2 forecast: flat elsewhere drifts slowly toward 140") {
  // y = ln(100/140); next y = (1.716 - 0.723) y = 0.993 y, so bg = 140 (100/140)^0.993.
  const auto f = ar2_forecast(100.0, 100.0, 2);
  REQUIRE(f.size() == 2);
  CHECK(f[0] == Approx(140.0 * std::pow(100.0 / 140.0, 0.993)));
  CHECK(f[0] == Approx(100.2358).epsilon(1e-6));
  CHECK(f[1] == Approx(100.6418).epsilon(1e-6));
}

TEST_CASE("ar2 forecast: hand-computed first step") {
  const double y0 = std::log(120.0 / 140.0);
  const double y1 = std::log(110.0 / 140.0);
  const double y2 = 1.716 * y1 - 0.723 * y0;
  const double y3 = 1.716 * y2 - 0.723 * y1;
  const auto f = ar2_forecast(120.0, 110.0, 4);
  REQUIRE(f.size() == 4);
  CHECK(f[0] == Approx(140.0 * std::exp(y2)));
  CHECK(f[1] == Approx(140.0 * std::exp(y3)));
  CHECK(f[0] == Approx(103.468).epsilon(1e-5));
  CHECK(f[1] == Approx(99.198).epsilon(1e-5));
  CHECK(f[2] == Approx(96.453).epsilon(1e-5));
  CHECK(f[3] == Approx(94.763).epsilon(1e-5));  // +20 min
}

TEST_CASE("ar2 forecast: a falling series keeps falling and decelerates in log space") {
  const auto f = ar2_forecast(120.0, 110.0, 6);
  REQUIRE(f.size() == 6);
  double prev_y = std::log(110.0 / 140.0);
  double prev_step = std::log(110.0 / 120.0);
  for (const double v : f) {
    const double y = std::log(v / 140.0);
    const double step = y - prev_y;
    CHECK(step < 0.0);                            // still falling
    CHECK(std::abs(step) < std::abs(prev_step));  // but more slowly
    prev_y = y;
    prev_step = step;
  }
  // Far out it turns back toward 140 (both AR roots are real and below 1).
  const auto far = ar2_forecast(120.0, 110.0, 60);
  CHECK(far.back() > far[6]);
  CHECK(far.back() < 140.0);
}

TEST_CASE("ar2 forecast: invalid input gives an empty forecast") {
  CHECK(ar2_forecast(100.0, 100.0, 0).empty());
  CHECK(ar2_forecast(100.0, 100.0, -3).empty());
  CHECK(ar2_forecast(0.0, 100.0, 6).empty());
  CHECK(ar2_forecast(100.0, -5.0, 6).empty());
  CHECK(ar2_forecast(k_nan, 100.0, 6).empty());
  CHECK(ar2_forecast(100.0, k_nan, 6).empty());
  CHECK(ar2_forecast(k_inf, 100.0, 6).empty());
}

TEST_CASE("ar2 avg loss: Nightscout definition on rounded points") {
  // 95 -> 85 forecasts 79, 75, 72, 71, 70, 70; loss = sum (log10(p/120))^2 / 5.
  const std::array<double, 6> pts{79, 75, 72, 71, 70, 70};
  double expected = 0.0;
  for (const double p : pts) expected += std::pow(std::log10(p / 120.0), 2) / 5.0;
  const auto loss = ar2_avg_loss(95.0, 85.0);
  REQUIRE(loss.has_value());
  CHECK(*loss == Approx(expected));
  CHECK(*loss == Approx(0.05708).epsilon(1e-3));
  // Flat at 140 forecasts 140 throughout: six terms of log10(140/120)^2, divided by 5.
  const auto flat = ar2_avg_loss(140.0, 140.0);
  REQUIRE(flat.has_value());
  CHECK(*flat == Approx(6.0 * std::pow(std::log10(140.0 / 120.0), 2) / 5.0));
}

TEST_CASE("ar2 predictive low on crafted pairs") {
  CHECK(ar2_predictive_low(95.0, 85.0));         // loss 0.057, +20 min 71
  CHECK(ar2_predictive_low(85.0, 80.0));         // loss 0.051, +20 min 74
  CHECK(ar2_predictive_low(60.0, 55.0));         // loss 0.175, +20 min 49
  CHECK(ar2_predictive_low(40.0, 39.0));         // at the sensor floor
  CHECK_FALSE(ar2_predictive_low(100.0, 90.0));  // +20 min 76 but loss only 0.043
  CHECK_FALSE(ar2_predictive_low(78.0, 78.0));   // +20 min rounds to 80, not < 80
  CHECK_FALSE(ar2_predictive_low(110.0, 100.0));
  CHECK_FALSE(ar2_predictive_low(140.0, 140.0));
  CHECK_FALSE(ar2_predictive_low(300.0, 320.0));  // large loss, but a high
}

TEST_CASE("ar2 predictive low: invalid input is false, no forecast below 36") {
  CHECK_FALSE(ar2_predictive_low(0.0, 50.0));
  CHECK_FALSE(ar2_predictive_low(50.0, -1.0));
  CHECK_FALSE(ar2_predictive_low(k_nan, 50.0));
  CHECK_FALSE(ar2_predictive_low(50.0, k_nan));
  CHECK_FALSE(ar2_predictive_low(k_inf, 50.0));
  CHECK_FALSE(ar2_predictive_low(40.0, 35.0));
  CHECK_FALSE(ar2_avg_loss(40.0, 35.0).has_value());
  CHECK_FALSE(ar2_avg_loss(k_nan, 100.0).has_value());
  CHECK(ar2_avg_loss(36.0, 36.0).has_value());
}

TEST_CASE("linear extrapolation: three equally spaced readings") {
  const std::array<timed_glucose, 3> r{{{0.0, 100.0}, {5.0, 90.0}, {10.0, 80.0}}};
  const auto v = linear_extrapolation(r, 20.0);
  REQUIRE(v.has_value());
  CHECK(*v == Approx(40.0));  // -2 mg/dL/min for 20 min from 80
  // Least squares over 3 equally spaced points uses only the end points' slope.
  const std::array<timed_glucose, 3> bent{{{0.0, 100.0}, {5.0, 100.0}, {10.0, 80.0}}};
  const auto b = linear_extrapolation(bent, 20.0);
  REQUIRE(b.has_value());
  // slope (80 - 100) / 10 = -2/min through the mean (5, 93.33): at t = 30, 93.33 - 50 = 43.33.
  CHECK(*b == Approx(93.0 + 1.0 / 3.0 - 50.0));
}

TEST_CASE("linear extrapolation: flat and two readings") {
  const std::array<timed_glucose, 2> r{{{0.0, 120.0}, {5.0, 120.0}}};
  CHECK(*linear_extrapolation(r, 20.0) == Approx(120.0));
  const std::array<timed_glucose, 2> u{{{0.0, 60.0}, {4.0, 64.0}}};
  CHECK(*linear_extrapolation(u, 20.0) == Approx(84.0));
}

TEST_CASE("linear extrapolation: invalid input") {
  const std::array<timed_glucose, 1> one{{{0.0, 100.0}}};
  CHECK_FALSE(linear_extrapolation(one, 20.0).has_value());
  CHECK_FALSE(linear_extrapolation(std::span<const timed_glucose>{}, 20.0).has_value());
  const std::array<timed_glucose, 2> same_time{{{5.0, 100.0}, {5.0, 90.0}}};
  CHECK_FALSE(linear_extrapolation(same_time, 20.0).has_value());
  const std::array<timed_glucose, 2> backwards{{{5.0, 100.0}, {0.0, 90.0}}};
  CHECK_FALSE(linear_extrapolation(backwards, 20.0).has_value());
  const std::array<timed_glucose, 2> bad_value{{{0.0, k_nan}, {5.0, 90.0}}};
  CHECK_FALSE(linear_extrapolation(bad_value, 20.0).has_value());
  const std::array<timed_glucose, 2> zero_value{{{0.0, 0.0}, {5.0, 90.0}}};
  CHECK_FALSE(linear_extrapolation(zero_value, 20.0).has_value());
  const std::array<timed_glucose, 2> bad_time{{{k_nan, 100.0}, {5.0, 90.0}}};
  CHECK_FALSE(linear_extrapolation(bad_time, 20.0).has_value());
  const std::array<timed_glucose, 2> ok{{{0.0, 100.0}, {5.0, 90.0}}};
  CHECK_FALSE(linear_extrapolation(ok, k_nan).has_value());
}

}  // namespace glucose_forecast_test
