#include <vitals/adapters/bluez/bluez_source.hpp>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <iterator>
#include <map>
#include <span>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <vitals/adapters/ble/frame_samples.hpp>
#include <vitals/adapters/common/subscriber.hpp>

#include "dbus_connection.hpp"
#include "object_discovery.hpp"

// The source is three parts, all on one loop thread: the D-Bus connection (dbus_connection.*:
// the bus, its poll loop and timers), the object discovery (object_discovery.*: which org.bluez
// objects are ours) and, here, what is done with them: each device's state machine (Connect()
// with back-off, StartNotify() and its retries, the ServicesResolved watchdog) and the decoding
// and pushing of values.

namespace vitals::adapters::ble {

namespace {

using namespace std::chrono_literals;
using core::reject_reason;
using detail::char_iface;
using detail::char_object;
using detail::device_iface;
using detail::device_object;
using detail::source_name;

/// Longest characteristic value accepted (the ATT maximum).
constexpr std::size_t max_value_bytes = 512;

std::string hex_of(std::span<const std::uint8_t> bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const auto b : bytes) fmt::format_to(std::back_inserter(out), "{:02x}", b);
  return out;
}

/// The options, once the back-off and watchdog times are checked (the discovery checks the
/// adapter and the devices).
bluez_options checked(bluez_options o) {
  if (o.reconnect_min <= 0ms) detail::bad_option("reconnect_min must be above 0");
  if (o.reconnect_max < o.reconnect_min)
    detail::bad_option("reconnect_max must not be less than reconnect_min");
  if (o.resolve_timeout <= 0ms) detail::bad_option("resolve_timeout must be above 0");
  return o;
}

}  // namespace

struct bluez_source::impl final : detail::object_events {
  impl(bluez_options o, core::sample_sink& s, core::stats& st)
      : options(checked(std::move(o))),
        sink(s),
        stats(st),
        objects(options, bus, *this),
        bus(options, objects) {}

  ~impl() { bus.stop(); }

  // ---------------------------------------------------------------------------------------------
  // What the discovery reports.

  void device_changed(device_object& d) override { evaluate(d); }

  void device_removing(device_object& d) override {
    if (d.link_up != false) push_link(d, core::condition_disconnected);
  }

  void characteristic_found(device_object* d, char_object& ch,
                            const detail::properties& props) override {
    if (d) objects.config(*d).kinds |= vital_bits(ch.c);
    if (ch.c == characteristic::cgm_session_start_time && d) {
      // A cached value (BlueZ keeps the last one read): better than none until it is read again.
      if (const auto v = detail::property<std::vector<std::uint8_t>>(props, "Value");
          v && !v->empty())
        use_session_start(*d, *v, ch.path);
    }
    if (d && d->ready) start_char(*d, ch);
  }

  void value_changed(char_object& ch, const sdbus::Variant& v) override { on_value(ch, v); }

  /// Every device that was reported up is reported disconnected.
  void all_unreachable() override {
    for (auto& [path, d] : objects.devices())
      if (d.link_up == true) push_link(d, core::condition_disconnected);
  }

  void objects_changed() override { update_active(); }

  // ---------------------------------------------------------------------------------------------
  // Connection state.

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
          spdlog::info("{}: device #{} of [[sources.devices]] connected", source_name,
                       objects.config(d).number);
        d.connect_attempts = 0;
        if (d.link_up != true) push_link(d, core::condition_none);
      }
      for (auto& [path, ch] : objects.chars())
        if (ch.device_path == d.path) start_char(d, ch);
      return;
    }
    if (d.ready) {
      d.ready = false;
      for (auto& [path, ch] : objects.chars()) {
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
        spdlog::warn("{}: device #{} of [[sources.devices]] disconnected; reconnecting",
                     source_name, objects.config(d).number);
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
    bus.add_timer(options.resolve_timeout, [this, path = d.path, id = d.id, generation] {
      auto* dev = objects.find_device(path);
      if (!dev || dev->id != id || dev->resolve_timer != generation) return;
      dev->resolve_armed = false;
      if (!dev->connected || dev->resolved) return;
      connect_errors.warn(
          "{}: device #{} of [[sources.devices]] connected but its services were not resolved in "
          "{} "
          "ms; disconnecting to connect again",
          source_name, objects.config(*dev).number, options.resolve_timeout.count());
      bus.call(dev->path, device_iface, "Disconnect", {},
               [this, path, id](sdbus::MethodReply*, const sdbus::Error* error) {
                 auto* d = objects.find_device(path);
                 if (!error || !d || d->id != id) return;
                 bus.errors().warn("{}: Disconnect() of device #{} failed ({}); trying again later",
                                   source_name, objects.config(*d).number,
                                   detail::describe(*error));
                 // Still connected without services: the watchdog runs again.
                 if (d->connected && !d->resolved) watch_resolve(*d);
               });
    });
  }

  /// The next back-off after `current`: reconnect_min, then doubling up to reconnect_max.
  std::chrono::milliseconds next_backoff(std::chrono::milliseconds current) const noexcept {
    return current == 0ms ? options.reconnect_min : std::min(current * 2, options.reconnect_max);
  }

  void schedule_reconnect(device_object& d) {
    if (d.connect_pending || d.timer_armed || d.connected) return;
    d.backoff = next_backoff(d.backoff);
    d.timer_armed = true;
    const auto generation = ++d.timer;
    bus.add_timer(d.backoff, [this, path = d.path, id = d.id, generation] {
      auto* dev = objects.find_device(path);
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
                    objects.config(d).number, d.connect_attempts);
    bus.call(
        d.path, device_iface, "Connect", {},
        [this, path = d.path, id = d.id](sdbus::MethodReply*, const sdbus::Error* error) {
          auto* dev = objects.find_device(path);
          if (!dev || dev->id != id) return;
          dev->connect_pending = false;
          if (error && error->getName() != "org.bluez.Error.AlreadyConnected")
            connect_failed(*dev, *error);
          // Success shows as Connected = true; until it does, keep trying.
          if (!dev->connected) schedule_reconnect(*dev);
        },
        60s);
  }

  void connect_failed(const device_object& d, const sdbus::Error& error) {
    // A device switched off for the night fails every attempt: the first failure and every
    // tenth are warnings, the rest debug lines.
    const auto n = d.connect_attempts;
    const auto line = fmt::format(
        "{}: Connect() to device #{} of [[sources.devices]] failed ({}); attempt {}, next in {} ms",
        source_name, objects.config(d).number, detail::describe(error), n,
        next_backoff(d.backoff).count());
    if (n == 1 || n % 10 == 0)
      connect_errors.warn("{}", line);
    else
      spdlog::debug("{}", line);
  }

  /// Asks a ready device's characteristic for notifications (or, 0x2AAA, reads it).
  void start_char(device_object& d, char_object& ch) {
    if (ch.c == characteristic::cgm_session_start_time) {
      read_session_start(d, ch);
      return;
    }
    if (ch.notify_requested) return;
    ch.notify_requested = true;
    bus.call(ch.path, char_iface, "StartNotify", {},
             [this, path = ch.path, id = d.id](sdbus::MethodReply*, const sdbus::Error* error) {
               auto* c = objects.find_char(path);
               auto* dev = objects.find_device(detail::device_path_of(path));
               if (!c || !dev || dev->id != id || !c->notify_requested) return;
               if (error) {
                 retry_notify(*dev, *c, *error);
                 return;
               }
               c->notify_backoff = 0ms;
               c->notifying = true;
               update_active();
             });
  }

  /// StartNotify() failed: asked again with back-off while the device stays ready (and anew
  /// when it reconnects).
  void retry_notify(const device_object& d, char_object& ch, const sdbus::Error& error) {
    ch.notify_backoff = next_backoff(ch.notify_backoff);
    bus.errors().warn(
        "{}: StartNotify() on a {} characteristic of device #{} failed ({}); retrying in {} ms",
        source_name, to_string(ch.c), objects.config(d).number, detail::describe(error),
        ch.notify_backoff.count());
    const auto generation = ++ch.notify_timer;
    bus.add_timer(ch.notify_backoff, [this, path = ch.path, id = d.id, generation] {
      auto* c = objects.find_char(path);
      auto* dev = objects.find_device(detail::device_path_of(path));
      if (!c || !dev || dev->id != id || !dev->ready || c->notify_timer != generation ||
          c->notifying)
        return;
      c->notify_requested = false;
      start_char(*dev, *c);
    });
  }

  /// Reads the CGM Session Start Time once per connection.
  void read_session_start(device_object& d, char_object& ch) {
    if (ch.read_requested) return;
    ch.read_requested = true;
    bus.call(
        ch.path, char_iface, "ReadValue",
        [](sdbus::MethodCall& m) { m << std::map<std::string, sdbus::Variant>{}; },
        [this, path = ch.path, id = d.id](sdbus::MethodReply* reply, const sdbus::Error* error) {
          auto* dev = objects.find_device(detail::device_path_of(path));
          if (!dev || dev->id != id) return;
          if (error) {
            bus.errors().warn("{}: reading the CGM session start time of device #{} failed ({})",
                              source_name, objects.config(*dev).number, detail::describe(*error));
            return;
          }
          std::vector<std::uint8_t> value;
          *reply >> value;
          use_session_start(*dev, value, path);
        });
  }

  void update_active() {
    std::size_t n = 0;
    for (const auto& [path, d] : objects.devices()) {
      if (!d.ready) continue;
      const auto& chars = objects.chars();
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
    if (const auto start = session_start(t)) objects.config(d).session_start = start;
  }

  void on_value(char_object& ch, const sdbus::Variant& v) {
    auto* d = objects.find_device(ch.device_path);
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
    auto& cfg = objects.config(*d);
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
    auto& cfg = objects.config(d);
    vital_set kinds = cfg.kinds;
    for (const auto& [path, ch] : objects.chars())
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

  // The discovery is the connection's listener and calls it: both keep references to the other,
  // used once start() runs. The connection is destroyed (and its thread stopped) first.
  detail::object_discovery objects;
  detail::dbus_connection bus;

  std::atomic<std::size_t> active{0};  ///< any thread

  // Loop-thread state.
  decoded_frame frame;  // large (a CGM notification holds up to 85 records): reused
  std::vector<core::sample> samples;
  common::reject_log rejects{std::string(source_name)};
  detail::throttled_warning connect_errors;
};

bluez_source::bluez_source(bluez_options options, core::sample_sink& sink, core::stats& stats)
    : impl_(std::make_unique<impl>(std::move(options), sink, stats)) {}

bluez_source::~bluez_source() = default;

void bluez_source::start() {
  impl_->bus.start();
}

void bluez_source::stop() {
  impl_->bus.stop();
}

std::size_t bluez_source::active_devices() const noexcept {
  return impl_->active.load(std::memory_order_relaxed);
}

std::string_view bluez_source::name() const noexcept {
  return impl_->options.name;
}

std::vector<core::short_id> bluez_source::listed_devices() const {
  return device_ids(impl_->options.devices);
}

core::plugin_status bluez_source::status() const {
  const auto n = active_devices();
  return {true, fmt::format("{} device(s) active", n)};
}

}  // namespace vitals::adapters::ble
