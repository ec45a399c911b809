#pragma once
/// vitalsd as a systemd service (Type=notify): READY / STOPPING / STATUS notifications and a
/// watchdog that pings only while the pipeline makes progress, so that systemd restarts a
/// pipeline that is stuck, not just a process that is alive.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/io_context.hpp>
#include <vitals/core/pipeline.hpp>
#include <vitals/core/stats.hpp>

namespace vitals::daemon {

/// What the watchdog reads on each check: the pipeline's heartbeat and the store's activity.
struct liveness {
  std::uint64_t pipeline_passes = 0;  ///< core::pipeline_heartbeat::passes
  bool pipeline_in_store = false;     ///< core::pipeline_heartbeat::waiting_on_store
  std::uint64_t store_attempts = 0;   ///< transactions tried so far, committed or failed
};

/// Reads the liveness of a running pipeline: its heartbeat, and the store's commits and failed
/// commits from the counters (the store writer's attempts).
liveness pipeline_liveness(const core::pipeline& pipe, const core::stats& counters) noexcept;

/// Decides, check after check, whether the pipeline made progress since the previous check.
/// Progress is a pipeline pass; a pipeline waiting on the store's back-pressure also counts as
/// alive while the store keeps trying (a full disk must raise a storage alert and push back to
/// the broker, not have the daemon restarted with its queue lost). The first check passes.
class progress_gate {
 public:
  /// True when the pipeline advanced since the last call (or waits on a store that works).
  bool advanced(const liveness& now) noexcept;

 private:
  std::optional<liveness> last_;
};

/// The service manager's notification socket ($NOTIFY_SOCKET, sd_notify(3)).
class notify_socket {
 public:
  /// Reads the environment: NOTIFY_SOCKET, and WATCHDOG_USEC / WATCHDOG_PID
  /// (sd_watchdog_enabled(3): the watchdog is on only for this process).
  notify_socket();

  /// True under a service manager that listens ($NOTIFY_SOCKET set).
  bool enabled() const noexcept { return enabled_; }

  /// The watchdog interval systemd expects pings within (WatchdogSec=), if any.
  std::optional<std::chrono::microseconds> watchdog_interval() const noexcept { return watchdog_; }

  /// Sends newline-separated assignments ("READY=1\nSTATUS=..."); false when not sent.
  bool send(std::string_view state) const;

 private:
  bool enabled_ = false;
  std::optional<std::chrono::microseconds> watchdog_;
};

/// Lives on the io_context thread. Without $NOTIFY_SOCKET every call is a no-op.
class systemd_service {
 public:
  /// What the service reports: liveness for the watchdog, a status line for `systemctl status`.
  struct probes {
    std::function<liveness()> progress;
    std::function<std::string()> status;
  };

  systemd_service(boost::asio::io_context& io, probes p);
  ~systemd_service();
  systemd_service(const systemd_service&) = delete;
  systemd_service& operator=(const systemd_service&) = delete;

  /// READY=1 with the first status line; starts the status and watchdog timer.
  void ready();

  /// STOPPING=1; stops the timer (systemd's TimeoutStopSec= bounds the stop from here).
  void stopping();

  /// The watchdog interval, when systemd asked for one.
  std::optional<std::chrono::microseconds> watchdog_interval() const noexcept;

  /// WATCHDOG=1 messages sent so far.
  std::uint64_t pings() const noexcept;

  /// Checks at which the pipeline had not advanced, so no ping was sent.
  std::uint64_t withheld() const noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace vitals::daemon
