// Reading a TOML scenario file: values with their problems (file:line:col), and the events,
// rates and profile of a [[patient]] or [[cohort]] table.
#include "scenario_reader.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include <vitals/simulators/options.hpp>

namespace vitals::simulators::detail {

using std::chrono::milliseconds;

void reader::error(const source_pos& where, const std::string& key, const std::string& what) {
  std::ostringstream line;
  line << origin_ << ':' << where.line << ':' << where.column << ": key '" << key << "': " << what;
  errors_.push_back(line.str());
}

void reader::check_keys(const toml::table& t, const std::string& prefix,
                        std::initializer_list<std::string_view> known) {
  for (const auto& [k, v] : t) {
    if (std::find(known.begin(), known.end(), k.str()) == known.end()) {
      std::string list;
      for (const auto n : known) list += (list.empty() ? "" : ", ") + std::string(n);
      error(k.source(), prefix + std::string(k.str()), "unknown key (known: " + list + ")");
    }
  }
}

std::optional<std::string> reader::string_at(const toml::table& t, std::string_view key,
                                             const std::string& path) {
  const auto* n = t.get(key);
  if (!n) return std::nullopt;
  if (const auto* s = n->as_string()) return s->get();
  error(n->source(), path, "expected a string");
  return std::nullopt;
}

std::optional<double> reader::number_at(const toml::table& t, std::string_view key,
                                        const std::string& path) {
  const auto* n = t.get(key);
  if (!n) return std::nullopt;
  if (const auto v = n->value<double>()) {
    if (std::isfinite(*v)) return *v;
  }
  error(n->source(), path, "expected a finite number");
  return std::nullopt;
}

std::optional<milliseconds> reader::duration_at(const toml::table& t, std::string_view key,
                                                const std::string& path, bool allow_zero,
                                                bool allow_negative) {
  const auto* n = t.get(key);
  if (!n) return std::nullopt;
  std::optional<milliseconds> d;
  if (const auto* s = n->as_string()) {
    std::string_view text = s->get();
    bool negative = false;
    if (allow_negative && !text.empty() && (text[0] == '-' || text[0] == '+')) {
      negative = text[0] == '-';
      text.remove_prefix(1);
    }
    if (allow_zero && (text == "0" || text == "0s" || text == "0m")) {
      d = milliseconds(0);
    } else {
      d = parse_duration(text);
    }
    if (d && negative) d = -*d;
  } else if (const auto v = n->value<double>()) {
    if (std::isfinite(*v) && (*v > 0 || (allow_zero && *v == 0) || allow_negative)) {
      d = std::chrono::round<milliseconds>(std::chrono::duration<double>(*v));
    }
  }
  if (!d) {
    error(n->source(), path,
          "expected a duration like \"90s\", \"10m\", \"2h\", \"1d\" or a number of seconds");
  }
  return d;
}

namespace {

/// One `events` entry; appended to `out`, or placed on `p` when `out` is null.
void read_entry(reader& r, const toml::table& t, const std::string& path, patient_spec& p,
                std::vector<entry>* out) {
  r.check_keys(
      t, path + ".",
      {"kind", "at", "duration", "level", "device", "offset", "backfill", "depth", "magnitude"});
  entry e;
  const auto kind = r.string_at(t, "kind", path + ".kind");
  if (!kind) {
    if (!t.contains("kind")) r.error(t.source(), path + ".kind", "missing (what happens?)");
    return;
  }
  const auto ref = find_kind(*kind);
  if (!ref) {
    std::string list;
    for (const auto& k : scenario_kinds()) list += (list.empty() ? "" : ", ") + k;
    r.error(t.get("kind")->source(), path + ".kind",
            "unknown kind '" + *kind + "' (known: " + list + ")");
    return;
  }
  e.kind = *ref;
  e.name = *kind;
  e.where = pos_of(t.source());
  const auto at = r.duration_at(t, "at", path + ".at", true);
  if (!at) {
    if (!t.contains("at")) {
      r.error(t.source(), path + ".at", "missing (when, as an offset from the start: \"2h\")");
    }
    return;
  }
  e.at = *at;
  if (const auto d = r.duration_at(t, "duration", path + ".duration", false)) e.duration = *d;
  // What `level` means depends on the kind: bpm, %, U of insulin, g of carbohydrate, mg/dL.
  // The bounds keep the models in their physiological domain.
  const double level_max = e.kind.fam == family::cardio ? 250.0 : 300.0;
  for (const auto* key : {"level", "depth", "magnitude"}) {
    if (const auto v = r.number_at(t, key, path + "." + key)) {
      if (*v < 0.0 || *v > level_max) {
        r.error(
            t.get(key)->source(), path + "." + key,
            "expected 0 (the kind's default) .. " + std::to_string(static_cast<int>(level_max)));
      } else {
        e.level = *v;
      }
    }
  }
  if (const auto o = r.duration_at(t, "offset", path + ".offset", false, true)) e.offset = *o;
  if (const auto* b = t.get("backfill")) {
    if (const auto v = b->value<bool>()) {
      e.backfill = *v;
    } else {
      r.error(b->source(), path + ".backfill", "expected true or false");
    }
  }
  e.device = default_device(e);
  if (const auto dev = r.string_at(t, "device", path + ".device")) {
    if (*dev == "ox" || *dev == "oximeter") {
      e.device = device_slot::oximeter;
    } else if (*dev == "cgm") {
      e.device = device_slot::cgm;
    } else if (*dev == "all") {
      e.device = device_slot::all;
    } else {
      r.error(t.get("device")->source(), path + ".device",
              "unknown device '" + *dev + "' (ox, cgm or all)");
    }
  }
  if (out) {
    out->push_back(e);
    return;
  }
  if (auto problem = place(p, e)) r.error(t.source(), path + ".kind", *kind + " " + *problem);
}

}  // namespace

std::vector<entry> read_entries(reader& r, const toml::table& t, const std::string& path,
                                patient_spec& probe) {
  std::vector<entry> out;
  const auto* n = t.get("events");
  if (!n) return out;
  const auto* arr = n->as_array();
  if (!arr) {
    r.error(n->source(), path + ".events", "expected an array of tables");
    return out;
  }
  for (std::size_t i = 0; i < arr->size(); ++i) {
    const std::string item = path + ".events[" + std::to_string(i) + "]";
    if (const auto* et = arr->get(i)->as_table()) {
      read_entry(r, *et, item, probe, &out);
    } else {
      r.error(arr->get(i)->source(), item, "expected a table {kind = ..., at = ...}");
    }
  }
  return out;
}

std::vector<std::pair<kind_ref, double>> read_rates(reader& r, const toml::table& t,
                                                    const std::string& path) {
  std::vector<std::pair<kind_ref, double>> out;
  const auto* n = t.get("rates");
  if (!n) return out;
  const auto* rates = n->as_table();
  if (!rates) {
    r.error(n->source(), path + ".rates", "expected a table of kind = events per patient-day");
    return out;
  }
  for (const auto& [k, v] : *rates) {
    const std::string key = path + ".rates." + std::string(k.str());
    const auto ref = find_kind(k.str());
    if (!ref) {
      r.error(k.source(), key, "unknown kind");
      continue;
    }
    const auto rate = v.value<double>();
    if (!rate || !std::isfinite(*rate) || *rate < 0 || *rate > 1000) {
      r.error(v.source(), key, "expected events per patient-day, 0..1000");
      continue;
    }
    out.emplace_back(*ref, *rate);
  }
  return out;
}

void add_all(reader& r, patient_spec& p, const std::vector<entry>& entries,
             const toml::source_region& where, const std::string& path) {
  for (const auto& e : entries) {
    if (auto problem = place(p, e)) {
      r.error(e.where ? *e.where : pos_of(where), path, e.name + " " + *problem);
    }
  }
}

profile_choice read_choice(reader& r, const toml::table& t, const std::string& path,
                           output_format default_output) {
  profile_choice c;
  c.output = default_output;
  if (const auto s = r.string_at(t, "profile", path + ".profile")) {
    if (const auto p = parse_profile(*s)) {
      c.profile = *p;
    } else {
      r.error(t.get("profile")->source(), path + ".profile",
              "unknown profile '" + *s + "' (healthy, copd, t1d or cardiac)");
    }
  }
  if (const auto s = r.string_at(t, "output", path + ".output")) {
    if (const auto f = parse_output_format(*s)) {
      c.output = *f;
    } else {
      r.error(t.get("output")->source(), path + ".output", output_formats_expected);
    }
  }
  return c;
}

}  // namespace vitals::simulators::detail
