#include <vitals/core/baseline_detector.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>

#include <fmt/format.h>
#include <Eigen/Dense>

namespace vitals::core {

namespace {

constexpr std::int32_t minutes_per_day = 24 * 60;
/// Minutes learnt before residuals are clipped, at the least: the spread is not known before.
constexpr std::int64_t robust_after = 30;
/// A short-term mean counts once its EW weight reaches this (about 0.7 windows of data).
constexpr float short_ready = 0.5F;
/// Largest |correlation| used in the covariance, so that it stays invertible.
constexpr float max_correlation = 0.95F;

// export_state() layout, little-endian: header, live state, buckets, CRC-32 of all before it.
constexpr std::array<std::uint8_t, 4> blob_magic = {'V', 'B', 'S', 'L'};
constexpr std::size_t header_bytes = 8;  // magic, version, bucket count, two zero bytes
constexpr std::size_t live_bytes = 65;
constexpr std::size_t bucket_bytes = 24;
constexpr std::size_t crc_bytes = 4;

constexpr std::size_t blob_size(int buckets) {
  return header_bytes + live_bytes + static_cast<std::size_t>(buckets) * bucket_bytes + crc_bytes;
}

constexpr std::array<std::uint32_t, 256> make_crc_table() {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1U) != 0 ? 0xEDB88320U ^ (c >> 1) : c >> 1;
    table[i] = c;
  }
  return table;
}

constexpr auto crc_table = make_crc_table();

/// CRC-32 (IEEE 802.3, as zlib): catches truncation and bit rot in stored blobs.
std::uint32_t crc32(std::span<const std::uint8_t> data) noexcept {
  std::uint32_t c = 0xFFFFFFFFU;
  for (const auto byte : data) c = crc_table[(c ^ byte) & 0xFFU] ^ (c >> 8);
  return c ^ 0xFFFFFFFFU;
}

struct blob_writer {
  std::vector<std::uint8_t>& out;
  void u8(std::uint8_t v) { out.push_back(v); }
  void u16(std::uint16_t v) {
    out.push_back(static_cast<std::uint8_t>(v));
    out.push_back(static_cast<std::uint8_t>(v >> 8));
  }
  void u32(std::uint32_t v) {
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  }
  void i32(std::int32_t v) { u32(static_cast<std::uint32_t>(v)); }
  void f32(float v) { u32(std::bit_cast<std::uint32_t>(v)); }
};

/// Reads what blob_writer wrote; the caller checked the size first.
struct blob_reader {
  std::span<const std::uint8_t> in;
  std::size_t pos = 0;
  std::uint8_t u8() { return in[pos++]; }
  std::uint16_t u16() {
    const auto v = static_cast<std::uint16_t>(in[pos] | (in[pos + 1] << 8));
    pos += 2;
    return v;
  }
  std::uint32_t u32() {
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= static_cast<std::uint32_t>(in[pos + i]) << (8 * i);
    pos += 4;
    return v;
  }
  std::int32_t i32() { return static_cast<std::int32_t>(u32()); }
  float f32() { return std::bit_cast<float>(u32()); }
};

std::int32_t minute_of(timestamp t) noexcept {
  return static_cast<std::int32_t>(
      std::chrono::floor<std::chrono::minutes>(t).time_since_epoch().count());
}

timestamp minute_start(std::int32_t minute) noexcept {
  return timestamp(std::chrono::minutes(minute));
}

std::uint16_t saturating_add(std::uint16_t a, std::int32_t b) noexcept {
  return static_cast<std::uint16_t>(
      std::min<std::int32_t>(std::numeric_limits<std::uint16_t>::max(), a + b));
}

std::int32_t whole_minutes_up(std::chrono::milliseconds d) noexcept {
  return static_cast<std::int32_t>(std::chrono::ceil<std::chrono::minutes>(d).count());
}

/// "00-04" for the first of six buckets.
std::string bucket_label(int bucket, int buckets) {
  const int hours = 24 / buckets;
  return fmt::format("{:02d}-{:02d}", bucket * hours, (bucket + 1) * hours);
}

bool finite_in(float v, float lo, float hi) noexcept {
  return std::isfinite(v) && v >= lo && v <= hi;
}

void require(bool ok, const std::string& what) {
  if (!ok) throw std::invalid_argument("baseline settings: " + what);
}

}  // namespace

baseline_detector::baseline_detector(baseline_settings settings) : settings_(std::move(settings)) {
  const auto& s = settings_;
  require(s.buckets == 1 || s.buckets == 2 || s.buckets == 3 || s.buckets == 4 || s.buckets == 6,
          fmt::format("buckets = {} is not one of 1, 2, 3, 4, 6", s.buckets));
  const auto check_offset = [](std::int32_t minutes, const std::string& key) {
    require(minutes >= -minutes_per_day && minutes <= minutes_per_day,
            fmt::format("{} = {} is not within +-1440 minutes", key, minutes));
  };
  check_offset(s.utc_offset_minutes, "utc_offset_minutes");
  require(s.warmup_total.count() >= 0 && s.warmup_bucket.count() >= 0,
          "warm-up durations must not be negative");
  require(s.warmup_bucket.count() <= std::numeric_limits<std::uint16_t>::max(),
          "warmup_bucket must be at most 65535 minutes");
  require(s.learning_days > 0.0 && s.learning_days <= 3650.0,
          "learning_days must be > 0 and <= 3650");
  require(s.huber_k > 0.0, "huber_k must be > 0");
  require(s.hr_sd_floor > 0.0 && s.spo2_sd_floor > 0.0, "standard deviation floors must be > 0");
  require(s.short_window.count() >= 1, "short_window must be at least 1 minute");
  require(s.max_gap.count() >= 1, "max_gap must be at least 1 minute");
  require(s.hr_limit > 0.0 && s.cardio_limit > 0.0, "limits must be > 0");
  require(s.hr_hysteresis >= 0.0 && s.cardio_hysteresis >= 0.0, "hysteresis must not be < 0");
  require(s.hr_min_duration.count() >= 0 && s.cardio_min_duration.count() >= 0,
          "min_duration must not be negative");

  profile defaults;
  defaults.hr = {s.hr_limit, s.hr_hysteresis, static_cast<std::int32_t>(s.hr_min_duration.count()),
                 s.level, s.hr_enabled};
  defaults.cardio = {s.cardio_limit, s.cardio_hysteresis,
                     static_cast<std::int32_t>(s.cardio_min_duration.count()), s.level,
                     s.cardio_enabled};
  defaults.utc_offset_minutes = s.utc_offset_minutes;
  profiles_.push_back(defaults);

  // Patients with anything of their own get a profile; everyone else shares profiles_[0].
  std::map<std::string, profile> own;
  for (const auto& [patient, minutes] : s.patient_utc_offset_minutes) {
    check_offset(minutes, "patient_utc_offset_minutes." + patient);
    own.try_emplace(patient, defaults).first->second.utc_offset_minutes = minutes;
  }
  for (const auto& [patient, rules] : s.patients) {
    auto& p = own.try_emplace(patient, defaults).first->second;
    for (const auto& [name, o] : rules) {
      rule_params* r = name == hr_rule ? &p.hr : name == cardio_rule ? &p.cardio : nullptr;
      if (r == nullptr) continue;  // another detector's rule
      const auto key = "patients." + patient + "." + name;
      if (o.limit) {
        require(*o.limit > 0.0, key + ".limit must be > 0");
        r->limit = *o.limit;
      }
      if (o.hysteresis) {
        require(*o.hysteresis >= 0.0, key + ".hysteresis must not be < 0");
        r->hysteresis = *o.hysteresis;
      }
      if (o.min_duration) {
        require(o.min_duration->count() >= 0, key + ".min_duration must not be negative");
        r->min_minutes = whole_minutes_up(*o.min_duration);
      }
      if (o.level) r->level = *o.level;
      if (o.enabled) r->enabled = *o.enabled;
    }
  }
  for (const auto& [patient, p] : own) {
    const auto id = short_id::make(patient);
    if (!id) continue;  // no sample can carry this id
    custom_.emplace(*id, static_cast<std::uint32_t>(profiles_.size()));
    profiles_.push_back(p);
  }
}

void baseline_detector::reconfigure(baseline_settings settings, std::vector<alert_event>& out) {
  require(settings.buckets == settings_.buckets,
          "buckets cannot change while vitalsd runs (the learnt norms are per bucket)");
  baseline_detector next(std::move(settings));
  for (auto& [id, ps] : patients_) {
    const auto& was = profiles_[ps.profile];
    const auto index = next.profile_index(id);
    const auto& now = next.profiles_[index];
    const auto end_if_withdrawn = [&](rule_state& rs, const rule_params& before,
                                      const rule_params& after, std::string_view rule) {
      if (after.enabled) return;
      if (rs.active != 0) {
        out.push_back(withdrawn_rule_event(id, std::string(rule), vital_kind::heart_rate,
                                           before.level, alert_source::physiological,
                                           minute_start(rs.since), minute_start(ps.minute)));
      }
      rs = rule_state{};
    };
    end_if_withdrawn(ps.hr, was.hr, now.hr, hr_rule);
    end_if_withdrawn(ps.cardio, was.cardio, now.cardio, cardio_rule);
    ps.profile = index;
  }
  next.patients_ = std::move(patients_);
  *this = std::move(next);
}

std::uint32_t baseline_detector::profile_index(const short_id& patient) const {
  const auto it = custom_.find(patient);
  return it == custom_.end() ? 0 : it->second;
}

baseline_detector::patient_state& baseline_detector::state_for(const short_id& patient) {
  const auto [it, inserted] = patients_.try_emplace(patient);
  if (inserted) it->second.profile = profile_index(patient);
  return it->second;
}

int baseline_detector::bucket_of(std::int32_t minute, const profile& p) const noexcept {
  const std::int64_t local = static_cast<std::int64_t>(minute) + p.utc_offset_minutes;
  const auto of_day =
      static_cast<int>(((local % minutes_per_day) + minutes_per_day) % minutes_per_day);
  return of_day * settings_.buckets / minutes_per_day;
}

void baseline_detector::observe(const sample& s, std::vector<alert_event>& out) {
  if (s.kind != vital_kind::heart_rate && s.kind != vital_kind::spo2) return;
  if ((s.quality & (quality_artifact | quality_sensor_contact_lost | quality_out_of_order |
                    quality_device_flagged | quality_no_value)) != 0) {
    return;
  }
  if (!std::isfinite(s.value)) return;
  auto& ps = state_for(s.patient);
  const auto m = minute_of(s.device_time);
  if (ps.has_minute != 0) {
    if (m < ps.minute) {
      // Another device a little behind: its reading is late for this minute. Far behind: a
      // device clock was set back; start the live state afresh (the norms are kept).
      if (ps.minute - m <= settings_.max_gap.count()) return;
      ps.has_minute = 0;
      ps.weight_hr = ps.weight_spo2 = 0.0F;
      ps.hr.pending = ps.cardio.pending = 0;
    } else if (m > ps.minute) {
      close_minute(ps, s, out);
      ps.has_minute = 0;
    }
  }
  if (ps.has_minute == 0) {
    ps.has_minute = 1;
    ps.minute = m;
    ps.sum_hr = ps.sum_spo2 = 0.0F;
    ps.n_hr = ps.n_spo2 = 0;
  }
  if (s.kind == vital_kind::heart_rate) {
    ps.sum_hr += static_cast<float>(s.value);
    ps.n_hr = saturating_add(ps.n_hr, 1);
  } else {
    ps.sum_spo2 += static_cast<float>(s.value);
    ps.n_spo2 = saturating_add(ps.n_spo2, 1);
  }
  ps.dirty = 1;
}

void baseline_detector::learn(bucket_stats& b, bool have_hr, float hr, bool have_spo2, float spo2,
                              std::int32_t span) const noexcept {
  if (!have_hr) return;
  // Weighted running mean at first, then exponential forgetting with the configured time
  // constant (in minutes of this bucket).
  const double tau =
      settings_.learning_days * minutes_per_day / static_cast<double>(settings_.buckets);
  const auto rate = [&](std::uint16_t before) {
    const double n = std::max<double>(saturating_add(before, span), 1.0);
    return static_cast<float>(std::min(1.0, std::max(span / n, span / tau)));
  };
  // The bucket's first warm-up is learnt unclipped: a bucket that holds two states (asleep,
  // then awake) must get its whole spread, which clipping at a spread learnt from the first
  // state alone would hold back for days.
  const auto unclipped = std::max(robust_after, std::int64_t{settings_.warmup_bucket.count()});
  const auto clip = [&](float r, float var, double floor, std::uint16_t n) {
    if (n < unclipped) return r;
    const auto c = static_cast<float>(settings_.huber_k * std::max<double>(std::sqrt(var), floor));
    return std::clamp(r, -c, c);
  };
  const float r_hr = clip(hr - b.mean_hr, b.var_hr, settings_.hr_sd_floor, b.minutes_hr);
  const float a = rate(b.minutes_hr);
  b.mean_hr += a * r_hr;
  b.var_hr = (1.0F - a) * (b.var_hr + a * r_hr * r_hr);
  b.minutes_hr = saturating_add(b.minutes_hr, span);
  if (!have_spo2) return;
  const float r_spo2 =
      clip(spo2 - b.mean_spo2, b.var_spo2, settings_.spo2_sd_floor, b.minutes_joint);
  const float aj = rate(b.minutes_joint);
  b.mean_spo2 += aj * r_spo2;
  b.var_spo2 = (1.0F - aj) * (b.var_spo2 + aj * r_spo2 * r_spo2);
  b.cov = (1.0F - aj) * (b.cov + aj * r_hr * r_spo2);
  b.minutes_joint = saturating_add(b.minutes_joint, span);
}

void baseline_detector::close_minute(patient_state& ps, const sample& s,
                                     std::vector<alert_event>& out) {
  const auto& pr = profiles_[ps.profile];
  const std::int32_t m = ps.minute;
  const bool have_hr = ps.n_hr > 0;
  const bool have_spo2 = ps.n_spo2 > 0;
  const float hr = have_hr ? ps.sum_hr / ps.n_hr : 0.0F;
  const float spo2 = have_spo2 ? ps.sum_spo2 / ps.n_spo2 : 0.0F;
  const auto gap = static_cast<std::int32_t>(settings_.max_gap.count());
  const auto window = static_cast<float>(settings_.short_window.count());

  // The time this minute stands for: 1 for continuous data, up to max_gap for sparse readings.
  const std::int32_t span =
      ps.weight_hr > 0.0F && m - ps.last_hr >= 1 && m - ps.last_hr <= gap ? m - ps.last_hr : 1;

  // Short-term EW means, bias-corrected by the weight reached so far; a silence longer than
  // max_gap starts them (and the durations that depend on them) afresh.
  const auto update_short = [&](float& mean, float& weight, std::int32_t& last, float x) {
    const bool restart = weight <= 0.0F || m - last > gap || m <= last;
    if (restart) weight = 0.0F;
    const auto dt = static_cast<float>(restart ? 1 : m - last);
    const float a = 1.0F - std::exp(-dt / window);
    weight = (1.0F - a) * weight + a;
    mean += (a / weight) * (x - mean);
    last = m;
    return restart;
  };
  if (have_hr && update_short(ps.short_hr, ps.weight_hr, ps.last_hr, hr)) {
    ps.hr.pending = 0;
    ps.cardio.pending = 0;
  }
  if (have_spo2 && update_short(ps.short_spo2, ps.weight_spo2, ps.last_spo2, spo2)) {
    ps.cardio.pending = 0;
  }

  const int bucket = bucket_of(m, pr);
  auto& b = ps.buckets[static_cast<std::size_t>(bucket)];
  const bool warm = ps.learnt_minutes >= static_cast<std::uint64_t>(settings_.warmup_total.count());
  const auto bucket_warm = static_cast<std::uint16_t>(settings_.warmup_bucket.count());

  const auto make_event = [&](std::string_view rule, const rule_params& rp, const rule_state& st,
                              alert_transition t, double value, double threshold) {
    alert_event e;
    e.patient = s.patient;
    e.device = s.device;
    e.rule = std::string(rule);
    e.kind = vital_kind::heart_rate;
    e.level = rp.level;
    e.source = alert_source::physiological;
    e.transition = t;
    e.value = value;
    e.threshold = threshold;
    e.condition_start = minute_start(st.since);
    e.time = s.device_time;
    return e;
  };
  // Raise after min_minutes beyond the limit; clear once back by the hysteresis.
  // Returns the transition made, if any.
  const auto step = [&](rule_state& st, const rule_params& rp,
                        double dev) -> std::optional<alert_transition> {
    if (st.active != 0) {
      st.worst = std::max(st.worst, static_cast<float>(dev));
      if (dev > rp.limit - rp.hysteresis) return std::nullopt;
      st.active = 0;
      st.pending = 0;
      return alert_transition::cleared;
    }
    if (dev < rp.limit) {
      st.pending = 0;
      return std::nullopt;
    }
    if (st.pending == 0) {
      st.pending = 1;
      st.since = m;
      st.worst = static_cast<float>(dev);
    } else {
      st.worst = std::max(st.worst, static_cast<float>(dev));
    }
    if (m + 1 - st.since < rp.min_minutes) return std::nullopt;
    st.pending = 0;
    st.active = 1;
    return alert_transition::raised;
  };
  const auto label = bucket_label(bucket, settings_.buckets);
  const auto held = [&](const rule_state& st) { return m + 1 - st.since; };

  if (have_hr && pr.hr.enabled) {
    if (warm && b.minutes_hr >= bucket_warm && ps.weight_hr >= short_ready) {
      const double norm = b.mean_hr;
      const double dev = ps.short_hr - norm;
      if (const auto t = step(ps.hr, pr.hr, dev)) {
        auto e = make_event(hr_rule, pr.hr, ps.hr, *t, ps.short_hr, norm + pr.hr.limit);
        if (*t == alert_transition::raised) {
          e.message = fmt::format(
              "HR {:.0f} /min ({}-min mean) is {:.0f} /min above this patient's {} h norm {:.0f} "
              "for {} min",
              ps.short_hr, settings_.short_window.count(), dev, label, norm, held(ps.hr));
        } else {
          e.message = fmt::format(
              "HR {:.0f} /min ({}-min mean) is back within {:.0f} /min of this patient's {} h "
              "norm {:.0f} after {} min (largest deviation {:.0f} /min)",
              ps.short_hr, settings_.short_window.count(), pr.hr.limit - pr.hr.hysteresis, label,
              norm, held(ps.hr), ps.hr.worst);
        }
        out.push_back(std::move(e));
      }
    } else {
      ps.hr.pending = 0;  // no norm to compare with: the duration restarts
    }
  }

  if ((have_hr || have_spo2) && pr.cardio.enabled) {
    const bool fresh = ps.weight_hr >= short_ready && ps.weight_spo2 >= short_ready &&
                       m - ps.last_hr <= gap && m - ps.last_spo2 <= gap;
    if (warm && b.minutes_joint >= bucket_warm && fresh) {
      // Mahalanobis distance with variances floored and the correlation bounded, so that a
      // bucket of near-constant readings does not turn noise into a deviation.
      const float var_hr =
          std::max(b.var_hr, static_cast<float>(settings_.hr_sd_floor * settings_.hr_sd_floor));
      const float var_spo2 = std::max(
          b.var_spo2, static_cast<float>(settings_.spo2_sd_floor * settings_.spo2_sd_floor));
      const float bound = max_correlation * std::sqrt(var_hr * var_spo2);
      const float cov = std::clamp(b.cov, -bound, bound);
      Eigen::Matrix2f sigma;
      sigma << var_hr, cov, cov, var_spo2;
      const Eigen::Vector2f d(ps.short_hr - b.mean_hr, ps.short_spo2 - b.mean_spo2);
      const double dist = std::sqrt(std::max(0.0F, d.dot(sigma.inverse() * d)));
      if (const auto t = step(ps.cardio, pr.cardio, dist)) {
        auto e = make_event(cardio_rule, pr.cardio, ps.cardio, *t, dist, pr.cardio.limit);
        if (*t == alert_transition::raised) {
          e.message = fmt::format(
              "HR {:.0f} /min and SpO2 {:.1f} % ({}-min means) are {:.1f} SD (Mahalanobis) from "
              "this patient's {} h norm (HR {:.0f} /min, SpO2 {:.1f} %) for {} min",
              ps.short_hr, ps.short_spo2, settings_.short_window.count(), dist, label, b.mean_hr,
              b.mean_spo2, held(ps.cardio));
        } else {
          e.message = fmt::format(
              "HR {:.0f} /min and SpO2 {:.1f} % ({}-min means) are back within {:.1f} SD of this "
              "patient's {} h norm (HR {:.0f} /min, SpO2 {:.1f} %) after {} min (largest {:.1f} "
              "SD)",
              ps.short_hr, ps.short_spo2, settings_.short_window.count(),
              pr.cardio.limit - pr.cardio.hysteresis, label, b.mean_hr, b.mean_spo2,
              held(ps.cardio), ps.cardio.worst);
        }
        out.push_back(std::move(e));
      }
    } else if (!(warm && b.minutes_joint >= bucket_warm)) {
      ps.cardio.pending = 0;
    }
  }

  // Learn only from minutes that are not part of an excursion: an event must not become the
  // new normal.
  const bool deviating =
      ps.hr.pending != 0 || ps.hr.active != 0 || ps.cardio.pending != 0 || ps.cardio.active != 0;
  if (!deviating && have_hr) {
    learn(b, have_hr, hr, have_spo2, spo2, span);
    ps.learnt_minutes = static_cast<std::uint32_t>(std::min<std::uint64_t>(
        std::numeric_limits<std::uint32_t>::max(), std::uint64_t{ps.learnt_minutes} + span));
  }
}

std::size_t baseline_detector::state_bytes() const noexcept {
  // An unordered_map node holds the value, a next pointer and the cached hash.
  constexpr std::size_t node =
      sizeof(std::pair<const short_id, patient_state>) + sizeof(void*) + sizeof(std::size_t);
  return patients_.size() * node + patients_.bucket_count() * sizeof(void*) +
         custom_.size() * (sizeof(std::pair<const short_id, std::uint32_t>) + 2 * sizeof(void*)) +
         profiles_.capacity() * sizeof(profile);
}

std::vector<std::uint8_t> baseline_detector::export_state(const short_id& patient) const {
  std::vector<std::uint8_t> blob;
  const auto it = patients_.find(patient);
  if (it == patients_.end()) return blob;
  const auto& ps = it->second;
  blob.reserve(blob_size(settings_.buckets));
  blob_writer w{blob};
  for (const auto byte : blob_magic) w.u8(byte);
  w.u8(state_format_version);
  w.u8(static_cast<std::uint8_t>(settings_.buckets));
  w.u16(0);
  // Live state (65 bytes).
  w.u8(ps.has_minute);
  w.i32(ps.minute);
  w.f32(ps.sum_hr);
  w.f32(ps.sum_spo2);
  w.u16(ps.n_hr);
  w.u16(ps.n_spo2);
  w.f32(ps.short_hr);
  w.f32(ps.short_spo2);
  w.f32(ps.weight_hr);
  w.f32(ps.weight_spo2);
  w.i32(ps.last_hr);
  w.i32(ps.last_spo2);
  w.u32(ps.learnt_minutes);
  for (const auto* r : {&ps.hr, &ps.cardio}) {
    w.i32(r->since);
    w.f32(r->worst);
    w.u8(r->pending);
    w.u8(r->active);
  }
  // Norms (24 bytes each).
  for (int i = 0; i < settings_.buckets; ++i) {
    const auto& b = ps.buckets[static_cast<std::size_t>(i)];
    w.f32(b.mean_hr);
    w.f32(b.mean_spo2);
    w.f32(b.var_hr);
    w.f32(b.var_spo2);
    w.f32(b.cov);
    w.u16(b.minutes_hr);
    w.u16(b.minutes_joint);
  }
  w.u32(crc32(blob));
  return blob;
}

bool baseline_detector::import_state(const short_id& patient, std::span<const std::uint8_t> blob) {
  if (blob.size() != blob_size(settings_.buckets)) return false;
  const auto body = blob.first(blob.size() - crc_bytes);
  blob_reader r{blob};
  for (const auto byte : blob_magic) {
    if (r.u8() != byte) return false;
  }
  if (r.u8() != state_format_version) return false;
  if (r.u8() != settings_.buckets) return false;
  if (r.u16() != 0) return false;
  {
    blob_reader tail{blob.subspan(body.size())};
    if (tail.u32() != crc32(body)) return false;
  }

  patient_state ps;
  ps.has_minute = r.u8();
  ps.minute = r.i32();
  ps.sum_hr = r.f32();
  ps.sum_spo2 = r.f32();
  ps.n_hr = r.u16();
  ps.n_spo2 = r.u16();
  ps.short_hr = r.f32();
  ps.short_spo2 = r.f32();
  ps.weight_hr = r.f32();
  ps.weight_spo2 = r.f32();
  ps.last_hr = r.i32();
  ps.last_spo2 = r.i32();
  ps.learnt_minutes = r.u32();
  bool ok = ps.has_minute <= 1 && std::isfinite(ps.sum_hr) && std::isfinite(ps.sum_spo2) &&
            finite_in(ps.short_hr, 0.0F, 1000.0F) && finite_in(ps.short_spo2, 0.0F, 1000.0F) &&
            finite_in(ps.weight_hr, 0.0F, 1.0F) && finite_in(ps.weight_spo2, 0.0F, 1.0F);
  for (auto* rs : {&ps.hr, &ps.cardio}) {
    rs->since = r.i32();
    rs->worst = r.f32();
    rs->pending = r.u8();
    rs->active = r.u8();
    ok = ok && std::isfinite(rs->worst) && rs->pending <= 1 && rs->active <= 1 &&
         !(rs->pending != 0 && rs->active != 0);
  }
  for (int i = 0; i < settings_.buckets; ++i) {
    auto& b = ps.buckets[static_cast<std::size_t>(i)];
    b.mean_hr = r.f32();
    b.mean_spo2 = r.f32();
    b.var_hr = r.f32();
    b.var_spo2 = r.f32();
    b.cov = r.f32();
    b.minutes_hr = r.u16();
    b.minutes_joint = r.u16();
    constexpr float big = 1.0e6F;
    ok = ok && finite_in(b.mean_hr, 0.0F, 1000.0F) && finite_in(b.mean_spo2, 0.0F, 1000.0F) &&
         finite_in(b.var_hr, 0.0F, big) && finite_in(b.var_spo2, 0.0F, big) &&
         finite_in(b.cov, -big, big);
  }
  if (!ok || r.pos != body.size()) return false;
  ps.profile = profile_index(patient);
  ps.dirty = 0;
  patients_.insert_or_assign(patient, ps);
  return true;
}

void baseline_detector::take_dirty(std::vector<short_id>& out) {
  for (auto& [id, ps] : patients_) {
    if (ps.dirty == 0) continue;
    out.push_back(id);
    ps.dirty = 0;
  }
}

}  // namespace vitals::core
