#include <vitals/daemon/alert_service.hpp>

#include <boost/asio/post.hpp>
#include <chrono>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>

#include "alert_service_impl.hpp"

namespace vitals::daemon {

namespace asio = boost::asio;
namespace notify = adapters::notify;
using namespace std::chrono_literals;

namespace {

/// The patient id of alerts about vitalsd itself (store_failing).
const core::short_id system_patient = core::short_id::truncate(core::vitalsd_patient);

/// How often the lifecycle timers (flap windows, escalation, snoozes) are checked at most.
constexpr auto tick_interval = 1s;

/// Logs what changed, without patient data above debug.
void log_changes(const core::alert_changes& c) {
  for (const auto& e : c.events) {
    if (e.action == core::alert_action::raised || e.action == core::alert_action::resolved ||
        e.action == core::alert_action::acknowledged || e.action == core::alert_action::escalated ||
        e.action == core::alert_action::snoozed || e.action == core::alert_action::latched) {
      spdlog::info("alert {}: {} by {} ({} priority, {})", e.alert_id, to_string(e.action), e.actor,
                   to_string(e.level), to_string(e.state));
    } else {
      spdlog::debug("alert {}: {} by {}: {}", e.alert_id, to_string(e.action), e.actor, e.reason);
    }
  }
  if (!c.notifications.empty()) {
    spdlog::debug("{} notification(s) queued in the outbox", c.notifications.size());
  }
}

/// Whether a receiver or the command topic needs the MQTT alert channel.
bool needs_channel(const config::settings& s, const core::plugin_registry& plugins) {
  if (!s.alerts.command_topic.empty()) return true;
  for (const auto& r : s.receivers) {
    const auto* d = plugins.notifier(r.type);
    if (d && d->uses_message_channel) return true;
  }
  return false;
}

/// The configured receivers, each built by its notifier plugin.
std::vector<notify::receiver> make_receivers(asio::io_context& io, const config::settings& s,
                                             const core::plugin_registry& plugins,
                                             core::message_publisher* channel) {
  std::vector<notify::receiver> out;
  for (const auto& r : s.receivers) {
    const auto* d = plugins.notifier(r.type);
    if (!d) throw std::invalid_argument("receiver " + r.name + ": unknown type '" + r.type + "'");
    core::notifier_context ctx{r.name, io, channel, s.sections};
    notify::receiver rc;
    rc.name = r.name;
    rc.type = r.type;
    try {
      rc.notifier = d->create(r.options, ctx);
    } catch (const std::exception& e) {
      throw std::runtime_error("receiver " + r.name + ": " + e.what());
    }
    rc.delivery = notify::delivery_from(r.options);
    out.push_back(std::move(rc));
  }
  return out;
}

}  // namespace

alert_service::impl::impl(asio::io_context& io_, const config::settings& s,
                          const core::plugin_registry& plugins, core::alert_store& st,
                          history_factory history)
    : io(io_),
      settings(s),
      store(st),
      open_history(std::move(history)),
      manager(s.alerts.lifecycle),
      timer(io_) {
  if (needs_channel(s, plugins)) {
    notify::mqtt_channel_options o;
    o.broker = adapters::common::broker_from(
        s.sections.at(std::string(adapters::common::broker_section_name)));
    o.client_id = s.alerts.client_id;
    o.command_topic = s.alerts.command_topic;
    channel = std::make_unique<notify::mqtt_channel>(std::move(o));
  }
  dispatcher = std::make_unique<notify::dispatcher>(
      io, make_receivers(io, s, plugins, channel.get()), callbacks());
}

notify::dispatcher_callbacks alert_service::impl::callbacks() {
  notify::dispatcher_callbacks cb;
  cb.delivered = [this](std::uint64_t id, core::timestamp at) { store.mark_delivered(id, at); };
  cb.failed = [this](std::uint64_t id, int attempts, std::string error, bool final) {
    store.mark_failed(id, attempts, std::move(error), final);
  };
  return cb;
}

void alert_service::impl::persist(core::alert_changes&& changes, std::function<void(bool)> done) {
  if (changes.empty()) {
    if (done) asio::post(io, [done] { done(true); });
    return;
  }
  log_changes(changes);
  // Notifications normally wait for their commit (the outbox makes delivery survive a crash).
  // While the store fails that commit may never come: then they go out now, from memory.
  std::uint64_t ticket = 0;
  if (!changes.notifications.empty()) {
    if (store_failing) {
      if (!stopped) dispatcher->submit(changes.notifications);
    } else {
      ticket = ++next_ticket;
      awaiting_commit.emplace(ticket, changes.notifications);
    }
  }
  // The writer thread runs this after COMMIT; it only posts (io and this outlive the store's
  // writer: the app stops the store before destroying either).
  store.apply(std::move(changes), [this, done, ticket](bool ok, std::vector<core::notification>) {
    asio::post(io, [this, ok, done, ticket] {
      if (ticket != 0) {
        auto it = awaiting_commit.find(ticket);
        if (it != awaiting_commit.end()) {
          if (!stopped && ok) dispatcher->submit(std::move(it->second));
          awaiting_commit.erase(it);
        }
      }
      if (done) done(ok);
    });
  });
}

void alert_service::impl::drain() {
  std::vector<core::alert_event> batch;
  {
    std::lock_guard lock(events_mutex);
    batch.swap(events);
    drain_posted = false;
  }
  if (batch.empty()) return;
  core::alert_changes changes;
  const auto t = now();
  for (const auto& e : batch) manager.on_event(e, t, changes);
  persist(std::move(changes));
}

void alert_service::impl::schedule_tick() {
  timer.expires_after(tick_interval);
  timer.async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopped) return;
    core::alert_changes changes;
    manager.tick(now(), changes);
    persist(std::move(changes));
    schedule_tick();
  });
}

alert_service::alert_service(asio::io_context& io, const config::settings& settings,
                             const core::plugin_registry& plugins, core::alert_store& store,
                             history_factory history)
    : impl_(std::make_unique<impl>(io, settings, plugins, store, std::move(history))) {}

alert_service::~alert_service() = default;

void alert_service::load() {
  auto& d = *impl_;
  auto snap = d.store.load_alert_state();
  const auto open = snap.open.size();
  const auto snoozes = snap.snoozes.size();
  d.pending_at_start = std::move(snap.pending);
  d.manager.restore(std::move(snap.open), std::move(snap.snoozes), snap.ids);
  if (open + snoozes + d.pending_at_start.size() != 0) {
    spdlog::info("alerts: {} open alert(s), {} snooze(s) and {} unsent notification(s) restored",
                 open, snoozes, d.pending_at_start.size());
  }
}

std::vector<core::alert_event> alert_service::restored_conditions() const {
  const auto& d = *impl_;
  std::vector<core::alert_event> out;
  for (const auto* a : d.manager.open_alerts()) {
    if (!a->condition_present || a->patient == system_patient) continue;
    std::vector<std::string> rules = a->holding;
    if (rules.empty()) rules.push_back(a->current_rule.empty() ? a->rule : a->current_rule);
    for (auto& rule : rules) {
      core::alert_event e;
      e.patient = a->patient;
      e.device = a->device;
      e.rule = std::move(rule);
      e.kind = a->kind;
      e.level = a->level;
      e.source = a->source;
      e.transition = core::alert_transition::raised;
      e.value = a->last_value;
      e.threshold = a->threshold;
      e.condition_start = a->condition_start;
      e.time = a->raised_at;
      out.push_back(std::move(e));
    }
  }
  return out;
}

void alert_service::start() {
  auto& d = *impl_;
  // Conditions about vitalsd itself from the last run end with it: the store opened and
  // migrated (store_failing), and the stale-data watch starts again (a source still silent
  // raises source_silent anew within its limit).
  std::vector<core::alert_event> ended;
  for (const auto* a : d.manager.open_alerts()) {
    if (a->patient != system_patient || !a->condition_present) continue;
    core::alert_event e;
    e.patient = system_patient;
    e.device = a->device;
    e.rule = a->rule;
    e.level = a->level;
    e.source = a->source;
    e.transition = core::alert_transition::cleared;
    e.time = d.now();
    e.message = "vitalsd restarted";
    ended.push_back(std::move(e));
  }
  if (!ended.empty()) {
    core::alert_changes changes;
    for (const auto& e : ended) d.manager.on_event(e, e.time, changes);
    d.persist(std::move(changes));
  }
  d.history = d.open_history();
  if (d.channel) {
    d.channel->on_command([&d](const std::string&, const std::string& payload) {
      asio::post(d.io, [&d, payload] {
        if (!d.stopped) d.handle_mqtt_command(payload);
      });
    });
    d.channel->start();
  }
  if (!d.pending_at_start.empty()) d.dispatcher->submit(std::move(d.pending_at_start));
  d.pending_at_start.clear();
  // Timers that fell due while the daemon was down run now.
  core::alert_changes changes;
  d.manager.tick(d.now(), changes);
  d.persist(std::move(changes));
  d.schedule_tick();
  if (d.settings.receivers.empty()) {
    spdlog::info(
        "alerts: no [[receivers]] configured: alerts are stored and served by the API, "
        "nobody is paged");
  } else if (d.settings.alerts.lifecycle.routes.empty()) {
    spdlog::warn("alerts: {} receiver(s) but no [[routes]]: nobody is paged",
                 d.settings.receivers.size());
  }
}

void alert_service::on_detector_event(const core::alert_event& e) {
  auto& d = *impl_;
  std::lock_guard lock(d.events_mutex);
  d.events.push_back(e);
  if (!d.drain_posted) {
    d.drain_posted = true;
    asio::post(d.io, [&d] { d.drain(); });
  }
}

void alert_service::reconfigure(const core::alert_manager_settings& lifecycle) {
  core::alert_changes changes;
  impl_->manager.reconfigure(lifecycle, impl::now(), changes);
  impl_->persist(std::move(changes));  // re-routed alerts and their pages; timers tick every 1 s
}

std::vector<notify::receiver> alert_service::build_receivers(const config::settings& next,
                                                             const core::plugin_registry& plugins) {
  if (!impl_->channel && needs_channel(next, plugins)) {
    throw std::invalid_argument(
        "a receiver of a message type (mqtt) needs the MQTT alert channel, which vitalsd starts "
        "only at start-up when one is configured: restart vitalsd to add it");
  }
  return make_receivers(impl_->io, next, plugins, impl_->channel.get());
}

void alert_service::replace_receivers(std::vector<notify::receiver> receivers) {
  auto& d = *impl_;
  if (d.stopped) return;
  d.dispatcher->stop();
  auto pending = d.dispatcher->take_pending();
  d.dispatcher = std::make_unique<notify::dispatcher>(d.io, std::move(receivers), d.callbacks());
  d.dispatcher->submit(std::move(pending));
}

void alert_service::on_store_health(bool failing, const std::string& cause) {
  auto& d = *impl_;
  if (d.stopped || failing == d.store_failing) return;
  d.store_failing = failing;
  if (failing) {
    // Whatever waits for a commit now may wait for good: out it goes, from memory.
    for (auto& [ticket, n] : d.awaiting_commit) d.dispatcher->submit(std::move(n));
    d.awaiting_commit.clear();
  }
  core::alert_event e;
  e.patient = system_patient;
  e.device = core::short_id::truncate("store");
  e.rule = "store_failing";
  e.level = core::priority::high;
  e.source = core::alert_source::technical;
  e.transition = failing ? core::alert_transition::raised : core::alert_transition::cleared;
  e.time = d.now();
  e.condition_start = e.time;
  e.message = failing ? "vitalsd cannot commit to its database (" + cause +
                            "); readings are held back at their source until it can"
                      : "vitalsd commits to its database again (" + cause + ")";
  core::alert_changes changes;
  d.manager.on_event(e, e.time, changes);
  d.persist(std::move(changes));
}

void alert_service::stop() {
  auto& d = *impl_;
  if (d.stopped) return;
  d.drain();
  core::alert_changes changes;
  d.manager.tick(d.now(), changes);
  d.persist(std::move(changes));
  d.stopped = true;
  d.timer.cancel();
  d.dispatcher->stop();
  if (d.channel) d.channel->stop();
}

alert_figures alert_service::figures() const {
  const auto& d = *impl_;
  alert_figures f;
  f.open = d.manager.counts();
  f.open_total = d.manager.open_alerts().size();
  f.commands_ok = d.commands_ok;
  f.commands_refused = d.commands_refused;
  f.mqtt_commands_invalid = d.mqtt_commands_invalid;
  f.notifications_pending = d.dispatcher->pending();
  f.receivers = d.dispatcher->metrics();
  return f;
}

}  // namespace vitals::daemon
