#include <vitals/simulators/runner.hpp>

#include <cmath>
#include <exception>
#include <vector>

#include <spdlog/spdlog.h>

#include <vitals/simulators/options.hpp>

namespace vitals::simulators {

using std::chrono::milliseconds;
using steady = std::chrono::steady_clock;

void stop_signal::request_stop() noexcept {
  {
    std::lock_guard lock(mutex_);
    stopped_.store(true, std::memory_order_release);
  }
  cv_.notify_all();
}

bool stop_signal::wait_until(steady::time_point deadline) {
  std::unique_lock lock(mutex_);
  return cv_.wait_until(lock, deadline, [this] { return stopped_.load(); });
}

void stream_sink::send(const message& m) {
  out_ << m.topic << ' ' << m.payload << '\n';
  ++written_;
}

std::uint64_t stream_sink::finish(milliseconds /*timeout*/) {
  out_.flush();
  return 0;
}

namespace {

double seconds_between(steady::time_point a, steady::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

}  // namespace

run_result run(message_generator& generator, message_sink& sink, std::ostream* labels,
               const run_options& options, stop_signal& stop) {
  run_result result;
  const bool paced = std::isfinite(options.speed);
  const auto wall_start = steady::now();
  auto next_report = wall_start + options.progress_every;
  auto last_report = wall_start;
  std::uint64_t last_published = 0;
  const core::timestamp sim_start = generator.options().start;

  const auto report = [&](const char* what, steady::time_point now) {
    const double window = seconds_between(last_report, now);
    const double total = seconds_between(wall_start, now);
    const auto rate = [](std::uint64_t n, double s) { return s > 0 ? n / s : 0.0; };
    spdlog::info(
        "{}: {} messages published ({} delivered), simulated {} (+{}), {:.0f} msg/s now, "
        "{:.0f} msg/s overall",
        what, result.published, sink.delivered(), format_rfc3339(sim_start + result.simulated),
        format_duration(result.simulated), rate(result.published - last_published, window),
        rate(result.published, total));
    last_report = now;
    last_published = result.published;
  };

  std::vector<message> batch;
  std::vector<label> new_labels;
  std::exception_ptr failure;
  try {
    while (!stop.stop_requested()) {
      batch.clear();
      new_labels.clear();
      const milliseconds tick = generator.elapsed();
      if (!generator.next_tick(batch, new_labels)) break;
      if (paced) {
        const auto due =
            wall_start + std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(
                             std::chrono::duration<double>(tick).count() / options.speed));
        if (due > steady::now() && stop.wait_until(due)) break;
      }
      for (const auto& l : new_labels) {
        spdlog::info("event: {} {} starts at simulated {} ({})", l.patient, to_string(l.kind),
                     format_duration(tick), format_rfc3339(l.start));
        if (labels) *labels << to_json(l) << '\n' << std::flush;
        ++result.labels;
      }
      for (const auto& m : batch) {
        sink.send(m);
        ++result.published;
        if (m.duplicate) ++result.duplicates;
      }
      result.simulated = tick + message_generator::oximeter_period;
      const auto now = steady::now();
      if (now >= next_report) {
        report("progress", now);
        next_report = now + options.progress_every;
      }
    }
  } catch (...) {
    failure = std::current_exception();
  }
  result.stopped = stop.stop_requested();
  if (failure) {
    try {
      std::rethrow_exception(failure);
    } catch (const std::exception& e) {
      spdlog::error("publishing failed: {}", e.what());
    }
  }
  try {
    result.undelivered = sink.finish(options.drain_timeout);
  } catch (const std::exception& e) {
    spdlog::warn("closing the sink: {}", e.what());
  }
  result.delivered = sink.delivered();
  result.wall_seconds = seconds_between(wall_start, steady::now());
  report(result.stopped ? "stopped" : (failure ? "failed" : "done"), steady::now());
  if (failure) std::rethrow_exception(failure);
  return result;
}

}  // namespace vitals::simulators
