#include <vitals/simulators/scenario.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>

#include <fmt/format.h>
#include <toml++/toml.h>

#include <vitals/simulators/options.hpp>
#include <vitals/simulators/random.hpp>

namespace vitals::simulators {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

namespace {

constexpr std::array<std::string_view, 6> fault_names{
    "dropout", "gateway_disconnect", "late", "out_of_order", "duplicate", "clock_skew"};

}  // namespace

std::string_view to_string(fault_kind k) noexcept {
  return fault_names[static_cast<std::size_t>(k)];
}

std::optional<fault_kind> parse_fault(std::string_view text) noexcept {
  for (std::size_t i = 0; i < fault_names.size(); ++i) {
    if (fault_names[i] == text) return static_cast<fault_kind>(i);
  }
  return std::nullopt;
}

std::string patient_id(int index) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "p%03d", index);
  return buf;
}

namespace {

// ---- the run: seed, start, duration ----

void resolve_run(scenario& s, const run_overrides& run, std::optional<std::uint64_t> file_seed,
                 std::optional<milliseconds> file_duration,
                 std::optional<core::timestamp> file_start) {
  s.seed = run.seed ? *run.seed : file_seed.value_or(1);
  s.duration = run.duration ? run.duration : file_duration;
  if (run.start) {
    s.start = *run.start;
  } else if (file_start) {
    s.start = *file_start;
  } else {
    s.start = default_start(run.now, run.speed, s.duration);
  }
  if (run.unit) s.unit = *run.unit;
  if (run.output) {
    for (auto& p : s.patients) p.output = *run.output;
  }
}

milliseconds horizon_of(const scenario& s) {
  return s.duration ? *s.duration : milliseconds(open_ended_horizon);
}

// ---- every kind a scenario can name ----

enum class family { cardio, glucose, oximeter, cgm, fault };

struct kind_ref {
  family fam;
  int value;  // the enum value within its family
};

std::optional<kind_ref> find_kind(std::string_view name) {
  if (const auto k = parse_cardio_event(name))
    return kind_ref{family::cardio, static_cast<int>(*k)};
  if (const auto k = parse_glucose_event(name)) {
    return kind_ref{family::glucose, static_cast<int>(*k)};
  }
  if (const auto k = parse_oximeter_artifact(name)) {
    return kind_ref{family::oximeter, static_cast<int>(*k)};
  }
  if (name == "compression_low") {
    return kind_ref{family::cgm, static_cast<int>(cgm_artifact_kind::compression_low)};
  }
  if (name == "sensor_warmup") {
    return kind_ref{family::cgm, static_cast<int>(cgm_artifact_kind::sensor_warmup)};
  }
  if (const auto k = parse_fault(name)) return kind_ref{family::fault, static_cast<int>(*k)};
  return std::nullopt;
}

// ---- one entry of a schedule, before it is placed on a patient ----

struct entry {
  kind_ref kind{};
  milliseconds at{};
  milliseconds duration{};
  double level = 0.0;
  device_slot device = device_slot::all;
  bool device_given = false;
  milliseconds offset{};
  bool backfill = true;
  std::string name;                          // the kind as written
  std::optional<toml::source_region> where;  // where it was written (not for drawn entries)
};

std::string kind_name(const kind_ref& k) {
  switch (k.fam) {
    case family::cardio:
      return std::string(to_string(static_cast<cardio_event_kind>(k.value)));
    case family::glucose:
      return std::string(to_string(static_cast<glucose_event_kind>(k.value)));
    case family::oximeter:
      return std::string(to_string(static_cast<oximeter_artifact_kind>(k.value)));
    case family::cgm:
      return std::string(to_string(static_cast<cgm_artifact_kind>(k.value)));
    case family::fault:
      return std::string(to_string(static_cast<fault_kind>(k.value)));
  }
  return "";
}

device_slot default_device(const entry& e) {
  if (e.kind.fam == family::fault) {
    const auto k = static_cast<fault_kind>(e.kind.value);
    if (k == fault_kind::gateway_disconnect) return device_slot::all;
    if (k == fault_kind::late) return device_slot::cgm;
    return device_slot::oximeter;
  }
  return e.kind.fam == family::cgm ? device_slot::cgm : device_slot::oximeter;
}

/// Adds `e` to `p`; returns a problem when it does not fit the patient's profile.
std::optional<std::string> place(patient_spec& p, entry e) {
  const bool needs_cgm = e.kind.fam == family::glucose || e.kind.fam == family::cgm ||
                         (e.kind.fam == family::fault && e.device == device_slot::cgm);
  if (needs_cgm && !has_cgm(p.profile)) {
    return "needs a CGM, and profile '" + std::string(to_string(p.profile)) +
           "' has none (only t1d patients wear one)";
  }
  switch (e.kind.fam) {
    case family::cardio:
      p.cardio_events.push_back(
          {static_cast<cardio_event_kind>(e.kind.value), e.at, e.duration, e.level});
      break;
    case family::glucose:
      p.glucose_events.push_back({static_cast<glucose_event_kind>(e.kind.value), e.at, e.level});
      break;
    case family::oximeter:
      p.oximeter_artifacts.push_back(
          {static_cast<oximeter_artifact_kind>(e.kind.value), e.at, e.duration});
      break;
    case family::cgm:
      p.cgm_artifacts.push_back(
          {static_cast<cgm_artifact_kind>(e.kind.value), e.at, e.duration, e.level});
      break;
    case family::fault: {
      const auto k = static_cast<fault_kind>(e.kind.value);
      milliseconds duration = e.duration;
      if (duration.count() <= 0) {
        duration = k == fault_kind::clock_skew ? milliseconds(hours(2)) : milliseconds(minutes(10));
      }
      milliseconds offset = e.offset;
      if (k == fault_kind::clock_skew && offset.count() == 0) offset = minutes(5);
      p.faults.push_back({k, e.device, e.at, duration, offset, e.backfill});
      break;
    }
  }
  return std::nullopt;
}

// ---- random schedules: rates per patient-day ----

/// Knuth's method for small means, the normal approximation for large ones (where Knuth's
/// limit e^-mean underflows).
int poisson(random& rng, double mean) {
  if (mean <= 0.0) return 0;
  if (mean > 200.0) {
    return static_cast<int>(std::max(0.0, std::round(mean + std::sqrt(mean) * rng.normal())));
  }
  const double limit = std::exp(-mean);
  int k = 0;
  double p = rng.uniform();
  while (p > limit) {
    ++k;
    p *= rng.uniform();
  }
  return k;
}

/// When a kind happens: any time, at local night, or in the local evening.
enum class placement { any, day, night, evening };

struct kind_defaults {
  placement when = placement::any;
  double level_lo = 0.0, level_hi = 0.0;      // 0, 0: the model's default
  double minutes_lo = 0.0, minutes_hi = 0.0;  // duration range in minutes; 0: default
  int spacing_group = 0;                      // entries of one group do not overlap
  milliseconds spacing{minutes(30)};          // gap kept after an entry of the group
};

kind_defaults defaults_for(const kind_ref& k, profile_kind profile) {
  kind_defaults d;
  switch (k.fam) {
    case family::cardio:
      d.spacing_group = 1;
      d.spacing = minutes(60);
      switch (static_cast<cardio_event_kind>(k.value)) {
        case cardio_event_kind::tachycardia:
          d = {placement::any, 130, 160, 10, 30, 1, minutes(60)};
          break;
        case cardio_event_kind::bradycardia:
          d = {placement::any, 36, 45, 5, 15, 1, minutes(60)};
          break;
        case cardio_event_kind::deterioration:
          d = {placement::any, 25, 35, 240, 480, 1, hours(24)};
          break;
        case cardio_event_kind::desaturation:
          d = profile == profile_kind::copd
                  ? kind_defaults{placement::any, 76, 82, 1, 3, 1, minutes(60)}
                  : kind_defaults{placement::any, 80, 86, 1, 3, 1, minutes(60)};
          break;
        case cardio_event_kind::nocturnal_dip:
          d = {placement::night, 0, 0, 0, 0, 1, minutes(60)};
          break;
      }
      break;
    case family::glucose:
      d.spacing_group = 3;
      d.spacing = hours(6);
      switch (static_cast<glucose_event_kind>(k.value)) {
        case glucose_event_kind::nocturnal_hypo:
          d.when = placement::evening;
          break;
        case glucose_event_kind::insulin_overdose:
        case glucose_event_kind::missed_meal:
        case glucose_event_kind::postmeal_hyper:
          d.when = placement::day;
          break;
      }
      break;
    case family::oximeter:
      d.spacing_group = 4;
      d.spacing = minutes(5);
      if (static_cast<oximeter_artifact_kind>(k.value) == oximeter_artifact_kind::motion) {
        d = {placement::day, 0, 0, 4.0 / 60, 12.0 / 60, 4, minutes(5)};
      } else {
        d = {placement::any, 0, 0, 1, 10, 4, minutes(5)};
      }
      break;
    case family::cgm:
      if (static_cast<cgm_artifact_kind>(k.value) == cgm_artifact_kind::compression_low) {
        d = {placement::night, 30, 60, 15, 40, 5, minutes(60)};
      } else {
        d = {placement::any, 0, 0, 120, 120, 5, minutes(60)};
      }
      break;
    case family::fault:
      d.spacing_group = 6;
      d.spacing = minutes(15);
      switch (static_cast<fault_kind>(k.value)) {
        case fault_kind::dropout:
        case fault_kind::gateway_disconnect:
          d.minutes_lo = 5;
          d.minutes_hi = 30;
          break;
        case fault_kind::late:
          d.minutes_lo = 15;
          d.minutes_hi = 60;
          break;
        case fault_kind::out_of_order:
          d.minutes_lo = 1;
          d.minutes_hi = 5;
          break;
        case fault_kind::duplicate:
          d.minutes_lo = 1;
          d.minutes_hi = 10;
          break;
        case fault_kind::clock_skew:
          d.minutes_lo = 60;
          d.minutes_hi = 360;
          break;
      }
      break;
  }
  return d;
}

/// Offset from time zero of local time-of-day `tod` on simulated day `day` (counted from the
/// local midnight at or before the start).
milliseconds local_time(core::timestamp start, minutes utc_offset, int day, milliseconds tod) {
  const milliseconds local_start = start.time_since_epoch() + utc_offset;
  const milliseconds day_ms = hours(24);
  const milliseconds since_midnight = ((local_start % day_ms) + day_ms) % day_ms;
  return -since_midnight + day_ms * day + tod;
}

milliseconds from_minutes(double m) {
  return std::chrono::round<milliseconds>(std::chrono::duration<double, std::ratio<60>>(m));
}

/// Draws the entries of `rates` for one patient over the horizon.
std::vector<entry> draw_schedule(const std::vector<std::pair<kind_ref, double>>& rates,
                                 profile_kind profile, const scenario& s, const std::string& id) {
  random rng(derive_seed(s.seed, id + "/schedule"));
  const milliseconds horizon = horizon_of(s);
  const double days = std::chrono::duration<double, std::ratio<86400>>(horizon).count();
  // Local days the run touches: from the local midnight at or before the start.
  const milliseconds before_start = -local_time(s.start, s.utc_offset, 0, milliseconds(0));
  const auto local_days = (before_start + horizon) / milliseconds(hours(24)) + 1;
  std::vector<entry> out;
  for (const auto& [kind, rate] : rates) {
    const kind_defaults d = defaults_for(kind, profile);
    const int n = poisson(rng, rate * days);
    for (int i = 0; i < n; ++i) {
      entry e;
      e.kind = kind;
      e.name = kind_name(kind);
      // A time of day on one of the local days the run overlaps; drawn again (a bounded number
      // of times) when it falls before the start or after the end, so that the realised rate is
      // the configured one.
      const auto span = [&](double lo_h, double hi_h) {
        milliseconds at{-1};
        for (int attempt = 0; attempt < 64 && (at.count() < 0 || at >= horizon); ++attempt) {
          const int day = static_cast<int>(rng.uniform(0.0, static_cast<double>(local_days)));
          at = local_time(s.start, s.utc_offset, day, from_minutes(rng.uniform(lo_h, hi_h) * 60));
        }
        return at;
      };
      switch (d.when) {
        case placement::any:
          e.at = from_minutes(rng.uniform(0.0, days * 1440.0));
          break;
        case placement::day:
          e.at = span(8.0, 21.0);
          break;
        case placement::night:
          e.at = span(0.5, 5.0);
          break;
        case placement::evening:
          e.at = span(21.0, 23.0);
          break;
      }
      // Draw every number whether used or not, so that one kind's parameters never shift
      // another's.
      const double level = rng.uniform(d.level_lo, d.level_hi);
      const double mins = rng.uniform(d.minutes_lo, d.minutes_hi);
      const double pick = rng.uniform();
      const double sign = rng.uniform();
      if (e.at.count() < 0 || e.at >= horizon) continue;
      e.level = d.level_hi > 0 ? std::round(level) : 0.0;
      e.duration = d.minutes_hi > 0 ? from_minutes(mins) : milliseconds(0);
      e.device = default_device(e);
      if (kind.fam == family::fault) {
        const auto k = static_cast<fault_kind>(kind.value);
        if (k != fault_kind::gateway_disconnect && k != fault_kind::late && has_cgm(profile)) {
          e.device = pick < 0.5 ? device_slot::oximeter : device_slot::cgm;
        }
        if (e.device == device_slot::cgm && !has_cgm(profile)) e.device = device_slot::oximeter;
        if (k == fault_kind::clock_skew) {
          e.offset = from_minutes((sign < 0.5 ? -1.0 : 1.0) * std::round(1.0 + pick * 9.0));
        }
      }
      out.push_back(e);
    }
  }
  // Keep entries of one group apart: a second desaturation inside the first would make both
  // labels wrong.
  std::stable_sort(out.begin(), out.end(),
                   [](const entry& a, const entry& b) { return a.at < b.at; });
  std::map<int, milliseconds> busy_until;
  std::vector<entry> kept;
  for (const auto& e : out) {
    const kind_defaults d = defaults_for(e.kind, profile);
    const milliseconds length = std::max(e.duration, milliseconds(minutes(30)));
    auto& until = busy_until[d.spacing_group * 10 + static_cast<int>(e.device)];
    if (e.at < until) continue;
    until = e.at + length + d.spacing;
    kept.push_back(e);
  }
  return kept;
}

// ---- the TOML reader ----

bool valid_patient_id(std::string_view id) {
  if (id.empty() || id.size() > 40) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
  });
}

/// Reads values out of the TOML tree and collects every problem, each with file:line:col.
class reader {
 public:
  explicit reader(std::string origin) : origin_(std::move(origin)) {}

  /// The problems found so far.
  const std::vector<std::string>& errors() const noexcept { return errors_; }

  void error(const toml::source_region& where, const std::string& key, const std::string& what) {
    std::ostringstream line;
    line << origin_ << ':' << where.begin.line << ':' << where.begin.column << ": key '" << key
         << "': " << what;
    errors_.push_back(line.str());
  }

  void check_keys(const toml::table& t, const std::string& prefix,
                  std::initializer_list<std::string_view> known) {
    for (const auto& [k, v] : t) {
      if (std::find(known.begin(), known.end(), k.str()) == known.end()) {
        std::string list;
        for (const auto n : known) list += (list.empty() ? "" : ", ") + std::string(n);
        error(k.source(), prefix + std::string(k.str()), "unknown key (known: " + list + ")");
      }
    }
  }

  std::optional<std::string> string_at(const toml::table& t, std::string_view key,
                                       const std::string& path) {
    const auto* n = t.get(key);
    if (!n) return std::nullopt;
    if (const auto* s = n->as_string()) return s->get();
    error(n->source(), path, "expected a string");
    return std::nullopt;
  }

  std::optional<double> number_at(const toml::table& t, std::string_view key,
                                  const std::string& path) {
    const auto* n = t.get(key);
    if (!n) return std::nullopt;
    if (const auto v = n->value<double>()) {
      if (std::isfinite(*v)) return *v;
    }
    error(n->source(), path, "expected a finite number");
    return std::nullopt;
  }

  /// A duration: a string like "90s", "2h30m", "1d" or a number of seconds; `allow_zero` for
  /// offsets (at = "0s").
  std::optional<milliseconds> duration_at(const toml::table& t, std::string_view key,
                                          const std::string& path, bool allow_zero,
                                          bool allow_negative = false) {
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

 private:
  std::vector<std::string> errors_;
  std::string origin_;
};

struct profile_choice {
  profile_kind profile = profile_kind::healthy;
  output_format output = output_format::compact;
};

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
  e.where = t.source();
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
      r.error(e.where ? *e.where : where, path, e.name + " " + *problem);
    }
  }
}

constexpr const char* output_formats_expected =
    "expected \"compact\", \"omh\", \"ble-generic\" or \"ble-cassia\"";

/// Reads `profile` and `output` of a [[patient]] or [[cohort]] table.
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

}  // namespace

std::optional<output_format> parse_output_format(std::string_view text) noexcept {
  for (const auto f : {output_format::compact, output_format::omh, output_format::ble_generic,
                       output_format::ble_cassia}) {
    if (to_string(f) == text) return f;
  }
  return std::nullopt;
}

std::vector<std::string> scenario_kinds() {
  std::vector<std::string> out;
  for (const auto k : {cardio_event_kind::tachycardia, cardio_event_kind::bradycardia,
                       cardio_event_kind::deterioration, cardio_event_kind::desaturation,
                       cardio_event_kind::nocturnal_dip}) {
    out.emplace_back(to_string(k));
  }
  for (const auto k : {glucose_event_kind::insulin_overdose, glucose_event_kind::missed_meal,
                       glucose_event_kind::nocturnal_hypo, glucose_event_kind::postmeal_hyper}) {
    out.emplace_back(to_string(k));
  }
  out.emplace_back(to_string(oximeter_artifact_kind::motion));
  out.emplace_back(to_string(oximeter_artifact_kind::probe_off));
  out.emplace_back(to_string(oximeter_artifact_kind::displaced));
  out.emplace_back(to_string(oximeter_artifact_kind::low_perfusion));
  out.emplace_back(to_string(cgm_artifact_kind::compression_low));
  out.emplace_back(to_string(cgm_artifact_kind::sensor_warmup));
  for (const auto n : fault_names) out.emplace_back(n);
  return out;
}

scenario plain_scenario(int patients, const std::vector<profile_kind>& mix,
                        const run_overrides& run) {
  if (patients < 1) throw std::invalid_argument("patients must be at least 1");
  scenario s;
  s.name = "none";
  const std::vector<profile_kind> cycle =
      mix.empty() ? std::vector<profile_kind>{profile_kind::healthy, profile_kind::t1d} : mix;
  for (int i = 1; i <= patients; ++i) {
    patient_spec p;
    p.id = patient_id(i);
    p.profile = cycle[static_cast<std::size_t>(i - 1) % cycle.size()];
    p.glucose_params = static_cast<std::size_t>(i - 1);
    s.patients.push_back(std::move(p));
  }
  resolve_run(s, run, std::nullopt, std::nullopt, std::nullopt);
  return s;
}

scenario demo_scenario(int patients, const std::vector<profile_kind>& mix, const run_overrides& run,
                       const demo_timing& timing) {
  scenario s = plain_scenario(patients, mix, run);
  s.name = "demo";
  // The demo's patients live on a clock of their own that reads 09:30 at the start, whatever the
  // wall clock says: an overdose just before a routine meal (whose carbohydrate cancels it) would
  // make the demo's hypoglycaemia depend on when someone runs it.
  const milliseconds day = hours(24);
  const milliseconds tod = ((s.start.time_since_epoch() % day) + day) % day;
  milliseconds offset = (milliseconds(demo_local_start) - tod + day) % day;
  if (offset > hours(12)) offset -= day;
  s.utc_offset = std::chrono::duration_cast<minutes>(offset);
  if (timing.desat_at && !s.patients.empty()) {
    s.patients[0].cardio_events.push_back(
        {cardio_event_kind::desaturation, *timing.desat_at, seconds(90), 85.0});
  }
  if (timing.hypo_at && s.patients.size() >= 2 && has_cgm(s.patients[1].profile)) {
    s.patients[1].glucose_events.push_back(
        {glucose_event_kind::insulin_overdose, *timing.hypo_at, 0.0});
  }
  return s;
}

scenario parse_scenario(std::string_view text, const std::string& origin,
                        const run_overrides& run) {
  toml::table root;
  try {
    root = toml::parse(text, origin);
  } catch (const toml::parse_error& e) {
    std::ostringstream line;
    line << origin << ':' << e.source().begin.line << ':' << e.source().begin.column << ": "
         << e.description();
    throw std::invalid_argument(line.str());
  }
  reader r(origin);
  r.check_keys(root, "",
               {"name", "seed", "duration", "start", "utc_offset", "output", "glucose_unit",
                "patient", "cohort"});
  scenario s;
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
  resolve_run(s, run, file_seed, file_duration, file_start);

  struct pending {
    patient_spec spec;
    std::vector<entry> fixed;
    std::vector<std::pair<kind_ref, double>> rates;
    std::optional<std::size_t> glucose_params;  // given in the file
    toml::source_region where;
    std::string path;
  };
  std::vector<pending> people;
  const auto each_table = [&](std::string_view key, auto&& fn) {
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
  };
  // Patients are numbered in file order: [[patient]] tables first, then [[cohort]] members.
  each_table("patient", [&](const toml::table& t, const std::string& path) {
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
    people.push_back(std::move(p));
  });
  each_table("cohort", [&](const toml::table& t, const std::string& path) {
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
  });
  if (people.empty() && r.errors().empty()) {
    r.error(root.source(), "patient", "no [[patient]] or [[cohort]]: nobody to simulate");
  }
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

std::string patient_config(const scenario& s) {
  std::string out;
  for (const auto& p : s.patients) {
    if (p.profile != profile_kind::copd) continue;
    out += fmt::format(
        "[[patients]]\nid = \"{}\"  # COPD, prescribed SpO2 88-92 %\nspo2_scale = 2\n"
        "[patients.rules.spo2_low]\nlimit = 85.0\n\n",
        p.id);
  }
  return out;
}

}  // namespace vitals::simulators
