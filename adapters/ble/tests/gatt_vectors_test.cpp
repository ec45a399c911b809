// Every vector of tests/data/gatt_vectors.json (other projects' GATT test vectors, see
// tests/data/README.md): a conformant decoder must decode each to its `expected` fields, reject
// the ones marked invalid, and not reproduce the wrong expectation a non-conformant source
// asserts (quoted in its `notes`).
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <vitals/adapters/ble/gatt.hpp>

using namespace vitals::adapters::ble;
using json = nlohmann::json;

// A namespace of its own: the sanitizer presets are unity builds (tests/README.md).
namespace gatt_vectors_test {
namespace {

/// What one vector got wrong, field by field; empty when it passed.
class mismatches {
 public:
  void add(const std::string& field, const json& expected, const std::string& got) {
    list_.push_back(field + ": expected " + expected.dump() + ", got " + got);
  }
  void fail(const std::string& text) { list_.push_back(text); }
  bool empty() const { return list_.empty(); }
  std::string text() const {
    std::ostringstream out;
    for (const auto& m : list_) out << "\n  " << m;
    return out.str();
  }

 private:
  std::vector<std::string> list_;
};

std::string show(const medfloat& m) {
  if (!m.is_number()) return std::string(to_string(m.kind));
  std::ostringstream out;
  out.precision(17);
  out << m.value;
  return out.str();
}

/// A number or special against an expectation: a number (within 1e-9 relative), a special's
/// name ("NaN", "NRes", "+INF", "-INF", "RFU"), or null meaning absent.
void match_value(mismatches& m, const std::string& field, const json& expected,
                 const std::optional<medfloat>& got) {
  if (expected.is_null()) {
    if (got) m.add(field, expected, show(*got));
    return;
  }
  if (!got) return m.add(field, expected, "absent");
  if (expected.is_string()) {
    if (got->is_number() || to_string(got->kind) != expected.get<std::string>()) {
      m.add(field, expected, show(*got));
    }
    return;
  }
  const double want = expected.get<double>();
  if (!got->is_number() || std::abs(got->value - want) > 1e-9 * std::max(1.0, std::abs(want))) {
    m.add(field, expected, show(*got));
  }
}

/// An integer field against an expectation (null meaning absent); skipped when not expected.
void match_int(mismatches& m, const json& exp, const char* key, std::optional<std::uint64_t> got) {
  if (!exp.contains(key)) return;
  const auto& e = exp.at(key);
  if (e.is_null()) {
    if (got) m.add(key, e, std::to_string(*got));
  } else if (!got || *got != e.get<std::uint64_t>()) {
    m.add(key, e, got ? std::to_string(*got) : "absent");
  }
}

template <class T>
std::optional<std::uint64_t> widen(const std::optional<T>& v) {
  return v ? std::optional<std::uint64_t>(*v) : std::nullopt;
}

void match_pair(mismatches& m, const json& exp, const std::optional<spo2_pr>& p,
                const std::string& suffix) {
  const auto spo2 = "spo2" + suffix + "_pct";
  const auto pr = "pulse_rate" + suffix + "_bpm";
  if (exp.contains(spo2)) {
    match_value(m, spo2, exp.at(spo2), p ? std::optional(p->spo2_pct) : std::nullopt);
  }
  if (exp.contains(pr)) {
    match_value(m, pr, exp.at(pr), p ? std::optional(p->pulse_rate_bpm) : std::nullopt);
  }
}

std::string date_text(const date_time& t) {
  char text[40];
  std::snprintf(text, sizeof text, "%04u-%02u-%02uT%02u:%02u:%02u", unsigned{t.year},
                unsigned{t.month}, unsigned{t.day}, unsigned{t.hours}, unsigned{t.minutes},
                unsigned{t.seconds});
  return text;
}

void check_heart_rate(mismatches& m, const json& exp, const heart_rate_measurement& h) {
  match_int(m, exp, "heart_rate_bpm", h.heart_rate_bpm);
  // true: in contact; false: supported but no contact; null: contact not supported.
  const auto& contact = exp.at("sensor_contact_detected");
  const json got = h.sensor_contact == heart_rate_measurement::contact::not_supported
                       ? json(nullptr)
                       : json(h.sensor_contact == heart_rate_measurement::contact::in_contact);
  if (got != contact) m.add("sensor_contact_detected", contact, got.dump());
  match_int(m, exp, "energy_expended_kJ", widen(h.energy_expended_kj));
  const auto& rr = exp.at("rr_intervals_1_1024s");
  json got_rr = nullptr;
  if (h.rr_count() != 0) {
    got_rr = json::array();
    for (std::size_t i = 0; i < h.rr_count(); ++i) got_rr.push_back(h.rr(i));
  }
  if (got_rr != rr) m.add("rr_intervals_1_1024s", rr, got_rr.dump());
}

template <class Plx>
void check_plx_status(mismatches& m, const json& exp, const Plx& p) {
  match_int(m, exp, "flags", p.flags);
  match_int(m, exp, "measurement_status", widen(p.measurement_status));
  match_int(m, exp, "device_sensor_status", widen(p.device_sensor_status));
  if (exp.contains("pulse_amplitude_index_pct")) {
    match_value(m, "pulse_amplitude_index_pct", exp.at("pulse_amplitude_index_pct"),
                p.pulse_amplitude_index_pct);
  }
}

void check_cgm(mismatches& m, const json& exp, const cgm_measurement& c) {
  const auto& records = exp.at("records");
  if (c.count != records.size()) {
    return m.add("records", json(records.size()), std::to_string(c.count) + " records");
  }
  for (std::size_t i = 0; i < c.count; ++i) {
    const auto& e = records[i];
    const auto& r = c.records[i];
    mismatches rm;
    match_int(rm, e, "size", r.size);
    match_int(rm, e, "flags", r.flags);
    match_value(rm, "glucose_mg_dl", e.at("glucose_mg_dl"), r.glucose_mg_dl);
    match_int(rm, e, "time_offset_min", r.time_offset_min);
    match_int(rm, e, "status_octet", widen(r.status_octet));
    match_int(rm, e, "cal_temp_octet", widen(r.cal_temp_octet));
    match_int(rm, e, "warning_octet", widen(r.warning_octet));
    if (e.contains("trend_mg_dl_min")) {
      match_value(rm, "trend_mg_dl_min", e.at("trend_mg_dl_min"), r.trend_mg_dl_min);
    }
    if (e.contains("quality_pct"))
      match_value(rm, "quality_pct", e.at("quality_pct"), r.quality_pct);
    if (e.contains("e2e_crc")) {
      match_int(rm, e, "e2e_crc", widen(r.e2e_crc));
      if (r.crc_ok != e.at("crc_ok").get<bool>()) rm.add("crc_ok", e.at("crc_ok"), "the other");
    } else if (r.e2e_crc) {
      rm.fail("e2e_crc: none expected, one decoded");
    }
    if (!rm.empty()) m.fail("record " + std::to_string(i) + ":" + rm.text());
  }
}

/// The numbers of the wrong expectation a non-conformant source asserts, from its notes:
/// "Test's own expectation: spo2=98.0, pulse=72.0", "98/72, fast 97/75", "1.0". Hex status codes
/// such as "VALIDATED_DATA(0x0080)" are not values and are skipped.
std::vector<double> wrong_numbers(const std::string& notes) {
  static const std::string marker = "Test's own expectation:";
  const auto at = notes.find(marker);
  if (at == std::string::npos) return {};
  const std::string tail = notes.substr(at + marker.size());
  static const std::regex number(R"((^|[\s=/,])(-?\d+(?:\.\d+)?)(?=$|[\s,/]))");
  std::vector<double> out;
  for (std::sregex_iterator it(tail.begin(), tail.end(), number), end; it != end; ++it) {
    out.push_back(std::stod((*it)[2].str()));
  }
  return out;
}

}  // namespace

TEST_CASE("wrong expectations are read from a vector's notes", "[gatt][vectors]") {
  CHECK(wrong_numbers("... Test's own expectation: spo2=98.0, pulse=72.0") ==
        std::vector<double>{98.0, 72.0});
  CHECK(wrong_numbers("x. Test's own expectation: 98/72, slow 99/70") ==
        std::vector<double>{98.0, 72.0, 99.0, 70.0});
  CHECK(wrong_numbers(
            "Test's own expectation: spo2=95.0, pulse=60.0, status=VALIDATED_DATA(0x0080)") ==
        std::vector<double>{95.0, 60.0});
  CHECK(wrong_numbers("Test's own expectation: -1.0") == std::vector<double>{-1.0});
  CHECK(wrong_numbers("no quote here").empty());
}

TEST_CASE("every shared GATT vector decodes as a conformant decoder must", "[gatt][vectors]") {
  std::ifstream in(std::string(VITALS_TEST_DATA_DIR) + "/gatt_vectors.json");
  REQUIRE(in);
  const auto doc = json::parse(in);
  const auto& vectors = doc.at("vectors");
  std::size_t checked = 0, passed = 0, invalid = 0, negative = 0;
  for (const auto& v : vectors) {
    const auto id = v.at("id").get<std::string>();
    const auto ch = v.at("characteristic").get<std::string>();
    const auto payload = v.at("payload_hex").get<std::string>();
    const auto& exp = v.at("expected");
    mismatches m;
    std::vector<double> produced;  // every physiological number the decoder returned

    std::vector<std::uint8_t> bytes(payload.size() / 2 + 1);
    std::size_t size = 0;
    if (const auto e = parse_hex(payload, bytes, size)) m.fail("payload: " + e->describe());
    bytes.resize(size);

    if (!m.empty()) {
      // nothing more to check
    } else if (ch == "SFLOAT" || ch == "FLOAT") {
      const bool sfloat = ch == "SFLOAT";
      if (bytes.size() != (sfloat ? 2u : 4u)) {
        m.fail("payload of " + std::to_string(bytes.size()) + " bytes");
      } else {
        // Little-endian on the wire.
        std::uint32_t raw = 0;
        for (std::size_t i = bytes.size(); i-- > 0;) raw = (raw << 8) | bytes[i];
        const auto got =
            sfloat ? decode_sfloat(static_cast<std::uint16_t>(raw)) : decode_float(raw);
        match_value(m, "value", exp.at("value"), got);
        if (got.is_number()) produced.push_back(got.value);
      }
    } else if (const auto c = parse_characteristic(ch); !c) {
      m.fail("unknown characteristic " + ch);
    } else {
      decoded_frame f;
      const auto err = decode(*c, bytes, f);
      if (!exp.at("valid").get<bool>()) {
        ++invalid;
        if (!err) m.fail("decoded a frame the vector says is invalid");
      } else if (err) {
        m.fail("rejected: " + err->describe());
      } else if (const auto* h = std::get_if<heart_rate_measurement>(&f)) {
        check_heart_rate(m, exp, *h);
        produced.push_back(h->heart_rate_bpm);
      } else if (const auto* p = std::get_if<plx_continuous>(&f)) {
        check_plx_status(m, exp, *p);
        match_pair(m, exp, p->normal, "");
        match_pair(m, exp, p->fast, "_fast");
        match_pair(m, exp, p->slow, "_slow");
        for (const auto& pair : {std::optional(p->normal), p->fast, p->slow}) {
          if (!pair) continue;
          produced.push_back(pair->spo2_pct.value);
          produced.push_back(pair->pulse_rate_bpm.value);
        }
      } else if (const auto* s = std::get_if<plx_spot_check>(&f)) {
        check_plx_status(m, exp, *s);
        match_pair(m, exp, s->reading, "");
        if (s->device_clock_not_set != exp.at("device_clock_not_set").get<bool>()) {
          m.add("device_clock_not_set", exp.at("device_clock_not_set"), "the other");
        }
        if (exp.contains("timestamp")) {
          const auto got = s->timestamp ? date_text(*s->timestamp) : std::string("absent");
          if (got != exp.at("timestamp").get<std::string>())
            m.add("timestamp", exp["timestamp"], got);
        }
        produced.push_back(s->reading.spo2_pct.value);
        produced.push_back(s->reading.pulse_rate_bpm.value);
      } else if (const auto* g = std::get_if<cgm_measurement>(&f)) {
        check_cgm(m, exp, *g);
      } else {
        m.fail("no checker for characteristic " + ch);
      }
    }

    if (!v.at("spec_conformant").get<bool>()) {
      ++negative;
      const auto wrong = wrong_numbers(v.at("notes").get<std::string>());
      if (wrong.empty()) m.fail("notes quote no wrong expectation");
      if (produced.empty()) m.fail("decoded no number to compare with the wrong expectation");
      for (const double w : wrong) {
        for (const double got : produced) {
          if (std::abs(got - w) <= 1e-9 * std::max(1.0, std::abs(w))) {
            m.fail("reproduces the source's wrong value " + std::to_string(w));
          }
        }
      }
    }

    ++checked;
    INFO("vector " << id << " (" << ch << ") payload " << payload << m.text());
    CHECK(m.empty());
    if (m.empty()) ++passed;
  }
  std::printf(
      "gatt vectors: %zu of %zu passed (%zu invalid frames rejected, %zu non-conformant "
      "sources not reproduced)\n",
      passed, checked, invalid, negative);
  REQUIRE(checked == 58);
  CHECK(passed == checked);
  CHECK(invalid == 3);
  CHECK(negative == 7);
}

}  // namespace gatt_vectors_test
