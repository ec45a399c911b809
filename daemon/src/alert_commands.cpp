// The alert service's operator commands (HTTP API and MQTT command topic) and the API's alert
// queries.
#include <string>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <vitals/adapters/notify/payloads.hpp>

#include "alert_service_impl.hpp"

namespace vitals::daemon {

namespace notify = adapters::notify;
using json = nlohmann::json;

api_response json_response(unsigned status, std::string body) {
  api_response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

json snooze_json(const core::snooze& z) {
  return json{{"patient", std::string(z.patient.view())},
              {"rule", z.group},
              {"until", notify::format_utc(z.until)},
              {"up_to", std::string(core::to_string(z.up_to))},
              {"by", z.by},
              {"reason", z.reason},
              {"created", notify::format_utc(z.created)}};
}

/// The stored alert with its audit trail, or a 404.
api_response alert_service::impl::alert_with_events(std::uint64_t id) {
  const auto a = history->get(id);
  if (!a) return json_error(404, fmt::format("no alert {}", id));
  std::string body = "{\"alert\":" + notify::alert_json(*a) + ",\"events\":[";
  bool first = true;
  for (const auto& e : history->events(id)) {
    if (!first) body += ',';
    first = false;
    body += notify::lifecycle_event_json(e);
  }
  body += "]}";
  return json_response(200, std::move(body));
}

/// A refused command on an alert the manager does not hold: unknown, or resolved already.
api_response alert_service::impl::not_open(std::uint64_t id, std::string_view verb) {
  const auto a = history->get(id);
  if (!a) return json_error(404, fmt::format("no alert {}", id));
  return json_error(409, fmt::format("alert {} is resolved; there is nothing to {}", id, verb));
}

void alert_service::impl::handle_mqtt_command(const std::string& payload) {
  std::string error;
  const auto cmd = notify::parse_ack_command(payload, error);
  if (!cmd) {
    ++mqtt_commands_invalid;
    spdlog::warn("MQTT alert command refused: {}", error);
    return;
  }
  alert_command c;
  c.what =
      cmd->action == "resolve" ? alert_command::kind::resolve : alert_command::kind::acknowledge;
  c.alert_id = cmd->alert_id;
  c.who.by = "mqtt/" + cmd->by;
  c.who.reason = cmd->reason;
  run_command(c, [id = cmd->alert_id, action = cmd->action](api_response r) {
    if (r.status == 200) {
      spdlog::info("MQTT alert command: {} alert {} done", action, id);
    } else {
      spdlog::warn("MQTT alert command: {} alert {} refused ({}): {}", action, id, r.status,
                   r.body);
    }
  });
}

void alert_service::impl::run_command(const alert_command& c,
                                      std::function<void(api_response)> done) {
  if (stopped) {
    done(json_error(503, "vitalsd is stopping"));
    return;
  }
  core::alert_changes changes;
  core::command_result r;
  const auto t = now();
  std::string_view verb;
  switch (c.what) {
    case alert_command::kind::acknowledge:
      verb = "acknowledge";
      r = manager.acknowledge(c.alert_id, c.who, t, changes);
      break;
    case alert_command::kind::resolve:
      verb = "resolve";
      r = manager.resolve(c.alert_id, c.who, t, changes);
      break;
    case alert_command::kind::snooze_alert:
      verb = "snooze";
      r = manager.snooze_alert(c.alert_id, c.length, c.who, t, changes);
      break;
    case alert_command::kind::snooze_rule:
    case alert_command::kind::unsnooze: {
      const auto patient = core::short_id::make(c.patient);
      if (!patient || c.patient.empty()) {
        done(json_error(400,
                        fmt::format("'patient' must be 1 to {} bytes", core::short_id::max_size)));
        return;
      }
      if (c.what == alert_command::kind::unsnooze) {
        r = manager.unsnooze(*patient, c.rule, c.who, t, changes);
        break;
      }
      auto up_to = core::priority::medium;
      if (!c.up_to.empty()) {
        const auto p = core::parse_priority(c.up_to);
        if (!p) {
          done(json_error(400, "'up_to' must be \"low\", \"medium\" or \"high\""));
          return;
        }
        up_to = *p;
      }
      r = manager.snooze_rule(*patient, c.rule, c.length, up_to, c.who, t, changes);
      break;
    }
  }
  if (!r.ok()) {
    ++commands_refused;
    const bool about_alert = c.what == alert_command::kind::acknowledge ||
                             c.what == alert_command::kind::resolve ||
                             c.what == alert_command::kind::snooze_alert;
    if (r.code == core::command_result::status::not_found && about_alert) {
      done(not_open(c.alert_id, verb));
    } else {
      done(json_error(http_status(r.code), r.message));
    }
    return;
  }
  ++commands_ok;
  // Answer only once the change is durable: an acknowledgement the database lost would
  // re-page someone who already answered.
  const bool about_alert =
      c.what != alert_command::kind::snooze_rule && c.what != alert_command::kind::unsnooze;
  const auto id = c.alert_id;
  persist(std::move(changes), [this, done, about_alert, id](bool ok) {
    if (!ok) {
      done(json_error(503, "the change could not be stored; try again"));
    } else if (about_alert) {
      done(alert_with_events(id));
    } else {
      json out = json::array();
      for (const auto& z : manager.snoozes()) out.push_back(snooze_json(z));
      done(json_response(200, json{{"snoozes", out}}.dump()));
    }
  });
}

api_response alert_service::list_alerts(const alert_list_query& q) {
  auto& d = *impl_;
  core::alert_query aq;
  if (q.state) {
    aq.state = core::parse_alert_state(*q.state);
    if (!aq.state) return json_error(400, fmt::format("unknown state \"{}\"", *q.state));
  }
  aq.patient = q.patient;
  aq.limit = q.limit;
  aq.before_id = q.before;
  const auto alerts = d.history->list(aq);
  std::string body = "{\"alerts\":[";
  for (std::size_t i = 0; i < alerts.size(); ++i) {
    if (i != 0) body += ',';
    body += notify::alert_json(alerts[i]);
  }
  body += "]";
  // Paging: the next page asks for ids below the last one shown.
  if (alerts.size() == aq.limit && !alerts.empty()) {
    body += fmt::format(",\"next_before\":{}", alerts.back().id);
  }
  body += "}";
  return json_response(200, std::move(body));
}

api_response alert_service::get_alert(std::uint64_t id) {
  return impl_->alert_with_events(id);
}

api_response alert_service::list_snoozes() {
  json out = json::array();
  for (const auto& z : impl_->manager.snoozes()) out.push_back(snooze_json(z));
  return json_response(200, json{{"snoozes", out}}.dump());
}

void alert_service::command(const alert_command& c, std::function<void(api_response)> done) {
  impl_->run_command(c, std::move(done));
}

}  // namespace vitals::daemon
