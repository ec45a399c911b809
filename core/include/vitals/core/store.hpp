#pragma once
/// The interface the pipeline writes through; adapters implement it (SQLite first).

#include <cstdint>
#include <span>
#include <vector>

#include <vitals/core/alert.hpp>
#include <vitals/core/sample.hpp>

namespace vitals::core {

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
};

}  // namespace vitals::core
