// The cardio model's dynamics: per-patient constants, sleep and circadian phase, activity
// bouts, drift and noise, scripted events and their labels. The per-profile constants are in
// cardio_params.cpp, the oximeter that measures the model in oximeter_device.cpp.
#include <vitals/simulators/cardio_model.hpp>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <numbers>
#include <utility>

#include "cardio_detail.hpp"

namespace vitals::simulators {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

namespace {

using detail::approx_normal;
using detail::from_minutes;
using detail::from_seconds;

constexpr std::int64_t ms_per_minute = 60'000;
constexpr std::int64_t ms_per_hour = 3'600'000;
constexpr std::int64_t ms_per_day = 86'400'000;

// Time constants (seconds) of the Ornstein-Uhlenbeck processes and of the activity response.
constexpr double hr_drift_tau = 20.0 * 60.0;
constexpr double hr_noise_tau = 4.0;
constexpr double spo2_drift_tau = 15.0 * 60.0;
constexpr double spo2_noise_tau = 3.0;
constexpr double activity_on_tau = 45.0;
constexpr double activity_off_tau = 90.0;
constexpr double spo2_drift_sd = 0.4;
constexpr double spo2_drift_limit = 0.8;
constexpr double spo2_noise_sd = 0.15;
constexpr double spo2_noise_limit = 0.4;

// An activity bout's label lasts until the HR has recovered (3.3 off time constants).
constexpr milliseconds activity_recovery = minutes(5);
// Sleep depth ramps in over 30 min after bedtime and out over 20 min after waking.
constexpr double fall_asleep_ms = 30.0 * ms_per_minute;
constexpr double wake_up_ms = 20.0 * ms_per_minute;

// One exact Ornstein-Uhlenbeck step given the decay a = exp(-dt/tau) and b = sqrt(1 - a^2).
double ou_step(double x, double a, double b, double sd, double limit, double n) noexcept {
  return std::clamp(a * x + b * sd * n, -limit, limit);
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) noexcept {
  const std::int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

double seconds_between(core::timestamp from, core::timestamp to) noexcept {
  return std::chrono::duration<double>(to - from).count();
}

bool is_hr_event(cardio_event_kind k) noexcept {
  return k == cardio_event_kind::tachycardia || k == cardio_event_kind::bradycardia ||
         k == cardio_event_kind::deterioration;
}

}  // namespace

cardio_model::cardio_model(std::string patient, profile_kind profile, std::uint64_t seed,
                           core::timestamp start, minutes utc_offset,
                           std::vector<cardio_event> events)
    : patient_(std::move(patient)),
      profile_(profile),
      params_(&cardio_params(profile)),
      seed_(derive_seed(seed, patient_ + "/cardio")),
      utc_offset_(utc_offset),
      rng_(seed_),
      bout_rng_(derive_seed(seed_, "activity")),
      last_(start) {
  const auto& p = *params_;
  // Per-patient constants: always the same draws, in the same order.
  hr_rest_ = rng_.uniform(p.hr_rest_lo, p.hr_rest_hi);
  sleep_drop_ = std::min(rng_.uniform(p.sleep_drop_lo, p.sleep_drop_hi), hr_rest_ - p.night_floor);
  spo2_base_ = rng_.uniform(p.spo2_lo, p.spo2_hi);
  bedtime_ms_ = 23 * ms_per_hour + from_minutes(rng_.uniform(-40.0, 40.0)).count();
  wake_ms_ = 7 * ms_per_hour + from_minutes(rng_.uniform(-40.0, 40.0)).count();
  // Start inside the usual range of each process rather than at zero.
  hr_drift_ = std::clamp(rng_.normal(0.0, p.hr_drift_sd / 2), -p.hr_drift_limit, p.hr_drift_limit);
  spo2_drift_ =
      std::clamp(rng_.normal(0.0, spo2_drift_sd / 2), -spo2_drift_limit, spo2_drift_limit);

  next_bout_ = start + from_minutes(bout_rng_.uniform(10.0, p.activity_gap_min));

  const std::int64_t local = (start + utc_offset_).time_since_epoch().count();
  const std::int64_t day = floor_div(local, ms_per_day);
  if (const night n = night_of(day - 1); local < n.end_ms) {
    night_ = n;
    night_day_ = day - 1;
    prev_wake_ms_ = night_of(day - 2).end_ms;
  } else {
    night_ = night_of(day);
    night_day_ = day;
    prev_wake_ms_ = n.end_ms;
  }

  std::stable_sort(events.begin(), events.end(),
                   [](const cardio_event& a, const cardio_event& b) { return a.at < b.at; });
  events_.reserve(events.size());
  running_.reserve(events.size());
  for (const auto& ev : events) {
    event_state e;
    e.ev = ev;
    const auto d = ev.duration;
    switch (ev.kind) {
      case cardio_event_kind::tachycardia: {
        const milliseconds dur = d.count() > 0 ? d : minutes(20);
        e.level = ev.level != 0.0 ? ev.level : 145.0;
        e.ramp_in = std::min<milliseconds>(seconds(90), dur / 4);
        e.ramp_out = std::min<milliseconds>(seconds(120), dur / 4);
        e.end = ev.at + dur;
        e.threshold = 120.0;
        e.above = true;
        break;
      }
      case cardio_event_kind::bradycardia: {
        const milliseconds dur = d.count() > 0 ? d : minutes(10);
        e.level = ev.level != 0.0 ? ev.level : 40.0;
        e.ramp_in = std::min<milliseconds>(seconds(30), dur / 4);
        e.ramp_out = e.ramp_in;
        e.end = ev.at + dur;
        e.threshold = 50.0;
        break;
      }
      case cardio_event_kind::deterioration: {
        const milliseconds dur = d.count() > 0 ? d : std::chrono::hours(6);
        e.level = ev.level != 0.0 ? ev.level : 30.0;
        e.end = ev.at + dur;
        e.threshold = hr_rest_ + 20.0;
        e.above = true;
        break;
      }
      case cardio_event_kind::desaturation:
        e.level = ev.level != 0.0 ? ev.level : (profile_ == profile_kind::copd ? 81.0 : 85.0);
        e.ramp_in = seconds(25);
        e.ramp_out = seconds(30);
        e.hold_s = std::chrono::duration<double>(d.count() > 0 ? d : seconds(90)).count();
        e.end = ev.at + e.ramp_in + e.ramp_out + from_seconds(e.hold_s);  // refined at onset
        e.threshold = p.desat_threshold;
        break;
      case cardio_event_kind::nocturnal_dip: {
        const milliseconds dur = d.count() > 0 ? d : seconds(45);
        e.level = ev.level != 0.0 ? ev.level : spo2_base_ - 4.0;
        e.ramp_in = std::min<milliseconds>(seconds(15), dur / 3);
        e.ramp_out = e.ramp_in;
        e.end = ev.at + dur;
        e.threshold = p.desat_threshold;
        break;
      }
    }
    e.extreme = e.above ? -1e9 : 1e9;
    events_.push_back(e);
  }
}

cardio_model::night cardio_model::night_of(std::int64_t local_day) const noexcept {
  // Per-night jitter from a hash of the day: the schedule does not depend on when the run started.
  std::uint64_t state = seed_ ^ (static_cast<std::uint64_t>(local_day) * 0xd1b54a32d192ed03ULL);
  random r(splitmix64(state));
  night n;
  n.start_ms = local_day * ms_per_day + bedtime_ms_ + from_minutes(r.uniform(-20.0, 20.0)).count();
  n.end_ms = (local_day + 1) * ms_per_day + wake_ms_ + from_minutes(r.uniform(-20.0, 20.0)).count();
  return n;
}

void cardio_model::step_noise(double dt_s) {
  const auto& p = *params_;
  if (dt_s != cached_dt_) {
    cached_dt_ = dt_s;
    const double taus[] = {hr_drift_tau, hr_noise_tau, spo2_drift_tau, spo2_noise_tau};
    for (std::size_t i = 0; i < 4; ++i) {
      const double a = std::exp(-dt_s / taus[i]);
      coef_[2 * i] = a;
      coef_[2 * i + 1] = std::sqrt(1.0 - a * a);
    }
    activity_coef_[0] = std::exp(-dt_s / activity_on_tau);
    activity_coef_[1] = std::exp(-dt_s / activity_off_tau);
  }
  // Always four draws per step, whatever happens, so events never shift the stream.
  hr_drift_ =
      ou_step(hr_drift_, coef_[0], coef_[1], p.hr_drift_sd, p.hr_drift_limit, approx_normal(rng_));
  hr_noise_ =
      ou_step(hr_noise_, coef_[2], coef_[3], p.hr_noise_sd, p.hr_noise_limit, approx_normal(rng_));
  spo2_drift_ = ou_step(spo2_drift_, coef_[4], coef_[5], spo2_drift_sd, spo2_drift_limit,
                        approx_normal(rng_));
  spo2_noise_ = ou_step(spo2_noise_, coef_[6], coef_[7], spo2_noise_sd, spo2_noise_limit,
                        approx_normal(rng_));
}

void cardio_model::schedule_activity(core::timestamp t, bool blocked) {
  const auto& p = *params_;
  if (bout_on_ && t >= bout_end_ + activity_recovery) {
    done_labels_.push_back(make_activity_label(bout_end_ + activity_recovery));
    bout_on_ = false;
  }
  while (t >= next_bout_) {
    // The schedule is drawn whether or not the bout is played (asleep, an event running), so it
    // is the same with and without events.
    const core::timestamp begin = next_bout_;
    const auto length = from_minutes(bout_rng_.uniform(p.activity_min_lo, p.activity_min_hi));
    const double rise = bout_rng_.uniform(p.activity_rise_lo, p.activity_rise_hi);
    const double gap = -std::log(1.0 - bout_rng_.uniform()) * p.activity_gap_min;
    next_bout_ = begin + length + from_minutes(std::max(gap, 10.0));
    if (!blocked && !bout_on_ && t - begin < minutes(1)) {
      bout_on_ = true;
      bout_start_ = begin;
      bout_end_ = begin + length;
      bout_rise_ = std::max(0.0, std::min(rise, p.activity_ceiling - hr_rest_));
      bout_peak_hr_ = 0.0;
    }
  }
}

double cardio_model::event_weight(const event_state& e, core::timestamp t) const noexcept {
  if (t < e.ev.at || t >= e.end) return 0.0;
  if (e.ramp_in.count() > 0 && t < e.ev.at + e.ramp_in) {
    return std::chrono::duration<double>(t - e.ev.at) / std::chrono::duration<double>(e.ramp_in);
  }
  if (e.ramp_out.count() > 0 && t > e.end - e.ramp_out) {
    return std::chrono::duration<double>(e.end - t) / std::chrono::duration<double>(e.ramp_out);
  }
  return 1.0;
}

void cardio_model::start_event(event_state& e, double spo2) {
  e.started = true;
  e.start_value = spo2;
  if (e.ev.kind != cardio_event_kind::desaturation) return;
  // Linear fall and rise: the time below the threshold T is
  // (fall + rise) * (T - level) / (start - level) + hold; choose hold so that it is `duration`.
  const double fall = std::chrono::duration<double>(e.ramp_in).count();
  const double rise = std::chrono::duration<double>(e.ramp_out).count();
  const double depth = spo2 - e.level;
  const double wanted = e.hold_s;
  if (e.level < e.threshold && depth > 0.0) {
    const double frac = std::clamp((e.threshold - e.level) / depth, 0.0, 1.0);
    e.hold_s = std::max(0.0, wanted - (fall + rise) * frac);
  }
  e.end = e.ev.at + e.ramp_in + from_seconds(e.hold_s) + e.ramp_out;
}

cardio_truth cardio_model::advance(core::timestamp t) {
  const auto& p = *params_;
  const double dt_s = t > last_ ? seconds_between(last_, t) : 0.0;
  if (dt_s > 0.0) step_noise(dt_s);

  // Sleep and circadian phase, in local time.
  const std::int64_t local = (t + utc_offset_).time_since_epoch().count();
  while (local >= night_.end_ms) {
    prev_wake_ms_ = night_.end_ms;
    night_ = night_of(++night_day_);
  }
  const bool asleep = local >= night_.start_ms;
  const double depth = asleep ? std::min(1.0, (local - night_.start_ms) / fall_asleep_ms)
                              : std::max(0.0, 1.0 - (local - prev_wake_ms_) / wake_up_ms);
  if (const std::int64_t minute = floor_div(local, ms_per_minute); minute != circ_minute_) {
    circ_minute_ = minute;
    const double hour = static_cast<double>(local - floor_div(local, ms_per_day) * ms_per_day) /
                        static_cast<double>(ms_per_hour);
    circ_ = p.circadian_amp * std::cos(2.0 * std::numbers::pi * (hour - 16.0) / 24.0);
  }

  // Events starting now.
  const std::size_t first_new = running_.size();
  while (next_event_ < events_.size() && events_[next_event_].ev.at <= t) {
    if (events_[next_event_].ev.kind == cardio_event_kind::deterioration) det_started_ = true;
    running_.push_back(next_event_++);
  }

  // Activity.
  schedule_activity(t, asleep || !running_.empty() || det_started_);
  const bool walking = bout_on_ && t < bout_end_;
  if (dt_s > 0.0) {
    const double target = walking ? 1.0 : 0.0;
    const double a = walking ? activity_coef_[0] : activity_coef_[1];
    activity_ = target + (activity_ - target) * a;
  }

  // Deterioration: a permanent shift of the resting HR (and a little SpO2).
  det_shift_ = 0.0;
  det_spo2_ = 0.0;
  for (const std::size_t i : running_) {
    const auto& e = events_[i];
    if (e.ev.kind != cardio_event_kind::deterioration) continue;
    const double span = std::chrono::duration<double>(e.end - e.ev.at).count();
    const double progress =
        span > 0.0 ? std::clamp(seconds_between(e.ev.at, t) / span, 0.0, 1.0) : 1.0;
    det_shift_ += e.level * progress;
    det_spo2_ += std::clamp(e.level / 15.0, 1.0, 3.0) * progress;
  }

  double hr = hr_rest_ + det_shift_ + circ_ - sleep_drop_ * depth + hr_drift_ + hr_noise_ +
              bout_rise_ * activity_;
  double spo2 = spo2_base_ - det_spo2_ - p.spo2_sleep_drop * depth -
                p.spo2_activity_drop * activity_ + spo2_drift_ + spo2_noise_;

  for (std::size_t k = first_new; k < running_.size(); ++k) start_event(events_[running_[k]], spo2);

  // Scripted trajectories on top: the vital blends linearly from its normal value to the level.
  for (const std::size_t i : running_) {
    const auto& e = events_[i];
    const double w = event_weight(e, t);
    if (w <= 0.0) continue;
    switch (e.ev.kind) {
      case cardio_event_kind::tachycardia:
      case cardio_event_kind::bradycardia:
        hr = (1.0 - w) * hr + w * (e.level + hr_noise_);
        break;
      case cardio_event_kind::desaturation:
        hr += w * std::min(10.0, 0.6 * std::max(0.0, e.start_value - e.level));
        spo2 = (1.0 - w) * spo2 + w * (e.level + spo2_noise_);
        break;
      case cardio_event_kind::nocturnal_dip:
        spo2 = (1.0 - w) * spo2 + w * (e.level + spo2_noise_);
        break;
      case cardio_event_kind::deterioration:
        break;
    }
  }
  hr = std::max(hr, 20.0);
  spo2 = std::clamp(spo2, 50.0, 100.0);

  // Label bookkeeping.
  if (bout_on_) bout_peak_hr_ = std::max(bout_peak_hr_, hr);
  const double dt_ms = dt_s * 1000.0;
  bool any_done = false;
  for (const std::size_t i : running_) {
    auto& e = events_[i];
    const double v = is_hr_event(e.ev.kind) ? hr : spo2;
    const bool beyond = e.above ? v > e.threshold : v < e.threshold;
    if (t < e.end || e.ev.kind == cardio_event_kind::deterioration) {
      if (beyond) {
        if (!e.crossed) e.crossed = t;
        e.below_ms += dt_ms;
      }
      e.extreme = e.above ? std::max(e.extreme, v) : std::min(e.extreme, v);
    }
    if (e.ev.kind != cardio_event_kind::deterioration && t >= e.end) {
      e.done = true;
      any_done = true;
      done_labels_.push_back(make_label(e, e.end));
    }
  }
  if (any_done) std::erase_if(running_, [&](std::size_t i) { return events_[i].done; });

  last_ = std::max(last_, t);
  return cardio_truth{hr, spo2, walking, asleep};
}

label cardio_model::make_label(const event_state& e, core::timestamp end) const {
  label l;
  l.type = label_type::event;
  l.patient = patient_;
  l.kind = std::string(to_string(e.ev.kind));
  l.vital = is_hr_event(e.ev.kind) ? core::vital_kind::heart_rate : core::vital_kind::spo2;
  l.start = e.ev.at;
  l.end = end;
  l.threshold = e.threshold;
  l.crossed = e.crossed;
  if (std::abs(e.extreme) < 1e8) l.extreme = e.extreme;
  switch (e.ev.kind) {
    case cardio_event_kind::tachycardia:
    case cardio_event_kind::bradycardia:
    case cardio_event_kind::deterioration:
      l.actionable = true;
      break;
    case cardio_event_kind::desaturation:
      l.actionable = e.below_ms >= 60'000.0;
      l.severity = !l.actionable ? "mild" : (e.extreme < 80.0 ? "severe" : "moderate");
      break;
    case cardio_event_kind::nocturnal_dip:
      l.actionable = false;
      break;
  }
  return l;
}

label cardio_model::make_activity_label(core::timestamp end) const {
  label l;
  l.type = label_type::cause;
  l.patient = patient_;
  l.kind = "activity";
  l.vital = core::vital_kind::heart_rate;
  l.start = bout_start_;
  l.end = end;
  if (bout_peak_hr_ > 0.0) l.extreme = bout_peak_hr_;
  return l;
}

void cardio_model::drain_labels(std::vector<label>& out) {
  std::move(done_labels_.begin(), done_labels_.end(), std::back_inserter(out));
  done_labels_.clear();
}

void cardio_model::flush_labels(std::vector<label>& out) {
  drain_labels(out);
  for (const std::size_t i : running_) {
    auto& e = events_[i];
    e.done = true;
    out.push_back(make_label(
        e, std::min(e.ev.kind == cardio_event_kind::deterioration ? last_ : e.end, last_)));
  }
  running_.clear();
  if (bout_on_) {
    out.push_back(make_activity_label(std::min(last_, bout_end_ + activity_recovery)));
    bout_on_ = false;
  }
}

}  // namespace vitals::simulators
