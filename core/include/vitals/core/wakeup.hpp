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
/// The consumer must re-check its queues between prepare() and wait_for() (no lost wake-ups:
/// both sides order "publish / announce sleep" before "check" with a full fence).
class wakeup {
 public:
  /// Producer side: wake the consumer if it sleeps (or is about to).
  void notify() noexcept {
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (sleeping_.load(std::memory_order_relaxed)) {
      {
        std::lock_guard lock(mutex_);
        ++epoch_;
      }
      cv_.notify_one();
    }
  }

  /// Consumer side, step 1: announce the intent to sleep; returns a ticket for wait_for().
  std::uint64_t prepare() noexcept {
    sleeping_.store(true, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    std::lock_guard lock(mutex_);
    return epoch_;
  }

  /// Consumer side, step 2 (after re-checking the queues): sleep until notified or timeout.
  void wait_for(std::uint64_t ticket, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, timeout, [&] { return epoch_ != ticket; });
    sleeping_.store(false, std::memory_order_relaxed);
  }

  /// Consumer side: found work after prepare(); no sleep.
  void cancel() noexcept { sleeping_.store(false, std::memory_order_relaxed); }

 private:
  std::atomic<bool> sleeping_{false};
  std::mutex mutex_;
  std::condition_variable cv_;
  std::uint64_t epoch_ = 0;
};

}  // namespace vitals::core
