#pragma once
/// The daemon's alert side: detector events into the alert manager, its changes into the store
/// (committed before anything is sent), committed notifications into the dispatcher, operator
/// commands from the HTTP API and the MQTT command topic, and the figures for /metrics.

#include <functional>
#include <memory>

#include <boost/asio/io_context.hpp>

#include <vitals/adapters/sqlite/sqlite_store.hpp>
#include <vitals/config/settings.hpp>
#include <vitals/core/alert.hpp>
#include <vitals/core/stats.hpp>
#include <vitals/daemon/api_server.hpp>

namespace vitals::daemon {

/// Lives on the io_context thread, except on_detector_event(), which any thread may call.
class alert_service final : public api_backend {
 public:
  /// `ring_depth`, `mqtt_connected` and (when the BLE gateway source runs)
  /// `ble_gateway_connected` feed /healthz and /metrics.
  alert_service(boost::asio::io_context& io, const config::settings& settings,
                adapters::sqlite::sqlite_store& store, core::stats& counters,
                std::function<std::size_t()> ring_depth, std::function<bool()> mqtt_connected,
                std::function<bool()> ble_gateway_connected = {});
  ~alert_service() override;
  alert_service(const alert_service&) = delete;
  alert_service& operator=(const alert_service&) = delete;

  /// Before the store's writer starts: open alerts, snoozes and unsent notifications.
  void load();
  /// After the store's writer started: resumes delivery, timers and the MQTT command channel.
  void start();
  /// Hands a detector event over (pipeline thread); it is processed on the io thread.
  void on_detector_event(const core::alert_event& e);
  /// On the io thread, once the pipeline has stopped: takes the last events, queues their
  /// changes, and stops timers, delivery and the command channel. What is not delivered stays in
  /// the outbox for the next start.
  void stop();

  // api_backend
  api_response health() override;
  api_response metrics() override;
  api_response list_alerts(const alert_list_query& q) override;
  api_response get_alert(std::uint64_t id) override;
  api_response list_snoozes() override;
  void command(const alert_command& c, std::function<void(api_response)> done) override;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace vitals::daemon
