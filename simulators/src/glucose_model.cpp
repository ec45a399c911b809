// The UVA/Padova type 1 diabetes model, written from the equations of Dalla Man, Rizza & Cobelli,
// "Meal Simulation Model of the Glucose-Insulin System", IEEE TBME 54(10) 2007, and Dalla Man et
// al., "The UVA/PADOVA Type 1 Diabetes Simulator: New Features", JDST 8(1) 2014 (subcutaneous
// insulin and glucose, T1D form without insulin secretion), with the parameter sets published by
// simglucose (see uva_padova_params.cpp); the CGM noise model is Breton & Kovatchev, "Analysis,
// Modeling, and Simulation of the Accuracy of Continuous Glucose Sensors", JDST 2(5) 2008.

#include <vitals/simulators/glucose_model.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <utility>

namespace vitals::simulators {

namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;

constexpr std::array<glucose_event_kind, 4> all_event_kinds{
    glucose_event_kind::insulin_overdose, glucose_event_kind::missed_meal,
    glucose_event_kind::nocturnal_hypo, glucose_event_kind::postmeal_hyper};

// ---- the routine ----------------------------------------------------------------------------

struct meal_slot {
  minutes local_time;    // nominal local time of day
  double jitter_sd_min;  // timing jitter, minutes (clamped to 2.5 sd)
  double carbs_mean_g;
  double carbs_sd_g;
};
// Meal sizes as in common in-silico protocols (breakfast 45 g, lunch 70 g, dinner 80 g).
constexpr std::array<meal_slot, 3> meal_slots{{
    {minutes(7 * 60 + 30), 20.0, 45.0, 10.0},
    {minutes(12 * 60 + 30), 30.0, 70.0, 15.0},
    {minutes(19 * 60), 30.0, 80.0, 15.0},
}};
constexpr double carb_estimate_sd = 0.2;    // carb counting error, relative (Brazeau et al. 2013)
constexpr int meal_minutes = 15;            // eating time of a meal
constexpr double correction_above = 150.0;  // mg/dL: add a correction bolus at a meal above this
constexpr double correction_target = 140.0;
constexpr double reduce_below = 90.0;        // mg/dL: reduce the meal bolus below this
constexpr double treat_below = 70.0;         // mg/dL: eat rescue carbs below this when awake
constexpr double treat_below_asleep = 60.0;  // mg/dL: the CGM low alarm wakes them (late)
constexpr double treat_carbs_g = 15.0;       // the "rule of 15"
constexpr minutes treat_interval{20};        // re-treat at most this often
constexpr minutes replace_window{120};       // a scripted meal event replaces a meal this close
constexpr minutes cause_window{360};         // an episode's cause: an event this long before it

// Per-adult tuning of the routine (index = adult number - 1): the Quest.csv CR/CF of some of the
// virtual adults do not hold glucose in range with this routine; these factors scale the meal
// boluses and the basal rate. Measured over a week, see simulators/README.md.
struct tuning {
  double bolus;
  double basal;
};
constexpr std::array<tuning, 10> adult_tuning{{
    {1.0, 1.0},  // adult#001
    {1.0, 1.0},  // adult#002
    {1.0, 1.0},  // adult#003
    {1.0, 1.0},  // adult#004
    {1.0, 1.0},  // adult#005
    {1.0, 1.0},  // adult#006
    {1.0, 1.0},  // adult#007
    {1.0, 1.0},  // adult#008
    {0.6, 0.9},  // adult#009
    {1.0, 1.0},  // adult#010
}};

// ---- the scripted events ----------------------------------------------------------------------

double default_magnitude(glucose_event_kind kind, const uva_padova_params& p) noexcept {
  switch (kind) {
    case glucose_event_kind::insulin_overdose:
      return 1.3 * 130.0 / p.CF;
    case glucose_event_kind::missed_meal:
      return 80.0;
    case glucose_event_kind::nocturnal_hypo:
      return 2.0;
    case glucose_event_kind::postmeal_hyper:
      return 120.0;
  }
  return 0.0;
}

double magnitude_of(const glucose_event& e, const uva_padova_params& p) noexcept {
  return e.magnitude > 0.0 ? e.magnitude : default_magnitude(e.kind, p);
}

// ---- the CGM ----------------------------------------------------------------------------------

// Breton & Kovatchev's sensor error model (sensor_params.csv, identical for the three sensors):
// e[k] = PACF (e[k-1] + N(0,1)) on a 15-minute grid, error = xi + lambda sinh((e - gamma) / delta).
constexpr double noise_pacf = 0.7;
constexpr double noise_gamma = -0.5444;
constexpr double noise_lambda = 15.9574;
constexpr double noise_delta = 1.6898;
constexpr double noise_xi = -5.47;
constexpr minutes noise_grid{15};
// The published model is an absolute error (mg/dL) fitted around ~100-150 mg/dL; alone it gives a
// MARD of ~6-7 % over this routine's weeks, with large relative errors when low. Current sensors'
// error is closer to proportional above ~100 mg/dL, so the error is scaled by glucose / 100
// (limited to 0.6..2.5) and by noise_scale, chosen for a MARD of ~9-10 % (the CGM MARD test).
constexpr double noise_scale = 1.15;
constexpr double noise_reference = 100.0;
constexpr double noise_min_factor = 0.6;
constexpr double noise_max_factor = 2.5;

double johnson(double e) noexcept {
  return noise_xi + noise_lambda * std::sinh((e - noise_gamma) / noise_delta);
}

double to_minutes(milliseconds d) noexcept {
  return static_cast<double>(d.count()) / 60000.0;
}

}  // namespace

// ---- uva_padova_model -------------------------------------------------------------------------

uva_padova_model::uva_padova_model(const uva_padova_params& params) : p_(params) {
  for (int i = 0; i < 13; ++i) x_(i) = p_.x0[static_cast<std::size_t>(i)];
  // RK4 is stable for h * rate up to ~2.8 and accurate well below; the fastest dynamics are the
  // gut absorption and the plasma/liver insulin exchange. One step per minute when the fastest
  // rate is below 1/min.
  const double fastest = std::max({p_.kabs, p_.kmax, p_.m2 + p_.m4 + p_.m1 + p_.m30, p_.ksc,
                                   p_.k1 + p_.k2, p_.ka1 + p_.kd, p_.ki, p_.p2u});
  substeps_ = std::max(1, static_cast<int>(std::ceil(fastest)));
}

uva_padova_model::state_vector uva_padova_model::derivative(
    const state_vector& x, double carbs_mg_per_min, double insulin_pmol_per_kg_min) const noexcept {
  state_vector dx;
  // Glucose in the stomach (solid, liquid) and the gut, mg; gastric emptying slows as the
  // stomach empties, by the meal's size (Dalla Man et al. 2006).
  const double stomach = x(0) + x(1);
  const double dose = meal_start_stomach_ + meal_eaten_;
  double k_empt = p_.kmax;
  if (dose > 0.0) {
    const double alpha = 5.0 / (2.0 * dose * (1.0 - p_.b));
    const double beta = 5.0 / (2.0 * dose * p_.d);
    k_empt = p_.kmin + (p_.kmax - p_.kmin) / 2.0 *
                           (std::tanh(alpha * (stomach - p_.b * dose)) -
                            std::tanh(beta * (stomach - p_.d * dose)) + 2.0);
  }
  dx(0) = carbs_mg_per_min - p_.kmax * x(0);
  dx(1) = p_.kmax * x(0) - k_empt * x(1);
  dx(2) = k_empt * x(1) - p_.kabs * x(2);

  // Glucose kinetics, mg/kg: plasma (3) and tissue (4).
  const double ra = p_.f * p_.kabs * x(2) / p_.BW;                           // rate of appearance
  const double egp = std::max(0.0, p_.kp1 - p_.kp2 * x(3) - p_.kp3 * x(8));  // liver
  const double renal = x(3) > p_.ke2 ? p_.ke1 * (x(3) - p_.ke2) : 0.0;
  dx(3) = egp + ra - p_.Fsnc - renal - p_.k1 * x(3) + p_.k2 * x(4);
  const double vm = std::max(0.0, (p_.Vm0 + p_.Vmx * x(6)) * utilisation_factor_);
  const double uptake = vm * x(4) / (p_.Km0 + x(4));
  dx(4) = -uptake + p_.k1 * x(3) - p_.k2 * x(4);

  // Insulin kinetics, pmol/kg: plasma (5), liver (9); actions (6: on utilisation, 7-8: delayed
  // signal on the liver), pmol/L.
  const double plasma_insulin = x(5) / p_.Vi;
  dx(5) = -(p_.m2 + p_.m4) * x(5) + p_.m1 * x(9) + p_.ka1 * x(10) + p_.ka2 * x(11);
  dx(6) = -p_.p2u * x(6) + p_.p2u * (plasma_insulin - p_.Ib);
  dx(7) = -p_.ki * (x(7) - plasma_insulin);
  dx(8) = -p_.ki * (x(8) - x(7));
  dx(9) = -(p_.m1 + p_.m30) * x(9) + p_.m2 * x(5);

  // Subcutaneous insulin (10, 11), pmol/kg, and subcutaneous glucose (12), mg/kg.
  dx(10) = insulin_pmol_per_kg_min - (p_.ka1 + p_.kd) * x(10);
  dx(11) = p_.kd * x(10) - p_.ka2 * x(11);
  dx(12) = p_.ksc * (x(3) - x(12));
  return dx;
}

void uva_padova_model::step(int minutes, double carbs_mg_per_min,
                            double insulin_u_per_min) noexcept {
  carbs_mg_per_min = std::max(0.0, carbs_mg_per_min);
  const double insulin = std::max(0.0, insulin_u_per_min) * 6000.0 / p_.BW;  // pmol/kg/min
  const double h = 1.0 / substeps_;
  for (int m = 0; m < minutes; ++m) {
    if (carbs_mg_per_min > 0.0) {
      if (!eating_) {  // a new meal: the emptying curve is scaled to what is in the stomach + it
        eating_ = true;
        meal_start_stomach_ = x_(0) + x_(1);
        meal_eaten_ = 0.0;
      }
      meal_eaten_ += carbs_mg_per_min;
    } else {
      eating_ = false;
    }
    for (int s = 0; s < substeps_; ++s) {
      const state_vector k1 = derivative(x_, carbs_mg_per_min, insulin);
      const state_vector k2 = derivative(x_ + h / 2 * k1, carbs_mg_per_min, insulin);
      const state_vector k3 = derivative(x_ + h / 2 * k2, carbs_mg_per_min, insulin);
      const state_vector k4 = derivative(x_ + h * k3, carbs_mg_per_min, insulin);
      x_ += h / 6 * (k1 + 2 * k2 + 2 * k3 + k4);
      x_ = x_.cwiseMax(0.0);            // masses and concentrations stay non-negative
      x_(6) = std::max(x_(6), -p_.Ib);  // except X, an insulin excess that can be negative
    }
  }
}

// ---- events -----------------------------------------------------------------------------------

std::string_view to_string(glucose_event_kind kind) noexcept {
  switch (kind) {
    case glucose_event_kind::insulin_overdose:
      return "insulin_overdose";
    case glucose_event_kind::missed_meal:
      return "missed_meal";
    case glucose_event_kind::nocturnal_hypo:
      return "nocturnal_hypo";
    case glucose_event_kind::postmeal_hyper:
      return "postmeal_hyper";
  }
  return "insulin_overdose";
}

std::optional<glucose_event_kind> parse_glucose_event(std::string_view text) noexcept {
  for (const auto k : all_event_kinds) {
    if (to_string(k) == text) return k;
  }
  return std::nullopt;
}

std::chrono::minutes effect_duration(glucose_event_kind kind) noexcept {
  switch (kind) {
    case glucose_event_kind::insulin_overdose:
    case glucose_event_kind::missed_meal:
      return hours(6);
    case glucose_event_kind::nocturnal_hypo:
      return hours(8);
    case glucose_event_kind::postmeal_hyper:
      return hours(5);
  }
  return hours(6);
}

// ---- t1d_patient ------------------------------------------------------------------------------

t1d_patient::t1d_patient(std::string patient, std::size_t params_index, std::uint64_t seed,
                         core::timestamp start, std::chrono::minutes utc_offset,
                         std::vector<glucose_event> events)
    : patient_(std::move(patient)),
      model_(uva_padova_adults()[params_index % uva_padova_adults().size()]),
      rng_(derive_seed(seed, patient_ + "/glucose")),
      start_(start),
      utc_offset_(utc_offset),
      events_(std::move(events)),
      next_minute_(start + minutes(1)),
      last_treatment_(start - hours(24)),
      sensitivity_until_(start) {
  std::stable_sort(events_.begin(), events_.end(),
                   [](const glucose_event& a, const glucose_event& b) { return a.at < b.at; });
  cause_emitted_.assign(events_.size(), false);
  const auto& tune = adult_tuning[params_index % adult_tuning.size()];
  bolus_factor_ = tune.bolus;
  basal_factor_ = tune.basal;
  episodes_[0] = {"hypoglycaemia_level1", "level1", 70.0, true, {}, {}, false, 0.0};
  episodes_[1] = {"hypoglycaemia_level2", "level2", 54.0, true, {}, {}, false, 0.0};
  episodes_[2] = {"hyperglycaemia_level2", "level2", 250.0, false, {}, {}, false, 0.0};
  evaluate(start_, interstitial());
}

std::int64_t t1d_patient::local_day(core::timestamp t) const noexcept {
  return std::chrono::floor<std::chrono::days>(t + utc_offset_).time_since_epoch().count();
}

bool t1d_patient::asleep(core::timestamp t) const noexcept {
  const auto local = t + utc_offset_;
  const auto of_day = local - std::chrono::floor<std::chrono::days>(local);
  return of_day >= hours(23) || of_day < hours(7);
}

void t1d_patient::advance_minutes(core::timestamp t) {
  while (next_minute_ <= t) step_minute();
}

void t1d_patient::plan_day(std::int64_t day) {
  planned_day_ = day;
  const core::timestamp now = this->now();
  const core::timestamp midnight =
      core::timestamp(std::chrono::days(day)) - utc_offset_;  // local midnight, in UTC
  const auto& p = model_.params();
  for (const auto& slot : meal_slots) {
    // Always the same draws per day, whatever is cancelled, so that events do not shift the
    // rest of the routine.
    const double jitter = std::clamp(rng_.normal(0.0, slot.jitter_sd_min),
                                     -2.5 * slot.jitter_sd_min, 2.5 * slot.jitter_sd_min);
    const double carbs = std::max(10.0, rng_.normal(slot.carbs_mean_g, slot.carbs_sd_g));
    const double estimate = std::clamp(1.0 + rng_.normal(0.0, carb_estimate_sd), 0.5, 1.6);
    intake meal;
    meal.at = midnight + slot.local_time +
              std::chrono::duration_cast<milliseconds>(std::chrono::duration<double>(jitter * 60));
    meal.carbs_g = carbs;
    meal.minutes = meal_minutes;
    meal.bolus_u = carbs * estimate / p.CR * bolus_factor_;
    meal.routine = true;
    if (meal.at < now) continue;  // the first day's meals before the run started
    const bool replaced = std::any_of(events_.begin(), events_.end(), [&](const glucose_event& e) {
      return (e.kind == glucose_event_kind::missed_meal ||
              e.kind == glucose_event_kind::postmeal_hyper) &&
             meal.at >= e.at - replace_window && meal.at <= e.at + replace_window;
    });
    if (!replaced) planned_.push_back(meal);
  }
}

void t1d_patient::apply_events(core::timestamp t) {
  const auto& p = model_.params();
  while (next_event_ < events_.size() && events_[next_event_].at <= t) {
    const auto& e = events_[next_event_++];
    const double m = magnitude_of(e, p);
    switch (e.kind) {
      case glucose_event_kind::insulin_overdose:
        pending_bolus_u_ += m;
        break;
      case glucose_event_kind::missed_meal:
        pending_bolus_u_ += m / p.CR * bolus_factor_;
        break;
      case glucose_event_kind::nocturnal_hypo:
        sensitivity_factor_ = 1.0 + m;
        sensitivity_until_ = e.at + effect_duration(e.kind);
        break;
      case glucose_event_kind::postmeal_hyper:
        eating_.push_back({minute_, 20, m * 1000.0 / 20});
        break;
    }
  }
}

void t1d_patient::step_minute() {
  const core::timestamp t = now();
  const auto& p = model_.params();
  if (const auto day = local_day(t); day != planned_day_) plan_day(day);
  apply_events(t);

  const double g = interstitial();  // stands for what the patient's CGM shows
  while (!planned_.empty() && planned_.front().at <= t) {
    const intake meal = planned_.front();
    planned_.erase(planned_.begin());
    double bolus = meal.bolus_u;
    if (meal.routine && g > correction_above) bolus += (g - correction_target) / p.CF;
    if (meal.routine && g < reduce_below) bolus -= (reduce_below - g) / p.CF;
    pending_bolus_u_ += std::max(0.0, bolus);
    eating_.push_back({minute_, meal.minutes, meal.carbs_g * 1000.0 / meal.minutes});
  }
  // Hypo treatment: 15 g of fast carbs when low while awake, or when the CGM's urgent-low alarm
  // wakes the patient at night, except during a scripted nocturnal hypo (slept through).
  const bool sleeping = asleep(t);
  const bool slept_through = sleeping && t < sensitivity_until_;
  const double treat_at = sleeping ? treat_below_asleep : treat_below;
  if (g < treat_at && !slept_through && t - last_treatment_ >= treat_interval) {
    last_treatment_ = t;
    eating_.push_back({minute_, 3, treat_carbs_g * 1000.0 / 3});
  }

  model_.set_utilisation_factor(t < sensitivity_until_ ? sensitivity_factor_ : 1.0);
  double carbs = 0.0;
  for (const auto& a : eating_) {
    if (minute_ >= a.first_minute && minute_ < a.first_minute + a.minutes) carbs += a.mg_per_min;
  }
  std::erase_if(eating_,
                [&](const active_intake& a) { return minute_ + 1 >= a.first_minute + a.minutes; });
  const double insulin = model_.basal_insulin() * basal_factor_ + pending_bolus_u_;
  pending_bolus_u_ = 0.0;
  model_.step(1, carbs, insulin);

  ++minute_;
  next_minute_ += minutes(1);
  evaluate(now(), interstitial());
}

void t1d_patient::evaluate(core::timestamp t, double value) {
  for (auto& e : episodes_) {
    const bool beyond = e.below ? value < e.threshold : value > e.threshold;
    const auto more_extreme = [&](double v) {
      return e.below ? std::min(e.extreme, v) : std::max(e.extreme, v);
    };
    if (!e.open) {
      if (!beyond) {
        e.run_start.reset();
        continue;
      }
      if (!e.run_start) {
        e.run_start = t;
        e.extreme = value;
      } else {
        e.extreme = more_extreme(value);
      }
      if (t - *e.run_start + minutes(1) >= minutes(15)) e.open = true;
      continue;
    }
    e.extreme = more_extreme(value);
    if (beyond) {
      e.recovery_start.reset();
    } else {
      if (!e.recovery_start) e.recovery_start = t;
      if (t - *e.recovery_start + minutes(1) >= minutes(15)) close_episode(e, *e.recovery_start);
    }
  }
}

std::string t1d_patient::cause_before(core::timestamp start) const {
  std::string cause;
  for (const auto& e : events_) {
    if (e.at > start) break;
    if (e.at >= start - cause_window) cause = std::string(to_string(e.kind));
  }
  return cause;
}

void t1d_patient::close_episode(episode_tracker& e, core::timestamp end) {
  label l;
  l.type = label_type::event;
  l.patient = patient_;
  l.kind = e.kind;
  l.vital = core::vital_kind::glucose;
  l.start = *e.run_start;
  l.end = end;
  l.severity = e.severity;
  l.actionable = true;
  l.threshold = e.threshold;
  l.crossed = *e.run_start;
  l.extreme = e.extreme;
  l.cause = cause_before(*e.run_start);
  finished_.push_back(std::move(l));
  e.open = false;
  e.run_start.reset();
  e.recovery_start.reset();
}

void t1d_patient::emit_causes(core::timestamp t, bool started) {
  // A cause's label is written once its effect is over, or at the end of the run once it has
  // started.
  for (std::size_t i = 0; i < events_.size(); ++i) {
    const auto& e = events_[i];
    if (cause_emitted_[i] || (started ? e.at : e.at + effect_duration(e.kind)) > t) continue;
    cause_emitted_[i] = true;
    label l;
    l.type = label_type::cause;
    l.patient = patient_;
    l.kind = std::string(to_string(e.kind));
    l.vital = core::vital_kind::glucose;
    l.start = e.at;
    l.end = e.at + effect_duration(e.kind);
    l.actionable = false;
    finished_.push_back(std::move(l));
  }
}

void t1d_patient::drain_labels(std::vector<label>& out) {
  emit_causes(now(), false);
  for (auto& l : finished_) out.push_back(std::move(l));
  finished_.clear();
}

void t1d_patient::flush_labels(std::vector<label>& out) {
  const core::timestamp t = now();
  for (auto& e : episodes_) {
    if (e.open) close_episode(e, e.recovery_start.value_or(t));
  }
  emit_causes(t, true);
  drain_labels(out);
}

// ---- cgm_device -------------------------------------------------------------------------------

cgm_device::cgm_device(std::string device, std::string patient, std::uint64_t seed)
    : device_(std::move(device)),
      patient_(std::move(patient)),
      rng_(derive_seed(seed, patient_ + "/" + device_ + "/cgm")) {}

void cgm_device::add_compression_low(core::timestamp start, std::chrono::milliseconds duration,
                                     double depth) {
  artifacts_.push_back({"compression_low", start, start + duration, depth, std::nullopt, false});
}

void cgm_device::add_warmup(core::timestamp start, std::chrono::milliseconds duration) {
  artifacts_.push_back({"sensor_warmup", start, start + duration, 0.0, std::nullopt, false});
}

double cgm_device::noise_at(core::timestamp t) {
  const double stationary_sd = noise_pacf / std::sqrt(1.0 - noise_pacf * noise_pacf);
  if (!noise_started_) {
    noise_started_ = true;
    node_time_ = t;
    e0_ = stationary_sd * rng_.normal();
    e1_ = noise_pacf * (e0_ + rng_.normal());
  }
  while (t >= node_time_ + noise_grid) {
    node_time_ += noise_grid;
    e0_ = e1_;
    e1_ = noise_pacf * (e1_ + rng_.normal());
  }
  const double frac = to_minutes(t - node_time_) / to_minutes(noise_grid);
  return (1.0 - frac) * johnson(e0_) + frac * johnson(e1_);
}

std::optional<double> cgm_device::measure(core::timestamp t, double true_interstitial) {
  last_t_ = t;
  for (const auto& a : artifacts_) {
    if (a.kind == "sensor_warmup" && t >= a.start && t < a.end) {
      noise_started_ = false;  // a new sensor: its noise starts afresh
      return std::nullopt;
    }
  }
  const double factor =
      std::clamp(true_interstitial / noise_reference, noise_min_factor, noise_max_factor);
  double reading = true_interstitial + noise_scale * factor * noise_at(t);
  for (const auto& a : artifacts_) {
    if (a.kind != "compression_low" || t < a.start || t >= a.end) continue;
    const double length = to_minutes(a.end - a.start);
    const double ramp_in = std::min(7.0, length / 3.0);
    const double ramp_out = std::min(10.0, length / 3.0);
    const double since = to_minutes(t - a.start);
    const double until = to_minutes(a.end - t);
    const double shape = std::min({1.0, since / ramp_in, until / ramp_out});
    reading -= a.depth * shape;
  }
  reading = std::clamp(reading, floor_mgdl, ceiling_mgdl);
  for (auto& a : artifacts_) {
    if (a.kind == "compression_low" && t >= a.start && t < a.end) {
      a.lowest = a.lowest ? std::min(*a.lowest, reading) : reading;
    }
  }
  return reading;
}

void cgm_device::emit(artifact& a, std::vector<label>& out) {
  a.emitted = true;
  label l;
  l.type = label_type::artifact;
  l.patient = patient_;
  l.kind = a.kind;
  l.vital = core::vital_kind::glucose;
  l.device = device_;
  l.start = a.start;
  l.end = a.end;
  l.actionable = false;
  l.extreme = a.lowest;
  out.push_back(std::move(l));
}

void cgm_device::drain_labels(std::vector<label>& out) {
  if (!last_t_) return;
  for (auto& a : artifacts_) {
    if (!a.emitted && a.end <= *last_t_) emit(a, out);
  }
}

void cgm_device::flush_labels(std::vector<label>& out) {
  if (!last_t_) return;
  for (auto& a : artifacts_) {
    if (!a.emitted && a.start <= *last_t_) emit(a, out);
  }
}

}  // namespace vitals::simulators
