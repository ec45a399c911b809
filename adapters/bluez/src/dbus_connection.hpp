#pragma once
/// The BlueZ source's D-Bus connection (private): the bus, opened again with back-off when it is
/// lost, and the one thread that polls it, dispatches its messages and runs the source's timers.
/// Also the small D-Bus helpers that the discovery and the source share.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <sdbus-c++/sdbus-c++.h>
#include <spdlog/spdlog.h>

#include <vitals/adapters/bluez/bluez_source.hpp>

namespace vitals::adapters::ble::detail {

/// Log prefix of the BlueZ source.
inline constexpr std::string_view source_name = "bluez";

/// The bus name of bluetoothd.
inline constexpr const char* bluez_name = "org.bluez";

using properties = std::map<std::string, sdbus::Variant>;
using interface_map = std::map<std::string, properties>;
using managed_objects = std::map<sdbus::ObjectPath, interface_map>;

/// A property of type T from a property map, if present with that type.
template <class T>
std::optional<T> property(const properties& p, const std::string& name) {
  const auto it = p.find(name);
  if (it == p.end() || !it->second.template containsValueOfType<T>()) return std::nullopt;
  return it->second.template get<T>();
}

/// What an sdbus error says, for a log line: its name, plus its message at debug level only
/// (a message may quote an object path, which holds the device address).
std::string describe(const sdbus::Error& e);

/// True when the error says that nobody owns the name called (bluetoothd is not running).
bool is_absent(const sdbus::Error& e);

/// Rate-limited warnings for one kind of D-Bus trouble: the first, then at most one per interval
/// with a count of those held back.
class throttled_warning {
 public:
  template <class... Args>
  void warn(fmt::format_string<Args...> format, Args&&... args) {
    const auto now = std::chrono::steady_clock::now();
    auto line = fmt::format(format, std::forward<Args>(args)...);
    if (now < next_) {
      ++suppressed_;
      spdlog::debug("{}", line);
      return;
    }
    if (suppressed_ > 0) line += fmt::format(" ({} more like this in the last 30 s)", suppressed_);
    spdlog::warn("{}", line);
    suppressed_ = 0;
    next_ = now + std::chrono::seconds(30);
  }

 private:
  std::chrono::steady_clock::time_point next_{};
  std::uint64_t suppressed_ = 0;
};

/// The connection to the bus and its event-loop thread. start() and stop() may be called from
/// any thread (serialised); everything else runs on the loop thread, which alone touches the
/// connection, its proxies and its timers while it runs.
class dbus_connection {
 public:
  /// What the connection tells its owner. Called on the loop thread, or from start() and stop()
  /// while the loop thread does not run.
  class listener {
   public:
    /// The bus is open: install the signal matches (add_match). Throwing fails the open.
    virtual void bus_opened() = 0;
    /// The first loop round after an open, once the matches are in place and pending messages
    /// and due timers have run: list what is on the bus.
    virtual void bus_ready() = 0;
    /// The bus was lost while running (the connection is closed right after).
    virtual void bus_lost() = 0;
    /// The connection is about to be dropped: forget what was learnt through it (no pushes).
    virtual void bus_closing() = 0;

   protected:
    ~listener() = default;
  };

  /// The reply to a call(): exactly one of `reply` and `error` is set.
  using reply_handler = std::function<void(sdbus::MethodReply* reply, const sdbus::Error* error)>;

  /// `options` (bus address, reconnect back-off) and `l` must outlive the connection.
  dbus_connection(const bluez_options& options, listener& l);
  ~dbus_connection();
  dbus_connection(const dbus_connection&) = delete;
  dbus_connection& operator=(const dbus_connection&) = delete;

  /// Opens the bus and starts the loop thread; throws std::runtime_error when the bus cannot be
  /// reached. No effect while running.
  void start();
  /// Leaves the loop, joins its thread and closes the bus. Idempotent.
  void stop();

  // Loop thread only.

  /// Adds a signal match for as long as this connection is open; `handler` runs guarded.
  void add_match(const std::string& rule, std::function<void(sdbus::Message&)> handler);
  /// Sends `method` to `path` on `iface` of org.bluez and hands the reply (or error) to
  /// `on_reply` on this thread; errors while sending are reported through `on_reply` too.
  void call(const std::string& path, const char* iface, const char* method,
            std::function<void(sdbus::MethodCall&)> args, reply_handler on_reply,
            std::chrono::microseconds timeout = std::chrono::microseconds(0));
  /// Runs `f` (guarded) on the loop thread once `delay` has passed; dropped when the bus closes.
  void add_timer(std::chrono::milliseconds delay, std::function<void()> f);
  /// Warnings about D-Bus errors, one rate limit for every part of the source.
  throttled_warning& errors() noexcept { return dbus_errors_; }
  /// "system bus" or "bus <address>", for log lines.
  std::string bus_description() const;

  /// Runs `f`, logging what it throws: nothing may escape into sd-bus's C code.
  template <class F>
  void guard(std::string_view what, F&& f) noexcept {
    try {
      f();
    } catch (const sdbus::Error& e) {
      dbus_errors_.warn("{}: D-Bus error in a {} handler: {}", source_name, what, describe(e));
    } catch (const std::exception& e) {
      dbus_errors_.warn("{}: error in a {} handler: {}", source_name, what, e.what());
    } catch (...) {
      dbus_errors_.warn("{}: unknown error in a {} handler", source_name, what);
    }
  }

 private:
  using steady = std::chrono::steady_clock;

  void open();
  void close();
  void run();
  void iterate();
  void run_timers();
  void wait_for_wake(int timeout_ms);
  void wake() const noexcept;
  void drain_wake() const noexcept;
  sdbus::IProxy& proxy(const std::string& path);

  // Set at construction.
  const bluez_options& options_;
  listener& listener_;

  // Lifecycle.
  std::mutex lifecycle_;
  std::thread thread_;
  std::atomic<bool> stop_requested_{false};
  int wake_fd_ = -1;

  // Loop-thread state (touched by start() before the thread starts and by stop() after it ended).
  std::unique_ptr<sdbus::IConnection> conn_;
  std::vector<sdbus::Slot> matches_;
  std::map<std::string, std::unique_ptr<sdbus::IProxy>> proxies_;
  std::multimap<steady::time_point, std::function<void()>> timers_;
  bool opened_ = false;  ///< bus_ready() is due
  throttled_warning dbus_errors_;
  throttled_warning bus_errors_;
};

}  // namespace vitals::adapters::ble::detail
