#pragma once
/// Logging set-up for vitalsd: human-readable lines or JSON lines on stderr, through spdlog.
/// When stderr is systemd's journal, each line starts with its syslog priority (`<3>` for an
/// error), which journald takes as the entry's priority, and leaves the time stamp to journald.

#include <memory>
#include <string_view>

#include <spdlog/formatter.h>

namespace vitals::daemon {

/// Output shape of log lines.
enum class log_format { text, json };

/// Parses "text" or "json"; throws std::invalid_argument naming the value otherwise.
log_format parse_log_format(std::string_view name);

/// True when `fd` is the stream that $JOURNAL_STREAM (`journal_stream`, "DEVICE:INODE") names:
/// systemd connected it to the journal. False for a null or malformed value.
bool is_journal_stream(int fd, const char* journal_stream);

/// The formatter of log lines: `journal` adds the syslog priority prefix and drops the time.
std::unique_ptr<spdlog::formatter> make_log_formatter(log_format format, bool journal);

/// Installs the default spdlog logger on stderr with the given format and level name
/// ("trace", "debug", "info", "warn", "error"); throws std::invalid_argument on a bad level.
/// Lines carry syslog priorities when stderr is the journal (is_journal_stream).
void setup_logging(log_format format, std::string_view level);

}  // namespace vitals::daemon
