// `vitalsctl decode` as a process: human and JSON output, payloads from stdin, exit codes and the
// precise decode error.

#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <vitals/test/process.hpp>
#include <vitals/test/temp_dir.hpp>

// A namespace of its own: the sanitizer presets are unity builds (tests/README.md).
namespace vitalsctl_test {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

/// What one run of vitalsctl printed and returned.
struct result {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

/// Runs vitalsctl with `args`, `input` on its stdin, stdout and stderr captured apart (through
/// /bin/sh, which redirects and then execs vitalsctl).
result run(const std::vector<std::string>& args, const std::string& input = "") {
  vitals::test::temp_dir dir("vitals-vitalsctl");
  const auto in = dir.path() / "in.txt";
  const auto out = dir.path() / "out.txt";
  const auto err = dir.path() / "err.txt";
  std::ofstream(in) << input;
  std::vector<std::string> argv{
      "/bin/sh", "-c", "exec \"$0\" \"$@\" <\"$VT_IN\" >\"$VT_OUT\" 2>\"$VT_ERR\"", VITALSCTL_PATH};
  argv.insert(argv.end(), args.begin(), args.end());
  vitals::test::child_process p(
      argv, dir.path() / "sh.log",
      {{"VT_IN", in.string()}, {"VT_OUT", out.string()}, {"VT_ERR", err.string()}});
  const auto code = p.wait_for(30s);
  REQUIRE(code.has_value());
  return {*code, read_file(out), read_file(err)};
}

/// The lines of `text`, without the newlines.
std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream s(text);
  for (std::string line; std::getline(s, line);) out.push_back(line);
  return out;
}

bool has_line(const std::string& text, const std::string& line) {
  for (const auto& l : lines(text)) {
    if (l == line) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("vitalsctl decode prints the fields, status bits, sample and conditions", "[vitalsctl]") {
  const auto r = run({"decode", "--char", "2a37", "0655"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.err.empty());
  CHECK(has_line(r.out, "flags: 0x06 sensor_contact_detected sensor_contact_supported"));
  CHECK(has_line(r.out, "heart_rate_bpm: 85"));
  CHECK(has_line(r.out, "sensor_contact: in_contact"));
  CHECK(r.out.find("sample: hr 85 /min") != std::string::npos);
  CHECK(has_line(r.out, "conditions: none"));
  CHECK(has_line(r.out, "quality: none"));

  // Supported but no contact: a condition-only sample, no reading.
  const auto off = run({"decode", "--char", "hr", "0455"});
  CHECK(off.exit_code == 0);
  CHECK(off.out.find("sample: hr (no value)") != std::string::npos);
  CHECK(has_line(off.out, "conditions: sensor_off"));
  CHECK(has_line(off.out, "quality: no_value"));
}

TEST_CASE("vitalsctl decode --json prints one object per payload", "[vitalsctl]") {
  const auto r = run({"decode", "--char", "heart_rate_measurement", "--json", "0655", "005500"});
  // The second payload has a byte after the last field its flags announce.
  CHECK(r.exit_code == 1);
  const auto l = lines(r.out);
  REQUIRE(l.size() == 2);
  const auto ok = json::parse(l[0]);
  CHECK(ok["ok"] == true);
  CHECK(ok["characteristic"] == "heart_rate_measurement");
  CHECK(ok["uuid"] == "2a37");
  CHECK(ok["fields"]["flags"]["value"] == 6);
  CHECK(ok["fields"]["flags"]["bits"] ==
        json::array({"sensor_contact_detected", "sensor_contact_supported"}));
  CHECK(ok["fields"]["heart_rate_bpm"] == 85);
  REQUIRE(ok["samples"].size() == 1);
  CHECK(ok["samples"][0]["kind"] == "hr");
  CHECK(ok["samples"][0]["value"] == 85.0);
  CHECK(ok["conditions"] == json::array());
  CHECK(ok["quality"] == json::array());
  const auto bad = json::parse(l[1]);
  CHECK(bad["ok"] == false);
  CHECK(bad["code"] == "trailing_bytes");
  CHECK(bad["field"] == "end");
  CHECK(bad["offset"] == 2);
  CHECK(bad["error"].get<std::string>().find("offset 2") != std::string::npos);

  SECTION("PLX status bits, SFLOAT specials and conditions by name") {
    // Measurement status invalid (bit 15), device status sensor displaced (bit 13), SpO2 NaN.
    const auto plx = run({"decode", "--char", "2a5f", "--json", "0cff075a000080002000"});
    INFO(plx.out << plx.err);
    CHECK(plx.exit_code == 0);
    const auto j = json::parse(plx.out);
    CHECK(j["fields"]["normal"]["spo2_pct"] == "NaN");
    CHECK(j["fields"]["normal"]["pulse_rate_bpm"] == 90.0);
    CHECK(j["fields"]["measurement_status"]["bits"] == json::array({"invalid"}));
    CHECK(j["fields"]["device_sensor_status"]["bits"] == json::array({"sensor_displaced"}));
    CHECK(j["conditions"] == json::array({"sensor_off", "no_reading"}));
    CHECK(j["quality"] == json::array({"no_value"}));
  }

  SECTION("CGM records with their CRC") {
    // 08 00 0c10 0600 + CRC 0x6f59: good, then the same record with a broken CRC.
    const auto cgm = run({"decode", "--char", "cgm", "--crc", "required", "--session-start",
                          "2026-11-28T00:00:00Z", "--json", "08000c100600596f08000c1006000000"});
    INFO(cgm.out << cgm.err);
    CHECK(cgm.exit_code == 0);
    const auto j = json::parse(cgm.out);
    REQUIRE(j["fields"]["records"].size() == 2);
    CHECK(j["fields"]["records"][0]["crc_ok"] == true);
    CHECK(j["fields"]["records"][0]["glucose_mg_dl"] == 120.0);
    CHECK(j["fields"]["records"][0]["time_offset_min"] == 6);
    CHECK(j["fields"]["records"][1]["crc_ok"] == false);
    CHECK(j["crc_failures"] == 1);
    REQUIRE(j["samples"].size() == 1);
    CHECK(j["samples"][0]["time"] == "2026-11-28T00:06:00.000Z");
  }
}

TEST_CASE("vitalsctl decode reads payloads from stdin and goes on after a bad one", "[vitalsctl]") {
  const std::string input = "# captured on the livingroom gateway\n0655\n\n06\n  0050  \n";
  SECTION("human output") {
    const auto r = run({"decode", "--char", "hr"}, input);
    INFO(r.out << r.err);
    CHECK(r.exit_code == 1);
    CHECK(r.out.find("sample: hr 85 /min") != std::string::npos);
    CHECK(r.out.find("sample: hr 80 /min") != std::string::npos);
    CHECK(r.err ==
          "error: truncated: field heart_rate at offset 1 needs 1 byte, 0 left (line 4)\n");
  }
  SECTION("json output, '-' for stdin") {
    const auto r = run({"decode", "--char", "hr", "--json", "-"}, input);
    CHECK(r.exit_code == 1);
    const auto l = lines(r.out);
    REQUIRE(l.size() == 3);
    CHECK(json::parse(l[0])["fields"]["heart_rate_bpm"] == 85);
    CHECK(json::parse(l[1])["ok"] == false);
    CHECK(json::parse(l[2])["fields"]["heart_rate_bpm"] == 80);
  }
  SECTION("all good: exit 0") {
    const auto r = run({"decode", "--char", "hr"}, "0655\r\n0050\r\n");
    CHECK(r.exit_code == 0);
    CHECK(r.err.empty());
  }
}

TEST_CASE("vitalsctl decode names the field and offset of a truncated frame", "[vitalsctl]") {
  // Energy expended and RR intervals announced (0x18), RR interval cut after one byte.
  const auto r = run({"decode", "--char", "0x2A37", "185532002100ff"});
  CHECK(r.exit_code == 1);
  CHECK(r.err == "error: truncated: field rr_interval at offset 6 needs 2 bytes, 1 left\n");

  const auto j = run({"decode", "--char", "2a37", "--json", "0155"});
  CHECK(j.exit_code == 1);
  const auto e = json::parse(j.out);
  CHECK(e["code"] == "truncated");
  CHECK(e["field"] == "heart_rate");
  CHECK(e["offset"] == 1);
  CHECK(e["needed"] == 2);
  CHECK(e["available"] == 1);

  const auto hex = run({"decode", "--char", "2a37", "06x5"});
  CHECK(hex.exit_code == 1);
  CHECK(hex.err.find("error: bad_hex: field hex at offset 2") == 0);
}

TEST_CASE("vitalsctl decode rejects an unknown characteristic as a usage error", "[vitalsctl]") {
  const auto r = run({"decode", "--char", "2a38", "0655"});
  CHECK(r.exit_code == 2);  // a usage error, not CLI11's own code (105)
  CHECK(r.out.empty());
  CHECK(r.err.find("unknown characteristic '2a38'") != std::string::npos);

  const auto missing = run({"decode", "0655"});
  CHECK(missing.exit_code == 2);  // --char missing: a usage error (CLI11 would say 106)
  CHECK(missing.err.find("--char") != std::string::npos);

  const auto help = run({"decode", "--help"});
  CHECK(help.exit_code == 0);
  CHECK(help.out.find("Examples:") != std::string::npos);
}

}  // namespace vitalsctl_test
