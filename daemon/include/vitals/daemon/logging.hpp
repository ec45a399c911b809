#pragma once
/// Logging set-up for vitalsd: human-readable lines or JSON lines on stderr, through spdlog.

#include <string_view>

namespace vitals::daemon {

/// Output shape of log lines.
enum class log_format { text, json };

/// Parses "text" or "json"; throws std::invalid_argument naming the value otherwise.
log_format parse_log_format(std::string_view name);

/// Installs the default spdlog logger on stderr with the given format and level name
/// ("trace", "debug", "info", "warn", "error"); throws std::invalid_argument on a bad level.
void setup_logging(log_format format, std::string_view level);

}  // namespace vitals::daemon
