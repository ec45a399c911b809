#pragma once
/// The interface the pipeline writes through; adapters implement it (SQLite first).

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <vitals/core/alert.hpp>
#include <vitals/core/sample.hpp>

namespace vitals::core {

/// How a store is doing, for /healthz and /metrics.
struct store_status {
  std::size_t queued_rows = 0;      ///< rows waiting for the writer
  std::uint64_t commits = 0;        ///< transactions committed since start
  double commit_seconds_sum = 0.0;  ///< their total latency
  double commit_seconds_max = 0.0;  ///< the slowest
  /// Commits fail (disk full, I/O error, damaged, deleted or replaced file): the store holds
  /// the sources back and retries until a commit succeeds.
  bool failing = false;
  std::string failure;           ///< the last error while failing, without patient data
  double failing_seconds = 0.0;  ///< how long it has been failing
  std::uint64_t failures = 0;    ///< times it started failing since start
};

/// Persistent sink for accepted samples (alert events go to the alert manager, which persists
/// alert state through the store adapter itself). Calls come from the pipeline thread;
/// an implementation hands the work to its own writer thread and must not do I/O in these calls.
class store {
 public:
  virtual ~store() = default;

  /// Queues a batch of accepted samples. May block (bounded) when the writer is far behind:
  /// that is the back-pressure that reaches the ring and then the sources.
  virtual void append(std::span<const sample> samples) = 0;

  /// Blocks until everything queued so far is committed.
  virtual void flush() = 0;

  /// Queues one patient's personal-baseline state (baseline_detector::export_state()), replacing
  /// the one stored before. Like append(): no I/O on the calling thread. The default keeps
  /// nothing (stores without baselines).
  virtual void save_baseline(const short_id& patient, std::vector<std::uint8_t> blob) {
    (void)patient;
    (void)blob;
  }

  /// Queue depth and commit latency (any thread); the default measures nothing.
  virtual store_status status() const { return {}; }
};

}  // namespace vitals::core
