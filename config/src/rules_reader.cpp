// [rules.*], [[patients]] (with their own rules), [baseline], [stale] and [technical].
#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <utility>

#include <vitals/core/baseline_detector.hpp>
#include <vitals/core/diabetes_profile.hpp>
#include <vitals/core/glucose_detector.hpp>
#include <vitals/core/news2_detector.hpp>

#include "sections.hpp"

namespace vitals::config::detail {

namespace {

using core::priority;
using core::vital_kind;

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
      c.errors.push_back(at(c, k.source(), key,
                            fmt::format("unknown rule{}; rules: {}",
                                        core::did_you_mean(name, names), core::join_names(names))));
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

}  // namespace

void read_global_rules(context& c, const toml::table* t, settings& s) {
  apply_global_rules(read_rules(c, t, "rules", rule_catalog()), s);
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
  r.integer("storm_streams", st.storm_streams, 0, 1000000);
  r.finish();
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

}  // namespace vitals::config::detail
