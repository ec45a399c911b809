// The file source against real files in a temporary directory: appended lines, partial lines,
// bad lines, truncation, replacement, a file that appears late.
#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include <vitals/test/collecting_sink.hpp>
#include <vitals/test/mosquitto_broker.hpp>  // eventually()
#include <vitals/test/temp_dir.hpp>

#include "file_source.hpp"

using namespace std::chrono_literals;
namespace core = vitals::core;
namespace fs = std::filesystem;
using vitals::adapters::file::file_options;
using vitals::adapters::file::file_source;
using vitals::test::collecting_sink;
using vitals::test::eventually;

// A namespace of its own: the sanitizer presets are unity builds (tests/README.md).
namespace file_source_test {
namespace {

/// One compact reading; `hr` makes each one tell apart.
std::string reading(int hr, const std::string& patient = "p-1") {
  return R"({"device":"hr-1","patient":")" + patient + R"(","ts":)" +
         std::to_string(core::now_ms().time_since_epoch().count()) + R"(,"hr":)" +
         std::to_string(hr) + "}";
}

void append(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::app | std::ios::binary);
  out << text;
}

file_options options_for(const fs::path& p) {
  file_options o;
  o.path = p.string();
  o.poll_interval = 20ms;
  return o;
}

std::vector<double> values(const collecting_sink& sink) {
  std::vector<double> out;
  for (const auto& s : sink.samples()) out.push_back(s.value);
  return out;
}

}  // namespace

TEST_CASE("file source: appended lines become samples, lines already there are skipped", "[file]") {
  vitals::test::temp_dir dir("vitals-file");
  const auto path = dir.path() / "readings.jsonl";
  append(path, reading(61) + "\n");
  core::stats stats;
  collecting_sink sink;
  file_source src(options_for(path), sink, stats);
  src.start();
  REQUIRE(eventually([&] { return src.status().up; }, 5s));
  append(path, reading(62) + "\n" + reading(63) + "\n");
  REQUIRE(eventually([&] { return sink.size() == 2; }, 5s));
  CHECK(values(sink) == std::vector<double>{62, 63});
  CHECK(sink.samples()[0].kind == core::vital_kind::heart_rate);
  CHECK(std::string(sink.samples()[0].patient.view()) == "p-1");
  CHECK(stats.samples_decoded.load() == 2);
  src.stop();
}

TEST_CASE(
    "file source: from the beginning, a partial line waits for its newline, a bad line is "
    "counted and loses no good one",
    "[file]") {
  vitals::test::temp_dir dir("vitals-file");
  const auto path = dir.path() / "readings.jsonl";
  append(path, reading(70) + "\nnot json\n\n" + reading(71) + "\n");
  auto o = options_for(path);
  o.from_start = true;
  core::stats stats;
  collecting_sink sink;
  file_source src(o, sink, stats);
  src.start();
  REQUIRE(eventually([&] { return sink.size() == 2; }, 5s));
  CHECK(stats.total_rejects() == 1);
  CHECK(stats.messages_received.load() == 3);  // the blank line is not a message

  const auto half = reading(72);
  append(path, half.substr(0, 20));
  std::this_thread::sleep_for(100ms);  // several polls: the half line must not be decoded
  CHECK(sink.size() == 2);
  append(path, half.substr(20) + "\n");
  REQUIRE(eventually([&] { return sink.size() == 3; }, 5s));
  CHECK(values(sink) == std::vector<double>{70, 71, 72});
  CHECK(stats.total_rejects() == 1);
  src.stop();
}

TEST_CASE(
    "file source: a truncated or replaced file is read from its start, a missing one is "
    "waited for",
    "[file]") {
  vitals::test::temp_dir dir("vitals-file");
  const auto path = dir.path() / "readings.jsonl";
  core::stats stats;
  collecting_sink sink;
  file_source src(options_for(path), sink, stats);
  src.start();
  std::this_thread::sleep_for(60ms);
  CHECK_FALSE(src.status().up);
  CHECK(src.status().state == "waiting for the file");

  // Appears late: read whole (it is new, not the one that was there at start-up).
  append(path, reading(80) + "\n");
  REQUIRE(eventually([&] { return sink.size() == 1; }, 5s));
  CHECK(src.status().up);

  // Truncated (copytruncate rotation), then written again once the source has seen it empty: a
  // file that is truncated and refilled beyond the old length within one poll cannot be told
  // from one that grew, as for tail -F.
  fs::resize_file(path, 0);
  std::this_thread::sleep_for(100ms);
  append(path, reading(81) + "\n");
  REQUIRE(eventually([&] { return sink.size() == 2; }, 5s));

  // Replaced (log rotation): a new inode.
  const auto next = dir.path() / "next.jsonl";
  append(next, reading(82) + "\n" + reading(83) + "\n");
  fs::rename(next, path);
  REQUIRE(eventually([&] { return sink.size() == 4; }, 5s));
  CHECK(values(sink) == std::vector<double>{80, 81, 82, 83});
  src.stop();
  CHECK(stats.total_rejects() == 0);
}

TEST_CASE("file source: an overlong line is rejected as too_large, the next one is read",
          "[file]") {
  vitals::test::temp_dir dir("vitals-file");
  const auto path = dir.path() / "readings.jsonl";
  auto o = options_for(path);
  o.from_start = true;
  o.max_line_bytes = 200;
  std::string text(1000, 'x');
  text += '\n';
  text += reading(90);
  text += '\n';
  append(path, text);
  core::stats stats;
  collecting_sink sink;
  file_source src(o, sink, stats);
  src.start();
  REQUIRE(eventually([&] { return sink.size() == 1; }, 5s));
  CHECK(stats.rejects(core::reject_reason::too_large) == 1);
  src.stop();
  // Stopping twice and starting again are fine.
  src.stop();
}

}  // namespace file_source_test
