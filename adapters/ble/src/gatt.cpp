#include <vitals/adapters/ble/gatt.hpp>

#include <array>
#include <cctype>
#include <cmath>
#include <limits>

namespace vitals::adapters::ble {

namespace {

using bytes = std::span<const std::uint8_t>;

constexpr double powers_of_ten[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                    1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                    1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/// mantissa x 10^exponent, exact for decimals: divide by an exact power of ten for negative
/// exponents (980 x 10^-1 == 98.0), multiply for positive ones.
double scale(std::int32_t mantissa, int exponent) noexcept {
  const auto m = static_cast<double>(mantissa);
  const int e = exponent < 0 ? -exponent : exponent;
  const double p =
      e < static_cast<int>(std::size(powers_of_ten)) ? powers_of_ten[e] : std::pow(10.0, e);
  return exponent < 0 ? m / p : m * p;
}

medfloat special_value(special s) noexcept {
  return {std::numeric_limits<double>::quiet_NaN(), s};
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

std::optional<decode_error> read_flags(reader& r, std::uint8_t& flags, bytes frame) noexcept {
  if (frame.empty()) return decode_error{error_code::empty, "flags", 0, 1, 0};
  flags = r.u8();
  return std::nullopt;
}

bool read_pair(reader& r, std::string_view field, spo2_pr& out,
               std::optional<decode_error>& err) noexcept {
  if (!r.need(4, field, err)) return false;
  out.spo2_pct = decode_sfloat(r.u16());
  out.pulse_rate_bpm = decode_sfloat(r.u16());
  return true;
}

bool read_sfloat(reader& r, std::string_view field, std::optional<medfloat>& out,
                 std::optional<decode_error>& err) noexcept {
  if (!r.need(2, field, err)) return false;
  out = decode_sfloat(r.u16());
  return true;
}

bool read_date_time(reader& r, date_time& out, std::optional<decode_error>& err,
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

bool hex_digit(char c, std::uint8_t& v) noexcept {
  if (c >= '0' && c <= '9') {
    v = static_cast<std::uint8_t>(c - '0');
  } else if (c >= 'a' && c <= 'f') {
    v = static_cast<std::uint8_t>(c - 'a' + 10);
  } else if (c >= 'A' && c <= 'F') {
    v = static_cast<std::uint8_t>(c - 'A' + 10);
  } else {
    return false;
  }
  return true;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::uint16_t uuid16(characteristic c) noexcept {
  switch (c) {
    case characteristic::heart_rate_measurement:
      return 0x2A37;
    case characteristic::plx_spot_check:
      return 0x2A5E;
    case characteristic::plx_continuous:
      return 0x2A5F;
    case characteristic::cgm_measurement:
      return 0x2AA7;
    case characteristic::cgm_session_start_time:
      return 0x2AAA;
  }
  return 0;
}

std::string_view to_string(characteristic c) noexcept {
  switch (c) {
    case characteristic::heart_rate_measurement:
      return "heart_rate_measurement";
    case characteristic::plx_spot_check:
      return "plx_spot_check";
    case characteristic::plx_continuous:
      return "plx_continuous";
    case characteristic::cgm_measurement:
      return "cgm_measurement";
    case characteristic::cgm_session_start_time:
      return "cgm_session_start_time";
  }
  return "unknown";
}

std::optional<characteristic> parse_characteristic(std::string_view text) noexcept {
  static constexpr characteristic all[] = {
      characteristic::heart_rate_measurement, characteristic::plx_spot_check,
      characteristic::plx_continuous, characteristic::cgm_measurement,
      characteristic::cgm_session_start_time};
  static constexpr std::string_view short_names[] = {"hr", "plx-spot", "plx-cont", "cgm",
                                                     "cgm-session-start"};
  for (std::size_t i = 0; i < std::size(all); ++i) {
    if (iequals(text, to_string(all[i])) || iequals(text, short_names[i])) return all[i];
  }
  // 128-bit SIG base UUID: 0000xxxx-0000-1000-8000-00805f9b34fb.
  if (text.size() == 36) {
    if (!iequals(text.substr(0, 4), "0000") ||
        !iequals(text.substr(8), "-0000-1000-8000-00805f9b34fb")) {
      return std::nullopt;
    }
    text = text.substr(4, 4);
  } else if (text.size() == 6 && (text.substr(0, 2) == "0x" || text.substr(0, 2) == "0X")) {
    text = text.substr(2);
  }
  if (text.size() != 4) return std::nullopt;
  std::uint16_t v = 0;
  for (const char c : text) {
    std::uint8_t d = 0;
    if (!hex_digit(c, d)) return std::nullopt;
    v = static_cast<std::uint16_t>((v << 4) | d);
  }
  for (const auto c : all) {
    if (uuid16(c) == v) return c;
  }
  return std::nullopt;
}

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
  switch (raw) {
    case 0x07FF:
      return special_value(special::nan);
    case 0x0800:
      return special_value(special::nres);
    case 0x07FE:
      return special_value(special::pos_inf);
    case 0x0802:
      return special_value(special::neg_inf);
    case 0x0801:
      return special_value(special::reserved);
    default:
      break;
  }
  int exponent = raw >> 12;
  if (exponent >= 8) exponent -= 16;
  std::int32_t mantissa = raw & 0x0FFF;
  if (mantissa >= 0x0800) mantissa -= 0x1000;
  return {scale(mantissa, exponent), special::none};
}

medfloat decode_float(std::uint32_t raw) noexcept {
  switch (raw) {
    case 0x007FFFFF:
      return special_value(special::nan);
    case 0x00800000:
      return special_value(special::nres);
    case 0x007FFFFE:
      return special_value(special::pos_inf);
    case 0x00800002:
      return special_value(special::neg_inf);
    case 0x00800001:
      return special_value(special::reserved);
    default:
      break;
  }
  int exponent = static_cast<int>(raw >> 24);
  if (exponent >= 128) exponent -= 256;
  std::int32_t mantissa = static_cast<std::int32_t>(raw & 0x00FFFFFF);
  if (mantissa >= 0x00800000) mantissa -= 0x01000000;
  return {scale(mantissa, exponent), special::none};
}

std::string_view to_string(error_code c) noexcept {
  switch (c) {
    case error_code::empty:
      return "empty";
    case error_code::truncated:
      return "truncated";
    case error_code::trailing_bytes:
      return "trailing_bytes";
    case error_code::size_mismatch:
      return "size_mismatch";
    case error_code::record_too_short:
      return "record_too_short";
    case error_code::too_many_records:
      return "too_many_records";
    case error_code::bad_hex:
      return "bad_hex";
  }
  return "unknown";
}

std::string decode_error::describe() const {
  std::string out(to_string(code));
  out += ": field ";
  out += field;
  out += " at offset ";
  out += std::to_string(offset);
  switch (code) {
    case error_code::truncated:
      out += " needs " + std::to_string(needed) + " byte" + (needed == 1 ? "" : "s") + ", " +
             std::to_string(available) + " left";
      break;
    case error_code::trailing_bytes:
      out += ": " + std::to_string(available) + " byte" + (available == 1 ? "" : "s") +
             " after the last field the flags announce";
      break;
    case error_code::size_mismatch:
      out += ": size byte says " + std::to_string(available) + ", the flags imply " +
             std::to_string(needed);
      break;
    case error_code::record_too_short:
      out += ": size byte " + std::to_string(available) + " is below the minimum of 6";
      break;
    case error_code::too_many_records:
      out += ": more than " + std::to_string(max_cgm_records) + " records";
      break;
    case error_code::bad_hex:
      out += ": not hex (odd length, a non-hex character, or too long)";
      break;
    case error_code::empty:
      out += ": no bytes";
      break;
  }
  return out;
}

namespace {

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

std::optional<decode_error> decode(bytes frame, heart_rate_measurement& out) noexcept {
  out = {};
  reader r(frame);
  if (auto e = read_flags(r, out.flags, frame)) return e;
  std::optional<decode_error> err;
  out.heart_rate_u16 = (out.flags & 0x01) != 0;
  if (!r.need(out.heart_rate_u16 ? 2 : 1, "heart_rate", err)) return err;
  out.heart_rate_bpm = out.heart_rate_u16 ? r.u16() : r.u8();
  switch ((out.flags >> 1) & 0x03) {
    case 2:
      out.sensor_contact = heart_rate_measurement::contact::no_contact;
      break;
    case 3:
      out.sensor_contact = heart_rate_measurement::contact::in_contact;
      break;
    default:  // 0 and 1: contact is not supported (bit 1 alone means nothing)
      out.sensor_contact = heart_rate_measurement::contact::not_supported;
      break;
  }
  if ((out.flags & 0x08) != 0) {
    if (!r.need(2, "energy_expended", err)) return err;
    out.energy_expended_kj = r.u16();
  }
  if ((out.flags & 0x10) != 0) {
    // At least one interval when the flag announces them; an odd byte is a cut interval.
    if (!r.need(2, "rr_interval", err)) return err;
    if (r.left() % 2 != 0) {
      return decode_error{error_code::truncated, "rr_interval", r.offset() + r.left() - 1, 2, 1};
    }
    out.rr_bytes = r.rest();
  }
  return r.finish();
}

std::optional<decode_error> decode(bytes frame, plx_continuous& out) noexcept {
  out = {};
  reader r(frame);
  if (auto e = read_flags(r, out.flags, frame)) return e;
  std::optional<decode_error> err;
  if (!read_pair(r, "spo2_pr_normal", out.normal, err)) return err;
  if ((out.flags & 0x01) != 0) {
    spo2_pr p;
    if (!read_pair(r, "spo2_pr_fast", p, err)) return err;
    out.fast = p;
  }
  if ((out.flags & 0x02) != 0) {
    spo2_pr p;
    if (!read_pair(r, "spo2_pr_slow", p, err)) return err;
    out.slow = p;
  }
  if ((out.flags & 0x04) != 0) {
    if (!r.need(2, "measurement_status", err)) return err;
    out.measurement_status = r.u16();
  }
  if ((out.flags & 0x08) != 0) {
    if (!r.need(3, "device_sensor_status", err)) return err;
    out.device_sensor_status = r.u24();
  }
  if ((out.flags & 0x10) != 0 &&
      !read_sfloat(r, "pulse_amplitude_index", out.pulse_amplitude_index_pct, err)) {
    return err;
  }
  return r.finish();
}

std::optional<decode_error> decode(bytes frame, plx_spot_check& out) noexcept {
  out = {};
  reader r(frame);
  if (auto e = read_flags(r, out.flags, frame)) return e;
  std::optional<decode_error> err;
  if (!read_pair(r, "spo2_pr", out.reading, err)) return err;
  if ((out.flags & 0x01) != 0) {
    date_time t;
    if (!read_date_time(r, t, err, "timestamp")) return err;
    out.timestamp = t;
  }
  if ((out.flags & 0x02) != 0) {
    if (!r.need(2, "measurement_status", err)) return err;
    out.measurement_status = r.u16();
  }
  if ((out.flags & 0x04) != 0) {
    if (!r.need(3, "device_sensor_status", err)) return err;
    out.device_sensor_status = r.u24();
  }
  if ((out.flags & 0x08) != 0 &&
      !read_sfloat(r, "pulse_amplitude_index", out.pulse_amplitude_index_pct, err)) {
    return err;
  }
  out.device_clock_not_set = (out.flags & 0x10) != 0;
  return r.finish();
}

std::optional<decode_error> decode(bytes frame, cgm_measurement& out, crc_mode crc) noexcept {
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
    c.glucose_mg_dl = decode_sfloat(u16_at(i));
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
      c.trend_mg_dl_min = decode_sfloat(u16_at(i));
      i += 2;
    }
    if ((c.flags & 0x02) != 0) {
      c.quality_pct = decode_sfloat(u16_at(i));
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

std::optional<decode_error> decode(bytes frame, cgm_session_start_time& out) noexcept {
  out = {};
  reader r(frame);
  if (frame.empty()) return decode_error{error_code::empty, "session_start_time", 0, 9, 0};
  std::optional<decode_error> err;
  if (!read_date_time(r, out.start, err, "session_start_time")) return err;
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

std::optional<decode_error> decode(characteristic c, bytes frame, decoded_frame& out,
                                   crc_mode crc) noexcept {
  switch (c) {
    case characteristic::heart_rate_measurement:
      return decode(frame, out.emplace<heart_rate_measurement>());
    case characteristic::plx_spot_check:
      return decode(frame, out.emplace<plx_spot_check>());
    case characteristic::plx_continuous:
      return decode(frame, out.emplace<plx_continuous>());
    case characteristic::cgm_measurement: {
      // 85 records (about 8 KB): reused when the frame already holds them, rather than
      // value-initialised per notification; the decoder resets what it fills.
      auto* cgm = std::get_if<cgm_measurement>(&out);
      return decode(frame, cgm ? *cgm : out.emplace<cgm_measurement>(), crc);
    }
    case characteristic::cgm_session_start_time:
      return decode(frame, out.emplace<cgm_session_start_time>());
  }
  return decode_error{error_code::empty, "characteristic", 0, 0, 0};
}

namespace {

constexpr bit_name hr_flag_bits[] = {
    {0x01, "heart_rate_u16"},           {0x02, "sensor_contact_detected"},
    {0x04, "sensor_contact_supported"}, {0x08, "energy_expended_present"},
    {0x10, "rr_intervals_present"},
};

constexpr bit_name plx_continuous_flag_bits[] = {
    {0x01, "spo2pr_fast_present"},           {0x02, "spo2pr_slow_present"},
    {0x04, "measurement_status_present"},    {0x08, "device_sensor_status_present"},
    {0x10, "pulse_amplitude_index_present"},
};

constexpr bit_name plx_spot_check_flag_bits[] = {
    {0x01, "timestamp_present"},
    {0x02, "measurement_status_present"},
    {0x04, "device_sensor_status_present"},
    {0x08, "pulse_amplitude_index_present"},
    {0x10, "device_clock_not_set"},
};

constexpr bit_name cgm_flag_bits[] = {
    {0x01, "trend_present"},         {0x02, "quality_present"},
    {0x20, "warning_octet_present"}, {0x40, "cal_temp_octet_present"},
    {0x80, "status_octet_present"},
};

constexpr bit_name measurement_status_bits[] = {
    {plx_ms_measurement_ongoing, "measurement_ongoing"},
    {plx_ms_early_estimate, "early_estimate"},
    {plx_ms_validated, "validated"},
    {plx_ms_fully_qualified, "fully_qualified"},
    {plx_ms_from_storage, "from_storage"},
    {plx_ms_demonstration, "demonstration"},
    {plx_ms_testing, "testing"},
    {plx_ms_calibration_ongoing, "calibration_ongoing"},
    {plx_ms_unavailable, "unavailable"},
    {plx_ms_questionable, "questionable"},
    {plx_ms_invalid, "invalid"},
};

constexpr bit_name device_status_bits[] = {
    {plx_ds_extended_display_update, "extended_display_update"},
    {plx_ds_equipment_malfunction, "equipment_malfunction"},
    {plx_ds_signal_processing_irregularity, "signal_processing_irregularity"},
    {plx_ds_inadequate_signal, "inadequate_signal"},
    {plx_ds_poor_signal, "poor_signal"},
    {plx_ds_low_perfusion, "low_perfusion"},
    {plx_ds_erratic_signal, "erratic_signal"},
    {plx_ds_non_pulsatile, "non_pulsatile"},
    {plx_ds_questionable_pulse, "questionable_pulse"},
    {plx_ds_signal_analysis_ongoing, "signal_analysis_ongoing"},
    {plx_ds_sensor_interference, "sensor_interference"},
    {plx_ds_sensor_unconnected, "sensor_unconnected"},
    {plx_ds_unknown_sensor, "unknown_sensor"},
    {plx_ds_sensor_displaced, "sensor_displaced"},
    {plx_ds_sensor_malfunction, "sensor_malfunction"},
    {plx_ds_sensor_disconnected, "sensor_disconnected"},
};

constexpr bit_name annunciation_bits[] = {
    {cgm_session_stopped, "session_stopped"},
    {cgm_battery_low, "battery_low"},
    {cgm_sensor_type_incorrect, "sensor_type_incorrect"},
    {cgm_sensor_malfunction, "sensor_malfunction"},
    {cgm_device_specific_alert, "device_specific_alert"},
    {cgm_general_device_fault, "general_device_fault"},
    {cgm_time_sync_required, "time_sync_required"},
    {cgm_calibration_not_allowed, "calibration_not_allowed"},
    {cgm_calibration_recommended, "calibration_recommended"},
    {cgm_calibration_required, "calibration_required"},
    {cgm_temperature_too_high, "temperature_too_high"},
    {cgm_temperature_too_low, "temperature_too_low"},
    {cgm_below_patient_low, "below_patient_low"},
    {cgm_above_patient_high, "above_patient_high"},
    {cgm_below_hypo, "below_hypo"},
    {cgm_above_hyper, "above_hyper"},
    {cgm_rate_of_decrease_exceeded, "rate_of_decrease_exceeded"},
    {cgm_rate_of_increase_exceeded, "rate_of_increase_exceeded"},
    {cgm_below_device_range, "below_device_range"},
    {cgm_above_device_range, "above_device_range"},
};

}  // namespace

std::span<const bit_name> flag_names(characteristic c) noexcept {
  switch (c) {
    case characteristic::heart_rate_measurement:
      return hr_flag_bits;
    case characteristic::plx_spot_check:
      return plx_spot_check_flag_bits;
    case characteristic::plx_continuous:
      return plx_continuous_flag_bits;
    case characteristic::cgm_measurement:
      return cgm_flag_bits;
    case characteristic::cgm_session_start_time:
      break;
  }
  return {};
}

std::span<const bit_name> plx_measurement_status_names() noexcept {
  return measurement_status_bits;
}

std::span<const bit_name> plx_device_status_names() noexcept {
  return device_status_bits;
}

std::span<const bit_name> cgm_annunciation_names() noexcept {
  return annunciation_bits;
}

std::optional<decode_error> parse_hex(std::string_view text, std::span<std::uint8_t> out,
                                      std::size_t& size) noexcept {
  size = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c == ' ' || c == ':' || c == '-' || c == '\t') {
      ++i;
      continue;
    }
    std::uint8_t hi = 0;
    std::uint8_t lo = 0;
    if (!hex_digit(c, hi)) return decode_error{error_code::bad_hex, "hex", i, 2, 0};
    if (i + 1 >= text.size() || !hex_digit(text[i + 1], lo)) {
      return decode_error{error_code::bad_hex, "hex", i + 1, 2, 1};
    }
    if (size == out.size()) return decode_error{error_code::bad_hex, "hex", i, out.size(), size};
    out[size++] = static_cast<std::uint8_t>((hi << 4) | lo);
    i += 2;
  }
  return std::nullopt;
}

}  // namespace vitals::adapters::ble
