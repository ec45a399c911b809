#include <vitals/simulators/scenario.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace vitals::simulators {

using std::chrono::milliseconds;
using std::chrono::seconds;

double event_depth(const scripted_event& e, milliseconds elapsed) noexcept {
  const auto fall_end = e.onset + e.fall;
  const auto hold_end = fall_end + e.hold;
  const auto end = e.end();
  if (elapsed < e.onset || elapsed >= end) return 0.0;
  if (elapsed < fall_end) {
    return std::chrono::duration<double>(elapsed - e.onset) / std::chrono::duration<double>(e.fall);
  }
  if (elapsed < hold_end) return 1.0;
  return 1.0 - std::chrono::duration<double>(elapsed - hold_end) /
                   std::chrono::duration<double>(e.recovery);
}

double event_value(const scripted_event& e, double baseline, milliseconds elapsed) noexcept {
  return baseline + event_depth(e, elapsed) * (e.nadir - baseline);
}

scenario demo_scenario(int patients, const demo_timing& timing) {
  scenario s{"demo", {}};
  if (timing.desat_at && patients >= 1) {
    // SpO2 to ~84.5 (sent as 84-85) in 20 s, 90 s at the bottom, 30 s back; HR +10 bpm.
    s.events.push_back({patient_id(1), event_kind::desaturation, *timing.desat_at, seconds(20),
                        seconds(90), seconds(30), 84.5, 10.0, 90.0, "moderate", true});
  }
  if (timing.hypo_at && patients >= 2) {
    // Glucose to ~48 in 12 min (< 70 about 6-9 min after onset), 28 min at the bottom, 20 min
    // back: below 54 for about 30 min (level 2, Battelino 2019).
    s.events.push_back({patient_id(2), event_kind::hypoglycaemia, *timing.hypo_at,
                        std::chrono::minutes(12), std::chrono::minutes(28),
                        std::chrono::minutes(20), 48.0, 0.0, 70.0, "level2", true});
  }
  return s;
}

std::vector<std::string> scenario_names() {
  return {"demo", "none"};
}

scenario make_scenario(std::string_view name, int patients, const demo_timing& timing) {
  if (name == "demo") return demo_scenario(patients, timing);
  if (name == "none") return scenario{"none", {}};
  throw std::invalid_argument("unknown scenario '" + std::string(name) + "' (known: demo, none)");
}

label make_label(const scripted_event& e, core::timestamp run_start, double baseline) {
  label l;
  l.patient = e.patient;
  l.kind = e.kind;
  l.start = run_start + e.onset;
  l.end = run_start + e.end();
  l.severity = e.severity;
  l.actionable = e.actionable;
  l.baseline = baseline;
  l.nadir = e.nadir;
  l.threshold = e.threshold;
  // Devices send integers, so "below the threshold" means below threshold - 0.5 before rounding.
  const double limit = e.threshold - 0.5;
  if (e.nadir < limit) {
    const auto at = [&](seconds from, seconds span, double fraction) {
      return run_start + from +
             std::chrono::round<milliseconds>(std::chrono::duration<double>(span) * fraction);
    };
    // Depth at which the value reaches the limit; 0 when the baseline is already below it.
    const double crossing = std::clamp((baseline - limit) / (baseline - e.nadir), 0.0, 1.0);
    l.below_from = at(e.onset, e.fall, crossing);
    l.below_until = at(e.onset + e.fall + e.hold, e.recovery, 1.0 - crossing);
  }
  return l;
}

namespace {

std::int64_t epoch_ms(core::timestamp t) {
  return t.time_since_epoch().count();
}

double one_decimal(double v) {
  return std::round(v * 10.0) / 10.0;
}

}  // namespace

std::string to_json(const label& l) {
  const auto vital =
      l.kind == event_kind::desaturation ? core::vital_kind::spo2 : core::vital_kind::glucose;
  nlohmann::ordered_json j;
  j["patient"] = l.patient;
  j["kind"] = std::string(to_string(l.kind));
  j["start"] = epoch_ms(l.start);
  j["end"] = epoch_ms(l.end);
  j["severity"] = l.severity;
  j["actionable"] = l.actionable;
  j["vital"] = std::string(core::to_string(vital));
  j["unit"] = std::string(core::canonical_unit(vital));
  j["baseline"] = one_decimal(l.baseline);
  j["nadir"] = one_decimal(l.nadir);
  j["threshold"] = l.threshold;
  if (l.below_from) j["below_from"] = epoch_ms(*l.below_from);
  if (l.below_until) j["below_until"] = epoch_ms(*l.below_until);
  return j.dump();
}

std::string patient_id(int index) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "p%03d", index);
  return buf;
}

}  // namespace vitals::simulators
