#pragma once
/// The daemon's alert side: detector events into the alert manager, its changes into the alert
/// store (committed before anything is sent), committed notifications into the dispatcher,
/// operator commands from the HTTP API and the MQTT command topic.

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <vitals/adapters/notify/dispatcher.hpp>
#include <vitals/config/settings.hpp>
#include <vitals/core/alert.hpp>
#include <vitals/core/alert_store.hpp>
#include <vitals/core/plugin_registry.hpp>
#include <vitals/daemon/api_backend.hpp>

namespace vitals::daemon {

/// What /metrics shows of the alert side.
struct alert_figures {
  std::array<std::array<std::uint64_t, 3>, 4> open{};  ///< open alerts [state][priority]
  std::size_t open_total = 0;
  std::uint64_t commands_ok = 0;
  std::uint64_t commands_refused = 0;
  std::uint64_t mqtt_commands_invalid = 0;
  std::size_t notifications_pending = 0;
  std::vector<adapters::notify::receiver_metrics> receivers;
};

/// Lives on the io_context thread, except on_detector_event(), which any thread may call.
class alert_service final {
 public:
  /// Opens a reader of the alert history (called once, at start(), on the io thread).
  using history_factory = std::function<std::unique_ptr<core::alert_history>()>;

  /// Builds the receivers the settings name from `plugins` (throws naming one that cannot be
  /// built) and, when a receiver or the command topic needs it, the MQTT alert channel.
  alert_service(boost::asio::io_context& io, const config::settings& settings,
                const core::plugin_registry& plugins, core::alert_store& store,
                history_factory history);
  ~alert_service();
  alert_service(const alert_service&) = delete;
  alert_service& operator=(const alert_service&) = delete;

  /// Before the store's writer starts: open alerts, snoozes and unsent notifications.
  void load();

  /// After load(): the conditions of the restored alerts that still hold, as the raise events
  /// of their rules, for the pipeline to have them confirmed or ended by the next readings
  /// (core::pipeline::expect_reconfirmation()). Alerts about vitalsd itself are not among them.
  std::vector<core::alert_event> restored_conditions() const;

  /// After the store's writer started: resumes delivery, timers and the MQTT command channel.
  void start();

  /// Hands a detector event over (pipeline thread); it is processed on the io thread.
  void on_detector_event(const core::alert_event& e);

  /// The store's commits started failing (`failing`, with the error) or succeed again; on the
  /// io thread. Raises or clears the high-priority technical alert `store_failing` of patient
  /// "vitalsd" (the daemon itself), routed like any alert. While the store fails, notifications
  /// go to the dispatcher at once, from memory, instead of after their commit: a failing
  /// database must not silence the pager. They are committed to the outbox when the store
  /// recovers (lost at a crash before, so they may be sent again only if the crash came between
  /// delivery and that commit).
  void on_store_health(bool failing, const std::string& cause);

  /// A configuration reload (io thread): routes, care teams and lifecycle settings apply from
  /// now on; open alerts, snoozes and escalation timers are kept (core::alert_manager::
  /// reconfigure()). Throws std::invalid_argument, changing nothing, for settings the manager
  /// refuses. The command channel stays as it was started.
  void reconfigure(const core::alert_manager_settings& lifecycle);

  /// The receivers of `next`, built by their plugins (io thread), for replace_receivers():
  /// throws naming one that cannot be built, or one that needs the MQTT alert channel when
  /// none was started (that needs a restart). Changes nothing.
  std::vector<adapters::notify::receiver> build_receivers(const config::settings& next,
                                                          const core::plugin_registry& plugins);

  /// A reload that changed the receivers (io thread): the dispatcher is replaced, and what was
  /// queued or in flight goes to the new one (a notification for a receiver that is gone is
  /// marked failed in the outbox). Per-receiver counters in /metrics start again.
  void replace_receivers(std::vector<adapters::notify::receiver> receivers);

  /// On the io thread, once the pipeline has stopped: takes the last events, queues their
  /// changes, and stops timers, delivery and the command channel. What is not delivered stays in
  /// the outbox for the next start.
  void stop();

  // The alert routes of the HTTP API (api_backend's, forwarded by the daemon's backend).
  api_response list_alerts(const alert_list_query& q);
  api_response get_alert(std::uint64_t id);
  api_response list_snoozes();
  void command(const alert_command& c, std::function<void(api_response)> done);

  /// For /healthz and /metrics.
  alert_figures figures() const;

  struct impl;

 private:
  std::unique_ptr<impl> impl_;
};

}  // namespace vitals::daemon
