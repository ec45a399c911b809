#pragma once
/// The daemon's side of the HTTP API: what the server calls once a request is routed, valid and
/// authorised. The server owns HTTP (auth, parsing, errors); the backend owns the data.

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <vitals/core/alert_model.hpp>

namespace vitals::daemon {

/// One HTTP answer. `body` is sent as is; the server adds the transport headers.
struct api_response {
  unsigned status = 200;
  std::string body;
  std::string content_type = "application/json";
};

/// GET /api/v1/alerts?state=&patient=&limit=&before= (already validated by the server: `state`
/// is one of active|acknowledged|latched|resolved, 1 <= limit <= 1000).
struct alert_list_query {
  std::optional<std::string> state;
  std::optional<std::string> patient;
  std::size_t limit = 100;
  std::uint64_t before = 0;  ///< only alerts with a smaller id; 0: from the newest
};

/// An operator command, validated for shape by the server (types, required fields, minutes > 0);
/// the backend checks what only it knows (the alert exists, the snooze bound, the patient id).
struct alert_command {
  enum class kind { acknowledge, resolve, snooze_alert, snooze_rule, unsnooze };
  kind what = kind::acknowledge;
  std::uint64_t alert_id = 0;      ///< acknowledge, resolve, snooze_alert
  std::string patient;             ///< snooze_rule, unsnooze
  std::string rule;                ///< snooze_rule, unsnooze
  std::chrono::seconds length{0};  ///< snooze_alert, snooze_rule (> 0, not yet bounded)
  std::string up_to;               ///< snooze_rule: "low", "medium", "high" or empty (default)
  core::actor_info who;            ///< by: "<token name>" or "<token name>/<body's by>"
};

/// PUT /api/v1/patients/{id} (a document) or DELETE (none), by whom.
struct patient_change {
  std::string id;                       ///< a valid id (core::valid_id_text, at most 47 bytes)
  std::optional<std::string> document;  ///< the body, a JSON object; nullopt: remove
  core::actor_info who;
};

/// Implemented by the daemon. Every call happens on the io_context thread. Commands complete
/// asynchronously (the daemon answers once the change is committed to the database): call `done`
/// exactly once, on the io_context thread; a `done` dropped uncalled answers 500.
class api_backend {
 public:
  virtual ~api_backend() = default;
  virtual api_response health() = 0;                                ///< GET /healthz (no auth)
  virtual api_response metrics() = 0;                               ///< GET /metrics (Prometheus)
  virtual api_response list_alerts(const alert_list_query& q) = 0;  ///< GET /api/v1/alerts
  virtual api_response get_alert(std::uint64_t id) = 0;  ///< alert + events; 404 if unknown
  virtual api_response list_snoozes() = 0;               ///< GET /api/v1/snoozes
  virtual void command(const alert_command& c, std::function<void(api_response)> done) = 0;
  /// POST /api/v1/reload (admin tokens): re-reads the configuration; `done` as for commands.
  virtual void reload(const core::actor_info& who, std::function<void(api_response)> done) = 0;
  /// GET /api/v1/patients: the patient registry.
  virtual api_response list_patients() = 0;
  /// GET /api/v1/patients/{id}: one registry entry; 404 if it has none.
  virtual api_response get_patient(const std::string& id) = 0;
  /// PUT or DELETE /api/v1/patients/{id} (admin tokens): the registry changed and applied as a
  /// reload does; `done` as for commands.
  virtual void change_patient(const patient_change& c, std::function<void(api_response)> done) = 0;
};

/// A configuration reload asked for over the API, by whom.
struct reload_request {
  core::actor_info who;
};

/// The HTTP status of a command's outcome: ok 200, not_found 404, conflict 409, invalid 400.
unsigned http_status(core::command_result::status s) noexcept;

/// {"error": message} with `status` (invalid UTF-8 in the message is replaced, never thrown on).
api_response json_error(unsigned status, std::string_view message);

}  // namespace vitals::daemon
