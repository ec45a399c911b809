#include <vitals/adapters/ble/ble_device.hpp>

#include <cctype>

namespace vitals::adapters::ble {

std::optional<std::string> normalize_address(std::string_view text) {
  std::string hex;
  hex.reserve(12);
  const bool separated = text.size() == 17;
  if (!separated && text.size() != 12) return std::nullopt;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (separated && i % 3 == 2) {
      if (c != ':' && c != '-') return std::nullopt;
      continue;
    }
    if (std::isxdigit(static_cast<unsigned char>(c)) == 0) return std::nullopt;
    hex += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  std::string out;
  out.reserve(17);
  for (std::size_t i = 0; i < 12; i += 2) {
    if (!out.empty()) out += ':';
    out.append(hex, i, 2);
  }
  return out;
}

std::vector<core::short_id> device_ids(const std::vector<ble_device>& devices) {
  std::vector<core::short_id> out;
  for (const auto& d : devices) {
    const auto address = normalize_address(d.address);
    if (!address) continue;
    if (auto id = core::short_id::make(d.device.empty() ? default_device_id(*address) : d.device)) {
      out.push_back(*id);
    }
  }
  return out;
}

std::string default_device_id(std::string_view normalized_address) {
  std::string id = "ble-";
  for (const char c : normalized_address) {
    if (c == ':' || c == '-') continue;
    id += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return id;
}

}  // namespace vitals::adapters::ble
