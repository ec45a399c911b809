// The BLE-to-MQTT gateway source as a plugin ([[sources]] type "ble_gateway"): its option
// table, checks and factory.
#include <set>
#include <stdexcept>

#include <fmt/format.h>

#include <vitals/adapters/ble/ble_options.hpp>
#include <vitals/adapters/ble/gateway_source.hpp>
#include <vitals/adapters/common/broker.hpp>
#include <vitals/adapters/common/topic_template.hpp>
#include <vitals/core/plugin_registry.hpp>

namespace vitals::adapters::plugins {

namespace {

using core::option_spec;
namespace ble = adapters::ble;

/// The member names of a gateway's JSON: [sources.gateways.fields], each replacing the preset's.
std::vector<option_spec> field_options() {
  // Absent keys keep the preset's names: no default of their own. The example values are the
  // generic preset's.
  const auto field = [](std::string key, std::string example, std::string doc) {
    auto o = option_spec::string(std::move(key), "", std::move(doc));
    o.def = std::monostate{};
    o.example = "\"" + example + "\"";
    return o;
  };
  return {
      field("type", "",
            "Message type member (cassia: \"dataType\"); \"\": every message is a notification "
            "unless it has the state member."),
      field("notification", "notification", "Value of the type member for a notification."),
      field("device", "mac", "Device address (cassia: \"device\")."),
      field("uuid", "uuid", "Characteristic UUID or name (cassia: none)."),
      field("handle", "",
            "ATT handle (number), looked up in the device's handles (cassia: "
            "\"handle\")."),
      field("value", "hex", "The characteristic value in hex (cassia: \"value\")."),
      field("time", "ts", "Reading time, epoch ms or RFC 3339; \"\": the receive time."),
      field("state", "state",
            "Connection state member, \"connected\" / \"disconnected\" (cassia: "
            "\"connectionState\")."),
      field("session_start", "session_start", "CGM session start, epoch ms or RFC 3339."),
  };
}

std::vector<option_spec> gateway_options() {
  return {
      option_spec::string("name", "", "What [[sources.devices]] gateway refers to.")
          .make_required("\"livingroom\""),
      option_spec::choice(
          "preset", "generic", {"cassia", "generic", "custom"},
          "\"cassia\": {\"dataType\":\"notification\",\"device\":\"<MAC>\",\"handle\":16,"
          "\"value\":\"<hex>\"} and {\"dataType\":\"connection_state\",\"device\":\"<MAC>\","
          "\"connectionState\":\"connected\"}; \"generic\": {\"mac\":\"<MAC>\",\"uuid\":\"2a37\","
          "\"hex\":\"<hex>\",\"ts\":<epoch ms or RFC 3339>,\"session_start\":<optional>} and "
          "{\"mac\":\"<MAC>\",\"state\":\"disconnected\"}; \"custom\": the names of "
          "[sources.gateways.fields]."),
      option_spec::string_list("topics", {},
                               "MQTT topic filters of its notifications and connection states "
                               "('+' one level, '#' the rest).")
          .make_required("[\"ble/livingroom/#\"]")
          .make_non_empty(),
      option_spec::string("status_topic", "",
                          "The gateway's own online state, usually its MQTT last will: "
                          "offline_payload there (or JSON {\"state\":\"offline\"}) raises "
                          "gateway_offline for every device behind it, online_payload ends it; "
                          "\"\" for none."),
      option_spec::string("online_payload", "online", "").make_non_empty(),
      option_spec::string("offline_payload", "offline", "").make_non_empty(),
      option_spec::table("fields", field_options(),
                         "Member names in the gateway's JSON, each replacing the preset's; \"\" = "
                         "never present. A message whose type member is neither the notification "
                         "value nor \"connection_state\" (scan results, ...) is ignored."),
  };
}

std::vector<option_spec> options() {
  return {
      option_spec::string("client_id", "vitalsd-ble",
                          "MQTT client id of the gateway source; stable, like the mqtt source's "
                          "(persistent session).")
          .make_non_empty(),
      option_spec::integer("qos", 1, 0, 1, "Subscription QoS: 0 or 1.")
          .with_allowed("0 or 1 (QoS 2 is not supported)"),
      option_spec::integer("max_payload_bytes", 16384, 1, 268435455,
                           "Gateway messages larger than this are rejected (and counted), never "
                           "parsed.",
                           "bytes"),
      option_spec::table_list("gateways", gateway_options(),
                              "One [[sources.gateways]] table per gateway; at least one.")
          .make_required(),
      option_spec::table_list("devices", ble::ble_device_options(true),
                              "One [[sources.devices]] table per BLE device; a notification from "
                              "any other device is rejected (unknown_device)."),
  };
}

ble::gateway_preset preset_of(std::string_view name) {
  if (name == "cassia") return ble::gateway_preset::cassia;
  if (name == "custom") return ble::gateway_preset::custom;
  return ble::gateway_preset::generic;
}

/// The preset's field names with the configured ones applied.
ble::field_map fields_of(const core::option_set& g) {
  auto f = ble::preset_fields(preset_of(g.text("preset")));
  const core::option_set* t = g.table("fields");
  if (!t) return f;
  const std::pair<std::string_view, std::string*> keys[] = {{"type", &f.type},
                                                            {"notification", &f.notification},
                                                            {"device", &f.device},
                                                            {"uuid", &f.uuid},
                                                            {"handle", &f.handle},
                                                            {"value", &f.value},
                                                            {"time", &f.time},
                                                            {"state", &f.state},
                                                            {"session_start", &f.session_start}};
  for (const auto& [key, target] : keys) {
    if (t->find(key)) *target = t->text(key);
  }
  return f;
}

void check_gateway(const core::option_set& g, const std::string& path,
                   std::vector<core::option_problem>& out) {
  const auto& topics = g.strings("topics");
  for (std::size_t i = 0; i < topics.size(); ++i) {
    const std::string key = fmt::format("{}.topics[{}]", path, i);
    if (topics[i].find_first_of("{}") != std::string::npos) {
      out.push_back(
          {key, fmt::format("topic filter \"{}\" must not contain '{{' or '}}'", topics[i])});
      continue;
    }
    try {
      common::topic_template t(topics[i]);
    } catch (const std::invalid_argument& e) {
      out.push_back({key, e.what()});
    }
  }
  if (g.text("status_topic").find_first_of("+#") != std::string::npos) {
    out.push_back({path + ".status_topic", "must be a plain topic, without the wildcards + and #"});
  }
  if (g.text("online_payload") == g.text("offline_payload")) {
    out.push_back({path + (g.written("offline_payload") ? ".offline_payload" : ".online_payload"),
                   "online_payload and offline_payload must differ"});
  }
  const auto f = fields_of(g);
  if (g.text("preset") == "custom" && !g.table("fields")) {
    out.push_back({path, "preset \"custom\" needs a [sources.gateways.fields] table"});
  } else if (f.device.empty() || f.value.empty()) {
    out.push_back({path + ".fields", "the device and value field names must not be empty"});
  } else if (f.uuid.empty() && f.handle.empty()) {
    out.push_back({path + ".fields", "needs a uuid or a handle field name (which characteristic)"});
  }
}

void check(const core::option_set& s, std::vector<core::option_problem>& out) {
  std::vector<std::string> names;
  const auto& gateways = s.tables("gateways");
  for (std::size_t i = 0; i < gateways.size(); ++i) {
    const auto& g = gateways[i];
    const std::string path = fmt::format("gateways[{}]", i);
    if (!g.find("name")) continue;
    if (std::find(names.begin(), names.end(), g.text("name")) != names.end()) {
      out.push_back({path + ".name", fmt::format("duplicate gateway name \"{}\"", g.text("name"))});
    }
    names.push_back(g.text("name"));
    if (g.find("topics")) check_gateway(g, path, out);
  }
  if (s.written("gateways") && gateways.empty()) {
    out.push_back({"gateways", "needs at least one [[sources.gateways]]"});
  }
  ble::check_ble_devices(s, &names, out);
  if (!s.written("devices")) {
    out.push_back({"",
                   "no [[sources.devices]] is configured: every notification is rejected "
                   "as unknown_device",
                   true});
  }
}

std::unique_ptr<core::source> create(const core::option_set& s, core::source_context& ctx) {
  ble::gateway_source_options o;
  o.name = ctx.name;
  o.broker = common::broker_from(ctx);
  o.client_id = s.text("client_id");
  o.qos = static_cast<int>(s.integer("qos"));
  o.max_payload_bytes = static_cast<std::size_t>(s.integer("max_payload_bytes"));
  for (const auto& g : s.tables("gateways")) {
    ble::gateway_config c;
    c.name = g.text("name");
    c.preset = preset_of(g.text("preset"));
    c.fields = fields_of(g);
    c.topics = g.strings("topics");
    c.status_topic = g.text("status_topic");
    c.online_payload = g.text("online_payload");
    c.offline_payload = g.text("offline_payload");
    o.gateways.push_back(std::move(c));
  }
  o.devices = ble::ble_devices_from(s);
  return std::make_unique<ble::gateway_source>(std::move(o), ctx.sink, ctx.counters);
}

}  // namespace

void register_ble(core::plugin_registry& r) {
  core::source_descriptor d;
  d.type = "ble_gateway";
  d.summary =
      "Bluetooth LE GATT notifications (heart rate, pulse oximeter, CGM) relayed as JSON by "
      "BLE-to-MQTT gateways, on the [mqtt] broker";
  d.options = options();
  d.check = check;
  d.create = create;
  r.add(std::move(d));
}

}  // namespace vitals::adapters::plugins
