// The MQTT source as a plugin: its option table, checks and factory ([[sources]] type "mqtt").
#include <stdexcept>

#include <fmt/format.h>

#include <vitals/adapters/common/broker.hpp>
#include <vitals/adapters/common/topic_template.hpp>
#include <vitals/adapters/mqtt/mqtt_source.hpp>
#include <vitals/core/plugin_registry.hpp>

namespace vitals::adapters::plugins {

namespace {

using core::option_spec;

std::vector<option_spec> mqtt_options() {
  return {
      option_spec::string("client_id", "vitalsd",
                          "MQTT client id. Keep it stable: with clean_session = false the broker "
                          "keeps the session (subscriptions and queued QoS 1 messages) under this "
                          "id while vitalsd restarts.")
          .make_non_empty(),
      option_spec::string_list("topics", {"vitals/{patient}/{device}"},
                               "Topic templates to subscribe to. {patient} and {device} match one "
                               "topic level each and name the patient and the device of the "
                               "readings published there; {kind} names the vital.")
          .make_non_empty(),
      option_spec::integer("qos", 1, 0, 1,
                           "Subscription QoS: 0 (at most once) or 1 (at least once; duplicates "
                           "are detected). QoS 2 is not supported.")
          .with_allowed("0 or 1 (QoS 2 is not supported)"),
      option_spec::integer("max_payload_bytes", 65536, 1, 268435455,
                           "Messages larger than this are rejected (and counted), never parsed.",
                           "bytes"),
      option_spec::integer("max_future_h", 24, 1, 8760,
                           "Readings time-stamped more than this many hours ahead of arrival "
                           "are rejected: a device clock that far off is wrong.",
                           "h"),
  };
}

void check(const core::option_set& s, std::vector<core::option_problem>& out) {
  const auto& topics = s.strings("topics");
  for (std::size_t i = 0; i < topics.size(); ++i) {
    try {
      common::topic_template t(topics[i]);
    } catch (const std::invalid_argument& e) {
      out.push_back({fmt::format("topics[{}]", i), e.what()});
    }
  }
}

std::unique_ptr<core::source> create(const core::option_set& s, core::source_context& ctx) {
  mqtt::source_options o;
  o.name = ctx.name;
  o.broker = common::broker_from(ctx);
  o.client_id = s.text("client_id");
  o.topics = s.strings("topics");
  o.qos = static_cast<int>(s.integer("qos"));
  o.max_payload_bytes = static_cast<std::size_t>(s.integer("max_payload_bytes"));
  o.max_future = std::chrono::hours(s.integer("max_future_h"));
  o.device_patients.insert(ctx.device_patients.begin(), ctx.device_patients.end());
  o.directory = ctx.devices;
  return std::make_unique<mqtt::mqtt_source>(std::move(o), ctx.sink, ctx.counters);
}

}  // namespace

void register_mqtt(core::plugin_registry& r) {
  core::source_descriptor d;
  d.type = "mqtt";
  d.summary = "readings as compact JSON or Open mHealth from MQTT topics on the [mqtt] broker";
  d.options = mqtt_options();
  d.default_instance = true;
  d.check = check;
  d.create = create;
  r.add(std::move(d));
}

}  // namespace vitals::adapters::plugins
