#include <vitals/core/condition_monitor.hpp>

#include <algorithm>
#include <bit>

#include <fmt/format.h>

namespace vitals::core {

namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr std::uint16_t bit_of(std::size_t i) noexcept {
  return static_cast<std::uint16_t>(1u << i);
}

double seconds_of(milliseconds d) noexcept {
  return static_cast<double>(d.count()) / 1000.0;
}

}  // namespace

std::array<condition_rule, device_condition_count> condition_settings::default_rules() noexcept {
  return {{
      {"sensor_off", priority::medium, seconds(10), true},
      {"signal_poor", priority::low, seconds(30), true},
      {"no_reading", priority::low, seconds(0), false},
      {"sensor_fault", priority::medium, seconds(0), true},
      {"sensor_session_stopped", priority::medium, seconds(0), true},
      {"device_battery_low", priority::low, seconds(0), true},
      {"sensor_calibration", priority::low, seconds(0), true},
      {"device_disconnected", priority::medium, seconds(30), true},
      {"gateway_offline", priority::medium, seconds(30), true},
  }};
}

std::string_view condition_rule_name(device_condition c) noexcept {
  const auto v = static_cast<std::uint16_t>(c);
  if (v == 0 || !std::has_single_bit(v)) return "";
  const auto i = static_cast<std::size_t>(std::countr_zero(v));
  if (i >= device_condition_count) return "";
  return condition_settings::default_rules()[i].rule;
}

std::string_view describe(device_condition c) noexcept {
  switch (c) {
    case condition_sensor_off:
      return "the sensor is off the patient (no contact, unconnected or displaced)";
    case condition_signal_poor:
      return "the signal is poor (low perfusion, weak or erratic signal)";
    case condition_no_reading:
      return "the device cannot measure";
    case condition_sensor_fault:
      return "the device reports a sensor or equipment fault";
    case condition_session_stopped:
      return "the CGM sensor session has stopped";
    case condition_battery_low:
      return "the device battery is low";
    case condition_calibration:
      return "the sensor needs calibration or time synchronisation";
    case condition_disconnected:
      return "the device's Bluetooth connection is down";
    case condition_gateway_offline:
      return "the gateway that relays the device is offline";
    case condition_none:
      break;
  }
  return "unknown condition";
}

std::chrono::milliseconds condition_monitor::held(
    const state& st, std::size_t bit, timestamp now,
    std::optional<timestamp> device_now) const noexcept {
  auto d = now - st.since[bit];
  if (device_now && (bit_of(bit) & link_conditions) == 0)
    d = std::max(d, *device_now - st.since_device[bit]);
  return d;
}

alert_event condition_monitor::make_event(const state& st, const short_id& device, std::size_t bit,
                                          alert_transition t, timestamp when,
                                          std::chrono::milliseconds held) const {
  const auto& r = settings_.rules[bit];
  alert_event e;
  e.patient = st.patient;
  e.device = device;
  e.rule = std::string(r.rule);
  e.kind = st.kind;
  e.level = r.level;
  e.source = alert_source::technical;
  e.transition = t;
  e.value = seconds_of(held);
  e.threshold = seconds_of(r.delay);
  e.condition_start = st.since[bit];
  e.time = when;
  const auto what = describe(static_cast<device_condition>(bit_of(bit)));
  if (t == alert_transition::raised) {
    e.message = fmt::format("{} for {:.0f} s (alerts after {:.0f} s)", what, e.value, e.threshold);
  } else {
    e.message = fmt::format("ended after {:.0f} s: {}", e.value, what);
  }
  return e;
}

void condition_monitor::raise_due(state& st, const short_id& device, timestamp now,
                                  std::optional<timestamp> device_now,
                                  std::vector<alert_event>& out) {
  const std::uint16_t pending = st.holding & static_cast<std::uint16_t>(~st.alerting);
  if (pending == 0) return;
  for (std::size_t i = 0; i < device_condition_count; ++i) {
    const auto b = bit_of(i);
    if ((pending & b) == 0) continue;
    const auto& r = settings_.rules[i];
    if (!r.alerts) continue;
    const auto h = held(st, i, now, device_now);
    if (h < r.delay) continue;
    st.alerting |= b;
    out.push_back(make_event(st, device, i, alert_transition::raised, now, h));
  }
}

void condition_monitor::update(state& st, const short_id& device, std::uint16_t mask,
                               std::uint16_t now_holding, timestamp at,
                               std::optional<timestamp> device_at, std::vector<alert_event>& out) {
  now_holding &= mask;
  const std::uint16_t began = now_holding & static_cast<std::uint16_t>(~st.holding);
  const std::uint16_t ended = st.holding & mask & static_cast<std::uint16_t>(~now_holding);
  for (std::size_t i = 0; i < device_condition_count; ++i) {
    const auto b = bit_of(i);
    if ((began & b) != 0) {
      st.since[i] = at;
      st.since_device[i] = device_at.value_or(at);
    }
    if ((ended & b) != 0 && (st.alerting & b) != 0) {
      out.push_back(
          make_event(st, device, i, alert_transition::cleared, at, held(st, i, at, device_at)));
      st.alerting &= static_cast<std::uint16_t>(~b);
    }
  }
  st.holding = static_cast<std::uint16_t>((st.holding & ~mask) | now_holding);
}

void condition_monitor::observe(const sample& s, std::vector<alert_event>& out) {
  const bool link_report =
      (s.quality & quality_no_value) != 0 && (s.quality & quality_link_state) != 0;
  auto it = devices_.find(s.device);
  if (it == devices_.end()) {
    // Nothing to remember for a device that never reported a condition.
    if (s.conditions == condition_none) return;
    it = devices_.emplace(s.device, state{}).first;
  }
  auto& st = it->second;
  // A device's reports arrive in order; an older one (a backfilled record) says nothing now.
  if (!link_report && s.device_time < st.last_time) return;
  if (!link_report) st.last_time = s.device_time;
  st.patient = s.patient;
  st.kind = s.kind;
  const auto at = s.receive_time;
  std::optional<timestamp> device_at;
  if (link_report) {
    update(st, s.device, link_conditions, s.conditions, at, std::nullopt, out);
  } else {
    device_at = s.device_time;
    const auto reading_mask = static_cast<std::uint16_t>(~link_conditions);
    update(st, s.device, reading_mask, s.conditions, at, device_at, out);
    // A reading with a value, or any report of the device itself, means the link is up.
    update(st, s.device, link_conditions, condition_none, at, std::nullopt, out);
  }
  raise_due(st, s.device, at, device_at, out);
  if (st.holding == 0 && st.alerting == 0) devices_.erase(it);
}

void condition_monitor::tick(timestamp now, std::vector<alert_event>& out) {
  for (auto& [device, st] : devices_) raise_due(st, device, now, std::nullopt, out);
}

std::size_t condition_monitor::active_devices() const noexcept {
  return devices_.size();
}

std::size_t condition_monitor::state_bytes() const noexcept {
  return devices_.size() * (sizeof(short_id) + sizeof(state) + 2 * sizeof(void*)) +
         devices_.bucket_count() * sizeof(void*);
}

}  // namespace vitals::core
