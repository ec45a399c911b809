// Ring throughput: core::ring against boost::lockfree::spsc_queue (and boost::lockfree::queue,
// the multi-producer baseline) passing a vitals sample between two threads, in the same run.
// Prints each figure and the ratio ring / boost at the end.

#include <benchmark/benchmark.h>

#include <atomic>
#include <boost/lockfree/queue.hpp>
#include <boost/lockfree/spsc_queue.hpp>
#include <cstdio>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <vitals/core/ring.hpp>
#include <vitals/core/sample.hpp>

namespace {

using vitals::core::sample;
constexpr std::size_t capacity = 4096;
constexpr std::int64_t items_per_iteration = 1'000'000;

sample make_sample(std::uint64_t i) {
  sample s;
  s.patient = vitals::core::short_id::truncate("patient-0001");
  s.device = vitals::core::short_id::truncate("ox-0001");
  s.sequence = i;
  s.value = 70.0;
  return s;
}

/// Runs a producer thread pushing `n` samples with `push` while this thread pops them with `pop`.
template <typename Push, typename Pop>
void two_threads(benchmark::State& state, Push push, Pop pop) {
  std::uint64_t checksum = 0;
  for (auto _ : state) {
    std::thread producer([&] {
      for (std::int64_t i = 0; i < items_per_iteration; ++i) {
        const auto s = make_sample(static_cast<std::uint64_t>(i));
        while (!push(s)) {
        }
      }
    });
    std::int64_t got = 0;
    while (got < items_per_iteration) got += pop(checksum);
    producer.join();
  }
  benchmark::DoNotOptimize(checksum);
  state.SetItemsProcessed(state.iterations() * items_per_iteration);
}

void bm_vitals_ring(benchmark::State& state) {
  vitals::core::ring<sample> r(capacity);
  two_threads(
      state, [&](const sample& s) { return r.try_push(s); },
      [&](std::uint64_t& sum) -> std::int64_t {
        return static_cast<std::int64_t>(r.consume([&](sample&& s) { sum += s.sequence; }, 256));
      });
}

void bm_vitals_ring_single_pop(benchmark::State& state) {
  vitals::core::ring<sample> r(capacity);
  two_threads(
      state, [&](const sample& s) { return r.try_push(s); },
      [&](std::uint64_t& sum) -> std::int64_t {
        auto s = r.try_pop();
        if (!s) return 0;
        sum += s->sequence;
        return 1;
      });
}

void bm_boost_spsc_queue(benchmark::State& state) {
  boost::lockfree::spsc_queue<sample, boost::lockfree::capacity<capacity>> q;
  two_threads(
      state, [&](const sample& s) { return q.push(s); },
      [&](std::uint64_t& sum) -> std::int64_t {
        return static_cast<std::int64_t>(
            q.consume_all([&](const sample& s) { sum += s.sequence; }));
      });
}

void bm_boost_spsc_queue_single_pop(benchmark::State& state) {
  boost::lockfree::spsc_queue<sample, boost::lockfree::capacity<capacity>> q;
  two_threads(
      state, [&](const sample& s) { return q.push(s); },
      [&](std::uint64_t& sum) -> std::int64_t {
        sample s;
        if (!q.pop(s)) return 0;
        sum += s.sequence;
        return 1;
      });
}

void bm_boost_mpmc_queue(benchmark::State& state) {
  boost::lockfree::queue<sample, boost::lockfree::capacity<capacity>> q;
  two_threads(
      state, [&](const sample& s) { return q.bounded_push(s); },
      [&](std::uint64_t& sum) -> std::int64_t {
        return static_cast<std::int64_t>(
            q.consume_all([&](const sample& s) { sum += s.sequence; }));
      });
}

BENCHMARK(bm_vitals_ring)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(1.0);
BENCHMARK(bm_boost_spsc_queue)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(1.0);
BENCHMARK(bm_vitals_ring_single_pop)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(1.0);
BENCHMARK(bm_boost_spsc_queue_single_pop)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(1.0);
BENCHMARK(bm_boost_mpmc_queue)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(1.0);

/// Console output plus a closing table of ratios against the Boost baselines.
class ratio_reporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const auto& run : runs) {
      if (run.run_type != Run::RT_Iteration && run.aggregate_name != "median") continue;
      const auto it = run.counters.find("items_per_second");
      if (it == run.counters.end()) continue;
      std::string name = run.benchmark_name();
      name = name.substr(0, name.find('/'));
      rates_[name] = it->second.value;
    }
  }
  void Finalize() override {
    ConsoleReporter::Finalize();
    auto ratio = [&](const char* a, const char* b) {
      if (!rates_.count(a) || !rates_.count(b)) return;
      std::printf("ratio %-32s / %-32s = %.2f  (%.2f M/s vs %.2f M/s)\n", a, b,
                  rates_[a] / rates_[b], rates_[a] / 1e6, rates_[b] / 1e6);
    };
    std::printf("\n");
    ratio("bm_vitals_ring", "bm_boost_spsc_queue");
    ratio("bm_vitals_ring_single_pop", "bm_boost_spsc_queue_single_pop");
    ratio("bm_vitals_ring", "bm_boost_mpmc_queue");
  }

 private:
  std::map<std::string, double> rates_;
};

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  std::printf("sizeof(sample) = %zu bytes, ring capacity %zu, %lld items per iteration\n",
              sizeof(sample), capacity, static_cast<long long>(items_per_iteration));
  ratio_reporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
