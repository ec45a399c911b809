// libFuzzer target: the text side of a gateway message: parse_hex() of the value,
// parse_characteristic() of the UUID and normalize_address() of the device address, and the
// parsed bytes through every decoder.

#include <string>
#include <string_view>

#include <vitals/adapters/ble/ble_device.hpp>

#include "fuzz_common.hpp"

namespace {

using namespace vitals::fuzz;

constexpr ble::characteristic all[] = {
    ble::characteristic::heart_rate_measurement, ble::characteristic::plx_spot_check,
    ble::characteristic::plx_continuous, ble::characteristic::cgm_measurement,
    ble::characteristic::cgm_session_start_time};

std::string to_hex(std::span<const std::uint8_t> b) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string s;
  for (const auto x : b) {
    s += digits[x >> 4];
    s += digits[x & 15];
  }
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  if (const auto c = ble::parse_characteristic(text)) {
    check(ble::parse_characteristic(ble::to_string(*c)) == c, "name does not parse back");
    check(ble::uuid16(*c) != 0, "characteristic without a UUID");
  }

  if (const auto a = ble::normalize_address(text)) {
    check(a->size() == 17, "normalized address is not 17 characters");
    check(ble::normalize_address(*a) == a, "normalize_address is not idempotent");
    check(ble::default_device_id(*a).size() == 16, "default device id is not ble- + 12 digits");
  }

  std::uint8_t buf[64];
  std::size_t n = 0;
  const auto err = ble::parse_hex(text, buf, n);
  if (err) {
    check(err->code == ble::error_code::bad_hex, "parse_hex failed with another code");
    check(err->offset <= size, "bad_hex offset past the end of the text");
    return 0;
  }
  check(n <= sizeof buf, "parse_hex wrote past its buffer");
  const std::span<const std::uint8_t> parsed(buf, n);
  // Round trip: the canonical hex of the bytes parses back to the same bytes.
  std::uint8_t again[64];
  std::size_t m = 0;
  check(!ble::parse_hex(to_hex(parsed), again, m) && m == n &&
            std::equal(parsed.begin(), parsed.end(), again),
        "hex round trip differs");
  for (const auto c : all) {
    ble::decoded_frame decoded;
    if (const auto e = ble::decode(c, parsed, decoded)) {
      check_error(*e, n);
    } else {
      check_samples(c, decoded);
    }
  }
  return 0;
}
