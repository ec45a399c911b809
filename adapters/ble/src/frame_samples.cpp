#include <vitals/adapters/ble/frame_samples.hpp>

#include <array>
#include <chrono>
#include <type_traits>

namespace vitals::adapters::ble {

namespace {

using core::vital_kind;

constexpr std::array<vital_kind, 1> hr_vitals{vital_kind::heart_rate};
constexpr std::array<vital_kind, 2> plx_vitals{vital_kind::spo2, vital_kind::heart_rate};
constexpr std::array<vital_kind, 1> cgm_vitals{vital_kind::glucose};

/// Conditions that make a frame's values not physiological: the frame is condition-only.
constexpr std::uint16_t no_value_conditions =
    core::condition_sensor_off | core::condition_sensor_fault | core::condition_no_reading |
    core::condition_session_stopped;

struct status {
  std::uint16_t conditions = 0;
  std::uint16_t quality = 0;
};

status plx_status(std::optional<std::uint16_t> measurement, std::optional<std::uint32_t> device) {
  status st;
  if (measurement) {
    const auto m = *measurement;
    if ((m & (plx_ms_unavailable | plx_ms_invalid)) != 0)
      st.conditions |= core::condition_no_reading;
    if ((m & plx_ms_questionable) != 0) {
      st.conditions |= core::condition_signal_poor;
      st.quality |= core::quality_device_flagged;
    }
    if ((m & (plx_ms_early_estimate | plx_ms_calibration_ongoing | plx_ms_demonstration |
              plx_ms_testing)) != 0) {
      st.quality |= core::quality_device_flagged;
    }
  }
  if (device) {
    const auto d = *device;
    if ((d & (plx_ds_sensor_unconnected | plx_ds_sensor_displaced | plx_ds_sensor_disconnected)) !=
        0) {
      st.conditions |= core::condition_sensor_off;
    }
    if ((d & (plx_ds_equipment_malfunction | plx_ds_sensor_malfunction | plx_ds_unknown_sensor)) !=
        0) {
      st.conditions |= core::condition_sensor_fault;
    }
    if ((d & (plx_ds_signal_processing_irregularity | plx_ds_inadequate_signal |
              plx_ds_poor_signal | plx_ds_low_perfusion | plx_ds_erratic_signal |
              plx_ds_non_pulsatile | plx_ds_questionable_pulse | plx_ds_sensor_interference)) !=
        0) {
      st.conditions |= core::condition_signal_poor;
      st.quality |= core::quality_device_flagged;
    }
  }
  return st;
}

core::sample base(const frame_context& ctx, vital_kind kind, core::timestamp t) {
  core::sample s;
  s.patient = ctx.patient;
  s.device = ctx.device;
  s.kind = kind;
  s.device_time = t;
  s.receive_time = ctx.receive_time;
  return s;
}

void push_condition_only(const frame_context& ctx, std::span<const vital_kind> vitals,
                         core::timestamp t, std::uint16_t conditions,
                         std::vector<core::sample>& out, frame_outcome& r) {
  for (const auto k : vitals) {
    auto s = base(ctx, k, t);
    s.quality = core::quality_no_value;
    s.conditions = conditions;
    out.push_back(s);
    ++r.condition_only;
  }
  r.conditions |= conditions;
}

/// SpO2 and pulse rate of a PLX pair with the frame's status.
void plx_samples(const frame_context& ctx, const spo2_pr& pair, status st, core::timestamp t,
                 std::vector<core::sample>& out, frame_outcome& r) {
  if (!pair.spo2_pct.is_number() || !pair.pulse_rate_bpm.is_number()) {
    st.conditions |= core::condition_no_reading;
  }
  if ((st.conditions & no_value_conditions) != 0) {
    push_condition_only(ctx, plx_vitals, t, st.conditions, out, r);
    return;
  }
  for (const auto k : plx_vitals) {
    auto s = base(ctx, k, t);
    s.value = k == vital_kind::spo2 ? pair.spo2_pct.value : pair.pulse_rate_bpm.value;
    s.quality = st.quality;
    s.conditions = st.conditions;
    out.push_back(s);
    ++r.values;
  }
  r.conditions |= st.conditions;
}

core::timestamp frame_time(const frame_context& ctx) {
  return ctx.frame_time.value_or(ctx.receive_time);
}

std::optional<core::timestamp> utc_of(const date_time& d) {
  if (d.year == 0 || d.year > 9999 || d.month < 1 || d.month > 12 || d.day < 1 || d.day > 31 ||
      d.hours > 23 || d.minutes > 59 || d.seconds > 59) {
    return std::nullopt;
  }
  const std::chrono::year_month_day ymd{std::chrono::year{d.year}, std::chrono::month{d.month},
                                        std::chrono::day{d.day}};
  if (!ymd.ok()) return std::nullopt;
  const auto days = std::chrono::sys_days(ymd);
  return core::timestamp(std::chrono::duration_cast<std::chrono::milliseconds>(
      days.time_since_epoch() + std::chrono::hours(d.hours) + std::chrono::minutes(d.minutes) +
      std::chrono::seconds(d.seconds)));
}

void cgm_samples(const cgm_measurement& m, const frame_context& ctx, std::vector<core::sample>& out,
                 frame_outcome& r) {
  std::optional<core::timestamp> start = ctx.cgm_session_start;
  if (!start) {
    // Unknown session start: the newest record of the notification is from now.
    std::uint16_t newest = 0;
    for (const auto& c : m.view()) {
      if (c.crc_ok && c.time_offset_min > newest) newest = c.time_offset_min;
    }
    start = frame_time(ctx) - std::chrono::minutes(newest);
  }
  for (const auto& c : m.view()) {
    if (!c.crc_ok) {
      ++r.crc_failures;
      continue;
    }
    const auto t = *start + std::chrono::minutes(c.time_offset_min);
    status st;
    const auto a = c.annunciation;
    if ((a & cgm_session_stopped) != 0) st.conditions |= core::condition_session_stopped;
    if ((a & cgm_battery_low) != 0) st.conditions |= core::condition_battery_low;
    if ((a & (cgm_sensor_type_incorrect | cgm_sensor_malfunction | cgm_general_device_fault)) !=
        0) {
      st.conditions |= core::condition_sensor_fault;
    }
    if ((a & (cgm_time_sync_required | cgm_calibration_required)) != 0) {
      st.conditions |= core::condition_calibration;
      st.quality |= core::quality_device_flagged;
    }
    if ((a & (cgm_temperature_too_high | cgm_temperature_too_low)) != 0) {
      st.conditions |= core::condition_signal_poor;
      st.quality |= core::quality_device_flagged;
    }
    if ((a & cgm_below_device_range) != 0) st.quality |= core::quality_device_low;
    if ((a & cgm_above_device_range) != 0) st.quality |= core::quality_device_high;
    if (!c.glucose_mg_dl.is_number()) st.conditions |= core::condition_no_reading;
    if ((st.conditions & no_value_conditions) != 0) {
      const auto before = out.size();
      push_condition_only(ctx, cgm_vitals, t, st.conditions, out, r);
      for (auto i = before; i < out.size(); ++i) out[i].device_status = a;
      continue;
    }
    auto s = base(ctx, vital_kind::glucose, t);
    s.value = c.glucose_mg_dl.value;
    s.quality = st.quality;
    s.conditions = st.conditions;
    s.device_status = a;
    out.push_back(s);
    ++r.values;
    r.conditions |= st.conditions;
  }
}

}  // namespace

frame_outcome to_samples(const decoded_frame& frame, const frame_context& ctx,
                         std::vector<core::sample>& out) {
  frame_outcome r;
  std::visit(
      [&](const auto& f) {
        using T = std::decay_t<decltype(f)>;
        if constexpr (std::is_same_v<T, heart_rate_measurement>) {
          const auto t = frame_time(ctx);
          if (f.sensor_contact == heart_rate_measurement::contact::no_contact) {
            push_condition_only(ctx, hr_vitals, t, core::condition_sensor_off, out, r);
            return;
          }
          auto s = base(ctx, vital_kind::heart_rate, t);
          s.value = f.heart_rate_bpm;
          out.push_back(s);
          ++r.values;
        } else if constexpr (std::is_same_v<T, plx_continuous>) {
          plx_samples(ctx, f.normal, plx_status(f.measurement_status, f.device_sensor_status),
                      frame_time(ctx), out, r);
        } else if constexpr (std::is_same_v<T, plx_spot_check>) {
          std::optional<core::timestamp> t;
          if (f.timestamp && !f.device_clock_not_set) t = utc_of(*f.timestamp);
          plx_samples(ctx, f.reading, plx_status(f.measurement_status, f.device_sensor_status),
                      t.value_or(frame_time(ctx)), out, r);
        } else if constexpr (std::is_same_v<T, cgm_measurement>) {
          cgm_samples(f, ctx, out, r);
        }
      },
      frame);
  return r;
}

std::optional<core::timestamp> session_start(const cgm_session_start_time& t) noexcept {
  auto start = utc_of(t.start);
  if (!start) return std::nullopt;
  // The date time is local time: UTC = local - time zone - DST (both in 15-minute steps).
  if (t.time_zone_quarters != -128) *start -= std::chrono::minutes(15 * t.time_zone_quarters);
  if (t.dst_offset != 255) *start -= std::chrono::minutes(15 * t.dst_offset);
  return start;
}

core::sample link_state_sample(const core::short_id& patient, const core::short_id& device,
                               core::vital_kind kind, std::uint16_t link,
                               core::timestamp receive_time) noexcept {
  core::sample s;
  s.patient = patient;
  s.device = device;
  s.kind = kind;
  s.device_time = receive_time;
  s.receive_time = receive_time;
  s.quality = core::quality_no_value | core::quality_link_state;
  s.conditions = static_cast<std::uint16_t>(link & core::link_conditions);
  return s;
}

void link_state_samples(const core::short_id& patient, const core::short_id& device,
                        vital_set vitals, std::uint16_t link, core::timestamp receive_time,
                        std::vector<core::sample>& out) {
  if (vitals == 0) vitals = vital_bit(core::vital_kind::heart_rate);
  for (std::size_t k = 0; k < core::vital_kind_count; ++k) {
    const auto kind = static_cast<core::vital_kind>(k);
    if ((vitals & vital_bit(kind)) != 0)
      out.push_back(link_state_sample(patient, device, kind, link, receive_time));
  }
}

vital_set vital_bits(characteristic c) noexcept {
  vital_set bits = 0;
  for (const auto k : vitals_of(c)) bits |= vital_bit(k);
  return bits;
}

std::span<const core::vital_kind> vitals_of(characteristic c) noexcept {
  switch (c) {
    case characteristic::heart_rate_measurement:
      return hr_vitals;
    case characteristic::plx_spot_check:
    case characteristic::plx_continuous:
      return plx_vitals;
    case characteristic::cgm_measurement:
      return cgm_vitals;
    case characteristic::cgm_session_start_time:
      break;
  }
  return {};
}

}  // namespace vitals::adapters::ble
