#pragma once
/// The run loop of vitals-sim: paces the generator against the wall clock (--speed), hands each
/// message to a sink (MQTT or stdout), writes labels, reports progress, stops on request.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <ostream>

#include <vitals/simulators/generator.hpp>

namespace vitals::simulators {

/// A stop request that a signal-handling thread raises and the run loop waits on.
class stop_signal {
 public:
  /// Asks the run to stop; thread-safe, idempotent.
  void request_stop() noexcept;

  /// True once request_stop() was called.
  bool stop_requested() const noexcept { return stopped_.load(std::memory_order_acquire); }

  /// Sleeps until `deadline` or a stop request, whichever comes first; true when stopped.
  bool wait_until(std::chrono::steady_clock::time_point deadline);

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::atomic<bool> stopped_{false};
};

/// Where generated messages go.
class message_sink {
 public:
  virtual ~message_sink() = default;

  /// Sends one message; may block for back-pressure. Throws when the run cannot go on.
  virtual void send(const message& m) = 0;

  /// Waits up to `timeout` for outstanding deliveries, then closes; returns how many were
  /// still undelivered when it gave up.
  virtual std::uint64_t finish(std::chrono::milliseconds timeout) = 0;

  /// Messages confirmed delivered so far (for sinks without acknowledgements: written).
  virtual std::uint64_t delivered() const noexcept = 0;
};

/// Writes "topic payload" lines (as mosquitto_sub -v prints them): --dry-run.
class stream_sink final : public message_sink {
 public:
  /// Writes to `out`, which must outlive the sink.
  explicit stream_sink(std::ostream& out) : out_(out) {}
  void send(const message& m) override;
  std::uint64_t finish(std::chrono::milliseconds timeout) override;
  std::uint64_t delivered() const noexcept override { return written_; }

 private:
  std::ostream& out_;
  std::uint64_t written_ = 0;
};

/// How the run loop paces and reports.
struct run_options {
  double speed = 1.0;  ///< simulated seconds per wall second; speed_max = no pacing
  std::chrono::milliseconds progress_every{10000};  ///< wall time between info lines
  std::chrono::milliseconds drain_timeout{10000};   ///< how long finish() may wait
  /// 0: one message per reading; else each device's readings of this much simulated time go
  /// out as one JSON array (as phone apps and gateways upload). A whole number of seconds.
  std::chrono::milliseconds batch{0};
  /// A batch message is sent early rather than grow past this many bytes (vitalsd rejects
  /// payloads over its max_payload_bytes, 65536 by default).
  std::size_t batch_bytes = 60000;
};

/// What a run did.
struct run_result {
  std::uint64_t published = 0;            ///< messages handed to the sink, duplicates included
  std::uint64_t duplicates = 0;           ///< deliberate second copies among them
  std::uint64_t delivered = 0;            ///< confirmed by the sink
  std::uint64_t undelivered = 0;          ///< still outstanding when finish() gave up
  std::uint64_t labels = 0;               ///< label lines written
  std::chrono::milliseconds simulated{};  ///< simulated time covered
  double wall_seconds = 0.0;              ///< wall time the run took
  bool stopped = false;                   ///< ended by a stop request rather than by --duration
};

/// Wall time after the start at which something `due` simulated time after the start is sent at
/// `speed`; zero for speed_max (no pacing).
std::chrono::steady_clock::duration wall_offset(std::chrono::milliseconds due,
                                                double speed) noexcept;

/// The end of a run loop, shared by run() and run_replay(): logs `failure` when set, lets `sink`
/// deliver what is outstanding (at most `timeout`) and returns how many messages stayed
/// undelivered.
std::uint64_t close_sink(message_sink& sink, const std::exception_ptr& failure,
                         std::chrono::milliseconds timeout);

/// Runs `generator` into `sink` until its duration is used up or `stop` is requested, writing
/// labels (the run record, one JSON line per label, flushed, then a run_end line) to `labels`
/// and true values (CSV: time_ms,patient,device,vital,true,reading) to `truth` when not null. Sink
/// errors propagate after the sink was given the chance to finish.
run_result run(message_generator& generator, message_sink& sink, std::ostream* labels,
               const run_options& options, stop_signal& stop, std::ostream* truth = nullptr);

}  // namespace vitals::simulators
