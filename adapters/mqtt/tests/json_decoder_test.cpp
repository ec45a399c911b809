#include <catch2/catch.hpp>

#include <cmath>
#include <string>
#include <vector>

#include <vitals/adapters/mqtt/json_decoder.hpp>

using namespace std::chrono_literals;
using vitals::adapters::mqtt::decode_context;
using vitals::adapters::mqtt::decode_status;
using vitals::adapters::mqtt::decoder_options;
using vitals::adapters::mqtt::json_decoder;
namespace core = vitals::core;
using core::reject_reason;

// A namespace of its own: the sanitizer presets are unity builds (tests/README.md).
namespace json_decoder_test {
namespace {

/// 2024-11-28T05:00:00.123Z, the receive time of every test payload.
constexpr core::timestamp receive_time{std::chrono::milliseconds{1732770000123}};

core::timestamp ms(std::int64_t v) {
  return core::timestamp{std::chrono::milliseconds{v}};
}

/// One decoder with its own counters, and helpers that decode and remember the outcome.
struct fixture {
  explicit fixture(decoder_options o = {}) : decoder(std::move(o), stats) {}

  decode_status decode(std::string_view payload, decode_context ctx = {}) {
    ctx.receive_time = receive_time;
    samples.clear();
    return decoder.decode(payload, ctx, samples);
  }

  decode_context topic(std::optional<std::string_view> patient,
                       std::optional<std::string_view> device = std::nullopt,
                       std::optional<core::vital_kind> kind = std::nullopt) {
    decode_context c;
    c.patient = patient;
    c.device = device;
    c.kind = kind;
    return c;
  }

  /// Decodes a payload that must be rejected as a whole with `reason`.
  void expect_reject(std::string_view payload, reject_reason reason, decode_context ctx = {}) {
    INFO("payload: " << payload);
    const auto before = stats.rejects(reason);
    const auto st = decode(payload, ctx);
    INFO("last error: " << decoder.last_error());
    CHECK(st.decoded == 0);
    CHECK(samples.empty());
    CHECK(st.rejected == 1);
    CHECK(st.first_reason == reason);
    CHECK(stats.rejects(reason) == before + 1);
    CHECK_FALSE(decoder.last_error().empty());
  }

  core::stats stats;
  json_decoder decoder;
  std::vector<core::sample> samples;
};

/// Patient "p1" from the topic, as with "vitals/{patient}/{device}" and no device in it.
decode_context patient_topic() {
  decode_context c;
  c.patient = "p1";
  return c;
}

}  // namespace

TEST_CASE("decoder: single heart-rate reading with epoch milliseconds", "[decoder][mqtt]") {
  fixture f;
  const auto st = f.decode(R"({"device":"hr-0001","patient":"p1","ts":1732770000000,"hr":72})");
  REQUIRE(st.ok());
  REQUIRE(st.decoded == 1);
  REQUIRE(f.samples.size() == 1);
  const auto& s = f.samples[0];
  CHECK(s.device.view() == "hr-0001");
  CHECK(s.patient.view() == "p1");
  CHECK(s.kind == core::vital_kind::heart_rate);
  CHECK(s.value == 72.0);
  CHECK(s.device_time == ms(1732770000000));
  CHECK(s.receive_time == receive_time);
  CHECK_FALSE(s.has_sequence);
  CHECK(f.stats.total_rejects() == 0);
  CHECK(f.decoder.last_error().empty());
}

TEST_CASE("decoder: glucose in mmol/L is converted to mg/dL, RFC 3339 Z timestamp",
          "[decoder][mqtt]") {
  fixture f;
  const auto st = f.decode(
      R"({"device":"cgm-7","ts":"2024-11-28T03:55:00Z","glucose":{"value":5.4,"unit":"mmol/L"}})",
      patient_topic());
  REQUIRE(st.ok());
  REQUIRE(f.samples.size() == 1);
  CHECK(f.samples[0].kind == core::vital_kind::glucose);
  CHECK(f.samples[0].value == Approx(5.4 * core::glucose_mgdl_per_mmol));
  CHECK(f.samples[0].device_time == ms(1732766100000));
  CHECK(f.samples[0].patient.view() == "p1");
}

TEST_CASE("decoder: every accepted unit spelling", "[decoder][mqtt]") {
  fixture f;
  struct unit_case {
    const char* vital;
    const char* unit;
    double in, out;
  };
  const unit_case cases[] = {
      {"hr", "bpm", 60, 60},
      {"hr", "beats/min", 61, 61},
      {"hr", "/min", 62, 62},
      {"hr", "1/min", 63, 63},
      {"spo2", "%", 97, 97},
      {"glucose", "mg/dL", 100, 100},
      {"glucose", "mmol/l", 10, 180.16},
      {"glucose", "MG/DL", 90, 90},
  };
  for (const auto& c : cases) {
    const auto payload = std::string(R"({"device":"d1","ts":1732770000000,")") + c.vital +
                         R"(":{"value":)" + std::to_string(c.in) + R"(,"unit":")" + c.unit +
                         R"("}})";
    INFO(payload);
    const auto st = f.decode(payload, patient_topic());
    REQUIRE(st.ok());
    REQUIRE(f.samples.size() == 1);
    CHECK(f.samples[0].value == Approx(c.out));
    CHECK(f.samples[0].kind == *core::parse_vital_kind(c.vital));
  }
}

TEST_CASE("decoder: one reading with several vitals and a sequence number", "[decoder][mqtt]") {
  fixture f;
  const auto st = f.decode(
      R"({"device":"ox-3","ts":1732770000000,"seq":42,"hr":{"value":88,"unit":"bpm"},"spo2":95.5,"battery":80})",
      patient_topic());
  REQUIRE(st.ok());
  REQUIRE(f.samples.size() == 2);
  CHECK(f.samples[0].kind == core::vital_kind::heart_rate);
  CHECK(f.samples[0].value == 88.0);
  CHECK(f.samples[1].kind == core::vital_kind::spo2);
  CHECK(f.samples[1].value == 95.5);
  for (const auto& s : f.samples) {
    CHECK(s.has_sequence);
    CHECK(s.sequence == 42);
  }
}

TEST_CASE("decoder: batch of readings", "[decoder][mqtt]") {
  fixture f;
  const auto st = f.decode(
      R"([{"device":"d1","ts":1732770000000,"hr":70},
          {"device":"d1","ts":1732770001000,"hr":71},
          {"device":"d2","ts":"2024-11-28T05:00:00.5+01:00","spo2":{"value":98,"unit":"%"}}])",
      patient_topic());
  REQUIRE(st.ok());
  REQUIRE(f.samples.size() == 3);
  CHECK(f.samples[1].value == 71.0);
  CHECK(f.samples[2].device.view() == "d2");
  CHECK(f.samples[2].device_time == ms(1732766400500));
}

TEST_CASE("decoder: batch with one bad element keeps the good ones", "[decoder][mqtt]") {
  fixture f;
  const auto st = f.decode(
      R"([{"device":"d1","ts":1732770000000,"hr":70},
          {"device":"d1","ts":"yesterday","hr":71},
          {"device":"d1","ts":1732770002000,"hr":72}])",
      patient_topic());
  CHECK(st.decoded == 2);
  CHECK(st.rejected == 1);
  CHECK(st.first_reason == reject_reason::bad_timestamp);
  CHECK(f.stats.rejects(reject_reason::bad_timestamp) == 1);
  CHECK(f.stats.total_rejects() == 1);
  REQUIRE(f.samples.size() == 2);
  CHECK(f.samples[0].value == 70.0);
  CHECK(f.samples[1].value == 72.0);
  CHECK(f.decoder.last_error() == "reading 1: field 'ts': not RFC 3339");
}

TEST_CASE("decoder: a bad vital is rejected alone, the reading's other vitals are kept",
          "[decoder][mqtt]") {
  fixture f;
  const auto st =
      f.decode(R"({"device":"d1","ts":1732770000000,"hr":70,"spo2":"NaN"})", patient_topic());
  CHECK(st.decoded == 1);
  CHECK(st.rejected == 1);
  CHECK(f.stats.rejects(reject_reason::bad_value) == 1);
  REQUIRE(f.samples.size() == 1);
  CHECK(f.samples[0].kind == core::vital_kind::heart_rate);
}

TEST_CASE("decoder: ids and kind from the topic", "[decoder][mqtt][topic]") {
  fixture f;
  SECTION("patient and device from the topic, vital in the payload") {
    const auto st = f.decode(R"({"ts":1732770000000,"spo2":97})", f.topic("p9", "ox-1"));
    REQUIRE(st.ok());
    REQUIRE(f.samples.size() == 1);
    CHECK(f.samples[0].patient.view() == "p9");
    CHECK(f.samples[0].device.view() == "ox-1");
  }
  SECTION("kind from the topic: the reading carries value") {
    const auto st = f.decode(R"({"ts":1732770000000,"value":{"value":7,"unit":"mmol/L"}})",
                             f.topic("p9", "cgm-1", core::vital_kind::glucose));
    REQUIRE(st.ok());
    REQUIRE(f.samples.size() == 1);
    CHECK(f.samples[0].kind == core::vital_kind::glucose);
    CHECK(f.samples[0].value == Approx(7 * core::glucose_mgdl_per_mmol));
  }
  SECTION("kind from the topic without value") {
    f.expect_reject(R"({"ts":1732770000000})", reject_reason::missing_field,
                    f.topic("p9", "cgm-1", core::vital_kind::glucose));
  }
  SECTION("payload device that disagrees with the topic") {
    f.expect_reject(R"({"device":"other","ts":1732770000000,"hr":60})", reject_reason::bad_id,
                    f.topic("p9", "ox-1"));
  }
  SECTION("payload patient that disagrees with the topic") {
    f.expect_reject(R"({"patient":"p8","device":"d","ts":1732770000000,"hr":60})",
                    reject_reason::bad_id, f.topic("p9"));
  }
}

TEST_CASE("decoder: patient from the device map", "[decoder][mqtt]") {
  decoder_options o;
  o.device_patients = {{"hr-0001", "p42"}};
  fixture f(o);
  REQUIRE(f.decode(R"({"device":"hr-0001","ts":1732770000000,"hr":72})").ok());
  REQUIRE(f.samples.size() == 1);
  CHECK(f.samples[0].patient.view() == "p42");
  f.expect_reject(R"({"device":"hr-0001","patient":"p1","ts":1732770000000,"hr":72})",
                  reject_reason::bad_id);
  f.expect_reject(R"({"device":"hr-9999","ts":1732770000000,"hr":72})",
                  reject_reason::unknown_device);
}

TEST_CASE("decoder: invalid device map entries are configuration errors", "[decoder][mqtt]") {
  core::stats st;
  decoder_options o;
  o.device_patients = {{"d1", std::string(48, 'x')}};
  CHECK_THROWS_WITH(json_decoder(o, st), Catch::Contains("'d1'"));
}

TEST_CASE("decoder: every reject reason", "[decoder][mqtt]") {
  fixture f;
  const auto pt = patient_topic();
  SECTION("invalid_json") {
    f.expect_reject(R"({"device":"d1","ts":1732770000000,"hr":72)", reject_reason::invalid_json);
    f.expect_reject(R"({"device":"d1" "hr":72})", reject_reason::invalid_json);
    f.expect_reject(R"({"device":"d1","hr":72} trailing)", reject_reason::invalid_json);
    f.expect_reject("", reject_reason::invalid_json);
    f.expect_reject("\xff\xfe{}", reject_reason::invalid_json);
  }
  SECTION("invalid_json anywhere in a batch drops the whole payload") {
    f.expect_reject(R"([{"device":"d1","ts":1732770000000,"hr":70},{"device":)",
                    reject_reason::invalid_json, pt);
  }
  SECTION("too_large: a 1 MB payload is rejected before parsing") {
    std::string big = R"({"device":"d1","ts":1732770000000,"hr":72,"pad":")";
    big += std::string(1 << 20, 'a');
    big += "\"}";
    f.expect_reject(big, reject_reason::too_large, pt);
  }
  SECTION("too_large is checked before the JSON is looked at") {
    decoder_options o;
    o.max_payload_bytes = 10;
    fixture small(o);
    small.expect_reject("{{{{{{{{{{{{not json", reject_reason::too_large);
  }
  SECTION("missing_field") {
    f.expect_reject(R"({"ts":1732770000000,"hr":72})", reject_reason::missing_field, pt);
    f.expect_reject(R"({"device":"d1","hr":72})", reject_reason::missing_field, pt);
    f.expect_reject(R"({"device":"d1","ts":1732770000000,"hr":{"unit":"bpm"}})",
                    reject_reason::missing_field, pt);
    f.expect_reject(R"({"device":"d1","ts":1732770000000,"glucose":{"value":5.4}})",
                    reject_reason::missing_field, pt);
  }
  SECTION("wrong_type") {
    f.expect_reject(R"({"device":17,"ts":1732770000000,"hr":72})", reject_reason::wrong_type, pt);
    f.expect_reject(R"({"device":"d1","ts":true,"hr":72})", reject_reason::wrong_type, pt);
    f.expect_reject(R"({"device":"d1","ts":1732770000000,"seq":-1,"hr":72})",
                    reject_reason::wrong_type, pt);
    f.expect_reject(R"({"device":"d1","ts":1732770000000,"hr":{"value":72,"unit":1}})",
                    reject_reason::wrong_type, pt);
    f.expect_reject("72", reject_reason::wrong_type, pt);
    f.expect_reject(R"([17])", reject_reason::wrong_type, pt);
  }
  SECTION("unknown_vital") {
    f.expect_reject(R"({"device":"d1","ts":1732770000000,"bp":120})", reject_reason::unknown_vital,
                    pt);
  }
  SECTION("bad_value: NaN as a string, infinity by exponent, non-numbers") {
    f.expect_reject(R"({"device":"d1","ts":1732770000000,"hr":"NaN"})", reject_reason::bad_value,
                    pt);
    f.expect_reject(R"({"device":"d1","ts":1732770000000,"hr":1e400})", reject_reason::bad_value,
                    pt);
    f.expect_reject(R"({"device":"d1","ts":1732770000000,"hr":-1e400})", reject_reason::bad_value,
                    pt);
    f.expect_reject(R"({"device":"d1","ts":1732770000000,"hr":null})", reject_reason::bad_value,
                    pt);
    f.expect_reject(R"({"device":"d1","ts":1732770000000,"hr":[72]})", reject_reason::bad_value,
                    pt);
    f.expect_reject(R"({"device":"d1","ts":1732770000000,"hr":{"value":"72","unit":"bpm"}})",
                    reject_reason::bad_value, pt);
    // Finite in mmol/L, but not after conversion to mg/dL.
    f.expect_reject(
        R"({"device":"d1","ts":1732770000000,"glucose":{"value":1.7e308,"unit":"mmol/L"}})",
        reject_reason::bad_value, pt);
  }
  SECTION("bad_unit") {
    f.expect_reject(R"({"device":"d1","ts":1732770000000,"hr":{"value":72,"unit":"%"}})",
                    reject_reason::bad_unit, pt);
    f.expect_reject(R"({"device":"d1","ts":1732770000000,"glucose":{"value":5,"unit":"mmol"}})",
                    reject_reason::bad_unit, pt);
  }
  SECTION("bad_timestamp") {
    f.expect_reject(R"({"device":"d1","ts":"2024-11-28 03:55","hr":72})",
                    reject_reason::bad_timestamp, pt);
    f.expect_reject(R"({"device":"d1","ts":"2024-02-30T00:00:00Z","hr":72})",
                    reject_reason::bad_timestamp, pt);
    f.expect_reject(R"({"device":"d1","ts":1732770000,"hr":72})", reject_reason::bad_timestamp,
                    pt);  // seconds, not milliseconds: 1970
    f.expect_reject(R"({"device":"d1","ts":"1999-12-31T23:59:59Z","hr":72})",
                    reject_reason::bad_timestamp, pt);
    f.expect_reject(R"({"device":"d1","ts":1732770000000.5,"hr":72})", reject_reason::bad_timestamp,
                    pt);
    // 24 h + 1 s after the receive time.
    f.expect_reject(R"({"device":"d1","ts":1732856401123,"hr":72})", reject_reason::bad_timestamp,
                    pt);
  }
  SECTION("bad_id") {
    f.expect_reject(R"({"device":"","ts":1732770000000,"hr":72})", reject_reason::bad_id, pt);
    f.expect_reject(R"({"device":")" + std::string(48, 'd') + R"(","ts":1732770000000,"hr":72})",
                    reject_reason::bad_id, pt);
    f.expect_reject(R"({"device":"d\n1","ts":1732770000000,"hr":72})", reject_reason::bad_id, pt);
    f.expect_reject(R"({"device":"d1","patient":"","ts":1732770000000,"hr":72})",
                    reject_reason::bad_id);
  }
  SECTION("unknown_device: no patient anywhere") {
    f.expect_reject(R"({"device":"d1","ts":1732770000000,"hr":72})", reject_reason::unknown_device);
  }
}

TEST_CASE("decoder: accepts a 47-byte id and a timestamp just inside the future window",
          "[decoder][mqtt]") {
  fixture f;
  const std::string id(core::short_id::max_size, 'd');
  REQUIRE(
      f.decode(R"({"device":")" + id + R"(","ts":1732856400123,"hr":72})", patient_topic()).ok());
  REQUIRE(f.samples.size() == 1);
  CHECK(f.samples[0].device.view() == id);
}

TEST_CASE("decoder: configurable future window", "[decoder][mqtt]") {
  decoder_options o;
  o.max_future = 1min;
  fixture f(o);
  CHECK(f.decode(R"({"device":"d1","ts":1732770060123,"hr":72})", patient_topic()).ok());
  f.expect_reject(R"({"device":"d1","ts":1732770060124,"hr":72})", reject_reason::bad_timestamp,
                  patient_topic());
}

TEST_CASE("decoder: error texts carry no payload values or ids", "[decoder][mqtt]") {
  fixture f;
  f.decode(R"({"device":"SECRET-DEV","patient":"SECRET-PAT","ts":"SECRET-TS","hr":"SECRET"})");
  CHECK(f.decoder.last_error().find("SECRET") == std::string::npos);
}

TEST_CASE("decoder: the parser is reused across payloads of different sizes", "[decoder][mqtt]") {
  fixture f;
  std::string batch = "[";
  for (int i = 0; i < 200; ++i) {
    if (i) batch += ',';
    batch += R"({"device":"d1","ts":)" + std::to_string(1732770000000 + i) + R"(,"hr":60})";
  }
  batch += "]";
  for (int round = 0; round < 3; ++round) {
    CHECK(f.decode(R"({"device":"d1","ts":1732770000000,"hr":60})", patient_topic()).decoded == 1);
    CHECK(f.decode(batch, patient_topic()).decoded == 200);
    f.expect_reject("{", reject_reason::invalid_json);
  }
  CHECK(f.decode("[]", patient_topic()).ok());
  CHECK(f.samples.empty());
}

}  // namespace json_decoder_test
