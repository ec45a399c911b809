#pragma once
// Internal to vitals::daemon: the alert service's state, shared by its lifecycle part
// (alert_service.cpp) and its command and query part (alert_commands.cpp).

#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <vitals/adapters/notify/dispatcher.hpp>
#include <vitals/adapters/notify/mqtt_channel.hpp>
#include <vitals/core/alert_manager.hpp>
#include <vitals/daemon/alert_service.hpp>

namespace vitals::daemon {

struct alert_service::impl {
  impl(boost::asio::io_context& io_, const config::settings& s,
       const core::plugin_registry& plugins, core::alert_store& st, history_factory history);

  boost::asio::io_context& io;
  const config::settings& settings;
  core::alert_store& store;
  history_factory open_history;
  core::alert_manager manager;
  boost::asio::steady_timer timer;
  std::unique_ptr<adapters::notify::mqtt_channel> channel;
  std::unique_ptr<adapters::notify::dispatcher> dispatcher;
  std::unique_ptr<core::alert_history> history;
  std::vector<core::notification> pending_at_start;
  bool stopped = false;

  // Notifications whose commit is pending, by ticket: submitted when the commit ends, or at
  // once when the store starts failing (then the commit's completion finds nothing here).
  std::map<std::uint64_t, std::vector<core::notification>> awaiting_commit;
  std::uint64_t next_ticket = 0;
  bool store_failing = false;  // as last told by on_store_health()

  // Detector events from the pipeline thread.
  std::mutex events_mutex;
  std::vector<core::alert_event> events;
  bool drain_posted = false;

  // Operator commands (HTTP and MQTT).
  std::uint64_t commands_ok = 0;
  std::uint64_t commands_refused = 0;
  std::uint64_t mqtt_commands_invalid = 0;

  static core::timestamp now() { return core::now_ms(); }

  // alert_service.cpp: the lifecycle.
  /// Commits the manager's changes; notifications reach the dispatcher only once committed.
  /// `done` runs on the io thread after the commit (ok) or when the store gave up (not ok).
  void persist(core::alert_changes&& changes, std::function<void(bool)> done = {});
  void drain();
  void schedule_tick();
  /// What the dispatcher reports back: deliveries and failures into the outbox.
  adapters::notify::dispatcher_callbacks callbacks();

  // alert_commands.cpp: commands and queries.
  api_response alert_with_events(std::uint64_t id);
  api_response not_open(std::uint64_t id, std::string_view verb);
  void handle_mqtt_command(const std::string& payload);
  void run_command(const alert_command& c, std::function<void(api_response)> done);
};

/// A JSON answer.
api_response json_response(unsigned status, std::string body);

/// A snooze as the API shows it.
nlohmann::json snooze_json(const core::snooze& z);

}  // namespace vitals::daemon
