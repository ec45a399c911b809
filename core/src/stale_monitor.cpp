#include <vitals/core/stale_monitor.hpp>

#include <fmt/format.h>

namespace vitals::core {

namespace {

double minutes_of(std::chrono::milliseconds d) noexcept {
  return static_cast<double>(d.count()) / 60000.0;
}

}  // namespace

alert_event stale_monitor::make_event(const key& k, const state& st, bool urgent,
                                      alert_transition t, timestamp when) const {
  const auto& lim = settings_.limits[static_cast<std::size_t>(k.kind)];
  alert_event e;
  e.patient = st.patient;
  e.device = k.device;
  e.rule = fmt::format("{}_stale{}", to_string(k.kind), urgent ? "_urgent" : "");
  e.kind = k.kind;
  e.level = urgent ? priority::high : priority::medium;
  e.source = alert_source::technical;
  e.transition = t;
  const auto silent = when - st.last_fresh;
  e.value = minutes_of(silent);
  e.threshold = minutes_of(urgent ? lim.urgent : lim.warning);
  e.condition_start = st.last_fresh;
  e.time = when;
  if (t == alert_transition::raised) {
    e.message = fmt::format("no {} reading from the device for {:.1f} min (limit {:.1f} min)",
                            to_string(k.kind), e.value, e.threshold);
  } else {
    e.message =
        fmt::format("{} readings back after {:.1f} min of silence", to_string(k.kind), e.value);
  }
  return e;
}

void stale_monitor::on_fresh(const sample& s, std::vector<alert_event>& out) {
  auto& st = streams_[key{s.device, s.kind}];
  st.patient = s.patient;
  if (st.urgent_active) {
    out.push_back(
        make_event(key{s.device, s.kind}, st, true, alert_transition::cleared, s.receive_time));
    st.urgent_active = false;
  }
  if (st.warning_active) {
    out.push_back(
        make_event(key{s.device, s.kind}, st, false, alert_transition::cleared, s.receive_time));
    st.warning_active = false;
  }
  if (s.receive_time > st.last_fresh) st.last_fresh = s.receive_time;
}

void stale_monitor::tick(timestamp now, std::vector<alert_event>& out) {
  for (auto& [k, st] : streams_) {
    const auto& lim = settings_.limits[static_cast<std::size_t>(k.kind)];
    const auto silent = now - st.last_fresh;
    if (!st.warning_active && lim.warning.count() > 0 && silent > lim.warning) {
      st.warning_active = true;
      out.push_back(make_event(k, st, false, alert_transition::raised, now));
    }
    if (!st.urgent_active && lim.urgent.count() > 0 && silent > lim.urgent) {
      st.urgent_active = true;
      out.push_back(make_event(k, st, true, alert_transition::raised, now));
    }
  }
}

std::size_t stale_monitor::state_bytes() const noexcept {
  // One hash node per stream (key, state, next pointer, cached hash) plus one bucket pointer.
  return streams_.size() * (sizeof(key) + sizeof(state) + 2 * sizeof(void*)) +
         streams_.bucket_count() * sizeof(void*);
}

}  // namespace vitals::core
