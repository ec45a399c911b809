#include <vitals/config/loader.hpp>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <utility>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "plugin_reader.hpp"
#include "reader.hpp"
#include "sections.hpp"

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

namespace detail {

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
  r.integer("reconfirm_oximetry_s", p.reconfirm_oximetry_s, 1, 3600);
  r.integer("reconfirm_glucose_s", p.reconfirm_glucose_s, 1, 14400);
  r.boolean("accept_unknown", p.accept_unknown);
  r.integer("max_streams", p.max_streams, 1, 100000000);
  if (const auto* n = r.boolean("detection", p.detection); n && !p.detection) {
    r.warning(*n, "detection",
              "physiological detection is switched off: readings are stored, no alert is raised");
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

}  // namespace detail

namespace {

using namespace detail;

/// A key written above every section header lands at the top level: name its section.
std::string section_hint(const core::plugin_registry& plugins, std::string_view key) {
  static const std::vector<std::string> sections{"store",    "pipeline", "log", "stale",
                                                 "baseline", "alerts",   "api", "technical"};
  std::vector<std::string> keys;
  context c;
  c.schema = &keys;
  const toml::table empty;
  table_reader root(c, &empty, "");
  settings s;
  read_store(c, nullptr, s.store);
  read_pipeline(c, nullptr, s.pipeline);
  read_log(c, nullptr, s.log);
  read_stale(c, nullptr, s.stale);
  read_baseline(c, nullptr, s.baseline);
  read_alerts(c, nullptr, s.alerts);
  read_api(c, nullptr, s.api);
  read_technical(c, nullptr, s.technical);
  for (const auto& k : keys) {
    const auto dot = k.find('.');
    if (dot == std::string::npos || k.find_first_of(".[", dot + 1) != std::string::npos) continue;
    if (k.compare(dot + 1, std::string::npos, key) == 0) {
      return fmt::format(" (did you mean '{}'? it belongs under [{}])", k, k.substr(0, dot));
    }
  }
  return plugin_hint(plugins, key);
}

void read_all(context& c, const toml::table& root, const core::plugin_registry& plugins,
              settings& s) {
  table_reader r(c, &root, "");
  read_sections(c, r, plugins, s);
  read_sources(c, r, plugins, s);
  read_store(c, r.table("store"), s.store);
  read_pipeline(c, r.table("pipeline"), s.pipeline);
  read_log(c, r.table("log"), s.log);
  read_stale(c, r.table("stale"), s.stale);
  read_baseline(c, r.table("baseline"), s.baseline);
  read_global_rules(c, r.table("rules"), s);
  read_alerts(c, r.table("alerts"), s.alerts);
  read_api(c, r.table("api"), s.api);
  read_devices(c, r, s);
  read_patients(c, r, s);
  read_receivers(c, r, plugins, s);
  std::vector<std::string> receiver_names;
  for (const auto& rc : s.receivers) receiver_names.push_back(rc.name);
  read_routes(c, r, receiver_names, s.alerts.lifecycle.routes);
  read_technical(c, r.table("technical"), s.technical);
  if (c.schema) return;
  // The unknown-key check of the top level, with a hint at the section a stray key belongs to.
  r.finish([&](std::string_view key) { return section_hint(plugins, key); });
}

}  // namespace

settings load_string(std::string_view text, std::string_view source_name,
                     const core::plugin_registry& plugins) {
  context c;
  c.source = std::string(source_name);
  toml::table root;
  try {
    root = toml::parse(text, source_name);
  } catch (const toml::parse_error& e) {
    throw config_error({at(c, e.source(), "", std::string(e.description()))});
  }
  settings s;
  read_all(c, root, plugins, s);
  if (!c.errors.empty()) throw config_error(std::move(c.errors));
  for (const auto& w : sorted(std::move(c.warnings))) s.warnings.push_back(w.to_string());
  return s;
}

settings load_file(const std::filesystem::path& path, const core::plugin_registry& plugins) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int err = errno;
    throw config_error(
        {problem{path.string(), 0, 0, "",
                 fmt::format("cannot read configuration file: {}", std::strerror(err))}});
  }
  std::ostringstream text;
  text << in.rdbuf();
  return load_string(text.str(), path.string(), plugins);
}

settings defaults(const core::plugin_registry& plugins) {
  return load_string("", "<defaults>", plugins);
}

std::vector<std::string> known_keys(const core::plugin_registry& plugins) {
  std::vector<std::string> keys;
  context c;
  c.schema = &keys;
  const toml::table empty;
  settings s;
  read_all(c, empty, plugins, s);
  // The section tables themselves are recorded too; keep only leaf keys.
  std::vector<std::string> leaves;
  for (const auto& k : keys) {
    const bool is_section = std::any_of(keys.begin(), keys.end(), [&](const std::string& o) {
      return o.size() > k.size() && o.compare(0, k.size(), k) == 0 &&
             (o[k.size()] == '.' || o[k.size()] == '[');
    });
    if (!is_section && std::find(leaves.begin(), leaves.end(), k) == leaves.end()) {
      leaves.push_back(k);
    }
  }
  return leaves;
}

}  // namespace vitals::config
