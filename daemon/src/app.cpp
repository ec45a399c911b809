#include <vitals/daemon/app.hpp>

#include <malloc.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <csignal>
#include <memory>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include <vitals/config/config_error.hpp>
#include <vitals/config/patient_registry.hpp>

#include <vitals/adapters/registry.hpp>
#include <vitals/adapters/sqlite/alert_reader.hpp>
#include <vitals/adapters/sqlite/patient_registry.hpp>
#include <vitals/adapters/sqlite/sqlite_store.hpp>
#include <vitals/core/pipeline.hpp>
#include <vitals/daemon/alert_service.hpp>
#include <vitals/daemon/api_server.hpp>
#include <vitals/daemon/systemd_service.hpp>

#include "app_settings.hpp"
#include "status.hpp"

namespace vitals::daemon {

namespace asio = boost::asio;
using namespace std::chrono_literals;

using namespace detail;

namespace {

/// The configured sources, each built by its plugin, each a producer with a ring of its own.
std::vector<std::unique_ptr<core::source>> build_sources(const config::settings& s,
                                                         const core::plugin_registry& plugins,
                                                         core::pipeline& pipe,
                                                         core::stats& counters,
                                                         const core::device_directory& devices) {
  const auto device_patients = device_patients_of(s);
  std::vector<std::unique_ptr<core::source>> out;
  for (const auto& src : s.sources) {
    const auto* d = plugins.source(src.type);
    if (!d) throw std::invalid_argument("source " + src.name + ": unknown type '" + src.type + "'");
    core::source_context ctx{src.name,        pipe.open_port(src.name, s.pipeline.ring_capacity),
                             counters,        s.sections,
                             device_patients, &devices};
    try {
      out.push_back(d->create(src.options, ctx));
    } catch (const std::exception& e) {
      throw std::runtime_error("source " + src.name + " (" + src.type + "): " + e.what());
    }
  }
  return out;
}

std::vector<const core::source*> views(const std::vector<std::unique_ptr<core::source>>& all) {
  std::vector<const core::source*> out;
  for (const auto& s : all) out.push_back(s.get());
  return out;
}

}  // namespace

struct app::impl {
  impl(config::settings s, const core::plugin_registry& registry)
      : plugins(registry),
        file_settings(s),
        settings(with_registry(std::move(s), registry_problem)),
        store(store_options_from(settings, intake), counters),
        pipe(pipeline_options_from(settings), core::detector_set(detection_settings_from(settings)),
             store, counters, &intake),
        devices(device_patients_of(settings)),
        sources(build_sources(settings, plugins, pipe, counters, devices)),
        signals(io, SIGINT, SIGTERM, SIGHUP),
        stats_timer(io),
        alerts(io, settings, plugins, store,
               [path = settings.store.path] {
                 return std::make_unique<adapters::sqlite::alert_reader>(path);
               }),
        status(counters, views(sources), store, alerts, [this] { return pipe.depth(); }),
        backend(alerts, status),
        service(io, {[this] { return pipeline_liveness(pipe, counters); },
                     [this] { return status_line(); }}) {
    for (const auto& src : sources) {
      const auto listed = src->listed_devices();
      source_devices.insert(source_devices.end(), listed.begin(), listed.end());
    }
    pipe.add_known_devices(source_devices);
    status.set_registry_problem(registry_problem);
    if (settings.api.enabled) {
      api = std::make_unique<api_server>(io, api_options_from(settings), backend);
    }
    include_phi = settings.log.include_phi;
    backend.on_reload([this](const core::actor_info& who, std::function<void(api_response)> done) {
      reload("POST /api/v1/reload by " + who.by,
             [done = std::move(done)](bool ok, nlohmann::json outcome) {
               done({ok ? 200U : 422U, outcome.dump(), "application/json"});
             });
    });
    backend.on_patients({[this] { return list_patients(); },
                         [this](const std::string& id) { return get_patient(id); },
                         [this](const patient_change& c, std::function<void(api_response)> done) {
                           change_patient(c, std::move(done));
                         }});
  }

  /// The pipeline's options for `s`, with the devices the sources list themselves.
  core::pipeline_options admission_of(const config::settings& s) const {
    auto o = pipeline_options_from(s);
    o.known_devices.insert(source_devices.begin(), source_devices.end());
    return o;
  }

  /// A checked next configuration, ready to apply: nothing in it can fail any more.
  struct prepared {
    config::settings next;                           ///< what runs once applied
    config::settings file;                           ///< its file part, before the registry
    std::vector<config::registry_patient> registry;  ///< its registry part
    std::vector<std::string> kept;                   ///< restart-only settings that changed
    core::detection_settings detection;
    bool new_receivers = false;
    std::vector<adapters::notify::receiver> receivers;
    std::shared_ptr<const core::device_directory::map> device_map;
  };

  /// `file` with `registry` applied, checked as the next configuration. Throws (config_error
  /// listing every problem, or another std::exception) and changes nothing when it fails.
  prepared prepare(config::settings file, std::vector<config::registry_patient> registry) {
    prepared p;
    p.next = file;
    config::apply_registry(p.next, registry);
    p.file = std::move(file);
    p.registry = std::move(registry);
    p.kept = keep_restart_only(settings, p.next);
    p.detection = detection_settings_from(p.next);
    p.new_receivers = !same_plugins(settings.receivers, p.next.receivers);
    core::detector_set::check(p.detection);
    core::alert_manager::check(p.next.alerts.lifecycle);
    if (p.new_receivers) p.receivers = alerts.build_receivers(p.next, plugins);
    // Built and checked now, published once the pipeline admits the new devices (apply()).
    p.device_map = core::device_directory::make_map(device_patients_of(p.next));
    return p;
  }

  /// Re-reads the configuration (file and patient registry) and applies what can change live,
  /// atomically: everything is checked before anything changes, and a configuration that fails
  /// any check changes nothing. `done(ok, outcome)` runs on the io thread once the pipeline has
  /// taken it.
  void reload(
      std::string_view trigger,
      std::function<void(bool, nlohmann::json)> done = [](bool, nlohmann::json) {}) {
    if (stopping) return done(false, {{"error", "vitalsd is stopping"}});
    if (load_config) {
      spdlog::info("{}: re-reading the configuration from {} and the patient registry", trigger,
                   config_source);
    } else {
      spdlog::info(
          "{}: vitalsd runs on its embedded defaults (no --config): re-reading the "
          "patient registry only",
          trigger);
    }
    prepared p;
    try {
      auto file = load_config ? load_config() : file_settings;
      p = prepare(std::move(file), registry_of(settings.store.path));
    } catch (const std::exception& e) {
      // config_error's text lists every problem as FILE:LINE:COL: key 'k': ...
      spdlog::error("configuration reload refused; the running configuration stays in force:\n{}",
                    e.what());
      return done(false, {{"error", "invalid configuration"}, {"problems", e.what()}});
    }
    apply(std::move(p), {{"status", "reloaded"}}, std::move(done));
  }

  /// Applies a prepared configuration: every part takes its new settings, the pipeline between
  /// two batches. `outcome` is completed with what changed and handed to `done` (io thread).
  void apply(prepared p, nlohmann::json outcome, std::function<void(bool, nlohmann::json)> done) {
    // Receivers first, so that the routes never name one that is not there yet.
    if (p.new_receivers) alerts.replace_receivers(std::move(p.receivers));
    alerts.reconfigure(p.next.alerts.lifecycle);
    if (api) api->set_tokens(api_tokens_from(p.next));
    spdlog::set_level(spdlog::level::from_str(p.next.log.level));
    include_phi = p.next.log.include_phi;
    for (const auto& w : p.next.warnings) spdlog::warn("config: {}", w);
    for (const auto& k : p.kept) {
      spdlog::warn(
          "configuration reload: {} changed but cannot change while vitalsd runs; "
          "the running value stays until a restart",
          k);
    }
    const auto o = admission_of(p.next);
    core::pipeline_update u;
    u.detection = std::move(p.detection);
    u.known_devices = o.known_devices;
    u.known_patients = o.known_patients;
    u.accept_unknown = o.accept_unknown;
    u.max_streams = o.max_streams;
    u.reconfirm_window = o.reconfirm_window;
    outcome["patients"] = p.next.detector.patients.size();
    outcome["registry_patients"] = p.registry.size();
    outcome["devices"] = p.next.devices.size();
    outcome["routes"] = p.next.alerts.lifecycle.routes.size();
    outcome["receivers"] = p.next.receivers.size();
    outcome["tokens"] = p.next.api.tokens.size();
    outcome["restart_needed"] = p.kept;
    settings = std::move(p.next);
    file_settings = std::move(p.file);
    status.set_registry_problem({});  // the whole registry passed prepare()
    // Pipeline thread: the device map is published once the pipeline admits the new devices,
    // so that a reading mapped by the new map is never refused by the old admission list.
    pipe.reconfigure(std::move(u), [this, outcome = std::move(outcome), done = std::move(done),
                                    device_map =
                                        std::move(p.device_map)](std::string error) mutable {
      if (error.empty()) devices.publish(std::move(device_map));
      asio::post(io, [outcome = std::move(outcome), done = std::move(done),
                      error = std::move(error)]() mutable {
        // Two configurations were alive until the pipeline took the new one (with 10,000
        // patients, tens of MB): give what the old one held back to the system, or the RSS
        // stays at that high-water mark.
        ::malloc_trim(0);
        if (error == core::pipeline::superseded) {
          outcome["status"] = "superseded";
          spdlog::info(
              "configuration reload: superseded by a later one before the pipeline took it");
          return done(true, std::move(outcome));
        }
        if (!error.empty()) {
          // The checks of prepare() make this unreachable short of a bug; say so loudly.
          spdlog::error("configuration reload: the detectors refused their settings: {}", error);
          outcome["status"] = "partial";
          outcome["error"] = error;
          return done(false, std::move(outcome));
        }
        spdlog::info(
            "configuration reloaded: {} patient(s) with settings ({} from the registry), {} "
            "device(s), {} route(s), {} receiver(s), {} API token(s); detector state, baselines, "
            "open alerts and timers kept{}",
            outcome["patients"].get<std::size_t>(), outcome["registry_patients"].get<std::size_t>(),
            outcome["devices"].get<std::size_t>(), outcome["routes"].get<std::size_t>(),
            outcome["receivers"].get<std::size_t>(), outcome["tokens"].get<std::size_t>(),
            outcome["restart_needed"].empty() ? "" : " (some changes wait for a restart)");
        done(true, std::move(outcome));
      });
    });
  }

  /// GET /api/v1/patients: the registry as the database has it (io thread; a short read).
  api_response list_patients() const {
    try {
      auto list = nlohmann::json::array();
      for (const auto& r : adapters::sqlite::read_registry(settings.store.path)) {
        list.push_back(registry_json(r));
      }
      return {200, nlohmann::json{{"patients", std::move(list)}}.dump(), "application/json"};
    } catch (const std::exception& e) {
      spdlog::error("patient registry: {}", e.what());
      return json_error(503, "the patient registry cannot be read; the log says why");
    }
  }

  api_response get_patient(const std::string& id) const {
    try {
      for (const auto& r : adapters::sqlite::read_registry(settings.store.path)) {
        if (r.id == id) return {200, registry_json(r).dump(), "application/json"};
      }
      return json_error(404, "no such patient in the registry");
    } catch (const std::exception& e) {
      spdlog::error("patient registry: {}", e.what());
      return json_error(503, "the patient registry cannot be read; the log says why");
    }
  }

  static nlohmann::json registry_json(const adapters::sqlite::registry_row& r) {
    nlohmann::json settings_doc = nlohmann::json::parse(r.document, nullptr, false);
    return {{"id", r.id},
            {"settings", settings_doc.is_discarded() ? nlohmann::json(r.document) : settings_doc},
            {"updated", r.updated},
            {"updated_by", r.updated_by}};
  }

  /// PUT or DELETE /api/v1/patients/{id}: the registry with the change is checked as a whole
  /// configuration (the file as last loaded, not re-read), then written, then applied. A
  /// change that fails a check or cannot be written changes nothing.
  void change_patient(const patient_change& c, std::function<void(api_response)> done) {
    if (stopping) return done(json_error(503, "vitalsd is stopping"));
    const bool put = c.document.has_value();
    const auto refused = [&](unsigned status, const std::string& error, const std::string& what) {
      nlohmann::json body = {{"error", error}};
      if (!what.empty()) body["problems"] = what;
      done({status, body.dump(), "application/json"});
    };
    std::vector<config::registry_patient> registry;
    try {
      registry = registry_of(settings.store.path);
    } catch (const std::exception& e) {
      spdlog::error("patient registry: {}", e.what());
      return refused(503, "the patient registry cannot be read; the log says why", {});
    }
    const auto it = std::find_if(registry.begin(), registry.end(),
                                 [&](const config::registry_patient& p) { return p.id == c.id; });
    const bool created = it == registry.end();
    if (!put && created) return refused(404, "no such patient in the registry", {});
    if (put) {
      const config::registry_patient entry{c.id, *c.document};
      const auto problems = config::check_registry_patient(entry, "request body");
      if (!problems.empty()) {
        std::string text;
        for (const auto& pr : problems) text += pr.to_string() + "\n";
        return refused(422, "invalid patient settings", text);
      }
      if (created) {
        registry.push_back(entry);
      } else {
        *it = entry;
      }
    } else {
      registry.erase(it);
    }
    prepared p;
    try {
      p = prepare(file_settings, std::move(registry));
    } catch (const std::exception& e) {
      return refused(422, "the registry with this change is not a valid configuration", e.what());
    }
    try {
      const auto now = core::now_ms().time_since_epoch().count();
      if (put) {
        adapters::sqlite::put_registry(settings.store.path, {c.id, *c.document, now, c.who.by});
      } else {
        adapters::sqlite::remove_registry(settings.store.path, c.id, c.who.by, now);
      }
    } catch (const std::exception& e) {
      spdlog::error("patient registry: the change was not written, nothing changed: {}", e.what());
      return refused(503, "the database refused the change; nothing changed (the log says why)",
                     {});
    }
    const std::string verb = put ? (created ? "added" : "updated") : "removed";
    spdlog::info("patient registry: a patient {} by {}", verb, c.who.by);
    apply(std::move(p), {{"status", verb}, {"id", c.id}},
          [done = std::move(done), verb](bool ok, nlohmann::json outcome) {
            // A later change that overtook this one before the pipeline took it applies this
            // one too (it was written first): for the caller, it is done.
            if (outcome["status"] == "superseded") outcome["status"] = verb;
            done({ok ? (verb == "added" ? 201U : 200U) : 500U, outcome.dump(), "application/json"});
          });
  }

  /// Starts the sources once the pipeline runs. A source that cannot start (the BlueZ source
  /// without a D-Bus) stops everything again and fails the start-up.
  void start_sources() {
    try {
      for (auto& src : sources) {
        src->start();
        spdlog::info("source {} started", src->name());
      }
    } catch (...) {
      do_stop();
      throw;
    }
  }

  /// The line `systemctl status vitalsd` shows (counts only: no patient data).
  std::string status_line() const {
    return "running: " + std::to_string(counters.samples_stored.load()) + " samples stored, " +
           std::to_string(alerts.figures().open_total) + " alerts open";
  }

  /// Pipeline thread.
  void log_alert(const core::alert_event& e) const {
    if (include_phi.load(std::memory_order_relaxed)) {
      spdlog::warn("ALERT {} rule={} priority={} patient={} device={} value={} threshold={} ({})",
                   to_string(e.transition), e.rule, to_string(e.level), e.patient.view(),
                   e.device.view(), e.value, e.threshold, e.message);
    } else {
      // Health data stays out of logs by default: the alert row in the database has the rest.
      spdlog::warn(
          "ALERT {} rule={} priority={} source={} (patient and value in the database; "
          "log.include_phi shows them here)",
          to_string(e.transition), e.rule, to_string(e.level), to_string(e.source));
      spdlog::debug("ALERT detail patient={} device={} value={} threshold={}", e.patient.view(),
                    e.device.view(), e.value, e.threshold);
    }
  }

  /// Personal baselines learnt before the last stop (saved by the pipeline as they change).
  void load_baselines() {
    std::size_t loaded = 0;
    std::size_t rejected = 0;
    for (const auto& [id, blob] : store.load_baselines()) {
      const auto patient = core::short_id::make(id);
      if (patient && pipe.detectors().baselines().import_state(*patient, blob)) {
        ++loaded;
      } else {
        ++rejected;
      }
    }
    if (loaded + rejected == 0) return;
    spdlog::info("personal baselines: {} restored from the database", loaded);
    if (rejected != 0) {
      spdlog::warn(
          "personal baselines: {} saved state(s) could not be used (other format or settings); "
          "those patients learn their baseline again",
          rejected);
    }
  }

  /// Streams seen in the last day are watched for silence from their last reading, so that a
  /// device silent across a restart still goes stale.
  void seed_stale_watch() {
    std::vector<core::stream_seen> streams;
    try {
      streams = store.load_recent_streams(core::now_ms() - std::chrono::hours(24));
    } catch (const std::exception& e) {
      // A damaged samples table must not keep vitalsd from watching the patients: it starts,
      // and a commit that fails on the damage pages store_failing and turns /healthz to 503.
      spdlog::error(
          "stale data: the streams seen before this start cannot be read, so devices silent "
          "since then are not watched until they send again: {}",
          e.what());
      return;
    }
    const auto o = admission_of(settings);
    if (!o.accept_unknown) {
      // A patient removed while vitalsd was down is not watched: its silence is expected.
      std::erase_if(streams, [&o](const core::stream_seen& s) {
        return !o.known_devices.contains(s.device) && !o.known_patients.contains(s.patient);
      });
    }
    pipe.detectors().seed_stale(streams);
    if (!streams.empty()) {
      spdlog::info("stale data: {} stream(s) seen in the last 24 h watched from their last reading",
                   streams.size());
    }
  }

  void do_wait_signal() {
    signals.async_wait([this](const boost::system::error_code& ec, int signo) {
      if (ec) return;
      if (signo == SIGHUP) {
        reload("SIGHUP");
        do_wait_signal();
        return;
      }
      spdlog::info("signal {} received: stopping", signo == SIGTERM ? "SIGTERM" : "SIGINT");
      do_stop();
    });
  }

  void do_stats_tick() {
    stats_timer.expires_after(std::chrono::seconds(60));
    stats_timer.async_wait([this](const boost::system::error_code& ec) {
      if (ec) return;
      log_stats("running");
      do_stats_tick();
    });
  }

  void log_stats(std::string_view when) const {
    std::string rejects;
    for (std::size_t i = 0; i < core::reject_reason_count; ++i) {
      const auto n = counters.rejected[i].load(std::memory_order_relaxed);
      if (n == 0) continue;
      if (!rejects.empty()) rejects += ", ";
      rejects +=
          std::string(to_string(static_cast<core::reject_reason>(i))) + "=" + std::to_string(n);
    }
    spdlog::info(
        "{}: messages={} samples accepted={} stored={} duplicates={} late={} artifacts={} "
        "rejected={}{}{}{} alerts raised={} cleared={} ring depth={} waits={} drops={}",
        when, counters.messages_received.load(), counters.samples_accepted.load(),
        counters.samples_stored.load(), counters.samples_duplicate.load(),
        counters.samples_late.load(), counters.samples_artifact.load(), counters.total_rejects(),
        rejects.empty() ? "" : " (", rejects, rejects.empty() ? "" : ")",
        counters.alerts_raised.load(), counters.alerts_cleared.load(), pipe.depth(),
        counters.ring_full_waits.load(), counters.ring_drops.load());
  }

  /// Commits started failing or succeed again (io thread): the sources pause or resume, so that
  /// what cannot be committed stays with the broker, and the alert is raised or cleared.
  void on_store_health(bool failing, const std::string& cause) {
    if (stopping) return;
    for (auto& src : sources) failing ? src->pause() : src->resume();
    alerts.on_store_health(failing, cause);
  }

  void do_stop() {
    if (stopping) return;
    stopping = true;
    service.stopping();
    signals.cancel();
    stats_timer.cancel();
    // Bounded whatever the store does: failing commits are given up after a few attempts, and
    // what they held is counted and logged. (Sources paused by a failing store are already
    // disconnected: what they did not take waits at the broker.)
    store.begin_shutdown();
    // Order matters: no new samples, then drain the ring into the store, then commit and close.
    for (auto& src : sources) src->stop();
    pipe.stop();
    alerts.stop();  // the last detector events, then delivery stops (the outbox keeps the rest)
    if (api) api->stop();
    store.stop();
    log_stats("stopped");
    if (const auto lost = counters.samples_not_stored.load(); lost != 0) {
      spdlog::error(
          "{} reading(s) taken from the sources were NOT committed (the database was failing); "
          "they are lost",
          lost);
    }
  }

  // Declaration order is destruction order reversed: the io_context outlives the store, whose
  // writer thread posts commit completions to it until the store has stopped.
  const core::plugin_registry& plugins;
  config::settings file_settings;  ///< as loaded from the file (or the embedded defaults)
  std::string registry_problem;    ///< what with_registry() left out at start, for /healthz
  config::settings settings;       ///< running: file_settings with the patient registry applied
  core::stats counters;
  core::intake_gate intake;  ///< held by the store while its commits fail
  asio::io_context io;
  adapters::sqlite::sqlite_store store;
  core::pipeline pipe;
  core::device_directory devices;                      ///< [[devices]], live: replaced by a reload
  std::vector<std::unique_ptr<core::source>> sources;  ///< [[sources]], in file order
  std::vector<core::short_id> source_devices;  ///< the devices sources list themselves (BLE)
  asio::signal_set signals;
  asio::steady_timer stats_timer;
  alert_service alerts;
  status_reporter status;
  daemon_backend backend;
  std::unique_ptr<api_server> api;
  systemd_service service;  ///< READY / STOPPING / STATUS / WATCHDOG to systemd (Type=notify)
  bool stopping = false;
  std::atomic<bool> include_phi{false};           ///< log.include_phi, read on the pipeline thread
  std::function<config::settings()> load_config;  ///< set_config_loader(); empty: none
  std::string config_source;
};

void app::set_config_loader(std::function<config::settings()> loader, std::string source) {
  impl_->load_config = std::move(loader);
  impl_->config_source = std::move(source);
}

app::app(config::settings settings)
    : impl_(std::make_unique<impl>(std::move(settings), adapters::registry())) {}

app::~app() = default;

const core::stats& app::counters() const noexcept {
  return impl_->counters;
}

void app::stop() {
  asio::post(impl_->io, [this] { impl_->do_stop(); });
}

int app::run() {
  auto& d = *impl_;
  d.pipe.on_alert([&d](const core::alert_event& e) {
    d.log_alert(e);
    d.alerts.on_detector_event(e);
  });
  d.load_baselines();
  d.seed_stale_watch();
  d.alerts.load();
  d.pipe.expect_reconfirmation(d.alerts.restored_conditions());
  d.store.on_health([&d](bool failing, const std::string& cause) {
    asio::post(d.io, [&d, failing, cause] { d.on_store_health(failing, cause); });
  });
  d.store.start();
  d.alerts.start();
  if (d.api) d.api->start();
  d.pipe.start();
  d.start_sources();
  spdlog::info("vitalsd running: {} source(s), {} receiver(s), database {}", d.sources.size(),
               d.settings.receivers.size(), d.settings.store.path);
  ::malloc_trim(0);  // what building a large configuration (a registry) left behind
  d.service.ready();
  d.do_wait_signal();
  d.do_stats_tick();
  d.io.run();
  return 0;
}

}  // namespace vitals::daemon
