#pragma once
/// A core::sample_sink for source tests: keeps every sample pushed, from any thread.

#include <cstddef>
#include <iterator>
#include <mutex>
#include <vector>

#include <vitals/core/source.hpp>

namespace vitals::test {

class collecting_sink final : public core::sample_sink {
 public:
  bool push(const core::sample& s) override {
    std::lock_guard lock(mutex_);
    samples_.push_back(s);
    return true;
  }

  std::size_t size() const {
    std::lock_guard lock(mutex_);
    return samples_.size();
  }

  /// Everything pushed so far.
  std::vector<core::sample> samples() const {
    std::lock_guard lock(mutex_);
    return samples_;
  }

  /// Everything pushed since the last take().
  std::vector<core::sample> take() {
    std::lock_guard lock(mutex_);
    std::vector<core::sample> out(samples_.begin() + static_cast<std::ptrdiff_t>(taken_),
                                  samples_.end());
    taken_ = samples_.size();
    return out;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<core::sample> samples_;
  std::size_t taken_ = 0;
};

}  // namespace vitals::test
