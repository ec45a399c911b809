#include <vitals/simulators/options.hpp>

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <ctime>

#include <vitals/adapters/mqtt/json_decoder.hpp>
#include <vitals/core/rfc3339.hpp>

namespace vitals::simulators {

using std::chrono::milliseconds;

namespace {

std::optional<double> parse_number(std::string_view text) {
  if (text.empty()) return std::nullopt;
  double v = 0.0;
  const auto r = std::from_chars(text.data(), text.data() + text.size(), v);
  if (r.ec != std::errc() || r.ptr != text.data() + text.size()) return std::nullopt;
  return v;
}

}  // namespace

std::optional<milliseconds> parse_duration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  if (const auto bare = parse_number(text)) {
    if (!std::isfinite(*bare) || *bare <= 0) return std::nullopt;
    return std::chrono::round<milliseconds>(std::chrono::duration<double>(*bare));
  }
  double total_ms = 0.0;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t j = i;
    while (j < text.size() && (std::isdigit(static_cast<unsigned char>(text[j])) || text[j] == '.'))
      ++j;
    const auto number = parse_number(text.substr(i, j - i));
    if (!number) return std::nullopt;
    std::size_t k = j;
    while (k < text.size() && std::isalpha(static_cast<unsigned char>(text[k]))) ++k;
    const std::string_view unit = text.substr(j, k - j);
    double scale = 0.0;
    if (unit == "ms") {
      scale = 1.0;
    } else if (unit == "s") {
      scale = 1e3;
    } else if (unit == "m" || unit == "min") {
      scale = 60e3;
    } else if (unit == "h") {
      scale = 3600e3;
    } else if (unit == "d") {
      scale = 86400e3;
    } else {
      return std::nullopt;
    }
    total_ms += *number * scale;
    i = k;
  }
  if (!std::isfinite(total_ms) || total_ms < 1.0) return std::nullopt;
  return milliseconds(static_cast<milliseconds::rep>(std::llround(total_ms)));
}

std::optional<double> parse_speed(std::string_view text) {
  if (text == "max") return speed_max;
  const auto v = parse_number(text);
  if (!v || !std::isfinite(*v) || *v <= 0.0) return std::nullopt;
  return v;
}

std::optional<core::timestamp> parse_start(std::string_view text, core::timestamp now) {
  if (text == "now") return now;
  if (!text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos) {
    std::int64_t ms = 0;
    const auto r = std::from_chars(text.data(), text.data() + text.size(), ms);
    if (r.ec != std::errc() || r.ptr != text.data() + text.size()) return std::nullopt;
    return core::timestamp(milliseconds(ms));
  }
  return core::parse_rfc3339(text);
}

core::timestamp default_start(core::timestamp now, double speed,
                              std::optional<milliseconds> duration) {
  if (speed == 1.0 || !duration) return now;
  return now - *duration;
}

std::string format_rfc3339(core::timestamp t) {
  const auto ms = t.time_since_epoch().count();
  std::int64_t secs = ms / 1000;
  std::int64_t frac = ms % 1000;
  if (frac < 0) {
    frac += 1000;
    --secs;
  }
  const auto tt = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(frac));
  return buf;
}

std::string format_duration(milliseconds d) {
  const auto total = std::chrono::duration_cast<std::chrono::seconds>(d).count();
  const long long days = total / 86400;
  const long long hours = total % 86400 / 3600;
  const long long mins = total % 3600 / 60;
  const long long secs = total % 60;
  char buf[64];
  if (days > 0) {
    std::snprintf(buf, sizeof buf, "%lldd%02lldh%02lldm%02llds", days, hours, mins, secs);
  } else if (hours > 0) {
    std::snprintf(buf, sizeof buf, "%lldh%02lldm%02llds", hours, mins, secs);
  } else if (mins > 0) {
    std::snprintf(buf, sizeof buf, "%lldm%02llds", mins, secs);
  } else {
    std::snprintf(buf, sizeof buf, "%llds", secs);
  }
  return buf;
}

}  // namespace vitals::simulators
