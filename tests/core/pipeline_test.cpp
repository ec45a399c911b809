#include <vitals/core/pipeline.hpp>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <future>
#include <limits>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

using namespace vitals::core;
using namespace std::chrono_literals;

// A namespace of its own: the sanitizer presets are unity builds (tests/README.md).
namespace pipeline_test {
namespace {

/// A store that keeps everything in memory (unit tests only; the SQLite store has its own).
class memory_store final : public store {
 public:
  void append(std::span<const sample> s) override {
    std::lock_guard lock(mutex_);
    samples.insert(samples.end(), s.begin(), s.end());
  }
  /// The pipeline's alert handler (alert events go to the alert manager, not the store).
  void record(const alert_event& e) {
    std::lock_guard lock(mutex_);
    events.push_back(e);
  }
  void flush() override { ++flushes; }

  std::vector<sample> samples;
  std::vector<alert_event> events;
  int flushes = 0;

  std::mutex& mutex() { return mutex_; }

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
  pipeline p({}, detector_set(detection_settings{}), st, counters);
  p.on_alert([&st](const alert_event& e) { st.record(e); });
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
  pipeline p({}, detector_set(detection_settings{}), st, counters);
  p.on_alert([&st](const alert_event& e) { st.record(e); });
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
  pipeline p({}, detector_set(detection_settings{}), st, counters);
  p.on_alert([&st](const alert_event& e) { st.record(e); });
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
  pipeline p({}, detector_set(detection_settings{}), st, counters);
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
  CHECK(counters.alerts_raised == 1);
  CHECK(counters.alerts_cleared == 1);
}

TEST_CASE("several producers, each with its own port, lose nothing", "[pipeline][stress]") {
  memory_store st;
  stats counters;
  pipeline p({.batch_max = 64}, detector_set(detection_settings{}), st, counters);
  p.on_alert([&st](const alert_event& e) { st.record(e); });
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

TEST_CASE("a backlog delivered late in order is stored as backfilled and never alerts",
          "[pipeline]") {
  memory_store st;
  stats counters;
  pipeline p({}, detector_set(detection_settings{}), st, counters);
  p.on_alert([&st](const alert_event& e) { st.record(e); });
  auto& port = p.open_port("test", 256);
  p.start();
  auto at = [](std::string_view patient, double v, std::chrono::milliseconds dev,
               std::chrono::milliseconds received) {
    auto s = make(patient, "ox", vital_kind::spo2, v, dev);
    s.receive_time = t0 + received;
    return s;
  };
  // Live: received 300 ms after measurement.
  for (int i = 0; i < 60; ++i) {
    const auto t = std::chrono::seconds(i);
    REQUIRE(port.push(at("p1", 97, t, t + 300ms)));
  }
  // The gateway was down from 60 s to 15 min; it now delivers its backlog, which shows a
  // desaturation that is long over: stored, flagged, not evaluated.
  for (int i = 60; i < 120; ++i) {
    REQUIRE(port.push(at("p1", 80, std::chrono::seconds(i), 15min)));
  }
  // Then live again.
  for (int i = 0; i < 10; ++i) {
    const auto t = 15min + std::chrono::seconds(i);
    REQUIRE(port.push(at("p1", 97, t, t + 300ms)));
  }
  p.stop();
  REQUIRE(st.samples.size() == 130);
  int backfilled = 0;
  for (const auto& s : st.samples) backfilled += (s.quality & quality_backfilled) ? 1 : 0;
  CHECK(backfilled == 60);
  CHECK(counters.samples_late == 60);
  CHECK(st.events.empty());
}

TEST_CASE("in a replay faster than real time, a held-back stream is late by the others' clock",
          "[pipeline]") {
  memory_store st;
  stats counters;
  pipeline p({}, detector_set(detection_settings{}), st, counters);
  p.on_alert([&st](const alert_event& e) { st.record(e); });
  auto& port = p.open_port("test", 4096);
  p.start();
  // Last year's data replayed at full speed: every reading is received "now", long after it
  // was taken, so the receive time says nothing; the other patient's readings do.
  const auto received = t0 + std::chrono::hours(24 * 365);
  auto at = [&](std::string_view patient, double v, int second) {
    auto s = make(patient, patient == "p1" ? "ox1" : "ox2", vital_kind::spo2, v,
                  std::chrono::seconds(second));
    s.receive_time = received;
    return s;
  };
  for (int i = 0; i < 10; ++i) {
    REQUIRE(port.push(at("p1", 97, i)));
    REQUIRE(port.push(at("p2", 97, i)));
  }
  for (int i = 10; i < 600; ++i) REQUIRE(port.push(at("p1", 97, i)));
  for (int i = 10; i < 100; ++i) REQUIRE(port.push(at("p2", 80, i)));  // held back, now late
  p.stop();
  int backfilled = 0;
  for (const auto& s : st.samples) backfilled += (s.quality & quality_backfilled) ? 1 : 0;
  CHECK(backfilled == 90);
  CHECK(st.events.empty());
}

TEST_CASE("readings without sensor contact and motion spikes are stored but raise nothing",
          "[pipeline]") {
  memory_store st;
  stats counters;
  pipeline p({}, detector_set(detection_settings{}), st, counters);
  p.on_alert([&st](const alert_event& e) { st.record(e); });
  auto& port = p.open_port("test", 256);
  p.start();
  for (int i = 0; i < 60; ++i) {
    auto s = make("p1", "ox", vital_kind::spo2, 80, std::chrono::seconds(i));
    s.quality = quality_sensor_contact_lost;
    REQUIRE(port.push(s));
  }
  // Motion: a believed 72 /min, then 12 s of erratic readings far above it. Raw, they would
  // raise hr_high (10 s beyond 120); each jumps more than 30 /min from the one before, so no
  // new level is ever confirmed.
  const double motion[] = {150, 190, 145, 185, 140, 182, 148, 195, 142, 188, 150, 192};
  for (int i = 0; i < 5; ++i) {
    REQUIRE(port.push(make("p2", "ox2", vital_kind::heart_rate, 72, std::chrono::seconds(i))));
  }
  int second = 5;
  for (const double v : motion) {
    REQUIRE(
        port.push(make("p2", "ox2", vital_kind::heart_rate, v, std::chrono::seconds(second++))));
  }
  p.stop();
  CHECK(st.samples.size() == 60 + 5 + 12);
  CHECK(counters.samples_artifact == 12);
  CHECK(st.events.empty());
}

TEST_CASE(
    "condition-only reports are never stored, they raise a technical alert, and flagged "
    "readings are stored but raise nothing physiological",
    "[pipeline][conditions]") {
  memory_store st;
  stats counters;
  pipeline p({}, detector_set(detection_settings{}), st, counters);
  p.on_alert([&st](const alert_event& e) { st.record(e); });
  auto& port = p.open_port("test", 256);
  // Receive times just behind the wall clock, so that a tick of the pipeline (stale data, held
  // conditions) during the test finds nothing else to say.
  const auto base = now_ms() - 80s;
  p.start();
  // 15 s of probe off (sensor_off alerts after 10 s): one report per vital per second.
  for (int i = 0; i < 15; ++i) {
    for (const auto kind : {vital_kind::spo2, vital_kind::heart_rate}) {
      auto s = make("p1", "ox", kind, 0, std::chrono::seconds(i));
      s.receive_time = base + std::chrono::seconds(i);
      s.quality = quality_no_value;
      s.conditions = condition_sensor_off | condition_no_reading;
      REQUIRE(port.push(s));
    }
  }
  // Then 60 s of low SpO2 the device marks questionable (low perfusion): stored, not evaluated.
  for (int i = 15; i < 75; ++i) {
    auto s = make("p1", "ox", vital_kind::spo2, 80, std::chrono::seconds(i));
    s.receive_time = base + std::chrono::seconds(i);
    s.quality = quality_device_flagged;
    s.conditions = condition_signal_poor;
    REQUIRE(port.push(s));
  }
  p.stop();
  CHECK(counters.condition_reports == 30);
  REQUIRE(st.samples.size() == 60);
  for (const auto& s : st.samples) CHECK(s.value == 80);
  CHECK(counters.total_rejects() == 0);
  std::vector<std::string> raised, cleared;
  for (const auto& e : st.events) {
    CHECK(e.source == alert_source::technical);
    (e.transition == alert_transition::raised ? raised : cleared).push_back(e.rule);
  }
  // sensor_off held 10 s and ended with the first flagged reading; the poor signal held 59 s.
  CHECK(raised == std::vector<std::string>{"sensor_off", "signal_poor"});
  CHECK(cleared == std::vector<std::string>{"sensor_off"});
}

TEST_CASE("a device that goes silent raises a stale-data technical alert from the tick",
          "[pipeline]") {
  memory_store st;
  stats counters;
  detection_settings settings;
  settings.stale.limits[static_cast<std::size_t>(vital_kind::heart_rate)] = {200ms, 0ms};
  settings.stale.storm_window = 100ms;  // scaled down with the limit
  pipeline p({.tick_interval = 20ms}, detector_set(settings), st, counters);
  p.on_alert([&st](const alert_event& e) { st.record(e); });
  auto& port = p.open_port("test", 16);
  p.start();
  auto s = make("p1", "ox", vital_kind::heart_rate, 70, 0s);
  s.device_time = now_ms();
  s.receive_time = s.device_time;
  REQUIRE(port.push(s));
  std::this_thread::sleep_for(600ms);
  p.stop();
  REQUIRE(st.events.size() == 1);
  CHECK(st.events[0].rule == "hr_stale");
  CHECK(st.events[0].source == alert_source::technical);
}

TEST_CASE("while the sources are held back, nobody goes stale, and the held time is not silence",
          "[pipeline]") {
  memory_store st;
  stats counters;
  intake_gate gate;
  detection_settings settings;
  settings.stale.limits[static_cast<std::size_t>(vital_kind::heart_rate)] = {1000ms, 0ms};
  settings.stale.storm_window = 0ms;  // a silence past the limit would alert at once
  pipeline p({.tick_interval = 20ms}, detector_set(settings), st, counters, &gate);
  p.on_alert([&st](const alert_event& e) { st.record(e); });
  auto& port = p.open_port("test", 16);
  p.start();
  auto s = make("p1", "ox", vital_kind::heart_rate, 70, 0s);
  s.device_time = now_ms();
  s.receive_time = s.device_time;
  REQUIRE(port.push(s));
  while (counters.samples_accepted == 0) std::this_thread::sleep_for(1ms);

  gate.hold();
  // Longer than the stale limit: the device is not silent, vitalsd is deaf.
  std::this_thread::sleep_for(1500ms);
  {
    std::lock_guard lock(st.mutex());
    CHECK(st.events.empty());
  }
  gate.release();
  // A few ticks after the release: the 1.5 s held do not count, so the silence is still short.
  std::this_thread::sleep_for(100ms);
  p.stop();
  CHECK(st.events.empty());
  CHECK(st.samples.size() == 1);
}

TEST_CASE(
    "restored conditions: confirmed by a raise, ended by fresh normal readings, kept "
    "without data",
    "[pipeline]") {
  memory_store st;
  stats counters;
  pipeline_options o;
  o.tick_interval = 20ms;
  o.reconfirm_window = {300ms, 300ms, 300ms};
  pipeline p(o, detector_set(detection_settings{}), st, counters);
  p.on_alert([&st](const alert_event& e) { st.record(e); });
  const auto restored = [](std::string_view patient, std::string rule, vital_kind kind) {
    alert_event e;
    e.patient = short_id::truncate(patient);
    e.device = short_id::truncate("ox");
    e.rule = std::move(rule);
    e.kind = kind;
    e.transition = alert_transition::raised;
    return e;
  };
  // p1's low SpO2 ended while vitalsd was down; p2's still holds; p3 sends nothing.
  p.expect_reconfirmation({restored("p1", "spo2_low", vital_kind::spo2),
                           restored("p2", "spo2_low", vital_kind::spo2),
                           restored("p3", "spo2_low", vital_kind::spo2)});
  auto& port = p.open_port("test", 256);
  p.start();
  const auto start = now_ms();
  for (int i = 0; i < 40; ++i) {
    for (const auto& [patient, value] : {std::pair{"p1", 97.0}, std::pair{"p2", 80.0}}) {
      auto s = make(patient, std::string("ox-") + patient, vital_kind::spo2, value, 0s);
      s.device_time = start + std::chrono::seconds(i);
      s.receive_time = now_ms();
      REQUIRE(port.push(s));
    }
    std::this_thread::sleep_for(20ms);
  }
  std::this_thread::sleep_for(400ms);
  p.stop();
  std::vector<std::string> seen;
  for (const auto& e : st.events) {
    seen.push_back(std::string(e.patient.view()) + " " + e.rule + " " +
                   std::string(to_string(e.transition)));
  }
  // p1: cleared by the reconfirmation; p2: raised again by the detector (and so confirmed);
  // p3: nothing, no data being no evidence.
  CHECK(std::count(seen.begin(), seen.end(), "p1 spo2_low cleared") == 1);
  CHECK(std::count(seen.begin(), seen.end(), "p2 spo2_low raised") == 1);
  CHECK(std::count(seen.begin(), seen.end(), "p2 spo2_low cleared") == 0);
  for (const auto& e : seen) CHECK(e.rfind("p3", 0) != 0);
}

TEST_CASE("unknown devices: rejected before they cost memory, or capped by max_streams",
          "[pipeline]") {
  memory_store st;
  stats counters;
  pipeline_options o;
  o.known_devices = {short_id::truncate("ox-known")};
  o.known_patients = {short_id::truncate("p-known")};
  SECTION("accept_unknown = false") {
    o.accept_unknown = false;
    pipeline p(o, detector_set(detection_settings{}), st, counters);
    auto& port = p.open_port("test", 64);
    p.start();
    REQUIRE(port.push(make("p1", "ox-known", vital_kind::heart_rate, 70, 0s)));
    REQUIRE(port.push(make("p-known", "ox-2", vital_kind::heart_rate, 70, 0s)));
    REQUIRE(port.push(make("p9", "ox-9", vital_kind::heart_rate, 70, 0s)));
    p.stop();
    CHECK(st.samples.size() == 2);
    CHECK(counters.rejects(reject_reason::unknown_device) == 1);
  }
  SECTION("accept_unknown = true with max_streams") {
    o.max_streams = 10;
    pipeline p(o, detector_set(detection_settings{}), st, counters);
    auto& port = p.open_port("test", 256);
    p.start();
    for (int i = 0; i < 100; ++i) {
      REQUIRE(port.push(make("p" + std::to_string(i), "ox-" + std::to_string(i),
                             vital_kind::heart_rate, 70, 0s)));
    }
    // A known device is taken beyond the cap; a known stream goes on being taken.
    REQUIRE(port.push(make("p1", "ox-known", vital_kind::heart_rate, 70, 0s)));
    REQUIRE(port.push(make("p0", "ox-0", vital_kind::heart_rate, 71, 1s)));
    p.stop();
    CHECK(st.samples.size() == 12);
    CHECK(counters.rejects(reject_reason::unknown_device) == 90);
  }
}

TEST_CASE("personal baselines are handed to the store when the pipeline stops", "[pipeline]") {
  class saving_store final : public store {
   public:
    void append(std::span<const sample>) override {}
    void flush() override {}
    void save_baseline(const short_id& patient, std::vector<std::uint8_t> blob) override {
      saved.emplace_back(std::string(patient.view()), std::move(blob));
    }
    std::vector<std::pair<std::string, std::vector<std::uint8_t>>> saved;
  } st;
  stats counters;
  pipeline p({}, detector_set(detection_settings{}), st, counters);
  auto& port = p.open_port("test", 1024);
  p.start();
  for (int i = 0; i < 300; ++i) {
    REQUIRE(port.push(make("p1", "ox", vital_kind::heart_rate, 70, std::chrono::seconds(i))));
    REQUIRE(port.push(make("p1", "ox", vital_kind::spo2, 97, std::chrono::seconds(i))));
  }
  p.stop();
  REQUIRE(st.saved.size() == 1);
  CHECK(st.saved[0].first == "p1");
  // The blob is the detector's own format: a fresh detector takes it back.
  baseline_detector fresh;
  CHECK(fresh.import_state(*short_id::make("p1"), st.saved[0].second));
}

TEST_CASE("a real fall to the CGM floor raises urgent low: 103 -> 65 -> 40 -> 40 -> 40",
          "[pipeline][quality]") {
  // Issue 18: these readings, five minutes apart, were all marked artifacts by the jump filter
  // and nothing alerted. The first low reading may be held back; the floor never is.
  memory_store st;
  stats counters;
  pipeline p({}, detector_set(detection_settings{}), st, counters);
  p.on_alert([&st](const alert_event& e) { st.record(e); });
  auto& port = p.open_port("test", 16);
  p.start();
  int minute = 0;
  for (const double v : {103.0, 65.0, 40.0, 40.0, 40.0}) {
    REQUIRE(port.push(make("p1", "cgm", vital_kind::glucose, v, std::chrono::minutes(minute))));
    minute += 5;
  }
  p.stop();
  REQUIRE(st.samples.size() == 5);
  for (const auto& s : st.samples) {
    INFO(s.value);
    if (s.value <= 40.0) CHECK((s.quality & quality_artifact) == 0);
  }
  CHECK(counters.samples_artifact <= 1);
  const auto raised_at = [&](std::string_view rule) -> std::optional<timestamp> {
    for (const auto& e : st.events) {
      if (e.rule == rule && e.transition == alert_transition::raised) return e.time;
    }
    return std::nullopt;
  };
  const auto urgent = raised_at("glucose_urgent_low");
  REQUIRE(urgent);
  CHECK(*urgent == t0 + 10min);  // at the first reading of 40
}

namespace {

/// A store whose append() blocks while `hold` is set: a store stuck on back-pressure.
class gated_store final : public store {
 public:
  void append(std::span<const sample> s) override {
    std::unique_lock lock(mutex_);
    ++entered;
    cv_.notify_all();
    cv_.wait(lock, [&] { return !hold; });
    appended += s.size();
  }
  void flush() override {}
  void release() {
    std::lock_guard lock(mutex_);
    hold = false;
    cv_.notify_all();
  }
  bool wait_entered(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, timeout, [&] { return entered > 0; });
  }

  bool hold = true;
  int entered = 0;
  std::size_t appended = 0;

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
};

}  // namespace

TEST_CASE("an idle pipeline beats, and one blocked in the store stops beating and says where",
          "[pipeline][watchdog]") {
  gated_store st;
  stats counters;
  pipeline_options o;
  o.idle_wait = 20ms;
  pipeline p(o, detector_set(detection_settings{}), st, counters);
  auto& port = p.open_port("test", 64);
  CHECK(p.heartbeat().passes == 0);
  p.start();

  // Idle: nothing arrives, yet the pass counter keeps moving (bounded sleep per pass).
  const auto first = p.heartbeat().passes;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (p.heartbeat().passes < first + 3 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  CHECK(p.heartbeat().passes >= first + 3);
  CHECK_FALSE(p.heartbeat().waiting_on_store);

  // One sample, and the store holds the pipeline thread in append().
  REQUIRE(port.push(make("p1", "ox", vital_kind::heart_rate, 70, 0s)));
  REQUIRE(st.wait_entered(10s));
  const auto stuck = p.heartbeat();
  CHECK(stuck.waiting_on_store);
  std::this_thread::sleep_for(100ms);  // five idle waits: a running loop would have beaten
  CHECK(p.heartbeat().passes == stuck.passes);

  st.release();
  while (p.heartbeat().passes == stuck.passes &&
         std::chrono::steady_clock::now() < deadline + 10s) {
    std::this_thread::sleep_for(5ms);
  }
  CHECK(p.heartbeat().passes > stuck.passes);
  p.stop();
  CHECK(st.appended == 1);
  CHECK_FALSE(p.heartbeat().waiting_on_store);
}

}  // namespace pipeline_test

namespace pipeline_test {

TEST_CASE("a reload reaches the running pipeline between batches and keeps its state",
          "[pipeline][reload]") {
  memory_store st;
  stats counters;
  pipeline_options o;
  o.accept_unknown = false;
  o.known_devices = {short_id::truncate("ox-1")};
  pipeline p(o, detector_set(detection_settings{}), st, counters);
  p.on_alert([&st](const alert_event& e) { st.record(e); });
  auto& port = p.open_port("test", 256);
  p.start();
  // ox-1 raises hr_high (12 s above 120); ox-2 is not known yet.
  for (int i = 0; i < 12; ++i) {
    REQUIRE(port.push(make("p1", "ox-1", vital_kind::heart_rate, 130, std::chrono::seconds(i))));
  }
  REQUIRE(port.push(make("p2", "ox-2", vital_kind::heart_rate, 70, 0s)));

  // Wait until those are taken, then reload: ox-2 becomes known, hr_high moves to 125 (still
  // beyond: the alert stays) and p1 gets hr_low disabled (not active: nothing to end).
  for (int i = 0; i < 500 && counters.rejects(reject_reason::unknown_device) == 0; ++i) {
    std::this_thread::sleep_for(10ms);
  }
  pipeline_update u;
  u.accept_unknown = false;
  u.known_devices = {short_id::truncate("ox-1"), short_id::truncate("ox-2")};
  for (auto& r : u.detection.thresholds.rules) {
    if (r.name == "hr_high") r.limit = 125.0;
  }
  u.detection.thresholds.patients["p1"]["hr_low"].enabled = false;
  std::mutex m;
  std::condition_variable cv;
  std::optional<std::string> result;
  p.reconfigure(std::move(u), [&](std::string error) {
    const std::lock_guard lock(m);
    result = std::move(error);
    cv.notify_all();
  });
  {
    std::unique_lock lock(m);
    REQUIRE(cv.wait_for(lock, 10s, [&] { return result.has_value(); }));
  }
  CHECK(result->empty());
  REQUIRE(port.push(make("p2", "ox-2", vital_kind::heart_rate, 70, 1s)));
  // Back inside is now <= 125 - 5 = 120 (it was <= 115): 118 clears only under the new limit.
  REQUIRE(port.push(make("p1", "ox-1", vital_kind::heart_rate, 118, 12s)));
  p.stop();
  CHECK(counters.rejects(reject_reason::unknown_device) == 1);  // only the one before
  const auto stored_ox2 = std::count_if(st.samples.begin(), st.samples.end(),
                                        [](const sample& s) { return s.device.view() == "ox-2"; });
  CHECK(stored_ox2 == 1);
  REQUIRE(st.events.size() == 2);
  CHECK(st.events[0].transition == alert_transition::raised);
  CHECK(st.events[1].transition == alert_transition::cleared);
  CHECK(st.events[1].value == 118);  // the alert survived the reload; the new limit ended it
}

TEST_CASE("a device or patient removed by a reload is not watched any more", "[pipeline][reload]") {
  memory_store st;
  stats counters;
  pipeline_options o;
  o.accept_unknown = false;
  o.known_devices = {short_id::truncate("ox-1")};
  o.known_patients = {short_id::truncate("p2")};
  detection_settings d;
  d.stale.limits[static_cast<std::size_t>(vital_kind::heart_rate)] = {1s, 0s};
  d.stale.storm_window = 0ms;
  pipeline p(o, detector_set(d), st, counters);
  std::atomic<int> alerts{0};  // st.events belongs to the pipeline thread until stop()
  p.on_alert([&](const alert_event& e) {
    st.record(e);
    alerts.fetch_add(1);
  });
  auto& port = p.open_port("test", 256);
  p.start();
  const auto now = now_ms();
  const auto reading = [&](const char* patient, const char* device, std::chrono::seconds at) {
    auto s = make(patient, device, vital_kind::heart_rate, 70, at);
    s.device_time = now + at;
    s.receive_time = now_ms();
    return s;
  };
  REQUIRE(port.push(reading("p1", "ox-1", 0s)));
  REQUIRE(port.push(reading("p2", "ox-2", 0s)));
  for (int i = 0; i < 500 && counters.samples_accepted.load() < 2; ++i) {
    std::this_thread::sleep_for(10ms);
  }
  REQUIRE(counters.samples_accepted.load() == 2);

  // The reload removes p2 (and so ox-2, watched since its reading) and keeps ox-1.
  pipeline_update u;
  u.detection = d;
  u.accept_unknown = false;
  u.known_devices = {short_id::truncate("ox-1")};
  std::promise<std::string> result;
  auto done = result.get_future();
  p.reconfigure(std::move(u), [&](std::string error) { result.set_value(std::move(error)); });
  REQUIRE(done.wait_for(10s) == std::future_status::ready);
  CHECK(done.get().empty());
  REQUIRE(port.push(reading("p2", "ox-2", 1s)));  // refused now
  // ox-2's silence raises nothing; ox-1's does (both silent for more than 1 s from here).
  for (int i = 0; i < 300 && alerts.load() == 0; ++i) std::this_thread::sleep_for(10ms);
  std::this_thread::sleep_for(1500ms);  // ox-2, were it watched, would go stale by now too
  p.stop();
  CHECK(counters.rejects(reject_reason::unknown_device) == 1);
  REQUIRE_FALSE(st.events.empty());
  for (const auto& e : st.events) CHECK(e.device.view() == "ox-1");
}

TEST_CASE("a reload the detectors refuse changes nothing and says why", "[pipeline][reload]") {
  memory_store st;
  stats counters;
  pipeline p({}, detector_set(detection_settings{}), st, counters);
  p.start();
  pipeline_update u;
  u.detection.baseline.buckets = 3;  // the running detectors learn 6 buckets
  std::promise<std::string> result;
  auto done = result.get_future();
  p.reconfigure(std::move(u), [&](std::string error) { result.set_value(std::move(error)); });
  REQUIRE(done.wait_for(10s) == std::future_status::ready);
  CHECK(done.get().find("buckets") != std::string::npos);
  p.stop();
}

}  // namespace pipeline_test
