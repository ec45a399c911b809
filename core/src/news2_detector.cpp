#include <vitals/core/news2_detector.hpp>

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace vitals::core {

using std::chrono::milliseconds;

std::optional<news2_parameter> news2_parameter_for(vital_kind kind) noexcept {
  switch (kind) {
    case vital_kind::heart_rate:
      return news2_parameter::pulse;
    case vital_kind::spo2:
      return news2_parameter::spo2;
    case vital_kind::glucose:
      return std::nullopt;
  }
  return std::nullopt;
}

namespace {

constexpr std::size_t index_of(news2_parameter p) noexcept {
  return static_cast<std::size_t>(p);
}

constexpr std::uint8_t bit_of(news2_parameter p) noexcept {
  return static_cast<std::uint8_t>(1u << index_of(p));
}

/// Every parameter scored: the score is complete, not partial.
constexpr std::uint8_t all_parameters = (1u << news2_parameter_count) - 1;

/// Quality bits that keep a reading out of the score.
constexpr std::uint16_t ignored_quality = quality_artifact | quality_sensor_contact_lost |
                                          quality_out_of_order | quality_backfilled |
                                          quality_device_flagged | quality_no_value;

/// Median of the first `n` (1..3) values; the mean of two when only two are held.
float median_of(const std::array<float, 3>& v, std::size_t n) noexcept {
  if (n == 1) return v[0];
  if (n == 2) return (v[0] + v[1]) / 2.0F;
  return std::max(std::min(v[0], v[1]), std::min(std::max(v[0], v[1]), v[2]));
}

/// "45 s", "5 min", "5 min 12 s".
std::string format_duration(milliseconds d) {
  const auto s =
      std::max<std::int64_t>(0, std::chrono::duration_cast<std::chrono::seconds>(d).count());
  if (s < 60) return fmt::format("{} s", s);
  if (s % 60 == 0) return fmt::format("{} min", s / 60);
  return fmt::format("{} min {} s", s / 60, s % 60);
}

}  // namespace

/// One scoring of a patient's fresh parameters.
struct news2_detector::evaluation {
  news2_result result;
  std::array<int, news2_parameter_count> sub{};       ///< sub-score, news2_unscorable if absent
  std::array<double, news2_parameter_count> value{};  ///< the scored reading, as binned
  int oxygen = 0;                                     ///< oxygen sub-score (always scored)
  std::uint8_t mask = 0;                              ///< parameters scored
  vital_kind top_kind = vital_kind::heart_rate;       ///< vital with the highest sub-score
  spo2_scale scale = spo2_scale::scale1;
  bool on_oxygen = false;

  bool has(news2_parameter p) const noexcept { return sub[index_of(p)] != news2_unscorable; }

  /// "NEWS2 partial 5 (pulse 118 /min: 2, SpO2 92 % scale 1: 2, air: 0; no ...)"
  std::string describe() const {
    const bool complete = mask == all_parameters;
    std::string text = fmt::format("NEWS2 {}{} (", complete ? "" : "partial ", result.total);
    const auto item = [&text](std::string piece) {
      if (text.back() != '(') text += ", ";
      text += piece;
    };
    const auto v = [this](news2_parameter p) { return value[index_of(p)]; };
    const auto s = [this](news2_parameter p) { return sub[index_of(p)]; };
    using P = news2_parameter;
    if (has(P::resp_rate)) {
      item(fmt::format("resp {:.0f} /min: {}", v(P::resp_rate), s(P::resp_rate)));
    }
    if (has(P::spo2)) {
      item(fmt::format("SpO2 {:.0f} % scale {}: {}", v(P::spo2),
                       scale == spo2_scale::scale1 ? 1 : 2, s(P::spo2)));
    }
    item(fmt::format("{}: {}", on_oxygen ? "oxygen" : "air", oxygen));
    if (has(P::systolic_bp)) {
      item(fmt::format("systolic {:.0f} mmHg: {}", v(P::systolic_bp), s(P::systolic_bp)));
    }
    if (has(P::pulse)) item(fmt::format("pulse {:.0f} /min: {}", v(P::pulse), s(P::pulse)));
    if (has(P::consciousness)) {
      item(fmt::format("{}: {}", v(P::consciousness) >= 0.5 ? "alert" : "not alert",
                       s(P::consciousness)));
    }
    if (has(P::temperature)) {
      item(fmt::format("temp {:.1f} C: {}", v(P::temperature), s(P::temperature)));
    }
    std::string missing;
    if (!has(P::spo2)) missing += "; no SpO2";
    if (!has(P::pulse)) missing += "; no pulse";
    return text + missing + ")";
  }
};

news2_detector::news2_detector(news2_settings settings) : settings_(std::move(settings)) {}

std::size_t news2_detector::state_bytes() const noexcept {
  // Each node: key, state, next pointer and cached hash; plus the bucket array.
  return patients_.bucket_count() * sizeof(void*) +
         patients_.size() * (sizeof(short_id) + sizeof(patient_state) + 2 * sizeof(void*));
}

news2_detector::rule_params news2_detector::params_for(std::string_view patient,
                                                       std::string_view rule,
                                                       const news2_rule_settings& defaults) const {
  rule_params p{defaults.min_duration, defaults.level, defaults.enabled};
  const auto pt = settings_.patients.find(std::string(patient));
  if (pt == settings_.patients.end()) return p;
  const auto o = pt->second.find(std::string(rule));
  if (o == pt->second.end()) return p;
  if (o->second.enabled) p.enabled = *o->second.enabled;
  if (o->second.level) p.level = *o->second.level;
  if (o->second.min_duration) p.min_duration = *o->second.min_duration;
  return p;
}

news2_detector::patient_state& news2_detector::state_for(const short_id& patient) {
  auto it = patients_.find(patient);
  if (it != patients_.end()) return it->second;
  patient_state ps;
  const auto ctx = settings_.patient_context.find(patient.str());
  if (ctx != settings_.patient_context.end()) {
    ps.scale = ctx->second.scale;
    ps.on_oxygen = ctx->second.on_oxygen;
  }
  ps.params[0] = params_for(patient.view(), news2_urgent_rule, settings_.urgent);
  ps.params[1] = params_for(patient.view(), news2_emergency_rule, settings_.emergency);
  return patients_.emplace(patient, ps).first->second;
}

void news2_detector::reconfigure(news2_settings settings, std::vector<alert_event>& out) {
  settings_ = std::move(settings);
  for (auto& [id, ps] : patients_) {
    const auto ctx = settings_.patient_context.find(id.str());
    const bool has_ctx = ctx != settings_.patient_context.end();
    ps.scale = has_ctx ? ctx->second.scale : spo2_scale::scale1;
    ps.on_oxygen = has_ctx && ctx->second.on_oxygen;
    const std::array<rule_params, 2> params{
        params_for(id.view(), news2_urgent_rule, settings_.urgent),
        params_for(id.view(), news2_emergency_rule, settings_.emergency)};
    const std::array<std::string_view, 2> names{news2_urgent_rule, news2_emergency_rule};
    for (std::size_t i = 0; i < 2; ++i) {
      auto& rs = ps.rules[i];
      if (!params[i].enabled) {
        if (rs.active) {
          out.push_back(withdrawn_rule_event(id, std::string(names[i]), rs.kind, ps.params[i].level,
                                             alert_source::physiological, rs.since, ps.last_eval));
        }
        rs = rule_state{};
      }
    }
    ps.params = params;
  }
}

void news2_detector::update_slot(reading_slot& slot, float value, timestamp t,
                                 bool smooth) const noexcept {
  if (slot.count != 0 && t - slot.last > settings_.validity) {
    slot.count = 0;  // stale: start over rather than blend with an old reading
    slot.next = 0;
  }
  const bool first = slot.count == 0;
  slot.recent[slot.next] = value;
  slot.next = static_cast<std::uint8_t>((slot.next + 1) % slot.recent.size());
  if (slot.count < slot.recent.size()) ++slot.count;
  if (!smooth) {
    slot.smoothed = value;
  } else {
    const float m = median_of(slot.recent, slot.count);
    const auto tau = settings_.smoothing.count();
    if (first || tau <= 0) {
      slot.smoothed = m;
    } else {
      const auto dt = static_cast<double>((t - slot.last).count());
      const double alpha = 1.0 - std::exp(-dt / static_cast<double>(tau));
      slot.smoothed += static_cast<float>(alpha * static_cast<double>(m - slot.smoothed));
    }
  }
  slot.last = t;
}

void news2_detector::observe(const sample& s, std::vector<alert_event>& out) {
  const auto param = news2_parameter_for(s.kind);
  if (!param || !std::isfinite(s.value) || (s.quality & ignored_quality) != 0) return;

  auto& ps = state_for(s.patient);
  const timestamp now = s.device_time;
  auto& slot = ps.slots[index_of(*param)];
  if (slot.count != 0 && now < slot.last) return;  // older than this parameter's newest reading
  update_slot(slot, static_cast<float>(s.value), now, *param != news2_parameter::consciousness);

  // Score every parameter read within the validity window.
  evaluation ev;
  ev.scale = ps.scale;
  ev.on_oxygen = ps.on_oxygen;
  news2_inputs in;
  in.scale = ps.scale;
  in.on_oxygen = ps.on_oxygen;
  for (std::size_t i = 0; i < news2_parameter_count; ++i) {
    const auto& sl = ps.slots[i];
    ev.sub[i] = news2_unscorable;
    if (sl.count == 0 || now - sl.last > settings_.validity) continue;
    const double v = sl.smoothed;
    const auto p = static_cast<news2_parameter>(i);
    switch (p) {
      case news2_parameter::pulse:
        in.pulse = v;
        ev.sub[i] = news2_pulse(v);
        break;
      case news2_parameter::spo2:
        in.spo2 = v;
        ev.sub[i] = news2_spo2(v, ps.scale, ps.on_oxygen);
        break;
      case news2_parameter::resp_rate:
        in.resp_rate = v;
        ev.sub[i] = news2_resp_rate(v);
        break;
      case news2_parameter::temperature:
        in.temperature = v;
        ev.sub[i] = news2_temperature(v);
        break;
      case news2_parameter::systolic_bp:
        in.systolic_bp = v;
        ev.sub[i] = news2_systolic_bp(v);
        break;
      case news2_parameter::consciousness:
        in.alert = v >= 0.5;
        ev.sub[i] = news2_consciousness(v >= 0.5);
        break;
    }
    // Shown as scored: rounded to the chart's resolution (half away from zero, as news2.hpp).
    ev.value[i] = p == news2_parameter::temperature ? std::round(v * 10.0) / 10.0 : std::round(v);
    ev.mask = static_cast<std::uint8_t>(ev.mask | bit_of(p));
  }
  ev.oxygen = news2_oxygen(ps.on_oxygen);
  ev.result = news2_score(in);

  // Today only pulse and SpO2 have a vital kind: report the one scoring higher (SpO2 on a tie,
  // as it comes first on the chart).
  const int pulse_sub = ev.sub[index_of(news2_parameter::pulse)];
  const int spo2_sub = ev.sub[index_of(news2_parameter::spo2)];
  if (spo2_sub != news2_unscorable && spo2_sub >= pulse_sub) {
    ev.top_kind = vital_kind::spo2;
  } else if (pulse_sub != news2_unscorable) {
    ev.top_kind = vital_kind::heart_rate;
  } else {
    ev.top_kind = s.kind;
  }

  const bool gap = ps.evaluated && now - ps.last_eval > settings_.validity;
  if (!ps.evaluated || now > ps.last_eval) ps.last_eval = now;
  ps.evaluated = true;

  for (std::size_t i = 0; i < ps.rules.size(); ++i) run_rule(i, ps, ev, s, gap, out);
}

void news2_detector::run_rule(std::size_t index, patient_state& ps, const evaluation& ev,
                              const sample& s, bool gap, std::vector<alert_event>& out) const {
  const auto& params = ps.params[index];
  if (!params.enabled) return;
  auto& st = ps.rules[index];
  const bool urgent = index == 0;
  const news2_band band = ev.result.band;
  const bool in_band = urgent ? band != news2_band::low : band == news2_band::high;
  const int total = ev.result.total;
  const timestamp now = s.device_time;

  const auto make_event = [&](alert_transition t) {
    alert_event e;
    e.patient = s.patient;
    e.device = s.device;
    e.rule = urgent ? news2_urgent_rule : news2_emergency_rule;
    e.kind = st.kind;
    e.level = params.level;
    e.source = alert_source::physiological;
    e.transition = t;
    e.value = total;
    e.threshold = st.threshold;
    e.condition_start = st.since;
    e.time = now;
    if (t == alert_transition::raised) {
      const char* what = !urgent                          ? "emergency response"
                         : band == news2_band::low_medium ? "urgent review (a single parameter 3)"
                                                          : "urgent review";
      e.message =
          fmt::format("{} for {}: {}", ev.describe(), format_duration(now - st.since), what);
    } else {
      e.message =
          fmt::format("{}: under {} for {} (peak {}): {} over", ev.describe(),
                      urgent ? "5 with no single 3" : "7", format_duration(now - st.clear_since),
                      static_cast<int>(st.peak), urgent ? "urgent review" : "emergency response");
    }
    return e;
  };

  if (st.active) {
    st.peak = static_cast<std::int8_t>(std::max<int>(st.peak, total));
    if (in_band) {
      st.clearing = false;
      return;
    }
    // Clear only on readings of every parameter the alert was raised on: a parameter that went
    // stale says nothing about recovery (the stale-data alert covers the silence).
    if ((st.raised_mask & ~ev.mask) != 0) {
      st.clearing = false;
      return;
    }
    if (!st.clearing || gap) {
      st.clearing = true;
      st.clear_since = now;
    }
    if (now - st.clear_since >= settings_.clear_duration) {
      out.push_back(make_event(alert_transition::cleared));
      st.active = false;
      st.pending = false;
      st.clearing = false;
    }
    return;
  }

  if (!in_band) {
    st.pending = false;
    return;
  }
  if (!st.pending || gap) {
    st.pending = true;
    st.since = now;
    st.peak = static_cast<std::int8_t>(total);
  } else {
    st.peak = static_cast<std::int8_t>(std::max<int>(st.peak, total));
  }
  if (now - st.since >= params.min_duration) {
    st.active = true;
    st.clearing = false;
    st.threshold = static_cast<std::int8_t>(!urgent ? 7 : total >= 5 ? 5 : 3);
    st.raised_mask = ev.mask;
    st.kind = ev.top_kind;
    out.push_back(make_event(alert_transition::raised));
  }
}

}  // namespace vitals::core
