#pragma once
/// The store's write queue and its one writer thread: commit batching, back-pressure, retries
/// and commit latency. What a batch turns into is the batch_sink's business (SQLite rows).

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <vitals/adapters/sqlite/sqlite_store.hpp>
#include <vitals/core/stats.hpp>

#include "work_item.hpp"

namespace vitals::adapters::sqlite::detail {

using steady = std::chrono::steady_clock;

/// Writes one batch as one transaction.
class batch_sink {
 public:
  virtual ~batch_sink() = default;
  /// Writes and commits `batch` in order; returns the samples written (duplicates included).
  /// Throws after rolling back, and the writer retries the whole batch.
  virtual std::uint64_t write_batch(const std::vector<work_item>& batch) = 0;
};

/// The queue between the calling threads and the writer thread. A transaction is committed when
/// batch_rows rows wait, batch_interval after the oldest, at once for urgent entries and
/// flush(), or on the caller's thread while no writer thread runs (before start(), during
/// stop()). Thread-safe.
class writer {
 public:
  /// Keeps references to all three: they must outlive the writer.
  writer(const store_options& options, core::stats& st, batch_sink& sink);
  writer(const writer&) = delete;
  writer& operator=(const writer&) = delete;

  /// Starts the writer thread; throws std::logic_error after stop().
  void start();

  /// Commits everything queued (the thread finishes its queue and is joined, or without one
  /// the caller commits it) and refuses new work. False when a stop had already begun.
  bool stop() noexcept;

  /// After stop() and the connection's close: flush() and its waiters return at once.
  void close() noexcept;

  /// Queues `item`, waiting while more than max_queued_rows are queued (back-pressure). After
  /// stop() it is refused: counted, logged, its completion told `false`, and false returned.
  bool enqueue(work_item item);

  /// Blocks until everything queued before the call is committed or given up.
  void flush();

  /// Commits what is queued on the calling thread, for reads that must see it; throws
  /// std::logic_error naming `what` once start() or stop() was called.
  void drain_before_start(const char* what);

  /// Rows queued and not yet taken by the writer.
  std::size_t queued_rows() const;

  /// Commit latency so far.
  sqlite_store::commit_stats latency() const;

  /// Failing commits are given up after a few attempts from now on (a stop is coming).
  void begin_shutdown() noexcept;

  /// Before start(): told on the writer thread when commits start failing and recover.
  void on_health(health_callback cb) { health_cb_ = std::move(cb); }

  /// Adds the failure state to `out` (any thread).
  void health(core::store_status& out) const;

 private:
  std::size_t take_locked(std::vector<work_item>& batch);
  void loop();
  void drain_inline();
  void commit_with_retry(std::vector<work_item>& batch, std::uint64_t upto, bool bounded);
  static void notify_committed(std::vector<work_item>& batch, bool ok);
  void failed(const std::string& error, std::size_t rows, int attempt);
  void succeeded(int attempt);

  const store_options& options_;
  core::stats& st_;
  batch_sink& sink_;

  // Shared between the calling threads and the writer, guarded by mutex_.
  mutable std::mutex mutex_;
  std::condition_variable work_cv_;   // writer waits for rows, deadlines, flush and stop
  std::condition_variable space_cv_;  // enqueue() waits for the writer to take rows
  std::condition_variable done_cv_;   // flush() waits for commits
  std::deque<work_item> queue_;
  std::size_t queued_rows_ = 0;
  std::uint64_t enqueued_seq_ = 0;   // rows ever queued
  std::uint64_t taken_seq_ = 0;      // rows taken by the writer
  std::uint64_t committed_seq_ = 0;  // rows committed (or given up on, logged)
  std::uint64_t flush_target_ = 0;   // commit at once until taken_seq_ reaches this
  bool running_ = false;             // writer thread alive
  bool stopping_ = false;
  bool shutting_down_ = false;  // begin_shutdown(): bounded retries, like stopping_
  bool closed_ = false;
  sqlite_store::commit_stats latency_;
  bool failing_ = false;  // the last commit failed
  std::string failure_;   // its error
  steady::time_point failing_since_{};
  std::uint64_t failures_ = 0;  // times failing_ became true

  health_callback health_cb_;  // set before start(), called on the writer thread

  std::thread thread_;
};

}  // namespace vitals::adapters::sqlite::detail
