// BLE GATT decode cost per frame (issue 6): the characteristic decoders alone and with
// to_samples(), against the compact JSON decoder (adapters::mqtt::json_decoder) on the
// equivalent reading, in the same run. Prints each figure, then ns/frame, frames/s per core and
// the ratio JSON / GATT (above 1: a GATT frame is cheaper than the same reading as JSON).

#include <benchmark/benchmark.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <span>
#include <string>
#include <vector>

#include <vitals/adapters/ble/frame_samples.hpp>
#include <vitals/adapters/ble/gatt.hpp>
#include <vitals/adapters/mqtt/json_decoder.hpp>
#include <vitals/core/sample.hpp>
#include <vitals/core/stats.hpp>

namespace {

namespace ble = vitals::adapters::ble;
namespace mqtt = vitals::adapters::mqtt;
namespace core = vitals::core;

using frame = std::vector<std::uint8_t>;

const core::timestamp receive_time{std::chrono::milliseconds{1'795'000'000'000}};

std::uint16_t crc(std::span<const std::uint8_t> b) {
  return ble::crc16_mcrf4xx(b);
}

/// HR 72, sensor contact detected (flags 0x06).
const frame hr_simple{0x06, 0x48};
/// HR 72, contact, energy expended 1234 kJ, two RR intervals (flags 0x1E).
const frame hr_rr{0x1E, 0x48, 0xD2, 0x04, 0x34, 0x03, 0x16, 0x03};
/// SpO2 97 %, pulse 72 (flags 0).
const frame plx_simple{0x00, 0x61, 0x00, 0x48, 0x00};
/// Every optional field: fast and slow pairs, measurement status, device and sensor status,
/// pulse amplitude index (flags 0x1F, 20 bytes).
const frame plx_full{0x1F, 0x61, 0x00, 0x48, 0x00, 0xC5, 0xF3, 0x49, 0x00, 0x62,
                     0x00, 0x46, 0x00, 0x20, 0x01, 0x00, 0x00, 0x00, 0x57, 0xF0};
/// One 6-byte record: 120 mg/dL at offset 5 min.
const frame cgm_one{0x06, 0x00, 0x78, 0x00, 0x05, 0x00};

/// Three records with trend, quality and E2E-CRC (12 bytes each).
frame make_cgm_three_crc() {
  frame out;
  for (std::uint8_t i = 0; i < 3; ++i) {
    const frame rec{12,
                    0x03,
                    static_cast<std::uint8_t>(118 + i),
                    0x00,
                    static_cast<std::uint8_t>(5 * i),
                    0x00,
                    0xF1,
                    0xFF /* trend -1.5 */,
                    0x5F,
                    0x00 /* quality 95 */};
    frame with_crc = rec;
    const auto c = crc(with_crc);
    with_crc.push_back(static_cast<std::uint8_t>(c & 0xFF));
    with_crc.push_back(static_cast<std::uint8_t>(c >> 8));
    out.insert(out.end(), with_crc.begin(), with_crc.end());
  }
  return out;
}
const frame cgm_three_crc = make_cgm_three_crc();

ble::frame_context context() {
  ble::frame_context ctx;
  ctx.patient = core::short_id::truncate("p001");
  ctx.device = core::short_id::truncate("p001-ox");
  ctx.receive_time = receive_time;
  ctx.cgm_session_start = receive_time - std::chrono::hours(1);
  return ctx;
}

/// Decode only: the characteristic's decoder through the generic entry point the sources use.
void decode_only(benchmark::State& state, ble::characteristic c, const frame& f,
                 ble::crc_mode mode) {
  ble::decoded_frame out;
  if (ble::decode(c, f, out, mode)) {
    state.SkipWithError("frame does not decode");
    return;
  }
  for (auto _ : state) {
    auto err = ble::decode(c, f, out, mode);
    benchmark::DoNotOptimize(err);
    benchmark::DoNotOptimize(&out);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
}

/// Decode only through the typed overload, into a reused struct: shows what the generic entry
/// point's std::variant emplace costs (it value-initializes the alternative, for CGM an array of
/// max_cgm_records records).
template <typename T, typename... Mode>
void decode_typed(benchmark::State& state, const frame& f, Mode... mode) {
  T out{};
  if (ble::decode(f, out, mode...)) {
    state.SkipWithError("frame does not decode");
    return;
  }
  for (auto _ : state) {
    auto err = ble::decode(f, out, mode...);
    benchmark::DoNotOptimize(err);
    benchmark::DoNotOptimize(&out);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
}

void decode_typed_hr(benchmark::State& state, const frame& f) {
  decode_typed<ble::heart_rate_measurement>(state, f);
}
void decode_typed_plx(benchmark::State& state, const frame& f) {
  decode_typed<ble::plx_continuous>(state, f);
}
void decode_typed_cgm(benchmark::State& state, const frame& f, ble::crc_mode mode) {
  decode_typed<ble::cgm_measurement>(state, f, mode);
}

/// Decode and convert to samples, as the BlueZ source does with a notification's bytes.
void decode_samples(benchmark::State& state, ble::characteristic c, const frame& f,
                    ble::crc_mode mode) {
  const auto ctx = context();
  ble::decoded_frame decoded;
  std::vector<core::sample> samples;
  samples.reserve(16);
  if (ble::decode(c, f, decoded, mode) || ble::to_samples(decoded, ctx, samples).values == 0) {
    state.SkipWithError("frame does not decode to samples");
    return;
  }
  for (auto _ : state) {
    samples.clear();
    auto err = ble::decode(c, f, decoded, mode);
    benchmark::DoNotOptimize(err);
    auto r = ble::to_samples(decoded, ctx, samples);
    benchmark::DoNotOptimize(r);
    benchmark::DoNotOptimize(samples.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["samples/frame"] = static_cast<double>(samples.size());
}

/// Hex text to bytes, decode and samples: what the gateway source does with a value field.
void hex_decode_samples(benchmark::State& state, ble::characteristic c, const frame& f) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string text;
  for (const auto b : f) {
    text += digits[b >> 4];
    text += digits[b & 15];
  }
  const auto ctx = context();
  ble::decoded_frame decoded;
  std::vector<core::sample> samples;
  samples.reserve(16);
  std::array<std::uint8_t, 512> buf{};
  for (auto _ : state) {
    samples.clear();
    std::size_t n = 0;
    if (ble::parse_hex(text, buf, n) ||
        ble::decode(c, std::span<const std::uint8_t>(buf.data(), n), decoded)) {
      state.SkipWithError("frame does not decode");
      return;
    }
    auto r = ble::to_samples(decoded, ctx, samples);
    benchmark::DoNotOptimize(r);
    benchmark::DoNotOptimize(samples.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
}

/// The baseline: one compact JSON reading through the daemon's JSON decoder, patient from the
/// topic as with `vitals/{patient}/{device}`.
void json_reading(benchmark::State& state, const std::string& payload) {
  core::stats stats;
  mqtt::json_decoder decoder(mqtt::decoder_options{}, stats);
  mqtt::decode_context ctx;
  ctx.patient = "p001";
  ctx.receive_time = receive_time;
  std::vector<core::sample> samples;
  samples.reserve(16);
  if (!decoder.decode(payload, ctx, samples).ok() || samples.empty()) {
    state.SkipWithError(("payload does not decode: " + decoder.last_error()).c_str());
    return;
  }
  for (auto _ : state) {
    samples.clear();
    auto st = decoder.decode(payload, ctx, samples);
    benchmark::DoNotOptimize(st);
    benchmark::DoNotOptimize(samples.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(payload.size()));
  state.counters["samples/frame"] = static_cast<double>(samples.size());
}

const std::string ts = std::to_string(receive_time.time_since_epoch().count());
const std::string json_hr_spo2 = R"({"device":"p001-ox","ts":)" + ts + R"(,"hr":72,"spo2":97})";
const std::string json_hr = R"({"device":"p001-hr","ts":)" + ts + R"(,"hr":72})";
const std::string json_glucose = R"({"device":"p001-cgm","ts":)" + ts + R"(,"glucose":120})";

constexpr auto hr = ble::characteristic::heart_rate_measurement;
constexpr auto plx = ble::characteristic::plx_continuous;
constexpr auto cgm = ble::characteristic::cgm_measurement;
constexpr auto detect = ble::crc_mode::detect;
constexpr auto required = ble::crc_mode::required;
constexpr double min_time = 0.5;

BENCHMARK_CAPTURE(decode_only, hr_simple, hr, hr_simple, detect)->MinTime(min_time);
BENCHMARK_CAPTURE(decode_only, hr_rr, hr, hr_rr, detect)->MinTime(min_time);
BENCHMARK_CAPTURE(decode_only, plx_simple, plx, plx_simple, detect)->MinTime(min_time);
BENCHMARK_CAPTURE(decode_only, plx_full, plx, plx_full, detect)->MinTime(min_time);
BENCHMARK_CAPTURE(decode_only, cgm_1, cgm, cgm_one, detect)->MinTime(min_time);
BENCHMARK_CAPTURE(decode_only, cgm_3_crc, cgm, cgm_three_crc, required)->MinTime(min_time);

BENCHMARK_CAPTURE(decode_typed_hr, hr_simple, hr_simple)->MinTime(min_time);
BENCHMARK_CAPTURE(decode_typed_plx, plx_simple, plx_simple)->MinTime(min_time);
BENCHMARK_CAPTURE(decode_typed_cgm, cgm_1, cgm_one, detect)->MinTime(min_time);
BENCHMARK_CAPTURE(decode_typed_cgm, cgm_3_crc, cgm_three_crc, required)->MinTime(min_time);

BENCHMARK_CAPTURE(decode_samples, hr_simple, hr, hr_simple, detect)->MinTime(min_time);
BENCHMARK_CAPTURE(decode_samples, hr_rr, hr, hr_rr, detect)->MinTime(min_time);
BENCHMARK_CAPTURE(decode_samples, plx_simple, plx, plx_simple, detect)->MinTime(min_time);
BENCHMARK_CAPTURE(decode_samples, plx_full, plx, plx_full, detect)->MinTime(min_time);
BENCHMARK_CAPTURE(decode_samples, cgm_1, cgm, cgm_one, detect)->MinTime(min_time);
BENCHMARK_CAPTURE(decode_samples, cgm_3_crc, cgm, cgm_three_crc, required)->MinTime(min_time);
BENCHMARK_CAPTURE(hex_decode_samples, plx_simple, plx, plx_simple)->MinTime(min_time);

BENCHMARK_CAPTURE(json_reading, hr_spo2, json_hr_spo2)->MinTime(min_time);
BENCHMARK_CAPTURE(json_reading, hr, json_hr)->MinTime(min_time);
BENCHMARK_CAPTURE(json_reading, glucose, json_glucose)->MinTime(min_time);

/// Console output plus a closing table: ns/frame, frames/s per core, ratio JSON / GATT.
class ratio_reporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const auto& run : runs) {
      // With --benchmark_repetitions=N, the medians; otherwise the single run.
      const bool single = run.run_type == Run::RT_Iteration && run.repetitions <= 1;
      const bool median = run.run_type == Run::RT_Aggregate && run.aggregate_name == "median";
      if ((!single && !median) || run.error_occurred || run.iterations == 0) continue;
      std::string name = run.benchmark_name();
      if (const auto slash = name.find("/min_time"); slash != std::string::npos) {
        name = name.substr(0, slash);
      }
      // CPU time per frame in ns (the benchmarks run at the default nanosecond unit).
      if (ns_.count(name) == 0) order_.push_back(name);
      ns_[name] = run.GetAdjustedCPUTime();
    }
  }

  void Finalize() override {
    ConsoleReporter::Finalize();
    std::printf("\n%-36s %10s %14s\n", "per frame (CPU time)", "ns/frame", "frames/s/core");
    for (const auto& name : order_) {
      std::printf("%-36s %10.1f %14.0f\n", name.c_str(), ns_[name], 1e9 / ns_[name]);
    }
    std::printf("\n");
    auto ratio = [&](const char* json, const char* gatt) {
      if (!ns_.count(json) || !ns_.count(gatt)) return;
      std::printf("ratio JSON/GATT %-22s / %-30s = %5.1f  (%.1f ns vs %.1f ns)\n", json, gatt,
                  ns_[json] / ns_[gatt], ns_[json], ns_[gatt]);
    };
    ratio("json_reading/hr_spo2", "decode_samples/plx_simple");
    ratio("json_reading/hr_spo2", "hex_decode_samples/plx_simple");
    ratio("json_reading/hr_spo2", "decode_samples/plx_full");
    ratio("json_reading/hr", "decode_samples/hr_simple");
    ratio("json_reading/hr", "decode_samples/hr_rr");
    ratio("json_reading/glucose", "decode_samples/cgm_1");
    ratio("json_reading/glucose", "decode_samples/cgm_3_crc");
    ratio("json_reading/hr_spo2", "decode_only/plx_simple");
  }

 private:
  std::map<std::string, double> ns_;
  std::vector<std::string> order_;
};

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  std::printf(
      "frames: hr_simple %zu B, hr_rr %zu B, plx_simple %zu B, plx_full %zu B, cgm_1 %zu B, "
      "cgm_3_crc %zu B; JSON hr_spo2 %zu B, hr %zu B, glucose %zu B\n",
      hr_simple.size(), hr_rr.size(), plx_simple.size(), plx_full.size(), cgm_one.size(),
      cgm_three_crc.size(), json_hr_spo2.size(), json_hr.size(), json_glucose.size());
  ratio_reporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
