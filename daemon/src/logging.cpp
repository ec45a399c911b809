#include <vitals/daemon/logging.hpp>

#include <sys/stat.h>

#include <unistd.h>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace vitals::daemon {

namespace {

/// Appends `text` as the body of a JSON string (quotes not included), escaping as RFC 8259 asks.
void append_json_escaped(spdlog::memory_buf_t& out, std::string_view text) {
  for (const char c : text) {
    switch (c) {
      case '"':
        out.append(std::string_view("\\\""));
        break;
      case '\\':
        out.append(std::string_view("\\\\"));
        break;
      case '\n':
        out.append(std::string_view("\\n"));
        break;
      case '\r':
        out.append(std::string_view("\\r"));
        break;
      case '\t':
        out.append(std::string_view("\\t"));
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          fmt::format_to(std::back_inserter(out), "\\u{:04x}", static_cast<unsigned>(c));
        } else {
          out.push_back(c);
        }
    }
  }
}

/// syslog(3) priority of a level, as journald reads it from a `<N>` line prefix.
int syslog_priority(spdlog::level::level_enum level) noexcept {
  switch (level) {
    case spdlog::level::critical:
      return 2;  // LOG_CRIT
    case spdlog::level::err:
      return 3;  // LOG_ERR
    case spdlog::level::warn:
      return 4;  // LOG_WARNING
    case spdlog::level::info:
      return 6;  // LOG_INFO
    default:
      return 7;  // LOG_DEBUG (debug, trace)
  }
}

/// The `%*` pattern flag: `<N>` with the line's syslog priority.
class priority_flag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    fmt::format_to(std::back_inserter(dest), "<{}>", syslog_priority(msg.level));
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<priority_flag>();
  }
};

/// One JSON object per line: {"time":"...Z","level":"info","thread":123,"msg":"..."}.
class json_formatter final : public spdlog::formatter {
 public:
  explicit json_formatter(bool journal) : journal_(journal) {}

  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    if (journal_) fmt::format_to(std::back_inserter(dest), "<{}>", syslog_priority(msg.level));
    const auto since_epoch = msg.time.time_since_epoch();
    const auto millis =
        std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch).count() % 1000;
    fmt::format_to(std::back_inserter(dest), R"({{"time":"{:%Y-%m-%dT%H:%M:%S}.{:03}Z","level":")",
                   fmt::gmtime(std::chrono::system_clock::to_time_t(msg.time)), millis);
    const auto level = spdlog::level::to_string_view(msg.level);
    dest.append(level.data(), level.data() + level.size());
    fmt::format_to(std::back_inserter(dest), R"(","thread":{},"msg":")", msg.thread_id);
    append_json_escaped(dest, std::string_view(msg.payload.data(), msg.payload.size()));
    dest.append(std::string_view("\"}\n"));
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<json_formatter>(journal_);
  }

 private:
  bool journal_;
};

}  // namespace

log_format parse_log_format(std::string_view name) {
  if (name == "text") return log_format::text;
  if (name == "json") return log_format::json;
  throw std::invalid_argument("unknown log format '" + std::string(name) +
                              "' (expected 'text' or 'json')");
}

bool is_journal_stream(int fd, const char* journal_stream) {
  if (journal_stream == nullptr) return false;
  const std::string_view text(journal_stream);
  const auto colon = text.find(':');
  if (colon == std::string_view::npos) return false;
  unsigned long long device = 0;
  unsigned long long inode = 0;
  const auto* end = text.data() + text.size();
  const auto d = std::from_chars(text.data(), text.data() + colon, device);
  const auto i = std::from_chars(text.data() + colon + 1, end, inode);
  if (d.ec != std::errc{} || d.ptr != text.data() + colon || i.ec != std::errc{} || i.ptr != end) {
    return false;
  }
  struct stat st {};
  if (fstat(fd, &st) != 0) return false;
  return static_cast<unsigned long long>(st.st_dev) == device &&
         static_cast<unsigned long long>(st.st_ino) == inode;
}

std::unique_ptr<spdlog::formatter> make_log_formatter(log_format format, bool journal) {
  if (format == log_format::json) return std::make_unique<json_formatter>(journal);
  auto f = std::make_unique<spdlog::pattern_formatter>();
  if (journal) {
    // journald stamps each entry itself; the priority prefix sets the entry's PRIORITY=.
    f->add_flag<priority_flag>('*').set_pattern("%*%v");
  } else {
    f->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-5l%$ %v");
  }
  return f;
}

void setup_logging(log_format format, std::string_view level) {
  const auto lvl = spdlog::level::from_str(std::string(level));
  if (lvl == spdlog::level::off && level != "off") {
    throw std::invalid_argument("unknown log level '" + std::string(level) +
                                "' (expected trace, debug, info, warn or error)");
  }
  auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>(
      format == log_format::json ? spdlog::color_mode::never : spdlog::color_mode::automatic);
  auto logger = std::make_shared<spdlog::logger>("vitalsd", sink);
  logger->set_formatter(
      make_log_formatter(format, is_journal_stream(STDERR_FILENO, std::getenv("JOURNAL_STREAM"))));
  logger->set_level(lvl);
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(std::move(logger));
}

}  // namespace vitals::daemon
