#include "writer.hpp"

#include <algorithm>
#include <chrono>
#include <exception>
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace vitals::adapters::sqlite::detail {

namespace {

/// Backoff between retries of a failed transaction.
constexpr std::chrono::milliseconds retry_min{100};
constexpr std::chrono::milliseconds retry_max{5000};
/// Attempts per batch once shutdown has begun: stop() must return even if the disk is gone.
constexpr int stop_attempts = 3;

}  // namespace

writer::writer(const store_options& options, core::stats& st, batch_sink& sink)
    : options_(options), st_(st), sink_(sink) {}

void writer::start() {
  std::lock_guard lock(mutex_);
  if (closed_ || stopping_) throw std::logic_error("sqlite store: start() after stop()");
  if (running_) return;
  running_ = true;
  thread_ = std::thread([this] { loop(); });
}

bool writer::stop() noexcept {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return false;
    stopping_ = true;
  }
  work_cv_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  } else {
    drain_inline();
  }
  return true;
}

void writer::close() noexcept {
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
    committed_seq_ = enqueued_seq_;  // nobody may wait for a closed store
  }
  space_cv_.notify_all();
  done_cv_.notify_all();
}

bool writer::enqueue(work_item item) {
  const std::size_t n = item.rows();
  const bool is_samples = std::holds_alternative<sample_chunk>(item.entry);
  std::unique_lock lock(mutex_);
  // Back-pressure on samples: wait for the writer, never drop. Without a writer nobody could
  // make room. Alert changes and outbox updates never wait: they come from the io thread, which
  // must keep answering (/healthz above all) while the store is slow or failing.
  if (is_samples) {
    space_cv_.wait(lock, [&] {
      return !running_ || queued_rows_ == 0 || queued_rows_ + n <= options_.max_queued_rows;
    });
  }
  if (closed_ || (stopping_ && !running_)) {
    lock.unlock();
    st_.store_errors.fetch_add(n, std::memory_order_relaxed);
    if (is_samples) st_.samples_not_stored.fetch_add(n, std::memory_order_relaxed);
    spdlog::error("sqlite store: {} rows appended after stop() were NOT stored", n);
    if (auto* work = std::get_if<alert_work>(&item.entry); work != nullptr && work->committed) {
      work->committed(false, {});
    }
    return false;
  }
  const bool was_empty = queued_rows_ == 0;
  // Notifications wait for their alert's commit (outbox), and outbox updates are what the
  // dispatcher's restart safety rests on: commit them, and the samples before them, at once
  // instead of waiting for the batch interval. Both are rare next to samples.
  const bool urgent = item.urgent();
  item.enqueued = steady::now();
  queue_.push_back(std::move(item));
  queued_rows_ += n;
  enqueued_seq_ += n;
  if (urgent) flush_target_ = std::max(flush_target_, enqueued_seq_);
  const bool wake = was_empty || urgent || queued_rows_ >= options_.batch_rows;
  lock.unlock();
  if (wake) work_cv_.notify_one();
  return true;
}

void writer::flush() {
  std::unique_lock lock(mutex_);
  const auto target = enqueued_seq_;
  if (committed_seq_ >= target) return;
  if (!running_) {
    // No writer (not started yet): commit on this thread.
    lock.unlock();
    drain_inline();
    return;
  }
  flush_target_ = std::max(flush_target_, target);
  work_cv_.notify_one();
  done_cv_.wait(lock, [&] { return committed_seq_ >= target || !running_; });
}

void writer::drain_before_start(const char* what) {
  {
    std::lock_guard lock(mutex_);
    if (running_ || stopping_ || closed_) {
      throw std::logic_error(std::string("sqlite store: ") + what +
                             "() is only allowed before start()");
    }
  }
  drain_inline();
}

std::size_t writer::queued_rows() const {
  std::lock_guard lock(mutex_);
  return queued_rows_;
}

sqlite_store::commit_stats writer::latency() const {
  std::lock_guard lock(mutex_);
  return latency_;
}

void writer::begin_shutdown() noexcept {
  {
    std::lock_guard lock(mutex_);
    shutting_down_ = true;
  }
  work_cv_.notify_all();  // out of a retry's backoff
}

void writer::health(core::store_status& out) const {
  std::lock_guard lock(mutex_);
  out.failing = failing_;
  out.failures = failures_;
  if (failing_) {
    out.failure = failure_;
    out.failing_seconds = std::chrono::duration<double>(steady::now() - failing_since_).count();
  }
}

void writer::failed(const std::string& error, std::size_t rows, int attempt) {
  bool first = false;
  {
    std::lock_guard lock(mutex_);
    first = !failing_;
    if (first) {
      failing_ = true;
      failing_since_ = steady::now();
      ++failures_;
    }
    failure_ = error;
  }
  if (!first) {
    spdlog::warn("sqlite store: commit of {} rows failed (attempt {}): {}", rows, attempt, error);
    return;
  }
  // Hold the sources first: every reading not taken from the broker now is one not lost.
  if (options_.intake != nullptr) options_.intake->hold();
  spdlog::error(
      "sqlite store: commits to {} FAIL: {}. Readings are held back at their source (the MQTT "
      "broker keeps them) and the commit is retried until it succeeds",
      options_.path, error);
  if (health_cb_) health_cb_(true, error);
}

void writer::succeeded(int attempt) {
  double seconds = 0.0;
  {
    std::lock_guard lock(mutex_);
    if (!failing_) return;
    failing_ = false;
    seconds = std::chrono::duration<double>(steady::now() - failing_since_).count();
  }
  if (options_.intake != nullptr) options_.intake->release();
  const auto text =
      fmt::format("commits succeed again after {:.1f} s and {} attempts", seconds, attempt);
  spdlog::warn("sqlite store: {}; readings are taken from their sources again", text);
  if (health_cb_) health_cb_(false, text);
}

std::size_t writer::take_locked(std::vector<work_item>& batch) {
  std::size_t rows = 0;
  while (!queue_.empty() && rows < options_.batch_rows) {
    auto& front = queue_.front();
    const std::size_t room = options_.batch_rows - rows;
    if (front.rows() <= room) {
      rows += front.rows();
      batch.push_back(std::move(front));
      queue_.pop_front();
    } else {
      // Split a large chunk so that one transaction stays near batch_rows. Only samples can be
      // larger than the room left, which is at least one row.
      auto& chunk = std::get<sample_chunk>(front.entry);
      const auto part = chunk.rest().first(room);
      batch.push_back(
          {sample_chunk{std::vector<core::sample>(part.begin(), part.end())}, front.enqueued});
      chunk.offset += room;
      rows += room;
    }
  }
  queued_rows_ -= rows;
  taken_seq_ += rows;
  return rows;
}

void writer::commit_with_retry(std::vector<work_item>& batch, std::uint64_t upto, bool bounded) {
  auto backoff = retry_min;
  bool ok = false;
  for (int attempt = 1;; ++attempt) {
    try {
      const auto began = steady::now();
      const std::uint64_t written = sink_.write_batch(batch);
      const double seconds = std::chrono::duration<double>(steady::now() - began).count();
      ok = true;
      {
        std::lock_guard lock(mutex_);
        ++latency_.count;
        latency_.sum_seconds += seconds;
        latency_.max_seconds = std::max(latency_.max_seconds, seconds);
      }
      st_.samples_stored.fetch_add(written, std::memory_order_relaxed);
      st_.store_commits.fetch_add(1, std::memory_order_relaxed);
      succeeded(attempt);
      break;
    } catch (const std::exception& e) {
      st_.store_errors.fetch_add(1, std::memory_order_relaxed);
      std::size_t rows = 0;
      std::size_t samples = 0;
      for (const auto& item : batch) {
        rows += item.rows();
        if (std::holds_alternative<sample_chunk>(item.entry)) samples += item.rows();
      }
      failed(e.what(), rows, attempt);
      std::unique_lock lock(mutex_);
      if ((bounded || stopping_ || shutting_down_) && attempt >= stop_attempts) {
        lock.unlock();
        st_.samples_not_stored.fetch_add(samples, std::memory_order_relaxed);
        spdlog::error(
            "sqlite store: giving up after {} attempts; {} rows ({} readings) were NOT stored",
            attempt, rows, samples);
        break;
      }
      // Sleep unless shutdown begins; then retry at once, a bounded number of times.
      work_cv_.wait_for(lock, backoff, [&] { return stopping_ || shutting_down_; });
      backoff = std::min(backoff * 2, retry_max);
    }
  }
  // Only now, after COMMIT returned (or the batch was given up): the caller may tell the world.
  notify_committed(batch, ok);
  {
    std::lock_guard lock(mutex_);
    committed_seq_ = upto;
  }
  done_cv_.notify_all();
}

void writer::notify_committed(std::vector<work_item>& batch, bool ok) {
  for (auto& item : batch) {
    auto* work = std::get_if<alert_work>(&item.entry);
    if (work == nullptr || !work->committed) continue;
    try {
      work->committed(
          ok, ok ? std::move(work->changes.notifications) : std::vector<core::notification>{});
    } catch (const std::exception& e) {
      // The writer thread must survive a misbehaving callback; the rows are committed anyway.
      spdlog::error("sqlite store: a commit callback failed: {}", e.what());
    }
  }
}

void writer::loop() {
  std::vector<work_item> batch;
  for (;;) {
    std::uint64_t upto = 0;
    {
      std::unique_lock lock(mutex_);
      work_cv_.wait(lock, [&] { return queued_rows_ > 0 || stopping_; });
      if (queued_rows_ == 0) {
        // Decided under the same lock that enqueue() checks, so no append can slip in between.
        running_ = false;
        break;
      }
      const auto deadline = queue_.front().enqueued + options_.batch_interval;
      work_cv_.wait_until(lock, deadline, [&] {
        return queued_rows_ >= options_.batch_rows || stopping_ || flush_target_ > taken_seq_;
      });
      take_locked(batch);
      upto = taken_seq_;
    }
    space_cv_.notify_all();
    commit_with_retry(batch, upto, false);
    batch.clear();
  }
  space_cv_.notify_all();
  done_cv_.notify_all();
}

void writer::drain_inline() {
  std::vector<work_item> batch;
  for (;;) {
    std::uint64_t upto = 0;
    {
      std::lock_guard lock(mutex_);
      if (queued_rows_ == 0) return;
      take_locked(batch);
      upto = taken_seq_;
    }
    space_cv_.notify_all();
    commit_with_retry(batch, upto, true);
    batch.clear();
  }
}

}  // namespace vitals::adapters::sqlite::detail
