#pragma once
// Internal to vitals::daemon: /healthz and /metrics, from every part of the running daemon
// through the same interfaces (core::source::status(), core::store::status(), the counters).

#include <cstddef>
#include <functional>
#include <vector>

#include <vitals/core/source.hpp>
#include <vitals/core/stats.hpp>
#include <vitals/core/store.hpp>
#include <vitals/daemon/alert_service.hpp>
#include <vitals/daemon/api_backend.hpp>

namespace vitals::daemon {

/// Health and metrics of the daemon. Used on the io thread.
class status_reporter {
 public:
  status_reporter(const core::stats& counters, std::vector<const core::source*> sources,
                  const core::store& store, const alert_service& alerts,
                  std::function<std::size_t()> ring_depth);

  /// 200 {"status":"ok", "sources":{name: state}, ...}; 503 "degraded" when a source is down, or
  /// 503 "failing" with "store":{"error",...} while the store cannot commit.
  api_response health() const;
  /// Prometheus text exposition format 0.0.4.
  api_response metrics() const;

  /// What is wrong with the patient registry ("" when nothing): while set, /healthz answers 503
  /// "degraded" with it, since the patients it leaves out are not watched. io thread.
  void set_registry_problem(std::string problem) { registry_problem_ = std::move(problem); }

 private:
  std::string registry_problem_;
  const core::stats& counters_;
  std::vector<const core::source*> sources_;
  const core::store& store_;
  const alert_service& alerts_;
  std::function<std::size_t()> ring_depth_;
};

/// The HTTP API's backend: the alert routes from the alert service, health and metrics from the
/// status reporter.
class daemon_backend final : public api_backend {
 public:
  daemon_backend(alert_service& alerts, const status_reporter& status)
      : alerts_(alerts), status_(status) {}

  api_response health() override { return status_.health(); }
  api_response metrics() override { return status_.metrics(); }
  api_response list_alerts(const alert_list_query& q) override { return alerts_.list_alerts(q); }
  api_response get_alert(std::uint64_t id) override { return alerts_.get_alert(id); }
  api_response list_snoozes() override { return alerts_.list_snoozes(); }
  void command(const alert_command& c, std::function<void(api_response)> done) override {
    alerts_.command(c, std::move(done));
  }
  void reload(const core::actor_info& who, std::function<void(api_response)> done) override {
    if (!reload_) {
      done(json_error(503, "configuration reload is not available"));
      return;
    }
    reload_(who, std::move(done));
  }

  api_response list_patients() override {
    return patients_.list ? patients_.list() : json_error(503, "no patient registry");
  }
  api_response get_patient(const std::string& id) override {
    return patients_.get ? patients_.get(id) : json_error(503, "no patient registry");
  }
  void change_patient(const patient_change& c, std::function<void(api_response)> done) override {
    if (!patients_.change) return done(json_error(503, "no patient registry"));
    patients_.change(c, std::move(done));
  }

  /// What /api/v1/patients runs (the daemon's registry).
  struct patient_handlers {
    std::function<api_response()> list;
    std::function<api_response(const std::string&)> get;
    std::function<void(const patient_change&, std::function<void(api_response)>)> change;
  };
  void on_patients(patient_handlers h) { patients_ = std::move(h); }

  /// What POST /api/v1/reload runs (the daemon's reload); answers through `done`.
  using reload_handler =
      std::function<void(const core::actor_info&, std::function<void(api_response)>)>;
  void on_reload(reload_handler reload) { reload_ = std::move(reload); }

 private:
  alert_service& alerts_;
  reload_handler reload_;
  patient_handlers patients_;
  const status_reporter& status_;
};

}  // namespace vitals::daemon
