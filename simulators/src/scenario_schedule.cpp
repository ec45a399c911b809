// Random schedules of a scenario: events drawn at the rates a scenario file gives (per
// patient-day), placed at plausible local times of day, with each kind's default level and
// duration, and kept apart from others of their group. The same seed draws the same schedule.
#include <algorithm>
#include <cmath>
#include <map>

#include <vitals/simulators/random.hpp>

#include "scenario_detail.hpp"

namespace vitals::simulators::detail {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;

namespace {

milliseconds horizon_of(const scenario& s) {
  return s.duration ? *s.duration : milliseconds(open_ended_horizon);
}

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

}  // namespace

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

}  // namespace vitals::simulators::detail
