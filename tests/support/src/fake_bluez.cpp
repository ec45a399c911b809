#include <vitals/test/fake_bluez.hpp>

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <sdbus-c++/sdbus-c++.h>

#include <vitals/test/mosquitto_broker.hpp>  // eventually()

namespace vitals::test {

namespace {

constexpr const char* bluez_name = "org.bluez";
constexpr const char* device_iface = "org.bluez.Device1";
constexpr const char* service_iface = "org.bluez.GattService1";
constexpr const char* char_iface = "org.bluez.GattCharacteristic1";

}  // namespace

// -------------------------------------------------------------------------------------------------
// private_bus

private_bus::private_bus(std::chrono::milliseconds timeout) {
  const auto socket = dir_.path() / "bus";
  const auto log = dir_.path() / "dbus-daemon.log";
  process_ = std::make_unique<child_process>(
      std::vector<std::string>{VITALS_DBUS_DAEMON_PATH, "--session", "--nofork", "--print-address",
                               "--address=unix:path=" + socket.string()},
      log);
  // The address is the first line the daemon prints (stdout and stderr share the log).
  const bool up = eventually(
      [&] {
        const auto text = process_->log_text();
        const auto start = text.find("unix:");
        if (start == std::string::npos) return !process_->running();
        const auto end = text.find('\n', start);
        if (end == std::string::npos) return !process_->running();
        address_ = text.substr(start, end - start);
        return true;
      },
      timeout);
  if (!up || address_.empty() || !process_->running())
    throw std::runtime_error("dbus-daemon did not start; its log:\n" + process_->log_text());
}

private_bus::~private_bus() = default;  // child_process kills the daemon

void private_bus::kill() {
  process_->send_signal(SIGKILL);
  process_->wait_for(std::chrono::seconds(10));
}

std::string sig_uuid(std::uint16_t uuid16) {
  char text[40];
  std::snprintf(text, sizeof text, "0000%04x-0000-1000-8000-00805f9b34fb", uuid16);
  return text;
}

// -------------------------------------------------------------------------------------------------
// fake_bluez
//
// One mutex guards the connection and every piece of state. The loop thread holds it while it
// dispatches (so method handlers and property getters run with it held) and releases it while it
// polls; the test-facing methods take it, act on the connection (emit signals), and wake the
// loop so that it recomputes what to poll for.

struct fake_bluez::impl {
  struct device {
    std::string address;
    bool connected = false;
    bool resolved = false;
    int fail_connects = 0;
    int connect_calls = 0;
    int disconnect_calls = 0;
    int stalled_resolves = 0;
    int next_handle = 1;
    std::unique_ptr<sdbus::IObject> object;
  };
  struct service {
    std::string uuid;
    std::string device_path;
    std::unique_ptr<sdbus::IObject> object;
  };
  struct characteristic {
    std::string uuid;
    std::string service_path;
    std::string device_path;
    std::vector<std::uint8_t> value;
    bool notifying = false;
    int fail_start_notify = 0;
    int start_notify_calls = 0;
    int read_value_calls = 0;
    std::unique_ptr<sdbus::IObject> object;
  };

  explicit impl(const std::string& address, bool own) {
    wake_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wake_fd < 0) throw std::runtime_error("fake_bluez: eventfd failed");
    conn = sdbus::createSessionBusConnectionWithAddress(address);
    root = sdbus::createObject(*conn, "/");
    root->addObjectManager();
    if (own) conn->requestName(bluez_name);
    thread = std::thread([this] { run(); });
  }

  ~impl() {
    stop.store(true);
    wake();
    thread.join();
    std::lock_guard lock(mutex);
    chars.clear();
    services.clear();
    devices.clear();
    root.reset();
    conn.reset();
    ::close(wake_fd);
  }

  void run() {
    while (!stop.load()) {
      sdbus::IConnection::PollData pd{};
      {
        std::lock_guard lock(mutex);
        try {
          while (conn->processPendingRequest()) {
          }
          pd = conn->getEventLoopPollData();
        } catch (const std::exception&) {
          return;  // the bus went away: the test will notice
        }
      }
      pollfd fds[2] = {{pd.fd, pd.events, 0}, {wake_fd, POLLIN, 0}};
      if (::poll(fds, 2, pd.getPollTimeout()) > 0 && (fds[1].revents & POLLIN) != 0) {
        std::uint64_t v = 0;
        [[maybe_unused]] auto r = ::read(wake_fd, &v, sizeof v);
      }
    }
  }

  void wake() {
    const std::uint64_t one = 1;
    [[maybe_unused]] auto r = ::write(wake_fd, &one, sizeof one);
  }

  /// Runs `f` with the lock held, then wakes the loop.
  template <class F>
  auto locked(F&& f) {
    struct waker {
      impl* self;
      ~waker() { self->wake(); }
    } w{this};
    std::lock_guard lock(mutex);
    return f();
  }

  device& dev(const std::string& path) {
    const auto it = devices.find(path);
    if (it == devices.end()) throw std::invalid_argument("fake_bluez: no device " + path);
    return it->second;
  }
  characteristic& chr(const std::string& path) {
    const auto it = chars.find(path);
    if (it == chars.end()) throw std::invalid_argument("fake_bluez: no characteristic " + path);
    return it->second;
  }

  // The following run with the lock held.

  std::string add_device(const std::string& address, bool connected, const std::string& adapter) {
    std::string path = "/org/bluez/" + adapter + "/dev_" + address;
    std::replace(path.begin(), path.end(), ':', '_');
    auto& d = devices[path];
    d.address = address;
    d.connected = d.resolved = connected;
    d.object = sdbus::createObject(*conn, path);
    auto& o = *d.object;
    o.registerProperty("Address").onInterface(device_iface).withGetter([this, path] {
      return dev(path).address;
    });
    o.registerProperty("Adapter").onInterface(device_iface).withGetter([adapter] {
      return sdbus::ObjectPath("/org/bluez/" + adapter);
    });
    o.registerProperty("Connected").onInterface(device_iface).withGetter([this, path] {
      return dev(path).connected;
    });
    o.registerProperty("ServicesResolved").onInterface(device_iface).withGetter([this, path] {
      return dev(path).resolved;
    });
    o.registerMethod("Connect").onInterface(device_iface).implementedAs([this, path] {
      auto& d = dev(path);
      ++d.connect_calls;
      if (d.fail_connects > 0) {
        --d.fail_connects;
        throw sdbus::Error("org.bluez.Error.Failed", "Page Timeout");
      }
      if (d.connected) throw sdbus::Error("org.bluez.Error.AlreadyConnected", "Already Connected");
      set_connected(path, true);
    });
    o.registerMethod("Disconnect").onInterface(device_iface).implementedAs([this, path] {
      ++dev(path).disconnect_calls;
      set_connected(path, false);
    });
    o.finishRegistration();
    o.emitInterfacesAddedSignal({device_iface});
    return path;
  }

  std::string add_characteristic(const std::string& device_path, const std::string& uuid,
                                 std::vector<std::uint8_t> value) {
    auto& d = dev(device_path);
    char name[32];
    std::snprintf(name, sizeof name, "/service%04x", d.next_handle);
    const std::string service_path = device_path + name;
    std::snprintf(name, sizeof name, "/char%04x", d.next_handle + 1);
    const std::string path = service_path + name;
    d.next_handle += 2;

    auto& s = services[service_path];
    s.uuid = sig_uuid(0x1800);
    s.device_path = device_path;
    s.object = sdbus::createObject(*conn, service_path);
    s.object->registerProperty("UUID").onInterface(service_iface).withGetter([this, service_path] {
      return services.at(service_path).uuid;
    });
    s.object->registerProperty("Device").onInterface(service_iface).withGetter([device_path] {
      return sdbus::ObjectPath(device_path);
    });
    s.object->registerProperty("Primary").onInterface(service_iface).withGetter([] {
      return true;
    });
    s.object->finishRegistration();
    s.object->emitInterfacesAddedSignal({service_iface});

    auto& c = chars[path];
    c.uuid = uuid;
    c.service_path = service_path;
    c.device_path = device_path;
    c.value = std::move(value);
    c.object = sdbus::createObject(*conn, path);
    auto& o = *c.object;
    o.registerProperty("UUID").onInterface(char_iface).withGetter([this, path] {
      return chr(path).uuid;
    });
    o.registerProperty("Service").onInterface(char_iface).withGetter([service_path] {
      return sdbus::ObjectPath(service_path);
    });
    o.registerProperty("Value").onInterface(char_iface).withGetter([this, path] {
      return chr(path).value;
    });
    o.registerProperty("Notifying").onInterface(char_iface).withGetter([this, path] {
      return chr(path).notifying;
    });
    o.registerProperty("Flags").onInterface(char_iface).withGetter([] {
      return std::vector<std::string>{"read", "notify", "indicate"};
    });
    o.registerMethod("StartNotify").onInterface(char_iface).implementedAs([this, path] {
      auto& ch = chr(path);
      ++ch.start_notify_calls;
      if (!dev(ch.device_path).connected)
        throw sdbus::Error("org.bluez.Error.Failed", "Not connected");
      if (ch.fail_start_notify > 0) {
        --ch.fail_start_notify;
        throw sdbus::Error("org.bluez.Error.InProgress", "In Progress");
      }
      if (!ch.notifying) {
        ch.notifying = true;
        chr(path).object->emitPropertiesChangedSignal(char_iface, {"Notifying"});
      }
    });
    o.registerMethod("StopNotify").onInterface(char_iface).implementedAs([this, path] {
      auto& ch = chr(path);
      if (ch.notifying) {
        ch.notifying = false;
        ch.object->emitPropertiesChangedSignal(char_iface, {"Notifying"});
      }
    });
    // Registered by signature: the a{sv} options are not read (no sdbus::Variant on this thread;
    // see the note on sdbus::Variant below).
    o.registerMethod(char_iface, "ReadValue", "a{sv}", "ay", [this, path](sdbus::MethodCall call) {
      auto& ch = chr(path);
      ++ch.read_value_calls;
      if (!dev(ch.device_path).connected)
        throw sdbus::Error("org.bluez.Error.Failed", "Not connected");
      auto reply = call.createReply();
      reply << ch.value;
      reply.send();
    });
    o.finishRegistration();
    o.emitInterfacesAddedSignal({char_iface});
    return path;
  }

  void set_connected(const std::string& path, bool connected) {
    auto& d = dev(path);
    if (connected) {
      if (!d.connected) {
        d.connected = true;
        d.object->emitPropertiesChangedSignal(device_iface, {"Connected"});
      }
      if (d.stalled_resolves > 0) {  // service discovery never finishes on this connection
        --d.stalled_resolves;
        return;
      }
      if (!d.resolved) {
        d.resolved = true;
        d.object->emitPropertiesChangedSignal(device_iface, {"ServicesResolved"});
      }
      return;
    }
    for (auto& [char_path, ch] : chars) {
      if (ch.device_path != path || !ch.notifying) continue;
      ch.notifying = false;
      ch.object->emitPropertiesChangedSignal(char_iface, {"Notifying"});
    }
    if (d.resolved) {
      d.resolved = false;
      d.object->emitPropertiesChangedSignal(device_iface, {"ServicesResolved"});
    }
    if (d.connected) {
      d.connected = false;
      d.object->emitPropertiesChangedSignal(device_iface, {"Connected"});
    }
  }

  std::unique_ptr<sdbus::IConnection> conn;
  mutable std::mutex mutex;
  std::thread thread;
  std::atomic<bool> stop{false};
  int wake_fd = -1;
  std::unique_ptr<sdbus::IObject> root;
  std::map<std::string, device> devices;
  std::map<std::string, service> services;
  std::map<std::string, characteristic> chars;
};

// Note: sdbus-c++ 1.x builds every sdbus::Variant on one static pseudo bus shared by all threads,
// and sd-bus is not thread-safe. The BlueZ source under test builds Variants on its own loop
// thread, so this fake never builds one (properties are serialised by sd-bus through the getters,
// and ReadValue's options are left unread).

fake_bluez::fake_bluez(const std::string& bus_address, bool own_name)
    : impl_(std::make_unique<impl>(bus_address, own_name)) {}

fake_bluez::~fake_bluez() = default;

void fake_bluez::own_name() {
  impl_->locked([&] { impl_->conn->requestName(bluez_name); });
}

void fake_bluez::release_name() {
  impl_->locked([&] { impl_->conn->releaseName(bluez_name); });
}

std::string fake_bluez::add_device(const std::string& address, bool connected,
                                   const std::string& adapter) {
  return impl_->locked([&] { return impl_->add_device(address, connected, adapter); });
}

std::string fake_bluez::add_characteristic(const std::string& device_path, const std::string& uuid,
                                           std::vector<std::uint8_t> value) {
  return impl_->locked(
      [&] { return impl_->add_characteristic(device_path, uuid, std::move(value)); });
}

bool fake_bluez::notify(const std::string& char_path, const std::vector<std::uint8_t>& value) {
  return impl_->locked([&] {
    auto& c = impl_->chr(char_path);
    if (!c.notifying) return false;
    c.value = value;
    c.object->emitPropertiesChangedSignal(char_iface, {"Value"});
    return true;
  });
}

void fake_bluez::set_value(const std::string& char_path, const std::vector<std::uint8_t>& value) {
  impl_->locked([&] { impl_->chr(char_path).value = value; });
}

void fake_bluez::set_connected(const std::string& device_path, bool connected) {
  impl_->locked([&] { impl_->set_connected(device_path, connected); });
}

void fake_bluez::fail_connects(const std::string& device_path, int n) {
  impl_->locked([&] { impl_->dev(device_path).fail_connects = n; });
}

void fake_bluez::fail_start_notify(const std::string& char_path, int n) {
  impl_->locked([&] { impl_->chr(char_path).fail_start_notify = n; });
}

void fake_bluez::stall_resolves(const std::string& device_path, int n) {
  impl_->locked([&] { impl_->dev(device_path).stalled_resolves = n; });
}

int fake_bluez::disconnect_calls(const std::string& device_path) const {
  std::lock_guard lock(impl_->mutex);
  return impl_->dev(device_path).disconnect_calls;
}

bool fake_bluez::connected(const std::string& device_path) const {
  std::lock_guard lock(impl_->mutex);
  return impl_->dev(device_path).connected;
}

bool fake_bluez::notifying(const std::string& char_path) const {
  std::lock_guard lock(impl_->mutex);
  return impl_->chr(char_path).notifying;
}

int fake_bluez::connect_calls(const std::string& device_path) const {
  std::lock_guard lock(impl_->mutex);
  return impl_->dev(device_path).connect_calls;
}

int fake_bluez::start_notify_calls(const std::string& char_path) const {
  std::lock_guard lock(impl_->mutex);
  return impl_->chr(char_path).start_notify_calls;
}

int fake_bluez::read_value_calls(const std::string& char_path) const {
  std::lock_guard lock(impl_->mutex);
  return impl_->chr(char_path).read_value_calls;
}

}  // namespace vitals::test
