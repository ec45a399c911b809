#include <vitals/simulators/runner.hpp>

#include <cmath>
#include <exception>
#include <map>
#include <string>
#include <vector>

#include <fmt/format.h>
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

namespace {

void write_truth(std::ostream& out, const std::vector<truth_row>& rows) {
  std::string line;
  for (const auto& r : rows) {
    line.clear();
    fmt::format_to(std::back_inserter(line), "{},{},{},{},{:.2f},", r.ts.time_since_epoch().count(),
                   *r.patient, *r.device, core::to_string(r.vital), r.true_value);
    if (r.reading) fmt::format_to(std::back_inserter(line), "{:.2f}", *r.reading);
    line += '\n';
    out << line;
  }
}

}  // namespace

steady::duration wall_offset(milliseconds due, double speed) noexcept {
  if (!std::isfinite(speed) || speed <= 0.0) return steady::duration::zero();
  return std::chrono::duration_cast<steady::duration>(
      std::chrono::duration<double>(std::chrono::duration<double>(due).count() / speed));
}

std::uint64_t close_sink(message_sink& sink, const std::exception_ptr& failure,
                         milliseconds timeout) {
  if (failure) {
    try {
      std::rethrow_exception(failure);
    } catch (const std::exception& e) {
      spdlog::error("publishing failed: {}", e.what());
    }
  }
  try {
    return sink.finish(timeout);
  } catch (const std::exception& e) {
    spdlog::warn("closing the sink: {}", e.what());
  }
  return 0;
}

run_result run(message_generator& generator, message_sink& sink, std::ostream* labels,
               const run_options& options, stop_signal& stop, std::ostream* truth) {
  run_result result;
  const bool paced = std::isfinite(options.speed);
  const auto wall_start = steady::now();
  auto next_report = wall_start + options.progress_every;
  auto last_report = wall_start;
  std::uint64_t last_published = 0;
  const core::timestamp sim_start = generator.options().plan.start;

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
  std::vector<truth_row> truth_rows;
  std::exception_ptr failure;
  const auto write_labels = [&] {
    for (const auto& l : new_labels) {
      if (l.type == label_type::event || l.type == label_type::cause) {
        spdlog::debug("label: {} {} {} from {}", to_string(l.type), l.patient, l.kind,
                      format_rfc3339(l.start));
      }
      if (labels) *labels << to_json(l) << '\n';
      ++result.labels;
    }
    if (labels && !new_labels.empty()) labels->flush();
  };
  // --batch: each device's messages are collected (in order) and sent as one JSON array per
  // window of simulated time.
  const bool batching = options.batch > milliseconds(0);
  std::vector<message> pending;             // first message of each topic in the window, in order
  std::map<std::string, std::size_t> slot;  // topic -> index in pending
  const auto send_one = [&](const message& m) {
    sink.send(m);
    ++result.published;
    if (m.duplicate) ++result.duplicates;
  };
  const auto send_all = [&](std::vector<message>& msgs, bool flush) {
    if (!batching) {
      for (const auto& m : msgs) send_one(m);
      return;
    }
    for (auto& m : msgs) {
      const auto [it, fresh] = slot.try_emplace(m.topic, pending.size());
      if (fresh) {
        m.payload.insert(0, 1, '[');
        pending.push_back(std::move(m));
      } else {
        auto& p = pending[it->second];
        if (p.payload.size() + m.payload.size() + 2 > options.batch_bytes) {
          // Full: send what is there and start the topic's next array with this reading.
          p.payload += ']';
          send_one(p);
          m.payload.insert(0, 1, '[');
          p = std::move(m);
          continue;
        }
        p.payload += ',';
        p.payload += m.payload;
        p.duplicate = p.duplicate || m.duplicate;
      }
    }
    if (!flush) return;
    for (auto& p : pending) {
      p.payload += ']';
      send_one(p);
    }
    pending.clear();
    slot.clear();
  };
  if (labels) *labels << to_json(generator.record()) << '\n' << std::flush;
  if (truth) *truth << "time_ms,patient,device,vital,true,reading\n";
  try {
    while (!stop.stop_requested()) {
      batch.clear();
      new_labels.clear();
      truth_rows.clear();
      const milliseconds tick = generator.elapsed();
      // Wait before generating, so that a stop during the wait loses nothing generated.
      if (paced) {
        const auto due = wall_start + wall_offset(tick, options.speed);
        if (due > steady::now() && stop.wait_until(due)) break;
      }
      if (!generator.next_tick(batch, new_labels, truth ? &truth_rows : nullptr)) break;
      write_labels();
      if (truth) write_truth(*truth, truth_rows);
      result.simulated = tick + message_generator::oximeter_period;
      send_all(batch, batching && result.simulated % options.batch == milliseconds(0));
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
  if (!failure) {
    // Readings held back by a fault go out now; labels still open are closed at the end.
    batch.clear();
    new_labels.clear();
    generator.finish(batch, new_labels);
    write_labels();
    try {
      send_all(batch, true);
    } catch (...) {
      failure = std::current_exception();
    }
  }
  if (labels) {
    *labels << run_end_json(sim_start + result.simulated) << '\n' << std::flush;
  }
  if (truth) truth->flush();
  result.undelivered = close_sink(sink, failure, options.drain_timeout);
  result.delivered = sink.delivered();
  result.wall_seconds = seconds_between(wall_start, steady::now());
  report(result.stopped ? "stopped" : (failure ? "failed" : "done"), steady::now());
  if (failure) std::rethrow_exception(failure);
  return result;
}

}  // namespace vitals::simulators
