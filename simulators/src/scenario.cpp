// Scenarios: the kinds a scenario can name and how an entry lands on a patient, the run's seed,
// start and duration, and the built-in plain and demo scenarios. Random schedules are drawn in
// scenario_schedule.cpp, TOML scenario files read in scenario_file.cpp and scenario_reader.cpp.
#include <vitals/simulators/scenario.hpp>

#include <array>
#include <cstdio>
#include <stdexcept>

#include <fmt/format.h>

#include <vitals/simulators/options.hpp>

#include "scenario_detail.hpp"

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

namespace detail {

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

// ---- every kind a scenario can name ----

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

}  // namespace detail

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
  detail::resolve_run(s, run, std::nullopt, std::nullopt, std::nullopt);
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
