#pragma once
/// Case-insensitive comparison of ASCII text, for names, units and UUIDs in configuration and
/// messages; independent of the C locale.

#include <cstddef>
#include <string_view>

namespace vitals::core {

/// True when `a` and `b` are equal but for the case of ASCII letters.
inline bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto x = static_cast<unsigned char>(a[i]);
    auto y = static_cast<unsigned char>(b[i]);
    if (x >= 'A' && x <= 'Z') x = static_cast<unsigned char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<unsigned char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

}  // namespace vitals::core
