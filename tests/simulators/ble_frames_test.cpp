// Tests of vitals-sim's BLE output: the GATT encoders against frames worked out by hand from the
// specifications (reference/ble-gatt.md), the gateway messages and addresses, the ble_gateway
// source it writes, and the ble-generic / ble-cassia streams against the JSON stream of the same
// seed. One test case decodes the simulator's frames with vitalsd's own decoders as a cross-check.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <toml++/toml.h>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <vitals/adapters/ble/frame_samples.hpp>
#include <vitals/adapters/ble/gatt.hpp>
#include <vitals/simulators/ble_frames.hpp>
#include <vitals/simulators/generator.hpp>
#include <vitals/simulators/options.hpp>
#include <vitals/simulators/scenario.hpp>

namespace sim = vitals::simulators;
namespace ble = vitals::simulators::ble;
using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;
using vitals::core::timestamp;

// A namespace of its own: the sanitizer presets are unity builds (tests/README.md).
namespace ble_frames_test {
namespace {

// 2026-01-01T00:00:00Z.
const timestamp t0{milliseconds(1767225600000)};

std::vector<std::uint8_t> bytes_of(std::string_view hex) {
  std::vector<std::uint8_t> out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<std::uint8_t>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

std::string hex(const std::vector<std::uint8_t>& v) {
  return ble::to_hex(v);
}

sim::run_overrides run_at(std::uint64_t seed, milliseconds duration, timestamp start = t0) {
  sim::run_overrides r;
  r.seed = seed;
  r.duration = duration;
  r.start = start;
  r.now = start;
  r.speed = sim::speed_max;
  return r;
}

struct stream {
  std::vector<sim::message> messages;
  std::vector<sim::label> labels;
};

stream generate(const std::string& toml, std::uint64_t seed, milliseconds duration,
                std::optional<sim::output_format> format, timestamp start = t0) {
  auto run = run_at(seed, duration, start);
  run.output = format;
  sim::generator_options o;
  o.plan = sim::parse_scenario(toml, "test.toml", run);
  sim::message_generator gen(std::move(o));
  stream s;
  while (gen.next_tick(s.messages, s.labels)) {
  }
  gen.finish(s.messages, s.labels);
  return s;
}

std::string text_of(const stream& s) {
  std::string all;
  for (const auto& m : s.messages) all += m.topic + ' ' + m.payload + '\n';
  return all;
}

/// A UTC Date Time of a 0x2AAA value (time zone and DST 0, as the simulator sends them).
timestamp session_start_of(const std::vector<std::uint8_t>& v) {
  using namespace std::chrono;
  REQUIRE(v.size() >= 9);
  const int year = v[0] | (v[1] << 8);
  const sys_days day{year_month_day{std::chrono::year{year}, month{v[2]}, std::chrono::day{v[3]}}};
  return timestamp{duration_cast<milliseconds>(day.time_since_epoch() + hours(v[4]) +
                                               minutes(v[5]) + seconds(v[6]))};
}

// p001 healthy with every oximeter artifact; p002 t1d with a CGM whose clock runs 3 minutes
// ahead for half an hour.
const std::string artifacts_toml = R"(
[[patient]]
id = "p001"
profile = "healthy"
events = [
  { kind = "probe_off", at = "60s", duration = "20s" },
  { kind = "motion", at = "120s", duration = "8s" },
  { kind = "displaced", at = "180s", duration = "15s" },
  { kind = "low_perfusion", at = "240s", duration = "30s" },
]
[[patient]]
id = "p002"
profile = "t1d"
events = [{ kind = "clock_skew", device = "cgm", at = "20m", duration = "30m", offset = "3m" }]
)";

}  // namespace

TEST_CASE("ble: SFLOAT encoding of numbers and special values", "[sim][ble]") {
  CHECK(ble::encode_sfloat(98) == 0x0062);
  CHECK(ble::encode_sfloat(98.0, 1) == 0x0062);  // decimal zeros dropped
  CHECK(ble::encode_sfloat(60) == 0x003C);       // whole numbers keep exponent 0
  CHECK(ble::encode_sfloat(0) == 0x0000);
  CHECK(ble::encode_sfloat(-1) == 0x0FFF);
  CHECK(ble::encode_sfloat(111.7, 1) == 0xF45D);  // 1117 x 10^-1
  CHECK(ble::encode_sfloat(111.7) == 0x0070);     // no decimals allowed: 112
  CHECK(ble::encode_sfloat(111.69672, 1) == 0xF45D);
  CHECK(ble::encode_sfloat(250.24, 1) == 0x00FA);  // 2502 does not fit the mantissa: 250
  CHECK(ble::encode_sfloat(2500) == 0x10FA);       // 250 x 10^1
  CHECK(ble::encode_sfloat(-2045) == 0x0803);
  CHECK(ble::encode_sfloat(2046) == 0x10CD);  // 2046 is a special mantissa: 205 x 10^1
  CHECK(ble::encode_sfloat(-0.04, 1) == 0x0000);
  CHECK(ble::encode_sfloat(std::nan("")) == ble::sfloat_nan);
  CHECK(ble::encode_sfloat(INFINITY) == ble::sfloat_pos_inf);
  CHECK(ble::encode_sfloat(-INFINITY) == ble::sfloat_neg_inf);
  CHECK(ble::encode_sfloat(1e12) == ble::sfloat_pos_inf);
  CHECK(ble::encode_sfloat(-1e12) == ble::sfloat_neg_inf);

  CHECK(ble::sfloat_value(0x0062) == 98.0);
  CHECK(ble::sfloat_value(0xF3D4) == Approx(98.0));
  CHECK(ble::sfloat_value(0x0FFF) == -1.0);
  CHECK(ble::sfloat_value(0x10FA) == 2500.0);
  for (const std::uint16_t special : {0x07FF, 0x0800, 0x07FE, 0x0802, 0x0801}) {
    CHECK(std::isnan(ble::sfloat_value(special)));
  }
  // Every tenth of a mg/dL across the CGM's range survives within its resolution.
  for (int tenths = 0; tenths <= 6000; ++tenths) {
    const double v = tenths / 10.0;
    const double back = ble::sfloat_value(ble::encode_sfloat(v, 1));
    REQUIRE(std::abs(back - v) <= (v < 204.5 ? 1e-9 : 0.5));
  }
}

TEST_CASE("ble: the CGM E2E-CRC is CRC-16/MCRF4XX", "[sim][ble]") {
  const std::string check = "123456789";
  const std::vector<std::uint8_t> v(check.begin(), check.end());
  CHECK(ble::crc16_mcrf4xx(v) == 0x6F91);
  CHECK(ble::crc16_mcrf4xx({}) == 0xFFFF);
}

TEST_CASE("ble: PLX Continuous frames with and without status fields", "[sim][ble]") {
  // Normal pair only: flags 0, SpO2 97, PR 72.
  CHECK(hex(ble::encode(ble::plx_continuous{97.0, 72.0, 0, 0})) == "0061004800");
  // Probe off: both statuses present (flags bits 2 and 3), NaN values, measurement unavailable
  // (bit 13 -> 0x2000), sensor unconnected to user (bit 11 -> 0x000800).
  CHECK(hex(ble::encode(ble::plx_continuous{std::nullopt, std::nullopt, ble::plx_ms_unavailable,
                                            ble::plx_ds_unconnected})) == "0cff07ff070020000800");
  // Motion: questionable measurement (bit 14) and erratic signal (bit 6), values as measured.
  CHECK(hex(ble::encode(ble::plx_continuous{87.0, 113.0, ble::plx_ms_questionable,
                                            ble::plx_ds_erratic_signal})) ==
        "0c57007100004040"
        "0000");
  // Low perfusion: only the device status (flags bit 3), bit 5.
  CHECK(hex(ble::encode(ble::plx_continuous{96.0, 58.0, 0, ble::plx_ds_low_perfusion})) ==
        "086000"
        "3a00200000");
  // Displaced: bit 13 of the 24-bit device status.
  CHECK(hex(ble::encode(ble::plx_continuous{std::nullopt, std::nullopt, ble::plx_ms_unavailable,
                                            ble::plx_ds_displaced})) == "0cff07ff070020002000");
}

TEST_CASE("ble: Heart Rate Measurement frames", "[sim][ble]") {
  ble::heart_rate hr;
  hr.bpm = 72;
  CHECK(hex(ble::encode(hr)) == "0048");
  hr.contact = true;
  CHECK(hex(ble::encode(hr)) == "0648");
  hr.contact = false;
  CHECK(hex(ble::encode(hr)) == "0448");
  hr.contact.reset();
  hr.bpm = 300;  // u16
  CHECK(hex(ble::encode(hr)) == "012c01");
  hr.bpm = 60;
  hr.energy_kj = 0x0102;
  hr.rr_1024 = {1024, 1000};
  CHECK(hex(ble::encode(hr)) == "183c02010004e803");
}

TEST_CASE("ble: CGM Measurement records and Session Start Time", "[sim][ble]") {
  ble::cgm_record r;
  r.glucose_mgdl = 164;
  r.time_offset_min = 60;
  CHECK(hex(ble::encode(r)) == "0600a4003c00");
  r.e2e_crc = true;
  const auto with_crc = ble::encode(r);
  REQUIRE(with_crc.size() == 8);
  CHECK(with_crc[0] == 8);  // the size counts the CRC
  const std::uint16_t crc = ble::crc16_mcrf4xx(std::span(with_crc).first(6));
  CHECK(with_crc[6] == (crc & 0xFF));
  CHECK(with_crc[7] == (crc >> 8));
  CHECK(hex(with_crc) == "0800a4003c00fbe6");

  // Annunciation: the octets with bits set, least significant first; trend and quality.
  ble::cgm_record a;
  a.glucose_mgdl = 40;
  a.time_offset_min = 0x0102;
  a.annunciation = (1u << 1) | ble::cgm_below_device_range;  // battery low + below range
  a.trend_mgdl_min = -1.5;
  a.quality_pct = 90;
  // size 12, flags 0xA3 (status + warning octets, trend, quality), 40, offset, 02, 40, -15e-1,
  // 90.
  CHECK(hex(ble::encode(a)) ==
        "0ca32800020102"
        "40f1ff5a00");
  // NaN glucose.
  ble::cgm_record n;
  n.glucose_mgdl = std::nan("");
  CHECK(hex(ble::encode(n)) == "0600ff070000");

  // 2026-01-01T00:03:34.567Z: milliseconds dropped, time zone and DST 0.
  const timestamp start = t0 + milliseconds(214'567);
  CHECK(hex(ble::encode_session_start(start, false)) ==
        "ea070101000322"
        "0000");
  const auto s = ble::encode_session_start(start, true);
  REQUIRE(s.size() == 11);
  CHECK(ble::crc16_mcrf4xx(std::span(s).first(9)) == (s[9] | (s[10] << 8)));
  CHECK(session_start_of(s) == t0 + seconds(214));
}

TEST_CASE("ble: addresses, gateway names, topics and gateway messages", "[sim][ble]") {
  CHECK(ble::device_address(1, ble::slot_oximeter) == "02:00:00:00:01:01");
  CHECK(ble::device_address(1, ble::slot_cgm) == "02:00:00:00:01:02");
  CHECK(ble::device_address(1, ble::slot_gateway) == "02:00:00:00:01:00");
  CHECK(ble::device_address(0x01020304, ble::slot_cgm) == "02:01:02:03:04:02");
  CHECK(ble::gateway_name("p007") == "gw-p007");
  CHECK(ble::topic("ble", "gw-p001", "02:00:00:00:01:01") == "ble/gw-p001/02:00:00:00:01:01");
  CHECK(ble::handle_of(ble::uuid_plx_continuous) == 16);
  CHECK(ble::handle_of(ble::uuid_heart_rate) == 20);
  CHECK(ble::handle_of(ble::uuid_cgm_measurement) == 24);
  CHECK(ble::handle_of(ble::uuid_cgm_session_start) == 28);
  CHECK(ble::handle_of(0x2A5E) == 0);

  const auto frame = bytes_of("0061004800");
  CHECK(ble::generic_message("02:00:00:00:01:01", 0x2A5F, frame, t0) ==
        R"({"mac":"02:00:00:00:01:01","uuid":"2a5f","hex":"0061004800","ts":1767225600000})");
  CHECK(ble::cassia_message("02:00:00:00:01:00", "02:00:00:00:01:01", 16, frame) ==
        R"({"dataType":"notification","ap":"02:00:00:00:01:00","device":"02:00:00:00:01:01",)"
        R"("handle":16,"value":"0061004800"})");
}

TEST_CASE("ble: the formats parse from scenario files and the command line's names", "[sim][ble]") {
  for (const auto f : {sim::output_format::compact, sim::output_format::omh,
                       sim::output_format::ble_generic, sim::output_format::ble_cassia}) {
    CHECK(sim::parse_output_format(sim::to_string(f)) == f);
  }
  CHECK_FALSE(sim::parse_output_format("ble"));
  CHECK(sim::is_ble(sim::output_format::ble_cassia));
  CHECK_FALSE(sim::is_ble(sim::output_format::omh));
  const auto s = sim::parse_scenario(
      "output = \"ble-cassia\"\n[[patient]]\nprofile = \"t1d\"\n[[patient]]\n"
      "profile = \"healthy\"\noutput = \"ble-generic\"\n[[patient]]\nprofile = \"copd\"\n"
      "output = \"compact\"\n",
      "f.toml", run_at(1, hours(1)));
  REQUIRE(s.patients.size() == 3);
  CHECK(s.patients[0].output == sim::output_format::ble_cassia);
  CHECK(s.patients[1].output == sim::output_format::ble_generic);
  CHECK(s.patients[2].output == sim::output_format::compact);
  try {
    (void)sim::parse_scenario("output = \"ble\"\n[[patient]]\n", "f.toml", run_at(1, hours(1)));
    FAIL("no error");
  } catch (const std::invalid_argument& e) {
    CHECK(std::string(e.what()).find("\"ble-generic\" or \"ble-cassia\"") != std::string::npos);
  }
  const auto kinds = sim::scenario_kinds();
  CHECK(std::count(kinds.begin(), kinds.end(), "displaced") == 1);
  CHECK(std::count(kinds.begin(), kinds.end(), "low_perfusion") == 1);
}

TEST_CASE("ble: ble-generic and ble-cassia streams are deterministic for a seed", "[sim][ble]") {
  for (const auto f : {sim::output_format::ble_generic, sim::output_format::ble_cassia}) {
    INFO(sim::to_string(f));
    const auto a = generate(artifacts_toml, 3, minutes(15), f);
    const auto b = generate(artifacts_toml, 3, minutes(15), f);
    const auto c = generate(artifacts_toml, 4, minutes(15), f);
    CHECK(!a.messages.empty());
    CHECK(text_of(a) == text_of(b));
    CHECK(text_of(a) != text_of(c));
  }
}

TEST_CASE("ble: generic gateway frames carry the JSON stream's readings and times", "[sim][ble]") {
  const auto json = generate(artifacts_toml, 3, minutes(40), sim::output_format::compact);
  const auto gen = generate(artifacts_toml, 3, minutes(40), sim::output_format::ble_generic);
  const auto cassia = generate(artifacts_toml, 3, minutes(40), sim::output_format::ble_cassia);
  // Labels (and so readings, which are drawn before formatting) do not depend on the format.
  REQUIRE(json.labels.size() == gen.labels.size());
  for (std::size_t i = 0; i < json.labels.size(); ++i) {
    CHECK(sim::to_json(json.labels[i]) == sim::to_json(gen.labels[i]));
  }

  // Per device: the readings in the JSON stream, and what the BLE frames say.
  struct reading {
    std::int64_t ts;
    std::string values;
  };
  std::map<std::string, std::vector<reading>> from_json, from_ble;
  for (const auto& m : json.messages) {
    const auto j = nlohmann::json::parse(m.payload);
    if (m.type == sim::device_type::oximeter) {
      from_json[m.device].push_back(
          {j.at("ts").get<std::int64_t>(),
           std::to_string(j.at("hr").get<int>()) + "/" + std::to_string(j.at("spo2").get<int>())});
    } else {
      from_json[m.device].push_back(
          {j.at("ts").get<std::int64_t>(), std::to_string(j.at("glucose").get<int>())});
    }
  }
  std::map<std::string, timestamp> session;
  std::map<std::string, std::set<std::string>> status_seen;
  std::size_t session_messages = 0;
  for (const auto& m : gen.messages) {
    const auto j = nlohmann::json::parse(m.payload);
    REQUIRE(j.size() == 4);
    const std::string mac = j.at("mac");
    CHECK(m.topic == "ble/gw-" + m.patient + "/" + mac);
    CHECK(j.at("ts") == m.ts.time_since_epoch().count());
    const auto v = bytes_of(j.at("hex").get<std::string>());
    if (m.type == sim::device_type::oximeter) {
      CHECK(mac == (m.patient == "p001" ? "02:00:00:00:01:01" : "02:00:00:00:02:01"));
      CHECK(j.at("uuid") == "2a5f");
      REQUIRE(v.size() >= 5);
      const double spo2 = ble::sfloat_value(static_cast<std::uint16_t>(v[1] | (v[2] << 8)));
      const double pr = ble::sfloat_value(static_cast<std::uint16_t>(v[3] | (v[4] << 8)));
      const bool statuses = v[0] == 0x0C || v[0] == 0x08;
      std::uint16_t ms = 0;
      std::uint32_t ds = 0;
      if (v[0] == 0x0C) {
        REQUIRE(v.size() == 10);
        ms = static_cast<std::uint16_t>(v[5] | (v[6] << 8));
        ds = static_cast<std::uint32_t>(v[7] | (v[8] << 8) | (v[9] << 16));
      } else if (v[0] == 0x08) {
        REQUIRE(v.size() == 8);
        ds = static_cast<std::uint32_t>(v[5] | (v[6] << 8) | (v[7] << 16));
      } else {
        REQUIRE(v[0] == 0x00);
        REQUIRE(v.size() == 5);
      }
      const auto offset = m.elapsed;
      std::string expect_status;
      if (m.patient != "p001") {
        // p002's oximeter has no artifacts.
      } else if (offset >= seconds(60) && offset < seconds(80)) {
        expect_status = "probe_off";
        CHECK(ms == ble::plx_ms_unavailable);
        CHECK(ds == ble::plx_ds_unconnected);
      } else if (offset >= seconds(120) && offset < seconds(128)) {
        expect_status = "motion";
        CHECK(ms == ble::plx_ms_questionable);
        CHECK(ds == ble::plx_ds_erratic_signal);
      } else if (offset >= seconds(180) && offset < seconds(195)) {
        expect_status = "displaced";
        CHECK(ms == ble::plx_ms_unavailable);
        CHECK(ds == ble::plx_ds_displaced);
      } else if (offset >= seconds(240) && offset < seconds(270)) {
        expect_status = "low_perfusion";
        CHECK(ms == 0);
        CHECK(ds == ble::plx_ds_low_perfusion);
      }
      CHECK(statuses == !expect_status.empty());
      if (!expect_status.empty()) status_seen[m.patient].insert(expect_status);
      // No values while the sensor is off or displaced: SFLOAT NaN; the JSON sends 0 and 0.
      const bool off = ms == ble::plx_ms_unavailable;
      CHECK(std::isnan(spo2) == off);
      CHECK(std::isnan(pr) == off);
      from_ble[m.device].push_back(
          {j.at("ts").get<std::int64_t>(), off ? "0/0"
                                               : std::to_string(static_cast<int>(pr)) + "/" +
                                                     std::to_string(static_cast<int>(spo2))});
    } else {
      CHECK(mac == "02:00:00:00:02:02");
      if (j.at("uuid") == "2aaa") {
        // First of all the device's messages, and sent once (no skew takes it out of range).
        CHECK(session.count(m.device) == 0);
        CHECK(m.session_start);
        ++session_messages;
        session[m.device] = session_start_of(v);
        CHECK(v.size() == 11);  // with its E2E-CRC
        continue;
      }
      REQUIRE(j.at("uuid") == "2aa7");
      REQUIRE(session.count(m.device) == 1);
      REQUIRE(v.size() == 8);
      CHECK(v[0] == 8);
      CHECK(ble::crc16_mcrf4xx(std::span(v).first(6)) == (v[6] | (v[7] << 8)));
      const double g = ble::sfloat_value(static_cast<std::uint16_t>(v[2] | (v[3] << 8)));
      const int offset_min = v[4] | (v[5] << 8);
      const auto t = session[m.device] + minutes(offset_min);
      from_ble[m.device].push_back(
          {t.time_since_epoch().count(), std::to_string(static_cast<int>(g))});
      CHECK(g == m.glucose_mgdl);
    }
  }
  CHECK(session_messages == 1);
  CHECK(status_seen["p001"] ==
        std::set<std::string>{"probe_off", "motion", "displaced", "low_perfusion"});
  REQUIRE(from_json.size() == 3);
  REQUIRE(from_json.size() == from_ble.size());
  for (const auto& [device, readings] : from_json) {
    INFO(device);
    const auto& other = from_ble.at(device);
    REQUIRE(readings.size() == other.size());
    for (std::size_t i = 0; i < readings.size(); ++i) {
      CHECK(readings[i].ts == other[i].ts);  // CGM too: session start + whole minutes
      CHECK(readings[i].values == other[i].values);
    }
  }
  CHECK(from_json.at("p002-cgm").size() >= 8);

  // Cassia: the same frames with the ATT handles instead of UUIDs, no time, the gateway's
  // address as "ap".
  REQUIRE(cassia.messages.size() == gen.messages.size());
  for (std::size_t i = 0; i < cassia.messages.size(); ++i) {
    const auto c = nlohmann::json::parse(cassia.messages[i].payload);
    const auto g = nlohmann::json::parse(gen.messages[i].payload);
    CHECK(cassia.messages[i].topic == gen.messages[i].topic);
    CHECK(c.size() == 5);
    CHECK(c.at("dataType") == "notification");
    CHECK(c.at("ap") ==
          (cassia.messages[i].patient == "p001" ? "02:00:00:00:01:00" : "02:00:00:00:02:00"));
    CHECK(c.at("device") == g.at("mac"));
    CHECK(c.at("value") == g.at("hex"));
    const std::string uuid = g.at("uuid");
    const int handle = uuid == "2a5f" ? 16 : uuid == "2aa7" ? 24 : 28;
    CHECK(c.at("handle") == handle);
  }
}

TEST_CASE("ble: a CGM clock skewed to before its session starts a new session", "[sim][ble]") {
  const std::string toml = R"(
[[patient]]
id = "p001"
profile = "t1d"
events = [{ kind = "clock_skew", device = "cgm", at = "30m", duration = "20m", offset = "-2h" }]
)";
  const auto json = generate(toml, 8, hours(1), sim::output_format::compact);
  const auto gen = generate(toml, 8, hours(1), sim::output_format::ble_generic);
  std::vector<std::int64_t> json_ts, ble_ts;
  for (const auto& m : json.messages) {
    if (m.type == sim::device_type::cgm) json_ts.push_back(m.ts.time_since_epoch().count());
  }
  std::optional<timestamp> start;
  int sessions = 0;
  for (const auto& m : gen.messages) {
    if (m.type != sim::device_type::cgm) continue;
    const auto j = nlohmann::json::parse(m.payload);
    const auto v = bytes_of(j.at("hex").get<std::string>());
    if (j.at("uuid") == "2aaa") {
      start = session_start_of(v);
      ++sessions;
      continue;
    }
    REQUIRE(start);
    ble_ts.push_back((*start + minutes(v[4] | (v[5] << 8))).time_since_epoch().count());
  }
  // The first session and one when the clock jumps back two hours; when it jumps forward again
  // the second session's offsets still fit.
  CHECK(sessions == 2);
  CHECK(json_ts == ble_ts);
}

TEST_CASE("ble: low perfusion leaves the JSON readings alone, displaced sends no values",
          "[sim][ble]") {
  const std::string base = "[[patient]]\nid = \"p001\"\nprofile = \"healthy\"\n";
  const auto plain = generate(base, 2, minutes(10), sim::output_format::compact);
  const auto low =
      generate(base + "events = [{ kind = \"low_perfusion\", at = \"2m\", duration = \"3m\" }]\n",
               2, minutes(10), sim::output_format::compact);
  REQUIRE(plain.messages.size() == low.messages.size());
  for (std::size_t i = 0; i < plain.messages.size(); ++i) {
    REQUIRE(plain.messages[i].payload == low.messages[i].payload);
  }
  REQUIRE(low.labels.size() == 1);
  CHECK(low.labels[0].kind == "low_perfusion");
  CHECK(low.labels[0].end - low.labels[0].start == minutes(3));

  const auto displaced = generate(base + "events = [{ kind = \"displaced\", at = \"2m\" }]\n", 2,
                                  minutes(10), sim::output_format::compact);
  int zeros = 0;
  for (const auto& m : displaced.messages) {
    const bool in = m.elapsed >= minutes(2) && m.elapsed < minutes(4);  // default 2 minutes
    CHECK((m.hr == 0 && m.spo2 == 0) == in);
    zeros += in ? 1 : 0;
  }
  CHECK(zeros == 120);
}

TEST_CASE("ble: --ble-config settings name every BLE device of the run", "[sim][ble]") {
  const std::string toml = R"(
name = "cfg"
seed = 4
[[patient]]
profile = "t1d"
output = "ble-cassia"
[[patient]]
profile = "healthy"
output = "compact"
[[patient]]
profile = "copd"
output = "ble-generic"
)";
  const auto s = sim::parse_scenario(toml, "cfg.toml", run_at(4, hours(1)));
  const auto text = ble::ble_config(s);
  INFO(text);
  toml::table t;
  REQUIRE_NOTHROW(t = toml::parse(text));
  const auto* sources = t["sources"].as_array();
  REQUIRE(sources);
  REQUIRE(sources->size() == 1);
  const auto& source = *(*sources)[0].as_table();
  CHECK(source.at("type").value<std::string>() == "ble_gateway");
  const auto* gws = source.at("gateways").as_array();
  const auto* devs = source.at("devices").as_array();
  REQUIRE(gws);
  REQUIRE(devs);
  REQUIRE(gws->size() == 2);  // p002 publishes compact JSON
  CHECK((*gws)[0].as_table()->at("name").value<std::string>() == "gw-p001");
  CHECK((*gws)[0].as_table()->at("preset").value<std::string>() == "cassia");
  CHECK((*(*gws)[0].as_table()->at("topics").as_array())[0].value<std::string>() ==
        "ble/gw-p001/#");
  CHECK((*gws)[1].as_table()->at("name").value<std::string>() == "gw-p003");
  CHECK((*gws)[1].as_table()->at("preset").value<std::string>() == "generic");
  REQUIRE(devs->size() == 3);  // p001 ox + cgm, p003 ox
  const auto& ox = *(*devs)[0].as_table();
  CHECK(ox.at("address").value<std::string>() == "02:00:00:00:01:01");
  CHECK(ox.at("patient").value<std::string>() == "p001");
  CHECK(ox.at("device").value<std::string>() == "p001-ox");
  CHECK(ox.at("gateway").value<std::string>() == "gw-p001");
  CHECK(ox.at("handles").as_table()->at("16").value<std::string>() == "2a5f");
  const auto& cgm = *(*devs)[1].as_table();
  CHECK(cgm.at("address").value<std::string>() == "02:00:00:00:01:02");
  CHECK(cgm.at("device").value<std::string>() == "p001-cgm");
  CHECK(cgm.at("handles").as_table()->at("24").value<std::string>() == "2aa7");
  CHECK(cgm.at("handles").as_table()->at("28").value<std::string>() == "2aaa");
  CHECK(cgm.at("cgm_crc").value<std::string>() == "required");
  const auto& ox3 = *(*devs)[2].as_table();
  CHECK(ox3.at("address").value<std::string>() == "02:00:00:00:03:01");
  CHECK(ox3.at("device").value<std::string>() == "p003-ox");
  CHECK_FALSE(ox3.contains("handles"));  // generic gateways name UUIDs

  CHECK(
      ble::ble_config(sim::parse_scenario("[[patient]]\n", "x.toml", run_at(1, hours(1)))).empty());
}

TEST_CASE("ble: vitalsd's decoders read the simulator's frames as meant", "[sim][ble]") {
  namespace gatt = vitals::adapters::ble;
  const auto decode_plx = [](const std::vector<std::uint8_t>& v) {
    gatt::plx_continuous out;
    REQUIRE_FALSE(gatt::decode(v, out));
    return out;
  };
  const auto normal = decode_plx(ble::encode(ble::plx_continuous{97.0, 72.0, 0, 0}));
  CHECK(normal.normal.spo2_pct.value == 97.0);
  CHECK(normal.normal.pulse_rate_bpm.value == 72.0);
  CHECK_FALSE(normal.measurement_status);
  const auto off = decode_plx(ble::encode(ble::plx_continuous{
      std::nullopt, std::nullopt, ble::plx_ms_unavailable, ble::plx_ds_unconnected}));
  CHECK(off.normal.spo2_pct.kind == gatt::special::nan);
  CHECK(off.measurement_status == gatt::plx_ms_unavailable);
  CHECK(off.device_sensor_status == gatt::plx_ds_sensor_unconnected);

  ble::cgm_record r;
  r.glucose_mgdl = 111.7;
  r.time_offset_min = 65;
  r.e2e_crc = true;
  gatt::cgm_measurement cgm;
  REQUIRE_FALSE(gatt::decode(ble::encode(r), cgm, gatt::crc_mode::required));
  REQUIRE(cgm.count == 1);
  CHECK(cgm.records[0].crc_ok);
  CHECK(cgm.records[0].glucose_mg_dl.value == Approx(111.7));
  CHECK(cgm.records[0].time_offset_min == 65);

  const timestamp start = t0 + seconds(214);
  gatt::cgm_session_start_time st;
  REQUIRE_FALSE(gatt::decode(ble::encode_session_start(start, true), st));
  CHECK(st.crc_ok);
  CHECK(gatt::session_start(st) == start);

  ble::heart_rate hr;
  hr.bpm = 300;
  hr.contact = false;
  gatt::heart_rate_measurement h;
  REQUIRE_FALSE(gatt::decode(ble::encode(hr), h));
  CHECK(h.heart_rate_bpm == 300);
  CHECK(h.sensor_contact == gatt::heart_rate_measurement::contact::no_contact);
}

}  // namespace ble_frames_test
