#include <vitals/simulators/replay.hpp>

#include <charconv>
#include <cmath>
#include <exception>
#include <fstream>
#include <string>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <vitals/adapters/mqtt/json_decoder.hpp>
#include <vitals/core/ascii.hpp>
#include <vitals/core/pipeline.hpp>
#include <vitals/core/rfc3339.hpp>
#include <vitals/simulators/options.hpp>

namespace vitals::simulators {

using std::chrono::milliseconds;
using std::chrono::minutes;
using steady = std::chrono::steady_clock;

namespace {

std::string join_lines(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) {
    if (!out.empty()) out += '\n';
    out += l;
  }
  return out;
}

using core::trim;

/// Exactly `n` digits at `s[pos]`; advances pos.
std::optional<int> digits(std::string_view s, std::size_t& pos, std::size_t n) {
  if (pos + n > s.size()) return std::nullopt;
  int v = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const char c = s[pos + i];
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  pos += n;
  return v;
}

/// A finite number taking the whole text.
std::optional<double> parse_number(std::string_view s) {
  if (s.empty()) return std::nullopt;
  double v = 0.0;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size() || !std::isfinite(v)) {
    return std::nullopt;
  }
  return v;
}

/// "YYYY-MM-DD HH:MM[:SS[.f...]]" (or 'T' between) without a zone, as local time.
std::optional<core::timestamp> parse_naive(std::string_view s, minutes utc_offset) {
  std::size_t pos = 0;
  const auto y = digits(s, pos, 4);
  if (!y || pos >= s.size() || s[pos++] != '-') return std::nullopt;
  const auto mo = digits(s, pos, 2);
  if (!mo || pos >= s.size() || s[pos++] != '-') return std::nullopt;
  const auto d = digits(s, pos, 2);
  if (!d || pos >= s.size() || (s[pos] != ' ' && s[pos] != 'T')) return std::nullopt;
  ++pos;
  const auto h = digits(s, pos, 2);
  if (!h || pos >= s.size() || s[pos++] != ':') return std::nullopt;
  const auto mi = digits(s, pos, 2);
  if (!mi) return std::nullopt;
  int sec = 0;
  int ms = 0;
  if (pos < s.size()) {
    if (s[pos++] != ':') return std::nullopt;
    const auto se = digits(s, pos, 2);
    if (!se) return std::nullopt;
    sec = *se;
    if (pos < s.size()) {
      if (s[pos++] != '.' || pos >= s.size()) return std::nullopt;
      int scale = 100;
      for (; pos < s.size(); ++pos) {
        const char c = s[pos];
        if (c < '0' || c > '9') return std::nullopt;
        ms += (c - '0') * scale;
        scale /= 10;
      }
    }
  }
  const std::chrono::year_month_day ymd{std::chrono::year(*y), std::chrono::month(*mo),
                                        std::chrono::day(*d)};
  if (!ymd.ok() || *h > 23 || *mi > 59 || sec > 59) return std::nullopt;
  const auto local = std::chrono::sys_days(ymd).time_since_epoch() + std::chrono::hours(*h) +
                     minutes(*mi) + std::chrono::seconds(sec) + milliseconds(ms);
  return core::timestamp(std::chrono::duration_cast<milliseconds>(local - utc_offset));
}

/// Shortest text that reads back as `v` ("39.6", "185").
void append_number(std::string& out, double v) {
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

std::string_view json_key(core::vital_kind vital) {
  switch (vital) {
    case core::vital_kind::heart_rate:
      return "hr";
    case core::vital_kind::spo2:
      return "spo2";
    case core::vital_kind::glucose:
      return "glucose";
  }
  return "glucose";
}

}  // namespace

trace_error::trace_error(std::vector<std::string> problems)
    : std::runtime_error(join_lines(problems)), problems_(std::move(problems)) {}

std::optional<minutes> parse_utc_offset(std::string_view text) {
  if (text == "Z" || text == "UTC" || text == "z") return minutes(0);
  if (text.size() != 6 && text.size() != 5) return std::nullopt;
  if (text[0] != '+' && text[0] != '-') return std::nullopt;
  std::size_t pos = 1;
  const auto h = digits(text, pos, 2);
  if (!h) return std::nullopt;
  if (text.size() == 6 && text[pos++] != ':') return std::nullopt;
  const auto m = digits(text, pos, 2);
  if (!m || *m > 59 || *h * 60 + *m > 18 * 60) return std::nullopt;
  const minutes off(*h * 60 + *m);
  return text[0] == '-' ? -off : off;
}

std::optional<core::timestamp> parse_trace_time(std::string_view text, minutes utc_offset) {
  text = trim(text);
  if (text.empty()) return std::nullopt;
  if (text.find_first_not_of("0123456789") == std::string_view::npos) {
    std::int64_t ms = 0;
    const auto r = std::from_chars(text.data(), text.data() + text.size(), ms);
    if (r.ec != std::errc() || r.ptr != text.data() + text.size()) return std::nullopt;
    return core::timestamp(milliseconds(ms));
  }
  if (auto naive = parse_naive(text, utc_offset)) return naive;
  return core::parse_rfc3339(text);
}

trace read_trace(std::istream& in, const std::string& name, core::vital_kind vital,
                 minutes utc_offset) {
  trace t;
  t.name = name;
  t.vital = vital;
  std::vector<std::string> problems;
  const auto bad = [&](std::size_t line, const std::string& what) {
    problems.push_back(fmt::format("{}:{}: {}", name, line, what));
  };
  std::string text;
  std::size_t line = 0;
  std::optional<std::size_t> last_good;  // line of the latest row with a valid time
  core::timestamp last_ts{};
  while (std::getline(in, text)) {
    ++line;
    const std::string_view l = trim(text);
    if (l.empty() || l.front() == '#') continue;
    const auto comma = l.find(',');
    if (comma == std::string_view::npos) {
      bad(line, "expected 'timestamp,value', found no comma");
      continue;
    }
    const auto time_text = trim(l.substr(0, comma));
    const auto value_text = trim(l.substr(comma + 1));
    if (value_text.find(',') != std::string_view::npos) {
      bad(line, "expected 2 fields 'timestamp,value', found more");
      continue;
    }
    const auto value = parse_number(value_text);
    if (line == 1 && !value) continue;  // a header
    const auto ts = parse_trace_time(time_text, utc_offset);
    if (!ts) {
      bad(line,
          fmt::format("time '{}' is not YYYY-MM-DD HH:MM[:SS], RFC 3339 or epoch ms", time_text));
    }
    if (!value) {
      bad(line, fmt::format("value '{}' is not a number", value_text));
    } else if (*value < 0.0) {
      bad(line, fmt::format("value {} is negative", value_text));
    }
    if (ts && last_good && *ts < last_ts) {
      bad(line, fmt::format("time {} is before the previous row's ({}, line {}): rows must be in "
                            "time order",
                            format_rfc3339(*ts), format_rfc3339(last_ts), *last_good));
      continue;
    }
    if (ts) {
      last_ts = *ts;
      last_good = line;
    }
    if (ts && value && *value >= 0.0) t.rows.push_back({*ts, *value, line});
  }
  if (problems.empty() && t.rows.empty()) problems.push_back(name + ": no readings");
  if (!problems.empty()) throw trace_error(std::move(problems));
  return t;
}

trace read_trace_file(const std::string& path, core::vital_kind vital, minutes utc_offset) {
  std::ifstream in(path);
  if (!in) throw trace_error({path + ": cannot open"});
  return read_trace(in, path, vital, utc_offset);
}

std::string default_replay_device(const std::string& patient, core::vital_kind vital) {
  return patient + (vital == core::vital_kind::glucose ? "-cgm" : "-ox");
}

bool valid_replay_id(std::string_view id) noexcept {
  if (id.empty() || id.size() > 64) return false;
  for (const char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

std::string replay_payload(const std::string& device, core::timestamp ts, std::uint64_t seq,
                           core::vital_kind vital, double value, glucose_unit unit) {
  std::string out = fmt::format(R"({{"device":"{}","ts":{},"seq":{},"{}":)", device,
                                ts.time_since_epoch().count(), seq, json_key(vital));
  if (vital == core::vital_kind::glucose && unit == glucose_unit::mmol_l) {
    const auto tenths = std::llround(value / core::glucose_mgdl_per_mmol * 10.0);
    out += fmt::format(R"({{"value":{}.{},"unit":"mmol/L"}})", tenths / 10, tenths % 10);
  } else {
    append_number(out, value);
  }
  out += '}';
  return out;
}

std::vector<message> replay_messages(const trace& t, const replay_options& options) {
  std::vector<message> out;
  if (t.rows.empty()) return out;
  const auto first = t.rows.front().ts;
  const std::string topic = options.topic_prefix + "/" + options.patient + "/" + options.device;
  const auto make = [&](const trace_row& r, std::uint64_t seq) {
    message m;
    m.topic = topic;
    m.patient = options.patient;
    m.device = options.device;
    m.type = t.vital == core::vital_kind::glucose ? device_type::cgm : device_type::oximeter;
    m.ts = r.ts;
    m.elapsed = r.ts - first;
    m.seq = seq;
    m.vital = t.vital;
    switch (t.vital) {
      case core::vital_kind::heart_rate:
        m.hr = static_cast<int>(std::lround(r.value));
        break;
      case core::vital_kind::spo2:
        m.spo2 = static_cast<int>(std::lround(r.value));
        break;
      case core::vital_kind::glucose:
        m.glucose_mgdl = r.value;
        break;
    }
    m.payload = replay_payload(options.device, r.ts, seq, t.vital, r.value, options.unit);
    return m;
  };
  const bool batching = options.batch > milliseconds(0);
  std::optional<message> pending;  // the open array
  std::int64_t window = -1;
  const auto close = [&] {
    if (!pending) return;
    pending->payload += ']';
    out.push_back(std::move(*pending));
    pending.reset();
  };
  std::uint64_t seq = 0;
  for (const auto& r : t.rows) {
    message m = make(r, ++seq);
    if (!batching) {
      out.push_back(std::move(m));
      continue;
    }
    const std::int64_t w = m.elapsed / options.batch;
    if (w != window ||
        (pending && pending->payload.size() + m.payload.size() + 2 > options.batch_bytes)) {
      close();
      window = w;
    }
    const milliseconds due =
        std::min(milliseconds(options.batch * (w + 1)), t.rows.back().ts - first);
    if (!pending) {
      m.payload.insert(0, 1, '[');
      pending = std::move(m);
    } else {
      pending->payload += ',';
      pending->payload += m.payload;
    }
    pending->elapsed = due;
  }
  close();
  return out;
}

replay_result run_replay(const trace& t, message_sink& sink, const replay_options& options,
                         stop_signal& stop) {
  replay_result result;
  const auto msgs = replay_messages(t, options);
  const auto first = t.rows.front().ts;
  const auto last = t.rows.back().ts;
  std::size_t implausible = 0;
  for (const auto& r : t.rows) {
    if (!core::plausible(t.vital, r.value)) ++implausible;
  }
  spdlog::info(
      "replaying {}: {} {} rows from {} to {} ({}), {} messages, speed {}", t.name, t.rows.size(),
      core::to_string(t.vital), format_rfc3339(first), format_rfc3339(last),
      format_duration(std::chrono::duration_cast<milliseconds>(last - first)), msgs.size(),
      std::isfinite(options.speed) ? fmt::format("{}", options.speed) : std::string("max"));
  spdlog::debug("replay: patient {}, device {}, topic {}", options.patient, options.device,
                msgs.empty() ? std::string() : msgs.front().topic);
  if (implausible > 0) {
    spdlog::warn(
        "{} rows lie outside vitalsd's plausibility limits for {}: it will reject them as "
        "implausible",
        implausible, core::to_string(t.vital));
  }

  const auto wall_start = steady::now();
  auto next_report = wall_start + options.progress_every;
  milliseconds reached{0};
  const auto report = [&](const char* what) {
    spdlog::info("{}: {}/{} rows in {} messages published ({} delivered), trace time {} (+{})",
                 what, result.rows, t.rows.size(), result.published, sink.delivered(),
                 format_rfc3339(first + reached), format_duration(reached));
  };
  std::exception_ptr failure;
  try {
    for (std::size_t i = 0; i < msgs.size(); ++i) {
      const message& m = msgs[i];
      if (stop.stop_requested()) break;
      const auto due = wall_start + wall_offset(m.elapsed, options.speed);
      if (due > steady::now() && stop.wait_until(due)) break;
      sink.send(m);
      ++result.published;
      // A message carries the rows from its seq up to the next message's.
      result.rows = i + 1 < msgs.size() ? msgs[i + 1].seq - 1 : t.rows.size();
      reached = m.elapsed;
      const auto now = steady::now();
      if (now >= next_report) {
        report("progress");
        next_report = now + options.progress_every;
      }
    }
  } catch (...) {
    failure = std::current_exception();
  }
  result.stopped = stop.stop_requested();
  result.undelivered = close_sink(sink, failure, options.drain_timeout);
  result.delivered = sink.delivered();
  result.wall_seconds = std::chrono::duration<double>(steady::now() - wall_start).count();
  report(result.stopped ? "stopped" : (failure ? "failed" : "done"));
  if (result.undelivered > 0) {
    spdlog::warn("{} messages were not acknowledged by the broker", result.undelivered);
  }
  if (failure) std::rethrow_exception(failure);
  return result;
}

}  // namespace vitals::simulators
