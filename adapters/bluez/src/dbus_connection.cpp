#include "dbus_connection.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <vitals/adapters/common/subscriber.hpp>

namespace vitals::adapters::ble::detail {

namespace {

using namespace std::chrono_literals;

/// For a "unix:path=..." D-Bus address, throws std::runtime_error when nothing accepts on the
/// socket. sdbus-c++ 1.2 leaks its sd_bus object (about 2 KB) each time it fails to connect to an
/// address, and the source retries while the bus is down; this check turns the common failures
/// (no socket, a dead daemon's socket) into errors before sdbus-c++ is asked.
void check_unix_socket(const std::string& address) {
  constexpr std::string_view prefix = "unix:path=";
  if (!address.starts_with(prefix) || address.find(';') != std::string::npos) return;
  const auto end = address.find(',', prefix.size());
  const auto path = address.substr(
      prefix.size(), end == std::string::npos ? std::string::npos : end - prefix.size());
  sockaddr_un sa{};
  if (path.empty() || path.size() >= sizeof sa.sun_path) return;  // sd-bus reports it
  sa.sun_family = AF_UNIX;
  std::memcpy(sa.sun_path, path.data(), path.size());
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  const int r = ::connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa);
  const int err = errno;
  ::close(fd);
  if (r != 0) throw std::runtime_error(std::string("cannot connect: ") + std::strerror(err));
}

}  // namespace

std::string describe(const sdbus::Error& e) {
  auto text = common::printable(e.getName(), 80);
  if (spdlog::should_log(spdlog::level::debug))
    text += ": " + common::printable(e.getMessage(), 160);
  return text;
}

bool is_absent(const sdbus::Error& e) {
  return e.getName() == "org.freedesktop.DBus.Error.ServiceUnknown" ||
         e.getName() == "org.freedesktop.DBus.Error.NameHasNoOwner";
}

dbus_connection::dbus_connection(const bluez_options& options, listener& l)
    : options_(options), listener_(l) {}

dbus_connection::~dbus_connection() {
  stop();
}

// -------------------------------------------------------------------------------------------------
// Lifecycle (any thread, serialised by `lifecycle_`).

void dbus_connection::start() {
  std::lock_guard lock(lifecycle_);
  if (thread_.joinable()) return;
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0)
    throw std::runtime_error(std::string("bluez: eventfd: ") + std::strerror(errno));
  try {
    open();
  } catch (const std::exception& e) {
    close();
    ::close(wake_fd_);
    wake_fd_ = -1;
    throw std::runtime_error(
        fmt::format("bluez: cannot connect to the D-Bus {}: {}", bus_description(), e.what()));
  }
  stop_requested_.store(false);
  // Everything above happens before the thread starts; from now on only the thread touches the
  // connection and the state, until stop() has joined it.
  thread_ = std::thread([this] { run(); });
}

void dbus_connection::stop() {
  std::lock_guard lock(lifecycle_);
  if (!thread_.joinable()) return;
  stop_requested_.store(true);
  wake();
  thread_.join();
  close();
  ::close(wake_fd_);
  wake_fd_ = -1;
}

std::string dbus_connection::bus_description() const {
  return options_.bus_address.empty() ? std::string("system bus")
                                      : "bus " + common::printable(options_.bus_address, 120);
}

/// Connects and has the listener install its signal matches; throws on failure. Before the loop
/// thread starts, or on it (after a lost bus).
void dbus_connection::open() {
  if (!options_.bus_address.empty()) check_unix_socket(options_.bus_address);
  conn_ = options_.bus_address.empty()
              ? sdbus::createSystemBusConnection()
              : sdbus::createSessionBusConnectionWithAddress(options_.bus_address);
  listener_.bus_opened();
  opened_ = true;
}

/// Drops the connection and everything learnt through it (no pushes).
void dbus_connection::close() {
  listener_.bus_closing();
  timers_.clear();
  proxies_.clear();
  matches_.clear();
  conn_.reset();
}

// -------------------------------------------------------------------------------------------------
// The loop thread.

void dbus_connection::run() {
  std::chrono::milliseconds bus_backoff{0};
  while (!stop_requested_.load()) {
    if (!conn_) {
      try {
        open();
        spdlog::info("{}: connected to the D-Bus {} again", source_name, bus_description());
        bus_backoff = 0ms;
      } catch (const std::exception& e) {
        bus_backoff = std::clamp(bus_backoff * 2, options_.reconnect_min, options_.reconnect_max);
        bus_errors_.warn("{}: cannot connect to the D-Bus {}: {}; retrying in {} ms", source_name,
                         bus_description(), e.what(), bus_backoff.count());
        close();
        wait_for_wake(static_cast<int>(bus_backoff.count()));
        continue;
      }
    }
    try {
      iterate();
    } catch (const std::exception& e) {
      // The bus went away (dbus-daemon restarted, socket closed): the devices are out of reach
      // until it is back.
      spdlog::error("{}: lost the D-Bus {}: {}; reconnecting", source_name, bus_description(),
                    e.what());
      listener_.bus_lost();
      close();
      bus_backoff = options_.reconnect_min;
      wait_for_wake(static_cast<int>(bus_backoff.count()));
    }
  }
}

/// One round: dispatch what arrived, run due timers, wait for the bus, a timer or stop().
void dbus_connection::iterate() {
  while (!stop_requested_.load() && conn_->processPendingRequest()) {
  }
  if (stop_requested_.load()) return;
  run_timers();
  if (opened_) {
    opened_ = false;
    listener_.bus_ready();
  }
  const auto poll_data = conn_->getEventLoopPollData();
  int timeout = poll_data.getPollTimeout();
  if (!timers_.empty()) {
    const auto until =
        std::chrono::ceil<std::chrono::milliseconds>(timers_.begin()->first - steady::now());
    const int t = static_cast<int>(std::max<std::int64_t>(until.count(), 0));
    timeout = timeout < 0 ? t : std::min(timeout, t);
  }
  pollfd fds[2] = {{poll_data.fd, poll_data.events, 0}, {wake_fd_, POLLIN, 0}};
  const int r = ::poll(fds, 2, timeout);
  if (r < 0 && errno != EINTR)
    throw std::runtime_error(std::string("poll: ") + std::strerror(errno));
  if (r > 0 && (fds[1].revents & POLLIN) != 0) drain_wake();
}

void dbus_connection::wait_for_wake(int timeout_ms) {
  pollfd fd{wake_fd_, POLLIN, 0};
  if (::poll(&fd, 1, timeout_ms) > 0) drain_wake();
}

void dbus_connection::wake() const noexcept {
  const std::uint64_t one = 1;
  [[maybe_unused]] const auto r = ::write(wake_fd_, &one, sizeof one);
}

void dbus_connection::drain_wake() const noexcept {
  std::uint64_t value = 0;
  [[maybe_unused]] const auto r = ::read(wake_fd_, &value, sizeof value);
}

void dbus_connection::add_timer(std::chrono::milliseconds delay, std::function<void()> f) {
  timers_.emplace(steady::now() + delay, std::move(f));
}

void dbus_connection::run_timers() {
  const auto now = steady::now();
  while (!timers_.empty() && timers_.begin()->first <= now) {
    auto f = std::move(timers_.begin()->second);
    timers_.erase(timers_.begin());
    guard("timer", f);
  }
}

// -------------------------------------------------------------------------------------------------
// Signals and calls.

void dbus_connection::add_match(const std::string& rule,
                                std::function<void(sdbus::Message&)> handler) {
  matches_.push_back(conn_->addMatch(
      rule, [this, h = std::move(handler)](sdbus::Message& m) { guard("signal", [&] { h(m); }); }));
}

sdbus::IProxy& dbus_connection::proxy(const std::string& path) {
  // Kept until the bus is closed: a proxy must outlive the replies to its calls.
  auto& p = proxies_[path];
  if (!p) p = sdbus::createProxy(*conn_, bluez_name, path);
  return *p;
}

void dbus_connection::call(const std::string& path, const char* iface, const char* method,
                           std::function<void(sdbus::MethodCall&)> args, reply_handler on_reply,
                           std::chrono::microseconds timeout) {
  try {
    auto& p = proxy(path);
    auto m = p.createMethodCall(iface, method);
    if (args) args(m);
    p.callMethod(
        m,
        [this, on_reply](sdbus::MethodReply& reply, const sdbus::Error* error) {
          guard("reply", [&] { on_reply(error ? nullptr : &reply, error); });
        },
        static_cast<std::uint64_t>(timeout.count()));
  } catch (const sdbus::Error& e) {
    guard("reply", [&] { on_reply(nullptr, &e); });
  }
}

}  // namespace vitals::adapters::ble::detail
