#include <vitals/daemon/logging.hpp>

#include <chrono>
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

/// One JSON object per line: {"time":"...Z","level":"info","thread":123,"msg":"..."}.
class json_formatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
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
    return std::make_unique<json_formatter>();
  }
};

}  // namespace

log_format parse_log_format(std::string_view name) {
  if (name == "text") return log_format::text;
  if (name == "json") return log_format::json;
  throw std::invalid_argument("unknown log format '" + std::string(name) +
                              "' (expected 'text' or 'json')");
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
  if (format == log_format::json) {
    logger->set_formatter(std::make_unique<json_formatter>());
  } else {
    logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-5l%$ %v");
  }
  logger->set_level(lvl);
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(std::move(logger));
}

}  // namespace vitals::daemon
