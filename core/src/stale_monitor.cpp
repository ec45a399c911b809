#include <vitals/core/stale_monitor.hpp>

#include <algorithm>

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

void stale_monitor::end_forgotten(const key& k, const state& st, timestamp now,
                                  std::vector<alert_event>& out) const {
  for (const bool urgent : {true, false}) {
    if (!(urgent ? st.urgent_active : st.warning_active)) continue;
    auto e = make_event(k, st, urgent, alert_transition::cleared, now);
    e.message = fmt::format(
        "{} no longer watched: its device or patient was removed from the configuration",
        to_string(k.kind));
    out.push_back(std::move(e));
  }
}

void stale_monitor::on_fresh(const sample& s, std::vector<alert_event>& out) {
  auto& st = streams_[key{s.device, s.kind}];
  st.patient = s.patient;
  st.source = s.source;
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
  st.grouped = false;
  if (s.receive_time > st.last_fresh) st.last_fresh = s.receive_time;
  if (source_silent_[s.source]) {
    // The source speaks again: its alert clears, and its other silent streams count afresh.
    source_silent_[s.source] = false;
    std::size_t grouped = 0;
    for (auto& [k, other] : streams_) {
      if (other.source != s.source || !other.grouped) continue;
      other.grouped = false;
      other.last_fresh = std::max(other.last_fresh, s.receive_time);
      ++grouped;
    }
    out.push_back(source_event(s.source, grouped, alert_transition::cleared, s.receive_time));
  }
}

void stale_monitor::tick(timestamp now, std::vector<alert_event>& out) {
  const auto storm = settings_.storm_streams;
  if (storm != 0 && newly_silent_.size() < source_silent_.size()) {
    newly_silent_.resize(source_silent_.size());
  }
  for (auto& [k, st] : streams_) {
    if (st.grouped) continue;
    const auto& lim = settings_.limits[static_cast<std::size_t>(k.kind)];
    const auto silent = now - st.last_fresh;
    if (!st.warning_active && lim.warning.count() > 0 && silent > lim.warning) {
      if (storm != 0) {
        // Decided below, once it is known how many of its source went silent with it (within
        // the storm window: a storm's streams cross their limits over a reading interval).
        newly_silent_[st.source].emplace_back(&k, &st);
        continue;
      }
      st.warning_active = true;
      out.push_back(make_event(k, st, false, alert_transition::raised, now));
    }
    if (!st.urgent_active && lim.urgent.count() > 0 && silent > lim.urgent) {
      st.urgent_active = true;
      out.push_back(make_event(k, st, true, alert_transition::raised, now));
    }
  }
  if (storm == 0) return;
  for (std::size_t source = 0; source < newly_silent_.size(); ++source) {
    auto& silent = newly_silent_[source];
    if (silent.empty()) continue;
    const auto src = static_cast<std::uint8_t>(source);
    if (source_silent_[src] || silent.size() >= storm) {
      for (auto& [k, st] : silent) st->grouped = true;
      if (!source_silent_[src]) {
        source_silent_[src] = true;
        out.push_back(source_event(src, silent.size(), alert_transition::raised, now));
      }
    } else {
      for (auto& [k, st] : silent) {
        // Past its limit by less than the window: others of its source may follow; the next
        // ticks decide.
        const auto& lim = settings_.limits[static_cast<std::size_t>(k->kind)];
        if (now - st->last_fresh - lim.warning < settings_.storm_window) continue;
        st->warning_active = true;
        out.push_back(make_event(*k, *st, false, alert_transition::raised, now));
        // Silent past both limits at once (e.g. restored streams): the urgent one as well.
        if (!st->urgent_active && lim.urgent.count() > 0 && now - st->last_fresh > lim.urgent) {
          st->urgent_active = true;
          out.push_back(make_event(*k, *st, true, alert_transition::raised, now));
        }
      }
    }
    silent.clear();
  }
}

alert_event stale_monitor::source_event(std::uint8_t source, std::size_t streams,
                                        alert_transition t, timestamp when) const {
  alert_event e;
  e.patient = short_id::truncate("vitalsd");
  e.device = short_id::truncate(source_name(source));
  e.rule = "source_silent";
  e.level = priority::high;
  e.source = alert_source::technical;
  e.transition = t;
  e.value = static_cast<double>(streams);
  e.threshold = static_cast<double>(settings_.storm_streams);
  e.condition_start = when;
  e.time = when;
  e.message = t == alert_transition::raised
                  ? fmt::format(
                        "{} device streams of source '{}' went silent together: the broker, a "
                        "gateway or the network, not the patients",
                        streams, source_name(source))
                  : fmt::format("source '{}' sends again", source_name(source));
  return e;
}

std::string stale_monitor::source_name(std::uint8_t source) const {
  if (source == restored_source) return "restored streams";
  return source < source_names_.size() ? source_names_[source] : "source " + std::to_string(source);
}

std::size_t stale_monitor::state_bytes() const noexcept {
  // One hash node per stream (key, state, next pointer, cached hash) plus one bucket pointer.
  return streams_.size() * (sizeof(key) + sizeof(state) + 2 * sizeof(void*)) +
         streams_.bucket_count() * sizeof(void*);
}

}  // namespace vitals::core
