#pragma once
/// A bounded, lock-free, single-producer single-consumer ring buffer (one per source thread).

#include <algorithm>
#include <atomic>
#include <bit>
#include <chrono>
#include <cstddef>
#include <memory>
#include <new>
#include <optional>
#include <stdexcept>
#include <thread>
#include <type_traits>
#include <utility>

namespace vitals::core {

namespace detail {
/// Cache line size assumed for padding (x86-64 and most ARM64 cores).
inline constexpr std::size_t cache_line = 64;
}  // namespace detail

/// Bounded SPSC ring. Exactly one thread pushes and exactly one thread pops. Indices are
/// free-running counters (never wrap in practice: 2^64), each side keeps a cached copy of the
/// other side's index so that the shared cache lines are touched only when the cached view says
/// the ring is full (producer) or empty (consumer).
template <typename T>
class ring {
  static_assert(std::is_nothrow_destructible_v<T>, "ring<T>: T must be nothrow destructible");
  static_assert(std::is_move_constructible_v<T>, "ring<T>: T must be move constructible");

 public:
  /// Creates a ring holding at least `min_capacity` elements (rounded up to a power of two).
  explicit ring(std::size_t min_capacity)
      : capacity_(std::bit_ceil(std::max<std::size_t>(min_capacity, 2))),
        mask_(capacity_ - 1),
        slots_(std::allocator<T>{}.allocate(capacity_)) {}

  ring(const ring&) = delete;
  ring& operator=(const ring&) = delete;

  ~ring() {
    // Destroy what is still queued, then release the storage.
    auto r = read_.load(std::memory_order_relaxed);
    const auto w = write_.load(std::memory_order_relaxed);
    for (; r != w; ++r) std::destroy_at(slot(r));
    std::allocator<T>{}.deallocate(slots_, capacity_);
  }

  /// Constructs an element in place; false when the ring is full. Producer thread only.
  template <typename... Args>
  [[nodiscard]] bool try_emplace(Args&&... args) noexcept(
      std::is_nothrow_constructible_v<T, Args&&...>) {
    const auto w = write_.load(std::memory_order_relaxed);
    if (w - read_cache_ == capacity_) {
      read_cache_ = read_.load(std::memory_order_acquire);
      if (w - read_cache_ == capacity_) return false;
    }
    std::construct_at(slot(w), std::forward<Args>(args)...);
    write_.store(w + 1, std::memory_order_release);
    return true;
  }

  /// Copies an element in; false when the ring is full. Producer thread only.
  [[nodiscard]] bool try_push(const T& v) noexcept(std::is_nothrow_copy_constructible_v<T>) {
    return try_emplace(v);
  }

  /// Moves an element in; false when the ring is full. Producer thread only.
  [[nodiscard]] bool try_push(T&& v) noexcept(std::is_nothrow_move_constructible_v<T>) {
    return try_emplace(std::move(v));
  }

  /// Bounded blocking push for back-pressure: spins briefly, then sleeps with growing pauses
  /// (up to 1 ms) until there is space or `timeout` has passed. On timeout `v` is left untouched
  /// and false is returned. Producer thread only.
  template <typename U, typename Rep, typename Period>
  [[nodiscard]] bool push_for(U&& v, std::chrono::duration<Rep, Period> timeout) {
    if (try_emplace(std::forward<U>(v))) return true;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    auto pause = std::chrono::microseconds(20);
    for (int spin = 0;; ++spin) {
      if (spin < 64) {
        std::this_thread::yield();
      } else {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(pause);
        pause = std::min(pause * 2, std::chrono::microseconds(1000));
      }
      // Only the copy/move branch that succeeds consumes `v`.
      if (try_emplace(std::forward<U>(v))) return true;
    }
  }

  /// Removes up to `max` elements, calling `fn(T&&)` on each in order; returns how many.
  /// The read index is published once per batch. Consumer thread only.
  template <typename Fn>
  std::size_t consume(Fn&& fn, std::size_t max = static_cast<std::size_t>(-1)) {
    const auto r = read_.load(std::memory_order_relaxed);
    if (write_cache_ - r < max) write_cache_ = write_.load(std::memory_order_acquire);
    const std::size_t n = std::min<std::size_t>(write_cache_ - r, max);
    for (std::size_t i = 0; i < n; ++i) {
      T* p = slot(r + i);
      fn(std::move(*p));
      std::destroy_at(p);
    }
    if (n != 0) read_.store(r + n, std::memory_order_release);
    return n;
  }

  /// Moves up to `max` elements into `out` (an output iterator); returns how many.
  template <typename OutputIt>
  std::size_t pop_batch(OutputIt out, std::size_t max) {
    return consume([&out](T&& v) { *out++ = std::move(v); }, max);
  }

  /// Removes one element; nullopt when empty. Consumer thread only.
  std::optional<T> try_pop() {
    std::optional<T> result;
    consume([&result](T&& v) { result.emplace(std::move(v)); }, 1);
    return result;
  }

  /// Elements queued right now (exact only when both sides are quiet).
  std::size_t size() const noexcept {
    const auto w = write_.load(std::memory_order_acquire);
    const auto r = read_.load(std::memory_order_acquire);
    return static_cast<std::size_t>(w - r);
  }

  bool empty() const noexcept { return size() == 0; }
  std::size_t capacity() const noexcept { return capacity_; }

 private:
  T* slot(std::size_t index) const noexcept { return slots_ + (index & mask_); }

  const std::size_t capacity_;
  const std::size_t mask_;
  T* const slots_;

  // Producer's line: its own index and its cached view of the consumer's.
  alignas(detail::cache_line) std::atomic<std::size_t> write_{0};
  std::size_t read_cache_ = 0;
  // Consumer's line.
  alignas(detail::cache_line) std::atomic<std::size_t> read_{0};
  std::size_t write_cache_ = 0;
};

}  // namespace vitals::core
