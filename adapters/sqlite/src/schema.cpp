#include "schema.hpp"

#include <vitals/adapters/sqlite/sqlite_store.hpp>

#include <iterator>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "connection.hpp"

namespace vitals::adapters::sqlite {

namespace {

/// One schema step; steps are applied in order, each in its own transaction.
struct migration {
  int version;
  const char* sql;
};

// ISO-8601 UTC with milliseconds from an epoch-ms column, exact (integer arithmetic, no float
// rounding of the fraction). NULL in gives NULL out.
#define VITALS_ISO_MS(col) \
  "strftime('%Y-%m-%dT%H:%M:%S', " col " / 1000, 'unixepoch') || printf('.%03dZ', " col " % 1000)"

// The text of each step is what older files were made with and what SQLite keeps in
// sqlite_schema: it must not change. clang-format cannot lay out literals joined with a macro.
// clang-format off
constexpr migration migrations[] = {
    {1,
     // Integer ids everywhere (text keys only in patients/devices); samples clustered on their
     // natural key so a redelivered sample is stored once and no secondary index slows inserts.
     "CREATE TABLE patients ("
     "  id INTEGER PRIMARY KEY,"
     "  key TEXT NOT NULL UNIQUE,"
     "  first_seen INTEGER NOT NULL);"
     "CREATE TABLE devices ("
     "  id INTEGER PRIMARY KEY,"
     "  key TEXT NOT NULL UNIQUE,"
     "  patient_id INTEGER NOT NULL REFERENCES patients(id),"
     "  first_seen INTEGER NOT NULL,"
     "  last_seen INTEGER NOT NULL);"
     "CREATE TABLE samples ("
     "  device_id INTEGER NOT NULL REFERENCES devices(id),"
     "  kind INTEGER NOT NULL,"  // 0 hr, 1 spo2, 2 glucose (core::vital_kind)
     "  device_ts INTEGER NOT NULL,"
     "  value REAL NOT NULL,"
     "  receive_ts INTEGER NOT NULL,"
     "  seq INTEGER,"
     "  quality INTEGER NOT NULL DEFAULT 0,"
     "  patient_id INTEGER NOT NULL REFERENCES patients(id),"
     "  PRIMARY KEY (device_id, kind, device_ts)) WITHOUT ROWID;"
     "CREATE TABLE alerts ("
     "  id INTEGER PRIMARY KEY,"
     "  patient_id INTEGER NOT NULL REFERENCES patients(id),"
     "  device_id INTEGER REFERENCES devices(id),"
     "  rule TEXT NOT NULL,"
     "  kind INTEGER NOT NULL,"
     "  priority TEXT NOT NULL CHECK (priority IN ('low', 'medium', 'high')),"
     "  source TEXT NOT NULL CHECK (source IN ('physiological', 'technical')),"
     "  state TEXT NOT NULL CHECK (state IN ('active', 'resolved')),"
     "  raised_at INTEGER NOT NULL,"
     "  cleared_at INTEGER,"
     "  condition_start INTEGER NOT NULL,"
     "  value REAL NOT NULL,"
     "  threshold REAL NOT NULL,"
     "  worst_value REAL NOT NULL,"
     "  last_value REAL NOT NULL,"
     "  message TEXT NOT NULL);"
     // The dedup key: at most one active alert per (patient, rule).
     "CREATE UNIQUE INDEX alerts_active_key ON alerts(patient_id, rule) WHERE state = 'active';"
     "CREATE TABLE alert_events ("
     "  id INTEGER PRIMARY KEY,"
     "  alert_id INTEGER NOT NULL REFERENCES alerts(id),"
     "  transition TEXT NOT NULL CHECK (transition IN ('raised', 'cleared')),"
     "  at INTEGER NOT NULL,"
     "  value REAL NOT NULL,"
     "  actor TEXT NOT NULL,"
     "  reason TEXT NOT NULL);"
     "CREATE INDEX alert_events_alert ON alert_events(alert_id);"
     "CREATE VIEW sample_view AS SELECT"
     "  p.key AS patient, d.key AS device,"
     "  CASE s.kind WHEN 0 THEN 'hr' WHEN 1 THEN 'spo2' WHEN 2 THEN 'glucose' END AS vital,"
     "  " VITALS_ISO_MS("s.device_ts") " AS time,"
     "  s.value AS value,"
     "  CASE s.kind WHEN 0 THEN '/min' WHEN 1 THEN '%' WHEN 2 THEN 'mg/dL' END AS unit,"
     "  s.quality AS quality"
     "  FROM samples s JOIN devices d ON d.id = s.device_id JOIN patients p ON "
     "p.id = s.patient_id;"
     "CREATE VIEW alert_view AS SELECT"
     "  a.id AS id, p.key AS patient, a.rule AS rule, a.priority AS priority, a.state AS state,"
     "  " VITALS_ISO_MS("a.raised_at") " AS raised,"
     "  " VITALS_ISO_MS("a.cleared_at") " AS cleared,"
     "  a.value AS value, a.threshold AS threshold, a.message AS message"
     "  FROM alerts a JOIN patients p ON p.id = a.patient_id;"},
    {2,
     // Personal baselines (core::baseline_detector): one opaque, versioned state per patient,
     // replaced on every save.
     "CREATE TABLE baselines ("
     "  patient_id INTEGER PRIMARY KEY REFERENCES patients(id),"
     "  state BLOB NOT NULL,"
     "  updated_at INTEGER NOT NULL);"
     "CREATE VIEW baseline_view AS SELECT"
     "  p.key AS patient, length(b.state) AS bytes,"
     "  " VITALS_ISO_MS("b.updated_at") " AS updated"
     "  FROM baselines b JOIN patients p ON p.id = b.patient_id;"},
    {3,
     // The alert manager owns alert state: alerts gain the lifecycle (acknowledged, latched),
     // groups, escalation and wall-clock times; the audit trail records the manager's actions.
     // SQLite cannot alter CHECK constraints, so both tables are rebuilt. The old ones are
     // renamed first (which also repoints alert_events' foreign key to the renamed alerts), so
     // that dropping them later never orphans a row of the new tables. Version 1-2 rows keep
     // their ids; their wall-clock times are unknown and take the device times.
     "DROP VIEW alert_view;"
     "DROP INDEX alerts_active_key;"
     "DROP INDEX alert_events_alert;"
     "ALTER TABLE alerts RENAME TO alerts_v2;"
     "ALTER TABLE alert_events RENAME TO alert_events_v2;"
     "CREATE TABLE alerts ("
     "  id INTEGER PRIMARY KEY,"  // the manager's id
     "  patient_id INTEGER NOT NULL REFERENCES patients(id),"
     "  device_id INTEGER REFERENCES devices(id),"
     "  rule TEXT NOT NULL,"
     "  grp TEXT NOT NULL,"
     "  current_rule TEXT NOT NULL,"
     "  holding TEXT NOT NULL DEFAULT '',"  // comma-separated rule names
     "  kind INTEGER NOT NULL,"
     "  source TEXT NOT NULL CHECK (source IN ('physiological', 'technical')),"
     "  priority TEXT NOT NULL CHECK (priority IN ('low', 'medium', 'high')),"
     "  peak_priority TEXT NOT NULL CHECK (peak_priority IN ('low', 'medium', 'high')),"
     "  state TEXT NOT NULL CHECK (state IN ('active', 'acknowledged', 'latched', 'resolved')),"
     "  condition_present INTEGER NOT NULL,"
     "  inhibited INTEGER NOT NULL DEFAULT 0,"
     "  flaps INTEGER NOT NULL DEFAULT 0,"
     "  condition_start INTEGER NOT NULL,"  // device time
     "  raised_at INTEGER NOT NULL,"        // device time
     "  cleared_at INTEGER,"                // device time
     "  created INTEGER NOT NULL,"          // wall clock from here on
     "  updated INTEGER NOT NULL,"
     "  cleared_wall INTEGER,"
     "  acknowledged_at INTEGER,"
     "  acknowledged_by TEXT NOT NULL DEFAULT '',"
     "  resolved_at INTEGER,"
     "  resolved_by TEXT NOT NULL DEFAULT '',"
     "  value REAL NOT NULL,"
     "  threshold REAL NOT NULL,"
     "  peak_value REAL NOT NULL,"
     "  last_value REAL NOT NULL,"
     "  message TEXT NOT NULL,"
     "  route TEXT NOT NULL DEFAULT '',"
     "  step INTEGER NOT NULL DEFAULT -1,"
     "  next_step_at INTEGER,"
     "  next_repeat_at INTEGER,"
     "  deferred_until INTEGER);"
     "INSERT INTO alerts(id, patient_id, device_id, rule, grp, current_rule, holding, kind, source,"
     "  priority, peak_priority, state, condition_present, condition_start, raised_at, cleared_at,"
     "  created, updated, cleared_wall, resolved_at, resolved_by, value, threshold, peak_value,"
     "  last_value, message)"
     "  SELECT id, patient_id, device_id, rule, rule, rule,"
     "    CASE state WHEN 'active' THEN rule ELSE '' END, kind, source, priority, priority, state,"
     "    state = 'active', condition_start, raised_at, cleared_at, raised_at,"
     "    coalesce(cleared_at, raised_at), cleared_at,"
     "    CASE state WHEN 'resolved' THEN coalesce(cleared_at, raised_at) END,"
     "    CASE state WHEN 'resolved' THEN 'detector' ELSE '' END,"
     "    value, threshold, worst_value, last_value, message FROM alerts_v2;"
     "CREATE TABLE alert_events ("
     "  id INTEGER PRIMARY KEY,"  // the manager's id
     "  alert_id INTEGER NOT NULL REFERENCES alerts(id),"
     "  action TEXT NOT NULL CHECK (action IN ('raised', 'retriggered', 'escalated',"
     "    'deescalated', 'condition_cleared', 'latched', 'acknowledged', 'resolved', 'snoozed',"
     "    'snooze_ended', 'inhibited', 'uninhibited', 'notified')),"
     "  at INTEGER NOT NULL,"  // wall clock
     "  data_time INTEGER,"    // device time
     "  actor TEXT NOT NULL,"
     "  reason TEXT NOT NULL,"
     "  priority TEXT NOT NULL CHECK (priority IN ('low', 'medium', 'high')),"
     "  state TEXT NOT NULL CHECK (state IN ('active', 'acknowledged', 'latched', 'resolved')),"
     "  value REAL NOT NULL);"
     "INSERT INTO alert_events(id, alert_id, action, at, data_time, actor, reason, priority, state,"
     "  value)"
     "  SELECT e.id, e.alert_id,"
     "    CASE e.transition WHEN 'raised' THEN 'raised' ELSE 'condition_cleared' END,"
     "    e.at, e.at, e.actor, e.reason, a.priority,"
     "    CASE e.transition WHEN 'raised' THEN 'active' ELSE 'resolved' END, e.value"
     "  FROM alert_events_v2 e JOIN alerts_v2 a ON a.id = e.alert_id;"
     "DROP TABLE alert_events_v2;"
     "DROP TABLE alerts_v2;"
     // The dedup key: at most one unacknowledged-or-acknowledged alert per (patient, group);
     // latched and resolved ones no longer block a new alert.
     "CREATE UNIQUE INDEX alerts_open_key ON alerts(patient_id, grp)"
     "  WHERE state IN ('active', 'acknowledged');"
     "CREATE INDEX alerts_open ON alerts(state) WHERE state <> 'resolved';"
     "CREATE INDEX alert_events_alert ON alert_events(alert_id);"
     "CREATE TABLE snoozes ("
     "  patient_id INTEGER NOT NULL REFERENCES patients(id),"
     "  grp TEXT NOT NULL,"
     "  until INTEGER NOT NULL,"  // wall clock
     "  up_to TEXT NOT NULL CHECK (up_to IN ('low', 'medium', 'high')),"
     "  \"by\" TEXT NOT NULL,"
     "  reason TEXT NOT NULL,"
     "  created INTEGER NOT NULL,"
     "  PRIMARY KEY (patient_id, grp)) WITHOUT ROWID;"
     "CREATE TABLE outbox ("
     "  id INTEGER PRIMARY KEY,"  // the manager's notification id: delivery order
     "  alert_id INTEGER NOT NULL REFERENCES alerts(id),"
     "  event_id INTEGER NOT NULL,"
     "  receiver TEXT NOT NULL,"
     "  action TEXT NOT NULL CHECK (action IN ('trigger', 'escalate', 'repeat', 'acknowledge',"
     "    'resolve')),"
     "  step INTEGER NOT NULL,"
     "  idempotency_key TEXT NOT NULL,"
     "  document TEXT NOT NULL,"  // JSON: the notification with its alert and event snapshot
     "  created INTEGER NOT NULL,"
     "  status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered',"
     "    'failed')),"
     "  attempts INTEGER NOT NULL DEFAULT 0,"
     "  last_error TEXT,"
     "  delivered_at INTEGER);"
     "CREATE INDEX outbox_status ON outbox(status, id);"
     "CREATE VIEW alert_view AS SELECT"
     "  a.id AS id, p.key AS patient, a.rule AS rule, a.grp AS grp, a.priority AS priority,"
     "  a.peak_priority AS peak_priority, a.state AS state,"
     "  " VITALS_ISO_MS("a.raised_at") " AS raised,"
     "  " VITALS_ISO_MS("a.cleared_at") " AS cleared,"
     "  " VITALS_ISO_MS("a.acknowledged_at") " AS acknowledged,"
     "  nullif(a.acknowledged_by, '') AS acknowledged_by,"
     "  " VITALS_ISO_MS("a.resolved_at") " AS resolved,"
     "  a.value AS value, a.threshold AS threshold, a.message AS message"
     "  FROM alerts a JOIN patients p ON p.id = a.patient_id;"
     "CREATE VIEW alert_event_view AS SELECT"
     "  e.alert_id AS alert, p.key AS patient, e.action AS action,"
     "  " VITALS_ISO_MS("e.at") " AS time,"
     "  e.actor AS actor, e.reason AS reason"
     "  FROM alert_events e JOIN alerts a ON a.id = e.alert_id"
     "  JOIN patients p ON p.id = a.patient_id;"
     "CREATE VIEW outbox_view AS SELECT"
     "  o.id AS id, o.alert_id AS alert, o.receiver AS receiver, o.action AS action,"
     "  o.step AS step, o.status AS status, o.attempts AS attempts,"
     "  " VITALS_ISO_MS("o.created") " AS created,"
     "  " VITALS_ISO_MS("o.delivered_at") " AS delivered,"
     "  o.last_error AS last_error"
     "  FROM outbox o;"},
    // v4 (issue 6): what the device said about a reading. conditions: core::device_condition bits
    // (e.g. a poor signal on a stored, not evaluated reading); device_status: the raw CGM
    // sensor status annunciation, kept for diagnosis (the CGM's own hypo/hyper warnings).
    {4,
     "ALTER TABLE samples ADD COLUMN conditions INTEGER NOT NULL DEFAULT 0;"
     "ALTER TABLE samples ADD COLUMN device_status INTEGER NOT NULL DEFAULT 0;"
     "DROP VIEW sample_view;"
     "CREATE VIEW sample_view AS SELECT"
     "  p.key AS patient, d.key AS device,"
     "  CASE s.kind WHEN 0 THEN 'hr' WHEN 1 THEN 'spo2' WHEN 2 THEN 'glucose' END AS vital,"
     "  " VITALS_ISO_MS("s.device_ts") " AS time, s.value AS value,"
     "  CASE s.kind WHEN 0 THEN '/min' WHEN 1 THEN '%' WHEN 2 THEN 'mg/dL' END AS unit,"
     "  s.quality AS quality, s.conditions AS conditions, s.device_status AS device_status"
     "  FROM samples s JOIN devices d ON d.id = s.device_id JOIN patients p ON "
     "p.id = s.patient_id;"},
    // v5 (issue 16): the patient registry (vitalsctl patient, /api/v1/patients). One row per
    // patient: its settings as the JSON of a [[patients]] table plus "devices". Every change is
    // kept in patient_registry_events, with who made it.
    {5,
     "CREATE TABLE patient_registry ("
     "  id TEXT PRIMARY KEY,"
     "  document TEXT NOT NULL CHECK (json_valid(document)),"
     "  updated INTEGER NOT NULL,"
     "  updated_by TEXT NOT NULL) WITHOUT ROWID;"
     "CREATE TABLE patient_registry_events ("
     "  id INTEGER PRIMARY KEY,"
     "  patient TEXT NOT NULL,"
     "  action TEXT NOT NULL CHECK (action IN ('put', 'remove')),"
     "  document TEXT,"  // what was put; NULL for a removal
     "  at INTEGER NOT NULL,"
     "  \"by\" TEXT NOT NULL);"},
};
// clang-format on

#undef VITALS_ISO_MS

static_assert(std::size(migrations) == sqlite_store::current_schema_version,
              "one migration step per schema version");

}  // namespace

namespace detail {

void migrate(sqlite3* db, const std::string& path) {
  const auto version = query_int(db, "PRAGMA user_version");
  if (version > sqlite_store::current_schema_version) {
    throw std::runtime_error("SQLite database '" + path + "' has schema version " +
                             std::to_string(version) + ", newer than this vitalsd supports (" +
                             std::to_string(sqlite_store::current_schema_version) + ")");
  }
  for (const auto& m : migrations) {
    if (m.version <= version) continue;
    // IMMEDIATE: two daemons starting on one file must not both apply the step.
    exec(db, "BEGIN IMMEDIATE");
    try {
      if (query_int(db, "PRAGMA user_version") >= m.version) {
        exec(db, "COMMIT");
        continue;
      }
      exec(db, m.sql);
      const std::string set = "PRAGMA user_version=" + std::to_string(m.version);
      exec(db, set.c_str());
      exec(db, "COMMIT");
    } catch (...) {
      sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
    spdlog::info("sqlite store: {} migrated to schema version {}", path, m.version);
  }
}

}  // namespace detail

void sqlite_store::create_schema_for_testing(const std::string& path, int version) {
  if (detail::is_file_path(path)) detail::secure_file(path);
  sqlite3* raw = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  const detail::db_ptr db(raw);
  if (rc != SQLITE_OK) throw std::runtime_error("cannot open SQLite database '" + path + "'");
  detail::exec(db.get(), "PRAGMA journal_mode=WAL");
  for (const auto& m : migrations) {
    if (m.version > version) break;
    detail::exec(db.get(), m.sql);
  }
  detail::exec(db.get(), ("PRAGMA user_version=" + std::to_string(version)).c_str());
}

int sqlite_store::schema_version(const std::string& path) {
  const auto db = detail::open_db(path, SQLITE_OPEN_READONLY);
  return detail::naming_path(
      path, [&] { return static_cast<int>(detail::query_int(db.get(), "PRAGMA user_version")); });
}

}  // namespace vitals::adapters::sqlite
