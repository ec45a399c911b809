// GATT decoders against frames built here from the specifications (Heart Rate Service 1.0,
// Pulse Oximeter Service 1.0, CGM Service 1.0.1, IEEE 11073-20601 SFLOAT/FLOAT). Frames are
// built field by field so that every cut of a frame can be checked against the field (and its
// offset) the decoder must name.
#include <bit>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <vitals/adapters/ble/gatt.hpp>

using namespace vitals::adapters::ble;
using frame = std::vector<std::uint8_t>;

// A namespace of its own: the sanitizer presets are unity builds (tests/README.md).
namespace gatt_test {
namespace {

void put16(frame& f, std::uint16_t v) {
  f.push_back(static_cast<std::uint8_t>(v & 0xFF));
  f.push_back(static_cast<std::uint8_t>(v >> 8));
}

void put24(frame& f, std::uint32_t v) {
  put16(f, static_cast<std::uint16_t>(v & 0xFFFF));
  f.push_back(static_cast<std::uint8_t>(v >> 16));
}

/// SFLOAT raw of mantissa x 10^exponent (both two's complement).
std::uint16_t sfloat(int mantissa, int exponent) {
  return static_cast<std::uint16_t>(((exponent & 0xF) << 12) | (mantissa & 0xFFF));
}

/// FLOAT raw of mantissa x 10^exponent.
std::uint32_t float32(std::int32_t mantissa, int exponent) {
  return (static_cast<std::uint32_t>(exponent & 0xFF) << 24) |
         (static_cast<std::uint32_t>(mantissa) & 0x00FFFFFFu);
}

/// A frame built field by field: where each field starts and how long it is.
struct built {
  struct field {
    std::string name;
    std::size_t offset = 0;
    std::size_t size = 0;
  };
  frame bytes;
  std::vector<field> fields;

  built& add(const std::string& name, const frame& value) {
    fields.push_back({name, bytes.size(), value.size()});
    bytes.insert(bytes.end(), value.begin(), value.end());
    return *this;
  }
  built& u8(const std::string& name, std::uint8_t v) { return add(name, frame{v}); }
  built& u16(const std::string& name, std::uint16_t v) {
    frame f;
    put16(f, v);
    return add(name, f);
  }
  built& u24(const std::string& name, std::uint32_t v) {
    frame f;
    put24(f, v);
    return add(name, f);
  }
  built& pair(const std::string& name, std::uint16_t spo2, std::uint16_t pr) {
    frame f;
    put16(f, spo2);
    put16(f, pr);
    return add(name, f);
  }
};

/// Every proper prefix of a valid frame is rejected: empty at length 0, otherwise truncated at
/// the first field that does not fit, naming that field, its offset, its size and what is left.
template <class T>
void every_cut_names_its_field(const built& b) {
  for (std::size_t n = 0; n < b.bytes.size(); ++n) {
    INFO("cut at " << n << " of " << b.bytes.size() << " bytes");
    T out;
    const auto err = decode(std::span(b.bytes.data(), n), out);
    REQUIRE(err.has_value());
    CHECK_FALSE(err->describe().empty());
    if (n == 0) {
      CHECK(err->code == error_code::empty);
      CHECK(err->field == b.fields.front().name);
      CHECK(err->offset == 0);
      continue;
    }
    const built::field* cut = nullptr;
    for (const auto& f : b.fields) {
      if (f.offset + f.size > n) {
        cut = &f;
        break;
      }
    }
    REQUIRE(cut != nullptr);
    CHECK(err->code == error_code::truncated);
    CHECK(err->field == cut->name);
    CHECK(err->offset == cut->offset);
    CHECK(err->needed == cut->size);
    CHECK(err->available == n - cut->offset);
  }
}

/// One byte more than the flags announce is a trailing_bytes error at the end of the frame.
template <class T>
void one_byte_more_is_trailing(const frame& f) {
  auto longer = f;
  longer.push_back(0x42);
  T out;
  const auto err = decode(longer, out);
  REQUIRE(err);
  CHECK(err->code == error_code::trailing_bytes);
  CHECK(err->field == "end");
  CHECK(err->offset == f.size());
  CHECK(err->available == 1);
}

/// One CGM record: size, flags, glucose, offset, the octets/trend/quality its flags announce,
/// and an E2E-CRC when `crc`.
frame make_record(std::uint8_t flags, std::uint16_t glucose, std::uint16_t offset, bool crc,
                  std::uint8_t status = 0, std::uint8_t cal = 0, std::uint8_t warn = 0) {
  frame f{0, flags};
  put16(f, glucose);
  put16(f, offset);
  if ((flags & 0x80) != 0) f.push_back(status);
  if ((flags & 0x40) != 0) f.push_back(cal);
  if ((flags & 0x20) != 0) f.push_back(warn);
  if ((flags & 0x01) != 0) put16(f, sfloat(-15, -1));  // -1.5 mg/dL/min
  if ((flags & 0x02) != 0) put16(f, sfloat(95, 0));    // 95 %
  f[0] = static_cast<std::uint8_t>(f.size() + (crc ? 2 : 0));
  if (crc) put16(f, crc16_mcrf4xx(f));
  return f;
}

frame concat(std::initializer_list<frame> parts) {
  frame out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

frame session_start_bytes(std::uint16_t year, std::uint8_t month, std::uint8_t day,
                          std::uint8_t hours, std::int8_t tz, std::uint8_t dst) {
  frame f;
  put16(f, year);
  for (const std::uint8_t b : {month, day, hours, std::uint8_t{0}, std::uint8_t{0}}) {
    f.push_back(b);
  }
  f.push_back(static_cast<std::uint8_t>(tz));
  f.push_back(dst);
  return f;
}

std::span<const std::uint8_t> ascii(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// IEEE 11073 SFLOAT / FLOAT

TEST_CASE("SFLOAT: exponent and mantissa are two's complement", "[gatt]") {
  CHECK(decode_sfloat(0x0062).value == 98.0);
  CHECK(decode_sfloat(0xF3D4).value == 98.0);  // 980 x 10^-1, exactly the decimal
  CHECK(decode_sfloat(0x0FFF).value == -1.0);
  CHECK(decode_sfloat(sfloat(-980, -1)).value == -98.0);
  CHECK(decode_sfloat(sfloat(-2048 + 3, 0)).value == -2045.0);
  CHECK(decode_sfloat(sfloat(2045, 0)).value == 2045.0);  // 2046/2047 are +INF/NaN
  CHECK(decode_sfloat(sfloat(123, -8)).value == 123e-8);  // the smallest exponent
  CHECK(decode_sfloat(sfloat(5, 7)).value == 5e7);        // the largest
  CHECK(decode_sfloat(sfloat(-5, -3)).value == -0.005);
  CHECK(decode_sfloat(sfloat(987, -2)).value == 9.87);
  CHECK(decode_sfloat(sfloat(0, -3)).value == 0.0);
  // The exponent nibble 0x8 is -8, not +8 (the wrong-sign reading gives 98 for 0x8062).
  CHECK(decode_sfloat(0x8062).value == 98e-8);
  CHECK(decode_sfloat(0x7062).value == 98e7);
  // The special mantissas at another exponent are ordinary numbers.
  CHECK(decode_sfloat(0x17FF).value == 20470.0);
  CHECK(decode_sfloat(0x1800).value == -20480.0);
  CHECK(decode_sfloat(0xF7FE).value == Approx(204.6));
}

TEST_CASE("SFLOAT: every raw value is a special or mantissa x 10^exponent", "[gatt]") {
  std::size_t specials = 0;
  std::size_t wrong = 0;
  for (std::uint32_t raw = 0; raw <= 0xFFFF; ++raw) {
    const auto m = decode_sfloat(static_cast<std::uint16_t>(raw));
    const bool is_special =
        raw == 0x07FF || raw == 0x0800 || raw == 0x07FE || raw == 0x0802 || raw == 0x0801;
    if (is_special) {
      ++specials;
      if (m.is_number() || !std::isnan(m.value)) ++wrong;
      continue;
    }
    const int exponent = static_cast<int>(raw >> 12) - ((raw & 0x8000) != 0 ? 16 : 0);
    const int mantissa = static_cast<int>(raw & 0x0FFF) - ((raw & 0x0800) != 0 ? 0x1000 : 0);
    const double want = mantissa * std::pow(10.0, exponent);
    if (!m.is_number() || std::abs(m.value - want) > 1e-12 * std::abs(want)) ++wrong;
  }
  CHECK(specials == 5);
  CHECK(wrong == 0);
}

TEST_CASE("SFLOAT: every special value is kept apart from numbers", "[gatt]") {
  const std::pair<std::uint16_t, special> specials[] = {{0x07FF, special::nan},
                                                        {0x0800, special::nres},
                                                        {0x07FE, special::pos_inf},
                                                        {0x0802, special::neg_inf},
                                                        {0x0801, special::reserved}};
  for (const auto& [raw, kind] : specials) {
    INFO("raw " << raw);
    const auto m = decode_sfloat(raw);
    CHECK(m.kind == kind);
    CHECK_FALSE(m.is_number());
    CHECK(std::isnan(m.value));
  }
  CHECK(to_string(special::nan) == "NaN");
  CHECK(to_string(special::nres) == "NRes");
  CHECK(to_string(special::pos_inf) == "+INF");
  CHECK(to_string(special::neg_inf) == "-INF");
  CHECK(to_string(special::reserved) == "RFU");
  CHECK(to_string(special::none).empty());
}

TEST_CASE("FLOAT: 8-bit signed exponent, 24-bit signed mantissa", "[gatt]") {
  CHECK(decode_float(0x00000062).value == 98.0);
  CHECK(decode_float(0xFE12D687).value == 12345.67);  // on the wire 87 d6 12 fe
  CHECK(decode_float(float32(980, -1)).value == 98.0);
  CHECK(decode_float(0x00FFFFFF).value == -1.0);
  CHECK(decode_float(float32(-1234567, -3)).value == -1234.567);
  CHECK(decode_float(0x02000003).value == 300.0);
  CHECK(decode_float(float32(8388605, 0)).value == 8388605.0);  // 8388606/7 are +INF/NaN
  CHECK(decode_float(float32(-8388608, 1)).value == -83886080.0);
  CHECK(decode_float(float32(1, -128)).value == Approx(1e-128).epsilon(1e-12));
  CHECK(decode_float(float32(1, 127)).value == Approx(1e127).epsilon(1e-12));
  CHECK(decode_float(float32(5, -20)).value == 5e-20);
  // The special mantissas at another exponent are ordinary numbers.
  CHECK(decode_float(0x017FFFFF).value == 83886070.0);
  CHECK(decode_float(0xFF800000).value == -838860.8);
}

TEST_CASE("FLOAT: every special value is kept apart from numbers", "[gatt]") {
  const std::pair<std::uint32_t, special> specials[] = {{0x007FFFFF, special::nan},
                                                        {0x00800000, special::nres},
                                                        {0x007FFFFE, special::pos_inf},
                                                        {0x00800002, special::neg_inf},
                                                        {0x00800001, special::reserved}};
  for (const auto& [raw, kind] : specials) {
    INFO("raw " << raw);
    const auto m = decode_float(raw);
    CHECK(m.kind == kind);
    CHECK_FALSE(m.is_number());
    CHECK(std::isnan(m.value));
  }
}

// ---------------------------------------------------------------------------------------------
// Heart Rate Measurement 0x2A37

TEST_CASE("Heart Rate Measurement: every flag combination", "[gatt]") {
  for (unsigned low = 0; low < 32; ++low) {
    for (const unsigned reserved : {0x00u, 0xE0u}) {  // reserved bits 5-7 are ignored
      const auto flags = static_cast<std::uint8_t>(low | reserved);
      INFO("flags " << unsigned{flags});
      const bool u16 = (flags & 0x01) != 0;
      built b;
      b.u8("flags", flags);
      if (u16) {
        b.u16("heart_rate", 301);
      } else {
        b.u8("heart_rate", 72);
      }
      if ((flags & 0x08) != 0) b.u16("energy_expended", 1234);
      if ((flags & 0x10) != 0) b.u16("rr_interval", 800);  // one interval: every cut is bad
      heart_rate_measurement h;
      REQUIRE_FALSE(decode(b.bytes, h));
      CHECK(h.flags == flags);
      CHECK(h.heart_rate_bpm == (u16 ? 301 : 72));
      CHECK(h.heart_rate_u16 == u16);
      const auto contact = (flags >> 1) & 3;
      CHECK(h.sensor_contact == (contact == 3   ? heart_rate_measurement::contact::in_contact
                                 : contact == 2 ? heart_rate_measurement::contact::no_contact
                                                : heart_rate_measurement::contact::not_supported));
      CHECK(h.energy_expended_kj.has_value() == ((flags & 0x08) != 0));
      if (h.energy_expended_kj) CHECK(*h.energy_expended_kj == 1234);
      if ((flags & 0x10) != 0) {
        REQUIRE(h.rr_count() == 1);
        CHECK(h.rr(0) == 800);
      } else {
        CHECK(h.rr_count() == 0);
        one_byte_more_is_trailing<heart_rate_measurement>(b.bytes);
      }
      every_cut_names_its_field<heart_rate_measurement>(b);
    }
  }
}

TEST_CASE("Heart Rate Measurement: RR intervals, oldest first, cut intervals", "[gatt]") {
  built b;
  b.u8("flags", 0x18).u8("heart_rate", 60).u16("energy_expended", 7);
  b.u16("rr_interval", 1).u16("rr_interval", 1024).u16("rr_interval", 65535);
  heart_rate_measurement h;
  REQUIRE_FALSE(decode(b.bytes, h));
  REQUIRE(h.rr_count() == 3);
  CHECK(h.rr(0) == 1);
  CHECK(h.rr(1) == 1024);
  CHECK(h.rr(2) == 65535);
  // Cut between intervals: fewer intervals, still a frame. Cut inside one: truncated there.
  for (std::size_t n = 6; n < b.bytes.size(); ++n) {
    INFO("cut at " << n);
    const auto err = decode(std::span(b.bytes.data(), n), h);
    if ((n - 4) % 2 == 0) {
      REQUIRE_FALSE(err);
      CHECK(h.rr_count() == (n - 4) / 2);
    } else {
      REQUIRE(err);
      CHECK(err->code == error_code::truncated);
      CHECK(err->field == "rr_interval");
      CHECK(err->offset == n - 1);
      CHECK(err->needed == 2);
      CHECK(err->available == 1);
    }
  }
  const frame odd{0x10, 72, 0x00, 0x04, 0x20};  // one RR interval and one stray byte
  const auto err = decode(odd, h);
  REQUIRE(err);
  CHECK(err->describe() == "truncated: field rr_interval at offset 4 needs 2 bytes, 1 left");
  // The flag announces RR intervals, none follows: the interval is missing.
  const auto none = decode(frame{0x10, 72}, h);
  REQUIRE(none);
  CHECK(none->code == error_code::truncated);
  CHECK(none->field == "rr_interval");
  CHECK(none->offset == 2);
}

TEST_CASE("Heart Rate Measurement: contact bit 1 without the support bit 2 means unsupported",
          "[gatt]") {
  heart_rate_measurement h;
  REQUIRE_FALSE(decode(frame{0x02, 80}, h));
  CHECK(h.sensor_contact == heart_rate_measurement::contact::not_supported);
  REQUIRE_FALSE(decode(frame{0x04, 80}, h));
  CHECK(h.sensor_contact == heart_rate_measurement::contact::no_contact);
  REQUIRE_FALSE(decode(frame{0x06, 80}, h));
  CHECK(h.sensor_contact == heart_rate_measurement::contact::in_contact);
}

// ---------------------------------------------------------------------------------------------
// PLX 0x2A5F / 0x2A5E

TEST_CASE("PLX Continuous: every flag combination", "[gatt]") {
  constexpr std::uint16_t ms = plx_ms_measurement_ongoing | plx_ms_questionable;
  constexpr std::uint32_t ds = plx_ds_low_perfusion | plx_ds_sensor_displaced | (1u << 23);
  for (unsigned low = 0; low < 32; ++low) {
    for (const unsigned reserved : {0x00u, 0xE0u}) {
      const auto flags = static_cast<std::uint8_t>(low | reserved);
      INFO("flags " << unsigned{flags});
      built b;
      b.u8("flags", flags).pair("spo2_pr_normal", sfloat(970, -1), sfloat(64, 0));
      if ((flags & 0x01) != 0) b.pair("spo2_pr_fast", sfloat(96, 0), sfloat(66, 0));
      if ((flags & 0x02) != 0) b.pair("spo2_pr_slow", sfloat(98, 0), sfloat(-62, 0));
      if ((flags & 0x04) != 0) b.u16("measurement_status", ms);
      if ((flags & 0x08) != 0) b.u24("device_sensor_status", ds);
      if ((flags & 0x10) != 0) b.u16("pulse_amplitude_index", sfloat(87, -1));
      plx_continuous p;
      REQUIRE_FALSE(decode(b.bytes, p));
      CHECK(p.flags == flags);
      CHECK(p.normal.spo2_pct.value == 97.0);
      CHECK(p.normal.pulse_rate_bpm.value == 64.0);
      REQUIRE(p.fast.has_value() == ((flags & 0x01) != 0));
      if (p.fast) {
        CHECK(p.fast->spo2_pct.value == 96.0);
        CHECK(p.fast->pulse_rate_bpm.value == 66.0);
      }
      REQUIRE(p.slow.has_value() == ((flags & 0x02) != 0));
      if (p.slow) {
        CHECK(p.slow->spo2_pct.value == 98.0);
        CHECK(p.slow->pulse_rate_bpm.value == -62.0);
      }
      REQUIRE(p.measurement_status.has_value() == ((flags & 0x04) != 0));
      if (p.measurement_status) CHECK(*p.measurement_status == ms);
      REQUIRE(p.device_sensor_status.has_value() == ((flags & 0x08) != 0));
      if (p.device_sensor_status) CHECK(*p.device_sensor_status == ds);
      REQUIRE(p.pulse_amplitude_index_pct.has_value() == ((flags & 0x10) != 0));
      if (p.pulse_amplitude_index_pct) CHECK(p.pulse_amplitude_index_pct->value == 8.7);
      every_cut_names_its_field<plx_continuous>(b);
      one_byte_more_is_trailing<plx_continuous>(b.bytes);
    }
  }
}

TEST_CASE("PLX Spot-Check: every flag combination, timestamp and device clock not set", "[gatt]") {
  for (unsigned low = 0; low < 32; ++low) {
    for (const unsigned reserved : {0x00u, 0xE0u}) {
      const auto flags = static_cast<std::uint8_t>(low | reserved);
      INFO("flags " << unsigned{flags});
      built b;
      b.u8("flags", flags).pair("spo2_pr", sfloat(95, 0), sfloat(700, -1));
      if ((flags & 0x01) != 0) b.add("timestamp", frame{0xEA, 0x07, 11, 28, 3, 55, 7});
      if ((flags & 0x02) != 0) b.u16("measurement_status", plx_ms_validated);
      if ((flags & 0x04) != 0) b.u24("device_sensor_status", plx_ds_sensor_unconnected);
      if ((flags & 0x08) != 0) b.u16("pulse_amplitude_index", sfloat(12, -1));
      plx_spot_check p;
      REQUIRE_FALSE(decode(b.bytes, p));
      CHECK(p.flags == flags);
      CHECK(p.reading.spo2_pct.value == 95.0);
      CHECK(p.reading.pulse_rate_bpm.value == 70.0);
      REQUIRE(p.timestamp.has_value() == ((flags & 0x01) != 0));
      if (p.timestamp) {
        CHECK(p.timestamp->year == 2026);
        CHECK(p.timestamp->month == 11);
        CHECK(p.timestamp->day == 28);
        CHECK(p.timestamp->hours == 3);
        CHECK(p.timestamp->minutes == 55);
        CHECK(p.timestamp->seconds == 7);
      }
      REQUIRE(p.measurement_status.has_value() == ((flags & 0x02) != 0));
      if (p.measurement_status) CHECK(*p.measurement_status == plx_ms_validated);
      REQUIRE(p.device_sensor_status.has_value() == ((flags & 0x04) != 0));
      if (p.device_sensor_status) CHECK(*p.device_sensor_status == plx_ds_sensor_unconnected);
      REQUIRE(p.pulse_amplitude_index_pct.has_value() == ((flags & 0x08) != 0));
      if (p.pulse_amplitude_index_pct) CHECK(p.pulse_amplitude_index_pct->value == 1.2);
      // Bit 4 is "device clock not set", not a field: it adds no bytes.
      CHECK(p.device_clock_not_set == ((flags & 0x10) != 0));
      every_cut_names_its_field<plx_spot_check>(b);
      one_byte_more_is_trailing<plx_spot_check>(b.bytes);
    }
  }
}

TEST_CASE("PLX: special SFLOATs in the reading are decoded, not rejected", "[gatt]") {
  plx_continuous p;
  frame f{0x00};
  put16(f, 0x07FF);  // SpO2 NaN
  put16(f, 0x0800);  // pulse rate NRes
  REQUIRE_FALSE(decode(f, p));
  CHECK(p.normal.spo2_pct.kind == special::nan);
  CHECK(p.normal.pulse_rate_bpm.kind == special::nres);
}

// ---------------------------------------------------------------------------------------------
// CRC and CGM Measurement 0x2AA7

TEST_CASE("CRC-16/MCRF4XX: the catalogue check value and a CGM record", "[gatt]") {
  CHECK(crc16_mcrf4xx(ascii("123456789")) == 0x6F91);
  CHECK(crc16_mcrf4xx({}) == 0xFFFF);  // seed, no xor-out
  // 08 00 0c10 0600: the CRC a CGM record of 120 mg/dL at 6 min must carry (vector 2AA7-004).
  const frame record{0x08, 0x00, 0x0C, 0x10, 0x06, 0x00};
  CHECK(crc16_mcrf4xx(record) == 0x6F59);
}

TEST_CASE("CGM Measurement: one record of every flag combination", "[gatt]") {
  for (const std::uint8_t flags :
       {0x00, 0x01, 0x02, 0x03, 0x20, 0x40, 0x80, 0x60, 0xA0, 0xC0, 0xE0, 0xE3, 0xA1, 0x42, 0x1C}) {
    for (const bool crc : {false, true}) {
      INFO("flags " << unsigned{flags} << " crc " << crc);
      const auto f = make_record(flags, sfloat(1234, -1), 77, crc, 0x01, 0x04, 0x80);
      cgm_measurement m;
      REQUIRE_FALSE(decode(f, m));
      REQUIRE(m.count == 1);
      const auto& r = m.records[0];
      CHECK(r.offset == 0);
      CHECK(r.size == f.size());
      CHECK(r.flags == flags);
      CHECK(r.glucose_mg_dl.value == 123.4);
      CHECK(r.time_offset_min == 77);
      CHECK(r.status_octet.has_value() == ((flags & 0x80) != 0));
      CHECK(r.cal_temp_octet.has_value() == ((flags & 0x40) != 0));
      CHECK(r.warning_octet.has_value() == ((flags & 0x20) != 0));
      std::uint32_t annunciation = 0;
      if ((flags & 0x80) != 0) annunciation |= cgm_session_stopped;
      if ((flags & 0x40) != 0) annunciation |= cgm_calibration_recommended;
      if ((flags & 0x20) != 0) annunciation |= cgm_above_device_range;
      CHECK(r.annunciation == annunciation);
      CHECK(r.trend_mg_dl_min.has_value() == ((flags & 0x01) != 0));
      if (r.trend_mg_dl_min) CHECK(r.trend_mg_dl_min->value == -1.5);
      CHECK(r.quality_pct.has_value() == ((flags & 0x02) != 0));
      if (r.quality_pct) CHECK(r.quality_pct->value == 95.0);
      CHECK(r.e2e_crc.has_value() == crc);
      CHECK(r.crc_ok);
      // Every cut inside the record: its size byte asks for more than there is.
      for (std::size_t n = 1; n < f.size(); ++n) {
        INFO("cut at " << n);
        const auto err = decode(std::span(f.data(), n), m);
        REQUIRE(err);
        CHECK(err->code == error_code::truncated);
        CHECK(err->field == "record[0]");
        CHECK(err->offset == 0);
        CHECK(err->needed == f.size());
        CHECK(err->available == n);
      }
      const auto empty = decode(std::span(f.data(), 0), m);
      REQUIRE(empty);
      CHECK(empty->code == error_code::empty);
    }
  }
}

TEST_CASE("CGM Measurement: the annunciation octets present land at their own positions",
          "[gatt]") {
  struct octet_case {
    std::uint8_t flags;
    frame octets;  // on the wire, after the time offset
    std::uint32_t annunciation;
  };
  const octet_case cases[] = {
      {0x80, {0x02}, cgm_battery_low},
      {0x40, {0x08}, cgm_calibration_required},
      {0x20, {0x40}, cgm_below_device_range},
      {0xC0, {0x01, 0x10}, cgm_session_stopped | cgm_temperature_too_high},
      {0xA0, {0x20, 0x80}, cgm_general_device_fault | cgm_above_device_range},
      {0x60, {0x01, 0x04}, cgm_time_sync_required | cgm_below_hypo},
      {0xE0,
       {0x02, 0x14, 0xFF},
       cgm_battery_low | cgm_temperature_too_high | cgm_calibration_recommended | 0xFF0000u},
  };
  for (const auto& c : cases) {
    INFO("flags " << unsigned{c.flags});
    frame f{0, c.flags, 0x78, 0x00, 0x05, 0x00};
    f.insert(f.end(), c.octets.begin(), c.octets.end());
    f[0] = static_cast<std::uint8_t>(f.size());
    cgm_measurement m;
    REQUIRE_FALSE(decode(f, m));
    REQUIRE(m.count == 1);
    CHECK(m.records[0].annunciation == c.annunciation);
    CHECK(m.records[0].glucose_mg_dl.value == 120.0);
  }
}

TEST_CASE("CGM Measurement: two and three records back to back, mixed flags", "[gatt]") {
  const frame first = make_record(0x00, sfloat(120, 0), 5, false);
  const frame second = make_record(0xE3, sfloat(654, -1), 10, false, 0x02, 0x08, 0x04);
  const frame third = make_record(0x20, sfloat(55, 0), 15, false, 0, 0, 0x40);
  cgm_measurement m;

  const auto two = concat({second, first});
  REQUIRE_FALSE(decode(two, m));
  REQUIRE(m.count == 2);
  CHECK(m.records[0].offset == 0);
  CHECK(m.records[0].glucose_mg_dl.value == 65.4);
  CHECK(m.records[1].offset == second.size());
  CHECK(m.records[1].glucose_mg_dl.value == 120.0);
  CHECK(m.view().size() == 2);

  const auto three = concat({first, second, third});
  REQUIRE_FALSE(decode(three, m));
  REQUIRE(m.count == 3);
  CHECK(m.records[0].glucose_mg_dl.value == 120.0);
  CHECK(m.records[0].time_offset_min == 5);
  CHECK_FALSE(m.records[0].e2e_crc);
  CHECK(m.records[1].glucose_mg_dl.value == 65.4);
  CHECK(m.records[1].offset == 6);
  CHECK(m.records[1].status_octet == 0x02);
  CHECK(m.records[1].cal_temp_octet == 0x08);
  CHECK(m.records[1].warning_octet == 0x04);
  CHECK(m.records[1].annunciation == (cgm_battery_low | cgm_calibration_required | cgm_below_hypo));
  CHECK(m.records[1].trend_mg_dl_min->value == -1.5);
  CHECK(m.records[1].quality_pct->value == 95.0);
  CHECK(m.records[2].offset == 6 + second.size());
  CHECK(m.records[2].time_offset_min == 15);
  CHECK(m.records[2].annunciation == cgm_below_device_range);

  // Every cut: at a record boundary the records before it, inside a record a truncated error
  // naming that record and its offset.
  const std::size_t starts[] = {0, first.size(), first.size() + second.size()};
  for (std::size_t n = 1; n < three.size(); ++n) {
    INFO("cut at " << n);
    std::size_t index = 0;
    while (index + 1 < std::size(starts) && starts[index + 1] <= n) ++index;
    const auto err = decode(std::span(three.data(), n), m);
    if (starts[index] == n) {
      REQUIRE_FALSE(err);
      CHECK(m.count == index);
    } else {
      REQUIRE(err);
      CHECK(err->code == error_code::truncated);
      CHECK(err->field == "record[" + std::to_string(index) + "]");
      CHECK(err->offset == starts[index]);
      CHECK(err->available == n - starts[index]);
    }
  }
}

TEST_CASE("CGM Measurement: E2E-CRC pass and fail per record, crc_mode", "[gatt]") {
  const frame good = make_record(0x03, sfloat(101, 0), 20, true);
  cgm_measurement m;
  REQUIRE_FALSE(decode(good, m));
  REQUIRE(m.count == 1);
  REQUIRE(m.records[0].e2e_crc);
  CHECK(*m.records[0].e2e_crc == crc16_mcrf4xx(std::span(good.data(), good.size() - 2)));
  CHECK(m.records[0].crc_ok);

  // A bit changed in transit: still decoded (the caller counts and drops it), crc_ok false.
  frame bad = good;
  bad[2] ^= 0x01;
  REQUIRE_FALSE(decode(bad, m));
  REQUIRE(m.count == 1);
  CHECK_FALSE(m.records[0].crc_ok);
  frame bad_crc = good;
  bad_crc.back() ^= 0x80;
  REQUIRE_FALSE(decode(bad_crc, m));
  CHECK_FALSE(m.records[0].crc_ok);

  // Good and bad records in one notification keep their own verdict.
  const auto mixed = concat({good, bad, make_record(0xE0, sfloat(80, 0), 25, true, 1, 2, 4)});
  REQUIRE_FALSE(decode(mixed, m));
  REQUIRE(m.count == 3);
  CHECK(m.records[0].crc_ok);
  CHECK_FALSE(m.records[1].crc_ok);
  CHECK(m.records[2].crc_ok);

  // The device's CGM Feature says every record carries a CRC / none does.
  CHECK_FALSE(decode(good, m, crc_mode::required));
  CHECK(m.records[0].crc_ok);
  const auto plain = make_record(0x00, sfloat(99, 0), 1, false);
  REQUIRE_FALSE(decode(plain, m, crc_mode::absent));
  CHECK_FALSE(m.records[0].e2e_crc);
  auto e = decode(plain, m, crc_mode::required);
  REQUIRE(e);
  CHECK(e->code == error_code::size_mismatch);
  CHECK(e->field == "record[0].size");
  CHECK(e->needed == 8);
  CHECK(e->available == 6);
  e = decode(good, m, crc_mode::absent);
  REQUIRE(e);
  CHECK(e->code == error_code::size_mismatch);
  CHECK(e->needed == 10);
  CHECK(e->available == 12);
  CHECK(e->describe() ==
        "size_mismatch: field record[0].size at offset 0: size byte says 12, the flags imply 10");
  // The second record of a notification without its CRC when required.
  e = decode(concat({good, plain}), m, crc_mode::required);
  REQUIRE(e);
  CHECK(e->field == "record[1].size");
  CHECK(e->offset == good.size());
}

TEST_CASE("CGM Measurement: bad size bytes name the record and its offset", "[gatt]") {
  cgm_measurement m;
  const frame f = make_record(0x00, sfloat(120, 0), 5, false);

  // A second record whose size byte is below 6.
  auto e = decode(concat({f, frame{4, 0, 0, 0}}), m);
  REQUIRE(e);
  CHECK(e->code == error_code::record_too_short);
  CHECK(e->field == "record[1].size");
  CHECK(e->offset == 6);
  CHECK(e->available == 4);
  // One stray byte after the last record is a record too short.
  e = decode(concat({f, frame{0}}), m);
  REQUIRE(e);
  CHECK(e->code == error_code::record_too_short);
  CHECK(e->offset == 6);
  // A size byte larger than what is left.
  e = decode(concat({f, frame{9, 0x00, 0x78, 0x00}}), m);
  REQUIRE(e);
  CHECK(e->code == error_code::truncated);
  CHECK(e->field == "record[1]");
  CHECK(e->offset == 6);
  CHECK(e->needed == 9);
  CHECK(e->available == 4);
  CHECK(e->describe() == "truncated: field record[1] at offset 6 needs 9 bytes, 4 left");

  // Size bytes other than the implied length (+2 for a CRC).
  for (std::uint8_t size = 6; size < 20; ++size) {
    frame wrong = make_record(0xE3, sfloat(120, 0), 5, false);  // implies 13
    wrong[0] = size;
    wrong.resize(size, 0);
    INFO("size byte " << unsigned{size});
    e = decode(wrong, m);
    if (size == 13 || size == 15) {
      CHECK_FALSE(e);
      continue;
    }
    REQUIRE(e);
    CHECK(e->code == error_code::size_mismatch);
    CHECK(e->field == "record[0].size");
    CHECK(e->offset == 0);
    CHECK(e->needed == 13);
    CHECK(e->available == size);
  }

  CHECK(decode(frame{}, m)->code == error_code::empty);
  // 85 minimal records fit; 86 is one too many.
  frame many;
  for (int i = 0; i < 86; ++i) {
    const auto r = make_record(0x00, sfloat(100, 0), static_cast<std::uint16_t>(i), false);
    many.insert(many.end(), r.begin(), r.end());
  }
  REQUIRE_FALSE(decode(std::span(many.data(), 85 * 6), m));
  CHECK(m.count == max_cgm_records);
  CHECK(m.records[84].time_offset_min == 84);
  e = decode(many, m);
  REQUIRE(e);
  CHECK(e->code == error_code::too_many_records);
  CHECK(e->field == "record[85].size");
  CHECK(e->offset == 85 * 6);
}

// ---------------------------------------------------------------------------------------------
// CGM Session Start Time 0x2AAA

TEST_CASE("CGM Session Start Time: 9 bytes, or 11 with an E2E-CRC", "[gatt]") {
  const frame plain = session_start_bytes(2026, 11, 28, 1, 4, 2);  // UTC+1, DST +30 min
  cgm_session_start_time s;
  REQUIRE_FALSE(decode(plain, s));
  CHECK(s.start.year == 2026);
  CHECK(s.start.month == 11);
  CHECK(s.start.day == 28);
  CHECK(s.start.hours == 1);
  CHECK(s.time_zone_quarters == 4);
  CHECK(s.dst_offset == 2);
  CHECK_FALSE(s.e2e_crc);
  CHECK(s.crc_ok);

  built b;
  b.add("session_start_time", frame(plain.begin(), plain.begin() + 7));
  b.u8("time_zone", plain[7]).u8("dst_offset", plain[8]);
  b.u16("e2e_crc", crc16_mcrf4xx(plain));
  REQUIRE_FALSE(decode(b.bytes, s));
  REQUIRE(s.e2e_crc);
  CHECK(s.crc_ok);
  // Every cut but the one without the CRC (9 bytes) names its field.
  for (std::size_t n = 0; n < b.bytes.size(); ++n) {
    if (n == 9) continue;
    built cut = b;
    cut.bytes.resize(n);
    INFO("cut at " << n);
    const auto err = decode(cut.bytes, s);
    REQUIRE(err);
    if (n == 0) {
      CHECK(err->code == error_code::empty);
      continue;
    }
    CHECK(err->code == error_code::truncated);
    const char* field = n < 7   ? "session_start_time"
                        : n < 8 ? "time_zone"
                        : n < 9 ? "dst_offset"
                                : "e2e_crc";
    CHECK(err->field == field);
  }
  frame wrong_crc = b.bytes;
  wrong_crc[0] ^= 0x01;
  REQUIRE_FALSE(decode(wrong_crc, s));
  CHECK_FALSE(s.crc_ok);
  one_byte_more_is_trailing<cgm_session_start_time>(b.bytes);

  const frame unknown = session_start_bytes(2026, 11, 28, 1, -128, 255);
  REQUIRE_FALSE(decode(unknown, s));
  CHECK(s.time_zone_quarters == -128);
  CHECK(s.dst_offset == 255);
}

// ---------------------------------------------------------------------------------------------
// Dispatch, names, hex

TEST_CASE("decode by characteristic fills the matching alternative", "[gatt]") {
  decoded_frame f;
  REQUIRE_FALSE(decode(characteristic::heart_rate_measurement, frame{0x00, 85}, f));
  REQUIRE(std::holds_alternative<heart_rate_measurement>(f));
  CHECK(std::get<heart_rate_measurement>(f).heart_rate_bpm == 85);
  REQUIRE_FALSE(decode(characteristic::plx_continuous, frame{0x00, 0x62, 0x00, 0x48, 0x00}, f));
  REQUIRE(std::holds_alternative<plx_continuous>(f));
  CHECK(std::get<plx_continuous>(f).normal.pulse_rate_bpm.value == 72.0);
  REQUIRE_FALSE(decode(characteristic::plx_spot_check, frame{0x00, 0x62, 0x00, 0x48, 0x00}, f));
  REQUIRE(std::holds_alternative<plx_spot_check>(f));
  const auto plain = make_record(0x00, sfloat(99, 0), 1, false);
  CHECK(decode(characteristic::cgm_measurement, plain, f, crc_mode::required).has_value());
  REQUIRE_FALSE(decode(characteristic::cgm_measurement, plain, f));
  REQUIRE(std::holds_alternative<cgm_measurement>(f));
  CHECK(std::get<cgm_measurement>(f).count == 1);
  REQUIRE_FALSE(
      decode(characteristic::cgm_session_start_time, session_start_bytes(2026, 1, 1, 0, 0, 0), f));
  REQUIRE(std::holds_alternative<cgm_session_start_time>(f));
}

TEST_CASE("characteristic names and UUIDs round-trip", "[gatt]") {
  const std::pair<characteristic, std::uint16_t> all[] = {
      {characteristic::heart_rate_measurement, 0x2A37},
      {characteristic::plx_spot_check, 0x2A5E},
      {characteristic::plx_continuous, 0x2A5F},
      {characteristic::cgm_measurement, 0x2AA7},
      {characteristic::cgm_session_start_time, 0x2AAA}};
  for (const auto& [c, uuid] : all) {
    INFO(to_string(c));
    CHECK(uuid16(c) == uuid);
    CHECK(parse_characteristic(to_string(c)) == c);
    char text[8];
    std::snprintf(text, sizeof text, "%04x", uuid);
    CHECK(parse_characteristic(text) == c);
    CHECK(parse_characteristic("0x" + std::string(text)) == c);
    CHECK(parse_characteristic("0000" + std::string(text) + "-0000-1000-8000-00805f9b34fb") == c);
  }
  CHECK(to_string(characteristic::plx_continuous) == "plx_continuous");
  CHECK(parse_characteristic("2A37") == characteristic::heart_rate_measurement);
  CHECK(parse_characteristic("0X2A5F") == characteristic::plx_continuous);
  CHECK(parse_characteristic("00002AA7-0000-1000-8000-00805F9B34FB") ==
        characteristic::cgm_measurement);
  CHECK(parse_characteristic("hr") == characteristic::heart_rate_measurement);
  CHECK(parse_characteristic("plx-spot") == characteristic::plx_spot_check);
  CHECK(parse_characteristic("plx-cont") == characteristic::plx_continuous);
  CHECK(parse_characteristic("cgm") == characteristic::cgm_measurement);
  CHECK(parse_characteristic("cgm-session-start") == characteristic::cgm_session_start_time);
  CHECK_FALSE(parse_characteristic("2a38"));
  CHECK_FALSE(parse_characteristic("2a3"));
  CHECK_FALSE(parse_characteristic("2a37 "));
  CHECK_FALSE(parse_characteristic("0x2g37"));
  CHECK_FALSE(parse_characteristic("00002a37-0000-1000-8000-00805f9b34fc"));
  CHECK_FALSE(parse_characteristic("00012a37-0000-1000-8000-00805f9b34fb"));
  CHECK_FALSE(parse_characteristic("heart"));
  CHECK_FALSE(parse_characteristic(""));
}

TEST_CASE("hex input: separators, either case, malformed and too long", "[gatt]") {
  std::uint8_t buf[4];
  std::size_t n = 0;
  REQUIRE_FALSE(parse_hex("0655", buf, n));
  CHECK(n == 2);
  CHECK(buf[0] == 0x06);
  CHECK(buf[1] == 0x55);
  REQUIRE_FALSE(parse_hex("06:55", buf, n));
  CHECK(n == 2);
  REQUIRE_FALSE(parse_hex("0A 0b fF", buf, n));
  CHECK(n == 3);
  CHECK(buf[0] == 0x0A);
  CHECK(buf[1] == 0x0B);
  CHECK(buf[2] == 0xFF);
  REQUIRE_FALSE(parse_hex("01020304", buf, n));  // exactly fits
  CHECK(n == 4);
  REQUIRE_FALSE(parse_hex("", buf, n));
  CHECK(n == 0);
  auto e = parse_hex("065", buf, n);
  REQUIRE(e);
  CHECK(e->code == error_code::bad_hex);
  CHECK(e->offset == 3);
  CHECK(parse_hex("0g", buf, n)->offset == 1);
  CHECK(parse_hex("x0", buf, n)->offset == 0);
  CHECK(parse_hex("0 6", buf, n)->offset == 1);
  e = parse_hex("0102030405", buf, n);
  REQUIRE(e);
  CHECK(e->code == error_code::bad_hex);
  CHECK(e->offset == 8);
}

TEST_CASE("error codes and descriptions name the field and offset, never a value", "[gatt]") {
  CHECK(to_string(error_code::empty) == "empty");
  CHECK(to_string(error_code::truncated) == "truncated");
  CHECK(to_string(error_code::trailing_bytes) == "trailing_bytes");
  CHECK(to_string(error_code::size_mismatch) == "size_mismatch");
  CHECK(to_string(error_code::record_too_short) == "record_too_short");
  CHECK(to_string(error_code::too_many_records) == "too_many_records");
  CHECK(to_string(error_code::bad_hex) == "bad_hex");
  heart_rate_measurement h;
  auto e = decode(frame{}, h);
  REQUIRE(e);
  CHECK(e->code == error_code::empty);
  CHECK(e->field == "flags");
  CHECK(e->describe() == "empty: field flags at offset 0: no bytes");
  e = decode(frame{0x01, 0x48}, h);  // u16 heart rate, one byte
  REQUIRE(e);
  CHECK(e->describe() == "truncated: field heart_rate at offset 1 needs 2 bytes, 1 left");
  e = decode(frame{0x00, 0x48, 0x99, 0x98}, h);
  REQUIRE(e);
  CHECK(e->describe() ==
        "trailing_bytes: field end at offset 2: 2 bytes after the last field the flags announce");
  CHECK(e->describe().find("72") == std::string::npos);  // the heart rate is not in the text
}

TEST_CASE("bit names: one bit each, no bit or name twice, every status bit named", "[gatt]") {
  const auto check_table = [](std::span<const bit_name> table) {
    std::uint32_t seen = 0;
    std::set<std::string_view> names;
    for (const auto& b : table) {
      INFO(b.name);
      CHECK(std::has_single_bit(b.mask));
      CHECK((seen & b.mask) == 0);
      CHECK(names.insert(b.name).second);
      CHECK_FALSE(b.name.empty());
      seen |= b.mask;
    }
    return seen;
  };
  // PLX: 11 measurement status bits (5..15), 16 device and sensor status bits (0..15).
  CHECK(check_table(plx_measurement_status_names()) == 0xFFE0u);
  CHECK(check_table(plx_device_status_names()) == 0xFFFFu);
  // CGM annunciation: status octet bits 0-5, cal/temp bits 8-13, warning bits 16-23.
  CHECK(check_table(cgm_annunciation_names()) == 0xFF3F3Fu);
  CHECK(check_table(flag_names(characteristic::heart_rate_measurement)) == 0x1Fu);
  CHECK(check_table(flag_names(characteristic::plx_continuous)) == 0x1Fu);
  CHECK(check_table(flag_names(characteristic::plx_spot_check)) == 0x1Fu);
  CHECK(check_table(flag_names(characteristic::cgm_measurement)) == 0xE3u);
  CHECK(flag_names(characteristic::cgm_session_start_time).empty());
}

}  // namespace gatt_test
