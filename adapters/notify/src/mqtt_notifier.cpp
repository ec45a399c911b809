// MQTT receivers (QoS 1 on the alert channel): the topic and message, and the notifier plugin.
#include <cinttypes>
#include <cstdio>
#include <stdexcept>

#include <vitals/adapters/notify/notifiers.hpp>
#include "kinds.hpp"
#include "payload_detail.hpp"

namespace vitals::adapters::notify {

namespace {

using nlohmann::json;
using namespace detail;

/// MQTT topic levels must not contain wildcards or separators taken from data.
std::string topic_safe(std::string_view s) {
  std::string out(s);
  for (auto& c : out) {
    if (c == '/' || c == '+' || c == '#' || c == '\0') c = '_';
  }
  return out;
}

void replace_all(std::string& s, std::string_view what, const std::string& with) {
  for (auto pos = s.find(what); pos != std::string::npos; pos = s.find(what, pos + with.size()))
    s.replace(pos, what.size(), with);
}

}  // namespace

std::pair<std::string, std::string> render_mqtt(const receiver_settings& r,
                                                const core::notification& n) {
  std::string topic = r.topic.empty() ? std::string(default_mqtt_topic) : r.topic;
  // The first rule: it names the alert for its whole life, so one alert stays on one topic.
  replace_all(topic, "{patient}", topic_safe(n.alert.patient.view()));
  replace_all(topic, "{rule}", topic_safe(n.alert.rule));
  replace_all(topic, "{priority}", std::string(to_string(n.alert.level)));
  replace_all(topic, "{action}", std::string(core::to_string(n.action)));
  return {std::move(topic), notification_json(n)};
}

core::notifier_descriptor detail::mqtt_notifier() {
  core::notifier_descriptor d;
  d.type = "mqtt";
  d.summary = "the neutral JSON document at QoS 1 on the [mqtt] broker (the alert channel)";
  d.options = {
      core::option_spec::string(
          "topic", std::string(default_mqtt_topic),
          "Topic template: {patient}, {rule}, {priority} and {action} are replaced (wildcards and "
          "'/' in values become '_').")
          .make_non_empty()};
  d.uses_message_channel = true;
  d.create = [](const core::option_set& s, core::notifier_context& ctx) {
    const auto r = renderer_settings(s, ctx.name);
    return std::make_unique<message_notifier>(
        ctx.messages, [r](const core::notification& n) { return render_mqtt(r, n); });
  };
  return d;
}
}  // namespace vitals::adapters::notify
