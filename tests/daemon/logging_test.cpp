// Log lines under systemd: the journal is recognised from $JOURNAL_STREAM, and its lines carry
// syslog priorities (journald reads `<N>`), in both formats.

#include <vitals/daemon/logging.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>

#include <spdlog/details/log_msg.h>

#include <vitals/test/temp_dir.hpp>

using vitals::daemon::is_journal_stream;
using vitals::daemon::log_format;
using vitals::daemon::make_log_formatter;

// A namespace of its own: the sanitizer presets are unity builds (tests/README.md).
namespace logging_test {
namespace {

std::string format_line(log_format f, bool journal, spdlog::level::level_enum level) {
  const auto formatter = make_log_formatter(f, journal);
  spdlog::details::log_msg msg("vitalsd", level, "sqlite store: commit failed");
  spdlog::memory_buf_t out;
  formatter->format(msg, out);
  return {out.data(), out.size()};
}

}  // namespace

TEST_CASE("the journal stream is the one whose device and inode $JOURNAL_STREAM names",
          "[logging]") {
  vitals::test::temp_dir dir{"vitals-log"};
  const auto path = dir.path() / "stderr";
  const int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
  REQUIRE(fd >= 0);
  struct stat st {};
  REQUIRE(::fstat(fd, &st) == 0);
  const auto dev = std::to_string(st.st_dev);
  const auto ino = std::to_string(st.st_ino);
  CHECK(is_journal_stream(fd, (dev + ":" + ino).c_str()));
  CHECK_FALSE(is_journal_stream(fd, (dev + ":" + std::to_string(st.st_ino + 1)).c_str()));
  CHECK_FALSE(is_journal_stream(fd, nullptr));
  CHECK_FALSE(is_journal_stream(fd, ""));
  CHECK_FALSE(is_journal_stream(fd, (dev + ino).c_str()));
  CHECK_FALSE(is_journal_stream(fd, (dev + ":" + ino + "x").c_str()));
  ::close(fd);
  CHECK_FALSE(is_journal_stream(fd, (dev + ":" + ino).c_str()));  // closed: fstat fails
}

TEST_CASE("journal lines start with their syslog priority and leave the time to journald",
          "[logging]") {
  CHECK(format_line(log_format::text, true, spdlog::level::critical) ==
        "<2>sqlite store: commit failed\n");
  CHECK(format_line(log_format::text, true, spdlog::level::err).rfind("<3>", 0) == 0);
  CHECK(format_line(log_format::text, true, spdlog::level::warn).rfind("<4>", 0) == 0);
  CHECK(format_line(log_format::text, true, spdlog::level::info).rfind("<6>", 0) == 0);
  CHECK(format_line(log_format::text, true, spdlog::level::debug).rfind("<7>", 0) == 0);
  CHECK(format_line(log_format::text, true, spdlog::level::trace).rfind("<7>", 0) == 0);
  const auto json = format_line(log_format::json, true, spdlog::level::err);
  CHECK(json.rfind("<3>{\"time\":", 0) == 0);
  CHECK(json.find(R"("level":"error")") != std::string::npos);
}

TEST_CASE("lines for a terminal or a file have a time stamp and no priority prefix", "[logging]") {
  const auto text = format_line(log_format::text, false, spdlog::level::err);
  CHECK(text.find('<') == std::string::npos);
  CHECK(text.find("error") != std::string::npos);
  CHECK(text.find("sqlite store: commit failed") != std::string::npos);
  const auto json = format_line(log_format::json, false, spdlog::level::warn);
  CHECK(json.rfind("{\"time\":", 0) == 0);
}

}  // namespace logging_test
