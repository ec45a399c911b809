// IEEE 11073-20601 SFLOAT and FLOAT (gatt.hpp); the decoding itself is in gatt_reader.hpp, inline
// for the characteristic decoders.

#include <vitals/adapters/ble/gatt.hpp>

#include "gatt_reader.hpp"

namespace vitals::adapters::ble {

std::string_view to_string(special s) noexcept {
  switch (s) {
    case special::none:
      return "";
    case special::nan:
      return "NaN";
    case special::nres:
      return "NRes";
    case special::pos_inf:
      return "+INF";
    case special::neg_inf:
      return "-INF";
    case special::reserved:
      return "RFU";
  }
  return "";
}

medfloat decode_sfloat(std::uint16_t raw) noexcept {
  return detail::sfloat(raw);
}

medfloat decode_float(std::uint32_t raw) noexcept {
  return detail::decode_medfloat<24, 8>(raw);
}

}  // namespace vitals::adapters::ble
