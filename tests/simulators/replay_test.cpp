// Tests of `vitals-sim replay`: reading and checking trace CSVs, the payloads (decoded by
// vitalsd's own decoder), pacing (computed, not timed) and the dry-run output. No broker needed.

#include <chrono>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <vitals/adapters/common/topic_template.hpp>
#include <vitals/adapters/mqtt/json_decoder.hpp>
#include <vitals/core/rfc3339.hpp>
#include <vitals/core/stats.hpp>
#include <vitals/simulators/options.hpp>
#include <vitals/simulators/replay.hpp>
#include <vitals/simulators/runner.hpp>

namespace sim = vitals::simulators;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;
using vitals::core::timestamp;
using vitals::core::vital_kind;

// A namespace of its own: the sanitizer presets are unity builds (tests/README.md).
namespace replay_test {
namespace {

sim::trace read(const std::string& text, minutes offset = minutes(0),
                vital_kind vital = vital_kind::glucose) {
  std::istringstream in(text);
  return sim::read_trace(in, "t.csv", vital, offset);
}

std::vector<std::string> problems(const std::string& text) {
  try {
    read(text);
  } catch (const sim::trace_error& e) {
    return e.problems();
  }
  return {};
}

timestamp at(const char* rfc3339) {
  return *vitals::core::parse_rfc3339(rfc3339);
}

sim::replay_options options(double speed = sim::speed_max) {
  sim::replay_options o;
  o.patient = "d001";
  o.device = sim::default_replay_device("d001", vital_kind::glucose);
  o.speed = speed;
  return o;
}

}  // namespace

TEST_CASE("replay: a header line is skipped, the three time formats are read", "[replay]") {
  const auto t = read(
      "timestamp,glucose_value_mg_dl\n"
      "2014-10-01 19:14:00,185.4\n"
      "2014-10-01 19:19,178\n"
      "\n"
      "# a comment\n"
      "2014-10-01T19:24:00.500Z,39.6\r\n"
      "1412191800000,70\n");
  REQUIRE(t.rows.size() == 4);
  CHECK(t.rows[0].ts == at("2014-10-01T19:14:00Z"));
  CHECK(t.rows[0].value == 185.4);
  CHECK(t.rows[0].line == 2);
  CHECK(t.rows[1].ts == at("2014-10-01T19:19:00Z"));
  CHECK(t.rows[2].ts == at("2014-10-01T19:24:00.500Z"));
  CHECK(t.rows[2].value == 39.6);
  CHECK(t.rows[2].line == 6);
  CHECK(t.rows[3].ts == timestamp(milliseconds(1412191800000)));
  CHECK(t.vital == vital_kind::glucose);
  // No header: the first line is a row.
  CHECK(read("2014-10-01 19:14:00,185.4\n").rows.size() == 1);
}

TEST_CASE("replay: --utc-offset applies to local times only", "[replay]") {
  CHECK(sim::parse_utc_offset("+02:00") == minutes(120));
  CHECK(sim::parse_utc_offset("-05:30") == minutes(-330));
  CHECK(sim::parse_utc_offset("+0100") == minutes(60));
  CHECK(sim::parse_utc_offset("Z") == minutes(0));
  CHECK_FALSE(sim::parse_utc_offset("2"));
  CHECK_FALSE(sim::parse_utc_offset("+19:00"));
  CHECK_FALSE(sim::parse_utc_offset("+01:60"));
  const auto t = read("2014-10-01 19:14:00,100\n2014-10-01T19:20:00Z,100\n", minutes(120));
  CHECK(t.rows[0].ts == at("2014-10-01T17:14:00Z"));
  CHECK(t.rows[1].ts == at("2014-10-01T19:20:00Z"));  // RFC 3339 carries its own zone
  CHECK(sim::parse_trace_time("2014-10-01 00:30", minutes(60)) == at("2014-09-30T23:30:00Z"));
  CHECK_FALSE(sim::parse_trace_time("2014-02-30 10:00", minutes(0)));
  CHECK_FALSE(sim::parse_trace_time("2014-10-01 24:00", minutes(0)));
  CHECK_FALSE(sim::parse_trace_time("yesterday", minutes(0)));
}

TEST_CASE("replay: every bad line is named, with its line number", "[replay]") {
  const auto p = problems(
      "timestamp,value\n"
      "2014-10-01 19:14:00,185.4\n"
      "2014-10-01 19:19:00,abc\n"
      "2014-13-01 19:24:00,170\n"
      "2014-10-01 19:29:00\n"
      "2014-10-01 19:34:00,170,3\n"
      "2014-10-01 19:39:00,-4\n"
      "2014-10-01 19:44:00,nan\n");
  REQUIRE(p.size() == 6);
  CHECK(p[0] == "t.csv:3: value 'abc' is not a number");
  CHECK(p[1].rfind("t.csv:4: time '2014-13-01 19:24:00' is not", 0) == 0);
  CHECK(p[2] == "t.csv:5: expected 'timestamp,value', found no comma");
  CHECK(p[3] == "t.csv:6: expected 2 fields 'timestamp,value', found more");
  CHECK(p[4] == "t.csv:7: value -4 is negative");
  CHECK(p[5] == "t.csv:8: value 'nan' is not a number");
  // A header anywhere but the first line is a bad line.
  CHECK(problems("1,2\ntimestamp,value\n") ==
        std::vector<std::string>{"t.csv:2: time 'timestamp' is not YYYY-MM-DD HH:MM[:SS], RFC "
                                 "3339 or epoch ms",
                                 "t.csv:2: value 'value' is not a number"});
  CHECK(problems("timestamp,value\n") == std::vector<std::string>{"t.csv: no readings"});
  CHECK_THROWS_AS(sim::read_trace_file("/nonexistent/x.csv", vital_kind::glucose, minutes(0)),
                  sim::trace_error);
}

TEST_CASE("replay: rows out of time order are refused, equal times allowed", "[replay]") {
  const auto p = problems(
      "2014-10-01 19:14:00,185\n"
      "2014-10-01 19:19:00,180\n"
      "2014-10-01 19:19:00,180\n"
      "2014-10-01 19:09:00,190\n"
      "2014-10-01 19:24:00,175\n");
  REQUIRE(p.size() == 1);
  CHECK(p[0] ==
        "t.csv:4: time 2014-10-01T19:09:00.000Z is before the previous row's "
        "(2014-10-01T19:19:00.000Z, line 3): rows must be in time order");
}

TEST_CASE("replay: payloads keep fractions and decode with vitalsd's decoder", "[replay]") {
  namespace mq = vitals::adapters::mqtt;
  vitals::core::stats stats;
  mq::json_decoder decoder(mq::decoder_options{}, stats);
  const vitals::adapters::common::topic_template tmpl("vitals/{patient}/{device}");
  const std::string csv =
      "2014-10-03 03:54:00,68.4\n2014-10-03 03:59:00,39.6\n2014-10-03 04:04:00,250\n";

  struct param {
    vital_kind vital;
    sim::glucose_unit unit;
    const char* device;
  };
  for (const auto& [vital, unit, device] :
       {param{vital_kind::glucose, sim::glucose_unit::mg_dl, "d001-cgm"},
        param{vital_kind::glucose, sim::glucose_unit::mmol_l, "d001-cgm"},
        param{vital_kind::heart_rate, sim::glucose_unit::mg_dl, "d001-ox"},
        param{vital_kind::spo2, sim::glucose_unit::mg_dl, "d001-ox"}}) {
    // spo2 must stay <= 100
    const auto t = read(vital == vital_kind::spo2 ? "1412308440000,97.5\n1412308441000,88\n" : csv,
                        minutes(0), vital);
    auto o = options();
    o.device = sim::default_replay_device("d001", vital);
    CHECK(o.device == device);
    o.unit = unit;
    const auto msgs = sim::replay_messages(t, o);
    REQUIRE(msgs.size() == t.rows.size());
    for (std::size_t i = 0; i < msgs.size(); ++i) {
      const auto& m = msgs[i];
      CHECK(m.topic == std::string("vitals/d001/") + device);
      CHECK(m.seq == i + 1);
      const auto fields = tmpl.match(m.topic);
      REQUIRE(fields);
      mq::decode_context ctx;
      ctx.patient = fields->patient;
      ctx.device = fields->device;
      ctx.receive_time = vitals::core::now_ms();  // an old trace is not too far in the future
      std::vector<vitals::core::sample> out;
      const auto st = decoder.decode(m.payload, ctx, out);
      INFO(m.payload << " -> " << decoder.last_error());
      REQUIRE(st.ok());
      REQUIRE(out.size() == 1);
      CHECK(out[0].kind == vital);
      CHECK(out[0].device_time == t.rows[i].ts);
      CHECK(out[0].sequence == i + 1);
      if (unit == sim::glucose_unit::mmol_l) {
        CHECK(out[0].value == Approx(t.rows[i].value).margin(0.05 * 18.016 + 1e-9));
      } else {
        CHECK(out[0].value == t.rows[i].value);
      }
    }
  }
  CHECK(sim::replay_payload("d001-cgm", at("2014-10-03T03:59:00Z"), 2, vital_kind::glucose, 39.6,
                            sim::glucose_unit::mg_dl) ==
        R"({"device":"d001-cgm","ts":1412308740000,"seq":2,"glucose":39.6})");
  CHECK(sim::replay_payload("d001-cgm", at("2014-10-03T03:59:00Z"), 2, vital_kind::glucose, 250.0,
                            sim::glucose_unit::mg_dl) ==
        R"({"device":"d001-cgm","ts":1412308740000,"seq":2,"glucose":250})");
  CHECK(
      sim::replay_payload("d001-cgm", at("2014-10-03T03:59:00Z"), 2, vital_kind::glucose, 39.6,
                          sim::glucose_unit::mmol_l) ==
      R"({"device":"d001-cgm","ts":1412308740000,"seq":2,"glucose":{"value":2.2,"unit":"mmol/L"}})");
  CHECK(sim::replay_payload("d001-ox", at("2014-10-03T03:59:00Z"), 1, vital_kind::heart_rate, 72.5,
                            sim::glucose_unit::mg_dl) ==
        R"({"device":"d001-ox","ts":1412308740000,"seq":1,"hr":72.5})");
}

TEST_CASE("replay: pacing follows the trace's own gaps", "[replay]") {
  const auto t = read(
      "2014-10-03 03:54:00,100\n"
      "2014-10-03 03:59:00,100\n"
      "2014-10-03 04:14:00,100\n"
      "2014-10-03 04:14:00,101\n");
  const auto msgs = sim::replay_messages(t, options());
  REQUIRE(msgs.size() == 4);
  CHECK(msgs[0].elapsed == minutes(0));
  CHECK(msgs[1].elapsed == minutes(5));
  CHECK(msgs[2].elapsed == minutes(20));  // the 15-minute gap is kept
  CHECK(msgs[3].elapsed == minutes(20));
  CHECK(msgs[2].ts == at("2014-10-03T04:14:00Z"));  // the trace's own time, not shifted
  using std::chrono::steady_clock;
  CHECK(sim::wall_offset(minutes(20), 1.0) ==
        std::chrono::duration_cast<steady_clock::duration>(minutes(20)));
  CHECK(sim::wall_offset(minutes(20), 60.0) ==
        std::chrono::duration_cast<steady_clock::duration>(seconds(20)));
  CHECK(sim::wall_offset(minutes(20), sim::speed_max) == steady_clock::duration::zero());
}

TEST_CASE("replay: --batch groups a window's rows in one array, due at its end", "[replay]") {
  std::string csv;
  for (int i = 0; i < 7; ++i) csv += std::to_string(1412308440000 + i * 300000) + ",100\n";
  const auto t = read(csv);
  auto o = options();
  o.batch = minutes(15);
  const auto msgs = sim::replay_messages(t, o);
  REQUIRE(msgs.size() == 3);  // rows at 0,5,10 | 15,20,25 | 30 min
  CHECK(msgs[0].seq == 1);
  CHECK(msgs[1].seq == 4);
  CHECK(msgs[2].seq == 7);
  CHECK(msgs[0].elapsed == minutes(15));
  CHECK(msgs[1].elapsed == minutes(30));
  CHECK(msgs[2].elapsed == minutes(30));  // the last row's, not the window's end (45)
  CHECK(msgs[0].payload.front() == '[');
  CHECK(msgs[0].payload.back() == ']');

  namespace mq = vitals::adapters::mqtt;
  vitals::core::stats stats;
  mq::json_decoder decoder(mq::decoder_options{}, stats);
  std::size_t decoded = 0;
  for (const auto& m : msgs) {
    mq::decode_context ctx;
    ctx.patient = "d001";
    ctx.device = "d001-cgm";
    ctx.receive_time = vitals::core::now_ms();
    std::vector<vitals::core::sample> out;
    REQUIRE(decoder.decode(m.payload, ctx, out).ok());
    decoded += out.size();
  }
  CHECK(decoded == 7);

  o.batch_bytes = 150;  // about two readings
  const auto small = sim::replay_messages(t, o);
  CHECK(small.size() > 3);
}

TEST_CASE("replay: dry run prints every row as a topic payload line", "[replay]") {
  const auto t = read("timestamp,value\n2014-10-03 03:54:00,68.4\n2014-10-03 03:59:00,39.6\n");
  std::ostringstream out;
  sim::stream_sink sink(out);
  sim::stop_signal stop;
  auto o = options();
  const auto r = sim::run_replay(t, sink, o, stop);
  CHECK(r.rows == 2);
  CHECK(r.published == 2);
  CHECK(r.delivered == 2);
  CHECK(r.undelivered == 0);
  CHECK_FALSE(r.stopped);
  CHECK(out.str() ==
        "vitals/d001/d001-cgm "
        R"({"device":"d001-cgm","ts":1412308440000,"seq":1,"glucose":68.4})"
        "\n"
        "vitals/d001/d001-cgm "
        R"({"device":"d001-cgm","ts":1412308740000,"seq":2,"glucose":39.6})"
        "\n");

  // A stop request before the start sends nothing.
  std::ostringstream none;
  sim::stream_sink quiet(none);
  sim::stop_signal stopped;
  stopped.request_stop();
  const auto s = sim::run_replay(t, quiet, options(1.0), stopped);
  CHECK(s.published == 0);
  CHECK(s.stopped);
  CHECK(none.str().empty());
}

}  // namespace replay_test
