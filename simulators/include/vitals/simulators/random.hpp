#pragma once
/// A small, portable random number generator: the same seed gives the same stream on every
/// compiler and standard library (std::normal_distribution and friends do not promise that).

#include <cmath>
#include <cstdint>
#include <numbers>
#include <string_view>

namespace vitals::simulators {

/// One step of SplitMix64; mixes seeds and derives independent sub-seeds.
constexpr std::uint64_t splitmix64(std::uint64_t& state) noexcept {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/// Derives the seed of one named stream (a patient, a device) from the run's seed, so that
/// adding patients or devices never changes the numbers the others draw.
constexpr std::uint64_t derive_seed(std::uint64_t seed, std::string_view stream) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a of the stream name
  for (const char c : stream) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  std::uint64_t state = seed ^ h;
  return splitmix64(state);
}

/// xoshiro256** with uniform and normal draws built on it, all defined here (portable).
class random {
 public:
  /// Seeds the four words of state from `seed` through SplitMix64.
  explicit random(std::uint64_t seed) noexcept {
    for (auto& w : s_) w = splitmix64(seed);
  }

  /// Next raw 64-bit value.
  std::uint64_t next() noexcept {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  /// Uniform in [0, 1) with 53 bits of precision.
  double uniform() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

  /// Uniform in [lo, hi).
  double uniform(double lo, double hi) noexcept { return lo + (hi - lo) * uniform(); }

  /// Standard normal (Box-Muller; the second value is discarded to keep the stream simple).
  double normal() noexcept {
    const double u1 = 1.0 - uniform();  // (0, 1]: log stays finite
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
  }

  /// Normal with the given mean and standard deviation.
  double normal(double mean, double sd) noexcept { return mean + sd * normal(); }

 private:
  static constexpr std::uint64_t rotl(std::uint64_t x, int k) noexcept {
    return (x << k) | (x >> (64 - k));
  }
  std::uint64_t s_[4]{};
};

}  // namespace vitals::simulators
