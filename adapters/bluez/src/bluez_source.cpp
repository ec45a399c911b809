#include <vitals/adapters/bluez/bluez_source.hpp>

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <functional>
#include <iterator>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <thread>
#include <unordered_map>

#include <fmt/format.h>
#include <sdbus-c++/sdbus-c++.h>
#include <spdlog/spdlog.h>

#include <vitals/adapters/ble/frame_samples.hpp>

#include <vitals/adapters/common/subscriber.hpp>

namespace vitals::adapters::ble {

namespace {

using namespace std::chrono_literals;
using core::reject_reason;
using steady = std::chrono::steady_clock;

/// Log prefix.
constexpr std::string_view source_name = "bluez";

constexpr const char* bluez_name = "org.bluez";
constexpr const char* device_iface = "org.bluez.Device1";
constexpr const char* char_iface = "org.bluez.GattCharacteristic1";

/// Longest characteristic value accepted (the ATT maximum).
constexpr std::size_t max_value_bytes = 512;

using properties = std::map<std::string, sdbus::Variant>;
using interface_map = std::map<std::string, properties>;
using managed_objects = std::map<sdbus::ObjectPath, interface_map>;

[[noreturn]] void bad_option(std::string_view what) {
  throw std::invalid_argument("bluez: " + std::string(what));
}

/// The device object a characteristic belongs to: /org/bluez/<adapter>/<device>, the first
/// four path elements; empty when `path` is not that deep.
std::string device_path_of(std::string_view path) {
  std::size_t pos = 0;
  for (int i = 0; i < 4; ++i) {
    pos = path.find('/', pos + 1);
    if (pos == std::string_view::npos) return {};
  }
  return std::string(path.substr(0, pos));
}

std::string hex_of(std::span<const std::uint8_t> bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const auto b : bytes) fmt::format_to(std::back_inserter(out), "{:02x}", b);
  return out;
}

/// A property of type T from a property map, if present with that type.
template <class T>
std::optional<T> property(const properties& p, const std::string& name) {
  const auto it = p.find(name);
  if (it == p.end() || !it->second.template containsValueOfType<T>()) return std::nullopt;
  return it->second.template get<T>();
}

/// A configured device.
struct device_config {
  std::string address;  ///< normalised
  core::short_id patient;
  core::short_id device;
  crc_mode cgm_crc = crc_mode::detect;
  std::size_t number = 0;  ///< 1-based position in [[ble.devices]], for logs without addresses
  // Learnt while running (loop thread):
  vital_set kinds = 0;                           ///< vitals seen from it
  std::optional<core::timestamp> session_start;  ///< CGM session start (0x2AAA or config)
};

/// An org.bluez.Device1 object of a configured device.
struct device_object {
  std::uint64_t id = 0;  ///< tells a re-added object from the one a reply was meant for
  std::string path;
  std::size_t config = 0;  ///< index into the configured devices
  bool connected = false;
  bool resolved = false;
  bool has_resolved = false;    ///< the object has ServicesResolved (BlueZ 5.43 and later)
  bool ready = false;           ///< connected, services resolved, notifications asked for
  std::optional<bool> link_up;  ///< the link state last reported (pushed) for it
  std::chrono::milliseconds backoff{0};
  bool connect_pending = false;  ///< a Connect() call is in flight
  std::uint64_t timer = 0;       ///< generation of the reconnect timer that counts
  bool timer_armed = false;
  std::uint64_t resolve_timer = 0;  ///< generation of the ServicesResolved watchdog that counts
  bool resolve_armed = false;
  std::uint64_t connect_attempts = 0;  ///< since it was last connected
};

/// An org.bluez.GattCharacteristic1 object of a characteristic vitalsd decodes.
struct char_object {
  std::string path;
  std::string device_path;
  characteristic c = characteristic::heart_rate_measurement;
  bool notify_requested = false;  ///< StartNotify() sent since the device became ready
  bool notifying = false;         ///< StartNotify() succeeded
  bool read_requested = false;    ///< (0x2AAA) ReadValue() sent since the device became ready
  std::chrono::milliseconds notify_backoff{0};  ///< after a failed StartNotify()
  std::uint64_t notify_timer = 0;  ///< generation of the StartNotify() retry that counts
};

/// Rate-limited warnings for one kind of D-Bus trouble: the first, then at most one per interval
/// with a count of those held back.
class throttled_warning {
 public:
  template <class... Args>
  void warn(fmt::format_string<Args...> format, Args&&... args) {
    const auto now = steady::now();
    auto line = fmt::format(format, std::forward<Args>(args)...);
    if (now < next_) {
      ++suppressed_;
      spdlog::debug("{}", line);
      return;
    }
    if (suppressed_ > 0) line += fmt::format(" ({} more like this in the last 30 s)", suppressed_);
    spdlog::warn("{}", line);
    suppressed_ = 0;
    next_ = now + 30s;
  }

 private:
  steady::time_point next_{};
  std::uint64_t suppressed_ = 0;
};

/// What an sdbus error says, cut and cleaned for a log line (BlueZ's messages name no device).
/// What an sdbus error says, for a log line: its name, plus its message at debug level only
/// (a message may quote an object path, which holds the device address).
std::string describe(const sdbus::Error& e) {
  auto text = common::printable(e.getName(), 80);
  if (spdlog::should_log(spdlog::level::debug))
    text += ": " + common::printable(e.getMessage(), 160);
  return text;
}

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

bool is_absent(const sdbus::Error& e) {
  return e.getName() == "org.freedesktop.DBus.Error.ServiceUnknown" ||
         e.getName() == "org.freedesktop.DBus.Error.NameHasNoOwner";
}

}  // namespace

struct bluez_source::impl {
  impl(bluez_options o, core::sample_sink& s, core::stats& st)
      : options(std::move(o)), sink(s), stats(st) {
    if (options.reconnect_min <= 0ms) bad_option("reconnect_min must be above 0");
    if (options.reconnect_max < options.reconnect_min)
      bad_option("reconnect_max must not be less than reconnect_min");
    if (options.resolve_timeout <= 0ms) bad_option("resolve_timeout must be above 0");
    for (const char ch : options.adapter) {
      const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                      (ch >= '0' && ch <= '9') || ch == '_';
      if (!ok) bad_option("adapter '" + options.adapter + "' is not an adapter name such as hci0");
    }
    for (const auto& d : options.devices) {
      const auto address = normalize_address(d.address);
      if (!address) bad_option("device address '" + d.address + "' is not a BLE address");
      if (by_address.contains(*address)) bad_option("duplicate device address '" + *address + "'");
      const auto patient = core::short_id::make(d.patient);
      const auto device =
          core::short_id::make(d.device.empty() ? default_device_id(*address) : d.device);
      if (!patient) bad_option("device " + *address + ": patient id empty or too long");
      if (!device) bad_option("device " + *address + ": device id empty or too long");
      device_config c;
      c.address = *address;
      c.patient = *patient;
      c.device = *device;
      c.cgm_crc = d.cgm_crc;
      c.number = configs.size() + 1;
      c.session_start = d.cgm_session_start;
      for (const auto& [handle, ch] : d.handles) c.kinds |= vital_bits(ch);
      by_address.emplace(*address, configs.size());
      configs.push_back(std::move(c));
    }
    prefix = "/org/bluez/";
    if (!options.adapter.empty()) prefix += options.adapter + "/";
  }

  ~impl() { stop(); }

  // ---------------------------------------------------------------------------------------------
  // Lifecycle (any thread, serialised by `lifecycle`).

  void start() {
    std::lock_guard lock(lifecycle);
    if (thread.joinable()) return;
    wake_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wake_fd < 0)
      throw std::runtime_error(std::string("bluez: eventfd: ") + std::strerror(errno));
    try {
      open_bus();
    } catch (const std::exception& e) {
      close_bus();
      ::close(wake_fd);
      wake_fd = -1;
      throw std::runtime_error(
          fmt::format("bluez: cannot connect to the D-Bus {}: {}", bus_description(), e.what()));
    }
    stop_requested.store(false);
    // Everything above happens before the thread starts; from now on only the thread touches the
    // connection and the state, until stop() has joined it.
    thread = std::thread([this] { run(); });
  }

  void stop() {
    std::lock_guard lock(lifecycle);
    if (!thread.joinable()) return;
    stop_requested.store(true);
    wake();
    thread.join();
    close_bus();
    ::close(wake_fd);
    wake_fd = -1;
  }

  void wake() const noexcept {
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto r = ::write(wake_fd, &one, sizeof one);
  }

  std::string bus_description() const {
    return options.bus_address.empty() ? std::string("system bus")
                                       : "bus " + common::printable(options.bus_address, 120);
  }

  /// Connects and installs the signal matches; throws on failure. Before the loop thread starts,
  /// or on it (after a lost bus).
  void open_bus() {
    if (!options.bus_address.empty()) check_unix_socket(options.bus_address);
    conn = options.bus_address.empty()
               ? sdbus::createSystemBusConnection()
               : sdbus::createSessionBusConnectionWithAddress(options.bus_address);
    auto guarded = [this](void (impl::*handler)(sdbus::Message&)) {
      return [this, handler](sdbus::Message& m) { guard("signal", [&] { (this->*handler)(m); }); };
    };
    matches.push_back(conn->addMatch(
        "type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',"
        "interface='org.freedesktop.DBus',member='NameOwnerChanged',arg0='org.bluez'",
        guarded(&impl::on_name_owner_changed)));
    matches.push_back(conn->addMatch(
        "type='signal',sender='org.bluez',path='/',interface='org.freedesktop.DBus.ObjectManager'",
        guarded(&impl::on_object_manager_signal)));
    const auto ns =
        options.adapter.empty() ? std::string("/org/bluez") : "/org/bluez/" + options.adapter;
    matches.push_back(conn->addMatch(
        "type='signal',sender='org.bluez',interface='org.freedesktop.DBus.Properties',"
        "member='PropertiesChanged',path_namespace='" +
            ns + "'",
        guarded(&impl::on_properties_changed)));
    need_discovery = true;
  }

  /// Drops the connection and everything learnt through it (no pushes).
  void close_bus() {
    forget_objects();
    timers.clear();
    proxies.clear();
    matches.clear();
    conn.reset();
  }

  // ---------------------------------------------------------------------------------------------
  // The loop thread.

  void run() {
    std::chrono::milliseconds bus_backoff{0};
    while (!stop_requested.load()) {
      if (!conn) {
        try {
          open_bus();
          spdlog::info("{}: connected to the D-Bus {} again", source_name, bus_description());
          bus_backoff = 0ms;
        } catch (const std::exception& e) {
          bus_backoff = std::clamp(bus_backoff * 2, options.reconnect_min, options.reconnect_max);
          bus_errors.warn("{}: cannot connect to the D-Bus {}: {}; retrying in {} ms", source_name,
                          bus_description(), e.what(), bus_backoff.count());
          close_bus();
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
        report_all_down();
        close_bus();
        bus_backoff = options.reconnect_min;
        wait_for_wake(static_cast<int>(bus_backoff.count()));
      }
    }
  }

  /// One round: dispatch what arrived, run due timers, wait for the bus, a timer or stop().
  void iterate() {
    while (!stop_requested.load() && conn->processPendingRequest()) {
    }
    if (stop_requested.load()) return;
    run_timers();
    if (need_discovery) {
      need_discovery = false;
      discover();
    }
    const auto poll_data = conn->getEventLoopPollData();
    int timeout = poll_data.getPollTimeout();
    if (!timers.empty()) {
      const auto until =
          std::chrono::ceil<std::chrono::milliseconds>(timers.begin()->first - steady::now());
      const int t = static_cast<int>(std::max<std::int64_t>(until.count(), 0));
      timeout = timeout < 0 ? t : std::min(timeout, t);
    }
    pollfd fds[2] = {{poll_data.fd, poll_data.events, 0}, {wake_fd, POLLIN, 0}};
    const int r = ::poll(fds, 2, timeout);
    if (r < 0 && errno != EINTR)
      throw std::runtime_error(std::string("poll: ") + std::strerror(errno));
    if (r > 0 && (fds[1].revents & POLLIN) != 0) drain_wake();
  }

  void wait_for_wake(int timeout_ms) {
    pollfd fd{wake_fd, POLLIN, 0};
    if (::poll(&fd, 1, timeout_ms) > 0) drain_wake();
  }

  void drain_wake() const noexcept {
    std::uint64_t value = 0;
    [[maybe_unused]] const auto r = ::read(wake_fd, &value, sizeof value);
  }

  void add_timer(std::chrono::milliseconds delay, std::function<void()> f) {
    timers.emplace(steady::now() + delay, std::move(f));
  }

  void run_timers() {
    const auto now = steady::now();
    while (!timers.empty() && timers.begin()->first <= now) {
      auto f = std::move(timers.begin()->second);
      timers.erase(timers.begin());
      guard("timer", f);
    }
  }

  /// Runs `f`, logging what it throws: nothing may escape into sd-bus's C code.
  template <class F>
  void guard(std::string_view what, F&& f) noexcept {
    try {
      f();
    } catch (const sdbus::Error& e) {
      dbus_errors.warn("{}: D-Bus error in a {} handler: {}", source_name, what, describe(e));
    } catch (const std::exception& e) {
      dbus_errors.warn("{}: error in a {} handler: {}", source_name, what, e.what());
    } catch (...) {
      dbus_errors.warn("{}: unknown error in a {} handler", source_name, what);
    }
  }

  sdbus::IProxy& proxy(const std::string& path) {
    // Kept until the bus is closed: a proxy must outlive the replies to its calls.
    auto& p = proxies[path];
    if (!p) p = sdbus::createProxy(*conn, bluez_name, path);
    return *p;
  }

  /// Sends `method` to `path` on `iface` and hands the reply (or error) to `on_reply` on this
  /// thread; errors while sending are reported through `on_reply` too.
  void call(const std::string& path, const char* iface, const char* method,
            std::function<void(sdbus::MethodCall&)> args,
            std::function<void(sdbus::MethodReply*, const sdbus::Error*)> on_reply,
            std::chrono::microseconds timeout = 0us) {
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

  // ---------------------------------------------------------------------------------------------
  // Discovery.

  void discover() {
    const auto generation = bluez_generation;
    call("/", "org.freedesktop.DBus.ObjectManager", "GetManagedObjects", {},
         [this, generation](sdbus::MethodReply* reply, const sdbus::Error* error) {
           if (generation != bluez_generation) return;  // org.bluez changed meanwhile
           if (error) {
             if (is_absent(*error)) {
               spdlog::warn(
                   "{}: org.bluez is not on the D-Bus {} (is bluetoothd running?); waiting for "
                   "it to appear",
                   source_name, bus_description());
               return;
             }
             discovery_backoff =
                 std::clamp(discovery_backoff * 2, options.reconnect_min, options.reconnect_max);
             dbus_errors.warn("{}: cannot list the org.bluez objects ({}); retrying in {} ms",
                              source_name, describe(*error), discovery_backoff.count());
             add_timer(discovery_backoff, [this, generation] {
               if (generation == bluez_generation) discover();
             });
             return;
           }
           discovery_backoff = 0ms;
           managed_objects objects;
           *reply >> objects;
           on_managed_objects(objects);
         });
  }

  void on_managed_objects(const managed_objects& objects) {
    // Characteristics first, so that a device knows its vitals when its state is reported.
    for (const auto& [path, ifaces] : objects) {
      const auto it = ifaces.find(char_iface);
      if (it != ifaces.end()) add_char(path, it->second);
    }
    std::size_t found = 0;
    for (const auto& [path, ifaces] : objects) {
      const auto it = ifaces.find(device_iface);
      if (it != ifaces.end() && add_device(path, it->second)) ++found;
    }
    // Again now that the devices are known: a cached CGM Session Start Time Value is only used
    // for a characteristic whose device is (add_char is idempotent).
    for (const auto& [path, ifaces] : objects) {
      const auto it = ifaces.find(char_iface);
      if (it != ifaces.end()) add_char(path, it->second);
    }
    spdlog::info("{}: org.bluez lists {} of the {} configured device(s){}", source_name, found,
                 configs.size(),
                 options.adapter.empty() ? std::string() : " under adapter " + options.adapter);
    update_active();
  }

  bool under_adapter(std::string_view path) const noexcept { return path.starts_with(prefix); }

  /// A Device1 object appeared (or was listed); true when it is a configured one.
  bool add_device(const std::string& path, const properties& props) {
    if (!under_adapter(path)) return false;
    const auto address_text = property<std::string>(props, "Address");
    const auto address = address_text ? normalize_address(*address_text) : std::nullopt;
    const auto cfg = address ? by_address.find(*address) : by_address.end();
    if (cfg == by_address.end()) {
      if (spdlog::should_log(spdlog::level::debug))
        spdlog::debug("{}: ignoring {} (not in [[ble.devices]])", source_name,
                      common::printable(path, 120));
      return false;
    }
    auto [it, added] = devices.try_emplace(path);
    auto& d = it->second;
    if (added) {
      d.id = ++next_object_id;
      d.path = path;
      d.config = cfg->second;
      spdlog::info("{}: found device #{} of [[ble.devices]]", source_name,
                   configs[d.config].number);
    }
    if (const auto c = property<bool>(props, "Connected")) d.connected = *c;
    const auto resolved = property<bool>(props, "ServicesResolved");
    d.has_resolved = resolved.has_value();
    // Without the property (an old BlueZ), services count as resolved once connected.
    d.resolved = resolved.value_or(d.connected);
    evaluate(d);
    return true;
  }

  /// A GattCharacteristic1 object appeared (or was listed).
  void add_char(const std::string& path, const properties& props) {
    if (!under_adapter(path)) return;
    const auto uuid = property<std::string>(props, "UUID");
    const auto c = uuid ? parse_characteristic(*uuid) : std::nullopt;
    if (!c) return;
    auto device_path = device_path_of(path);
    if (device_path.empty()) return;
    auto [it, added] = chars.try_emplace(path);
    auto& ch = it->second;
    if (added) {
      ch.path = path;
      ch.device_path = std::move(device_path);
      ch.c = *c;
    }
    auto* d = find_device(ch.device_path);
    if (d) configs[d->config].kinds |= vital_bits(ch.c);
    if (ch.c == characteristic::cgm_session_start_time && d) {
      // A cached value (BlueZ keeps the last one read): better than none until it is read again.
      if (const auto v = property<std::vector<std::uint8_t>>(props, "Value"); v && !v->empty())
        use_session_start(*d, *v, path);
    }
    if (d && d->ready) start_char(*d, ch);
  }

  device_object* find_device(const std::string& path) {
    const auto it = devices.find(path);
    return it == devices.end() ? nullptr : &it->second;
  }

  void on_object_manager_signal(sdbus::Message& m) {
    const auto member = m.getMemberName();
    sdbus::ObjectPath path;
    if (member == "InterfacesAdded") {
      interface_map ifaces;
      m >> path >> ifaces;
      if (const auto it = ifaces.find(char_iface); it != ifaces.end()) add_char(path, it->second);
      if (const auto it = ifaces.find(device_iface); it != ifaces.end())
        add_device(path, it->second);
      update_active();
    } else if (member == "InterfacesRemoved") {
      std::vector<std::string> ifaces;
      m >> path >> ifaces;
      for (const auto& i : ifaces) {
        if (i == char_iface) chars.erase(path);
        if (i == device_iface) remove_device(path);
      }
      update_active();
    }
  }

  void remove_device(const std::string& path) {
    auto* d = find_device(path);
    if (!d) return;
    spdlog::warn("{}: device #{} of [[ble.devices]] was removed from BlueZ", source_name,
                 configs[d->config].number);
    if (d->link_up != false) push_link(*d, core::condition_disconnected);
    devices.erase(path);  // pending replies and timers find it gone (or find a new id)
  }

  void on_name_owner_changed(sdbus::Message& m) {
    std::string name, old_owner, new_owner;
    m >> name >> old_owner >> new_owner;
    if (name != bluez_name) return;
    if (!old_owner.empty()) {
      spdlog::warn("{}: org.bluez left the D-Bus; its devices are reported disconnected",
                   source_name);
      report_all_down();
      forget_objects();
      update_active();
    }
    if (!new_owner.empty()) {
      spdlog::info("{}: org.bluez is on the D-Bus; listing its devices", source_name);
      ++bluez_generation;
      discover();
    }
  }

  /// Every device that was reported up is reported disconnected.
  void report_all_down() {
    for (auto& [path, d] : devices)
      if (d.link_up == true) push_link(d, core::condition_disconnected);
  }

  /// Forgets the objects of the current org.bluez (their timers and replies become no-ops).
  void forget_objects() {
    ++bluez_generation;
    devices.clear();
    chars.clear();
    update_active();
  }

  // ---------------------------------------------------------------------------------------------
  // Connection state.

  void on_properties_changed(sdbus::Message& m) {
    const auto path = m.getPath();
    std::string iface;
    properties changed;
    std::vector<std::string> invalidated;
    m >> iface >> changed >> invalidated;
    if (iface == device_iface) {
      auto* d = find_device(path);
      if (!d) return;
      if (const auto c = property<bool>(changed, "Connected")) {
        d->connected = *c;
        if (!*c || !d->has_resolved) d->resolved = *c;
      }
      if (const auto r = property<bool>(changed, "ServicesResolved")) d->resolved = *r;
      evaluate(*d);
      update_active();
    } else if (iface == char_iface) {
      const auto it = chars.find(path);
      if (it == chars.end()) return;
      if (const auto v = changed.find("Value"); v != changed.end()) on_value(it->second, v->second);
    }
  }

  /// Acts on a device's Connected / ServicesResolved state.
  void evaluate(device_object& d) {
    if (d.connected && d.resolved) {
      d.resolve_armed = false;
      ++d.resolve_timer;  // a pending watchdog no longer counts
      if (!d.ready) {
        d.ready = true;
        d.backoff = 0ms;
        d.timer_armed = false;
        ++d.timer;  // a pending reconnect timer no longer counts
        if (d.connect_attempts > 0 || d.link_up == false)
          spdlog::info("{}: device #{} of [[ble.devices]] connected", source_name,
                       configs[d.config].number);
        d.connect_attempts = 0;
        if (d.link_up != true) push_link(d, core::condition_none);
      }
      for (auto& [path, ch] : chars)
        if (ch.device_path == d.path) start_char(d, ch);
      return;
    }
    if (d.ready) {
      d.ready = false;
      for (auto& [path, ch] : chars) {
        if (ch.device_path != d.path) continue;
        ch.notify_requested = ch.notifying = ch.read_requested = false;
        ch.notify_backoff = 0ms;
        ++ch.notify_timer;  // a pending StartNotify() retry no longer counts
      }
    }
    if (d.connected) {  // connecting: services not resolved yet
      watch_resolve(d);
      return;
    }
    d.resolve_armed = false;
    ++d.resolve_timer;
    if (d.link_up != false) {
      if (d.link_up == true)
        spdlog::warn("{}: device #{} of [[ble.devices]] disconnected; reconnecting", source_name,
                     configs[d.config].number);
      push_link(d, core::condition_disconnected);
    }
    schedule_reconnect(d);
  }

  /// BlueZ can leave a device Connected with ServicesResolved false for good (a service
  /// discovery that hung); after resolve_timeout the connection is dropped, and the reconnect
  /// path makes a new one.
  void watch_resolve(device_object& d) {
    if (d.resolve_armed) return;
    d.resolve_armed = true;
    const auto generation = ++d.resolve_timer;
    add_timer(options.resolve_timeout, [this, path = d.path, id = d.id, generation] {
      auto* dev = find_device(path);
      if (!dev || dev->id != id || dev->resolve_timer != generation) return;
      dev->resolve_armed = false;
      if (!dev->connected || dev->resolved) return;
      connect_errors.warn(
          "{}: device #{} of [[ble.devices]] connected but its services were not resolved in {} "
          "ms; disconnecting to connect again",
          source_name, configs[dev->config].number, options.resolve_timeout.count());
      call(dev->path, device_iface, "Disconnect", {},
           [this, path, id](sdbus::MethodReply*, const sdbus::Error* error) {
             auto* d = find_device(path);
             if (!error || !d || d->id != id) return;
             dbus_errors.warn("{}: Disconnect() of device #{} failed ({}); trying again later",
                              source_name, configs[d->config].number, describe(*error));
             // Still connected without services: the watchdog runs again.
             if (d->connected && !d->resolved) watch_resolve(*d);
           });
    });
  }

  void schedule_reconnect(device_object& d) {
    if (d.connect_pending || d.timer_armed || d.connected) return;
    d.backoff =
        d.backoff == 0ms ? options.reconnect_min : std::min(d.backoff * 2, options.reconnect_max);
    d.timer_armed = true;
    const auto generation = ++d.timer;
    add_timer(d.backoff, [this, path = d.path, id = d.id, generation] {
      auto* dev = find_device(path);
      if (!dev || dev->id != id || dev->timer != generation) return;
      dev->timer_armed = false;
      connect(*dev);
    });
  }

  void connect(device_object& d) {
    if (d.connected || d.connect_pending) return;
    d.connect_pending = true;
    ++d.connect_attempts;
    if (spdlog::should_log(spdlog::level::debug))
      spdlog::debug("{}: Connect() to device #{} (attempt {})", source_name,
                    configs[d.config].number, d.connect_attempts);
    call(
        d.path, device_iface, "Connect", {},
        [this, path = d.path, id = d.id](sdbus::MethodReply*, const sdbus::Error* error) {
          auto* dev = find_device(path);
          if (!dev || dev->id != id) return;
          dev->connect_pending = false;
          if (error && error->getName() != "org.bluez.Error.AlreadyConnected") {
            const auto next = dev->backoff == 0ms
                                  ? options.reconnect_min
                                  : std::min(dev->backoff * 2, options.reconnect_max);
            // A device switched off for the night fails every attempt: the first failure and
            // every tenth are warnings, the rest debug lines.
            const auto n = dev->connect_attempts;
            const auto line = fmt::format(
                "{}: Connect() to device #{} of [[ble.devices]] failed ({}); attempt {}, next in "
                "{} ms",
                source_name, configs[dev->config].number, describe(*error), n, next.count());
            if (n == 1 || n % 10 == 0)
              connect_errors.warn("{}", line);
            else
              spdlog::debug("{}", line);
          }
          // Success shows as Connected = true; until it does, keep trying.
          if (!dev->connected) schedule_reconnect(*dev);
        },
        60s);
  }

  /// Asks a ready device's characteristic for notifications (or, 0x2AAA, reads it).
  void start_char(device_object& d, char_object& ch) {
    if (ch.c == characteristic::cgm_session_start_time) {
      if (ch.read_requested) return;
      ch.read_requested = true;
      call(
          ch.path, char_iface, "ReadValue",
          [](sdbus::MethodCall& m) { m << std::map<std::string, sdbus::Variant>{}; },
          [this, path = ch.path, id = d.id](sdbus::MethodReply* reply, const sdbus::Error* error) {
            auto* dev = find_device(device_path_of(path));
            if (!dev || dev->id != id) return;
            if (error) {
              dbus_errors.warn("{}: reading the CGM session start time of device #{} failed ({})",
                               source_name, configs[dev->config].number, describe(*error));
              return;
            }
            std::vector<std::uint8_t> value;
            *reply >> value;
            use_session_start(*dev, value, path);
          });
      return;
    }
    if (ch.notify_requested) return;
    ch.notify_requested = true;
    call(ch.path, char_iface, "StartNotify", {},
         [this, path = ch.path, id = d.id](sdbus::MethodReply*, const sdbus::Error* error) {
           const auto it = chars.find(path);
           auto* dev = find_device(device_path_of(path));
           if (it == chars.end() || !dev || dev->id != id || !it->second.notify_requested) return;
           auto& ch = it->second;
           if (error) {
             // Asked again with back-off while the device stays ready (and anew when it
             // reconnects).
             ch.notify_backoff = ch.notify_backoff == 0ms
                                     ? options.reconnect_min
                                     : std::min(ch.notify_backoff * 2, options.reconnect_max);
             dbus_errors.warn(
                 "{}: StartNotify() on a {} characteristic of device #{} failed ({}); retrying in "
                 "{} ms",
                 source_name, to_string(ch.c), configs[dev->config].number, describe(*error),
                 ch.notify_backoff.count());
             const auto generation = ++ch.notify_timer;
             add_timer(ch.notify_backoff, [this, path, id, generation] {
               const auto c = chars.find(path);
               auto* d = find_device(device_path_of(path));
               if (c == chars.end() || !d || d->id != id || !d->ready ||
                   c->second.notify_timer != generation || c->second.notifying)
                 return;
               c->second.notify_requested = false;
               start_char(*d, c->second);
             });
             return;
           }
           ch.notify_backoff = 0ms;
           ch.notifying = true;
           update_active();
         });
  }

  void update_active() {
    std::size_t n = 0;
    for (const auto& [path, d] : devices) {
      if (!d.ready) continue;
      const bool any = std::any_of(chars.begin(), chars.end(), [&](const auto& c) {
        return c.second.device_path == d.path && c.second.notifying;
      });
      if (any) ++n;
    }
    active.store(n, std::memory_order_relaxed);
  }

  // ---------------------------------------------------------------------------------------------
  // Values.

  void use_session_start(device_object& d, const std::vector<std::uint8_t>& value,
                         const std::string& path) {
    auto& cfg = configs[d.config];
    cgm_session_start_time t;
    const std::span<const std::uint8_t> bytes(value.data(), value.size());
    if (const auto e = decode(bytes, t)) {
      reject(reject_reason::bad_frame, fmt::format("cgm_session_start_time: {}", e->describe()),
             path, bytes);
      return;
    }
    if (!t.crc_ok) {
      reject(reject_reason::crc_mismatch, "CGM session start time with a wrong E2E-CRC dropped",
             path, bytes);
      return;
    }
    if (const auto start = session_start(t)) cfg.session_start = start;
  }

  void on_value(char_object& ch, const sdbus::Variant& v) {
    auto* d = find_device(ch.device_path);
    if (!d) return;
    // Only what we asked for: a Value changed by another client's read is not a notification.
    if (ch.c != characteristic::cgm_session_start_time && !ch.notify_requested) return;
    stats.messages_received.fetch_add(1, std::memory_order_relaxed);
    if (!v.containsValueOfType<std::vector<std::uint8_t>>()) {
      reject(reject_reason::wrong_type, "Value is not a byte array", ch.path, {});
      return;
    }
    const auto value = v.get<std::vector<std::uint8_t>>();
    const std::span<const std::uint8_t> bytes(value.data(), value.size());
    if (ch.c == characteristic::cgm_session_start_time) {
      use_session_start(*d, value, ch.path);
      return;
    }
    if (value.size() > max_value_bytes) {
      reject(reject_reason::too_large, "value longer than the ATT maximum of 512 bytes", ch.path,
             bytes);
      return;
    }
    auto& cfg = configs[d->config];
    if (const auto e = decode(ch.c, bytes, frame, cfg.cgm_crc)) {
      reject(reject_reason::bad_frame, fmt::format("{}: {}", to_string(ch.c), e->describe()),
             ch.path, bytes);
      return;
    }
    frame_context ctx;
    ctx.patient = cfg.patient;
    ctx.device = cfg.device;
    ctx.receive_time = core::now_ms();
    ctx.cgm_session_start = cfg.session_start;
    samples.clear();
    const auto outcome = to_samples(frame, ctx, samples);
    for (const auto& s : samples) {
      cfg.kinds |= vital_bit(s.kind);
      push(s);
    }
    if (!samples.empty() && (samples.front().quality & core::quality_no_value) == 0)
      d->link_up = true;  // a reading ends the link conditions (core/condition_monitor.hpp)
    if (outcome.crc_failures > 0) {
      stats.rejected[static_cast<std::size_t>(reject_reason::crc_mismatch)].fetch_add(
          outcome.crc_failures - 1, std::memory_order_relaxed);
      reject(reject_reason::crc_mismatch,
             fmt::format("{} CGM record(s) with a wrong E2E-CRC dropped", outcome.crc_failures),
             ch.path, bytes);
    }
  }

  void reject(reject_reason reason, std::string_view why, const std::string& path,
              std::span<const std::uint8_t> bytes) {
    stats.count_reject(reason);
    // The object path holds the device address and the value is health data: debug level only.
    const auto hex = spdlog::should_log(spdlog::level::debug) ? hex_of(bytes) : std::string();
    rejects.note(reason, why, path, hex);
  }

  /// One link-state report per vital the device carries (heart rate when none is known yet).
  void push_link(device_object& d, std::uint16_t link) {
    auto& cfg = configs[d.config];
    vital_set kinds = cfg.kinds;
    for (const auto& [path, ch] : chars)
      if (ch.device_path == d.path) kinds |= vital_bits(ch.c);
    std::vector<core::sample> reports;
    link_state_samples(cfg.patient, cfg.device, kinds, link, core::now_ms(), reports);
    for (const auto& s : reports) push(s);
    d.link_up = link == core::condition_none;
  }

  void push(const core::sample& s) {
    // Bounded wait inside the sink: the back-pressure that slows this loop.
    sink.push(s);
    stats.samples_decoded.fetch_add(1, std::memory_order_relaxed);
  }

  // Set at construction, read-only afterwards.
  bluez_options options;
  core::sample_sink& sink;
  core::stats& stats;
  std::unordered_map<std::string, std::size_t> by_address;
  std::string prefix;  ///< "/org/bluez/<adapter>/" or "/org/bluez/"

  // Lifecycle.
  std::mutex lifecycle;
  std::thread thread;
  std::atomic<bool> stop_requested{false};
  int wake_fd = -1;
  std::atomic<std::size_t> active{0};

  // Loop-thread state (touched by start() before the thread starts and by stop() after it ended).
  std::vector<device_config> configs;
  std::unique_ptr<sdbus::IConnection> conn;
  std::vector<sdbus::Slot> matches;
  std::map<std::string, std::unique_ptr<sdbus::IProxy>> proxies;
  std::multimap<steady::time_point, std::function<void()>> timers;
  std::map<std::string, device_object> devices;
  std::map<std::string, char_object> chars;
  std::uint64_t next_object_id = 0;
  std::uint64_t bluez_generation = 0;
  bool need_discovery = false;
  std::chrono::milliseconds discovery_backoff{0};
  decoded_frame frame;  // large (a CGM notification holds up to 85 records): reused
  std::vector<core::sample> samples;
  common::reject_log rejects{std::string(source_name)};
  throttled_warning dbus_errors;
  throttled_warning connect_errors;
  throttled_warning bus_errors;
};

bluez_source::bluez_source(bluez_options options, core::sample_sink& sink, core::stats& stats)
    : impl_(std::make_unique<impl>(std::move(options), sink, stats)) {}

bluez_source::~bluez_source() = default;

void bluez_source::start() {
  impl_->start();
}

void bluez_source::stop() {
  impl_->stop();
}

std::size_t bluez_source::active_devices() const noexcept {
  return impl_->active.load(std::memory_order_relaxed);
}

std::string_view bluez_source::name() const noexcept {
  return impl_->options.name;
}

core::plugin_status bluez_source::status() const {
  const auto n = active_devices();
  return {true, fmt::format("{} device(s) active", n)};
}

}  // namespace vitals::adapters::ble
