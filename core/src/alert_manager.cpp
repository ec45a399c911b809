// The alert lifecycle: dedup by (patient, group), flapping, latching, routing, escalation,
// snoozes, inhibition and quiet hours, on an injected clock. This file: construction, restore,
// the entry points of detector events and timers, and the queries; the operations themselves
// are in alert_manager_{paging,events,timers,commands}.cpp over alert_manager_state.hpp.
#include <vitals/core/alert_manager.hpp>

#include <algorithm>
#include <stdexcept>
#include <utility>

#include "alert_manager_state.hpp"

namespace vitals::core {

void alert_manager::check(const alert_manager_settings& settings) {
  for (const auto& r : settings.routes) {
    if (r.steps.empty()) {
      throw std::invalid_argument("alert route '" + r.name + "' has no escalation steps");
    }
    for (std::size_t k = 1; k < r.steps.size(); ++k) {
      if (r.steps[k].after < r.steps[k - 1].after) {
        throw std::invalid_argument("alert route '" + r.name +
                                    "': escalation steps must not go back in time");
      }
    }
    if (r.repeat_interval.count() < 0) {
      throw std::invalid_argument("alert route '" + r.name + "': negative repeat interval");
    }
  }
  if (settings.flap_window.count() < 0) {
    throw std::invalid_argument("alert flap window must not be negative");
  }
}

alert_manager::alert_manager(alert_manager_settings settings)
    : settings_(std::move(settings)), state_(std::make_unique<impl_state>()) {
  check(settings_);
  index_groups();
}

void alert_manager::index_groups() {
  state_->group_of_rule.clear();
  for (const auto& g : settings_.groups) {
    for (const auto& rule : g.rules) state_->group_of_rule.emplace(rule, g.name);
    state_->group_of_rule.emplace(g.name, g.name);
  }
}

void alert_manager::fit_timers(alert_record& a) const {
  const auto r = std::find_if(settings_.routes.begin(), settings_.routes.end(),
                              [&a](const route& x) { return x.name == a.route; });
  if (r == settings_.routes.end()) {
    a.next_step_at.reset();
    a.next_repeat_at.reset();
    a.deferred_until.reset();
  } else {
    if (a.step + 1 >= static_cast<int>(r->steps.size())) a.next_step_at.reset();
    if (r->repeat_interval.count() <= 0) a.next_repeat_at.reset();
  }
}

void alert_manager::reconfigure(alert_manager_settings settings, timestamp now,
                                alert_changes& out) {
  check(settings);
  settings_ = std::move(settings);
  index_groups();
  impl_state::ops o(settings_, *state_, out);
  for (auto& [id, a] : state_->by_id) {
    if (!a.open()) continue;
    const route* r = o.route_of(a);
    if (r == nullptr) {
      // Its route is gone: an unacknowledged alert must not go quiet for that.
      const auto name = o.select_route(a);
      const auto was = a.route;
      a.route = name;
      a.step = -1;
      fit_timers(a);
      if (name.empty()) {
        if (!was.empty()) o.touch(a);
        continue;
      }
      const auto ev = o.emit(a, alert_action::notified, now, detail::system_actor,
                             "route '" + (was.empty() ? std::string("(none)") : was) +
                                 "' is gone after a configuration reload: now route '" + name + "'",
                             std::nullopt, a.last_value);
      if (impl_state::ops::wants_paging(a)) o.page(a, notify_action::trigger, ev, now);
      o.touch(a);
      continue;
    }
    const bool more_steps = a.step >= 0 && a.step + 1 < static_cast<int>(r->steps.size());
    if (more_steps && !a.next_step_at && impl_state::ops::wants_paging(a) && !a.deferred_until) {
      a.next_step_at = now + (r->steps[static_cast<std::size_t>(a.step) + 1].after -
                              r->steps[static_cast<std::size_t>(a.step)].after);
      o.touch(a);
    } else {
      fit_timers(a);
    }
  }
}

alert_manager::~alert_manager() = default;
alert_manager::alert_manager(alert_manager&&) noexcept = default;
alert_manager& alert_manager::operator=(alert_manager&&) noexcept = default;

void alert_manager::restore(std::vector<alert_record> open_alerts, std::vector<snooze> snoozes,
                            alert_id_state ids) {
  auto& st = *state_;
  st.alert_counter = ids.alert;
  st.event_counter = ids.event;
  st.notification_counter = ids.notification;
  for (auto& a : open_alerts) {
    if (!a.open()) continue;
    st.alert_counter = std::max(st.alert_counter, a.id);
    // The config may have changed since: timers of a route that is gone (or shorter) would be
    // due forever without tick() acting on them.
    fit_timers(a);
    auto& levels = st.member_levels[a.id];
    for (const auto& r : a.holding) levels[r] = a.level;  // per-member levels are not stored
    if (a.state == alert_state::active || a.state == alert_state::acknowledged) {
      auto& slot = st.by_key[{a.patient.str(), a.group}];
      slot = std::max(slot, a.id);  // two for one key cannot happen; keep the newest if it did
    }
    const auto id = a.id;
    st.by_id.insert_or_assign(id, std::move(a));
  }
  for (auto& sn : snoozes) {
    sn.removed = false;
    st.snoozes.insert_or_assign({sn.patient.str(), sn.group}, std::move(sn));
  }
}

void alert_manager::on_event(const alert_event& e, timestamp now, alert_changes& out) {
  try {
    impl_state::ops o(settings_, *state_, out);
    if (e.transition == alert_transition::raised) {
      o.on_raise(e, now);
    } else {
      o.on_clear(e, now);
    }
  } catch (const std::exception&) {
    // Only allocation can throw here; a lost event must not take the io thread down.
  }
}

void alert_manager::tick(timestamp now, alert_changes& out) {
  try {
    impl_state::ops(settings_, *state_, out).tick(now);
  } catch (const std::exception&) {
    // As in on_event: nothing but allocation throws.
  }
}

std::optional<timestamp> alert_manager::next_due() const {
  std::optional<timestamp> due;
  const auto take = [&due](std::optional<timestamp> t) {
    if (t && (!due || *t < *due)) due = t;
  };
  for (const auto& [key, sn] : state_->snoozes) take(sn.until);
  for (const auto& [id, a] : state_->by_id) {
    if (a.state != alert_state::latched && !a.condition_present && a.cleared_wall) {
      take(*a.cleared_wall + settings_.flap_window);
    }
    if (a.state == alert_state::acknowledged || a.inhibited) continue;
    // A snoozed alert's timers wait for the snooze, whose end is already taken; tick() would not
    // act on them, so taking them would make the caller spin.
    const auto sn = state_->snoozes.find({a.patient.str(), a.group});
    if (sn != state_->snoozes.end() && sn->second.up_to >= a.level) continue;
    if (a.deferred_until) {
      take(a.deferred_until);
      continue;
    }
    take(a.next_step_at);
    take(a.next_repeat_at);
  }
  return due;
}

const alert_record* alert_manager::find(std::uint64_t alert_id) const {
  const auto it = state_->by_id.find(alert_id);
  return it == state_->by_id.end() ? nullptr : &it->second;
}

std::vector<const alert_record*> alert_manager::open_alerts() const {
  std::vector<const alert_record*> result;
  result.reserve(state_->by_id.size());
  for (const auto& [id, a] : state_->by_id) result.push_back(&a);
  return result;
}

std::vector<snooze> alert_manager::snoozes() const {
  std::vector<snooze> result;
  result.reserve(state_->snoozes.size());
  for (const auto& [key, sn] : state_->snoozes) result.push_back(sn);
  return result;
}

std::array<std::array<std::uint64_t, 3>, 4> alert_manager::counts() const {
  std::array<std::array<std::uint64_t, 3>, 4> result{};
  for (const auto& [id, a] : state_->by_id) {
    const auto s = static_cast<std::size_t>(a.state);
    const auto p = static_cast<std::size_t>(a.level);
    if (s < result.size() && p < result[s].size()) ++result[s][p];
  }
  return result;
}

}  // namespace vitals::core
