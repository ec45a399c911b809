#include <vitals/adapters/ble/gateway_source.hpp>
#include <vitals/core/ascii.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>
#include <set>
#include <stdexcept>
#include <unordered_map>

#include <fmt/format.h>
#include <simdjson.h>
#include <spdlog/spdlog.h>

#include <vitals/adapters/ble/frame_samples.hpp>
#include <vitals/adapters/common/topic_template.hpp>

#include <vitals/adapters/common/subscriber.hpp>
#include <vitals/core/rfc3339.hpp>

namespace vitals::adapters::ble {

namespace {

namespace dom = simdjson::dom;
using core::iequals;
using core::reject_reason;

/// Longest characteristic value accepted (the ATT maximum).
constexpr std::size_t max_value_bytes = 512;

using core::trim;

/// Epoch milliseconds (digits only) from text.
std::optional<std::int64_t> epoch_ms_text(std::string_view s) noexcept {
  if (s.empty() || s.size() > 18) return std::nullopt;
  std::int64_t v = 0;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size()) return std::nullopt;
  return v;
}

/// A reading or session start time: epoch milliseconds (number or digit string) or RFC 3339.
std::optional<core::timestamp> parse_time(const dom::element& e) noexcept {
  std::optional<core::timestamp> t;
  switch (e.type()) {
    case dom::element_type::INT64:
      t = core::timestamp{std::chrono::milliseconds{e.get_int64().value_unsafe()}};
      break;
    case dom::element_type::UINT64: {
      const auto v = e.get_uint64().value_unsafe();
      if (v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
        return std::nullopt;
      t = core::timestamp{std::chrono::milliseconds{static_cast<std::int64_t>(v)}};
      break;
    }
    case dom::element_type::DOUBLE: {
      const double v = e.get_double().value_unsafe();
      if (!std::isfinite(v) || v < 0 || v > 1e15) return std::nullopt;
      t = core::timestamp{std::chrono::milliseconds{std::llround(v)}};
      break;
    }
    case dom::element_type::STRING: {
      const auto s = e.get_string().value_unsafe();
      if (const auto ms = epoch_ms_text(s))
        t = core::timestamp{std::chrono::milliseconds{*ms}};
      else
        t = core::parse_rfc3339(s);
      break;
    }
    default:
      return std::nullopt;
  }
  if (!t || *t < core::earliest_device_time) return std::nullopt;
  return t;
}

/// An ATT handle: a number 0..65535, or the same as decimal or 0x-hex text.
std::optional<std::uint16_t> parse_handle(const dom::element& e) noexcept {
  std::uint64_t v = 0;
  switch (e.type()) {
    case dom::element_type::INT64: {
      const auto i = e.get_int64().value_unsafe();
      if (i < 0) return std::nullopt;
      v = static_cast<std::uint64_t>(i);
      break;
    }
    case dom::element_type::UINT64:
      v = e.get_uint64().value_unsafe();
      break;
    case dom::element_type::STRING: {
      auto s = e.get_string().value_unsafe();
      int base = 10;
      if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        s.remove_prefix(2);
        base = 16;
      }
      if (s.empty()) return std::nullopt;
      const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
      if (ec != std::errc{} || p != s.data() + s.size()) return std::nullopt;
      break;
    }
    default:
      return std::nullopt;
  }
  if (v > 0xFFFF) return std::nullopt;
  return static_cast<std::uint16_t>(v);
}

[[noreturn]] void bad_option(std::string_view what) {
  throw std::invalid_argument("ble: " + std::string(what));
}

/// One configured device and what the source learnt about it.
struct device_entry {
  ble_device config;  ///< address normalised
  core::short_id patient;
  core::short_id device;
  std::optional<std::size_t> gateway;     ///< the gateway it is bound to (config)
  std::optional<std::size_t> relayed_by;  ///< the gateway that last relayed it
  vital_set kinds = 0;                    ///< vitals it carries: from its handles map, then as seen
  std::optional<core::timestamp> session_start;  ///< CGM session start
};

/// Why a message was not used: the counted reason and a line without ids or values.
struct rejection {
  reject_reason reason;
  std::string why;
};

}  // namespace

field_map preset_fields(gateway_preset p) {
  field_map f;
  switch (p) {
    case gateway_preset::cassia:
      f.type = "dataType";
      f.notification = "notification";
      f.device = "device";
      f.uuid = "";
      f.handle = "handle";
      f.value = "value";
      f.time = "";
      f.state = "connectionState";
      f.session_start = "";
      break;
    case gateway_preset::generic:
    case gateway_preset::custom:
      break;  // the member defaults
  }
  return f;
}

struct gateway_source::impl {
  impl(gateway_source_options o, core::sample_sink& s, core::stats& st)
      : options(std::move(o)),
        sink(s),
        stats(st),
        subscription(
            validate_and_subscribe(),
            [this](std::string_view topic, std::string_view payload) { handle(topic, payload); }) {}

  /// Checks the options, builds the lookup tables and returns what to subscribe to.
  common::subscriber_options validate_and_subscribe() {
    if (options.gateways.empty()) bad_option("no gateway configured ([[sources.gateways]])");
    if (options.max_payload_bytes == 0) bad_option("max_payload_bytes must be above 0");
    std::vector<std::string> filters;
    std::set<std::string> names;
    for (const auto& g : options.gateways) {
      if (g.name.empty()) bad_option("a gateway has no name");
      if (!names.insert(g.name).second) bad_option("duplicate gateway name '" + g.name + "'");
      const auto where = "gateway '" + g.name + "': ";
      if (g.topics.empty()) bad_option(where + "no topics");
      if (g.fields.device.empty()) bad_option(where + "the device field name is empty");
      if (g.fields.value.empty()) bad_option(where + "the value field name is empty");
      if (g.fields.uuid.empty() && g.fields.handle.empty())
        bad_option(where + "neither a uuid nor a handle field name");
      std::vector<common::topic_template> ts;
      for (const auto& t : g.topics) {
        if (t.find_first_of("{}") != std::string::npos)
          bad_option(where + "topic filter '" + t + "' must not contain '{' or '}'");
        try {
          ts.emplace_back(t);
        } catch (const std::invalid_argument& e) {
          bad_option(where + e.what());
        }
        if (std::find(filters.begin(), filters.end(), ts.back().filter()) == filters.end())
          filters.push_back(ts.back().filter());
      }
      filters_by_gateway.push_back(std::move(ts));
      if (!g.status_topic.empty()) {
        if (g.status_topic.find_first_of("+#") != std::string::npos)
          bad_option(where + "status_topic '" + g.status_topic + "' must not contain wildcards");
        if (g.online_payload.empty() || g.offline_payload.empty() ||
            g.online_payload == g.offline_payload)
          bad_option(where + "online_payload and offline_payload must be set and differ");
      }
    }
    // A status topic that a notification filter covers already arrives through it: a second,
    // overlapping subscription could make the broker deliver it twice.
    for (const auto& g : options.gateways) {
      if (g.status_topic.empty()) continue;
      bool covered = false;
      for (const auto& ts : filters_by_gateway)
        for (const auto& t : ts) covered = covered || t.match(g.status_topic).has_value();
      if (!covered && std::find(filters.begin(), filters.end(), g.status_topic) == filters.end())
        filters.push_back(g.status_topic);
    }
    for (const auto& d : options.devices) {
      auto address = normalize_address(d.address);
      if (!address) bad_option("device address '" + d.address + "' is not a BLE address");
      if (by_address.contains(*address)) bad_option("duplicate device address '" + *address + "'");
      device_entry e;
      e.config = d;
      e.config.address = *address;
      const auto patient = core::short_id::make(d.patient);
      const auto id = d.device.empty() ? default_device_id(*address) : d.device;
      const auto device = core::short_id::make(id);
      if (!patient) bad_option("device " + *address + ": patient id empty or too long");
      if (!device) bad_option("device " + *address + ": device id empty or too long");
      e.patient = *patient;
      e.device = *device;
      if (!d.gateway.empty()) {
        const auto g = std::find_if(options.gateways.begin(), options.gateways.end(),
                                    [&](const gateway_config& c) { return c.name == d.gateway; });
        if (g == options.gateways.end())
          bad_option("device " + *address + ": unknown gateway '" + d.gateway + "'");
        e.gateway = static_cast<std::size_t>(g - options.gateways.begin());
      }
      for (const auto& [handle, c] : d.handles) e.kinds |= vital_bits(c);
      e.session_start = d.cgm_session_start;
      by_address.emplace(*address, devices.size());
      devices.push_back(std::move(e));
    }
    gateway_online.assign(options.gateways.size(), std::nullopt);

    common::subscriber_options s;
    s.name = options.name;
    s.broker = options.broker;
    s.client_id = options.client_id;
    s.filters = std::move(filters);
    s.qos = options.qos;
    return s;
  }

  // Everything below runs on Paho's callback thread, one message at a time.

  void handle(std::string_view topic, std::string_view payload) {
    stats.messages_received.fetch_add(1, std::memory_order_relaxed);
    const auto now = core::now_ms();
    std::optional<rejection> r;
    const auto status = std::find_if(options.gateways.begin(), options.gateways.end(),
                                     [&](const gateway_config& g) {
                                       return !g.status_topic.empty() && g.status_topic == topic;
                                     });
    if (status != options.gateways.end()) {
      r = on_status(static_cast<std::size_t>(status - options.gateways.begin()), payload, now);
    } else if (const auto g = gateway_of(topic)) {
      r = on_message(*g, payload, now);
    } else {
      r = rejection{reject_reason::bad_topic, "topic matches no gateway's topics"};
    }
    if (r) {
      stats.count_reject(r->reason);
      rejects.note(r->reason, r->why, topic, payload);
    }
  }

  std::optional<std::size_t> gateway_of(std::string_view topic) const noexcept {
    for (std::size_t g = 0; g < filters_by_gateway.size(); ++g)
      for (const auto& t : filters_by_gateway[g])
        if (t.match(topic)) return g;
    return std::nullopt;
  }

  /// Parses `payload` as a JSON object into `out` (valid until the next parse).
  std::optional<rejection> parse_object(std::string_view payload, dom::object& out) {
    if (payload.size() > options.max_payload_bytes)
      return rejection{reject_reason::too_large, "payload larger than max_payload_bytes"};
    if (buffer.size() < payload.size() + simdjson::SIMDJSON_PADDING)
      buffer.resize(payload.size() + simdjson::SIMDJSON_PADDING);
    std::memcpy(buffer.data(), payload.data(), payload.size());
    std::memset(buffer.data() + payload.size(), 0, simdjson::SIMDJSON_PADDING);
    dom::element root;
    if (const auto e = parser.parse(buffer.data(), payload.size(), false).get(root))
      // simdjson's messages describe the syntax only, never the payload's content.
      return rejection{reject_reason::invalid_json, simdjson::error_message(e)};
    if (root.get_object().get(out))
      return rejection{reject_reason::wrong_type, "payload is not a JSON object"};
    return std::nullopt;
  }

  /// The gateway's own online state (its MQTT last will).
  std::optional<rejection> on_status(std::size_t g, std::string_view payload, core::timestamp now) {
    const auto& gw = options.gateways[g];
    auto state = trim(payload);
    if (!state.empty() && state.front() == '{') {
      dom::object obj;
      if (auto r = parse_object(payload, obj)) return r;
      dom::element e;
      if (obj.at_key("state").get(e))
        return rejection{reject_reason::missing_field, "gateway status without 'state'"};
      if (e.get_string().get(state))
        return rejection{reject_reason::wrong_type, "gateway status 'state' is not a string"};
    }
    bool online = false;
    if (state == gw.offline_payload || iequals(state, "offline")) {
      online = false;
    } else if (state == gw.online_payload || iequals(state, "online")) {
      online = true;
    } else {
      return rejection{reject_reason::bad_value,
                       "gateway status is neither its online nor its offline payload"};
    }
    std::size_t count = 0;
    for (auto& d : devices) {
      if (!behind(d, g)) continue;
      push_link(d, online ? core::condition_none : core::condition_gateway_offline, now);
      ++count;
    }
    if (gateway_online[g] != online) {
      // Gateway names come from the configuration, never from patients.
      if (online)
        spdlog::info("{}: gateway '{}' online ({} device(s) behind it)", options.name, gw.name,
                     count);
      else
        spdlog::warn("{}: gateway '{}' offline: gateway_offline reported for {} device(s)",
                     options.name, gw.name, count);
      gateway_online[g] = online;
    }
    return std::nullopt;
  }

  /// True when `d` is relayed by gateway `g`: bound to it, or unbound and last seen through it.
  static bool behind(const device_entry& d, std::size_t g) noexcept {
    return d.gateway ? *d.gateway == g : d.relayed_by == g;
  }

  std::optional<rejection> on_message(std::size_t g, std::string_view payload,
                                      core::timestamp now) {
    const auto& f = options.gateways[g].fields;
    dom::object obj;
    if (auto r = parse_object(payload, obj)) return r;
    auto member = [&](const std::string& name) -> std::optional<dom::element> {
      dom::element e;
      if (name.empty() || obj.at_key(name).get(e)) return std::nullopt;
      return e;
    };

    // What kind of message: a notification, a connection state, or something else the gateway
    // publishes on the same topics (scan results, ...), which is not ours to judge.
    bool connection_state = false;
    if (const auto t = member(f.type)) {
      std::string_view type;
      if (t->get_string().get(type))
        return rejection{reject_reason::wrong_type, fmt::format("'{}' is not a string", f.type)};
      if (type == f.notification) {
        connection_state = false;
      } else if (type == "connection_state" || member(f.state)) {
        connection_state = true;
      } else {
        if (spdlog::should_log(spdlog::level::debug))
          spdlog::debug("{}: ignored a message of type '{}'", options.name,
                        common::printable(type, 40));
        return std::nullopt;
      }
    } else {
      // Untyped: a state member without a value is a connection state.
      connection_state = member(f.state).has_value() && !member(f.value).has_value();
    }

    const auto address_el = member(f.device);
    if (!address_el)
      return rejection{reject_reason::missing_field,
                       fmt::format("no device address ('{}')", f.device)};
    std::string_view address_text;
    if (address_el->get_string().get(address_text))
      return rejection{reject_reason::wrong_type,
                       fmt::format("device address '{}' is not a string", f.device)};
    const auto address = normalize_address(address_text);
    if (!address)
      return rejection{reject_reason::bad_id, "device address is not a BLE MAC address"};
    const auto found = by_address.find(*address);
    if (found == by_address.end())
      return rejection{reject_reason::unknown_device, "device address not in [[sources.devices]]"};
    auto& d = devices[found->second];
    if (d.gateway && *d.gateway != g)
      return rejection{reject_reason::unknown_device,
                       "device is bound to another gateway ([[sources.devices]] gateway)"};
    d.relayed_by = g;

    if (connection_state) {
      std::string_view state;
      const auto state_el = member(f.state);
      if (!state_el)
        return rejection{reject_reason::missing_field,
                         fmt::format("connection state without '{}'", f.state)};
      if (state_el->get_string().get(state))
        return rejection{reject_reason::wrong_type,
                         fmt::format("connection state '{}' is not a string", f.state)};
      std::uint16_t link = 0;
      if (iequals(state, "connected")) {
        link = core::condition_none;
      } else if (iequals(state, "disconnected")) {
        link = core::condition_disconnected;
      } else {
        return rejection{reject_reason::bad_value,
                         "connection state is neither connected nor disconnected"};
      }
      push_link(d, link, now);
      return std::nullopt;
    }
    return on_notification(g, d, member, now);
  }

  template <class Member>
  std::optional<rejection> on_notification(std::size_t g, device_entry& d, Member& member,
                                           core::timestamp now) {
    const auto& f = options.gateways[g].fields;
    std::optional<characteristic> c;
    if (const auto u = member(f.uuid)) {
      std::string_view uuid;
      if (u->get_string().get(uuid))
        return rejection{reject_reason::wrong_type,
                         fmt::format("characteristic '{}' is not a string", f.uuid)};
      c = parse_characteristic(uuid);
      if (!c)
        return rejection{reject_reason::unknown_vital,
                         fmt::format("characteristic '{}' is not one vitalsd decodes",
                                     common::printable(uuid, 40))};
    } else if (const auto h = member(f.handle)) {
      const auto handle = parse_handle(*h);
      if (!handle)
        return rejection{reject_reason::wrong_type,
                         fmt::format("ATT handle '{}' is not a number 0..65535", f.handle)};
      const auto it = d.config.handles.find(*handle);
      if (it == d.config.handles.end())
        return rejection{reject_reason::unknown_vital,
                         fmt::format("ATT handle {} is not in the device's handles map", *handle)};
      c = it->second;
    } else {
      return rejection{reject_reason::missing_field,
                       f.handle.empty() ? fmt::format("no characteristic ('{}')", f.uuid)
                       : f.uuid.empty() ? fmt::format("no ATT handle ('{}')", f.handle)
                                        : fmt::format("neither '{}' nor '{}'", f.uuid, f.handle)};
    }

    const auto value_el = member(f.value);
    if (!value_el)
      return rejection{reject_reason::missing_field, fmt::format("no value ('{}')", f.value)};
    std::string_view hex;
    if (value_el->get_string().get(hex))
      return rejection{reject_reason::wrong_type,
                       fmt::format("value '{}' is not a hex string", f.value)};
    std::array<std::uint8_t, max_value_bytes> bytes;
    std::size_t size = 0;
    if (const auto e = parse_hex(hex, bytes, size))
      return rejection{reject_reason::bad_frame,
                       fmt::format("{}: value {}", to_string(*c), e->describe())};

    if (const auto s = member(f.session_start)) {
      const auto t = parse_time(*s);
      if (!t)
        return rejection{reject_reason::bad_timestamp,
                         fmt::format("'{}' is not epoch ms or RFC 3339", f.session_start)};
      d.session_start = t;
    }
    std::optional<core::timestamp> frame_time;
    if (const auto s = member(f.time)) {
      frame_time = parse_time(*s);
      if (!frame_time)
        return rejection{reject_reason::bad_timestamp,
                         fmt::format("'{}' is not epoch ms or RFC 3339", f.time)};
    }

    const std::span<const std::uint8_t> value(bytes.data(), size);
    if (const auto e = decode(*c, value, frame, d.config.cgm_crc))
      return rejection{reject_reason::bad_frame,
                       fmt::format("{}: {}", to_string(*c), e->describe())};

    if (const auto* start = std::get_if<cgm_session_start_time>(&frame)) {
      if (!start->crc_ok)
        return rejection{reject_reason::crc_mismatch,
                         "CGM session start time with a wrong E2E-CRC dropped"};
      if (const auto t = session_start(*start)) d.session_start = t;
      return std::nullopt;
    }

    frame_context ctx;
    ctx.patient = d.patient;
    ctx.device = d.device;
    ctx.receive_time = now;
    ctx.frame_time = frame_time;
    ctx.cgm_session_start = d.session_start;
    samples.clear();
    const auto outcome = to_samples(frame, ctx, samples);
    for (const auto& s : samples) {
      d.kinds |= vital_bit(s.kind);
      push(s);
    }
    if (outcome.crc_failures > 0) {
      // One rejection per dropped record; handle() counts the one returned.
      stats.rejected[static_cast<std::size_t>(reject_reason::crc_mismatch)].fetch_add(
          outcome.crc_failures - 1, std::memory_order_relaxed);
      return rejection{
          reject_reason::crc_mismatch,
          fmt::format("{} CGM record(s) with a wrong E2E-CRC dropped", outcome.crc_failures)};
    }
    return std::nullopt;
  }

  /// One link-state report per vital the device carries (heart rate when none is known yet).
  void push_link(const device_entry& d, std::uint16_t link, core::timestamp now) {
    std::vector<core::sample> reports;
    link_state_samples(d.patient, d.device, d.kinds, link, now, reports);
    for (const auto& s : reports) push(s);
  }

  void push(const core::sample& s) {
    // Bounded wait inside the sink: this is the back-pressure that slows Paho and the broker.
    sink.push(s);
    stats.samples_decoded.fetch_add(1, std::memory_order_relaxed);
  }

  gateway_source_options options;
  core::sample_sink& sink;
  core::stats& stats;
  std::vector<std::vector<common::topic_template>> filters_by_gateway;
  std::vector<device_entry> devices;
  std::unordered_map<std::string, std::size_t> by_address;

  // Callback-thread state.
  std::vector<std::optional<bool>> gateway_online;
  dom::parser parser;
  std::vector<char> buffer;  // payload copy with simdjson's padding
  decoded_frame frame;       // large (a CGM notification holds up to 85 records): reused
  std::vector<core::sample> samples;
  common::reject_log rejects{options.name};

  // Last member: destroyed (and stopped) first, so no message outlives the state it uses.
  common::subscriber subscription;
};

gateway_source::gateway_source(gateway_source_options options, core::sample_sink& sink,
                               core::stats& stats)
    : impl_(std::make_unique<impl>(std::move(options), sink, stats)) {}

gateway_source::~gateway_source() {
  stop();
}

void gateway_source::start() {
  impl_->subscription.start();
}

void gateway_source::stop() {
  impl_->subscription.stop();
}

void gateway_source::pause() {
  impl_->subscription.pause();
}

void gateway_source::resume() {
  impl_->subscription.resume();
}

bool gateway_source::connected() const noexcept {
  return impl_->subscription.connected();
}

std::string_view gateway_source::name() const noexcept {
  return impl_->options.name;
}

std::vector<core::short_id> gateway_source::listed_devices() const {
  return device_ids(impl_->options.devices);
}

core::plugin_status gateway_source::status() const {
  const bool up = connected();
  return {up, up ? "connected" : "disconnected"};
}

}  // namespace vitals::adapters::ble
