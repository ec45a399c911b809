#include <vitals/core/ring.hpp>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <vitals/core/sample.hpp>

using vitals::core::ring;

// A namespace of its own: the sanitizer presets are unity builds (tests/README.md).
namespace ring_test {
namespace {

/// Counts live instances so that the ring's construction and destruction can be checked.
struct counted {
  static inline std::atomic<int> live{0};
  static inline std::atomic<int> constructed{0};
  int value = 0;
  explicit counted(int v) : value(v) { ++live, ++constructed; }
  counted(const counted& o) : value(o.value) { ++live, ++constructed; }
  counted(counted&& o) noexcept : value(o.value) { ++live, ++constructed; }
  counted& operator=(const counted&) = default;
  counted& operator=(counted&&) noexcept = default;
  ~counted() { --live; }
};

}  // namespace

TEST_CASE("ring rounds capacity up to a power of two", "[ring]") {
  CHECK(ring<int>(1).capacity() == 2);
  CHECK(ring<int>(5).capacity() == 8);
  CHECK(ring<int>(1024).capacity() == 1024);
}

TEST_CASE("empty ring pops nothing", "[ring]") {
  ring<int> r(4);
  CHECK(r.empty());
  CHECK_FALSE(r.try_pop().has_value());
  std::vector<int> out;
  CHECK(r.pop_batch(std::back_inserter(out), 10) == 0);
  CHECK(out.empty());
}

TEST_CASE("full ring refuses the next push and keeps what it holds", "[ring]") {
  ring<int> r(4);
  for (int i = 0; i < 4; ++i) REQUIRE(r.try_push(i));
  CHECK(r.size() == 4);
  CHECK_FALSE(r.try_push(99));
  CHECK(r.size() == 4);
  for (int i = 0; i < 4; ++i) CHECK(r.try_pop().value() == i);
  CHECK(r.empty());
}

TEST_CASE("ring keeps FIFO order across many wrap-arounds", "[ring]") {
  ring<std::uint64_t> r(8);
  std::uint64_t next_in = 0, next_out = 0;
  for (int round = 0; round < 1000; ++round) {
    const int n = 1 + round % 8;
    for (int i = 0; i < n; ++i) REQUIRE(r.try_push(next_in++));
    std::vector<std::uint64_t> out;
    REQUIRE(r.pop_batch(std::back_inserter(out), 8) == static_cast<std::size_t>(n));
    for (auto v : out) REQUIRE(v == next_out++);
  }
  CHECK(next_out == next_in);
}

TEST_CASE("batch pop honours its maximum", "[ring]") {
  ring<int> r(16);
  for (int i = 0; i < 10; ++i) REQUIRE(r.try_push(i));
  std::vector<int> out;
  CHECK(r.pop_batch(std::back_inserter(out), 3) == 3);
  CHECK(out == std::vector<int>{0, 1, 2});
  CHECK(r.size() == 7);
}

TEST_CASE("ring constructs and destroys every element exactly once", "[ring]") {
  counted::live = 0;
  counted::constructed = 0;
  {
    ring<counted> r(8);
    for (int i = 0; i < 6; ++i) REQUIRE(r.try_emplace(i));
    CHECK(counted::live == 6);
    {
      auto one = r.try_pop();
      REQUIRE(one);
      CHECK(one->value == 0);
      CHECK(counted::live == 6);  // 5 in the ring + the popped copy
    }
    CHECK(counted::live == 5);
    std::size_t seen = r.consume([](counted&& c) { CHECK(c.value >= 1); }, 2);
    CHECK(seen == 2);
    CHECK(counted::live == 3);
    // Wrap around with live elements inside.
    for (int i = 0; i < 5; ++i) REQUIRE(r.try_emplace(100 + i));
    CHECK(counted::live == 8);
    CHECK_FALSE(r.try_emplace(7));
    CHECK(counted::live == 8);
  }
  // The destructor released the 8 elements still queued.
  CHECK(counted::live == 0);
}

TEST_CASE("push_for times out on a full ring and succeeds once there is room", "[ring]") {
  ring<int> r(2);
  REQUIRE(r.try_push(1));
  REQUIRE(r.try_push(2));
  int v = 3;
  CHECK_FALSE(r.push_for(v, std::chrono::milliseconds(5)));
  std::thread consumer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    (void)r.try_pop();
  });
  CHECK(r.push_for(v, std::chrono::seconds(10)));
  consumer.join();
  CHECK(r.try_pop().value() == 2);
  CHECK(r.try_pop().value() == 3);
}

TEST_CASE("ring passes a million samples between two threads in order", "[ring][stress]") {
  constexpr std::uint64_t n = 1'000'000;
  ring<vitals::core::sample> r(1024);
  std::thread producer([&] {
    for (std::uint64_t i = 0; i < n; ++i) {
      vitals::core::sample s;
      s.sequence = i;
      s.value = static_cast<double>(i % 200);
      while (!r.try_push(s)) std::this_thread::yield();
    }
  });
  std::uint64_t expected = 0;
  bool in_order = true;
  while (expected < n) {
    const auto got = r.consume(
        [&](vitals::core::sample&& s) {
          in_order =
              in_order && s.sequence == expected && s.value == static_cast<double>(expected % 200);
          ++expected;
        },
        256);
    if (got == 0) std::this_thread::yield();
  }
  producer.join();
  CHECK(in_order);
  CHECK(expected == n);
  CHECK(r.empty());
}

TEST_CASE("ring stress with push_for back-pressure loses nothing", "[ring][stress]") {
  constexpr int n = 200'000;
  ring<std::unique_ptr<int>> r(16);  // small: the producer waits often
  std::atomic<bool> timed_out{false};
  std::thread producer([&] {
    for (int i = 0; i < n; ++i) {
      auto p = std::make_unique<int>(i);
      if (!r.push_for(std::move(p), std::chrono::seconds(30))) timed_out = true;
    }
  });
  long long sum = 0;
  int count = 0;
  while (count < n && !timed_out) {
    count += static_cast<int>(r.consume([&](std::unique_ptr<int>&& p) { sum += *p; }, 7));
  }
  producer.join();
  CHECK_FALSE(timed_out);
  CHECK(count == n);
  CHECK(sum == static_cast<long long>(n) * (n - 1) / 2);
}

}  // namespace ring_test
