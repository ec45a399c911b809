#include <vitals/core/pipeline.hpp>

#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <limits>
#include <mutex>
#include <thread>
#include <vector>

using namespace vitals::core;
using namespace std::chrono_literals;

namespace {

/// A store that keeps everything in memory (unit tests only; the SQLite store has its own).
class memory_store final : public store {
 public:
  void append(std::span<const sample> s) override {
    std::lock_guard lock(mutex_);
    samples.insert(samples.end(), s.begin(), s.end());
  }
  void append(const alert_event& e) override {
    std::lock_guard lock(mutex_);
    events.push_back(e);
  }
  void flush() override { ++flushes; }

  std::vector<sample> samples;
  std::vector<alert_event> events;
  int flushes = 0;

 private:
  std::mutex mutex_;
};

const timestamp t0{std::chrono::milliseconds(1'764'000'000'000)};

sample make(std::string_view patient, std::string_view device, vital_kind kind, double value,
            std::chrono::milliseconds at) {
  sample s;
  s.patient = short_id::truncate(patient);
  s.device = short_id::truncate(device);
  s.kind = kind;
  s.value = value;
  s.device_time = t0 + at;
  return s;
}

}  // namespace

TEST_CASE("pipeline stores accepted samples and drains on stop", "[pipeline]") {
  memory_store st;
  stats counters;
  pipeline p({}, threshold_detector({default_rules(), {}}), st, counters);
  auto& port = p.open_port("test", 64);
  p.start();
  for (int i = 0; i < 1000; ++i) {
    REQUIRE(port.push(make("p1", "ox", vital_kind::heart_rate, 70, std::chrono::seconds(i))));
  }
  p.stop();
  CHECK(st.samples.size() == 1000);
  CHECK(counters.samples_accepted == 1000);
  CHECK(st.flushes >= 1);
  CHECK(st.events.empty());
}

TEST_CASE("pipeline rejects NaN and implausible values with a counted reason", "[pipeline]") {
  memory_store st;
  stats counters;
  pipeline p({}, threshold_detector({default_rules(), {}}), st, counters);
  auto& port = p.open_port("test", 64);
  p.start();
  REQUIRE(port.push(make("p1", "ox", vital_kind::heart_rate, 70, 0s)));
  REQUIRE(port.push(make("p1", "ox", vital_kind::heart_rate, std::nan(""), 1s)));
  REQUIRE(port.push(
      make("p1", "ox", vital_kind::heart_rate, std::numeric_limits<double>::infinity(), 2s)));
  REQUIRE(port.push(make("p1", "ox", vital_kind::heart_rate, 400, 3s)));  // no heart does 400
  REQUIRE(port.push(make("p1", "ox", vital_kind::spo2, 0, 3s)));          // probe off
  REQUIRE(port.push(make("p1", "ox", vital_kind::heart_rate, 71, 4s)));
  p.stop();
  CHECK(st.samples.size() == 2);
  CHECK(counters.rejects(reject_reason::bad_value) == 2);
  CHECK(counters.rejects(reject_reason::implausible) == 2);
  CHECK(st.events.empty());
}

TEST_CASE("pipeline ignores exact duplicates and stores late readings without evaluating them",
          "[pipeline]") {
  memory_store st;
  stats counters;
  pipeline p({}, threshold_detector({default_rules(), {}}), st, counters);
  auto& port = p.open_port("test", 64);
  p.start();
  for (int i = 0; i < 5; ++i) {
    REQUIRE(port.push(make("p1", "ox", vital_kind::spo2, 97, std::chrono::seconds(i))));
    REQUIRE(port.push(make("p1", "ox", vital_kind::spo2, 97, std::chrono::seconds(i))));  // dup
  }
  // A backfilled run of low readings, all older than what was seen: stored, never alerted.
  for (int i = 0; i < 30; ++i) {
    REQUIRE(port.push(make("p1", "ox", vital_kind::spo2, 80, -60s + std::chrono::seconds(i))));
  }
  p.stop();
  CHECK(counters.samples_duplicate == 5);
  CHECK(st.samples.size() == 35);
  int late = 0;
  for (const auto& s : st.samples) late += (s.quality & quality_out_of_order) ? 1 : 0;
  CHECK(late == 30);
  CHECK(st.events.empty());
}

TEST_CASE("pipeline raises and clears alerts and calls the handler", "[pipeline]") {
  memory_store st;
  stats counters;
  pipeline p({}, threshold_detector({default_rules(), {}}), st, counters);
  auto& port = p.open_port("test", 16);
  std::vector<std::string> seen;  // written on the pipeline thread, read after stop()
  p.on_alert([&](const alert_event& e) {
    seen.push_back(e.rule + ":" + std::string(to_string(e.transition)));
  });
  p.start();
  for (int i = 0; i < 60; ++i) {
    const double v = (i >= 10 && i < 40) ? 85 : 97;
    REQUIRE(port.push(make("p1", "ox", vital_kind::spo2, v, std::chrono::seconds(i))));
  }
  p.stop();
  CHECK(seen == std::vector<std::string>{"spo2_low:raised", "spo2_low:cleared"});
  REQUIRE(st.events.size() == 2);
  CHECK(counters.alerts_raised == 1);
  CHECK(counters.alerts_cleared == 1);
}

TEST_CASE("several producers, each with its own port, lose nothing", "[pipeline][stress]") {
  memory_store st;
  stats counters;
  pipeline p({.batch_max = 64}, threshold_detector({default_rules(), {}}), st, counters);
  constexpr int producers = 3;
  constexpr int per_producer = 50'000;
  std::vector<ingest_port*> ports;
  for (int i = 0; i < producers; ++i) ports.push_back(&p.open_port("src" + std::to_string(i), 128));
  p.start();
  std::vector<std::thread> threads;
  for (int t = 0; t < producers; ++t) {
    threads.emplace_back([&, t] {
      const std::string dev = "dev" + std::to_string(t);
      for (int i = 0; i < per_producer; ++i) {
        (void)ports[t]->push(make("p" + std::to_string(t), dev, vital_kind::heart_rate, 70,
                                  std::chrono::milliseconds(i)));
      }
    });
  }
  for (auto& th : threads) th.join();
  p.stop();
  CHECK(counters.ring_drops == 0);
  CHECK(st.samples.size() == static_cast<std::size_t>(producers * per_producer));
}
