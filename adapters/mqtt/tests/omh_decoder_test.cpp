#include <catch2/catch.hpp>

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
namespace omh_decoder_test {
namespace {

/// 2026-01-01T00:00:20.000Z, the receive time of every test payload.
constexpr core::timestamp receive_time{std::chrono::milliseconds{1767225620000}};

/// 2026-01-01T00:00:17.000Z, the measurement time of the simulator's data points.
constexpr core::timestamp t17{std::chrono::milliseconds{1767225617000}};

/// The simulator's data points, verbatim.
constexpr std::string_view sim_heart_rate =
    R"({"header":{"id":"p001-ox-17-hr","creation_date_time":"2026-01-01T00:00:17.000Z","schema_id":{"namespace":"omh","name":"heart-rate","version":"2.0"},"user_id":"p001","acquisition_provenance":{"source_name":"p001-ox"}},"body":{"heart_rate":{"value":72,"unit":"beats/min"},"effective_time_frame":{"date_time":"2026-01-01T00:00:17.000Z"}}})";
constexpr std::string_view sim_spo2 =
    R"({"header":{"id":"p001-ox-17-spo2","creation_date_time":"2026-01-01T00:00:17.000Z","schema_id":{"namespace":"omh","name":"oxygen-saturation","version":"2.0"},"user_id":"p001","acquisition_provenance":{"source_name":"p001-ox"}},"body":{"oxygen_saturation":{"value":97,"unit":"%"},"measurement_method":"pulse oximetry","effective_time_frame":{"date_time":"2026-01-01T00:00:17.000Z"}}})";
constexpr std::string_view sim_glucose_mgdl =
    R"({"header":{"id":"p001-cgm-17-bg","creation_date_time":"2026-01-01T00:00:17.000Z","schema_id":{"namespace":"omh","name":"blood-glucose","version":"4.0"},"user_id":"p001","acquisition_provenance":{"source_name":"p001-cgm"}},"body":{"blood_glucose":{"value":112,"unit":"mg/dL"},"specimen_source":"interstitial fluid","temporal_relationship_to_meal":"unknown","effective_time_frame":{"date_time":"2026-01-01T00:00:17.000Z"}}})";
constexpr std::string_view sim_glucose_mmol =
    R"({"header":{"id":"p001-cgm-17-bg","creation_date_time":"2026-01-01T00:00:17.000Z","schema_id":{"namespace":"omh","name":"blood-glucose","version":"4.0"},"user_id":"p001","acquisition_provenance":{"source_name":"p001-cgm"}},"body":{"blood_glucose":{"value":6.2,"unit":"mmol/L"},"specimen_source":"interstitial fluid","temporal_relationship_to_meal":"unknown","effective_time_frame":{"date_time":"2026-01-01T00:00:17.000Z"}}})";

/// Parts of a data point; each is raw JSON text and an empty one is left out.
struct point {
  std::string name = "heart-rate";
  std::string version = "2.0";
  std::string ns = "omh";
  std::string schema_id;  ///< replaces the one made of ns, name and version when set
  std::string user_id = R"("p1")";
  std::string provenance = R"({"source_name":"dev-1"})";
  std::string measure_key = "heart_rate";
  std::string measure = R"({"value":72,"unit":"beats/min"})";
  std::string time_frame = R"({"date_time":"2026-01-01T00:00:17Z"})";

  std::string header() const {
    std::string h = R"({"id":"7d8f1b1e-0b4e-4c4e-9d61-0f0e0c0d0a0b",)";
    h += R"("creation_date_time":"2026-01-01T00:00:18Z","schema_id":)";
    h += schema_id.empty() ? R"({"namespace":")" + ns + R"(","name":")" + name +
                                 R"(","version":")" + version + R"("})"
                           : schema_id;
    if (!user_id.empty()) h += R"(,"user_id":)" + user_id;
    if (!provenance.empty()) h += R"(,"acquisition_provenance":)" + provenance;
    return h + "}";
  }

  std::string body() const {
    std::string b = "{";
    if (!measure.empty()) b += "\"" + measure_key + "\":" + measure;
    if (!time_frame.empty())
      b += std::string(b.size() > 1 ? "," : "") + R"("effective_time_frame":)" + time_frame;
    return b + "}";
  }

  std::string json() const { return R"({"header":)" + header() + R"(,"body":)" + body() + "}"; }
};

/// One decoder with its own counters, and helpers that decode and remember the outcome.
struct fixture {
  explicit fixture(decoder_options o = {}) : decoder(std::move(o), stats) {}

  decode_status decode(std::string_view payload, decode_context ctx = {}) {
    ctx.receive_time = receive_time;
    samples.clear();
    return decoder.decode(payload, ctx, samples);
  }

  /// Decodes a payload that must give exactly one sample and no rejection.
  const core::sample& accept(std::string_view payload, decode_context ctx = {}) {
    INFO("payload: " << payload);
    const auto st = decode(payload, ctx);
    INFO("last error: " << decoder.last_error());
    REQUIRE(st.ok());
    REQUIRE(st.decoded == 1);
    REQUIRE(samples.size() == 1);
    return samples[0];
  }

  /// Decodes a payload that must be rejected as a whole with `reason`; returns the message.
  std::string expect_reject(std::string_view payload, reject_reason reason,
                            decode_context ctx = {}) {
    INFO("payload: " << payload);
    const auto before = stats.rejects(reason);
    const auto total_before = stats.total_rejects();
    const auto st = decode(payload, ctx);
    INFO("last error: " << decoder.last_error());
    CHECK(st.decoded == 0);
    CHECK(samples.empty());
    CHECK(st.rejected == 1);
    CHECK(st.first_reason == reason);
    CHECK(stats.rejects(reason) == before + 1);
    CHECK(stats.total_rejects() == total_before + 1);
    CHECK_FALSE(decoder.last_error().empty());
    return decoder.last_error();
  }

  core::stats stats;
  json_decoder decoder;
  std::vector<core::sample> samples;
};

decode_context topic(std::optional<std::string_view> patient,
                     std::optional<std::string_view> device = std::nullopt,
                     std::optional<core::vital_kind> kind = std::nullopt) {
  decode_context c;
  c.patient = patient;
  c.device = device;
  c.kind = kind;
  return c;
}

}  // namespace

TEST_CASE("omh: the simulator's data points, every schema and glucose unit", "[decoder][omh]") {
  fixture f;
  SECTION("heart-rate 2.0") {
    const auto& s = f.accept(sim_heart_rate);
    CHECK(s.kind == core::vital_kind::heart_rate);
    CHECK(s.value == 72.0);
    CHECK(s.patient.view() == "p001");
    CHECK(s.device.view() == "p001-ox");
    CHECK(s.device_time == t17);
    CHECK(s.receive_time == receive_time);
    CHECK_FALSE(s.has_sequence);
  }
  SECTION("oxygen-saturation 2.0 with measurement_method") {
    const auto& s = f.accept(sim_spo2);
    CHECK(s.kind == core::vital_kind::spo2);
    CHECK(s.value == 97.0);
    CHECK(s.patient.view() == "p001");
    CHECK(s.device.view() == "p001-ox");
    CHECK(s.device_time == t17);
    CHECK_FALSE(s.has_sequence);
  }
  SECTION("blood-glucose 4.0 in mg/dL") {
    const auto& s = f.accept(sim_glucose_mgdl);
    CHECK(s.kind == core::vital_kind::glucose);
    CHECK(s.value == 112.0);
    CHECK(s.device.view() == "p001-cgm");
    CHECK(s.device_time == t17);
  }
  SECTION("blood-glucose 4.0 in mmol/L is converted to mg/dL") {
    const auto& s = f.accept(sim_glucose_mmol);
    CHECK(s.kind == core::vital_kind::glucose);
    CHECK(s.value == Approx(6.2 * core::glucose_mgdl_per_mmol));
  }
  SECTION("on the simulator's topic, which names the same patient and device") {
    CHECK(f.accept(sim_heart_rate, topic("p001", "p001-ox")).patient.view() == "p001");
  }
  CHECK(f.stats.total_rejects() == 0);
  CHECK(f.decoder.last_error().empty());
}

TEST_CASE("omh: accepted schema versions", "[decoder][omh]") {
  fixture f;
  struct version_case {
    const char* name;
    const char* version;
    const char* measure_key;
    const char* measure;
    core::vital_kind kind;
  };
  const version_case cases[] = {
      {"heart-rate", "1.0", "heart_rate", R"({"value":60,"unit":"beats/min"})",
       core::vital_kind::heart_rate},
      {"heart-rate", "2.1", "heart_rate", R"({"value":60,"unit":"beats/min"})",
       core::vital_kind::heart_rate},
      {"oxygen-saturation", "1.0", "oxygen_saturation", R"({"value":95,"unit":"%"})",
       core::vital_kind::spo2},
      {"blood-glucose", "1.0", "blood_glucose", R"({"unit":"mg/dL","value":90})",
       core::vital_kind::glucose},
      {"blood-glucose", "2.0", "blood_glucose", R"({"value":90,"unit":"mg/dL"})",
       core::vital_kind::glucose},
      {"blood-glucose", "3.0", "blood_glucose", R"({"value":90,"unit":"mg/dL"})",
       core::vital_kind::glucose},
      {"blood-glucose", "4.0.1", "blood_glucose", R"({"value":90,"unit":"mg/dL"})",
       core::vital_kind::glucose},
      {"blood-glucose", "4", "blood_glucose", R"({"value":90,"unit":"mg/dL"})",
       core::vital_kind::glucose},
  };
  for (const auto& c : cases) {
    point p;
    p.name = c.name;
    p.version = c.version;
    p.measure_key = c.measure_key;
    p.measure = c.measure;
    CHECK(f.accept(p.json()).kind == c.kind);
  }
}

TEST_CASE("omh: detection does not depend on key order", "[decoder][omh]") {
  fixture f;
  point p;
  SECTION("body before header") {
    CHECK(f.accept(R"({"body":)" + p.body() + R"(,"header":)" + p.header() + "}").value == 72.0);
  }
  SECTION("other top-level keys first, and ignored") {
    const auto& s = f.accept(R"({"@context":"x","device":"other","ts":1,"hr":1,"header":)" +
                             p.header() + R"(,"body":)" + p.body() + "}");
    CHECK(s.device.view() == "dev-1");
    CHECK(s.value == 72.0);
  }
  SECTION("unknown keys in header, provenance, schema id, body and measure are ignored") {
    p.provenance = R"({"modality":"sensed","source_name":"dev-1","source_creation_date_time":1})";
    p.schema_id = R"({"x":[1,2],"namespace":"omh","name":"heart-rate","version":"2.0"})";
    p.measure = R"({"unit":"beats/min","extra":{"a":null},"value":72})";
    const auto payload = p.json();
    CHECK(f.accept(payload.substr(0, payload.size() - 2) +
                   R"(,"temporal_relationship_to_physical_activity":"at rest"}})")
              .value == 72.0);
  }
}

TEST_CASE("omh: identity from the topic and the header", "[decoder][omh][topic]") {
  fixture f;
  point p;
  SECTION("header only") {
    const auto& s = f.accept(p.json());
    CHECK(s.patient.view() == "p1");
    CHECK(s.device.view() == "dev-1");
  }
  SECTION("topic only") {
    p.user_id.clear();
    p.provenance.clear();
    const auto& s = f.accept(p.json(), topic("p9", "ox-9"));
    CHECK(s.patient.view() == "p9");
    CHECK(s.device.view() == "ox-9");
  }
  SECTION("topic and header agree") {
    const auto& s = f.accept(p.json(), topic("p1", "dev-1"));
    CHECK(s.patient.view() == "p1");
    CHECK(s.device.view() == "dev-1");
  }
  SECTION("patient from the topic, device from the header") {
    p.user_id.clear();
    const auto& s = f.accept(p.json(), topic("p9"));
    CHECK(s.patient.view() == "p9");
    CHECK(s.device.view() == "dev-1");
  }
  SECTION("provenance without source_name: device from the topic") {
    p.provenance = R"({"modality":"sensed"})";
    CHECK(f.accept(p.json(), topic(std::nullopt, "ox-9")).device.view() == "ox-9");
  }
  SECTION("user_id that disagrees with the topic") {
    const auto msg = f.expect_reject(p.json(), reject_reason::bad_id, topic("p9"));
    CHECK(msg == "field 'header.user_id': disagrees with the topic");
  }
  SECTION("source_name that disagrees with the topic") {
    const auto msg = f.expect_reject(p.json(), reject_reason::bad_id, topic("p1", "ox-9"));
    CHECK(msg == "field 'header.acquisition_provenance.source_name': disagrees with the topic");
  }
  SECTION("no device anywhere") {
    p.provenance.clear();
    const auto msg = f.expect_reject(p.json(), reject_reason::missing_field);
    CHECK(msg == "field 'header.acquisition_provenance.source_name': missing");
  }
  SECTION("no patient anywhere") {
    p.user_id.clear();
    f.expect_reject(p.json(), reject_reason::unknown_device, topic(std::nullopt, "dev-1"));
  }
  SECTION("ids that are empty, too long or have control characters") {
    p.user_id = R"("")";
    f.expect_reject(p.json(), reject_reason::bad_id);
    p.user_id = "\"" + std::string(48, 'p') + "\"";
    f.expect_reject(p.json(), reject_reason::bad_id);
    p.user_id = R"("p1")";
    p.provenance = R"({"source_name":"dev\n1"})";
    f.expect_reject(p.json(), reject_reason::bad_id);
  }
}

TEST_CASE("omh: patient from the device map", "[decoder][omh]") {
  decoder_options o;
  o.device_patients = {{"dev-1", "p42"}};
  fixture f(o);
  point p;
  p.user_id.clear();
  CHECK(f.accept(p.json()).patient.view() == "p42");
  p.user_id = R"("p42")";
  CHECK(f.accept(p.json()).patient.view() == "p42");
  p.user_id = R"("p1")";
  const auto msg = f.expect_reject(p.json(), reject_reason::bad_id);
  CHECK(msg == "field 'header.user_id': disagrees with the device map");
  f.expect_reject(p.json(), reject_reason::bad_id, topic("p1", "dev-1"));
}

TEST_CASE("omh: kind from the topic must match the schema", "[decoder][omh][topic]") {
  fixture f;
  point p;
  CHECK(f.accept(p.json(), topic(std::nullopt, std::nullopt, core::vital_kind::heart_rate)).kind ==
        core::vital_kind::heart_rate);
  const auto msg = f.expect_reject(p.json(), reject_reason::unknown_vital,
                                   topic(std::nullopt, std::nullopt, core::vital_kind::glucose));
  CHECK(msg == "field 'header.schema_id.name': disagrees with the topic's kind");
}

TEST_CASE("omh: time frames", "[decoder][omh]") {
  fixture f;
  point p;
  const auto t10 = core::timestamp{std::chrono::milliseconds{1767225610000}};
  SECTION("date_time with an offset and a fraction") {
    p.time_frame = R"({"date_time":"2026-01-01T01:00:17.250+01:00"})";
    CHECK(f.accept(p.json()).device_time == t17 + 250ms);
  }
  SECTION("interval: the end is the time of the reading") {
    p.time_frame =
        R"({"time_interval":{"start_date_time":"2026-01-01T00:00:10Z","end_date_time":"2026-01-01T00:00:17Z"}})";
    CHECK(f.accept(p.json()).device_time == t17);
    p.time_frame =
        R"({"time_interval":{"end_date_time":"2026-01-01T00:00:17Z","start_date_time":"2026-01-01T00:00:10Z"}})";
    CHECK(f.accept(p.json()).device_time == t17);
  }
  SECTION("interval without an end: its start") {
    p.time_frame =
        R"({"time_interval":{"start_date_time":"2026-01-01T00:00:10Z","duration":{"value":7,"unit":"sec"}}})";
    CHECK(f.accept(p.json()).device_time == t10);
  }
  SECTION("date_time wins over an interval") {
    p.time_frame =
        R"({"time_interval":{"end_date_time":"2026-01-01T00:00:10Z"},"date_time":"2026-01-01T00:00:17Z"})";
    CHECK(f.accept(p.json()).device_time == t17);
  }
  SECTION("interval with neither end nor start") {
    p.time_frame = R"({"time_interval":{"duration":{"value":7,"unit":"sec"}}})";
    const auto msg = f.expect_reject(p.json(), reject_reason::missing_field);
    CHECK(msg == "field 'body.effective_time_frame.time_interval.end_date_time': missing");
  }
  SECTION("bad end of an interval") {
    p.time_frame =
        R"({"time_interval":{"start_date_time":"2026-01-01T00:00:10Z","end_date_time":"soon"}})";
    const auto msg = f.expect_reject(p.json(), reject_reason::bad_timestamp);
    CHECK(msg == "field 'body.effective_time_frame.time_interval.end_date_time': not RFC 3339");
  }
  SECTION("no effective_time_frame: header.creation_date_time is not used instead") {
    p.time_frame.clear();
    const auto msg = f.expect_reject(p.json(), reject_reason::missing_field);
    CHECK(msg == "field 'body.effective_time_frame': missing");
  }
  SECTION("empty effective_time_frame") {
    p.time_frame = "{}";
    const auto msg = f.expect_reject(p.json(), reject_reason::missing_field);
    CHECK(msg == "field 'body.effective_time_frame.date_time': missing");
  }
}

TEST_CASE("omh: batch of data points, mixed with compact readings", "[decoder][omh]") {
  fixture f;
  point bad;
  bad.measure = R"({"value":72,"unit":"bpm"})";
  const std::string batch = "[" + std::string(sim_heart_rate) + "," + std::string(sim_spo2) + "," +
                            bad.json() + "," + std::string(sim_glucose_mmol) +
                            R"(,{"device":"d1","patient":"p7","ts":1767225617000,"hr":70}])";
  const auto st = f.decode(batch);
  CHECK(st.decoded == 4);
  CHECK(st.rejected == 1);
  CHECK(st.first_reason == reject_reason::bad_unit);
  CHECK(f.stats.rejects(reject_reason::bad_unit) == 1);
  CHECK(f.stats.total_rejects() == 1);
  CHECK(f.decoder.last_error() ==
        "reading 2: field 'body.heart_rate.unit': unit not valid for "
        "this schema");
  REQUIRE(f.samples.size() == 4);
  CHECK(f.samples[0].kind == core::vital_kind::heart_rate);
  CHECK(f.samples[1].kind == core::vital_kind::spo2);
  CHECK(f.samples[2].kind == core::vital_kind::glucose);
  CHECK(f.samples[3].device.view() == "d1");
  CHECK(f.samples[3].patient.view() == "p7");
}

TEST_CASE("omh: every reject reason", "[decoder][omh]") {
  fixture f;
  point p;
  SECTION("invalid_json inside a data point") {
    const auto good = p.json();
    f.expect_reject(good.substr(0, good.size() - 3), reject_reason::invalid_json);
    p.measure = R"({"value":72,"unit":"beats/min",})";
    f.expect_reject(p.json(), reject_reason::invalid_json);
  }
  SECTION("too_large") {
    decoder_options o;
    o.max_payload_bytes = 100;
    fixture small(o);
    small.expect_reject(sim_heart_rate, reject_reason::too_large);
  }
  SECTION("unknown_vital: other namespace or name, named in the message") {
    p.ns = "acme";
    CHECK(f.expect_reject(p.json(), reject_reason::unknown_vital) ==
          "field 'header.schema_id': schema acme:heart-rate:2.0 is not supported (omh "
          "heart-rate, oxygen-saturation, blood-glucose)");
    p.ns = "omh";
    p.name = "blood-pressure";
    CHECK(f.expect_reject(p.json(), reject_reason::unknown_vital)
              .find("omh:blood-pressure:2.0 is not supported") != std::string::npos);
  }
  SECTION("unknown_vital: unsupported version") {
    for (const char* v : {"3.0", "0.9", "x", "", "2.", "2.0.0.0", "2.0-beta"}) {
      p.version = v;
      const auto msg = f.expect_reject(p.json(), reject_reason::unknown_vital);
      CHECK(msg.find("unsupported version") != std::string::npos);
    }
    p.name = "blood-glucose";
    p.measure_key = "blood_glucose";
    p.measure = R"({"value":90,"unit":"mg/dL"})";
    p.version = "5.0";
    CHECK(f.expect_reject(p.json(), reject_reason::unknown_vital) ==
          "field 'header.schema_id': schema omh:blood-glucose:5.0 has an unsupported version "
          "(heart-rate and oxygen-saturation 1.x-2.x, blood-glucose 1.x-4.x)");
  }
  SECTION("unknown_vital: schema parts that are not plain tokens are not quoted") {
    p.name = "Jane Doe's \\u0007 diary";
    const auto msg = f.expect_reject(p.json(), reject_reason::unknown_vital);
    CHECK(msg.find("schema omh:?:2.0 is not supported") != std::string::npos);
    CHECK(msg.find("Jane") == std::string::npos);
  }
  SECTION("missing_field") {
    CHECK(f.expect_reject(R"({"header":{"user_id":"p1"},"body":{}})", reject_reason::missing_field,
                          topic(std::nullopt, "d1")) == "field 'header.schema_id': missing");
    point q = p;
    q.schema_id = R"({"namespace":"omh","version":"2.0"})";
    CHECK(f.expect_reject(q.json(), reject_reason::missing_field) ==
          "field 'header.schema_id.name': missing");
    q.schema_id = R"({"namespace":"omh","name":"heart-rate"})";
    CHECK(f.expect_reject(q.json(), reject_reason::missing_field) ==
          "field 'header.schema_id.version': missing");
    q = p;
    q.measure_key = "oxygen_saturation";  // a measure of another schema does not count
    CHECK(f.expect_reject(q.json(), reject_reason::missing_field) ==
          "field 'body.heart_rate': missing");
    q = p;
    q.measure.clear();
    CHECK(f.expect_reject(q.json(), reject_reason::missing_field) ==
          "field 'body.heart_rate': missing");
    q = p;
    q.measure = R"({"unit":"beats/min"})";
    CHECK(f.expect_reject(q.json(), reject_reason::missing_field) ==
          "field 'body.heart_rate.value': missing");
  }
  SECTION("missing_field: half a data point") {
    CHECK(f.expect_reject(R"({"header":)" + p.header() + "}", reject_reason::missing_field) ==
          "field 'body': Open mHealth data point needs both header and body objects");
    CHECK(f.expect_reject(R"({"body":)" + p.body() + "}", reject_reason::missing_field) ==
          "field 'header': Open mHealth data point needs both header and body objects");
    CHECK(f.expect_reject(R"({"header":)" + p.header() + R"(,"body":[]})",
                          reject_reason::missing_field) ==
          "field 'body': Open mHealth data point needs both header and body objects");
  }
  SECTION("wrong_type") {
    point q = p;
    q.user_id = "17";
    CHECK(f.expect_reject(q.json(), reject_reason::wrong_type) ==
          "field 'header.user_id': not a string");
    q = p;
    q.provenance = R"("dev-1")";
    f.expect_reject(q.json(), reject_reason::wrong_type);
    q = p;
    q.provenance = R"({"source_name":1})";
    f.expect_reject(q.json(), reject_reason::wrong_type);
    q = p;
    q.schema_id = R"("omh:heart-rate:2.0")";
    f.expect_reject(q.json(), reject_reason::wrong_type);
    q = p;
    q.schema_id = R"({"namespace":"omh","name":"heart-rate","version":2.0})";
    CHECK(f.expect_reject(q.json(), reject_reason::wrong_type) ==
          "field 'header.schema_id.version': not a string");
    q = p;
    q.measure = "72";
    CHECK(f.expect_reject(q.json(), reject_reason::wrong_type) ==
          "field 'body.heart_rate': not an object");
    q = p;
    q.measure = R"({"value":72,"unit":1})";
    CHECK(f.expect_reject(q.json(), reject_reason::wrong_type) ==
          "field 'body.heart_rate.unit': not a string");
    q = p;
    q.time_frame = R"("2026-01-01T00:00:17Z")";
    f.expect_reject(q.json(), reject_reason::wrong_type);
    q = p;
    q.time_frame = R"({"date_time":1767225617000})";
    f.expect_reject(q.json(), reject_reason::wrong_type);
    q = p;
    q.time_frame = R"({"time_interval":"10 s"})";
    f.expect_reject(q.json(), reject_reason::wrong_type);
  }
  SECTION("bad_value: NaN as a string, infinity by exponent, non-numbers") {
    for (const char* v : {R"("NaN")", "1e400", "-1e400", "null", "[72]", R"("72")"}) {
      p.measure = std::string(R"({"value":)") + v + R"(,"unit":"beats/min"})";
      f.expect_reject(p.json(), reject_reason::bad_value);
    }
    // Finite in mmol/L, but not after conversion to mg/dL.
    p.name = "blood-glucose";
    p.version = "4.0";
    p.measure_key = "blood_glucose";
    p.measure = R"({"value":1.7e308,"unit":"mmol/L"})";
    CHECK(f.expect_reject(p.json(), reject_reason::bad_value) ==
          "field 'body.blood_glucose.value': not a finite number");
  }
  SECTION("bad_unit: missing or not the schema's") {
    p.measure = R"({"value":72})";
    CHECK(f.expect_reject(p.json(), reject_reason::bad_unit) ==
          "field 'body.heart_rate.unit': missing");
    for (const char* u : {"bpm", "%", "Beats/Min", ""}) {
      p.measure = std::string(R"({"value":72,"unit":")") + u + R"("})";
      f.expect_reject(p.json(), reject_reason::bad_unit);
    }
    p.name = "oxygen-saturation";
    p.measure_key = "oxygen_saturation";
    p.measure = R"({"value":97,"unit":"percent"})";
    f.expect_reject(p.json(), reject_reason::bad_unit);
    p.name = "blood-glucose";
    p.version = "4.0";
    p.measure_key = "blood_glucose";
    for (const char* u : {"mmol", "mg/dl", "mmol/l", "%"}) {
      p.measure = std::string(R"({"value":5,"unit":")") + u + R"("})";
      f.expect_reject(p.json(), reject_reason::bad_unit);
    }
  }
  SECTION("bad_timestamp") {
    for (const char* t : {"2026-01-01 00:00", "2026-02-30T00:00:00Z", "1999-12-31T23:59:59Z",
                          "2026-01-02T00:00:20.001Z"}) {  // the last is 24 h + 1 ms ahead
      p.time_frame = std::string(R"({"date_time":")") + t + R"("})";
      f.expect_reject(p.json(), reject_reason::bad_timestamp);
    }
    p.time_frame = R"({"date_time":"2026-01-02T00:00:20.000Z"})";
    CHECK(f.accept(p.json()).device_time == receive_time + 24h);
  }
  SECTION("bad_id and unknown_device are covered with the identity rules") {
    SUCCEED();
  }
}

TEST_CASE("omh: error texts carry no ids, values or times", "[decoder][omh]") {
  fixture f;
  point p;
  p.user_id = R"("SECRET-PAT")";
  p.provenance = R"({"source_name":"SECRET-DEV"})";
  p.measure = R"({"value":"SECRET","unit":"beats/min"})";
  p.time_frame = R"({"date_time":"SECRET-TS"})";
  f.decode(p.json(), topic("p9", "d9"));
  CHECK_FALSE(f.decoder.last_error().empty());
  CHECK(f.decoder.last_error().find("SECRET") == std::string::npos);
}

TEST_CASE("omh: compact readings with header or body keys keep the compact path",
          "[decoder][omh]") {
  fixture f;
  SECTION("non-object header and body are ignored like any other key") {
    const auto& s = f.accept(
        R"({"header":"v1","body":[1,2],"device":"d1","patient":"p1","ts":1767225617000,"hr":70})");
    CHECK(s.device.view() == "d1");
    CHECK(s.value == 70.0);
  }
  SECTION("half a data point with a compact vital stays a compact reading") {
    const auto& s = f.accept(
        R"({"header":{"schema_id":{"namespace":"omh","name":"heart-rate","version":"2.0"}},"device":"d1","patient":"p1","ts":1767225617000,"spo2":97})");
    CHECK(s.kind == core::vital_kind::spo2);
    CHECK(s.value == 97.0);
    CHECK(s.has_sequence == false);
  }
  SECTION("the compact sequence number is still used") {
    const auto& s =
        f.accept(R"({"body":"x","device":"d1","patient":"p1","ts":1767225617000,"seq":5,"hr":70})");
    CHECK(s.has_sequence);
    CHECK(s.sequence == 5);
  }
}

TEST_CASE("omh: the decoder is reused across formats", "[decoder][omh]") {
  fixture f;
  for (int round = 0; round < 3; ++round) {
    CHECK(f.decode(sim_heart_rate).decoded == 1);
    CHECK(f.decode(R"({"device":"d1","patient":"p1","ts":1767225617000,"hr":60})").decoded == 1);
    point p;
    p.ns = "acme";
    f.expect_reject(p.json(), reject_reason::unknown_vital);
    CHECK(f.decode(sim_glucose_mgdl).decoded == 1);
  }
  CHECK(f.stats.total_rejects() == 3);
}

}  // namespace omh_decoder_test
