#pragma once
/// Wakes a sleeping consumer when producers have queued work, at the cost of one fence and one
/// load per notify when the consumer is awake.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace vitals::core {

/// A consumer that found nothing to do sleeps here; producers call notify() after publishing.
/// The consumer must re-check its queues between prepare() and wait_for(). No wake-up is lost:
/// both sides use a read-modify-write on `sleeping_`, and read-modify-writes of one atomic are
/// totally ordered. If the consumer's exchange comes first, the producer reads 1 and wakes it; if
/// the producer's comes first, the consumer's exchange synchronises with it and its re-check sees
/// what the producer published. (Plain loads with fences would do too, but ThreadSanitizer does
/// not model fences.)
class wakeup {
 public:
  /// Producer side: wake the consumer if it sleeps (or is about to).
  void notify() noexcept {
    if (sleeping_.fetch_add(0, std::memory_order_seq_cst) != 0) {
      {
        std::lock_guard lock(mutex_);
        ++epoch_;
      }
      cv_.notify_one();
    }
  }

  /// Consumer side, step 1: announce the intent to sleep; returns a ticket for wait_for().
  std::uint64_t prepare() noexcept {
    sleeping_.exchange(1, std::memory_order_seq_cst);
    std::lock_guard lock(mutex_);
    return epoch_;
  }

  /// Consumer side, step 2 (after re-checking the queues): sleep until notified or timeout.
  void wait_for(std::uint64_t ticket, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, timeout, [&] { return epoch_ != ticket; });
    sleeping_.store(0, std::memory_order_relaxed);
  }

  /// Consumer side: found work after prepare(); no sleep.
  void cancel() noexcept { sleeping_.store(0, std::memory_order_relaxed); }

 private:
  std::atomic<unsigned> sleeping_{0};
  std::mutex mutex_;
  std::condition_variable cv_;
  std::uint64_t epoch_ = 0;
};

}  // namespace vitals::core
