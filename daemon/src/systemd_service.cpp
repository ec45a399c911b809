#include <vitals/daemon/systemd_service.hpp>

#include <systemd/sd-daemon.h>

#include <atomic>
#include <boost/asio/steady_timer.hpp>
#include <cstdlib>
#include <string>

#include <spdlog/spdlog.h>

namespace vitals::daemon {

namespace {

/// How often the status line is refreshed when systemd asked for no watchdog.
constexpr std::chrono::seconds status_interval{10};

}  // namespace

liveness pipeline_liveness(const core::pipeline& pipe, const core::stats& counters) noexcept {
  const auto beat = pipe.heartbeat();
  return {beat.passes, beat.waiting_on_store,
          counters.store_commits.load(std::memory_order_relaxed) +
              counters.store_errors.load(std::memory_order_relaxed)};
}

bool progress_gate::advanced(const liveness& now) noexcept {
  bool moved = true;
  if (last_) {
    moved = now.pipeline_passes != last_->pipeline_passes ||
            (now.pipeline_in_store && last_->pipeline_in_store &&
             now.store_attempts != last_->store_attempts);
  }
  last_ = now;
  return moved;
}

notify_socket::notify_socket() {
  const char* socket = std::getenv("NOTIFY_SOCKET");
  enabled_ = socket != nullptr && *socket != '\0';
  std::uint64_t usec = 0;
  // > 0: WATCHDOG_USEC is set and WATCHDOG_PID, if set, names this process.
  if (enabled_ && sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
    watchdog_ = std::chrono::microseconds(usec);
  }
}

bool notify_socket::send(std::string_view state) const {
  if (!enabled_) return false;
  const std::string text(state);
  const int r = sd_notify(0, text.c_str());
  if (r < 0) spdlog::debug("sd_notify failed: error {}", -r);
  return r > 0;
}

struct systemd_service::impl {
  impl(boost::asio::io_context& io, probes p) : timer(io), probe(std::move(p)) {}

  std::chrono::microseconds period() const {
    if (socket.watchdog_interval()) return *socket.watchdog_interval() / 2;
    return status_interval;
  }

  void do_tick() {
    timer.expires_after(period());
    timer.async_wait([this](const boost::system::error_code& ec) {
      if (ec || stopped) return;
      check();
      do_tick();
    });
  }

  void check() {
    if (socket.watchdog_interval()) {
      if (gate.advanced(probe.progress())) {
        if (stalled) spdlog::warn("watchdog: the pipeline advances again");
        stalled = false;
        if (socket.send("WATCHDOG=1")) ++pings;
      } else {
        ++withheld;
        if (!stalled) {
          spdlog::error(
              "watchdog: the pipeline has not advanced for {} ms; WATCHDOG=1 withheld, so systemd "
              "restarts vitalsd once WatchdogSec= passes without one",
              std::chrono::duration_cast<std::chrono::milliseconds>(period()).count());
        }
        stalled = true;
      }
    }
    send_status();
  }

  void send_status() {
    std::string line = stalled ? "pipeline stalled; " + probe.status() : probe.status();
    if (line == last_status) return;
    if (socket.send("STATUS=" + line)) last_status = std::move(line);
  }

  notify_socket socket;
  boost::asio::steady_timer timer;
  probes probe;
  progress_gate gate;
  std::string last_status;
  std::atomic<std::uint64_t> pings{0};
  std::atomic<std::uint64_t> withheld{0};
  bool stalled = false;
  bool stopped = false;
};

systemd_service::systemd_service(boost::asio::io_context& io, probes p)
    : impl_(std::make_unique<impl>(io, std::move(p))) {}

systemd_service::~systemd_service() = default;

void systemd_service::ready() {
  auto& d = *impl_;
  if (!d.socket.enabled()) return;
  d.last_status = d.probe.status();
  d.socket.send("READY=1\nSTATUS=" + d.last_status);
  if (const auto w = d.socket.watchdog_interval()) {
    // The first ping now: the start-up may have taken a good part of the interval.
    d.gate.advanced(d.probe.progress());
    if (d.socket.send("WATCHDOG=1")) ++d.pings;
    spdlog::info("systemd watchdog: {} ms, pinged every {} ms while the pipeline advances",
                 std::chrono::duration_cast<std::chrono::milliseconds>(*w).count(),
                 std::chrono::duration_cast<std::chrono::milliseconds>(d.period()).count());
  }
  d.do_tick();
}

void systemd_service::stopping() {
  auto& d = *impl_;
  if (d.stopped) return;
  d.stopped = true;
  d.timer.cancel();
  d.socket.send("STOPPING=1\nSTATUS=stopping: draining the rings and committing");
}

std::optional<std::chrono::microseconds> systemd_service::watchdog_interval() const noexcept {
  return impl_->socket.watchdog_interval();
}

std::uint64_t systemd_service::pings() const noexcept {
  return impl_->pings;
}

std::uint64_t systemd_service::withheld() const noexcept {
  return impl_->withheld;
}

}  // namespace vitals::daemon
