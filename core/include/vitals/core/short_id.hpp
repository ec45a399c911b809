#pragma once
/// Fixed-capacity inline identifier, so that samples stay trivially copyable through the ring.

#include <algorithm>
#include <array>
#include <compare>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace vitals::core {

/// An identifier (patient, device) of at most `max_size` bytes stored inline, without allocation.
class short_id {
 public:
  static constexpr std::size_t max_size = 47;

  constexpr short_id() = default;

  /// Returns the id, or nullopt when `text` is empty or longer than `max_size`.
  static constexpr std::optional<short_id> make(std::string_view text) noexcept {
    if (text.empty() || text.size() > max_size) return std::nullopt;
    short_id id;
    std::copy(text.begin(), text.end(), id.data_.begin());
    id.size_ = static_cast<unsigned char>(text.size());
    return id;
  }

  /// Like make(), but cuts an over-long id; for trusted, configured ids only.
  static constexpr short_id truncate(std::string_view text) noexcept {
    text = text.substr(0, std::min(text.size(), max_size));
    short_id id;
    std::copy(text.begin(), text.end(), id.data_.begin());
    id.size_ = static_cast<unsigned char>(text.size());
    return id;
  }

  constexpr std::string_view view() const noexcept { return {data_.data(), size_}; }
  std::string str() const { return std::string(view()); }
  constexpr bool empty() const noexcept { return size_ == 0; }
  constexpr std::size_t size() const noexcept { return size_; }

  friend constexpr bool operator==(const short_id& a, const short_id& b) noexcept {
    return a.view() == b.view();
  }
  friend constexpr auto operator<=>(const short_id& a, const short_id& b) noexcept {
    return a.view() <=> b.view();
  }

 private:
  std::array<char, max_size> data_{};
  unsigned char size_ = 0;
};

/// Whether `text` may be an id: 1 to short_id::max_size bytes, no control bytes (ids end up in
/// logs, the database and notifications, where control bytes have no place).
constexpr bool valid_id_text(std::string_view text) noexcept {
  if (text.empty() || text.size() > short_id::max_size) return false;
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return false;
  }
  return true;
}

}  // namespace vitals::core

template <>
struct std::hash<vitals::core::short_id> {
  std::size_t operator()(const vitals::core::short_id& id) const noexcept {
    return std::hash<std::string_view>{}(id.view());
  }
};
