#pragma once
/// [[devices]]: the patient of each device whose readings name none, shared by the sources and
/// replaced whole by a configuration reload while they run.
///
/// Readers (a source's receive thread) keep a view: a lookup costs one atomic load on top of the
/// hash lookup while nothing changes, and the view takes the new map at its first lookup after a
/// replace(). The maps are immutable once published, so a reader never sees one half-updated.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include <vitals/core/sample.hpp>

namespace vitals::core {

class device_directory {
 public:
  /// Hash that lets a std::string_view find a std::string key.
  struct string_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  /// Device id -> patient.
  using map = std::unordered_map<std::string, short_id, string_hash, std::equal_to<>>;

  /// Throws std::invalid_argument naming an entry whose device or patient id is empty, longer
  /// than short_id holds or has control characters.
  explicit device_directory(const std::unordered_map<std::string, std::string>& devices = {});

  /// A map to publish(): throws std::invalid_argument as the constructor does.
  static std::shared_ptr<const map> make_map(
      const std::unordered_map<std::string, std::string>& devices);

  /// Publishes a map made by make_map() (any thread); cannot fail.
  void publish(std::shared_ptr<const map> m) noexcept;

  /// make_map() and publish(): changes nothing when the map is refused.
  void replace(const std::unordered_map<std::string, std::string>& devices) {
    publish(make_map(devices));
  }

  /// The map in force.
  std::shared_ptr<const map> current() const;

  /// Bumped by every replace().
  std::uint64_t version() const noexcept { return version_.load(std::memory_order_acquire); }

  /// One reader's cached access. Not thread-safe itself: one per reading thread.
  class view {
   public:
    explicit view(const device_directory& d) : dir_(&d) {}
    /// The patient of `device`; nullptr when the directory does not know it.
    const short_id* find(std::string_view device);

   private:
    const device_directory* dir_;
    std::shared_ptr<const map> map_;
    std::uint64_t version_ = 0;
    bool loaded_ = false;
  };

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const map> map_;
  std::atomic<std::uint64_t> version_{0};
};

}  // namespace vitals::core
