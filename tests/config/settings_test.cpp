#include <catch2/catch.hpp>

#include <unistd.h>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include <vitals/adapters/registry.hpp>
#include <vitals/config/loader.hpp>
#include <vitals/config/settings.hpp>

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using vitals::config::config_error;
using vitals::config::settings;
using vitals::core::priority;

// A namespace of its own: the sanitizer presets are unity builds (tests/README.md).
namespace settings_test {
namespace {

// The loader with every plugin built into vitalsd, as the daemon calls it.
settings load_string(std::string_view text, std::string_view name = "<string>") {
  return vitals::config::load_string(text, name, vitals::adapters::registry());
}
settings load_file(const fs::path& p) {
  return vitals::config::load_file(p, vitals::adapters::registry());
}
settings defaults() {
  return vitals::config::defaults(vitals::adapters::registry());
}

/// The shared [mqtt] broker section.
const vitals::core::option_set& mqtt(const settings& s) {
  return s.sections.at("mqtt");
}

/// The options of the first source.
const vitals::core::option_set& source0(const settings& s) {
  REQUIRE_FALSE(s.sources.empty());
  return s.sources.at(0).options;
}

const fs::path example_path{VITALS_EXAMPLE_CONFIG};
const fs::path testdata = example_path.parent_path().parent_path() / "tests/config/testdata";

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  REQUIRE(in);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

/// A scratch directory removed at the end of the test.
struct temp_dir {
  temp_dir() {
    static std::atomic<int> n{0};
    path = fs::temp_directory_path() /
           fmt::format("vitals-config-test-{}-{}", ::getpid(), n.fetch_add(1));
    fs::create_directories(path);
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  fs::path write(const std::string& name, const std::string& text, fs::perms mode) const {
    const auto p = path / name;
    std::ofstream(p, std::ios::binary) << text;
    fs::permissions(p, mode);
    return p;
  }
  fs::path path;
};

/// Loads `text` and returns the config_error it must throw.
config_error load_error(const std::string& text, std::string_view name = "test.toml") {
  try {
    (void)load_string(text, name);
  } catch (const config_error& e) {
    return e;
  }
  FAIL("expected a config_error for:\n" << text);
  throw std::logic_error("unreachable");
}

/// Every field that differs between two settings, by name ("mqtt.qos: 1 != 0").
std::vector<std::string> differences(const settings& a, const settings& b) {
  std::vector<std::string> d;
  auto cmp = [&](const std::string& name, const auto& x, const auto& y) {
    if (!(x == y)) d.push_back(name);
  };
  // Plugin tables: every option by value (positions differ between files).
  const auto options = [&](const std::string& where, const vitals::core::option_set& x,
                           const vitals::core::option_set& y) {
    for (const auto& key : vitals::core::differing_keys(x, y)) d.push_back(where + "." + key);
  };
  for (const auto& [name, set] : a.sections) {
    const auto other = b.sections.find(name);
    if (other == b.sections.end()) {
      d.push_back(name);
    } else {
      options(name, set, other->second);
    }
  }
  const auto plugins = [&](const std::string& list, const auto& x, const auto& y) {
    if (x.size() != y.size()) {
      d.push_back(list + " (count)");
      return;
    }
    for (std::size_t i = 0; i < x.size(); ++i) {
      const std::string where = fmt::format("{}[{}]", list, i);
      cmp(where + ".type", x[i].type, y[i].type);
      cmp(where + ".name", x[i].name, y[i].name);
      options(where, x[i].options, y[i].options);
    }
  };
  plugins("sources", a.sources, b.sources);
  cmp("store.path", a.store.path, b.store.path);
  cmp("store.batch_rows", a.store.batch_rows, b.store.batch_rows);
  cmp("store.batch_interval_ms", a.store.batch_interval_ms, b.store.batch_interval_ms);
  cmp("store.synchronous", a.store.synchronous, b.store.synchronous);
  cmp("store.max_queued_rows", a.store.max_queued_rows, b.store.max_queued_rows);
  cmp("pipeline.ring_capacity", a.pipeline.ring_capacity, b.pipeline.ring_capacity);
  cmp("pipeline.push_timeout_ms", a.pipeline.push_timeout_ms, b.pipeline.push_timeout_ms);
  cmp("pipeline.batch_max", a.pipeline.batch_max, b.pipeline.batch_max);
  cmp("pipeline.detection", a.pipeline.detection, b.pipeline.detection);
  cmp("log.level", a.log.level, b.log.level);
  cmp("log.format", a.log.format, b.log.format);
  cmp("log.include_phi", a.log.include_phi, b.log.include_phi);
  cmp("devices", a.devices, b.devices);
  const auto& la = a.alerts.lifecycle;
  const auto& lb = b.alerts.lifecycle;
  cmp("alerts.flap_window_s", la.flap_window, lb.flap_window);
  cmp("alerts.latch_high", la.latch_high, lb.latch_high);
  cmp("alerts.max_snooze_min", la.max_snooze, lb.max_snooze);
  cmp("alerts.max_snooze_high_min", la.max_snooze_high, lb.max_snooze_high);
  cmp("alerts.inhibit", la.inhibit, lb.inhibit);
  cmp("alerts.utc_offset_min", la.utc_offset_min, lb.utc_offset_min);
  cmp("alerts.command_topic", a.alerts.command_topic, b.alerts.command_topic);
  cmp("alerts.client_id", a.alerts.client_id, b.alerts.client_id);
  cmp("routes", la.routes, lb.routes);
  cmp("patients[].care_team", la.care_teams, lb.care_teams);
  cmp("api", a.api, b.api);
  plugins("receivers", a.receivers, b.receivers);
  for (std::size_t i = 0; i < a.technical.rules.size(); ++i) {
    cmp(fmt::format("technical ({} delay)", a.technical.rules[i].rule), a.technical.rules[i].delay,
        b.technical.rules[i].delay);
  }
  if (a.detector.rules.size() != b.detector.rules.size()) {
    d.push_back("rules (count)");
  } else {
    for (std::size_t i = 0; i < a.detector.rules.size(); ++i) {
      const auto& x = a.detector.rules[i];
      const auto& y = b.detector.rules[i];
      const std::string r = "rules." + x.name;
      cmp(r + " (name)", x.name, y.name);
      cmp(r + ".kind", x.kind, y.kind);
      cmp(r + ".dir", x.dir, y.dir);
      cmp(r + ".limit", x.limit, y.limit);
      cmp(r + ".min_duration_s", x.min_duration, y.min_duration);
      cmp(r + ".min_readings", x.min_readings, y.min_readings);
      cmp(r + ".area_limit", x.area_limit, y.area_limit);
      cmp(r + ".hysteresis", x.hysteresis, y.hysteresis);
      cmp(r + ".max_gap", x.max_gap, y.max_gap);
      cmp(r + ".priority", x.level, y.level);
      cmp(r + ".enabled", x.enabled, y.enabled);
    }
  }
  for (std::size_t k = 0; k < vitals::core::vital_kind_count; ++k) {
    const std::string v(vitals::core::to_string(static_cast<vitals::core::vital_kind>(k)));
    cmp("stale." + v + "_warning_min", a.stale.limits[k].warning, b.stale.limits[k].warning);
    cmp("stale." + v + "_urgent_min", a.stale.limits[k].urgent, b.stale.limits[k].urgent);
  }
  const auto glucose_rule = [&](const std::string& r, const vitals::core::glucose_rule_settings& x,
                                const vitals::core::glucose_rule_settings& y) {
    cmp(r + ".enabled", x.enabled, y.enabled);
    cmp(r + ".priority", x.level, y.level);
    cmp(r + ".limit", x.limit, y.limit);
    cmp(r + ".hysteresis", x.hysteresis, y.hysteresis);
    cmp(r + ".min_duration_s", x.min_duration, y.min_duration);
    cmp(r + ".min_readings", x.min_readings, y.min_readings);
  };
  glucose_rule("rules.glucose_urgent_low_soon", a.glucose.urgent_low_soon,
               b.glucose.urgent_low_soon);
  glucose_rule("rules.glucose_falling_fast", a.glucose.falling_fast, b.glucose.falling_fast);
  glucose_rule("rules.glucose_rising_fast", a.glucose.rising_fast, b.glucose.rising_fast);
  glucose_rule("rules.glucose_persistent_high", a.glucose.persistent_high,
               b.glucose.persistent_high);
  const auto news2_rule = [&](const std::string& r, const vitals::core::news2_rule_settings& x,
                              const vitals::core::news2_rule_settings& y) {
    cmp(r + ".enabled", x.enabled, y.enabled);
    cmp(r + ".priority", x.level, y.level);
    cmp(r + ".min_duration_s", x.min_duration, y.min_duration);
  };
  cmp("baseline.buckets", a.baseline.buckets, b.baseline.buckets);
  cmp("baseline.utc_offset_min", a.baseline.utc_offset_minutes, b.baseline.utc_offset_minutes);
  cmp("baseline.warmup_h", a.baseline.warmup_total, b.baseline.warmup_total);
  cmp("baseline.learning_days", a.baseline.learning_days, b.baseline.learning_days);
  cmp("baseline.short_window_min", a.baseline.short_window, b.baseline.short_window);
  cmp("rules.hr_baseline_deviation.limit", a.baseline.hr_limit, b.baseline.hr_limit);
  cmp("rules.hr_baseline_deviation.min_duration_s", a.baseline.hr_min_duration,
      b.baseline.hr_min_duration);
  cmp("rules.hr_baseline_deviation.hysteresis", a.baseline.hr_hysteresis, b.baseline.hr_hysteresis);
  cmp("rules.hr_baseline_deviation.enabled", a.baseline.hr_enabled, b.baseline.hr_enabled);
  cmp("rules.cardio_baseline_deviation.limit", a.baseline.cardio_limit, b.baseline.cardio_limit);
  cmp("rules.cardio_baseline_deviation.min_duration_s", a.baseline.cardio_min_duration,
      b.baseline.cardio_min_duration);
  cmp("rules.cardio_baseline_deviation.hysteresis", a.baseline.cardio_hysteresis,
      b.baseline.cardio_hysteresis);
  cmp("rules.cardio_baseline_deviation.enabled", a.baseline.cardio_enabled,
      b.baseline.cardio_enabled);
  cmp("rules.*_baseline_deviation.priority", a.baseline.level, b.baseline.level);
  cmp("patients (utc_offset_min)", a.baseline.patient_utc_offset_minutes.size(),
      b.baseline.patient_utc_offset_minutes.size());
  news2_rule("rules.news2_urgent_review", a.news2.urgent, b.news2.urgent);
  news2_rule("rules.news2_emergency", a.news2.emergency, b.news2.emergency);
  const auto& an = a.news2.patient_context;
  const auto& bn = b.news2.patient_context;
  cmp("patients (news2)", an.size(), bn.size());
  for (const auto& [id, x] : an) {
    const auto y = bn.find(id);
    if (y == bn.end() || y->second.scale != x.scale || y->second.on_oxygen != x.on_oxygen) {
      d.push_back("patients." + id + ".spo2_scale/on_oxygen");
    }
  }
  cmp("patients (ids)", a.detector.patients.size(), b.detector.patients.size());
  for (const auto& [id, rules] : a.detector.patients) {
    const auto o = b.detector.patients.find(id);
    if (o == b.detector.patients.end() || o->second.size() != rules.size()) {
      d.push_back("patients." + id);
      continue;
    }
    for (const auto& [name, x] : rules) {
      const auto y = o->second.find(name);
      if (y == o->second.end()) {
        d.push_back("patients." + id + ".rules." + name);
        continue;
      }
      const std::string r = "patients." + id + ".rules." + name;
      cmp(r + ".limit", x.limit, y->second.limit);
      cmp(r + ".min_duration_s", x.min_duration, y->second.min_duration);
      cmp(r + ".hysteresis", x.hysteresis, y->second.hysteresis);
      cmp(r + ".priority", x.level, y->second.level);
      cmp(r + ".enabled", x.enabled, y->second.enabled);
    }
  }
  return d;
}

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += s + "\n";
  return out;
}

// A commented-out default: "# key = value" or "# [section]" / "# [[array]]" (any indentation;
// "##" documentation lines never match, the character after the first '#' must be a space).
const std::regex default_line(R"(^(\s*)#\s+(\[\[?[A-Za-z0-9_.]+\]\]?|[A-Za-z0-9_]+\s*=.*)$)");
// A documentation example line: "##   [[devices]]", "##   id = ...".
const std::regex example_line(R"(^\s*##\s+(\[\[?[A-Za-z0-9_.]+\]\]?|[A-Za-z0-9_]+ = .*)$)");

/// The example file with every matching commented line uncommented, outside plugin blocks.
std::string uncomment(const std::string& text, bool defaults, bool examples,
                      std::size_t* count = nullptr) {
  std::istringstream in(text);
  std::string out, line;
  std::size_t n = 0;
  std::smatch m;
  bool plugin_block = false;
  while (std::getline(in, line)) {
    // Plugin blocks are generated from the plugins' option tables and checked against them by
    // plugins_test.cpp; left commented here, they stay out of the daemon's own defaults.
    if (line.rfind("## >>> ", 0) == 0) plugin_block = true;
    if (line.rfind("## <<< ", 0) == 0) plugin_block = false;
    if (plugin_block) {
      out += line + "\n";
      continue;
    }
    if (defaults && std::regex_match(line, m, default_line)) {
      out += m[1].str() + m[2].str() + "\n";
      ++n;
    } else if (examples && std::regex_match(line, m, example_line)) {
      out += m[1].str() + "\n";
      ++n;
    } else {
      out += line + "\n";
    }
  }
  if (count) *count = n;
  return out;
}

const vitals::core::threshold_rule& rule(const settings& s, std::string_view name) {
  for (const auto& r : s.detector.rules) {
    if (r.name == name) return r;
  }
  FAIL("no rule " << name);
  throw std::logic_error("unreachable");
}

}  // namespace

TEST_CASE("defaults are the documented values", "[config]") {
  const settings s = defaults();
  CHECK(mqtt(s).text("broker") == "tcp://localhost:1883");
  CHECK_FALSE(mqtt(s).flag("clean_session"));
  CHECK(mqtt(s).integer("keep_alive_s") == 30);
  CHECK(mqtt(s).text("username").empty());
  CHECK(mqtt(s).text("password_file").empty());
  CHECK(mqtt(s).secret("password_file").empty());
  CHECK(mqtt(s).integer("reconnect_min_s") == 1);
  CHECK(mqtt(s).integer("reconnect_max_s") == 30);
  // Without [[sources]], the MQTT source runs with its defaults.
  REQUIRE(s.sources.size() == 1);
  CHECK(s.sources[0].type == "mqtt");
  CHECK(s.sources[0].name == "mqtt");
  CHECK(source0(s).text("client_id") == "vitalsd");
  CHECK(source0(s).strings("topics") == std::vector<std::string>{"vitals/{patient}/{device}"});
  CHECK(source0(s).integer("qos") == 1);
  CHECK(source0(s).integer("max_payload_bytes") == 65536);
  CHECK(source0(s).integer("max_future_h") == 24);
  CHECK(s.receivers.empty());
  CHECK(s.store.path == "vitalsd.db");
  CHECK(s.store.batch_rows == 1000);
  CHECK(s.store.batch_interval_ms == 200);
  CHECK(s.store.synchronous == "normal");
  CHECK(s.store.max_queued_rows == 100000);
  CHECK(s.pipeline.ring_capacity == 65536);
  CHECK(s.pipeline.push_timeout_ms == 5000);
  CHECK(s.pipeline.batch_max == 1024);
  CHECK(s.log.level == "info");
  CHECK(s.log.format == "text");
  CHECK_FALSE(s.log.include_phi);
  CHECK(s.devices.empty());
  CHECK(s.detector.patients.empty());
  CHECK(s.warnings.empty());

  const auto core_rules = vitals::core::default_rules();
  REQUIRE(s.detector.rules.size() == core_rules.size());
  CHECK(rule(s, "spo2_low").limit == 90.0);
  CHECK(rule(s, "spo2_low").min_duration == 30s);
  CHECK(rule(s, "spo2_low").area_limit == 60.0);
  CHECK(rule(s, "glucose_urgent_low").level == priority::high);

  SECTION("an empty text and a comments-only text are the defaults") {
    CHECK(differences(load_string("", "empty.toml"), s).empty());
    CHECK(differences(load_string("# nothing here\n\n  \n", "comments.toml"), s).empty());
  }
}

TEST_CASE("a full valid file sets every field", "[config]") {
  const settings s = load_file(testdata / "full.toml");
  CHECK(mqtt(s).text("broker") == "ssl://broker.example.org:8883");
  CHECK(mqtt(s).flag("clean_session"));
  CHECK(mqtt(s).integer("keep_alive_s") == 60);
  CHECK(mqtt(s).integer("reconnect_min_s") == 2);
  CHECK(mqtt(s).integer("reconnect_max_s") == 120);
  REQUIRE(s.sources.size() == 1);
  CHECK(s.sources[0].name == "json-in");
  CHECK(source0(s).text("client_id") == "vitalsd-gw-17");
  CHECK(source0(s).strings("topics") ==
        std::vector<std::string>{"vitals/{patient}/{device}", "ble/{device}"});
  CHECK(source0(s).integer("qos") == 0);
  CHECK(source0(s).integer("max_payload_bytes") == 4096);
  CHECK(source0(s).integer("max_future_h") == 2);
  // Where each value was written, for later error messages.
  CHECK(source0(s).where("qos").line == 16);
  CHECK(s.store.path == "/var/lib/vitalsd/vitals.db");
  CHECK(s.store.batch_rows == 500);
  CHECK(s.store.batch_interval_ms == 100);
  CHECK(s.store.synchronous == "full");
  CHECK(s.store.max_queued_rows == 20000);
  CHECK(s.pipeline.ring_capacity == 4096);
  CHECK(s.pipeline.push_timeout_ms == 250);
  CHECK(s.pipeline.batch_max == 256);
  CHECK(s.log.level == "debug");
  CHECK(s.log.format == "json");
  CHECK(s.log.include_phi);
  CHECK(s.warnings.empty());

  const auto& spo2 = rule(s, "spo2_low");
  CHECK(spo2.limit == 88.0);
  CHECK(spo2.min_duration == 20500ms);
  CHECK(spo2.hysteresis == 1.5);
  CHECK(spo2.level == priority::high);
  CHECK(spo2.enabled);
  CHECK_FALSE(rule(s, "glucose_high").enabled);
  CHECK(rule(s, "glucose_high").limit == 250.0);  // untouched keys keep their defaults
  CHECK(rule(s, "hr_low").limit == 50.0);

  REQUIRE(s.devices.size() == 2);
  CHECK(s.devices[0] == vitals::config::device_mapping{"c8:7f:54:0a:11:2b", "p-0042"});
  CHECK(s.devices[1] == vitals::config::device_mapping{"cgm-7f3a", "p-0043"});

  REQUIRE(s.detector.patients.size() == 2);
  const auto& p42 = s.detector.patients.at("p-0042");
  REQUIRE(p42.size() == 2);
  CHECK(p42.at("spo2_low").limit == 86.0);
  CHECK(p42.at("spo2_low").min_duration == 30s);
  CHECK_FALSE(p42.at("spo2_low").hysteresis.has_value());
  CHECK_FALSE(p42.at("spo2_low").level.has_value());
  CHECK(p42.at("hr_high").limit == 110.0);
  CHECK(p42.at("hr_high").level == priority::low);
  CHECK(p42.at("hr_high").enabled == true);
  const auto& p43 = s.detector.patients.at("p-0043");
  CHECK(p43.at("glucose_low").limit == 80.0);
  CHECK(p43.at("glucose_low").hysteresis == 3.0);

  // Per-patient overrides apply on top of the [rules] settings.
  vitals::core::threshold_detector det(s.detector);
  const auto rules = det.rules_for("p-0042");
  const auto it =
      std::find_if(rules.begin(), rules.end(), [](const auto& r) { return r.name == "spo2_low"; });
  REQUIRE(it != rules.end());
  CHECK(it->limit == 86.0);
  CHECK(it->hysteresis == 1.5);
  CHECK(it->level == priority::high);
}

TEST_CASE("each class of error names file, line, column and key", "[config]") {
  SECTION("TOML syntax error") {
    const auto e = load_error("[mqtt]\nkeep_alive_s = 1\nbroker = \"tcp://x:1883\n", "syntax.toml");
    CHECK(e.file() == "syntax.toml");
    CHECK(e.line() == 3);
    CHECK(e.key().empty());
    CHECK_THAT(e.what(), Catch::StartsWith("syntax.toml:3:"));
  }
  SECTION("unknown key with a suggestion") {
    const auto e = load_error("[store]\nbatch_row = 10\n");
    CHECK(e.line() == 2);
    CHECK(e.column() == 1);
    CHECK(e.key() == "store.batch_row");
    CHECK_THAT(e.what(), Catch::StartsWith("test.toml:2:1: key 'store.batch_row': unknown key") &&
                             Catch::Contains("did you mean 'batch_rows'?"));
  }
  SECTION("unknown key without a close match lists the known keys") {
    const auto e = load_error("[log]\ncolour = true\n");
    CHECK(e.key() == "log.colour");
    CHECK_THAT(e.what(), !Catch::Contains("did you mean") &&
                             Catch::Contains("known keys here: level, format, include_phi"));
  }
  SECTION("unknown section") {
    const auto e = load_error("[mqt]\nqos = 1\n");
    CHECK(e.line() == 1);
    CHECK(e.key() == "mqt");
    CHECK_THAT(e.what(), Catch::Contains("did you mean 'mqtt'?"));
  }
  SECTION("a section key above every header points at its section") {
    const auto e = load_error("keep_alive_s = 10\n[mqtt]\n");
    CHECK(e.key() == "keep_alive_s");
    CHECK_THAT(e.what(), Catch::Contains("did you mean 'mqtt.keep_alive_s'?"));
    CHECK_THAT(load_error("batch_rows = 10\n[mqtt]\n").what(),
               Catch::Contains("did you mean 'store.batch_rows'?"));
  }
  SECTION("a source's key under [mqtt], and a source type as a section, say where they belong") {
    const auto e = load_error("[mqtt]\ntopics = [\"a/{device}\"]\n");
    CHECK(e.key() == "mqtt.topics");
    CHECK_THAT(e.what(), Catch::Contains("is an option of the mqtt source: [[sources]] type = "
                                         "\"mqtt\""));
    CHECK_THAT(load_error("[bluez]\nenabled = true\n").what(),
               Catch::Contains("[[sources]] with type = \"bluez\""));
    CHECK_THAT(load_error("[ble]\nenabled = true\n").what(),
               Catch::Contains("[[sources]] with type = \"ble_gateway\""));
  }
  SECTION("unknown key in a rule, a device and a patient rule") {
    const auto e = load_error(
        "[rules.spo2_low]\nlimt = 88\n"
        "[[devices]]\nid = \"d\"\npatient = \"p\"\npatent = \"q\"\n"
        "[[patients]]\nid = \"p\"\n[patients.rules.hr_low]\nduration_s = 5\n");
    REQUIRE(e.problems().size() == 3);
    CHECK(e.problems()[0].key == "rules.spo2_low.limt");
    CHECK(e.problems()[0].line == 2);
    CHECK_THAT(e.problems()[0].message, Catch::Contains("did you mean 'limit'?"));
    CHECK(e.problems()[1].key == "devices[0].patent");
    CHECK(e.problems()[1].line == 6);
    CHECK_THAT(e.problems()[1].message, Catch::Contains("did you mean 'patient'?"));
    CHECK(e.problems()[2].key == "patients[0].rules.hr_low.duration_s");
    CHECK(e.problems()[2].line == 10);
  }
  SECTION("unknown rule name") {
    const auto e = load_error("\n[rules.spo2_lo]\nlimit = 88\n");
    CHECK(e.line() == 2);
    CHECK(e.key() == "rules.spo2_lo");
    CHECK_THAT(e.what(), Catch::Contains("unknown rule (did you mean 'spo2_low'?)"));
    const auto p = load_error("[[patients]]\nid = \"p\"\nrules.hr_hi.limit = 100\n");
    CHECK(p.key() == "patients[0].rules.hr_hi");
    CHECK(p.line() == 3);
    CHECK_THAT(p.what(), Catch::Contains("did you mean 'hr_high'?"));
  }
  SECTION("wrong type") {
    const auto e = load_error("[mqtt]\n\nkeep_alive_s = \"30\"\n");
    CHECK(e.line() == 3);
    CHECK(e.column() == 16);
    CHECK(e.key() == "mqtt.keep_alive_s");
    CHECK(std::string(e.what()) ==
          "test.toml:3:16: key 'mqtt.keep_alive_s': expected integer, got string");
    CHECK_THAT(load_error("[store]\nbatch_rows = 1.5\n").what(),
               Catch::Contains("expected integer, got float"));
    CHECK_THAT(load_error("[log]\ninclude_phi = \"yes\"\n").what(),
               Catch::Contains("expected boolean"));
    CHECK_THAT(load_error("[rules.hr_low]\nlimit = \"45\"\n").what(),
               Catch::Contains("key 'rules.hr_low.limit': expected number, got string"));
    CHECK_THAT(load_error("mqtt = 1\n").what(),
               Catch::Contains("key 'mqtt': expected table, got integer"));
    CHECK_THAT(load_error("[[sources]]\ntype = \"mqtt\"\ntopics = \"a/b\"\n").what(),
               Catch::Contains("key 'sources[0].topics': expected array of strings, got string"));
    CHECK_THAT(load_error("[[sources]]\ntype = \"mqtt\"\ntopics = [\"a\", 2]\n").what(),
               Catch::Contains("key 'sources[0].topics[1]': expected string, got integer"));
  }
  SECTION("out of range") {
    const auto e = load_error("[[sources]]\ntype = \"mqtt\"\nqos = 2\n");
    CHECK(e.line() == 3);
    CHECK(e.column() == 7);
    CHECK(e.key() == "sources[0].qos");
    CHECK(std::string(e.what()) ==
          "test.toml:3:7: key 'sources[0].qos': must be 0 or 1 (QoS 2 is not supported), got 2");
    CHECK_THAT(load_error("[store]\nbatch_rows = -5\n").what(),
               Catch::Contains("key 'store.batch_rows': must be between 1 and 1000000, got -5"));
    CHECK_THAT(load_error("[pipeline]\nring_capacity = 0\n").what(),
               Catch::Contains("must be a power of two between 2 and 16777216, got 0"));
    CHECK_THAT(load_error("[pipeline]\nring_capacity = 100000\n").what(),
               Catch::Contains("must be a power of two between 2 and 16777216 (e.g. 65536 or "
                               "131072), got 100000"));
    CHECK_THAT(load_error("[rules.spo2_low]\nlimit = 101\n").what(),
               Catch::Contains("must be between 50 and 100 %, got 101"));
    CHECK_THAT(load_error("[rules.glucose_low]\nlimit = 3.9\n").what(),
               Catch::Contains("1 mmol/L = 18.016 mg/dL"));
    CHECK_THAT(load_error("[rules.hr_low]\nmin_duration_s = nan\n").what(),
               Catch::Contains("key 'rules.hr_low.min_duration_s': must be between 0 and 3600"));
    CHECK_THAT(load_error("[[sources]]\ntype = \"mqtt\"\ntopics = []\n").what(),
               Catch::Contains("key 'sources[0].topics': must name at least one"));
    CHECK_THAT(load_error("[[sources]]\ntype = \"mqtt\"\nclient_id = \"\"\n").what(),
               Catch::Contains("key 'sources[0].client_id': must not be empty"));
    CHECK_THAT(load_error("[[sources]]\ntype = \"mqtt\"\ntopics = [\"a/{dev}\"]\n").what(),
               Catch::Contains("key 'sources[0].topics[0]': ") && Catch::Contains("a/{dev}"));
  }
  SECTION("values that contradict each other") {
    const auto e = load_error("[mqtt]\nreconnect_min_s = 10\nreconnect_max_s = 5\n");
    CHECK(e.line() == 3);
    CHECK(e.key() == "mqtt.reconnect_max_s");
    const auto m = load_error("[mqtt]\nreconnect_min_s = 40\n");
    CHECK(m.line() == 2);
    CHECK(m.key() == "mqtt.reconnect_min_s");
    const auto q = load_error("[store]\nmax_queued_rows = 10\n");
    CHECK(q.key() == "store.max_queued_rows");
    CHECK_THAT(q.what(), Catch::Contains("must be at least batch_rows (1000)"));
  }
  SECTION("plugin lists: unknown or missing type, duplicate names") {
    const auto e = load_error(
        "[[sources]]\ntype = \"mqt\"\n"
        "[[sources]]\nclient_id = \"x\"\n"
        "[[sources]]\ntype = \"mqtt\"\n[[sources]]\ntype = \"mqtt\"\nclient_id = \"b\"\n");
    std::vector<std::string> keys;
    for (const auto& p : e.problems()) keys.push_back(p.key);
    CHECK(keys ==
          std::vector<std::string>{"sources[0].type", "sources[1].type", "sources[3].type"});
    CHECK_THAT(e.problems()[0].message, Catch::Contains("did you mean 'mqtt'?"));
    CHECK_THAT(e.problems()[1].message, Catch::Contains("missing; one of: mqtt"));
    CHECK_THAT(e.problems()[2].message, Catch::Contains("duplicate name \"mqtt\""));
    // Two of a type are fine with names of their own.
    const auto two = load_string(
        "[[sources]]\ntype = \"mqtt\"\n[[sources]]\ntype = \"mqtt\"\nname = \"second\"\n"
        "client_id = \"b\"\n",
        "two.toml");
    REQUIRE(two.sources.size() == 2);
    CHECK(two.sources[1].name == "second");
  }
  SECTION("bad enum strings") {
    const auto e = load_error("[store]\nsynchronous = \"FULL\"\n");
    CHECK(e.key() == "store.synchronous");
    CHECK(e.line() == 2);
    CHECK_THAT(e.what(), Catch::Contains("must be one of \"normal\", \"full\", got \"FULL\" (did "
                                         "you mean 'full'?)"));
    CHECK_THAT(load_error("[log]\nlevel = \"warning\"\n").what(),
               Catch::Contains("key 'log.level': must be one of \"trace\", \"debug\", \"info\", "
                               "\"warn\", \"error\""));
    CHECK_THAT(load_error("[log]\nformat = \"xml\"\n").what(), Catch::Contains("log.format"));
    CHECK_THAT(load_error("[rules.hr_low]\npriority = \"urgent\"\n").what(),
               Catch::Contains("key 'rules.hr_low.priority': must be one of \"low\", "
                               "\"medium\", \"high\""));
  }
  SECTION("broker URI") {
    CHECK_THAT(load_error("[mqtt]\nbroker = \"localhost:1883\"\n").what(),
               Catch::Contains("key 'mqtt.broker': expected a URI such as"));
    const auto e = load_error("[mqtt]\nbroker = \"tcp://me:s3cret@host:1883\"\n");
    CHECK_THAT(e.what(),
               Catch::Contains("must not contain credentials") && !Catch::Contains("s3cret"));
  }
  SECTION("devices and patients: missing, duplicate, too long") {
    const auto e = load_error(
        "[[devices]]\nid = \"d1\"\n"                   // 1-2: no patient
        "[[devices]]\nid = \"d2\"\npatient = \"p\"\n"  // 3-5
        "[[devices]]\nid = \"d2\"\npatient = \"q\"\n"  // 6-8: duplicate id
        "[[patients]]\nrules.hr_low.limit = 45\n"      // 9-10: no id
        "[[patients]]\nid = \"" +
        std::string(48, 'x') +
        "\"\n"                                                    // 11-12: too long
        "[[patients]]\nid = \"a\"\n[[patients]]\nid = \"a\"\n");  // 13-16: duplicate
    REQUIRE(e.problems().size() == 5);
    CHECK(e.problems()[0].key == "devices[0].patient");
    CHECK(e.problems()[0].line == 1);
    CHECK_THAT(e.problems()[0].message, Catch::Contains("missing"));
    CHECK(e.problems()[1].key == "devices[2].id");
    CHECK(e.problems()[1].line == 7);
    CHECK_THAT(e.problems()[1].message, Catch::Contains("duplicate device id \"d2\""));
    CHECK(e.problems()[2].key == "patients[0].id");
    CHECK(e.problems()[2].line == 9);
    CHECK(e.problems()[3].key == "patients[1].id");
    CHECK(e.problems()[3].line == 12);
    CHECK_THAT(e.problems()[3].message, Catch::Contains("at most 47 bytes"));
    CHECK(e.problems()[4].key == "patients[3].id");
    CHECK(e.problems()[4].line == 16);
    CHECK_THAT(load_error("devices = [1]\n").what(),
               Catch::Contains("key 'devices[0]': expected table, got integer"));
  }
  SECTION("a missing file") {
    try {
      (void)load_file("/nonexistent/vitalsd.toml");
      FAIL("no error");
    } catch (const config_error& e) {
      CHECK(e.file() == "/nonexistent/vitalsd.toml");
      CHECK(e.line() == 0);
      CHECK_THAT(e.what(), Catch::StartsWith("/nonexistent/vitalsd.toml: cannot read "
                                             "configuration file: No such file"));
    }
  }
}

TEST_CASE("every error in a file is reported, one per line, in file order", "[config]") {
  const fs::path file = testdata / "errors.toml";
  try {
    (void)load_file(file);
    FAIL("no error");
  } catch (const config_error& e) {
    const std::string f = file.string();
    const std::vector<std::string> expected{
        f + ":3:19: key 'mqtt.reconnect_min_s': must be between 1 and 3600 s, got 0",
        f + ":4:16: key 'mqtt.keep_alive_s': expected integer, got string",
        f + ":7:1: key 'store.batch_row': unknown key (did you mean 'batch_rows'?); known keys "
            "here: path, batch_rows, batch_interval_ms, synchronous, max_queued_rows",
        f + ":8:15: key 'store.synchronous': must be one of \"normal\", \"full\", got \"fast\"",
        f + ":11:17: key 'pipeline.ring_capacity': must be a power of two between 2 and 16777216 "
            "(e.g. 512 or 1024), got 1000",
        f + ":13:8: key 'rules.spo2_lo': unknown rule (did you mean 'spo2_low'?); rules: hr_low, "
            "hr_high, spo2_low, glucose_low, glucose_urgent_low, glucose_high, "
            "glucose_urgent_low_soon, glucose_falling_fast, glucose_rising_fast, "
            "glucose_persistent_high, hr_baseline_deviation, cardio_baseline_deviation, "
            "news2_urgent_review, news2_emergency",
        f + ":16:1: key 'devices[0].patient': missing (each device needs a patient)",
    };
    std::vector<std::string> lines;
    std::istringstream in(e.what());
    for (std::string l; std::getline(in, l);) lines.push_back(l);
    CHECK(lines == expected);
    REQUIRE(e.problems().size() == expected.size());
    CHECK(e.file() == f);
    CHECK(e.line() == 3);
    CHECK(e.key() == "mqtt.reconnect_min_s");
  }
}

TEST_CASE("the MQTT password comes from password_file", "[config]") {
  temp_dir dir;
  const auto toml = [](const fs::path& p) {
    return fmt::format("[mqtt]\nusername = \"gw\"\npassword_file = \"{}\"\n", p.string());
  };

  SECTION("read, trailing newline dropped, never in the summary") {
    const auto p = dir.write("pw", "s3cret-pw\n", fs::perms::owner_read | fs::perms::owner_write);
    const settings s = load_string(toml(p), "pw.toml");
    CHECK(mqtt(s).secret("password_file") == "s3cret-pw");
    CHECK(mqtt(s).text("username") == "gw");
    CHECK(s.warnings.empty());
    const std::string sum = vitals::config::summary(s);
    CHECK_THAT(sum, !Catch::Contains("s3cret") && Catch::Contains(p.string()));
  }
  SECTION("a missing file is an error naming the file") {
    const auto p = dir.path / "absent";
    const auto e = load_error(toml(p), "pw.toml");
    CHECK(e.key() == "mqtt.password_file");
    CHECK(e.line() == 3);
    CHECK_THAT(e.what(), Catch::Contains("cannot read password file '" + p.string() + "'"));
  }
  SECTION("an empty file is an error") {
    const auto p = dir.write("empty", "\n", fs::perms::owner_read);
    CHECK_THAT(load_error(toml(p)).what(), Catch::Contains("is empty"));
  }
  SECTION("an unreadable file is an error") {
    if (::geteuid() == 0) return;  // root reads anything
    const auto p = dir.write("locked", "x", fs::perms::none);
    CHECK_THAT(load_error(toml(p)).what(), Catch::Contains("cannot read password file"));
  }
  SECTION("a file that group or others can read is refused, with the fix") {
    const auto p = dir.write("open", "pw",
                             fs::perms::owner_read | fs::perms::owner_write |
                                 fs::perms::group_read | fs::perms::others_read);
    const auto e = load_error(toml(p));
    CHECK(e.key() == "mqtt.password_file");
    CHECK_THAT(e.what(), Catch::Contains("mode 0644") && Catch::Contains("refused") &&
                             Catch::Contains("chmod 600"));
    // Group-readable alone (0640 root:vitalsd) is refused too.
    fs::permissions(p, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
    CHECK_THAT(load_error(toml(p)).what(), Catch::Contains("mode 0640"));
    fs::permissions(p, fs::perms::owner_read | fs::perms::owner_write);
    CHECK(mqtt(load_string(toml(p), "pw.toml")).secret("password_file") == "pw");
  }
  SECTION("a password without a user name is an error") {
    const auto p = dir.write("pw", "pw", fs::perms::owner_read);
    const auto e = load_error(fmt::format("[mqtt]\npassword_file = \"{}\"\n", p.string()));
    CHECK(e.key() == "mqtt.password_file");
    CHECK_THAT(e.what(), Catch::Contains("mqtt.username is not"));
  }
}

TEST_CASE("the example config loads as it is, to the defaults", "[config]") {
  const settings s = load_file(example_path);
  const auto d = differences(s, defaults());
  INFO(joined(d));
  CHECK(d.empty());
  CHECK(s.warnings.empty());
}

TEST_CASE("the example config shows every key with its default value", "[config]") {
  const std::string text = read_text(example_path);
  std::size_t uncommented = 0;
  const std::string all = uncomment(text, true, false, &uncommented);
  CHECK(uncommented > 40);
  INFO("uncommented example:\n" << all);

  const settings s = load_string(all, "vitalsd.example.toml (uncommented)");
  const auto d = differences(s, defaults());
  INFO("fields where the example and the code disagree:\n" << joined(d));
  CHECK(d.empty());

  // Every key the loader knows appears in the example (devices and patients in its examples).
  std::set<std::string> shown;
  std::string section;
  std::istringstream in(uncomment(text, true, true));
  const std::regex header(R"(^\s*\[\[?([A-Za-z0-9_.]+)\]\]?\s*$)");
  const std::regex assignment(R"(^\s*([A-Za-z0-9_]+)\s*=.*$)");
  std::smatch m;
  for (std::string line; std::getline(in, line);) {
    if (std::regex_match(line, m, header)) {
      section = m[1].str();
      // Arrays of tables are listed as "devices[]", "routes[].steps[]" by known_keys().
      for (const std::string array :
           {"routes.steps", "api.tokens", "devices", "patients", "receivers", "routes"}) {
        if (section == array || section.rfind(array + ".", 0) == 0) {
          section.insert(array.size(), "[]");
          if (array == "routes.steps") section.insert(6, "[]");
          break;
        }
      }
    } else if (std::regex_match(line, m, assignment)) {
      shown.insert(section + "." + m[1].str());
    }
  }
  std::vector<std::string> missing;
  for (const auto& k : vitals::config::known_keys(vitals::adapters::registry())) {
    // Per-patient rules take the same keys as [rules.*]; the example shows a few of them.
    if (k.rfind("patients[].rules.", 0) == 0) continue;
    // Plugin tables are checked against each plugin's option table (plugins_test.cpp).
    if (k.rfind("sources[", 0) == 0 || k.rfind("receivers[", 0) == 0) continue;
    if (vitals::adapters::registry().section(k.substr(0, k.find('.')))) continue;
    if (!shown.contains(k)) missing.push_back(k);
  }
  INFO("keys missing from the example:\n" << joined(missing));
  CHECK(missing.empty());
  CHECK(shown.contains("patients[].rules.spo2_low.limit"));
}

TEST_CASE("the comparison behind the example test can fail", "[config]") {
  // Guards the test above: a drift between the example and the code must show up.
  const std::string all = uncomment(read_text(example_path), true, false);
  const auto pos = all.find("batch_rows = 1000");
  REQUIRE(pos != std::string::npos);
  std::string drifted = all;
  drifted.replace(pos, 17, "batch_rows = 999");
  const auto d = differences(load_string(drifted, "drifted.toml"), defaults());
  CHECK(d == std::vector<std::string>{"store.batch_rows"});

  const auto hr = all.find("limit = 50.0");
  REQUIRE(hr != std::string::npos);
  drifted = all;
  drifted.replace(hr, 12, "limit = 45.0");
  CHECK(differences(load_string(drifted, "drifted.toml"), defaults()) ==
        std::vector<std::string>{"rules.hr_low.limit"});
}

/// Replaces every occurrence of `from` in `text`.
std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (auto pos = text.find(from); pos != std::string::npos;
       pos = text.find(from, pos + to.size())) {
    text.replace(pos, from.size(), to);
  }
  return text;
}

TEST_CASE("the example's [[devices]], [[patients]], [[receivers]] and [[routes]] are valid",
          "[config]") {
  std::size_t n = 0;
  temp_dir dir;
  const auto rw = fs::perms::owner_read | fs::perms::owner_write;
  std::string all = uncomment(read_text(example_path), true, true, &n);
  // The secrets the example names live on the operator's box: stand-ins here.
  for (const std::string name : {"nurse-station.token", "ward-3-webhook.secret", "pagerduty.key"}) {
    const auto p = dir.write(name, "0123456789abcdef0123456789abcdef\n", rw);
    all = replace_all(all, "/etc/vitalsd/" + name, p.string());
  }
  const settings s = load_string(all, "vitalsd.example.toml (with examples)");
  INFO(joined(s.warnings));
  REQUIRE(s.api.tokens.size() == 1);
  CHECK(s.api.tokens[0].name == "nurse-station");
  CHECK(s.api.tokens[0].token == "0123456789abcdef0123456789abcdef");
  REQUIRE(s.receivers.size() == 2);
  CHECK(s.receivers[0].type == "webhook");
  CHECK(s.receivers[1].options.secret("secret_file") == "0123456789abcdef0123456789abcdef");
  const auto& routes = s.alerts.lifecycle.routes;
  REQUIRE(routes.size() == 1);
  CHECK(routes[0].care_teams == std::vector<std::string>{"ward-3"});
  REQUIRE(routes[0].steps.size() == 2);
  CHECK(routes[0].steps[1].after == 5min);
  CHECK(routes[0].steps[1].receivers == std::vector<std::string>{"oncall-pagerduty"});
  CHECK(routes[0].repeat_interval == 10min);
  CHECK(s.alerts.lifecycle.care_teams.at("p-0042") == "ward-3");
  REQUIRE(s.devices.size() == 2);
  CHECK(s.devices[0].id == "c8:7f:54:0a:11:2b");
  CHECK(s.devices[1].patient == "p-0042");
  REQUIRE(s.detector.patients.count("p-0042") == 1);
  const auto& p = s.detector.patients.at("p-0042");
  CHECK(p.at("spo2_low").limit == 86.0);
  CHECK(p.at("spo2_low").min_duration == 30s);
  CHECK(p.at("glucose_low").level == priority::high);
}

TEST_CASE("warnings: switching off urgent low glucose", "[config]") {
  const settings s = load_string("[rules.glucose_urgent_low]\nenabled = false\n", "w.toml");
  CHECK_FALSE(rule(s, "glucose_urgent_low").enabled);
  REQUIRE(s.warnings.size() == 1);
  CHECK_THAT(s.warnings[0], Catch::StartsWith("w.toml:2:11: key "
                                              "'rules.glucose_urgent_low.enabled': "));
}

TEST_CASE("summary shows the settings without secrets or patient ids", "[config]") {
  temp_dir dir;
  const auto pw = dir.write("mqtt.pw", "hunter2\n", fs::perms::owner_read);
  std::string text = read_text(testdata / "full.toml");
  const std::string empty_user = "username = \"\"\npassword_file = \"\"\n";
  REQUIRE(text.find(empty_user) != std::string::npos);
  text.replace(text.find(empty_user), empty_user.size(),
               "username = \"gw\"\npassword_file = \"" + pw.string() + "\"\n");
  const settings s = load_string(text, "full.toml");
  const std::string sum = vitals::config::summary(s);
  CHECK_THAT(sum, Catch::Contains("ssl://broker.example.org:8883") &&
                      Catch::Contains("/var/lib/vitalsd/vitals.db") &&
                      Catch::Contains("spo2_low") && Catch::Contains("(DISABLED)") &&
                      Catch::Contains("password_file=\"" + pw.string() + "\" (read)") &&
                      Catch::Contains("source json-in (mqtt)"));
  CHECK_THAT(sum, !Catch::Contains("hunter2") && !Catch::Contains("p-0042") &&
                      !Catch::Contains("c8:7f:54"));
}

TEST_CASE("known_keys lists the schema", "[config]") {
  const auto keys = vitals::config::known_keys(vitals::adapters::registry());
  const std::set<std::string> set(keys.begin(), keys.end());
  CHECK(set.size() == keys.size());
  for (const char* k : {"mqtt.broker",
                        "mqtt.password_file",
                        "store.synchronous",
                        "pipeline.ring_capacity",
                        "log.include_phi",
                        "rules.spo2_low.limit",
                        "rules.glucose_high.enabled",
                        "devices[].id",
                        "devices[].patient",
                        "patients[].id",
                        "patients[].rules.hr_low.min_duration_s",
                        "sources[].type",
                        "sources[].name",
                        "sources[mqtt].qos",
                        "sources[mqtt].topics",
                        "sources[ble_gateway].gateways[].fields.uuid",
                        "sources[file].path",
                        "receivers[webhook].url",
                        "receivers[log].path",
                        "receivers[mqtt].timeout_s"}) {
    CHECK(set.contains(k));
  }
  CHECK_FALSE(set.contains("mqtt.password"));  // never read from the config
  CHECK_FALSE(set.contains("mqtt"));           // sections are not keys
  CHECK_FALSE(set.contains("mqtt.qos"));       // a source's option
}

TEST_CASE("rules of the glucose and NEWS2 detectors: global and per-patient settings", "[config]") {
  const auto s = load_string(
      "[rules.glucose_falling_fast]\nenabled = true\nlimit = 2.0\n"
      "[rules.news2_urgent_review]\nmin_duration_s = 120\n"
      "[[patients]]\nid = \"p-7\"\nspo2_scale = 2\non_oxygen = true\n"
      "[patients.rules.glucose_urgent_low_soon]\nlimit = 60\n",
      "detectors.toml");
  CHECK(s.glucose.falling_fast.enabled);
  CHECK(s.glucose.falling_fast.limit == 2.0);
  CHECK_FALSE(s.glucose.rising_fast.enabled);  // untouched
  CHECK(s.news2.urgent.min_duration == 120s);
  CHECK(s.news2.emergency.min_duration == 300s);
  REQUIRE(s.news2.patient_context.count("p-7") == 1);
  CHECK(s.news2.patient_context.at("p-7").scale == vitals::core::spo2_scale::scale2);
  CHECK(s.news2.patient_context.at("p-7").on_oxygen);
  CHECK(s.detector.patients.at("p-7").at("glucose_urgent_low_soon").limit == 60.0);

  SECTION("a key a rule does not take is an error naming it") {
    const auto e = load_error("[rules.news2_emergency]\nlimit = 7\n");
    CHECK(e.key() == "rules.news2_emergency.limit");
    CHECK_THAT(e.what(), Catch::Contains("known keys here: min_duration_s, priority, enabled"));
  }
  SECTION("a rate limit is in mg/dL/min, within its own range") {
    const auto e = load_error("[rules.glucose_rising_fast]\nlimit = 54\n");
    CHECK(e.key() == "rules.glucose_rising_fast.limit");
    CHECK_THAT(e.what(), Catch::Contains("mg/dL/min"));
  }
  SECTION("spo2_scale is 1 or 2") {
    const auto e = load_error("[[patients]]\nid = \"p\"\nspo2_scale = 3\n");
    CHECK(e.key() == "patients[0].spo2_scale");
  }
}

TEST_CASE("a patient's diabetes type sets its glucose rules, its own rules win", "[config]") {
  const auto s = load_string(
      "[[patients]]\nid = \"well\"\ndiabetes = \"none\"\n"
      "[[patients]]\nid = \"t1\"\ndiabetes = \"type1\"\n"
      "[[patients]]\nid = \"own\"\ndiabetes = \"none\"\n"
      "[patients.rules.glucose_low]\nenabled = true\nlimit = 60\n",
      "diabetes.toml");
  CHECK(s.patient_diabetes.at("well") == vitals::core::diabetes_type::none);
  CHECK(s.patient_diabetes.at("t1") == vitals::core::diabetes_type::type1);
  const auto& well = s.detector.patients.at("well");
  CHECK(well.at("glucose_low").enabled == false);
  CHECK(well.at("glucose_urgent_low_soon").enabled == false);
  CHECK(well.at("glucose_urgent_low").min_duration == std::chrono::milliseconds(600'000));
  CHECK(s.detector.patients.at("t1").empty());
  CHECK(s.detector.patients.at("own").at("glucose_low").enabled == true);
  CHECK(s.detector.patients.at("own").at("glucose_low").limit == 60.0);
  CHECK(s.detector.patients.at("own").at("glucose_urgent_low_soon").enabled == false);
  const auto e = load_error("[[patients]]\nid = \"p\"\ndiabetes = \"type 1\"\n");
  CHECK(e.key() == "patients[0].diabetes");
  CHECK_THAT(e.what(), Catch::Contains("\"type1\", \"type2\", \"none\""));
}

TEST_CASE("personal baselines: [baseline], their rules and a patient's local time", "[config]") {
  const auto s = load_string(
      "[baseline]\nbuckets = 4\nutc_offset_min = 60\nwarmup_h = 12\n"
      "[rules.hr_baseline_deviation]\nlimit = 25\nmin_duration_s = 1800\n"
      "[rules.cardio_baseline_deviation]\nenabled = false\n"
      "[[patients]]\nid = \"p-1\"\nutc_offset_min = -300\n",
      "baseline.toml");
  CHECK(s.baseline.buckets == 4);
  CHECK(s.baseline.utc_offset_minutes == 60);
  CHECK(s.baseline.warmup_total == std::chrono::hours(12));
  CHECK(s.baseline.hr_limit == 25.0);
  CHECK(s.baseline.hr_min_duration == std::chrono::minutes(30));
  CHECK_FALSE(s.baseline.cardio_enabled);
  CHECK(s.baseline.hr_enabled);
  CHECK(s.baseline.patient_utc_offset_minutes.at("p-1") == -300);
  const auto e = load_error("[baseline]\nbuckets = 5\n");
  CHECK(e.key() == "baseline.buckets");
  CHECK_THAT(e.what(), Catch::Contains("1, 2, 3, 4 or 6"));
}

TEST_CASE("alerts, receivers and routes: settings and errors with file, line and key",
          "[config][alerts]") {
  temp_dir dir;
  const auto secret =
      dir.write("key", "routing-key-0123456789\n", fs::perms::owner_read | fs::perms::owner_write);

  SECTION("a full alerting setup") {
    const settings s = load_string(fmt::format(R"([alerts]
flap_window_s = 60
latch_high = false
max_snooze_min = 60
max_snooze_high_min = 10
command_topic = ""

[[receivers]]
name = "nurse"
type = "ntfy"
url = "https://ntfy.example.org"
topic = "ward-3"

[[receivers]]
name = "pd"
type = "pagerduty"
url = "https://events.pagerduty.com/v2/enqueue"
secret_file = "{}"

[[routes]]
name = "night"
priorities = ["medium", "low"]
source = "physiological"
quiet_hours = "22:30-06:00"
  [[routes.steps]]
  receivers = ["nurse"]
  [[routes.steps]]
  after_min = 2.5
  receivers = ["pd", "nurse"]
)",
                                               secret.string()),
                                   "alerts.toml");
    const auto& l = s.alerts.lifecycle;
    CHECK(l.flap_window == 60s);
    CHECK_FALSE(l.latch_high);
    CHECK(l.max_snooze == 60min);
    CHECK(l.max_snooze_high == 10min);
    CHECK(s.alerts.command_topic.empty());
    REQUIRE(s.receivers.size() == 2);
    CHECK(s.receivers[1].options.secret("secret_file") == "routing-key-0123456789");
    REQUIRE(l.routes.size() == 1);
    const auto& r = l.routes[0];
    CHECK(r.priorities == std::vector<vitals::core::priority>{priority::medium, priority::low});
    CHECK(r.source == vitals::core::alert_source::physiological);
    REQUIRE(r.quiet.has_value());
    CHECK(r.quiet->start_min == 22 * 60 + 30);
    CHECK(r.quiet->end_min == 6 * 60);
    REQUIRE(r.steps.size() == 2);
    CHECK(r.steps[0].after == 0s);
    CHECK(r.steps[1].after == 150s);
    CHECK_THAT(vitals::config::summary(s), !Catch::Contains("routing-key"));
  }

  SECTION("a route naming an unknown receiver") {
    const auto e = load_error(
        "[[receivers]]\nname = \"nurse\"\ntype = \"webhook\"\nurl = \"http://127.0.0.1:9/x\"\n"
        "[[routes]]\nname = \"r\"\n  [[routes.steps]]\n  receivers = [\"nurze\"]\n");
    CHECK(e.line() == 8);
    CHECK(e.key() == "routes[0].steps[0].receivers");
    CHECK_THAT(e.what(), Catch::Contains("unknown receiver \"nurze\" (did you mean 'nurse'?)"));
  }

  SECTION("a route without steps, steps out of order, bad quiet hours, bad priority") {
    const auto e = load_error(
        "[[receivers]]\nname = \"n\"\ntype = \"mqtt\"\n"
        "[[routes]]\nname = \"a\"\n"
        "[[routes]]\nname = \"b\"\nquiet_hours = \"22-7\"\n  [[routes.steps]]\n  receivers = "
        "[\"n\"]\n"
        "[[routes]]\nname = \"c\"\npriorities = [\"urgent\"]\n  [[routes.steps]]\n  receivers = "
        "[\"n\"]\n"
        "[[routes]]\nname = \"d\"\n  [[routes.steps]]\n  after_min = 5\n  receivers = [\"n\"]\n"
        "  [[routes.steps]]\n  after_min = 1\n  receivers = [\"n\"]\n");
    std::vector<std::string> keys;
    for (const auto& p : e.problems()) keys.push_back(p.key);
    CHECK(keys == std::vector<std::string>{"routes[0].steps", "routes[1].quiet_hours",
                                           "routes[2].priorities", "routes[3].steps[1].after_min"});
    CHECK_THAT(e.what(), Catch::Contains("\"HH:MM-HH:MM\""));
  }

  SECTION("receivers: bad type, URL with credentials, missing routing key, ntfy without topic") {
    const auto e = load_error(
        "[[receivers]]\nname = \"a\"\ntype = \"slack\"\n"
        "[[receivers]]\nname = \"b\"\ntype = \"webhook\"\nurl = \"https://u:p@example.org/\"\n"
        "[[receivers]]\nname = \"c\"\ntype = \"pagerduty\"\nurl = \"https://e.example.org/\"\n"
        "[[receivers]]\nname = \"d\"\ntype = \"ntfy\"\nurl = \"ftp://x\"\n");
    std::vector<std::string> keys;
    for (const auto& p : e.problems()) keys.push_back(p.key);
    CHECK(keys == std::vector<std::string>{"receivers[0].type", "receivers[1].url",
                                           "receivers[2].secret_file", "receivers[3].topic",
                                           "receivers[3].url"});
    CHECK_THAT(e.what(), !Catch::Contains("u:p@"));
  }

  SECTION("API tokens come from files, at least 16 characters, names unique") {
    const auto short_token =
        dir.write("short", "abc\n", fs::perms::owner_read | fs::perms::owner_write);
    const auto e = load_error(fmt::format(
        "[[api.tokens]]\nname = \"a\"\ntoken_file = \"{}\"\n"
        "[[api.tokens]]\nname = \"b\"\ntoken_file = \"/nonexistent/token\"\nrole = \"owner\"\n",
        short_token.string()));
    std::vector<std::string> keys;
    for (const auto& p : e.problems()) keys.push_back(p.key);
    CHECK(keys == std::vector<std::string>{"api.tokens[0].token_file", "api.tokens[1].token_file",
                                           "api.tokens[1].role"});
    const settings s = load_string(fmt::format(
        "[api]\nport = 0\n[[api.tokens]]\nname = \"ro\"\ntoken_file = \"{}\"\nrole = \"read\"\n",
        secret.string()));
    REQUIRE(s.api.tokens.size() == 1);
    CHECK(s.api.tokens[0].role == "read");
    CHECK(s.api.port == 0);
    CHECK_THAT(vitals::config::summary(s), !Catch::Contains("routing-key"));
  }
}

TEST_CASE("technical alert delays", "[config]") {
  const settings s = load_string(
      "[technical]\nsensor_off_delay_s = 5\nsignal_poor_delay_s = 12.5\nlink_delay_s = 0\n",
      "technical.toml");
  const auto& rules = s.technical.rules;
  CHECK(rules[0].delay == 5s);
  CHECK(rules[1].delay == 12500ms);
  CHECK(rules[7].delay == 0s);
  CHECK(rules[8].delay == 0s);
  CHECK(rules[3].delay == vitals::core::condition_settings::default_rules()[3].delay);
  CHECK_THAT(vitals::config::summary(s),
             Catch::Contains("sensor off after 5 s, poor signal after 12.5 s"));
  const auto e = load_error("[technical]\nsensor_off_delay_s = -1\nlink_delay_s = \"30\"\n");
  REQUIRE(e.problems().size() == 2);
  CHECK(e.problems()[0].to_string() ==
        "test.toml:2:22: key 'technical.sensor_off_delay_s': must be between 0 and 3600 s, got -1");
  CHECK(e.problems()[1].to_string() ==
        "test.toml:3:16: key 'technical.link_delay_s': expected number, got string");
}

}  // namespace settings_test
