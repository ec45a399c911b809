// The outbox `document` of a notification (declared in alert_reader.hpp): JSON that rebuilds the
// notification after a restart, alert snapshot and event included.
#include <vitals/adapters/sqlite/alert_reader.hpp>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "alert_select.hpp"
#include "connection.hpp"

namespace vitals::adapters::sqlite {

namespace {

using json = nlohmann::json;
using detail::from_ms;
using detail::ms;
using detail::parse_source;

json opt_ms(const std::optional<core::timestamp>& t) {
  return t ? json(ms(*t)) : json(nullptr);
}

std::optional<core::timestamp> get_opt_ms(const json& j, const char* key) {
  const auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::nullopt;
  return from_ms(it->get<std::int64_t>());
}

template <typename E, typename P>
E parse_or_throw(const std::string& text, P parse, const char* what) {
  const auto v = parse(text);
  if (!v) throw std::runtime_error(std::string("unknown ") + what + " '" + text + "'");
  return *v;
}

json alert_json(const core::alert_record& a) {
  return json{
      {"id", a.id},
      {"patient", a.patient.view()},
      {"device", a.device.view()},
      {"rule", a.rule},
      {"group", a.group},
      {"current_rule", a.current_rule},
      {"holding", a.holding},
      {"kind", static_cast<int>(a.kind)},
      {"source", core::to_string(a.source)},
      {"priority", core::to_string(a.level)},
      {"peak_priority", core::to_string(a.peak_level)},
      {"state", core::to_string(a.state)},
      {"condition_present", a.condition_present},
      {"inhibited", a.inhibited},
      {"flaps", a.flaps},
      {"condition_start", ms(a.condition_start)},
      {"raised_at", ms(a.raised_at)},
      {"cleared_at", opt_ms(a.cleared_at)},
      {"created", ms(a.created)},
      {"updated", ms(a.updated)},
      {"cleared_wall", opt_ms(a.cleared_wall)},
      {"acknowledged_at", opt_ms(a.acknowledged_at)},
      {"acknowledged_by", a.acknowledged_by},
      {"resolved_at", opt_ms(a.resolved_at)},
      {"resolved_by", a.resolved_by},
      {"value", a.value},
      {"threshold", a.threshold},
      {"peak_value", a.peak_value},
      {"last_value", a.last_value},
      {"message", a.message},
      {"route", a.route},
      {"step", a.step},
      {"next_step_at", opt_ms(a.next_step_at)},
      {"next_repeat_at", opt_ms(a.next_repeat_at)},
      {"deferred_until", opt_ms(a.deferred_until)},
  };
}

core::alert_record alert_from_json(const json& j) {
  core::alert_record a;
  a.id = j.at("id").get<std::uint64_t>();
  a.patient = core::short_id::truncate(j.at("patient").get<std::string>());
  a.device = core::short_id::truncate(j.at("device").get<std::string>());
  a.rule = j.at("rule").get<std::string>();
  a.group = j.at("group").get<std::string>();
  a.current_rule = j.at("current_rule").get<std::string>();
  a.holding = j.at("holding").get<std::vector<std::string>>();
  a.kind = static_cast<core::vital_kind>(j.at("kind").get<int>());
  a.source =
      parse_or_throw<core::alert_source>(j.at("source").get<std::string>(), parse_source, "source");
  a.level = parse_or_throw<core::priority>(j.at("priority").get<std::string>(),
                                           core::parse_priority, "priority");
  a.peak_level = parse_or_throw<core::priority>(j.at("peak_priority").get<std::string>(),
                                                core::parse_priority, "priority");
  a.state = parse_or_throw<core::alert_state>(j.at("state").get<std::string>(),
                                              core::parse_alert_state, "state");
  a.condition_present = j.at("condition_present").get<bool>();
  a.inhibited = j.at("inhibited").get<bool>();
  a.flaps = j.at("flaps").get<std::uint32_t>();
  a.condition_start = from_ms(j.at("condition_start").get<std::int64_t>());
  a.raised_at = from_ms(j.at("raised_at").get<std::int64_t>());
  a.cleared_at = get_opt_ms(j, "cleared_at");
  a.created = from_ms(j.at("created").get<std::int64_t>());
  a.updated = from_ms(j.at("updated").get<std::int64_t>());
  a.cleared_wall = get_opt_ms(j, "cleared_wall");
  a.acknowledged_at = get_opt_ms(j, "acknowledged_at");
  a.acknowledged_by = j.at("acknowledged_by").get<std::string>();
  a.resolved_at = get_opt_ms(j, "resolved_at");
  a.resolved_by = j.at("resolved_by").get<std::string>();
  a.value = j.at("value").get<double>();
  a.threshold = j.at("threshold").get<double>();
  a.peak_value = j.at("peak_value").get<double>();
  a.last_value = j.at("last_value").get<double>();
  a.message = j.at("message").get<std::string>();
  a.route = j.at("route").get<std::string>();
  a.step = j.at("step").get<int>();
  a.next_step_at = get_opt_ms(j, "next_step_at");
  a.next_repeat_at = get_opt_ms(j, "next_repeat_at");
  a.deferred_until = get_opt_ms(j, "deferred_until");
  return a;
}

json event_json(const core::lifecycle_event& e) {
  return json{
      {"id", e.id},
      {"alert_id", e.alert_id},
      {"action", core::to_string(e.action)},
      {"at", ms(e.at)},
      {"data_time", opt_ms(e.data_time)},
      {"actor", e.actor},
      {"reason", e.reason},
      {"priority", core::to_string(e.level)},
      {"state", core::to_string(e.state)},
      {"value", e.value},
  };
}

core::lifecycle_event event_from_json(const json& j) {
  core::lifecycle_event e;
  e.id = j.at("id").get<std::uint64_t>();
  e.alert_id = j.at("alert_id").get<std::uint64_t>();
  e.action = parse_or_throw<core::alert_action>(j.at("action").get<std::string>(),
                                                core::parse_alert_action, "action");
  e.at = from_ms(j.at("at").get<std::int64_t>());
  e.data_time = get_opt_ms(j, "data_time");
  e.actor = j.at("actor").get<std::string>();
  e.reason = j.at("reason").get<std::string>();
  e.level = parse_or_throw<core::priority>(j.at("priority").get<std::string>(),
                                           core::parse_priority, "priority");
  e.state = parse_or_throw<core::alert_state>(j.at("state").get<std::string>(),
                                              core::parse_alert_state, "state");
  e.value = j.at("value").get<double>();
  return e;
}

}  // namespace

std::string to_document(const core::notification& n) {
  const json doc{
      {"id", n.id},
      {"receiver", n.receiver},
      {"action", core::to_string(n.action)},
      {"step", n.step},
      {"created", ms(n.created)},
      {"alert", alert_json(n.alert)},
      {"event", event_json(n.event)},
  };
  return doc.dump();
}

core::notification from_document(std::string_view document) {
  try {
    const auto j = json::parse(document);
    core::notification n;
    n.id = j.at("id").get<std::uint64_t>();
    n.receiver = j.at("receiver").get<std::string>();
    n.action = parse_or_throw<core::notify_action>(j.at("action").get<std::string>(),
                                                   core::parse_notify_action, "action");
    n.step = j.at("step").get<int>();
    n.created = from_ms(j.at("created").get<std::int64_t>());
    n.alert = alert_from_json(j.at("alert"));
    n.event = event_from_json(j.at("event"));
    return n;
  } catch (const json::exception& e) {
    throw std::runtime_error(std::string("bad outbox document: ") + e.what());
  }
}

}  // namespace vitals::adapters::sqlite
