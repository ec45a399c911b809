#include <vitals/core/glucose_detector.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include <fmt/format.h>
#include <Eigen/Core>

namespace vitals::core {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

namespace {

constexpr std::uint16_t saturating_inc(std::uint16_t n) noexcept {
  return n == std::numeric_limits<std::uint16_t>::max() ? n : static_cast<std::uint16_t>(n + 1);
}

/// z with P(N(0,1) <= z) = p, by bisection on erfc (construction only).
double normal_quantile(double p) {
  double lo = -10.0, hi = 10.0;
  for (int i = 0; i < 100; ++i) {
    const double mid = 0.5 * (lo + hi);
    (0.5 * std::erfc(-mid / std::sqrt(2.0)) < p ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

double to_minutes(milliseconds d) noexcept {
  return static_cast<double>(d.count()) / 60'000.0;
}

/// Readings the detector never evaluates (the pipeline normally keeps them away already).
constexpr std::uint16_t ignored_quality = quality_artifact | quality_sensor_contact_lost |
                                          quality_out_of_order | quality_backfilled |
                                          quality_device_flagged | quality_no_value;

/// At the sensor's floor or ceiling the reading is censored ("LOW" / "HIGH"), not a value.
constexpr std::uint16_t censored_quality = quality_device_low | quality_device_high;

void check(bool ok, const std::string& what) {
  if (!ok) throw std::invalid_argument("glucose_settings." + what);
}

void check_rule(const glucose_rule_settings& r, const std::string& name, bool rate) {
  check(std::isfinite(r.limit) && r.limit > 0.0 && r.limit < (rate ? 50.0 : 600.0),
        name + ".limit must be " + (rate ? "in (0, 50) mg/dL/min" : "in (0, 600) mg/dL"));
  check(std::isfinite(r.hysteresis) && r.hysteresis >= 0.0 && (!rate || r.hysteresis < r.limit),
        name + ".hysteresis must be >= 0" + (rate ? " and below limit" : ""));
  check(r.min_duration.count() >= 0 && r.min_duration <= std::chrono::hours(24 * 7),
        name + ".min_duration must be in [0, 7 days]");
}

/// A `glucose_settings` rule after one override, checked like the defaults.
glucose_rule_settings apply_override(const glucose_rule_settings& r, const rule_override& o,
                                     const std::string& where, bool rate) {
  auto changed = apply(r, o);
  check_rule(changed, where, rate);
  return changed;
}

}  // namespace

glucose_rule_settings apply(glucose_rule_settings r, const rule_override& o) {
  if (o.limit) r.limit = *o.limit;
  if (o.hysteresis) r.hysteresis = *o.hysteresis;
  if (o.min_duration) r.min_duration = *o.min_duration;
  if (o.min_readings) r.min_readings = *o.min_readings;
  if (o.level) r.level = *o.level;
  if (o.enabled) r.enabled = *o.enabled;
  return r;
}

/// What one reading did to the model, shared by the rules.
struct glucose_detector::step_result {
  double level = 0.0;        ///< filtered glucose, mg/dL
  double trend = 0.0;        ///< mg/dL/min
  double forecast = 0.0;     ///< level + trend x horizon
  double forecast_sd = 0.0;  ///< its standard deviation
  double horizon_min = 0.0;
  bool model_ready = false;   ///< at least two readings since the last reset
  bool has_slope = false;     ///< the rate window has enough readings
  double slope = 0.0;         ///< least-squares slope over the rate window, mg/dL/min
  double window_first = 0.0;  ///< fitted value at the window's first reading
  double window_span = 0.0;   ///< minutes between the window's first and last reading
  double step = 0.0;          ///< this reading minus the previous one (0 after a reset)
  double interval_min = 0.0;  ///< minutes since the previous reading (0 after a reset)
  bool gap = false;           ///< the short-term history was reset by a silence
};

glucose_detector::glucose_detector(glucose_settings settings) : settings_(std::move(settings)) {
  const auto& st = settings_;
  check_rule(st.urgent_low_soon, "urgent_low_soon", false);
  check_rule(st.falling_fast, "falling_fast", true);
  check_rule(st.rising_fast, "rising_fast", true);
  check_rule(st.persistent_high, "persistent_high", false);
  check(std::isfinite(st.urgent_low_soon_clear) && st.urgent_low_soon_clear > 0.0,
        "urgent_low_soon_clear must be > 0 mg/dL");
  check(std::isfinite(st.urgent_low_soon_clear_rise) && st.urgent_low_soon_clear_rise >= 0.0,
        "urgent_low_soon_clear_rise must be >= 0 mg/dL/min");
  check(st.rate_window >= minutes(3) && st.rate_window <= minutes(60),
        "rate_window must be in [3, 60] min");
  check(st.max_gap > milliseconds(0) && st.max_gap <= std::chrono::hours(24),
        "max_gap must be in (0, 24 h]");
  const auto& m = st.model;
  check(m.horizon >= minutes(1) && m.horizon <= minutes(120),
        "model.horizon must be in [1, 120] min");
  check(std::isfinite(m.trend_noise) && m.trend_noise > 0.0, "model.trend_noise must be > 0");
  check(std::isfinite(m.noise_sd_prior) && m.noise_sd_prior > 0.0,
        "model.noise_sd_prior must be > 0");
  check(std::isfinite(m.noise_sd_floor) && m.noise_sd_floor > 0.0,
        "model.noise_sd_floor must be > 0");
  check(std::isfinite(m.noise_proportional_above) && m.noise_proportional_above > 0.0,
        "model.noise_proportional_above must be > 0");
  check(std::isfinite(m.noise_forgetting) && m.noise_forgetting > 0.0 && m.noise_forgetting < 1.0,
        "model.noise_forgetting must be in (0, 1)");
  check(std::isfinite(m.noise_prior_weight) && m.noise_prior_weight >= 1.0,
        "model.noise_prior_weight must be >= 1");
  check(std::isfinite(m.initial_trend_sd) && m.initial_trend_sd > 0.0,
        "model.initial_trend_sd must be > 0");

  check(std::isfinite(m.confidence) && m.confidence > 0.0 && m.confidence < 1.0,
        "model.confidence must be in (0, 1)");
  check(std::isfinite(st.sparse_interval_min) && st.sparse_interval_min > 0.0,
        "sparse_interval_min must be > 0");
  z_ = normal_quantile(m.confidence);

  // Overrides are resolved (and checked) once, here: a patient's first sample only looks up
  // an index.
  profiles_.push_back(profile_for(""));
  for (const auto& [id, rules] : settings_.patients) {
    const bool ours = std::any_of(rules.begin(), rules.end(), [](const auto& r) {
      return r.first == glucose_urgent_low_soon_rule || r.first == glucose_falling_fast_rule ||
             r.first == glucose_rising_fast_rule || r.first == glucose_persistent_high_rule;
    });
    const auto sid = short_id::make(id);
    if (!ours || !sid) continue;  // an id too long for a sample never shows up
    profiles_.push_back(profile_for(id));
    custom_.emplace(*sid, static_cast<std::uint32_t>(profiles_.size() - 1));
  }
}

void glucose_detector::reconfigure(glucose_settings settings, std::vector<alert_event>& out) {
  glucose_detector next(std::move(settings));
  const auto& old_profiles = profiles_;
  for (auto& [id, ps] : patients_) {
    const auto c = next.custom_.find(id);
    const auto index = c == next.custom_.end() ? std::uint32_t{0} : c->second;
    const auto& was = old_profiles[ps.profile];
    const auto& now = next.profiles_[index];
    const auto end_if_withdrawn = [&](rule_state& rs, const rule_params& before,
                                      const rule_params& after, std::string_view rule) {
      if (after.enabled) return;
      if (rs.active) {
        out.push_back(withdrawn_rule_event(id, std::string(rule), vital_kind::glucose, before.level,
                                           alert_source::physiological, rs.since, ps.last));
      }
      rs = rule_state{};
    };
    end_if_withdrawn(ps.urgent_low_soon, was.urgent_low_soon, now.urgent_low_soon,
                     glucose_urgent_low_soon_rule);
    end_if_withdrawn(ps.falling_fast, was.falling_fast, now.falling_fast,
                     glucose_falling_fast_rule);
    end_if_withdrawn(ps.rising_fast, was.rising_fast, now.rising_fast, glucose_rising_fast_rule);
    end_if_withdrawn(ps.persistent_high, was.persistent_high, now.persistent_high,
                     glucose_persistent_high_rule);
    ps.profile = index;
  }
  next.patients_ = std::move(patients_);
  *this = std::move(next);
}

glucose_detector::profile glucose_detector::profile_for(std::string_view patient) const {
  const auto to_params = [](const glucose_rule_settings& r) {
    rule_params p;
    p.limit = static_cast<float>(r.limit);
    p.hysteresis = static_cast<float>(r.hysteresis);
    p.min_duration_s =
        static_cast<std::int32_t>(std::chrono::duration_cast<seconds>(r.min_duration).count());
    p.min_readings = std::max<std::uint16_t>(r.min_readings, 1);
    p.level = r.level;
    p.enabled = r.enabled;
    return p;
  };
  glucose_rule_settings uls = settings_.urgent_low_soon;
  glucose_rule_settings ff = settings_.falling_fast;
  glucose_rule_settings rf = settings_.rising_fast;
  glucose_rule_settings ph = settings_.persistent_high;
  if (!patient.empty()) {
    const auto it = settings_.patients.find(std::string(patient));
    if (it != settings_.patients.end()) {
      // Other detectors' rules may share the map: names not ours are ignored.
      const auto over = [&](glucose_rule_settings& r, std::string_view name, bool rate) {
        const auto o = it->second.find(std::string(name));
        if (o != it->second.end()) {
          r = apply_override(r, o->second, "patients." + it->first + "." + std::string(name), rate);
        }
      };
      over(uls, glucose_urgent_low_soon_rule, false);
      over(ff, glucose_falling_fast_rule, true);
      over(rf, glucose_rising_fast_rule, true);
      over(ph, glucose_persistent_high_rule, false);
    }
  }
  return {to_params(uls), to_params(ff), to_params(rf), to_params(ph)};
}

glucose_detector::patient_state& glucose_detector::state_for(const short_id& patient) {
  const auto it = patients_.find(patient);
  if (it != patients_.end()) return it->second;
  patient_state ps;
  if (const auto c = custom_.find(patient); c != custom_.end()) ps.profile = c->second;
  // Prior moments of the noise fit: those of sensor noise noise_sd_prior (white) on a trend
  // random walk of trend_noise, read every 5 minutes (see update_noise()).
  const double r0 = settings_.model.noise_sd_prior * settings_.model.noise_sd_prior;
  const double a0 = settings_.model.trend_noise * 125.0;
  ps.m0 = static_cast<float>(6.0 * r0 + 2.0 / 3.0 * a0);
  ps.m1 = static_cast<float>(-4.0 * r0 + a0 / 6.0);
  return patients_.emplace(patient, ps).first->second;
}

std::size_t glucose_detector::state_bytes() const noexcept {
  // An unordered_map node holds the value, a next pointer and the cached hash.
  constexpr std::size_t node =
      sizeof(std::pair<const short_id, patient_state>) + sizeof(void*) + sizeof(std::size_t);
  return patients_.size() * node + patients_.bucket_count() * sizeof(void*) +
         custom_.size() * (sizeof(std::pair<const short_id, std::uint32_t>) + 2 * sizeof(void*)) +
         custom_.bucket_count() * sizeof(void*) + profiles_.capacity() * sizeof(profile);
}

double glucose_detector::fitted_noise_at_100(const patient_state& ps) const noexcept {
  // Second differences d2 = z[k] - 2 z[k-1] + z[k-2] of readings z = g + v, g a trend random
  // walk (variance A = q h^3 per step h) and v white noise (variance r): Var d2 = 2A/3 + 6r and
  // Cov(d2[k], d2[k-1]) = A/6 - 4r, so r = (m0 - 4 m1) / 22 whatever A and h are.
  return std::max((static_cast<double>(ps.m0) - 4.0 * static_cast<double>(ps.m1)) / 22.0, 0.0);
}

double glucose_detector::noise_variance(const patient_state& ps, double glucose) const noexcept {
  const auto& m = settings_.model;
  const double scale = std::max(glucose, m.noise_proportional_above) / 100.0;
  return std::max(fitted_noise_at_100(ps) * scale * scale, m.noise_sd_floor * m.noise_sd_floor);
}

void glucose_detector::reset_short_term(patient_state& ps, const sample& s) const noexcept {
  const auto v = static_cast<float>(s.value);
  const double r = noise_variance(ps, s.value);
  ps.kf.level = v;
  ps.kf.trend = 0.0F;
  ps.kf.p00 = static_cast<float>(r);
  ps.kf.p01 = 0.0F;
  ps.kf.p11 =
      static_cast<float>(settings_.model.initial_trend_sd * settings_.model.initial_trend_sd);
  ps.origin = s.device_time;
  ps.ring_count = 0;
  ps.ring_head = 0;
  ps.readings = 0;
  ps.has_d2 = false;
  ps.prev_t = 0;
  ps.prev_v = v;
}

void glucose_detector::update_noise(patient_state& ps, float v, std::int32_t t,
                                    bool censored) const noexcept {
  // Needs the two readings before this one: prev (prev_t, prev_v) and last (last_t, last_v).
  const auto last_t =
      static_cast<std::int32_t>(std::chrono::duration_cast<seconds>(ps.last - ps.origin).count());
  if (ps.readings >= 2) {
    const double ha = last_t - ps.prev_t;
    const double hb = t - last_t;
    const bool regular = ha > 0 && hb > 0 && std::abs(ha - hb) <= 0.2 * std::max(ha, hb);
    if (regular && !censored) {
      // Scaled to 100 mg/dL, so that patients who run high do not look noisy.
      const double scale = 100.0 / std::max(static_cast<double>(ps.last_v),
                                            settings_.model.noise_proportional_above);
      double d2 = (static_cast<double>(v) - 2.0 * ps.last_v + ps.prev_v) * scale;
      // Huber-style clip: one wild reading must not make the patient look noisy for hours.
      const double clip = 4.0 * std::sqrt(std::max(static_cast<double>(ps.m0), 1.0));
      d2 = std::clamp(d2, -clip, clip);
      // Exponential forgetting, but no slower than an average with the prior while few
      // readings are in: the prior counts as noise_prior_weight readings.
      ps.fitted = saturating_inc(ps.fitted);
      const double lambda = std::min(settings_.model.noise_forgetting,
                                     1.0 - 1.0 / (settings_.model.noise_prior_weight + ps.fitted));
      ps.m0 = static_cast<float>(lambda * ps.m0 + (1.0 - lambda) * d2 * d2);
      if (ps.has_d2) ps.m1 = static_cast<float>(lambda * ps.m1 + (1.0 - lambda) * d2 * ps.last_d2);
      ps.last_d2 = static_cast<float>(d2);
      ps.has_d2 = true;
    } else {
      ps.has_d2 = false;
    }
  }
  ps.prev_t = last_t;
  ps.prev_v = ps.last_v;
}

void glucose_detector::update_model(patient_state& ps, double value, double dt) const {
  const double q = settings_.model.trend_noise;
  Eigen::Vector2d x(ps.kf.level, ps.kf.trend);
  Eigen::Matrix2d p;
  p << ps.kf.p00, ps.kf.p01, ps.kf.p01, ps.kf.p11;
  Eigen::Matrix2d f;
  f << 1.0, dt, 0.0, 1.0;
  Eigen::Matrix2d qm;  // integrated trend random walk over dt
  qm << q * dt * dt * dt / 3.0, q * dt * dt / 2.0, q * dt * dt / 2.0, q * dt;
  x = f * x;
  p = f * p * f.transpose() + qm;

  const double r = noise_variance(ps, std::max(x(0), 40.0));
  const double s = p(0, 0) + r;
  const Eigen::Vector2d k = p.col(0) / s;
  x += k * (value - x(0));
  p -= k * p.row(0);

  ps.kf.level = static_cast<float>(x(0));
  ps.kf.trend = static_cast<float>(x(1));
  ps.kf.p00 = static_cast<float>(p(0, 0));
  ps.kf.p01 = static_cast<float>(0.5 * (p(0, 1) + p(1, 0)));
  ps.kf.p11 = static_cast<float>(p(1, 1));
}

bool glucose_detector::window_slope(const patient_state& ps, double& slope, double& first_v,
                                    double& span_min) const noexcept {
  if (ps.ring_count < 3) return false;
  const std::int32_t newest = ps.ring[ps.ring_head].t;
  const auto window_s = std::chrono::duration_cast<seconds>(settings_.rate_window).count() + 60;
  // Least squares on the entries within the window, times relative to the newest.
  double n = 0.0, st = 0.0, sv = 0.0, stt = 0.0, stv = 0.0;
  double oldest = 0.0;
  for (std::size_t i = 0; i < ps.ring_count; ++i) {
    const auto& e = ps.ring[(ps.ring_head + ring_size - i) % ring_size];
    if (newest - e.t > window_s) break;
    const double t = (e.t - newest) / 60.0;
    n += 1.0;
    st += t;
    sv += e.v;
    stt += t * t;
    stv += t * e.v;
    oldest = t;
  }
  span_min = -oldest;
  if (n < 3.0 || span_min < to_minutes(settings_.rate_window) * 2.0 / 3.0) return false;
  const double sxx = stt - st * st / n;
  if (!(sxx > 0.0)) return false;
  slope = (stv - st * sv / n) / sxx;
  first_v = sv / n + slope * (oldest - st / n);
  return true;
}

void glucose_detector::observe(const sample& s, std::vector<alert_event>& out) {
  if (s.kind != vital_kind::glucose || !std::isfinite(s.value) || s.value <= 0.0) return;
  if ((s.quality & ignored_quality) != 0) return;
  auto& ps = state_for(s.patient);
  if (ps.has_last && s.device_time <= ps.last) return;  // in-order readings only
  const profile& prof = profiles_[ps.profile];
  const bool censored = (s.quality & censored_quality) != 0;

  step_result st;
  st.horizon_min = to_minutes(settings_.model.horizon);
  // A silence is longer than max_gap and than 2.5 of the last reading interval (a 15-minute
  // sensor's pace is no silence).
  const auto pace = milliseconds(std::llround(ps.last_step_s * 2500.0));
  st.gap = ps.has_last && s.device_time - ps.last > std::max(settings_.max_gap, pace);
  if (ps.has_last) {
    ps.last_step_s = static_cast<float>(std::clamp(
        to_minutes(std::chrono::duration_cast<milliseconds>(s.device_time - ps.last)) * 60.0, 0.0,
        86400.0));
  }
  auto since_origin = std::chrono::duration_cast<seconds>(s.device_time - ps.origin).count();
  if (!ps.has_last || st.gap || since_origin > (std::int64_t{1} << 30)) {
    reset_short_term(ps, s);
    since_origin = 0;
  } else {
    const auto t = static_cast<std::int32_t>(since_origin);
    update_noise(ps, static_cast<float>(s.value), t, censored);
    update_model(ps, s.value,
                 to_minutes(std::chrono::duration_cast<milliseconds>(s.device_time - ps.last)));
    st.step = s.value - ps.last_v;
    st.interval_min = to_minutes(std::chrono::duration_cast<milliseconds>(s.device_time - ps.last));
  }
  if (ps.readings < std::numeric_limits<std::uint8_t>::max()) ++ps.readings;

  // Rate window ring: the newest entry is always the newest reading, but it only gets a slot
  // of its own once it is ring_spacing_s after the entry before it (faster sensors are thinned
  // so that 16 slots still span the window).
  const auto t = static_cast<std::int32_t>(since_origin);
  const auto before_newest = [&] { return ps.ring[(ps.ring_head + ring_size - 1) % ring_size]; };
  if (ps.ring_count >= 2 && ps.ring[ps.ring_head].t - before_newest().t < ring_spacing_s) {
    ps.ring[ps.ring_head] = {t, static_cast<float>(s.value)};
  } else {
    ps.ring_head =
        static_cast<std::uint8_t>(ps.ring_count == 0 ? 0 : (ps.ring_head + 1) % ring_size);
    ps.ring[ps.ring_head] = {t, static_cast<float>(s.value)};
    if (ps.ring_count < ring_size) ++ps.ring_count;
  }

  st.level = ps.kf.level;
  st.trend = ps.kf.trend;
  st.model_ready = ps.readings >= 2;
  const double h = st.horizon_min;
  st.forecast = st.level + st.trend * h;
  const double var = ps.kf.p00 + 2.0 * h * ps.kf.p01 + h * h * ps.kf.p11 +
                     settings_.model.trend_noise * h * h * h / 3.0;
  st.forecast_sd = std::sqrt(std::max(var, 0.0));
  st.has_slope = window_slope(ps, st.slope, st.window_first, st.window_span);

  if (st.gap) {
    // A silence restarts every pending run; active alerts wait for data to clear them.
    for (rule_state* rs :
         {&ps.urgent_low_soon, &ps.falling_fast, &ps.rising_fast, &ps.persistent_high}) {
      if (!rs->active) {
        rs->pending = false;
        rs->readings = 0;
      }
    }
  }

  if (prof.urgent_low_soon.enabled) run_urgent_low_soon(ps, prof.urgent_low_soon, s, st, out);
  if (prof.falling_fast.enabled) {
    run_rate(ps.falling_fast, prof.falling_fast, glucose_falling_fast_rule, true, s, st, out);
  }
  if (prof.rising_fast.enabled) {
    run_rate(ps.rising_fast, prof.rising_fast, glucose_rising_fast_rule, false, s, st, out);
  }
  if (prof.persistent_high.enabled) run_persistent_high(ps, prof.persistent_high, s, out);

  ps.last = s.device_time;
  ps.last_v = static_cast<float>(s.value);
  ps.has_last = true;
}

namespace {

alert_event make_event(const sample& s, std::string_view rule, priority level, alert_transition t,
                       double value, double threshold, timestamp since) {
  alert_event e;
  e.patient = s.patient;
  e.device = s.device;
  e.rule = std::string(rule);
  e.kind = vital_kind::glucose;
  e.level = level;
  e.source = alert_source::physiological;
  e.transition = t;
  e.value = value;
  e.threshold = threshold;
  e.condition_start = since;
  e.time = s.device_time;
  return e;
}

double minutes_between(timestamp a, timestamp b) noexcept {
  return static_cast<double>((b - a).count()) / 60'000.0;
}

/// "falling 2.4 mg/dL/min", "rising 0.3 mg/dL/min", "steady".
std::string trend_text(double trend) {
  if (std::abs(trend) < 0.05) return "steady";
  return fmt::format("{} {:.1f} mg/dL/min", trend < 0.0 ? "falling" : "rising", std::abs(trend));
}

/// Starts or extends a run of readings on which a rule's condition holds; true when the run is
/// long enough (readings and duration) to raise.
bool extend_run(auto& rs, const auto& rp, timestamp t) noexcept {
  if (!rs.pending) {
    rs.pending = true;
    rs.since = t;
    rs.readings = 1;
  } else {
    rs.readings = saturating_inc(rs.readings);
  }
  return rs.readings >= rp.min_readings && t - rs.since >= seconds(rp.min_duration_s);
}

}  // namespace

void glucose_detector::run_urgent_low_soon(patient_state& ps, const rule_params& rp,
                                           const sample& s, const step_result& st,
                                           std::vector<alert_event>& out) const {
  auto& rs = ps.urgent_low_soon;
  const double lowest = std::min(st.level, st.forecast);  // linear: lowest point of the horizon
  const double h = st.horizon_min;

  if (rs.active) {
    rs.worst_model = std::min(rs.worst_model, static_cast<float>(lowest));
    rs.worst_value = std::min(rs.worst_value, static_cast<float>(s.value));
    const bool recovering = s.value >= settings_.urgent_low_soon_clear ||
                            st.trend >= settings_.urgent_low_soon_clear_rise;
    if (lowest > rp.limit + rp.hysteresis && recovering) {
      auto e = make_event(s, glucose_urgent_low_soon_rule, rp.level, alert_transition::cleared,
                          s.value, rp.limit, rs.since);
      e.message = fmt::format(
          "glucose {:.0f} mg/dL {}, forecast {:.0f} mg/dL in {:.0f} min: no longer expected below "
          "{:.0f} mg/dL (lowest reading {:.0f}, lowest forecast {:.0f} mg/dL, {:.0f} min)",
          s.value, trend_text(st.trend), st.forecast, h, rp.limit, rs.worst_value, rs.worst_model,
          minutes_between(rs.since, s.device_time));
      out.push_back(std::move(e));
      rs.active = false;
      rs.pending = false;
      rs.readings = 0;
    }
    return;
  }

  // P(glucose below the limit at the horizon) >= confidence: the forecast's upper bound at
  // that confidence (z standard deviations above it) must be below the limit.
  // Already in level 1 (below 70 by default) a person with diabetes is one fall from level 2:
  // the point forecast is enough there.
  const bool in_level1 = s.value < settings_.urgent_low_soon_point_below;
  const double bound = lowest + (in_level1 ? std::min(z_, 0.0) : z_) * st.forecast_sd;
  if (!st.model_ready || !(bound <= rp.limit)) {
    rs.pending = false;
    rs.readings = 0;
    return;
  }
  if (!rs.pending) {
    rs.worst_model = static_cast<float>(lowest);
    rs.worst_value = static_cast<float>(s.value);
  } else {
    rs.worst_model = std::min(rs.worst_model, static_cast<float>(lowest));
    rs.worst_value = std::min(rs.worst_value, static_cast<float>(s.value));
  }
  // Below the limit already: the urgent-low threshold rule speaks; this one only forecasts.
  // A sparse sensor (15-min readings) is confirmed by one forecast: its trend already spans
  // the interval that two readings of a 5-minute sensor span.
  rule_params confirm = rp;
  const double sparse = settings_.sparse_interval_min;
  if (st.interval_min >= sparse && st.interval_min <= 2.0 * sparse) confirm.min_readings = 1;
  if (!extend_run(rs, confirm, s.device_time) || s.value < rp.limit) return;
  rs.active = true;
  auto e = make_event(s, glucose_urgent_low_soon_rule, rp.level, alert_transition::raised, s.value,
                      rp.limit, rs.since);
  std::string when;
  if (st.trend < 0.0 && st.level > rp.limit) {
    when = fmt::format(", below {:.0f} mg/dL in about {:.0f} min", rp.limit,
                       (st.level - rp.limit) / -st.trend);
  }
  e.message = fmt::format(
      "glucose {:.0f} mg/dL {}, forecast {:.0f} mg/dL (+/- {:.0f}) in {:.0f} min{} (model: Kalman "
      "level+trend, sensor noise {:.1f} mg/dL at 100 mg/dL fitted to this patient; {} forecasts "
      "below {:.0f})",
      s.value, trend_text(st.trend), st.forecast, st.forecast_sd, h, when,
      std::sqrt(noise_variance(ps, 100.0)), rs.readings, rp.limit);
  out.push_back(std::move(e));
}

void glucose_detector::run_rate(rule_state& rs, const rule_params& rp, std::string_view rule,
                                bool falling, const sample& s, const step_result& st,
                                std::vector<alert_event>& out) const {
  const double dir = falling ? -1.0 : 1.0;
  const double rate = dir * st.slope;  // positive in the rule's direction
  const char* verb = falling ? "falling" : "rising";
  const double window_min = st.window_span;

  if (rs.active) {
    if (st.has_slope) {
      rs.worst_model = std::max(rs.worst_model, static_cast<float>(rate));
      if (rate < rp.limit - rp.hysteresis) {
        auto e = make_event(s, rule, rp.level, alert_transition::cleared, st.slope, dir * rp.limit,
                            rs.since);
        e.message = fmt::format(
            "glucose {:.0f} mg/dL, {} over the last {:.0f} min: no longer {} {:.0f} mg/dL/min or "
            "faster (fastest {:.1f} mg/dL/min)",
            s.value, trend_text(st.slope), window_min, verb, rp.limit, rs.worst_model);
        out.push_back(std::move(e));
        rs.active = false;
        rs.pending = false;
        rs.readings = 0;
      }
    }
    return;
  }

  // The latest step must go the same way: a rebound ends a fall even inside the window.
  const bool cond = st.has_slope && rate >= rp.limit && dir * st.step > 0.0;
  if (!cond) {
    rs.pending = false;
    rs.readings = 0;
    return;
  }
  rs.worst_model =
      rs.pending ? std::max(rs.worst_model, static_cast<float>(rate)) : static_cast<float>(rate);
  if (!extend_run(rs, rp, s.device_time)) return;
  rs.active = true;
  auto e =
      make_event(s, rule, rp.level, alert_transition::raised, st.slope, dir * rp.limit, rs.since);
  e.message = fmt::format(
      "glucose {:.0f} mg/dL {} {:.1f} mg/dL/min over the last {:.0f} min ({:.0f} -> {:.0f} "
      "mg/dL, least squares), at or beyond {:.0f} mg/dL/min on {} readings",
      s.value, verb, rate, window_min, st.window_first, st.window_first + st.slope * window_min,
      rp.limit, rs.readings);
  out.push_back(std::move(e));
}

void glucose_detector::run_persistent_high(patient_state& ps, const rule_params& rp,
                                           const sample& s, std::vector<alert_event>& out) const {
  auto& rs = ps.persistent_high;
  const double v = s.value;
  const double clear_at = rp.limit - rp.hysteresis;
  if (rs.active) {
    if (v <= clear_at) {
      auto e = make_event(s, glucose_persistent_high_rule, rp.level, alert_transition::cleared, v,
                          rp.limit, rs.since);
      e.message = fmt::format(
          "glucose {:.0f} mg/dL, at or below {:.0f} mg/dL after {:.0f} min above {:.0f} mg/dL "
          "(peak {:.0f} mg/dL)",
          v, clear_at, minutes_between(rs.since, s.device_time), rp.limit, rs.worst_value);
      out.push_back(std::move(e));
      rs.active = false;
      rs.pending = false;
      rs.readings = 0;
    } else {
      rs.worst_value = std::max(rs.worst_value, static_cast<float>(v));
    }
    return;
  }

  // After a silence observe() has already ended the run: the next reading above starts anew.
  if (v > rp.limit && !rs.pending) {
    rs.worst_value = static_cast<float>(v);
    rs.sum = 0.0F;
  } else if (v <= clear_at || !rs.pending) {
    // Below the band, or in the band without a run: nothing to extend.
    rs.pending = false;
    rs.readings = 0;
    return;
  }
  // Above the limit, or a dip into the hysteresis band during a run.
  rs.sum += static_cast<float>(v);
  rs.worst_value = std::max(rs.worst_value, static_cast<float>(v));
  const bool long_enough = extend_run(rs, rp, s.device_time);
  const double mean = rs.sum / std::max<double>(rs.readings, 1.0);
  if (!long_enough || v <= rp.limit || mean <= rp.limit) return;
  rs.active = true;
  auto e = make_event(s, glucose_persistent_high_rule, rp.level, alert_transition::raised, v,
                      rp.limit, rs.since);
  e.message = fmt::format(
      "glucose {:.0f} mg/dL, above {:.0f} mg/dL for {:.0f} min (mean {:.0f}, peak {:.0f} mg/dL "
      "over "
      "{} readings)",
      v, rp.limit, minutes_between(rs.since, s.device_time), mean, rs.worst_value, rs.readings);
  out.push_back(std::move(e));
}

glucose_detector::model_view glucose_detector::model(const short_id& patient) const {
  model_view m;
  const auto it = patients_.find(patient);
  if (it == patients_.end() || !it->second.has_last) return m;
  const auto& ps = it->second;
  const double h = to_minutes(settings_.model.horizon);
  m.level = ps.kf.level;
  m.trend = ps.kf.trend;
  m.forecast = m.level + m.trend * h;
  m.forecast_sd = std::sqrt(std::max(ps.kf.p00 + 2.0 * h * ps.kf.p01 + h * h * ps.kf.p11 +
                                         settings_.model.trend_noise * h * h * h / 3.0,
                                     0.0));
  m.noise_sd = std::sqrt(fitted_noise_at_100(ps));
  m.valid = true;
  return m;
}

}  // namespace vitals::core
