#include <vitals/config/loader.hpp>

#include <algorithm>
#include <bit>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <system_error>
#include <tuple>
#include <utility>

#include <fmt/format.h>
#include <toml++/toml.h>

#include <vitals/adapters/ble/ble_device.hpp>
#include <vitals/adapters/ble/gateway_source.hpp>
#include <vitals/adapters/ble/gatt.hpp>
#include <vitals/adapters/mqtt/json_decoder.hpp>
#include <vitals/adapters/mqtt/topic_template.hpp>
#include <vitals/core/diabetes_profile.hpp>

namespace vitals::config {

std::string problem::to_string() const {
  std::string out = file;
  if (line > 0) {
    out += fmt::format(":{}", line);
    if (column > 0) out += fmt::format(":{}", column);
  }
  out += ": ";
  if (!key.empty()) out += fmt::format("key '{}': ", key);
  out += message;
  return out;
}

namespace {

std::vector<problem> sorted(std::vector<problem> ps) {
  std::stable_sort(ps.begin(), ps.end(), [](const problem& a, const problem& b) {
    return std::tie(a.line, a.column) < std::tie(b.line, b.column);
  });
  return ps;
}

std::string join(const std::vector<problem>& ps) {
  std::string out;
  for (const auto& p : ps) {
    if (!out.empty()) out += '\n';
    out += p.to_string();
  }
  return out;
}

}  // namespace

config_error::config_error(std::vector<problem> problems)
    : std::runtime_error(join(sorted(problems))), problems_(sorted(std::move(problems))) {
  if (problems_.empty()) problems_.push_back(problem{"<config>", 0, 0, "", "unknown error"});
}

namespace {

using core::priority;
using core::threshold_rule;
using core::vital_kind;

/// State of one load: where we are, what went wrong so far, and (for known_keys) the schema.
struct context {
  std::string source;
  std::vector<problem> errors;
  std::vector<problem> warnings;
  std::vector<std::string>* schema = nullptr;  ///< set: record every key asked for, read nothing
};

std::string type_name(toml::node_type t) {
  switch (t) {
    case toml::node_type::none:
      return "nothing";
    case toml::node_type::table:
      return "table";
    case toml::node_type::array:
      return "array";
    case toml::node_type::string:
      return "string";
    case toml::node_type::integer:
      return "integer";
    case toml::node_type::floating_point:
      return "float";
    case toml::node_type::boolean:
      return "boolean";
    case toml::node_type::date:
      return "date";
    case toml::node_type::time:
      return "time";
    case toml::node_type::date_time:
      return "date-time";
  }
  return "unknown";
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t subst = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, subst});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

/// The closest candidate when it is plausibly a typo (case-insensitive, at most 2 edits).
std::string closest(std::string_view key, const std::vector<std::string>& candidates) {
  const std::string k = lower(key);
  std::string best;
  std::size_t best_d = std::numeric_limits<std::size_t>::max();
  for (const auto& c : candidates) {
    const std::size_t d = edit_distance(k, lower(c));
    if (d < best_d) {
      best_d = d;
      best = c;
    }
  }
  const std::size_t limit = std::min<std::size_t>(2, std::max<std::size_t>(1, (k.size() + 1) / 3));
  return best_d <= limit ? best : std::string();
}

std::string did_you_mean(std::string_view key, const std::vector<std::string>& candidates) {
  const std::string c = closest(key, candidates);
  return c.empty() ? std::string() : fmt::format(" (did you mean '{}'?)", c);
}

std::string list(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) {
    if (!out.empty()) out += ", ";
    out += i;
  }
  return out;
}

problem at(const context& c, const toml::source_region& r, std::string key, std::string message) {
  return problem{c.source, static_cast<std::uint32_t>(r.begin.line),
                 static_cast<std::uint32_t>(r.begin.column), std::move(key), std::move(message)};
}

/// Reads one TOML table of known keys (a Fluent Bit style config map, one call per key): every
/// value is type- and range-checked, and finish() reports the keys nobody asked for.
class table_reader {
 public:
  table_reader(context& c, const toml::table* t, std::string path)
      : c_(c), t_(c.schema ? nullptr : t), path_(std::move(path)) {}

  std::string path(std::string_view key) const {
    return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
  }

  /// Marks `key` known; returns its node when present.
  const toml::node* find(std::string_view key) {
    known_.emplace_back(key);
    if (c_.schema) c_.schema->push_back(path(key));
    return t_ ? t_->get(key) : nullptr;
  }

  void error(const toml::node& n, std::string_view key, std::string message) {
    c_.errors.push_back(at(c_, n.source(), path(key), std::move(message)));
  }

  void warning(const toml::node& n, std::string_view key, std::string message) {
    c_.warnings.push_back(at(c_, n.source(), path(key), std::move(message)));
  }

  void type_error(const toml::node& n, std::string_view key, std::string_view expected) {
    error(n, key, fmt::format("expected {}, got {}", expected, type_name(n.type())));
  }

  /// An integer in [min, max]; `allowed` replaces the default "between min and max" wording.
  template <class T>
  const toml::node* integer(std::string_view key, T& out, std::int64_t min, std::int64_t max,
                            std::string_view allowed = {}) {
    const toml::node* n = find(key);
    if (!n) return nullptr;
    if (!n->is_integer()) {
      type_error(*n, key, "integer");
      return nullptr;
    }
    const std::int64_t v = n->as_integer()->get();
    if (v < min || v > max) {
      error(*n, key,
            allowed.empty() ? fmt::format("must be between {} and {}, got {}", min, max, v)
                            : fmt::format("{}, got {}", allowed, v));
      return nullptr;
    }
    out = static_cast<T>(v);
    return n;
  }

  /// An integer or float in [min, max] (finite).
  const toml::node* number(std::string_view key, double& out, double min, double max,
                           std::string_view unit = {}, std::string_view hint = {}) {
    const toml::node* n = find(key);
    if (!n) return nullptr;
    double v = 0.0;
    if (n->is_integer()) {
      v = static_cast<double>(n->as_integer()->get());
    } else if (n->is_floating_point()) {
      v = n->as_floating_point()->get();
    } else {
      type_error(*n, key, "number");
      return nullptr;
    }
    if (!std::isfinite(v) || v < min || v > max) {
      error(*n, key,
            fmt::format("must be between {} and {}{}{}, got {}{}", min, max,
                        unit.empty() ? "" : " ", unit, v, hint));
      return nullptr;
    }
    out = v;
    return n;
  }

  const toml::node* boolean(std::string_view key, bool& out) {
    const toml::node* n = find(key);
    if (!n) return nullptr;
    if (!n->is_boolean()) {
      type_error(*n, key, "boolean (true or false)");
      return nullptr;
    }
    out = n->as_boolean()->get();
    return n;
  }

  /// A string; `non_empty` makes "" an error.
  const toml::node* string(std::string_view key, std::string& out, bool non_empty) {
    const toml::node* n = find(key);
    if (!n) return nullptr;
    if (!n->is_string()) {
      type_error(*n, key, "string");
      return nullptr;
    }
    if (non_empty && n->as_string()->get().empty()) {
      error(*n, key, "must not be empty");
      return nullptr;
    }
    out = n->as_string()->get();
    return n;
  }

  /// A string from a fixed set.
  const toml::node* one_of(std::string_view key, std::string& out,
                           std::initializer_list<std::string_view> allowed) {
    std::string v;
    const toml::node* n = string(key, v, false);
    if (!n) return nullptr;
    if (std::find(allowed.begin(), allowed.end(), v) == allowed.end()) {
      std::string names;
      std::vector<std::string> candidates;
      for (auto a : allowed) {
        names += names.empty() ? "" : ", ";
        names += fmt::format("\"{}\"", a);
        candidates.emplace_back(a);
      }
      error(*n, key,
            fmt::format("must be one of {}, got \"{}\"{}", names, v, did_you_mean(v, candidates)));
      return nullptr;
    }
    out = v;
    return n;
  }

  /// A sub-table; a present non-table is a type error.
  const toml::table* table(std::string_view key) {
    const toml::node* n = find(key);
    if (!n) return nullptr;
    if (!n->is_table()) {
      type_error(*n, key, "table");
      return nullptr;
    }
    return n->as_table();
  }

  /// An array; a present non-array is a type error.
  const toml::array* array(std::string_view key, std::string_view expected) {
    const toml::node* n = find(key);
    if (!n) return nullptr;
    if (!n->is_array()) {
      type_error(*n, key, expected);
      return nullptr;
    }
    return n->as_array();
  }

  /// Reports every key of the table that no reader asked for, with the closest known key.
  void finish(std::string (*extra_hint)(std::string_view) = nullptr) {
    if (!t_) return;
    for (const auto& [k, v] : *t_) {
      if (std::find(known_.begin(), known_.end(), k.str()) != known_.end()) continue;
      std::string hint = did_you_mean(k.str(), known_);
      if (hint.empty() && extra_hint) hint = extra_hint(k.str());
      c_.errors.push_back(
          at(c_, k.source(), path(k.str()),
             fmt::format("unknown key{}; known keys here: {}", hint, list(known_))));
    }
  }

 private:
  context& c_;
  const toml::table* t_;
  std::string path_;
  std::vector<std::string> known_;
};

/// Plausible limit ranges per vital (reference/clinical.md, "Plausibility").
struct limit_range {
  double min;
  double max;
};

limit_range range_of(vital_kind k) {
  switch (k) {
    case vital_kind::heart_rate:
      return {20.0, 250.0};
    case vital_kind::spo2:
      return {50.0, 100.0};
    case vital_kind::glucose:
      return {20.0, 600.0};
  }
  return {0.0, 0.0};
}

/// Which detector a configurable rule belongs to; it decides which keys the rule takes.
enum class rule_family { threshold, glucose, news2, baseline };

/// A rule that [rules.NAME] and [patients.rules.NAME] may change.
struct rule_desc {
  std::string name;
  vital_kind kind = vital_kind::heart_rate;
  rule_family family = rule_family::threshold;
  double limit_min = 0.0;  ///< limit range; equal bounds: the rule takes no limit
  double limit_max = 0.0;
  std::string unit;  ///< unit of limit and hysteresis
};

/// Every configurable rule: the threshold rules, then the glucose and NEWS2 detectors' rules.
std::vector<rule_desc> rule_catalog() {
  std::vector<rule_desc> out;
  for (const auto& r : core::default_rules()) {
    const auto range = range_of(r.kind);
    out.push_back({r.name, r.kind, rule_family::threshold, range.min, range.max,
                   std::string(core::canonical_unit(r.kind))});
  }
  const auto glucose = range_of(vital_kind::glucose);
  out.push_back({std::string(core::glucose_urgent_low_soon_rule), vital_kind::glucose,
                 rule_family::glucose, glucose.min, glucose.max, "mg/dL"});
  out.push_back({std::string(core::glucose_falling_fast_rule), vital_kind::glucose,
                 rule_family::glucose, 0.5, 20.0, "mg/dL/min"});
  out.push_back({std::string(core::glucose_rising_fast_rule), vital_kind::glucose,
                 rule_family::glucose, 0.5, 20.0, "mg/dL/min"});
  out.push_back({std::string(core::glucose_persistent_high_rule), vital_kind::glucose,
                 rule_family::glucose, glucose.min, glucose.max, "mg/dL"});
  out.push_back({std::string(core::baseline_detector::hr_rule), vital_kind::heart_rate,
                 rule_family::baseline, 1.0, 100.0, "/min"});
  out.push_back({std::string(core::baseline_detector::cardio_rule), vital_kind::heart_rate,
                 rule_family::baseline, 1.0, 50.0, "SD"});
  out.push_back({std::string(core::news2_urgent_rule), vital_kind::heart_rate, rule_family::news2,
                 0.0, 0.0, ""});
  out.push_back({std::string(core::news2_emergency_rule), vital_kind::heart_rate,
                 rule_family::news2, 0.0, 0.0, ""});
  return out;
}

/// Reads a [rules.<name>] or [patients.rules.<name>] table into an override.
core::rule_override read_override(context& c, const toml::table* t, const std::string& path,
                                  const rule_desc& rule) {
  core::rule_override o;
  table_reader r(c, t, path);
  if (rule.limit_min < rule.limit_max) {
    double limit = 0.0;
    std::string hint;
    if (rule.unit == "mg/dL") hint = " (glucose limits are in mg/dL; 1 mmol/L = 18.016 mg/dL)";
    if (r.number("limit", limit, rule.limit_min, rule.limit_max, rule.unit, hint)) {
      o.limit = limit;
    }
  }
  double duration_s = 0.0;
  const double max_duration_s = rule.family == rule_family::threshold ? 3600.0 : 86400.0;
  if (r.number("min_duration_s", duration_s, 0.0, max_duration_s, "s")) {
    o.min_duration = std::chrono::milliseconds(std::llround(duration_s * 1000.0));
  }
  if (rule.family == rule_family::threshold || rule.family == rule_family::glucose) {
    std::int64_t readings = 1;
    if (r.integer("min_readings", readings, 1, 1000)) {
      o.min_readings = static_cast<std::uint16_t>(readings);
    }
  }
  if (rule.family == rule_family::threshold) {
    double area = 0.0;
    if (r.number("area_limit", area, 0.0, 1.0e6, fmt::format("{}·s", rule.unit))) {
      o.area_limit = area;
    }
  }
  if (rule.family != rule_family::news2) {
    double hysteresis = 0.0;
    if (r.number("hysteresis", hysteresis, 0.0, 100.0, rule.unit)) o.hysteresis = hysteresis;
  }
  std::string level;
  if (r.one_of("priority", level, {"low", "medium", "high"})) {
    o.level = level == "low" ? priority::low : level == "high" ? priority::high : priority::medium;
  }
  bool enabled = true;
  if (const auto* n = r.boolean("enabled", enabled)) {
    o.enabled = enabled;
    if (!enabled && rule.name == "glucose_urgent_low") {
      r.warning(*n, "enabled",
                "urgent low glucose alerts are switched off (CGM systems do not allow this)");
    }
  }
  r.finish();
  return o;
}

/// Reads a table of rule overrides keyed by rule name (`[rules]` or `[patients.rules]`).
std::map<std::string, core::rule_override> read_rules(context& c, const toml::table* t,
                                                      const std::string& path,
                                                      const std::vector<rule_desc>& rules) {
  std::map<std::string, core::rule_override> out;
  std::vector<std::string> names;
  for (const auto& r : rules) names.push_back(r.name);
  if (c.schema) {
    for (const auto& r : rules) read_override(c, nullptr, path + "." + r.name, r);
    return out;
  }
  if (!t) return out;
  for (const auto& [k, v] : *t) {
    const std::string name(k.str());
    const std::string key = path + "." + name;
    const auto rule = std::find_if(rules.begin(), rules.end(),
                                   [&](const rule_desc& r) { return r.name == name; });
    if (rule == rules.end()) {
      c.errors.push_back(
          at(c, k.source(), key,
             fmt::format("unknown rule{}; rules: {}", did_you_mean(name, names), list(names))));
      continue;
    }
    if (!v.is_table()) {
      c.errors.push_back(
          at(c, v.source(), key, fmt::format("expected table, got {}", type_name(v.type()))));
      continue;
    }
    out[name] = read_override(c, v.as_table(), key, *rule);
  }
  return out;
}

/// Applies a global [rules.NAME] override of a NEWS2 rule to its defaults.
void apply_news2(core::news2_rule_settings& n, const core::rule_override& o) {
  if (o.enabled) n.enabled = *o.enabled;
  if (o.level) n.level = *o.level;
  if (o.min_duration) n.min_duration = *o.min_duration;
}

/// Applies the [rules.*] overrides to the defaults of whichever detector owns each rule.
void apply_global_rules(const std::map<std::string, core::rule_override>& overrides, settings& s) {
  for (auto& rule : s.detector.rules) {
    const auto o = overrides.find(rule.name);
    if (o != overrides.end()) rule = core::apply(rule, o->second);
  }
  const std::pair<std::string_view, core::glucose_rule_settings*> glucose[] = {
      {core::glucose_urgent_low_soon_rule, &s.glucose.urgent_low_soon},
      {core::glucose_falling_fast_rule, &s.glucose.falling_fast},
      {core::glucose_rising_fast_rule, &s.glucose.rising_fast},
      {core::glucose_persistent_high_rule, &s.glucose.persistent_high},
  };
  for (const auto& [name, target] : glucose) {
    const auto o = overrides.find(std::string(name));
    if (o != overrides.end()) *target = core::apply(*target, o->second);
  }
  const std::pair<std::string_view, core::news2_rule_settings*> news2[] = {
      {core::news2_urgent_rule, &s.news2.urgent},
      {core::news2_emergency_rule, &s.news2.emergency},
  };
  for (const auto& [name, target] : news2) {
    const auto o = overrides.find(std::string(name));
    if (o != overrides.end()) apply_news2(*target, o->second);
  }
  auto& b = s.baseline;
  const auto minutes_of = [](std::chrono::milliseconds d) {
    return std::chrono::ceil<std::chrono::minutes>(d);
  };
  if (const auto o = overrides.find(std::string(core::baseline_detector::hr_rule));
      o != overrides.end()) {
    if (o->second.enabled) b.hr_enabled = *o->second.enabled;
    if (o->second.limit) b.hr_limit = *o->second.limit;
    if (o->second.hysteresis) b.hr_hysteresis = *o->second.hysteresis;
    if (o->second.min_duration) b.hr_min_duration = minutes_of(*o->second.min_duration);
    if (o->second.level) b.level = *o->second.level;
  }
  if (const auto o = overrides.find(std::string(core::baseline_detector::cardio_rule));
      o != overrides.end()) {
    if (o->second.enabled) b.cardio_enabled = *o->second.enabled;
    if (o->second.limit) b.cardio_limit = *o->second.limit;
    if (o->second.hysteresis) b.cardio_hysteresis = *o->second.hysteresis;
    if (o->second.min_duration) b.cardio_min_duration = minutes_of(*o->second.min_duration);
    if (o->second.level) b.level = *o->second.level;
  }
}

void read_baseline(context& c, const toml::table* t, core::baseline_settings& b) {
  table_reader r(c, t, "baseline");
  std::int64_t buckets = b.buckets;
  if (const auto* n = r.integer("buckets", buckets, 1, 6)) {
    if (24 % buckets != 0 || buckets == 5) {
      r.error(*n, "buckets",
              fmt::format("must be 1, 2, 3, 4 or 6 (equal parts of a day), got {}", buckets));
    } else {
      b.buckets = static_cast<int>(buckets);
    }
  }
  r.integer("utc_offset_min", b.utc_offset_minutes, -720, 840);
  std::int64_t hours = b.warmup_total.count() / 60;
  if (r.integer("warmup_h", hours, 0, 24 * 30)) b.warmup_total = std::chrono::hours(hours);
  r.number("learning_days", b.learning_days, 0.1, 3650.0, "days");
  std::int64_t window = b.short_window.count();
  if (r.integer("short_window_min", window, 1, 240)) b.short_window = std::chrono::minutes(window);
  r.finish();
}

/// Checks an id that becomes a core::short_id.
bool valid_id(table_reader& r, const toml::node* n, std::string_view key, const std::string& v) {
  if (!n) return false;
  if (v.size() > core::short_id::max_size) {
    r.error(*n, key,
            fmt::format("must be at most {} bytes, got {}", core::short_id::max_size, v.size()));
    return false;
  }
  return true;
}

/// Reads the element tables of an array of tables ([[devices]], [[patients]]).
template <class F>
void each_table(context& c, table_reader& parent, std::string_view key, F&& read_element) {
  if (c.schema) {
    read_element(nullptr, fmt::format("{}[]", parent.path(key)));
    parent.find(key);
    return;
  }
  const toml::array* a = parent.array(key, "array of tables ([[" + std::string(key) + "]])");
  if (!a) return;
  for (std::size_t i = 0; i < a->size(); ++i) {
    const toml::node& e = *a->get(i);
    const std::string path = fmt::format("{}[{}]", parent.path(key), i);
    if (!e.is_table()) {
      c.errors.push_back(
          at(c, e.source(), path, fmt::format("expected table, got {}", type_name(e.type()))));
      continue;
    }
    read_element(e.as_table(), path);
  }
}

/// Reads a secret (password, token, signing key) from the file named by `key`: secrets never sit
/// in the config itself or on the command line. `what` names the secret in messages.
void read_secret_file(table_reader& r, const toml::node& n, std::string_view key,
                      std::string_view what, const std::string& file, std::string& out) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const auto st = fs::status(file, ec);
  if (ec || !fs::exists(st)) {
    r.error(n, key,
            fmt::format("cannot read {} file '{}': {}", what, file,
                        ec ? ec.message() : std::string("no such file")));
    return;
  }
  if (!fs::is_regular_file(st)) {
    r.error(n, key, fmt::format("{} file '{}' is not a regular file", what, file));
    return;
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    r.error(n, key, fmt::format("cannot read {} file '{}': {}", what, file, std::strerror(errno)));
    return;
  }
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  if (text.empty()) {
    r.error(n, key, fmt::format("{} file '{}' is empty", what, file));
    return;
  }
  const auto others = fs::perms::group_read | fs::perms::group_write | fs::perms::others_read |
                      fs::perms::others_write;
  if ((st.permissions() & others) != fs::perms::none) {
    r.warning(n, key,
              fmt::format("{} file '{}' is accessible by group or others (mode {:04o}); "
                          "chmod 600 it",
                          what, file, static_cast<unsigned>(st.permissions() & fs::perms::mask)));
  }
  out = std::move(text);
}

void read_password(table_reader& r, const toml::node& n, const std::string& file,
                   std::string& out) {
  read_secret_file(r, n, "password_file", "password", file, out);
}

void read_mqtt(context& c, const toml::table* t, mqtt_settings& m) {
  table_reader r(c, t, "mqtt");
  if (const auto* n = r.string("broker", m.broker, true)) {
    const std::string& b = m.broker;
    const auto scheme_end = b.find("://");
    static const std::vector<std::string> schemes{"tcp", "ssl", "mqtt", "mqtts", "ws", "wss"};
    const std::string scheme = scheme_end == std::string::npos ? "" : b.substr(0, scheme_end);
    const std::string rest = scheme_end == std::string::npos ? "" : b.substr(scheme_end + 3);
    if (std::find(schemes.begin(), schemes.end(), scheme) == schemes.end() || rest.empty()) {
      r.error(*n, "broker",
              fmt::format("expected a URI such as \"tcp://localhost:1883\" (schemes: {}), got "
                          "\"{}\"",
                          list(schemes), b));
    } else if (rest.substr(0, rest.find('/')).find('@') != std::string::npos) {
      // Don't echo the value: it holds credentials.
      r.error(*n, "broker",
              "must not contain credentials; use mqtt.username and mqtt.password_file");
    }
  }
  r.string("client_id", m.client_id, true);
  if (const toml::array* a = r.array("topics", "array of strings")) {
    std::vector<std::string> topics;
    for (std::size_t i = 0; i < a->size(); ++i) {
      const toml::node& e = *a->get(i);
      const std::string key = fmt::format("topics[{}]", i);
      if (!e.is_string()) {
        r.type_error(e, key, "string");
      } else if (e.as_string()->get().empty()) {
        r.error(e, key, "must not be empty");
      } else {
        topics.push_back(e.as_string()->get());
      }
    }
    if (a->empty()) {
      r.error(*a, "topics", "must name at least one topic");
    } else if (topics.size() == a->size()) {
      m.topics = std::move(topics);
    }
  }
  r.integer("qos", m.qos, 0, 1, "must be 0 or 1 (QoS 2 is not supported)");
  r.boolean("clean_session", m.clean_session);
  r.integer("keep_alive_s", m.keep_alive_s, 1, 65535);
  const auto* user = r.string("username", m.username, false);
  const auto* pw = r.string("password_file", m.password_file, false);
  if (pw && !m.password_file.empty()) {
    read_password(r, *pw, m.password_file, m.password);
    if (m.username.empty()) {
      r.error(*pw, "password_file",
              "is set but mqtt.username is not (MQTT sends a password only "
              "with a user name)");
    }
  }
  r.integer("max_payload_bytes", m.max_payload_bytes, 1, 268435455);
  const auto* rmin = r.integer("reconnect_min_s", m.reconnect_min_s, 1, 3600);
  const auto* rmax = r.integer("reconnect_max_s", m.reconnect_max_s, 1, 3600);
  if ((rmin || rmax) && m.reconnect_max_s < m.reconnect_min_s) {
    r.error(rmax ? *rmax : *rmin, rmax ? "reconnect_max_s" : "reconnect_min_s",
            fmt::format("reconnect_max_s ({}) must not be less than reconnect_min_s ({})",
                        m.reconnect_max_s, m.reconnect_min_s));
  }
  r.integer("max_future_h", m.max_future_h, 1, 8760);
  r.finish();
  if (user && !m.username.empty() && m.password_file.empty() && !c.schema) {
    // Not an error: some brokers authenticate by user name alone (or by client certificate).
    c.warnings.push_back(at(c, user->source(), "mqtt.username",
                            "is set without mqtt.password_file: connecting without a password"));
  }
}

void read_store(context& c, const toml::table* t, store_settings& s) {
  table_reader r(c, t, "store");
  r.string("path", s.path, true);
  const auto* rows = r.integer("batch_rows", s.batch_rows, 1, 1000000);
  r.integer("batch_interval_ms", s.batch_interval_ms, 1, 60000);
  r.one_of("synchronous", s.synchronous, {"normal", "full"});
  const auto* queued = r.integer("max_queued_rows", s.max_queued_rows, 1, 100000000);
  if ((rows || queued) && s.max_queued_rows < s.batch_rows) {
    r.error(queued ? *queued : *rows, queued ? "max_queued_rows" : "batch_rows",
            fmt::format("max_queued_rows ({}) must be at least batch_rows ({})", s.max_queued_rows,
                        s.batch_rows));
  }
  r.finish();
}

void read_pipeline(context& c, const toml::table* t, pipeline_settings& p) {
  table_reader r(c, t, "pipeline");
  constexpr std::int64_t max_ring = std::int64_t{1} << 24;
  std::int64_t ring = 0;
  if (const auto* n = r.integer("ring_capacity", ring, 2, max_ring,
                                fmt::format("must be a power of two between 2 and {}", max_ring))) {
    const auto u = static_cast<std::uint64_t>(ring);
    if (!std::has_single_bit(u)) {
      r.error(*n, "ring_capacity",
              fmt::format("must be a power of two between 2 and {} (e.g. {} or {}), got {}",
                          max_ring, std::bit_floor(u), std::bit_ceil(u), ring));
    } else {
      p.ring_capacity = static_cast<std::size_t>(ring);
    }
  }
  r.integer("push_timeout_ms", p.push_timeout_ms, 0, 60000);
  r.integer("batch_max", p.batch_max, 1, 1048576);
  if (const auto* n = r.boolean("detection", p.detection); n && !p.detection) {
    r.warning(*n, "detection",
              "physiological detection is switched off: readings are stored, no alert is raised");
  }
  r.finish();
}

void read_stale(context& c, const toml::table* t, core::stale_settings& st) {
  table_reader r(c, t, "stale");
  for (const auto kind : {vital_kind::heart_rate, vital_kind::spo2, vital_kind::glucose}) {
    auto& lim = st.limits[static_cast<std::size_t>(kind)];
    const auto name = std::string(core::to_string(kind));
    const toml::node* urgent_node = nullptr;
    for (const bool urgent : {false, true}) {
      auto& value = urgent ? lim.urgent : lim.warning;
      double minutes = static_cast<double>(value.count()) / 60000.0;
      const auto* n =
          r.number(name + (urgent ? "_urgent_min" : "_warning_min"), minutes, 0.0, 1440.0, "min");
      if (n) value = std::chrono::milliseconds(std::llround(minutes * 60000.0));
      if (urgent) urgent_node = n;
    }
    if (urgent_node && lim.warning.count() > 0 && lim.urgent.count() > 0 &&
        lim.urgent < lim.warning) {
      r.error(*urgent_node, name + "_urgent_min",
              fmt::format("must not be less than {}_warning_min", name));
    }
  }
  r.finish();
}

void read_log(context& c, const toml::table* t, log_settings& l) {
  table_reader r(c, t, "log");
  r.one_of("level", l.level, {"trace", "debug", "info", "warn", "error"});
  r.one_of("format", l.format, {"text", "json"});
  r.boolean("include_phi", l.include_phi);
  r.finish();
}

void read_devices(context& c, table_reader& root, settings& s) {
  std::set<std::string> seen;
  each_table(c, root, "devices", [&](const toml::table* t, const std::string& path) {
    table_reader r(c, t, path);
    device_mapping d;
    const auto* id = r.string("id", d.id, true);
    const auto* patient = r.string("patient", d.patient, true);
    r.finish();
    if (c.schema) return;
    bool ok = valid_id(r, id, "id", d.id);
    ok = valid_id(r, patient, "patient", d.patient) && ok;
    if (!id && !t->contains("id")) {
      c.errors.push_back(at(c, t->source(), path + ".id", "missing (each device needs an id)"));
    }
    if (!patient && !t->contains("patient")) {
      c.errors.push_back(
          at(c, t->source(), path + ".patient", "missing (each device needs a patient)"));
    }
    if (ok && !seen.insert(d.id).second) {
      r.error(*id, "id", fmt::format("duplicate device id \"{}\"", d.id));
      ok = false;
    }
    if (ok) s.devices.push_back(std::move(d));
  });
}

void read_patients(context& c, table_reader& root, settings& s) {
  const auto rules = rule_catalog();
  each_table(c, root, "patients", [&](const toml::table* t, const std::string& path) {
    table_reader r(c, t, path);
    std::string id;
    const auto* id_node = r.string("id", id, true);
    std::int64_t scale = 1;
    const auto* scale_node = r.integer("spo2_scale", scale, 1, 2);
    bool oxygen = false;
    const auto* oxygen_node = r.boolean("on_oxygen", oxygen);
    std::int32_t offset = 0;
    const auto* offset_node = r.integer("utc_offset_min", offset, -720, 840);
    std::string care_team;
    const auto* team_node = r.string("care_team", care_team, true);
    std::string diabetes;
    const auto* diabetes_node = r.one_of("diabetes", diabetes, {"type1", "type2", "none"});
    const toml::table* rt = r.table("rules");
    auto overrides = read_rules(c, rt, path + ".rules", rules);
    r.finish();
    if (c.schema) return;
    if (!id_node) {
      if (!t->contains("id")) {
        c.errors.push_back(at(c, t->source(), path + ".id", "missing (each patient needs an id)"));
      }
      return;
    }
    if (!valid_id(r, id_node, "id", id)) return;
    if (s.detector.patients.contains(id)) {
      r.error(*id_node, "id", fmt::format("duplicate patient id \"{}\"", id));
      return;
    }
    if (scale_node || oxygen_node) {
      s.news2.patient_context[id] = core::news2_patient{
          scale == 2 ? core::spo2_scale::scale2 : core::spo2_scale::scale1, oxygen};
    }
    if (offset_node) s.baseline.patient_utc_offset_minutes[id] = offset;
    if (team_node) s.alerts.lifecycle.care_teams[id] = care_team;
    if (diabetes_node) {
      const auto type = *core::parse_diabetes_type(diabetes);
      s.patient_diabetes[id] = type;
      core::apply_diabetes_type(overrides, type);  // the patient's own [patients.rules] win
    }
    s.detector.patients.emplace(id, std::move(overrides));
  });
}

/// An array of non-empty strings; returns its node when present and valid.
const toml::node* string_list(table_reader& r, std::string_view key,
                              std::vector<std::string>& out) {
  const toml::array* a = r.array(key, "array of strings");
  if (!a) return nullptr;
  std::vector<std::string> items;
  for (std::size_t i = 0; i < a->size(); ++i) {
    const toml::node& e = *a->get(i);
    const std::string k = fmt::format("{}[{}]", key, i);
    if (!e.is_string()) {
      r.type_error(e, k, "string");
      return nullptr;
    }
    if (e.as_string()->get().empty()) {
      r.error(e, k, "must not be empty");
      return nullptr;
    }
    items.push_back(e.as_string()->get());
  }
  out = std::move(items);
  return a;
}

/// A duration given in (possibly fractional) units of `unit_ms`, e.g. seconds or minutes.
template <class Duration>
const toml::node* duration(table_reader& r, std::string_view key, Duration& out, double min,
                           double max, std::string_view unit) {
  using ms = std::chrono::duration<double, std::milli>;
  const double per_unit = unit == "min" ? 60000.0 : unit == "h" ? 3600000.0 : 1000.0;
  double v = std::chrono::duration_cast<ms>(out).count() / per_unit;
  const toml::node* n = r.number(key, v, min, max, unit);
  if (n) out = std::chrono::duration_cast<Duration>(ms(v * per_unit));
  return n;
}

void read_alerts(context& c, const toml::table* t, alert_settings& a) {
  table_reader r(c, t, "alerts");
  auto& l = a.lifecycle;
  duration(r, "flap_window_s", l.flap_window, 0.0, 3600.0, "s");
  r.boolean("latch_high", l.latch_high);
  duration(r, "max_snooze_min", l.max_snooze, 1.0, 24 * 60.0, "min");
  const auto* high = duration(r, "max_snooze_high_min", l.max_snooze_high, 1.0, 24 * 60.0, "min");
  if (high && l.max_snooze_high > l.max_snooze) {
    r.error(*high, "max_snooze_high_min", "must not be more than max_snooze_min");
  }
  r.boolean("inhibit", l.inhibit);
  r.integer("utc_offset_min", l.utc_offset_min, -720, 840);
  if (const auto* n = r.string("command_topic", a.command_topic, false);
      n && a.command_topic.find_first_of("+#") != std::string::npos) {
    r.error(*n, "command_topic", "must be a plain topic, without the wildcards + and #");
  }
  r.string("client_id", a.client_id, true);
  r.finish();
}

void read_api(context& c, const toml::table* t, api_settings& a) {
  table_reader r(c, t, "api");
  r.boolean("enabled", a.enabled);
  r.string("listen", a.listen, true);
  r.integer("port", a.port, 0, 65535);
  r.boolean("metrics_auth", a.metrics_auth);
  std::set<std::string> names;
  each_table(c, r, "tokens", [&](const toml::table* tt, const std::string& path) {
    table_reader tr(c, tt, path);
    api_token_settings tok;
    const auto* name = tr.string("name", tok.name, true);
    const auto* file = tr.string("token_file", tok.token_file, true);
    tr.one_of("role", tok.role, {"read", "ack"});
    tr.finish();
    if (c.schema) return;
    if (!name || !file) {
      if (!tt->contains("name") || !tt->contains("token_file")) {
        c.errors.push_back(at(c, tt->source(), path,
                              "each API token needs a name and a token_file (the token itself "
                              "never goes in the config)"));
      }
      return;
    }
    if (!names.insert(tok.name).second) {
      tr.error(*name, "name", fmt::format("duplicate token name \"{}\"", tok.name));
      return;
    }
    read_secret_file(tr, *file, "token_file", "token", tok.token_file, tok.token);
    if (!tok.token.empty() && tok.token.size() < 16) {
      tr.error(*file, "token_file", "the token must be at least 16 characters");
      return;
    }
    if (!tok.token.empty()) a.tokens.push_back(std::move(tok));
  });
  r.finish();
}

void read_receivers(context& c, table_reader& root, std::vector<receiver_config>& out) {
  std::set<std::string> names;
  each_table(c, root, "receivers", [&](const toml::table* t, const std::string& path) {
    table_reader r(c, t, path);
    receiver_config rc;
    const auto* name = r.string("name", rc.name, true);
    const auto* type =
        r.one_of("type", rc.type, {"webhook", "alertmanager", "pagerduty", "ntfy", "mqtt", "fhir"});
    const auto* url = r.string("url", rc.url, false);
    const auto* secret = r.string("secret_file", rc.secret_file, false);
    r.string("topic", rc.topic, false);
    r.string("external_url", rc.external_url, false);
    r.string("ca_file", rc.ca_file, false);
    const auto* verify = r.boolean("verify_tls", rc.verify_tls);
    r.number("timeout_s", rc.timeout_s, 0.1, 300.0, "s");
    r.number("backoff_min_s", rc.backoff_min_s, 0.01, 3600.0, "s");
    const auto* bmax = r.number("backoff_max_s", rc.backoff_max_s, 0.01, 86400.0, "s");
    r.integer("max_attempts", rc.max_attempts, 0, 1000000);
    r.number("rate_per_min", rc.rate_per_min, 0.01, 100000.0, "per minute");
    r.integer("burst", rc.burst, 1, 10000);
    r.finish();
    if (c.schema) return;
    if (!name || !type) {
      // Present but invalid values were reported already.
      if (!t->contains("name") || !t->contains("type")) {
        c.errors.push_back(at(c, t->source(), path, "each receiver needs a name and a type"));
      }
      return;
    }
    if (!names.insert(rc.name).second) {
      r.error(*name, "name", fmt::format("duplicate receiver name \"{}\"", rc.name));
      return;
    }
    if (bmax && rc.backoff_max_s < rc.backoff_min_s) {
      r.error(*bmax, "backoff_max_s", "must not be less than backoff_min_s");
    }
    if (rc.type != "mqtt") {
      const bool http = rc.url.rfind("http://", 0) == 0 || rc.url.rfind("https://", 0) == 0;
      if (!http) {
        if (url) {
          r.error(*url, "url",
                  fmt::format("must be an http:// or https:// URL, got \"{}\"", rc.url));
        } else {
          c.errors.push_back(at(c, t->source(), path + ".url",
                                fmt::format("missing (a {} receiver needs a URL)", rc.type)));
        }
      } else if (rc.url.substr(0, rc.url.find('/', 8)).find('@') != std::string::npos) {
        r.error(*url, "url", "must not contain credentials; use secret_file");
      }
    }
    if (rc.type == "pagerduty" && !secret) {
      c.errors.push_back(at(c, t->source(), path + ".secret_file",
                            "missing (PagerDuty needs the integration's routing key, in a file)"));
    }
    if (rc.type == "ntfy" && rc.topic.empty()) {
      c.errors.push_back(
          at(c, t->source(), path + ".topic", "missing (ntfy publishes to a topic)"));
    }
    if (secret && !rc.secret_file.empty()) {
      read_secret_file(r, *secret, "secret_file", "secret", rc.secret_file, rc.secret);
    }
    if (verify && !rc.verify_tls) {
      r.warning(*verify, "verify_tls",
                "TLS certificates of this receiver are not verified: anyone on the path can read "
                "and change alerts");
    }
    out.push_back(std::move(rc));
  });
}

/// "HH:MM-HH:MM" in local time.
std::optional<core::quiet_hours> parse_quiet_hours(std::string_view text) {
  int h1 = 0, m1 = 0, h2 = 0, m2 = 0;
  char tail = 0;
  const std::string s(text);
  if (std::sscanf(s.c_str(), "%2d:%2d-%2d:%2d%c", &h1, &m1, &h2, &m2, &tail) != 4) {
    return std::nullopt;
  }
  if (h1 < 0 || h1 > 23 || h2 < 0 || h2 > 24 || m1 < 0 || m1 > 59 || m2 < 0 || m2 > 59) {
    return std::nullopt;
  }
  return core::quiet_hours{h1 * 60 + m1, h2 * 60 + m2};
}

void read_routes(context& c, table_reader& root, const std::vector<receiver_config>& receivers,
                 std::vector<core::route>& out) {
  std::vector<std::string> receiver_names;
  for (const auto& rc : receivers) receiver_names.push_back(rc.name);
  std::set<std::string> names;
  each_table(c, root, "routes", [&](const toml::table* t, const std::string& path) {
    table_reader r(c, t, path);
    core::route rt;
    const auto* name = r.string("name", rt.name, true);
    string_list(r, "patients", rt.patients);
    string_list(r, "care_teams", rt.care_teams);
    string_list(r, "rules", rt.rules);
    std::vector<std::string> prios;
    const auto* prio_node = string_list(r, "priorities", prios);
    std::string source;
    const auto* source_node = r.one_of("source", source, {"any", "physiological", "technical"});
    double repeat_min = 0;
    if (r.number("repeat_min", repeat_min, 0.0, 7 * 24 * 60.0, "min")) {
      rt.repeat_interval = std::chrono::seconds(std::llround(repeat_min * 60));
    }
    std::string quiet;
    const auto* quiet_node = r.string("quiet_hours", quiet, false);
    bool steps_ok = true;
    each_table(c, r, "steps", [&](const toml::table* st, const std::string& spath) {
      table_reader sr(c, st, spath);
      core::escalation_step step;
      double after = 0;
      const auto* after_node = sr.number("after_min", after, 0.0, 7 * 24 * 60.0, "min");
      const auto* recv_node = string_list(sr, "receivers", step.receivers);
      sr.finish();
      if (c.schema) return;
      step.after = std::chrono::seconds(std::llround(after * 60));
      if (!recv_node || step.receivers.empty()) {
        c.errors.push_back(at(c, st->source(), spath + ".receivers",
                              "missing (each step pages at least one receiver)"));
        steps_ok = false;
        return;
      }
      for (const auto& rn : step.receivers) {
        if (std::find(receiver_names.begin(), receiver_names.end(), rn) == receiver_names.end()) {
          sr.error(
              *recv_node, "receivers",
              fmt::format(
                  "unknown receiver \"{}\"{}; receivers: {}", rn, did_you_mean(rn, receiver_names),
                  receiver_names.empty() ? std::string("none defined") : list(receiver_names)));
          steps_ok = false;
          return;
        }
      }
      if (!rt.steps.empty() && step.after < rt.steps.back().after) {
        sr.error(after_node ? *after_node : *st, "after_min",
                 "steps must be in order: after_min may not be less than the previous step's");
        steps_ok = false;
        return;
      }
      rt.steps.push_back(std::move(step));
    });
    r.finish();
    if (c.schema) return;
    if (!name) {
      c.errors.push_back(at(c, t->source(), path + ".name", "missing (each route needs a name)"));
      return;
    }
    if (!names.insert(rt.name).second) {
      r.error(*name, "name", fmt::format("duplicate route name \"{}\"", rt.name));
      return;
    }
    for (const auto& p : prios) {
      const auto level = core::parse_priority(p);
      if (!level) {
        r.error(*prio_node, "priorities",
                fmt::format("must list \"low\", \"medium\" or \"high\", got \"{}\"", p));
        return;
      }
      rt.priorities.push_back(*level);
    }
    if (source_node && source != "any") {
      rt.source =
          source == "technical" ? core::alert_source::technical : core::alert_source::physiological;
    }
    if (quiet_node && !quiet.empty()) {
      rt.quiet = parse_quiet_hours(quiet);
      if (!rt.quiet) {
        r.error(*quiet_node, "quiet_hours",
                fmt::format("expected \"HH:MM-HH:MM\" in local time, e.g. \"22:00-07:00\", got "
                            "\"{}\"",
                            quiet));
        return;
      }
    }
    if (rt.steps.empty()) {
      if (steps_ok) {
        c.errors.push_back(at(c, t->source(), path + ".steps",
                              "missing (a route needs at least one [[routes.steps]] with "
                              "receivers)"));
      }
      return;
    }
    out.push_back(std::move(rt));
  });
}

/// The preset a [[ble.gateways]] preset name stands for.
adapters::ble::gateway_preset gateway_preset_of(std::string_view name) {
  if (name == "cassia") return adapters::ble::gateway_preset::cassia;
  if (name == "custom") return adapters::ble::gateway_preset::custom;
  return adapters::ble::gateway_preset::generic;
}

/// An MQTT topic filter of a gateway: levels, '+' and a last '#', no braces.
void check_topic_filter(table_reader& r, const toml::node& n, std::string_view key,
                        const std::string& filter) {
  if (filter.find_first_of("{}") != std::string::npos) {
    r.error(n, key, fmt::format("topic filter \"{}\" must not contain '{{' or '}}'", filter));
    return;
  }
  try {
    adapters::mqtt::topic_template t(filter);
  } catch (const std::invalid_argument& e) {
    r.error(n, key, e.what());
  }
}

void read_ble_gateways(context& c, table_reader& ble, std::vector<ble_gateway_settings>& out) {
  std::set<std::string> names;
  each_table(c, ble, "gateways", [&](const toml::table* t, const std::string& path) {
    table_reader r(c, t, path);
    ble_gateway_settings g;
    const auto* name = r.string("name", g.name, true);
    r.one_of("preset", g.preset, {"cassia", "generic", "custom"});
    const auto* topics = string_list(r, "topics", g.topics);
    const auto* status = r.string("status_topic", g.status_topic, false);
    const auto* online = r.string("online_payload", g.online_payload, true);
    const auto* offline = r.string("offline_payload", g.offline_payload, true);
    // [ble.gateways.fields]: the preset's names, each key replacing one.
    const toml::table* ft = r.table("fields");
    table_reader fr(c, ft, path + ".fields");
    const auto preset = adapters::ble::preset_fields(gateway_preset_of(g.preset));
    auto& f = g.fields;
    f = {preset.type,  preset.notification, preset.device, preset.uuid,         preset.handle,
         preset.value, preset.time,         preset.state,  preset.session_start};
    const std::pair<std::string_view, std::string*> field_keys[] = {
        {"type", &f.type},
        {"notification", &f.notification},
        {"device", &f.device},
        {"uuid", &f.uuid},
        {"handle", &f.handle},
        {"value", &f.value},
        {"time", &f.time},
        {"state", &f.state},
        {"session_start", &f.session_start}};
    for (const auto& [key, target] : field_keys) fr.string(key, *target, false);
    fr.finish();
    r.finish();
    if (c.schema) return;
    if (!name) {
      if (!t->contains("name")) {
        c.errors.push_back(
            at(c, t->source(), path + ".name", "missing (each gateway needs a name)"));
      }
      return;
    }
    if (!names.insert(g.name).second) {
      r.error(*name, "name", fmt::format("duplicate gateway name \"{}\"", g.name));
      return;
    }
    if (!topics) {
      if (!t->contains("topics")) {
        c.errors.push_back(at(c, t->source(), path + ".topics",
                              "missing (the MQTT topic filters the gateway publishes on)"));
      }
    } else if (g.topics.empty()) {
      r.error(*topics, "topics", "must name at least one topic filter");
    } else {
      for (std::size_t i = 0; i < g.topics.size(); ++i) {
        check_topic_filter(r, *topics->as_array()->get(i), fmt::format("topics[{}]", i),
                           g.topics[i]);
      }
    }
    if (status && g.status_topic.find_first_of("+#") != std::string::npos) {
      r.error(*status, "status_topic", "must be a plain topic, without the wildcards + and #");
    }
    if ((online || offline) && g.online_payload == g.offline_payload) {
      r.error(offline ? *offline : *online, offline ? "offline_payload" : "online_payload",
              "online_payload and offline_payload must differ");
    }
    const toml::node& fields_at = ft ? static_cast<const toml::node&>(*ft) : *t;
    const std::string fields_path = ft ? path + ".fields" : path;
    if (g.preset == "custom" && !ft) {
      c.errors.push_back(at(c, t->source(), path + ".fields",
                            "missing (preset \"custom\" needs a [ble.gateways.fields] table)"));
    } else if (f.device.empty() || f.value.empty()) {
      c.errors.push_back(at(c, fields_at.source(), fields_path,
                            "the device and value field names must not be empty"));
    } else if (f.uuid.empty() && f.handle.empty()) {
      c.errors.push_back(at(c, fields_at.source(), fields_path,
                            "needs a uuid or a handle field name (which characteristic)"));
    }
    out.push_back(std::move(g));
  });
}

/// The ATT handle -> characteristic map of a device (`handles = { "16" = "2a5f" }`).
void read_handles(context& c, table_reader& r, const std::string& path,
                  std::map<std::uint16_t, std::string>& out) {
  const toml::table* t = r.table("handles");
  if (!t || c.schema) return;
  for (const auto& [k, v] : *t) {
    const std::string key = path + ".handles." + std::string(k.str());
    const std::string_view text = k.str();
    unsigned long handle = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), handle);
    if (ec != std::errc{} || end != text.data() + text.size() || handle < 1 || handle > 0xFFFF) {
      c.errors.push_back(
          at(c, k.source(), key,
             fmt::format("an ATT handle is a decimal number 1..65535, got \"{}\"", text)));
      continue;
    }
    if (!v.is_string()) {
      c.errors.push_back(
          at(c, v.source(), key, fmt::format("expected string, got {}", type_name(v.type()))));
      continue;
    }
    const auto ch = adapters::ble::parse_characteristic(v.as_string()->get());
    if (!ch) {
      c.errors.push_back(
          at(c, v.source(), key,
             fmt::format("unknown characteristic \"{}\"; known: 2a37 (heart_rate_measurement), "
                         "2a5e (plx_spot_check), 2a5f (plx_continuous), 2aa7 (cgm_measurement), "
                         "2aaa (cgm_session_start_time)",
                         v.as_string()->get())));
      continue;
    }
    out[static_cast<std::uint16_t>(handle)] = std::string(adapters::ble::to_string(*ch));
  }
}

void read_ble_devices(context& c, table_reader& ble, const std::vector<ble_gateway_settings>& gws,
                      std::vector<ble_device_settings>& out) {
  std::vector<std::string> gateway_names;
  for (const auto& g : gws) gateway_names.push_back(g.name);
  std::map<std::string, std::size_t> addresses;  // normalised address -> index in the file
  std::size_t index = 0;
  each_table(c, ble, "devices", [&](const toml::table* t, const std::string& path) {
    table_reader r(c, t, path);
    ble_device_settings d;
    std::string address;
    const auto* address_node = r.string("address", address, true);
    const auto* patient = r.string("patient", d.patient, true);
    const auto* device = r.string("device", d.device, false);
    const auto* gateway = r.string("gateway", d.gateway, false);
    read_handles(c, r, path, d.handles);
    r.one_of("cgm_crc", d.cgm_crc, {"detect", "required", "absent"});
    std::string start;
    const auto* start_node = r.string("cgm_session_start", start, false);
    r.finish();
    if (c.schema) return;
    const std::size_t i = index++;
    bool ok = true;
    for (const char* key : {"address", "patient"}) {
      if (!t->contains(key)) {
        c.errors.push_back(at(c, t->source(), path + "." + key,
                              fmt::format("missing (each BLE device needs an address and a "
                                          "patient)")));
        ok = false;
      }
    }
    ok = ok && address_node && patient;
    ok = (!patient || valid_id(r, patient, "patient", d.patient)) && ok;
    if (device && !d.device.empty()) ok = valid_id(r, device, "device", d.device) && ok;
    if (address_node) {
      const auto normal = adapters::ble::normalize_address(address);
      if (!normal) {
        r.error(*address_node, "address",
                fmt::format("expected a BLE MAC address such as \"C0:26:DA:01:02:03\", got \"{}\"",
                            address));
        ok = false;
      } else if (const auto [it, fresh] = addresses.emplace(*normal, i); !fresh) {
        r.error(*address_node, "address",
                fmt::format("duplicate device address \"{}\" (also ble.devices[{}])", *normal,
                            it->second));
        ok = false;
      } else {
        d.address = *normal;
      }
    }
    if (gateway && !d.gateway.empty() &&
        std::find(gateway_names.begin(), gateway_names.end(), d.gateway) == gateway_names.end()) {
      r.error(
          *gateway, "gateway",
          fmt::format("unknown gateway \"{}\"{}; gateways: {}", d.gateway,
                      did_you_mean(d.gateway, gateway_names),
                      gateway_names.empty() ? std::string("none defined") : list(gateway_names)));
      ok = false;
    }
    if (start_node && !start.empty()) {
      d.cgm_session_start = adapters::mqtt::parse_rfc3339(start);
      if (!d.cgm_session_start) {
        r.error(*start_node, "cgm_session_start",
                fmt::format("expected an RFC 3339 date-time such as \"2026-11-28T00:00:00Z\", "
                            "got \"{}\"",
                            start));
        ok = false;
      }
    }
    if (ok) out.push_back(std::move(d));
  });
}

void read_ble(context& c, const toml::table* t, ble_settings& b) {
  table_reader r(c, t, "ble");
  const auto* enabled = r.boolean("enabled", b.enabled);
  r.string("client_id", b.client_id, true);
  r.integer("max_payload_bytes", b.max_payload_bytes, 1, 268435455);
  read_ble_gateways(c, r, b.gateways);
  read_ble_devices(c, r, b.gateways, b.devices);
  r.finish();
  if (c.schema || !enabled || !b.enabled) return;
  if (b.gateways.empty() && !(t && t->contains("gateways"))) {
    r.error(*enabled, "enabled",
            "the gateway source is enabled but no [[ble.gateways]] is configured");
  } else if (b.devices.empty() && !(t && t->contains("devices"))) {
    r.warning(*enabled, "enabled",
              "the gateway source is enabled but no [[ble.devices]] is configured: every "
              "notification is rejected as unknown_device");
  }
}

void read_bluez(context& c, const toml::table* t, bluez_settings& b, const ble_settings& ble) {
  table_reader r(c, t, "bluez");
  const auto* enabled = r.boolean("enabled", b.enabled);
  if (const auto* n = r.string("bus", b.bus, true);
      n && b.bus != "system" && b.bus.find(':') == std::string::npos) {
    r.error(*n, "bus",
            fmt::format("must be \"system\" or a D-Bus address such as "
                        "\"unix:path=/run/dbus/system_bus_socket\", got \"{}\"",
                        b.bus));
  }
  r.string("adapter", b.adapter, false);
  const auto* rmin = r.integer("reconnect_min_s", b.reconnect_min_s, 1, 3600);
  const auto* rmax = r.integer("reconnect_max_s", b.reconnect_max_s, 1, 3600);
  if ((rmin || rmax) && b.reconnect_max_s < b.reconnect_min_s) {
    r.error(rmax ? *rmax : *rmin, rmax ? "reconnect_max_s" : "reconnect_min_s",
            fmt::format("reconnect_max_s ({}) must not be less than reconnect_min_s ({})",
                        b.reconnect_max_s, b.reconnect_min_s));
  }
  r.finish();
  if (!c.schema && enabled && b.enabled && ble.devices.empty()) {
    r.warning(*enabled, "enabled",
              "the BlueZ source is enabled but no [[ble.devices]] is configured: it uses none");
  }
}

void read_technical(context& c, const toml::table* t, core::condition_settings& s) {
  table_reader r(c, t, "technical");
  // Rule index = device_condition bit (core/sample.hpp).
  auto& rules = s.rules;
  duration(r, "sensor_off_delay_s", rules[0].delay, 0.0, 3600.0, "s");
  duration(r, "signal_poor_delay_s", rules[1].delay, 0.0, 3600.0, "s");
  if (duration(r, "link_delay_s", rules[7].delay, 0.0, 3600.0, "s")) {
    rules[8].delay = rules[7].delay;
  }
  r.finish();
}

std::vector<std::string> known_keys_impl();

/// A key written above every section header lands at the top level: name its section.
std::string section_hint(std::string_view key) {
  static const std::vector<std::string> keys = known_keys_impl();
  for (const auto& k : keys) {
    const auto dot = k.find('.');
    if (dot == std::string::npos || k.find_first_of(".[", dot + 1) != std::string::npos) continue;
    if (k.compare(dot + 1, std::string::npos, key) == 0) {
      return fmt::format(" (did you mean '{}'? it belongs under [{}])", k, k.substr(0, dot));
    }
  }
  return {};
}

void read_all(context& c, const toml::table& root, settings& s) {
  table_reader r(c, &root, "");
  read_mqtt(c, r.table("mqtt"), s.mqtt);
  read_store(c, r.table("store"), s.store);
  read_pipeline(c, r.table("pipeline"), s.pipeline);
  read_log(c, r.table("log"), s.log);
  read_stale(c, r.table("stale"), s.stale);
  read_baseline(c, r.table("baseline"), s.baseline);
  apply_global_rules(read_rules(c, r.table("rules"), "rules", rule_catalog()), s);
  read_alerts(c, r.table("alerts"), s.alerts);
  read_api(c, r.table("api"), s.api);
  read_devices(c, r, s);
  read_patients(c, r, s);
  read_receivers(c, r, s.receivers);
  read_routes(c, r, s.receivers, s.alerts.lifecycle.routes);
  read_ble(c, r.table("ble"), s.ble);
  read_bluez(c, r.table("bluez"), s.bluez, s.ble);
  read_technical(c, r.table("technical"), s.technical);
  r.finish(section_hint);
}

}  // namespace

settings load_string(std::string_view text, std::string_view source_name) {
  context c;
  c.source = std::string(source_name);
  toml::table root;
  try {
    root = toml::parse(text, source_name);
  } catch (const toml::parse_error& e) {
    throw config_error({at(c, e.source(), "", std::string(e.description()))});
  }
  settings s;
  read_all(c, root, s);
  if (!c.errors.empty()) throw config_error(std::move(c.errors));
  for (const auto& w : sorted(std::move(c.warnings))) s.warnings.push_back(w.to_string());
  return s;
}

settings load_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int err = errno;
    throw config_error(
        {problem{path.string(), 0, 0, "",
                 fmt::format("cannot read configuration file: {}", std::strerror(err))}});
  }
  std::ostringstream text;
  text << in.rdbuf();
  return load_string(text.str(), path.string());
}

std::vector<std::string> known_keys() {
  return known_keys_impl();
}

namespace {

std::vector<std::string> known_keys_impl() {
  std::vector<std::string> keys;
  context c;
  c.schema = &keys;
  const toml::table empty;
  settings s;
  read_all(c, empty, s);
  // The section tables themselves are recorded too; keep only leaf keys.
  std::vector<std::string> leaves;
  for (const auto& k : keys) {
    const bool is_section = std::any_of(keys.begin(), keys.end(), [&](const std::string& o) {
      return o.size() > k.size() && o.compare(0, k.size(), k) == 0 &&
             (o[k.size()] == '.' || o[k.size()] == '[');
    });
    if (!is_section) leaves.push_back(k);
  }
  return leaves;
}

}  // namespace

}  // namespace vitals::config
