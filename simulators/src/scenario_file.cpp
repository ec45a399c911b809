// Scenario files: the run's settings, the [[patient]] and [[cohort]] tables, and the patients
// they give (numbered, checked, their events placed and their random schedules drawn). Values,
// events and rates are read with scenario_reader.hpp.
#include <vitals/simulators/scenario.hpp>

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>

#include <vitals/simulators/options.hpp>

#include "scenario_reader.hpp"

namespace vitals::simulators {

using std::chrono::minutes;

namespace {

using detail::add_all;
using detail::draw_schedule;
using detail::entry;
using detail::family;
using detail::kind_name;
using detail::kind_ref;
using detail::output_formats_expected;
using detail::read_choice;
using detail::read_entries;
using detail::read_rates;
using detail::reader;

/// 1-40 letters, digits, '_', '-' or '.': an id becomes part of topics, device ids and JSON.
bool valid_patient_id(std::string_view id) {
  if (id.empty() || id.size() > 40) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
  });
}

/// Parses `text` as TOML; std::invalid_argument "origin:line:col: problem" otherwise.
toml::table parse_toml(std::string_view text, const std::string& origin) {
  try {
    return toml::parse(text, origin);
  } catch (const toml::parse_error& e) {
    std::ostringstream line;
    line << origin << ':' << e.source().begin.line << ':' << e.source().begin.column << ": "
         << e.description();
    throw std::invalid_argument(line.str());
  }
}

/// utc_offset = "+HH:MM" or "-HH:MM" (local time of meals and sleep).
void read_utc_offset(reader& r, const toml::table& root, scenario& s) {
  if (const auto off = r.string_at(root, "utc_offset", "utc_offset")) {
    // "+01:00", "-05:30"
    const auto digit = [&](std::size_t i) {
      return i < off->size() && (*off)[i] >= '0' && (*off)[i] <= '9' ? (*off)[i] - '0' : -1;
    };
    const int h = digit(1) * 10 + digit(2);
    const int m = digit(4) * 10 + digit(5);
    const char sign = off->empty() ? ' ' : (*off)[0];
    if (off->size() == 6 && (sign == '+' || sign == '-') && (*off)[3] == ':' && digit(1) >= 0 &&
        digit(2) >= 0 && digit(4) >= 0 && digit(5) >= 0 && h <= 14 && m < 60) {
      s.utc_offset = minutes((sign == '-' ? -1 : 1) * (h * 60 + m));
    } else {
      r.error(root.get("utc_offset")->source(), "utc_offset", "expected \"+HH:MM\" or \"-HH:MM\"");
    }
  }
}

/// The top-level settings (name, seed, duration, start, utc_offset, output, glucose_unit),
/// resolved against the command line's; returns the patients' default output format.
output_format read_run(reader& r, const toml::table& root, const std::string& origin,
                       const run_overrides& run, scenario& s) {
  r.check_keys(root, "",
               {"name", "seed", "duration", "start", "utc_offset", "output", "glucose_unit",
                "patient", "cohort"});
  s.name = r.string_at(root, "name", "name").value_or(origin);

  std::optional<std::uint64_t> file_seed;
  if (const auto* n = root.get("seed")) {
    const auto v = n->value<std::int64_t>();
    if (v && *v >= 0) {
      file_seed = static_cast<std::uint64_t>(*v);
    } else {
      r.error(n->source(), "seed", "expected a non-negative integer");
    }
  }
  const auto file_duration = r.duration_at(root, "duration", "duration", false);
  std::optional<core::timestamp> file_start;
  if (const auto st = r.string_at(root, "start", "start")) {
    file_start = parse_start(*st, run.now);
    if (!file_start) {
      r.error(root.get("start")->source(), "start", "expected now, epoch ms or RFC 3339");
    }
  }
  read_utc_offset(r, root, s);
  output_format default_output = output_format::compact;
  if (const auto o = r.string_at(root, "output", "output")) {
    if (const auto f = parse_output_format(*o)) {
      default_output = *f;
    } else {
      r.error(root.get("output")->source(), "output", output_formats_expected);
    }
  }
  if (const auto u = r.string_at(root, "glucose_unit", "glucose_unit")) {
    if (*u == "mmol/L") {
      s.unit = glucose_unit::mmol_l;
    } else if (*u != "mg/dL") {
      r.error(root.get("glucose_unit")->source(), "glucose_unit",
              "expected \"mg/dL\" or \"mmol/L\"");
    }
  }
  // Seed and start decide the random schedules: resolve them before drawing.
  detail::resolve_run(s, run, file_seed, file_duration, file_start);
  return default_output;
}

/// A patient (or a cohort's member) before it is numbered, placed and drawn.
struct pending {
  patient_spec spec;
  std::vector<entry> fixed;
  std::vector<std::pair<kind_ref, double>> rates;
  std::optional<std::size_t> glucose_params;  // given in the file
  toml::source_region where;
  std::string path;
};

/// Calls `fn(table, path)` for each table of the array of tables `key` of `root`.
template <typename Fn>
void each_table(reader& r, const toml::table& root, std::string_view key, Fn&& fn) {
  const auto* n = root.get(key);
  if (!n) return;
  const auto* arr = n->as_array();
  if (!arr) {
    r.error(n->source(), std::string(key), "expected [[" + std::string(key) + "]] tables");
    return;
  }
  for (std::size_t i = 0; i < arr->size(); ++i) {
    const std::string path = std::string(key) + "[" + std::to_string(i) + "]";
    if (const auto* t = arr->get(i)->as_table()) {
      fn(*t, path);
    } else {
      r.error(arr->get(i)->source(), path, "expected a table");
    }
  }
}

/// One [[patient]] table.
pending read_patient(reader& r, const toml::table& t, const std::string& path,
                     output_format default_output) {
  r.check_keys(t, path + ".", {"id", "profile", "output", "events", "rates", "glucose_params"});
  pending p;
  const auto c = read_choice(r, t, path, default_output);
  p.spec.profile = c.profile;
  p.spec.output = c.output;
  p.spec.id = r.string_at(t, "id", path + ".id").value_or("");
  if (const auto* g = t.get("glucose_params")) {
    const auto v = g->value_exact<std::int64_t>();
    if (v && *v >= 0 && *v < static_cast<std::int64_t>(uva_padova_adults().size())) {
      p.glucose_params = static_cast<std::size_t>(*v);
    } else {
      r.error(g->source(), path + ".glucose_params",
              "expected an integer 0.." + std::to_string(uva_padova_adults().size() - 1) +
                  " (one of the virtual adults)");
    }
  }
  p.fixed = read_entries(r, t, path, p.spec);
  p.rates = read_rates(r, t, path);
  p.where = t.source();
  p.path = path;
  return p;
}

/// One [[cohort]] table: `count` patients alike.
void read_cohort(reader& r, const toml::table& t, const std::string& path,
                 output_format default_output, std::vector<pending>& people) {
  r.check_keys(t, path + ".", {"count", "profile", "output", "events", "rates"});
  const auto c = read_choice(r, t, path, default_output);
  int count = 1;
  if (const auto* n = t.get("count")) {
    const auto v = n->value<std::int64_t>();
    if (v && *v >= 1 && *v <= 100000) {
      count = static_cast<int>(*v);
    } else {
      r.error(n->source(), path + ".count", "expected an integer 1..100000");
    }
  } else {
    r.error(t.source(), path + ".count", "missing (how many patients?)");
  }
  patient_spec probe;
  const auto fixed = read_entries(r, t, path, probe);
  const auto rates = read_rates(r, t, path);
  for (int i = 0; i < count; ++i) {
    pending p;
    p.spec.profile = c.profile;
    p.spec.output = c.output;
    p.fixed = fixed;
    p.rates = rates;
    p.where = t.source();
    p.path = path;
    people.push_back(std::move(p));
  }
}

/// Numbers, checks and fills in every patient (ids, virtual adults, events, drawn schedules).
void add_patients(reader& r, std::vector<pending>& people, scenario& s) {
  std::map<std::string, std::string> seen;
  int number = 0;
  std::size_t t1d_count = 0;
  for (auto& p : people) {
    ++number;
    if (p.spec.id.empty()) p.spec.id = patient_id(number);
    if (!valid_patient_id(p.spec.id)) {
      r.error(p.where, p.path + ".id",
              "expected 1-40 letters, digits, '_', '-' or '.' (it becomes part of topics, device "
              "ids and JSON)");
    }
    if (const auto [it, fresh] = seen.emplace(p.spec.id, p.path); !fresh) {
      r.error(p.where, p.path + ".id",
              "patient '" + p.spec.id + "' already defined by " + it->second);
    }
    if (p.spec.profile == profile_kind::t1d) {
      p.spec.glucose_params = p.glucose_params.value_or(t1d_count);
    }
    if (p.spec.profile == profile_kind::t1d) ++t1d_count;
    add_all(r, p.spec, p.fixed, p.where, p.path + ".events");
    bool rates_ok = true;
    for (const auto& [kind, rate] : p.rates) {
      if ((kind.fam == family::glucose || kind.fam == family::cgm) && !has_cgm(p.spec.profile)) {
        r.error(p.where, p.path + ".rates." + kind_name(kind),
                "needs a CGM, and profile '" + std::string(to_string(p.spec.profile)) +
                    "' has none (only t1d patients wear one)");
        rates_ok = false;
      }
    }
    if (!p.rates.empty() && rates_ok) {
      add_all(r, p.spec, draw_schedule(p.rates, p.spec.profile, s, p.spec.id), p.where,
              p.path + ".rates");
    }
    s.patients.push_back(std::move(p.spec));
  }
}

}  // namespace

scenario parse_scenario(std::string_view text, const std::string& origin,
                        const run_overrides& run) {
  const toml::table root = parse_toml(text, origin);
  reader r(origin);
  scenario s;
  const output_format default_output = read_run(r, root, origin, run, s);

  std::vector<pending> people;
  // Patients are numbered in file order: [[patient]] tables first, then [[cohort]] members.
  each_table(r, root, "patient", [&](const toml::table& t, const std::string& path) {
    people.push_back(read_patient(r, t, path, default_output));
  });
  each_table(r, root, "cohort", [&](const toml::table& t, const std::string& path) {
    read_cohort(r, t, path, default_output, people);
  });
  if (people.empty() && r.errors().empty()) {
    r.error(root.source(), "patient", "no [[patient]] or [[cohort]]: nobody to simulate");
  }
  add_patients(r, people, s);
  if (!r.errors().empty()) {
    std::string all;
    for (const auto& e : r.errors()) all += (all.empty() ? "" : "\n") + e;
    throw std::invalid_argument(all);
  }
  if (run.output) {
    for (auto& p : s.patients) p.output = *run.output;
  }
  return s;
}

scenario load_scenario(const std::filesystem::path& file, const run_overrides& run) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::invalid_argument("cannot read scenario file " + file.string());
  std::ostringstream text;
  text << in.rdbuf();
  return parse_scenario(text.str(), file.string(), run);
}

}  // namespace vitals::simulators
