// Continuous Glucose Monitoring: CGM Measurement (0x2AA7, several records, each with an optional
// E2E-CRC), CGM Session Start Time (0x2AAA) and the CGM service's CRC-16.

#include <vitals/adapters/ble/gatt.hpp>

#include <array>

#include "gatt_reader.hpp"

namespace vitals::adapters::ble {

namespace {

/// Static names of record i's fields ("record[3].size", "record[3]") for decode_error, which
/// holds a string_view: one more than max_cgm_records, for the record that is one too many.
struct record_name_table {
  static constexpr std::size_t count = max_cgm_records + 1;
  char size[count][20]{};
  char body[count][16]{};
  std::size_t size_len[count]{};
  std::size_t body_len[count]{};
};

constexpr record_name_table make_record_names() {
  record_name_table t;
  for (std::size_t i = 0; i < record_name_table::count; ++i) {
    char digits[4]{};
    std::size_t nd = 0;
    std::size_t v = i;
    do {
      digits[nd++] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v != 0);
    std::size_t n = 0;
    for (const char c : std::string_view("record[")) t.body[i][n++] = c;
    while (nd != 0) t.body[i][n++] = digits[--nd];
    t.body[i][n++] = ']';
    t.body_len[i] = n;
    for (std::size_t k = 0; k < n; ++k) t.size[i][k] = t.body[i][k];
    for (const char c : std::string_view(".size")) t.size[i][n++] = c;
    t.size_len[i] = n;
  }
  return t;
}

constexpr record_name_table record_names = make_record_names();

std::string_view record_size_field(std::size_t i) noexcept {
  return {record_names.size[i], record_names.size_len[i]};
}

std::string_view record_field(std::size_t i) noexcept {
  return {record_names.body[i], record_names.body_len[i]};
}

static_assert(std::string_view(record_names.size[12], 15) == "record[12].size");

/// CRC-16/MCRF4XX (reflected polynomial 0x8408) one byte at a time: the bitwise loop, run once
/// per byte value at compile time.
constexpr std::array<std::uint16_t, 256> crc16_table = [] {
  std::array<std::uint16_t, 256> t{};
  for (std::size_t v = 0; v < t.size(); ++v) {
    auto crc = static_cast<std::uint16_t>(v);
    for (int i = 0; i < 8; ++i) {
      crc = (crc & 1u) != 0 ? static_cast<std::uint16_t>((crc >> 1) ^ 0x8408)
                            : static_cast<std::uint16_t>(crc >> 1);
    }
    t[v] = crc;
  }
  return t;
}();

}  // namespace

std::uint16_t crc16_mcrf4xx(std::span<const std::uint8_t> data) noexcept {
  std::uint16_t crc = 0xFFFF;
  for (const auto b : data)
    crc = static_cast<std::uint16_t>((crc >> 8) ^ crc16_table[(crc ^ b) & 0xFFu]);
  return crc;
}

std::optional<decode_error> decode(std::span<const std::uint8_t> frame, cgm_measurement& out,
                                   crc_mode crc) noexcept {
  out.count = 0;
  if (frame.empty()) return decode_error{error_code::empty, record_size_field(0), 0, 1, 0};
  std::size_t pos = 0;
  while (pos < frame.size()) {
    const auto index = out.count;
    if (index == max_cgm_records) {
      return decode_error{error_code::too_many_records, record_size_field(index), pos, 0, index};
    }
    const std::size_t size = frame[pos];
    if (size < 6) {
      return decode_error{error_code::record_too_short, record_size_field(index), pos, 6, size};
    }
    if (size > frame.size() - pos) {
      return decode_error{error_code::truncated, record_field(index), pos, size,
                          frame.size() - pos};
    }
    const auto rec = frame.subspan(pos, size);
    auto& c = out.records[out.count];
    c = {};
    c.offset = pos;
    c.size = static_cast<std::uint8_t>(size);
    c.flags = rec[1];
    std::size_t implied = 6;
    const int octets = ((c.flags >> 5) & 1) + ((c.flags >> 6) & 1) + ((c.flags >> 7) & 1);
    implied += static_cast<std::size_t>(octets);
    if ((c.flags & 0x01) != 0) implied += 2;
    if ((c.flags & 0x02) != 0) implied += 2;
    bool has_crc = false;
    if (size == implied + 2 && crc != crc_mode::absent) {
      has_crc = true;
    } else if (size != implied || crc == crc_mode::required) {
      return decode_error{error_code::size_mismatch, record_size_field(index), pos,
                          crc == crc_mode::required ? implied + 2 : implied, size};
    }
    std::size_t i = 2;
    const auto u16_at = [&rec](std::size_t k) {
      return static_cast<std::uint16_t>(rec[k] | (rec[k + 1] << 8));
    };
    c.glucose_mg_dl = detail::sfloat(u16_at(i));
    i += 2;
    c.time_offset_min = u16_at(i);
    i += 2;
    // The annunciation is sent least significant octet first. With all three present the wire
    // order is status (bits 0-7), cal/temp (8-15), warning (16-23), as Nordic's reference
    // implementation and its tests read it. Readers disagree about the order when only some
    // are present; we keep the same relative order (status, cal/temp, warning, of those
    // present), each octet at its own bit position, and the raw octets stay in the record for
    // diagnosis.
    if ((c.flags & 0x80) != 0) {
      c.status_octet = rec[i++];
      c.annunciation |= *c.status_octet;
    }
    if ((c.flags & 0x40) != 0) {
      c.cal_temp_octet = rec[i++];
      c.annunciation |= static_cast<std::uint32_t>(*c.cal_temp_octet) << 8;
    }
    if ((c.flags & 0x20) != 0) {
      c.warning_octet = rec[i++];
      c.annunciation |= static_cast<std::uint32_t>(*c.warning_octet) << 16;
    }
    if ((c.flags & 0x01) != 0) {
      c.trend_mg_dl_min = detail::sfloat(u16_at(i));
      i += 2;
    }
    if ((c.flags & 0x02) != 0) {
      c.quality_pct = detail::sfloat(u16_at(i));
      i += 2;
    }
    if (has_crc) {
      c.e2e_crc = u16_at(i);
      c.crc_ok = crc16_mcrf4xx(rec.first(i)) == *c.e2e_crc;
    }
    ++out.count;
    pos += size;
  }
  return std::nullopt;
}

std::optional<decode_error> decode(std::span<const std::uint8_t> frame,
                                   cgm_session_start_time& out) noexcept {
  out = {};
  detail::reader r(frame);
  if (frame.empty()) return decode_error{error_code::empty, "session_start_time", 0, 9, 0};
  std::optional<decode_error> err;
  if (!detail::read_date_time(r, out.start, err, "session_start_time")) return err;
  if (!r.need(1, "time_zone", err)) return err;
  out.time_zone_quarters = static_cast<std::int8_t>(r.u8());
  if (!r.need(1, "dst_offset", err)) return err;
  out.dst_offset = r.u8();
  if (r.left() != 0) {  // 9 bytes without, 11 with the E2E-CRC; 10 is a cut CRC
    if (!r.need(2, "e2e_crc", err)) return err;
    out.e2e_crc = r.u16();
    out.crc_ok = crc16_mcrf4xx(frame.first(9)) == *out.e2e_crc;
  }
  return r.finish();
}

}  // namespace vitals::adapters::ble
