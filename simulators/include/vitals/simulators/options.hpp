#pragma once
/// Parsing and formatting of the command-line values of vitals-sim (durations, speeds, start
/// times), kept out of main so they can be tested.

#include <chrono>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include <vitals/core/sample.hpp>

namespace vitals::simulators {

/// --speed max: publish as fast as the broker takes it.
inline constexpr double speed_max = std::numeric_limits<double>::infinity();

/// "30s", "10m", "2h", "1d", "250ms", "1h30m" or a bare number of seconds; nullopt when malformed
/// or not positive.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

/// A positive finite factor ("1", "20", "0.5") or "max" (speed_max); nullopt otherwise.
std::optional<double> parse_speed(std::string_view text);

/// "now", epoch milliseconds ("1732770000123") or RFC 3339; nullopt when malformed.
std::optional<core::timestamp> parse_start(std::string_view text, core::timestamp now);

/// Default start: `now` for real time or an endless run, otherwise `now - duration`, so that a
/// fast run ends at about the present and never sends a timestamp from the future.
core::timestamp default_start(core::timestamp now, double speed,
                              std::optional<std::chrono::milliseconds> duration);

/// "2026-11-28T03:55:00.250Z".
std::string format_rfc3339(core::timestamp t);

/// "1h02m03s", "45s", "2d03h00m00s".
std::string format_duration(std::chrono::milliseconds d);

}  // namespace vitals::simulators
