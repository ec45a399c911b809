#pragma once
/// What the GATT decoders share (private): IEEE 11073 SFLOAT / FLOAT decoding, and a cursor over
/// a frame that names the first field that does not fit. Inline, so that each decoder's
/// translation unit compiles the SFLOAT decoding into its own loop.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <limits>
#include <optional>
#include <span>
#include <string_view>

#include <vitals/adapters/ble/gatt.hpp>

namespace vitals::adapters::ble::detail {

using bytes = std::span<const std::uint8_t>;

inline constexpr double powers_of_ten[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                           1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                           1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/// mantissa x 10^exponent, exact for decimals: divide by an exact power of ten for negative
/// exponents (980 x 10^-1 == 98.0), multiply for positive ones.
inline double scale(std::int32_t mantissa, int exponent) noexcept {
  const auto m = static_cast<double>(mantissa);
  const int e = exponent < 0 ? -exponent : exponent;
  const double p =
      e < static_cast<int>(std::size(powers_of_ten)) ? powers_of_ten[e] : std::pow(10.0, e);
  return exponent < 0 ? m / p : m * p;
}

/// An IEEE 11073-20601 number of `mantissa_bits` (SFLOAT 12, FLOAT 24) under a signed exponent
/// of `exponent_bits` (4, 8). Both types put their special values at exponent 0, at the same
/// places around the mantissa's midpoint (SFLOAT 0x07FF NaN, FLOAT 0x007FFFFF NaN, ...).
/// `Raw` is the type's own width (std::uint16_t, std::uint32_t), which tells the compiler the
/// range of the exponent (a 32-bit SFLOAT costs about 15 instructions more per value). Declared
/// inline so that GCC inlines it into the CGM record loop too: without, a 3-record notification
/// costs 5% more instructions than when SFLOAT was decoded in the same file.
template <int mantissa_bits, int exponent_bits, class Raw>
inline medfloat decode_medfloat(Raw raw) noexcept {
  static_assert(sizeof(Raw) * 8 == mantissa_bits + exponent_bits,
                "Raw holds exactly the exponent and the mantissa");
  constexpr std::uint32_t mid = 1u << (mantissa_bits - 1);
  constexpr std::uint32_t mantissa_mask = (1u << mantissa_bits) - 1;
  constexpr auto special_value = [](special s) {
    return medfloat{std::numeric_limits<double>::quiet_NaN(), s};
  };
  switch (static_cast<std::uint32_t>(raw)) {
    case mid - 1:
      return special_value(special::nan);
    case mid:
      return special_value(special::nres);
    case mid - 2:
      return special_value(special::pos_inf);
    case mid + 2:
      return special_value(special::neg_inf);
    case mid + 1:
      return special_value(special::reserved);
    default:
      break;
  }
  int exponent = static_cast<int>(static_cast<std::uint32_t>(raw) >> mantissa_bits);
  if (exponent >= (1 << (exponent_bits - 1))) exponent -= 1 << exponent_bits;
  auto mantissa = static_cast<std::int32_t>(static_cast<std::uint32_t>(raw) & mantissa_mask);
  if (mantissa >= static_cast<std::int32_t>(mid))
    mantissa -= static_cast<std::int32_t>(mantissa_mask + 1);
  return {scale(mantissa, exponent), special::none};
}

/// decode_sfloat(), inline for the decoders.
inline medfloat sfloat(std::uint16_t raw) noexcept {
  return decode_medfloat<12, 4>(raw);
}

/// A cursor over a frame that reports the first field that does not fit.
class reader {
 public:
  explicit reader(bytes frame) noexcept : frame_(frame) {}

  std::size_t offset() const noexcept { return pos_; }
  std::size_t left() const noexcept { return frame_.size() - pos_; }

  bool need(std::size_t n, std::string_view field, std::optional<decode_error>& err) noexcept {
    if (left() >= n) return true;
    err = decode_error{error_code::truncated, field, pos_, n, left()};
    return false;
  }
  std::uint8_t u8() noexcept { return frame_[pos_++]; }
  std::uint16_t u16() noexcept {
    const auto v = static_cast<std::uint16_t>(frame_[pos_] | (frame_[pos_ + 1] << 8));
    pos_ += 2;
    return v;
  }
  std::uint32_t u24() noexcept {
    const auto v = static_cast<std::uint32_t>(frame_[pos_] | (frame_[pos_ + 1] << 8) |
                                              (frame_[pos_ + 2] << 16));
    pos_ += 3;
    return v;
  }
  bytes rest() noexcept {
    auto r = frame_.subspan(pos_);
    pos_ = frame_.size();
    return r;
  }
  std::optional<decode_error> finish() const noexcept {
    if (left() == 0) return std::nullopt;
    return decode_error{error_code::trailing_bytes, "end", pos_, 0, left()};
  }

 private:
  bytes frame_;
  std::size_t pos_ = 0;
};

inline std::optional<decode_error> read_flags(reader& r, std::uint8_t& flags,
                                              bytes frame) noexcept {
  if (frame.empty()) return decode_error{error_code::empty, "flags", 0, 1, 0};
  flags = r.u8();
  return std::nullopt;
}

inline bool read_pair(reader& r, std::string_view field, spo2_pr& out,
                      std::optional<decode_error>& err) noexcept {
  if (!r.need(4, field, err)) return false;
  out.spo2_pct = sfloat(r.u16());
  out.pulse_rate_bpm = sfloat(r.u16());
  return true;
}

inline bool read_sfloat(reader& r, std::string_view field, std::optional<medfloat>& out,
                        std::optional<decode_error>& err) noexcept {
  if (!r.need(2, field, err)) return false;
  out = sfloat(r.u16());
  return true;
}

inline bool read_date_time(reader& r, date_time& out, std::optional<decode_error>& err,
                           std::string_view field) noexcept {
  if (!r.need(7, field, err)) return false;
  out.year = r.u16();
  out.month = r.u8();
  out.day = r.u8();
  out.hours = r.u8();
  out.minutes = r.u8();
  out.seconds = r.u8();
  return true;
}

}  // namespace vitals::adapters::ble::detail
