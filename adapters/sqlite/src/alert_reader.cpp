#include <vitals/adapters/sqlite/alert_reader.hpp>

#include <sqlite3.h>

#include <stdexcept>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

namespace vitals::adapters::sqlite {

namespace {

using json = nlohmann::json;

std::int64_t ms(core::timestamp t) noexcept {
  return t.time_since_epoch().count();
}

core::timestamp from_ms(std::int64_t v) noexcept {
  return core::timestamp(std::chrono::milliseconds(v));
}

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

std::optional<core::alert_source> parse_source(std::string_view t) noexcept {
  if (t == "physiological") return core::alert_source::physiological;
  if (t == "technical") return core::alert_source::technical;
  return std::nullopt;
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

// Column helpers: NULL reads as nullopt / empty.
std::string col_text(sqlite3_stmt* s, int i) {
  const auto* t = reinterpret_cast<const char*>(sqlite3_column_text(s, i));
  return t != nullptr ? std::string(t, static_cast<std::size_t>(sqlite3_column_bytes(s, i)))
                      : std::string();
}

std::optional<core::timestamp> col_opt_ms(sqlite3_stmt* s, int i) {
  if (sqlite3_column_type(s, i) == SQLITE_NULL) return std::nullopt;
  return from_ms(sqlite3_column_int64(s, i));
}

core::timestamp col_ms(sqlite3_stmt* s, int i) {
  return from_ms(sqlite3_column_int64(s, i));
}

// Rows were written by sqlite_store and are guarded by CHECK constraints; a value that does not
// parse anyway (a hand-edited database) falls back rather than failing the whole API request.
core::priority col_priority(sqlite3_stmt* s, int i) {
  return core::parse_priority(col_text(s, i)).value_or(core::priority::medium);
}

core::alert_state col_state(sqlite3_stmt* s, int i) {
  return core::parse_alert_state(col_text(s, i)).value_or(core::alert_state::resolved);
}

std::vector<std::string> split_holding(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    if (end > start) out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

struct stmt_finalizer {
  void operator()(sqlite3_stmt* s) const noexcept { sqlite3_finalize(s); }
};
using stmt_ptr = std::unique_ptr<sqlite3_stmt, stmt_finalizer>;

/// Resets a statement when leaving scope: an unfinished statement would keep its read
/// transaction open and stop the writer's checkpoints from reaching the end of the WAL.
struct reset_guard {
  sqlite3_stmt* s;
  ~reset_guard() {
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
  }
};

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

namespace detail {

const char* const alert_select =
    "SELECT a.id, p.key, d.key, a.rule, a.grp, a.current_rule, a.holding, a.kind, a.source, "
    "a.priority, a.peak_priority, a.state, a.condition_present, a.inhibited, a.flaps, "
    "a.condition_start, a.raised_at, a.cleared_at, a.created, a.updated, a.cleared_wall, "
    "a.acknowledged_at, a.acknowledged_by, a.resolved_at, a.resolved_by, a.value, a.threshold, "
    "a.peak_value, a.last_value, a.message, a.route, a.step, a.next_step_at, a.next_repeat_at, "
    "a.deferred_until FROM alerts a JOIN patients p ON p.id = a.patient_id "
    "LEFT JOIN devices d ON d.id = a.device_id ";

const char* const event_select =
    "SELECT e.id, e.alert_id, e.action, e.at, e.data_time, e.actor, e.reason, e.priority, "
    "e.state, e.value FROM alert_events e ";

const char* const snooze_select =
    "SELECT p.key, z.grp, z.until, z.up_to, z.\"by\", z.reason, z.created FROM snoozes z "
    "JOIN patients p ON p.id = z.patient_id ";

core::alert_record read_alert(sqlite3_stmt* s) {
  core::alert_record a;
  a.id = static_cast<std::uint64_t>(sqlite3_column_int64(s, 0));
  a.patient = core::short_id::truncate(col_text(s, 1));
  a.device = core::short_id::truncate(col_text(s, 2));
  a.rule = col_text(s, 3);
  a.group = col_text(s, 4);
  a.current_rule = col_text(s, 5);
  a.holding = split_holding(col_text(s, 6));
  a.kind = static_cast<core::vital_kind>(sqlite3_column_int(s, 7));
  a.source = parse_source(col_text(s, 8)).value_or(core::alert_source::physiological);
  a.level = col_priority(s, 9);
  a.peak_level = col_priority(s, 10);
  a.state = col_state(s, 11);
  a.condition_present = sqlite3_column_int(s, 12) != 0;
  a.inhibited = sqlite3_column_int(s, 13) != 0;
  a.flaps = static_cast<std::uint32_t>(sqlite3_column_int64(s, 14));
  a.condition_start = col_ms(s, 15);
  a.raised_at = col_ms(s, 16);
  a.cleared_at = col_opt_ms(s, 17);
  a.created = col_ms(s, 18);
  a.updated = col_ms(s, 19);
  a.cleared_wall = col_opt_ms(s, 20);
  a.acknowledged_at = col_opt_ms(s, 21);
  a.acknowledged_by = col_text(s, 22);
  a.resolved_at = col_opt_ms(s, 23);
  a.resolved_by = col_text(s, 24);
  a.value = sqlite3_column_double(s, 25);
  a.threshold = sqlite3_column_double(s, 26);
  a.peak_value = sqlite3_column_double(s, 27);
  a.last_value = sqlite3_column_double(s, 28);
  a.message = col_text(s, 29);
  a.route = col_text(s, 30);
  a.step = sqlite3_column_int(s, 31);
  a.next_step_at = col_opt_ms(s, 32);
  a.next_repeat_at = col_opt_ms(s, 33);
  a.deferred_until = col_opt_ms(s, 34);
  return a;
}

core::lifecycle_event read_event(sqlite3_stmt* s) {
  core::lifecycle_event e;
  e.id = static_cast<std::uint64_t>(sqlite3_column_int64(s, 0));
  e.alert_id = static_cast<std::uint64_t>(sqlite3_column_int64(s, 1));
  e.action = core::parse_alert_action(col_text(s, 2)).value_or(core::alert_action::raised);
  e.at = col_ms(s, 3);
  e.data_time = col_opt_ms(s, 4);
  e.actor = col_text(s, 5);
  e.reason = col_text(s, 6);
  e.level = col_priority(s, 7);
  e.state = col_state(s, 8);
  e.value = sqlite3_column_double(s, 9);
  return e;
}

core::snooze read_snooze(sqlite3_stmt* s) {
  core::snooze z;
  z.patient = core::short_id::truncate(col_text(s, 0));
  z.group = col_text(s, 1);
  z.until = col_ms(s, 2);
  z.up_to = col_priority(s, 3);
  z.by = col_text(s, 4);
  z.reason = col_text(s, 5);
  z.created = col_ms(s, 6);
  return z;
}

}  // namespace detail

struct alert_reader::impl {
  std::string path;
  sqlite3* db = nullptr;
  stmt_ptr list, get, events, snoozes, outbox;

  [[noreturn]] void fail(const std::string& what) const {
    throw std::runtime_error("SQLite database '" + path + "': " + what);
  }

  stmt_ptr prepare(const std::string& sql) const {
    sqlite3_stmt* s = nullptr;
    const int rc = sqlite3_prepare_v3(db, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr);
    if (rc != SQLITE_OK) fail(sqlite3_errmsg(db));
    return stmt_ptr(s);
  }

  /// Steps to the next row; false at the end; throws on errors.
  bool next(sqlite3_stmt* s) const {
    const int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    fail(sqlite3_errmsg(db));
  }

  ~impl() {
    // Statements before the connection, or close would leave it a zombie.
    for (auto* s : {&list, &get, &events, &snoozes, &outbox}) s->reset();
    sqlite3_close(db);
  }
};

alert_reader::alert_reader(std::string path) : impl_(std::make_unique<impl>()) {
  auto& m = *impl_;
  m.path = std::move(path);
  const int rc =
      sqlite3_open_v2(m.path.c_str(), &m.db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    const std::string msg = m.db != nullptr ? sqlite3_errmsg(m.db) : sqlite3_errstr(rc);
    throw std::runtime_error("cannot open SQLite database '" + m.path + "' read-only: " + msg);
  }
  // The writer holds its lock only for a commit; a short wait beats failing an API request.
  sqlite3_busy_timeout(m.db, 5000);
  {
    auto s = m.prepare("PRAGMA user_version");
    if (!m.next(s.get())) m.fail("cannot read the schema version");
    const auto version = sqlite3_column_int64(s.get(), 0);
    if (version < 3) {
      m.fail("schema version " + std::to_string(version) +
             " has no alert lifecycle tables (version 3 or later needed)");
    }
  }
  m.list = m.prepare(std::string(detail::alert_select) +
                     "WHERE (?1 IS NULL OR a.state = ?1) AND (?2 IS NULL OR p.key = ?2) "
                     "AND (?3 = 0 OR a.id < ?3) ORDER BY a.id DESC LIMIT ?4");
  m.get = m.prepare(std::string(detail::alert_select) + "WHERE a.id = ?1");
  m.events = m.prepare(std::string(detail::event_select) + "WHERE e.alert_id = ?1 ORDER BY e.id");
  m.snoozes =
      m.prepare(std::string(detail::snooze_select) + "WHERE z.until > ?1 ORDER BY p.key, z.grp");
  m.outbox = m.prepare("SELECT status, count(*) FROM outbox GROUP BY status");
}

alert_reader::~alert_reader() = default;

std::vector<core::alert_record> alert_reader::list(const alert_query& q) {
  auto& m = *impl_;
  sqlite3_stmt* s = m.list.get();
  reset_guard g{s};
  if (q.state) {
    const auto name = core::to_string(*q.state);
    sqlite3_bind_text(s, 1, name.data(), static_cast<int>(name.size()), SQLITE_TRANSIENT);
  }
  if (q.patient) {
    sqlite3_bind_text(s, 2, q.patient->data(), static_cast<int>(q.patient->size()),
                      SQLITE_TRANSIENT);
  }
  sqlite3_bind_int64(s, 3, static_cast<std::int64_t>(q.before_id));
  sqlite3_bind_int64(s, 4, static_cast<std::int64_t>(q.limit));
  std::vector<core::alert_record> out;
  while (m.next(s)) out.push_back(detail::read_alert(s));
  return out;
}

std::optional<core::alert_record> alert_reader::get(std::uint64_t id) {
  auto& m = *impl_;
  sqlite3_stmt* s = m.get.get();
  reset_guard g{s};
  sqlite3_bind_int64(s, 1, static_cast<std::int64_t>(id));
  if (!m.next(s)) return std::nullopt;
  return detail::read_alert(s);
}

std::vector<core::lifecycle_event> alert_reader::events(std::uint64_t alert_id) {
  auto& m = *impl_;
  sqlite3_stmt* s = m.events.get();
  reset_guard g{s};
  sqlite3_bind_int64(s, 1, static_cast<std::int64_t>(alert_id));
  std::vector<core::lifecycle_event> out;
  while (m.next(s)) out.push_back(detail::read_event(s));
  return out;
}

std::vector<core::snooze> alert_reader::snoozes(core::timestamp now) {
  auto& m = *impl_;
  sqlite3_stmt* s = m.snoozes.get();
  reset_guard g{s};
  sqlite3_bind_int64(s, 1, ms(now));
  std::vector<core::snooze> out;
  while (m.next(s)) out.push_back(detail::read_snooze(s));
  return out;
}

alert_reader::outbox_counts alert_reader::outbox() {
  auto& m = *impl_;
  sqlite3_stmt* s = m.outbox.get();
  reset_guard g{s};
  outbox_counts c;
  while (m.next(s)) {
    const auto status = col_text(s, 0);
    const auto n = static_cast<std::uint64_t>(sqlite3_column_int64(s, 1));
    if (status == "pending") {
      c.pending = n;
    } else if (status == "delivered") {
      c.delivered = n;
    } else if (status == "failed") {
      c.failed = n;
    }
  }
  return c;
}

}  // namespace vitals::adapters::sqlite
