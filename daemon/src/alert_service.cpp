#include <vitals/daemon/alert_service.hpp>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include <vitals/adapters/notify/dispatcher.hpp>
#include <vitals/adapters/notify/mqtt_channel.hpp>
#include <vitals/adapters/notify/receiver.hpp>
#include <vitals/adapters/sqlite/alert_reader.hpp>
#include <vitals/core/alert_manager.hpp>

namespace vitals::daemon {

namespace asio = boost::asio;
namespace notify = adapters::notify;
using json = nlohmann::json;
using namespace std::chrono_literals;

namespace {

/// How often the lifecycle timers (flap windows, escalation, snoozes) are checked at most.
constexpr auto tick_interval = 1s;

std::chrono::milliseconds ms(double seconds) {
  return std::chrono::milliseconds(static_cast<std::int64_t>(seconds * 1000.0));
}

std::vector<notify::receiver_settings> receivers_from(const config::settings& s) {
  std::vector<notify::receiver_settings> out;
  for (const auto& r : s.receivers) {
    notify::receiver_settings n;
    n.name = r.name;
    n.kind = notify::parse_receiver_kind(r.type).value_or(notify::receiver_kind::webhook);
    n.url = r.url;
    n.secret = r.secret;
    n.topic = r.topic;
    n.external_url = r.external_url;
    n.ca_file = r.ca_file;
    n.verify_tls = r.verify_tls;
    n.timeout = ms(r.timeout_s);
    n.backoff_min = ms(r.backoff_min_s);
    n.backoff_max = ms(r.backoff_max_s);
    n.max_attempts = r.max_attempts;
    n.rate_per_minute = r.rate_per_min;
    n.burst = r.burst;
    out.push_back(std::move(n));
  }
  return out;
}

bool needs_channel(const config::settings& s) {
  if (!s.alerts.command_topic.empty()) return true;
  for (const auto& r : s.receivers) {
    if (r.type == "mqtt") return true;
  }
  return false;
}

api_response json_response(unsigned status, std::string body) {
  api_response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

json snooze_json(const core::snooze& z) {
  return json{{"patient", std::string(z.patient.view())},
              {"rule", z.group},
              {"until", notify::format_utc(z.until)},
              {"up_to", std::string(core::to_string(z.up_to))},
              {"by", z.by},
              {"reason", z.reason},
              {"created", notify::format_utc(z.created)}};
}

/// Prometheus text exposition format 0.0.4.
class prometheus_text {
 public:
  void family(std::string_view name, std::string_view type, std::string_view help) {
    out_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  }
  template <class V>
  void sample(std::string_view name, V value, std::string_view labels = {}) {
    if (labels.empty()) {
      out_ += fmt::format("{} {}\n", name, value);
    } else {
      out_ += fmt::format("{}{{{}}} {}\n", name, labels, value);
    }
  }
  template <class V>
  void single(std::string_view name, std::string_view type, std::string_view help, V value) {
    family(name, type, help);
    sample(name, value);
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

/// A label value with Prometheus escaping (receiver names come from the config).
std::string label(std::string_view v) {
  std::string out;
  for (const char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

}  // namespace

struct alert_service::impl {
  impl(asio::io_context& io_, const config::settings& s, adapters::sqlite::sqlite_store& st,
       core::stats& c, std::function<std::size_t()> depth, std::function<bool()> connected,
       std::function<bool()> ble_connected)
      : io(io_),
        settings(s),
        store(st),
        counters(c),
        ring_depth(std::move(depth)),
        mqtt_connected(std::move(connected)),
        ble_gateway_connected(std::move(ble_connected)),
        manager(s.alerts.lifecycle),
        timer(io_) {
    if (needs_channel(s)) {
      notify::mqtt_channel_options o;
      o.server_uri = s.mqtt.broker;
      o.client_id = s.alerts.client_id;
      o.username = s.mqtt.username;
      o.password = s.mqtt.password;
      o.keep_alive = std::chrono::seconds(s.mqtt.keep_alive_s);
      o.reconnect_min = std::chrono::seconds(s.mqtt.reconnect_min_s);
      o.reconnect_max = std::chrono::seconds(s.mqtt.reconnect_max_s);
      o.command_topic = s.alerts.command_topic;
      channel = std::make_unique<notify::mqtt_channel>(std::move(o));
    }
    notify::dispatcher_callbacks cb;
    cb.delivered = [this](std::uint64_t id, core::timestamp at) { store.mark_delivered(id, at); };
    cb.failed = [this](std::uint64_t id, int attempts, std::string error, bool final) {
      store.mark_failed(id, attempts, std::move(error), final);
    };
    dispatcher =
        std::make_unique<notify::dispatcher>(io, receivers_from(s), std::move(cb), channel.get());
  }

  asio::io_context& io;
  const config::settings& settings;
  adapters::sqlite::sqlite_store& store;
  core::stats& counters;
  std::function<std::size_t()> ring_depth;
  std::function<bool()> mqtt_connected;
  std::function<bool()> ble_gateway_connected;  ///< empty: no BLE gateway source
  core::alert_manager manager;
  asio::steady_timer timer;
  std::unique_ptr<notify::mqtt_channel> channel;
  std::unique_ptr<notify::dispatcher> dispatcher;
  std::unique_ptr<adapters::sqlite::alert_reader> reader;
  std::vector<core::notification> pending_at_start;
  bool stopped = false;

  // Detector events from the pipeline thread.
  std::mutex events_mutex;
  std::vector<core::alert_event> events;
  bool drain_posted = false;

  // Operator commands (HTTP and MQTT).
  std::uint64_t commands_ok = 0;
  std::uint64_t commands_refused = 0;
  std::uint64_t mqtt_commands_invalid = 0;

  static core::timestamp now() { return core::now_ms(); }

  /// Logs what changed, without patient data above debug.
  static void log_changes(const core::alert_changes& c) {
    for (const auto& e : c.events) {
      if (e.action == core::alert_action::raised || e.action == core::alert_action::resolved ||
          e.action == core::alert_action::acknowledged ||
          e.action == core::alert_action::escalated || e.action == core::alert_action::snoozed ||
          e.action == core::alert_action::latched) {
        spdlog::info("alert {}: {} by {} ({} priority, {})", e.alert_id, to_string(e.action),
                     e.actor, to_string(e.level), to_string(e.state));
      } else {
        spdlog::debug("alert {}: {} by {}: {}", e.alert_id, to_string(e.action), e.actor, e.reason);
      }
    }
    if (!c.notifications.empty()) {
      spdlog::debug("{} notification(s) queued in the outbox", c.notifications.size());
    }
  }

  /// Commits the manager's changes; notifications reach the dispatcher only once committed.
  /// `done` runs on the io thread after the commit (ok) or when the store gave up (not ok).
  void persist(core::alert_changes&& changes, std::function<void(bool)> done = {}) {
    if (changes.empty()) {
      if (done) asio::post(io, [done] { done(true); });
      return;
    }
    log_changes(changes);
    // The writer thread runs this after COMMIT; it only posts (io and this outlive the store's
    // writer: the app stops the store before destroying either).
    store.apply(std::move(changes),
                [this, done](bool ok, std::vector<core::notification> committed) {
                  asio::post(io, [this, ok, done, n = std::move(committed)]() mutable {
                    if (!stopped && ok && !n.empty()) dispatcher->submit(std::move(n));
                    if (done) done(ok);
                  });
                });
  }

  void drain() {
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

  void schedule_tick() {
    timer.expires_after(tick_interval);
    timer.async_wait([this](const boost::system::error_code& ec) {
      if (ec || stopped) return;
      core::alert_changes changes;
      manager.tick(now(), changes);
      persist(std::move(changes));
      schedule_tick();
    });
  }

  /// The stored alert with its audit trail, or a 404.
  api_response alert_with_events(std::uint64_t id) {
    const auto a = reader->get(id);
    if (!a) return json_error(404, fmt::format("no alert {}", id));
    std::string body = "{\"alert\":" + notify::alert_json(*a) + ",\"events\":[";
    bool first = true;
    for (const auto& e : reader->events(id)) {
      if (!first) body += ',';
      first = false;
      body += notify::lifecycle_event_json(e);
    }
    body += "]}";
    return json_response(200, std::move(body));
  }

  /// A refused command on an alert the manager does not hold: unknown, or resolved already.
  api_response not_open(std::uint64_t id, std::string_view verb) {
    const auto a = reader->get(id);
    if (!a) return json_error(404, fmt::format("no alert {}", id));
    return json_error(409, fmt::format("alert {} is resolved; there is nothing to {}", id, verb));
  }

  void handle_mqtt_command(const std::string& payload) {
    std::string error;
    const auto cmd = notify::parse_ack_command(payload, error);
    if (!cmd) {
      ++mqtt_commands_invalid;
      spdlog::warn("MQTT alert command refused: {}", error);
      return;
    }
    alert_command c;
    c.what =
        cmd->action == "resolve" ? alert_command::kind::resolve : alert_command::kind::acknowledge;
    c.alert_id = cmd->alert_id;
    c.who.by = "mqtt/" + cmd->by;
    c.who.reason = cmd->reason;
    run_command(c, [id = cmd->alert_id, action = cmd->action](api_response r) {
      if (r.status == 200) {
        spdlog::info("MQTT alert command: {} alert {} done", action, id);
      } else {
        spdlog::warn("MQTT alert command: {} alert {} refused ({}): {}", action, id, r.status,
                     r.body);
      }
    });
  }

  void run_command(const alert_command& c, std::function<void(api_response)> done) {
    if (stopped) {
      done(json_error(503, "vitalsd is stopping"));
      return;
    }
    core::alert_changes changes;
    core::command_result r;
    const auto t = now();
    std::string_view verb;
    switch (c.what) {
      case alert_command::kind::acknowledge:
        verb = "acknowledge";
        r = manager.acknowledge(c.alert_id, c.who, t, changes);
        break;
      case alert_command::kind::resolve:
        verb = "resolve";
        r = manager.resolve(c.alert_id, c.who, t, changes);
        break;
      case alert_command::kind::snooze_alert:
        verb = "snooze";
        r = manager.snooze_alert(c.alert_id, c.length, c.who, t, changes);
        break;
      case alert_command::kind::snooze_rule:
      case alert_command::kind::unsnooze: {
        const auto patient = core::short_id::make(c.patient);
        if (!patient || c.patient.empty()) {
          done(json_error(
              400, fmt::format("'patient' must be 1 to {} bytes", core::short_id::max_size)));
          return;
        }
        if (c.what == alert_command::kind::unsnooze) {
          r = manager.unsnooze(*patient, c.rule, c.who, t, changes);
          break;
        }
        auto up_to = core::priority::medium;
        if (!c.up_to.empty()) {
          const auto p = core::parse_priority(c.up_to);
          if (!p) {
            done(json_error(400, "'up_to' must be \"low\", \"medium\" or \"high\""));
            return;
          }
          up_to = *p;
        }
        r = manager.snooze_rule(*patient, c.rule, c.length, up_to, c.who, t, changes);
        break;
      }
    }
    if (!r.ok()) {
      ++commands_refused;
      const bool about_alert = c.what == alert_command::kind::acknowledge ||
                               c.what == alert_command::kind::resolve ||
                               c.what == alert_command::kind::snooze_alert;
      if (r.code == core::command_result::status::not_found && about_alert) {
        done(not_open(c.alert_id, verb));
      } else {
        done(json_error(http_status(r.code), r.message));
      }
      return;
    }
    ++commands_ok;
    // Answer only once the change is durable: an acknowledgement the database lost would
    // re-page someone who already answered.
    const bool about_alert =
        c.what != alert_command::kind::snooze_rule && c.what != alert_command::kind::unsnooze;
    const auto id = c.alert_id;
    persist(std::move(changes), [this, done, about_alert, id](bool ok) {
      if (!ok) {
        done(json_error(503, "the change could not be stored; try again"));
      } else if (about_alert) {
        done(alert_with_events(id));
      } else {
        json out = json::array();
        for (const auto& z : manager.snoozes()) out.push_back(snooze_json(z));
        done(json_response(200, json{{"snoozes", out}}.dump()));
      }
    });
  }
};

alert_service::alert_service(asio::io_context& io, const config::settings& settings,
                             adapters::sqlite::sqlite_store& store, core::stats& counters,
                             std::function<std::size_t()> ring_depth,
                             std::function<bool()> mqtt_connected,
                             std::function<bool()> ble_gateway_connected)
    : impl_(std::make_unique<impl>(io, settings, store, counters, std::move(ring_depth),
                                   std::move(mqtt_connected), std::move(ble_gateway_connected))) {}

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

void alert_service::start() {
  auto& d = *impl_;
  d.reader = std::make_unique<adapters::sqlite::alert_reader>(d.settings.store.path);
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

api_response alert_service::health() {
  auto& d = *impl_;
  const bool mqtt = d.mqtt_connected();
  const bool ble = !d.ble_gateway_connected || d.ble_gateway_connected();
  json j{{"status", mqtt && ble ? "ok" : "degraded"},
         {"mqtt", mqtt ? "connected" : "disconnected"},
         {"store_queued_rows", d.store.queued_rows()},
         {"ring_depth", d.ring_depth()},
         {"alerts_open", d.manager.open_alerts().size()},
         {"notifications_pending", d.dispatcher->pending()}};
  if (d.ble_gateway_connected) j["ble_gateway"] = ble ? "connected" : "disconnected";
  return json_response(mqtt && ble ? 200 : 503, j.dump());
}

api_response alert_service::metrics() {
  auto& d = *impl_;
  const auto& c = d.counters;
  prometheus_text m;
  m.single("vitalsd_messages_received_total", "counter", "Messages seen by the sources.",
           c.messages_received.load());
  m.single("vitalsd_samples_accepted_total", "counter", "Samples that passed validation.",
           c.samples_accepted.load());
  m.family("vitalsd_samples_rejected_total", "counter", "Samples or messages rejected, by reason.");
  for (std::size_t i = 0; i < core::reject_reason_count; ++i) {
    const auto r = static_cast<core::reject_reason>(i);
    m.sample("vitalsd_samples_rejected_total", c.rejects(r),
             fmt::format("reason=\"{}\"", to_string(r)));
  }
  m.single("vitalsd_samples_duplicate_total", "counter", "Exact repeats ignored.",
           c.samples_duplicate.load());
  m.single("vitalsd_samples_late_total", "counter", "Late or backfilled samples, stored only.",
           c.samples_late.load());
  m.single("vitalsd_samples_artifact_total", "counter", "Impossible jumps, stored only.",
           c.samples_artifact.load());
  m.single("vitalsd_condition_reports_total", "counter",
           "Condition-only reports from devices (probe off, no reading, link state), never stored.",
           c.condition_reports.load());
  m.single("vitalsd_samples_stored_total", "counter", "Sample rows committed.",
           c.samples_stored.load());
  m.single("vitalsd_ring_depth", "gauge", "Samples waiting in the ring.", d.ring_depth());
  m.single("vitalsd_ring_full_waits_total", "counter", "Times a producer waited for ring space.",
           c.ring_full_waits.load());
  m.single("vitalsd_ring_drops_total", "counter", "Samples dropped after the bounded wait.",
           c.ring_drops.load());
  m.family("vitalsd_detector_events_total", "counter", "Conditions raised and cleared.");
  m.sample("vitalsd_detector_events_total", c.alerts_raised.load(), "transition=\"raised\"");
  m.sample("vitalsd_detector_events_total", c.alerts_cleared.load(), "transition=\"cleared\"");
  m.family("vitalsd_alerts", "gauge", "Open alerts by state and priority.");
  const auto counts = d.manager.counts();
  for (std::size_t s = 0; s < 3; ++s) {  // active, acknowledged, latched
    for (std::size_t p = 0; p < 3; ++p) {
      m.sample(
          "vitalsd_alerts", counts[s][p],
          fmt::format("state=\"{}\",priority=\"{}\"", to_string(static_cast<core::alert_state>(s)),
                      to_string(static_cast<core::priority>(p))));
    }
  }
  m.family("vitalsd_alert_commands_total", "counter", "Operator commands, by outcome.");
  m.sample("vitalsd_alert_commands_total", d.commands_ok, "outcome=\"done\"");
  m.sample("vitalsd_alert_commands_total", d.commands_refused, "outcome=\"refused\"");
  m.sample("vitalsd_alert_commands_total", d.mqtt_commands_invalid, "outcome=\"invalid\"");
  const auto receivers = d.dispatcher->metrics();
  // One family per receiver counter; the first carries the receiver's kind as well.
  const auto per_receiver = [&](std::string_view name, std::string_view type, std::string_view help,
                                auto field, bool with_kind) {
    m.family(name, type, help);
    for (const auto& r : receivers) {
      m.sample(name, r.*field,
               with_kind ? fmt::format("receiver=\"{}\",kind=\"{}\"", label(r.name), label(r.kind))
                         : fmt::format("receiver=\"{}\"", label(r.name)));
    }
  };
  using rm = notify::receiver_metrics;
  per_receiver("vitalsd_notifications_sent_total", "counter", "Notifications delivered.", &rm::sent,
               true);
  per_receiver("vitalsd_notifications_skipped_total", "counter",
               "Notifications the receiver has no use for (e.g. acknowledgements to Alertmanager).",
               &rm::skipped, false);
  per_receiver("vitalsd_notifications_failed_total", "counter", "Failed delivery attempts.",
               &rm::failed_attempts, false);
  per_receiver("vitalsd_notifications_given_up_total", "counter",
               "Notifications given up (permanent error or max_attempts).", &rm::given_up, false);
  per_receiver("vitalsd_notifications_pending", "gauge", "Notifications waiting for delivery.",
               &rm::pending, false);
  const auto commit = d.store.commit_latency();
  m.family("vitalsd_store_commit_seconds", "summary", "SQLite transaction commit latency.");
  m.sample("vitalsd_store_commit_seconds_sum", commit.sum_seconds);
  m.sample("vitalsd_store_commit_seconds_count", commit.count);
  m.single("vitalsd_store_commit_seconds_max", "gauge", "Slowest commit since start.",
           commit.max_seconds);
  m.single("vitalsd_store_queued_rows", "gauge", "Rows waiting for the SQLite writer.",
           d.store.queued_rows());
  m.single("vitalsd_store_errors_total", "counter", "Failed SQLite transactions (retried).",
           c.store_errors.load());
  m.single("vitalsd_mqtt_connected", "gauge", "1 when the MQTT source is connected.",
           d.mqtt_connected() ? 1 : 0);
  if (d.ble_gateway_connected) {
    m.single("vitalsd_ble_gateway_connected", "gauge",
             "1 when the BLE gateway source is connected and subscribed.",
             d.ble_gateway_connected() ? 1 : 0);
  }
  api_response r;
  r.status = 200;
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  r.body = m.take();
  return r;
}

api_response alert_service::list_alerts(const alert_list_query& q) {
  auto& d = *impl_;
  adapters::sqlite::alert_query aq;
  if (q.state) {
    aq.state = core::parse_alert_state(*q.state);
    if (!aq.state) return json_error(400, fmt::format("unknown state \"{}\"", *q.state));
  }
  aq.patient = q.patient;
  aq.limit = q.limit;
  aq.before_id = q.before;
  const auto alerts = d.reader->list(aq);
  std::string body = "{\"alerts\":[";
  for (std::size_t i = 0; i < alerts.size(); ++i) {
    if (i != 0) body += ',';
    body += notify::alert_json(alerts[i]);
  }
  body += "]";
  // Paging: the next page asks for ids below the last one shown.
  if (alerts.size() == aq.limit && !alerts.empty()) {
    body += fmt::format(",\"next_before\":{}", alerts.back().id);
  }
  body += "}";
  return json_response(200, std::move(body));
}

api_response alert_service::get_alert(std::uint64_t id) {
  return impl_->alert_with_events(id);
}

api_response alert_service::list_snoozes() {
  json out = json::array();
  for (const auto& z : impl_->manager.snoozes()) out.push_back(snooze_json(z));
  return json_response(200, json{{"snoozes", out}}.dump());
}

void alert_service::command(const alert_command& c, std::function<void(api_response)> done) {
  impl_->run_command(c, std::move(done));
}

}  // namespace vitals::daemon
