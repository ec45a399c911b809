#include <vitals/adapters/sqlite/sqlite_store.hpp>

#include <vitals/adapters/sqlite/alert_reader.hpp>

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>

#include "alert_select.hpp"
#include "connection.hpp"
#include "schema.hpp"

namespace vitals::adapters::sqlite {

namespace {

using steady = std::chrono::steady_clock;

using detail::bind_opt_ms;
using detail::bind_text;
using detail::db_ptr;
using detail::exec;
using detail::ms;
using detail::prepare;
using detail::query_int;
using detail::reset_guard;
using detail::sqlite_error;
using detail::step_done;
using detail::stmt_ptr;

/// Columns of `alerts` after id, in the order write_alert() binds them (?2 on).
constexpr const char* alert_columns[] = {"patient_id",
                                         "device_id",
                                         "rule",
                                         "grp",
                                         "current_rule",
                                         "holding",
                                         "kind",
                                         "source",
                                         "priority",
                                         "peak_priority",
                                         "state",
                                         "condition_present",
                                         "inhibited",
                                         "flaps",
                                         "condition_start",
                                         "raised_at",
                                         "cleared_at",
                                         "created",
                                         "updated",
                                         "cleared_wall",
                                         "acknowledged_at",
                                         "acknowledged_by",
                                         "resolved_at",
                                         "resolved_by",
                                         "value",
                                         "threshold",
                                         "peak_value",
                                         "last_value",
                                         "message",
                                         "route",
                                         "step",
                                         "next_step_at",
                                         "next_repeat_at",
                                         "deferred_until"};

/// Backoff between retries of a failed transaction.
constexpr std::chrono::milliseconds retry_min{100};
constexpr std::chrono::milliseconds retry_max{5000};
/// Attempts per batch once shutdown has begun: stop() must return even if the disk is gone.
constexpr int stop_attempts = 3;

}  // namespace

/// One patient's baseline state to upsert.
struct baseline_row {
  core::short_id patient;
  std::vector<std::uint8_t> state;
  std::int64_t at = 0;  ///< wall-clock epoch ms of save_baseline()
};

/// One apply(): the manager's changes and who to tell once they are durable.
struct alert_work {
  core::alert_changes changes;
  std::function<void(bool, std::vector<core::notification>)> committed;
};

/// One mark_delivered() / mark_failed().
struct outbox_update {
  std::uint64_t id = 0;
  bool delivered = false;
  std::int64_t at = 0;  ///< delivered: when
  int attempts = 0;     ///< failed: attempts so far
  std::string error;
  bool final = false;
};

/// Queue entry: a chunk of samples (from `offset` on), one baseline, one apply() or one outbox
/// update, in arrival order.
struct work_item {
  std::vector<core::sample> samples;
  std::size_t offset = 0;
  std::optional<baseline_row> baseline;
  std::optional<alert_work> alerts;
  std::optional<outbox_update> outbox;
  steady::time_point enqueued;

  /// An apply() counts as one row however large: it is one unit the writer never splits.
  std::size_t rows() const noexcept {
    return baseline || alerts || outbox ? 1 : samples.size() - offset;
  }
};

struct sqlite_store::impl {
  impl(store_options o, core::stats& s) : options(std::move(o)), st(s) {}

  store_options options;
  core::stats& st;
  db_ptr db;

  // Shared between the pipeline thread and the writer, guarded by mutex.
  mutable std::mutex mutex;
  std::condition_variable work_cv;   // writer waits for rows, deadlines, flush and stop
  std::condition_variable space_cv;  // append() waits for the writer to take rows
  std::condition_variable done_cv;   // flush() waits for commits
  std::deque<work_item> queue;
  std::size_t queued_rows = 0;
  std::uint64_t enqueued_seq = 0;   // rows ever queued
  std::uint64_t taken_seq = 0;      // rows taken by the writer
  std::uint64_t committed_seq = 0;  // rows committed (or given up on, logged)
  std::uint64_t flush_target = 0;   // commit at once until taken_seq reaches this
  bool running = false;             // writer thread alive
  bool stopping = false;
  bool closed = false;

  std::thread writer;

  // Writer-only state (or the stopping thread once the writer has been joined).
  stmt_ptr find_patient, insert_patient, find_device, insert_device, move_device, touch_device;
  stmt_ptr insert_sample, upsert_baseline, upsert_alert, insert_event, insert_outbox, upsert_snooze,
      delete_snooze, outbox_delivered, outbox_failed;
  struct device_entry {
    std::int64_t id;
    std::int64_t patient_id;
  };
  std::unordered_map<core::short_id, std::int64_t> patients;
  std::unordered_map<core::short_id, device_entry> devices;
  std::unordered_map<std::int64_t, std::int64_t> touched;  // device id -> newest receive time

  // Commit latency, guarded by mutex (read by commit_latency() from any thread).
  commit_stats latency;

  void open();
  void prepare_statements();

  std::size_t take_locked(std::vector<work_item>& batch);
  void writer_loop();
  void drain_inline();
  void commit_with_retry(std::vector<work_item>& batch, std::uint64_t upto, bool bounded);
  void write_batch(const std::vector<work_item>& batch, std::uint64_t& samples_written);
  std::int64_t patient_id(const core::short_id& key, std::int64_t now);
  std::int64_t device_id(const core::short_id& key, std::int64_t patient, std::int64_t now);
  bool write_sample(const core::sample& s);
  void write_changes(const core::alert_changes& c);
  void write_alert(const core::alert_record& a);
  bool write_row(sqlite3_stmt* q, const char* what);
  void write_outbox_update(const outbox_update& u);
  void write_baseline(const baseline_row& b);
  static void notify_committed(std::vector<work_item>& batch, bool ok);
  bool enqueue(work_item item);
};

void sqlite_store::impl::open() {
  const bool on_disk = detail::is_file_path(options.path);
  if (on_disk) {
    detail::secure_file(options.path);
    detail::secure_sidecar(options.path + "-wal");
    detail::secure_sidecar(options.path + "-shm");
  }
  sqlite3* raw = nullptr;
  const int rc =
      sqlite3_open_v2(options.path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  db.reset(raw);
  if (rc != SQLITE_OK) {
    const std::string msg = raw != nullptr ? sqlite3_errmsg(raw) : sqlite3_errstr(rc);
    throw std::runtime_error("cannot open SQLite database '" + options.path + "': " + msg);
  }
  sqlite3_extended_result_codes(db.get(), 1);
  try {
    sqlite3_busy_timeout(db.get(), static_cast<int>(options.busy_timeout.count()));
    {
      // journal_mode answers with the mode in force; anything but wal (e.g. a read-only
      // directory) would silently lose the crash-safety and concurrency we rely on.
      auto s = prepare(db.get(), "PRAGMA journal_mode=WAL");
      const int step = sqlite3_step(s.get());
      if (step != SQLITE_ROW) throw sqlite_error(sqlite3_errmsg(db.get()), step);
      const auto* mode = reinterpret_cast<const char*>(sqlite3_column_text(s.get(), 0));
      if (on_disk && (mode == nullptr || std::string_view(mode) != "wal")) {
        throw sqlite_error(std::string("journal_mode is ") + (mode ? mode : "?") + ", not wal",
                           SQLITE_ERROR);
      }
    }
    exec(db.get(),
         options.synchronous == "full" ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
    exec(db.get(), "PRAGMA foreign_keys=ON");
    detail::migrate(db.get(), options.path);
    prepare_statements();
  } catch (const sqlite_error& e) {
    throw std::runtime_error("SQLite database '" + options.path + "': " + e.what());
  }
}

void sqlite_store::impl::prepare_statements() {
  sqlite3* d = db.get();
  find_patient = prepare(d, "SELECT id FROM patients WHERE key = ?1");
  insert_patient = prepare(d, "INSERT INTO patients(key, first_seen) VALUES (?1, ?2)");
  find_device = prepare(d, "SELECT id, patient_id FROM devices WHERE key = ?1");
  insert_device = prepare(d,
                          "INSERT INTO devices(key, patient_id, first_seen, last_seen) "
                          "VALUES (?1, ?2, ?3, ?3)");
  move_device = prepare(d, "UPDATE devices SET patient_id = ?2 WHERE id = ?1");
  touch_device = prepare(d, "UPDATE devices SET last_seen = max(last_seen, ?2) WHERE id = ?1");
  // ON CONFLICT on the key only: a redelivery is skipped, while a NOT NULL violation (a NaN
  // binds as NULL) still fails loudly, which INSERT OR IGNORE would also swallow.
  insert_sample = prepare(d,
                          "INSERT INTO samples(device_id, kind, device_ts, value, receive_ts, seq, "
                          "quality, patient_id, conditions, device_status) "
                          "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) "
                          "ON CONFLICT(device_id, kind, device_ts) DO NOTHING");
  {
    // Upsert by the manager's id: every call carries the alert's final state.
    std::string sql = "INSERT INTO alerts(id";
    std::string values = "?1";
    std::string update;
    for (std::size_t i = 0; i < std::size(alert_columns); ++i) {
      sql += std::string(", ") + alert_columns[i];
      values += ", ?" + std::to_string(i + 2);
      if (i > 0) update += ", ";
      update += std::string(alert_columns[i]) + " = excluded." + alert_columns[i];
    }
    sql += ") VALUES (" + values + ") ON CONFLICT(id) DO UPDATE SET " + update;
    upsert_alert = prepare(d, sql.c_str());
  }
  // Events and outbox rows never change once written; a repeated apply() (not expected) is a
  // no-op instead of a batch that fails forever.
  insert_event = prepare(d,
                         "INSERT INTO alert_events(id, alert_id, action, at, data_time, actor, "
                         "reason, priority, state, value) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
                         "?9, ?10) ON CONFLICT(id) DO NOTHING");
  insert_outbox = prepare(d,
                          "INSERT INTO outbox(id, alert_id, event_id, receiver, action, step, "
                          "idempotency_key, document, created) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
                          "?8, ?9) ON CONFLICT(id) DO NOTHING");
  upsert_snooze = prepare(d,
                          "INSERT INTO snoozes(patient_id, grp, until, up_to, \"by\", reason, "
                          "created) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) "
                          "ON CONFLICT(patient_id, grp) DO UPDATE SET until = excluded.until, "
                          "up_to = excluded.up_to, \"by\" = excluded.\"by\", "
                          "reason = excluded.reason, created = excluded.created");
  delete_snooze = prepare(d, "DELETE FROM snoozes WHERE patient_id = ?1 AND grp = ?2");
  outbox_delivered = prepare(d,
                             "UPDATE outbox SET status = 'delivered', delivered_at = ?2, "
                             "attempts = attempts + 1, last_error = NULL WHERE id = ?1");
  outbox_failed = prepare(d,
                          "UPDATE outbox SET status = CASE WHEN ?4 THEN 'failed' ELSE status END, "
                          "attempts = ?2, last_error = ?3 WHERE id = ?1");
  upsert_baseline =
      prepare(d,
              "INSERT INTO baselines(patient_id, state, updated_at) VALUES (?1, ?2, ?3) "
              "ON CONFLICT(patient_id) DO UPDATE SET state = excluded.state, "
              "updated_at = excluded.updated_at");
}

std::int64_t sqlite_store::impl::patient_id(const core::short_id& key, std::int64_t now) {
  if (auto it = patients.find(key); it != patients.end()) return it->second;
  sqlite3* d = db.get();
  std::int64_t id = 0;
  {
    reset_guard g{find_patient.get()};
    bind_text(find_patient.get(), 1, key.view());
    const int rc = sqlite3_step(find_patient.get());
    if (rc == SQLITE_ROW) {
      id = sqlite3_column_int64(find_patient.get(), 0);
    } else if (rc != SQLITE_DONE) {
      throw sqlite_error(sqlite3_errmsg(d), rc);
    }
  }
  if (id == 0) {
    reset_guard g{insert_patient.get()};
    bind_text(insert_patient.get(), 1, key.view());
    sqlite3_bind_int64(insert_patient.get(), 2, now);
    step_done(d, insert_patient.get());
    id = sqlite3_last_insert_rowid(d);
  }
  patients.emplace(key, id);
  return id;
}

std::int64_t sqlite_store::impl::device_id(const core::short_id& key, std::int64_t patient,
                                           std::int64_t now) {
  sqlite3* d = db.get();
  auto it = devices.find(key);
  if (it == devices.end()) {
    device_entry e{0, patient};
    {
      reset_guard g{find_device.get()};
      bind_text(find_device.get(), 1, key.view());
      const int rc = sqlite3_step(find_device.get());
      if (rc == SQLITE_ROW) {
        e = {sqlite3_column_int64(find_device.get(), 0),
             sqlite3_column_int64(find_device.get(), 1)};
      } else if (rc != SQLITE_DONE) {
        throw sqlite_error(sqlite3_errmsg(d), rc);
      }
    }
    if (e.id == 0) {
      reset_guard g{insert_device.get()};
      bind_text(insert_device.get(), 1, key.view());
      sqlite3_bind_int64(insert_device.get(), 2, patient);
      sqlite3_bind_int64(insert_device.get(), 3, now);
      step_done(d, insert_device.get());
      e.id = sqlite3_last_insert_rowid(d);
    }
    it = devices.emplace(key, e).first;
  }
  if (it->second.patient_id != patient) {
    // A device handed to another patient: samples keep their own patient_id, the device row
    // follows the newest owner.
    reset_guard g{move_device.get()};
    sqlite3_bind_int64(move_device.get(), 1, it->second.id);
    sqlite3_bind_int64(move_device.get(), 2, patient);
    step_done(d, move_device.get());
    it->second.patient_id = patient;
    spdlog::info("sqlite store: a device was reassigned to another patient");
    spdlog::debug("sqlite store: device {} now belongs to patient id {}", key.view(), patient);
  }
  return it->second.id;
}

bool sqlite_store::impl::write_sample(const core::sample& s) {
  const auto now = ms(s.receive_time);
  const auto pid = patient_id(s.patient, now);
  const auto did = device_id(s.device, pid, now);
  sqlite3_stmt* q = insert_sample.get();
  reset_guard g{q};
  sqlite3_bind_int64(q, 1, did);
  sqlite3_bind_int(q, 2, static_cast<int>(s.kind));
  sqlite3_bind_int64(q, 3, ms(s.device_time));
  sqlite3_bind_double(q, 4, s.value);
  sqlite3_bind_int64(q, 5, now);
  if (s.has_sequence) {
    // Sequence numbers above 2^63 wrap to negative; devices count far lower.
    sqlite3_bind_int64(q, 6, static_cast<std::int64_t>(s.sequence));
  }
  sqlite3_bind_int(q, 7, s.quality);
  sqlite3_bind_int64(q, 8, pid);
  sqlite3_bind_int(q, 9, s.conditions);
  sqlite3_bind_int64(q, 10, s.device_status);
  const int rc = sqlite3_step(q);
  if (rc == SQLITE_DONE) {
    auto& newest = touched[did];
    newest = std::max(newest, now);
    return true;
  }
  if ((rc & 0xff) == SQLITE_CONSTRAINT) {
    // This row can never be stored (e.g. a NaN value): skip it rather than fail the batch
    // forever; counted and logged without the value.
    st.store_errors.fetch_add(1, std::memory_order_relaxed);
    spdlog::warn("sqlite store: a {} sample was rejected by the database: {}",
                 core::to_string(s.kind), sqlite3_errmsg(db.get()));
    return false;
  }
  throw sqlite_error(sqlite3_errmsg(db.get()), rc);
}

namespace {

std::string join_holding(const std::vector<std::string>& rules) {
  std::string out;
  for (const auto& r : rules) {
    if (!out.empty()) out += ',';
    out += r;
  }
  return out;
}

}  // namespace

bool sqlite_store::impl::write_row(sqlite3_stmt* q, const char* what) {
  const int rc = sqlite3_step(q);
  if (rc == SQLITE_DONE || rc == SQLITE_ROW) return true;
  if ((rc & 0xff) == SQLITE_CONSTRAINT) {
    // A row the database can never take (a manager bug, e.g. two open alerts for one key):
    // retrying would block every later commit, samples included. Skip it, loudly.
    st.store_errors.fetch_add(1, std::memory_order_relaxed);
    spdlog::error("sqlite store: {} rejected by the database, NOT stored: {}", what,
                  sqlite3_errmsg(db.get()));
    return false;
  }
  throw sqlite_error(sqlite3_errmsg(db.get()), rc);
}

void sqlite_store::impl::write_alert(const core::alert_record& a) {
  const auto now = ms(a.updated);
  const auto pid = patient_id(a.patient, now);
  sqlite3_stmt* q = upsert_alert.get();
  reset_guard g{q};
  sqlite3_bind_int64(q, 1, static_cast<std::int64_t>(a.id));
  sqlite3_bind_int64(q, 2, pid);
  if (!a.device.empty()) sqlite3_bind_int64(q, 3, device_id(a.device, pid, now));
  bind_text(q, 4, a.rule);
  bind_text(q, 5, a.group);
  bind_text(q, 6, a.current_rule);
  bind_text(q, 7, join_holding(a.holding));
  sqlite3_bind_int(q, 8, static_cast<int>(a.kind));
  bind_text(q, 9, core::to_string(a.source));
  bind_text(q, 10, core::to_string(a.level));
  bind_text(q, 11, core::to_string(a.peak_level));
  bind_text(q, 12, core::to_string(a.state));
  sqlite3_bind_int(q, 13, a.condition_present ? 1 : 0);
  sqlite3_bind_int(q, 14, a.inhibited ? 1 : 0);
  sqlite3_bind_int64(q, 15, a.flaps);
  sqlite3_bind_int64(q, 16, ms(a.condition_start));
  sqlite3_bind_int64(q, 17, ms(a.raised_at));
  bind_opt_ms(q, 18, a.cleared_at);
  sqlite3_bind_int64(q, 19, ms(a.created));
  sqlite3_bind_int64(q, 20, ms(a.updated));
  bind_opt_ms(q, 21, a.cleared_wall);
  bind_opt_ms(q, 22, a.acknowledged_at);
  bind_text(q, 23, a.acknowledged_by);
  bind_opt_ms(q, 24, a.resolved_at);
  bind_text(q, 25, a.resolved_by);
  sqlite3_bind_double(q, 26, a.value);
  sqlite3_bind_double(q, 27, a.threshold);
  sqlite3_bind_double(q, 28, a.peak_value);
  sqlite3_bind_double(q, 29, a.last_value);
  bind_text(q, 30, a.message);
  bind_text(q, 31, a.route);
  sqlite3_bind_int(q, 32, a.step);
  bind_opt_ms(q, 33, a.next_step_at);
  bind_opt_ms(q, 34, a.next_repeat_at);
  bind_opt_ms(q, 35, a.deferred_until);
  write_row(q, "an alert");
}

void sqlite_store::impl::write_changes(const core::alert_changes& c) {
  // Alerts leaving the dedup key (latched, resolved) first: when one call resolves an alert and
  // raises the next one of the same (patient, group), the unique index must see the old one go.
  for (const auto& a : c.alerts) {
    if (a.state == core::alert_state::latched || a.state == core::alert_state::resolved) {
      write_alert(a);
    }
  }
  for (const auto& a : c.alerts) {
    if (a.state == core::alert_state::active || a.state == core::alert_state::acknowledged) {
      write_alert(a);
    }
  }
  for (const auto& e : c.events) {
    sqlite3_stmt* q = insert_event.get();
    reset_guard g{q};
    sqlite3_bind_int64(q, 1, static_cast<std::int64_t>(e.id));
    sqlite3_bind_int64(q, 2, static_cast<std::int64_t>(e.alert_id));
    bind_text(q, 3, core::to_string(e.action));
    sqlite3_bind_int64(q, 4, ms(e.at));
    bind_opt_ms(q, 5, e.data_time);
    bind_text(q, 6, e.actor);
    bind_text(q, 7, e.reason);
    bind_text(q, 8, core::to_string(e.level));
    bind_text(q, 9, core::to_string(e.state));
    sqlite3_bind_double(q, 10, e.value);
    write_row(q, "an alert event");
  }
  for (const auto& z : c.snoozes) {
    const auto pid = patient_id(z.patient, ms(z.created));
    sqlite3_stmt* q = z.removed ? delete_snooze.get() : upsert_snooze.get();
    reset_guard g{q};
    sqlite3_bind_int64(q, 1, pid);
    bind_text(q, 2, z.group);
    if (!z.removed) {
      sqlite3_bind_int64(q, 3, ms(z.until));
      bind_text(q, 4, core::to_string(z.up_to));
      bind_text(q, 5, z.by);
      bind_text(q, 6, z.reason);
      sqlite3_bind_int64(q, 7, ms(z.created));
    }
    write_row(q, "a snooze");
  }
  // Last: an outbox row references its alert (foreign key), written above.
  for (const auto& n : c.notifications) {
    sqlite3_stmt* q = insert_outbox.get();
    reset_guard g{q};
    sqlite3_bind_int64(q, 1, static_cast<std::int64_t>(n.id));
    sqlite3_bind_int64(q, 2, static_cast<std::int64_t>(n.alert.id));
    sqlite3_bind_int64(q, 3, static_cast<std::int64_t>(n.event.id));
    bind_text(q, 4, n.receiver);
    bind_text(q, 5, core::to_string(n.action));
    sqlite3_bind_int(q, 6, n.step);
    bind_text(q, 7, n.idempotency_key());
    bind_text(q, 8, to_document(n));
    sqlite3_bind_int64(q, 9, ms(n.created));
    write_row(q, "an outbox row");
  }
}

void sqlite_store::impl::write_outbox_update(const outbox_update& u) {
  sqlite3_stmt* q = u.delivered ? outbox_delivered.get() : outbox_failed.get();
  reset_guard g{q};
  sqlite3_bind_int64(q, 1, static_cast<std::int64_t>(u.id));
  if (u.delivered) {
    sqlite3_bind_int64(q, 2, u.at);
  } else {
    sqlite3_bind_int(q, 2, u.attempts);
    bind_text(q, 3, u.error);
    sqlite3_bind_int(q, 4, u.final ? 1 : 0);
  }
  step_done(db.get(), q);
}

void sqlite_store::impl::write_baseline(const baseline_row& b) {
  const auto pid = patient_id(b.patient, b.at);
  sqlite3_stmt* q = upsert_baseline.get();
  reset_guard g{q};
  sqlite3_bind_int64(q, 1, pid);
  sqlite3_bind_blob(q, 2, b.state.data(), static_cast<int>(b.state.size()), SQLITE_STATIC);
  sqlite3_bind_int64(q, 3, b.at);
  step_done(db.get(), q);
}

void sqlite_store::impl::write_batch(const std::vector<work_item>& batch,
                                     std::uint64_t& samples_written) {
  sqlite3* d = db.get();
  samples_written = 0;
  touched.clear();
  exec(d, "BEGIN IMMEDIATE");
  try {
    for (const auto& item : batch) {
      if (item.alerts) {
        write_changes(item.alerts->changes);
        continue;
      }
      if (item.outbox) {
        write_outbox_update(*item.outbox);
        continue;
      }
      if (item.baseline) {
        write_baseline(*item.baseline);
        continue;
      }
      for (std::size_t i = item.offset; i < item.samples.size(); ++i) {
        if (write_sample(item.samples[i])) ++samples_written;
      }
    }
    // last_seen once per device per batch, not once per row.
    for (const auto& [id, newest] : touched) {
      reset_guard g{touch_device.get()};
      sqlite3_bind_int64(touch_device.get(), 1, id);
      sqlite3_bind_int64(touch_device.get(), 2, newest);
      step_done(d, touch_device.get());
    }
    exec(d, "COMMIT");
  } catch (...) {
    // Some errors (SQLITE_FULL, IOERR) already rolled back; ROLLBACK without a transaction
    // would only add a second error.
    if (sqlite3_get_autocommit(d) == 0) sqlite3_exec(d, "ROLLBACK", nullptr, nullptr, nullptr);
    // Ids inserted by the rolled-back transaction no longer exist.
    patients.clear();
    devices.clear();
    throw;
  }
}

std::size_t sqlite_store::impl::take_locked(std::vector<work_item>& batch) {
  std::size_t rows = 0;
  while (!queue.empty() && rows < options.batch_rows) {
    auto& front = queue.front();
    const std::size_t room = options.batch_rows - rows;
    if (front.rows() <= room) {
      rows += front.rows();
      batch.push_back(std::move(front));
      queue.pop_front();
    } else {
      // Split a large chunk so that one transaction stays near batch_rows.
      work_item part;
      const auto first = front.samples.begin() + static_cast<std::ptrdiff_t>(front.offset);
      part.samples.assign(first, first + static_cast<std::ptrdiff_t>(room));
      part.enqueued = front.enqueued;
      front.offset += room;
      rows += room;
      batch.push_back(std::move(part));
    }
  }
  queued_rows -= rows;
  taken_seq += rows;
  return rows;
}

void sqlite_store::impl::commit_with_retry(std::vector<work_item>& batch, std::uint64_t upto,
                                           bool bounded) {
  auto backoff = retry_min;
  bool ok = false;
  for (int attempt = 1;; ++attempt) {
    std::uint64_t written = 0;
    try {
      const auto began = steady::now();
      write_batch(batch, written);
      const double seconds = std::chrono::duration<double>(steady::now() - began).count();
      ok = true;
      {
        std::lock_guard lock(mutex);
        ++latency.count;
        latency.sum_seconds += seconds;
        latency.max_seconds = std::max(latency.max_seconds, seconds);
      }
      st.samples_stored.fetch_add(written, std::memory_order_relaxed);
      st.store_commits.fetch_add(1, std::memory_order_relaxed);
      if (attempt > 1) spdlog::info("sqlite store: commit succeeded after {} attempts", attempt);
      break;
    } catch (const std::exception& e) {
      st.store_errors.fetch_add(1, std::memory_order_relaxed);
      std::size_t rows = 0;
      for (const auto& item : batch) rows += item.rows();
      spdlog::warn("sqlite store: commit of {} rows failed (attempt {}): {}", rows, attempt,
                   e.what());
      std::unique_lock lock(mutex);
      if ((bounded || stopping) && attempt >= stop_attempts) {
        spdlog::error("sqlite store: giving up after {} attempts; {} rows were NOT stored", attempt,
                      rows);
        break;
      }
      // Sleep unless shutdown begins; then retry at once, a bounded number of times.
      work_cv.wait_for(lock, backoff, [&] { return stopping; });
      backoff = std::min(backoff * 2, retry_max);
    }
  }
  // Only now, after COMMIT returned (or the batch was given up): the caller may tell the world.
  notify_committed(batch, ok);
  {
    std::lock_guard lock(mutex);
    committed_seq = upto;
  }
  done_cv.notify_all();
}

void sqlite_store::impl::notify_committed(std::vector<work_item>& batch, bool ok) {
  for (auto& item : batch) {
    if (!item.alerts || !item.alerts->committed) continue;
    try {
      item.alerts->committed(ok, ok ? std::move(item.alerts->changes.notifications)
                                    : std::vector<core::notification>{});
    } catch (const std::exception& e) {
      // The writer thread must survive a misbehaving callback; the rows are committed anyway.
      spdlog::error("sqlite store: a commit callback failed: {}", e.what());
    }
  }
}

void sqlite_store::impl::writer_loop() {
  std::vector<work_item> batch;
  for (;;) {
    std::uint64_t upto = 0;
    {
      std::unique_lock lock(mutex);
      work_cv.wait(lock, [&] { return queued_rows > 0 || stopping; });
      if (queued_rows == 0) {
        // Decided under the same lock that enqueue() checks, so no append can slip in between.
        running = false;
        break;
      }
      const auto deadline = queue.front().enqueued + options.batch_interval;
      work_cv.wait_until(lock, deadline, [&] {
        return queued_rows >= options.batch_rows || stopping || flush_target > taken_seq;
      });
      take_locked(batch);
      upto = taken_seq;
    }
    space_cv.notify_all();
    commit_with_retry(batch, upto, false);
    batch.clear();
  }
  space_cv.notify_all();
  done_cv.notify_all();
}

void sqlite_store::impl::drain_inline() {
  std::vector<work_item> batch;
  for (;;) {
    std::uint64_t upto = 0;
    {
      std::lock_guard lock(mutex);
      if (queued_rows == 0) return;
      take_locked(batch);
      upto = taken_seq;
    }
    space_cv.notify_all();
    commit_with_retry(batch, upto, true);
    batch.clear();
  }
}

bool sqlite_store::impl::enqueue(work_item item) {
  const std::size_t n = item.rows();
  std::unique_lock lock(mutex);
  // Back-pressure: wait for the writer, never drop. Without a writer nobody could make room.
  space_cv.wait(lock, [&] {
    return !running || queued_rows == 0 || queued_rows + n <= options.max_queued_rows;
  });
  if (closed || (stopping && !running)) {
    lock.unlock();
    st.store_errors.fetch_add(n, std::memory_order_relaxed);
    spdlog::error("sqlite store: {} rows appended after stop() were NOT stored", n);
    if (item.alerts && item.alerts->committed) item.alerts->committed(false, {});
    return false;
  }
  const bool was_empty = queued_rows == 0;
  // Notifications wait for their alert's commit (outbox), and outbox updates are what the
  // dispatcher's restart safety rests on: commit them, and the samples before them, at once
  // instead of waiting for the batch interval. Both are rare next to samples.
  const bool urgent = item.alerts.has_value() || item.outbox.has_value();
  item.enqueued = steady::now();
  queue.push_back(std::move(item));
  queued_rows += n;
  enqueued_seq += n;
  if (urgent) flush_target = std::max(flush_target, enqueued_seq);
  const bool wake = was_empty || urgent || queued_rows >= options.batch_rows;
  lock.unlock();
  if (wake) work_cv.notify_one();
  return true;
}

sqlite_store::sqlite_store(store_options options, core::stats& st)
    : impl_(std::make_unique<impl>(std::move(options), st)) {
  const auto& o = impl_->options;
  if (o.synchronous != "normal" && o.synchronous != "full") {
    throw std::invalid_argument("store.synchronous: '" + o.synchronous +
                                "' is not one of normal, full");
  }
  if (o.batch_rows == 0) throw std::invalid_argument("store.batch_rows must be at least 1");
  if (o.max_queued_rows == 0) {
    throw std::invalid_argument("store.max_queued_rows must be at least 1");
  }
  impl_->open();
}

sqlite_store::~sqlite_store() {
  stop();
}

void sqlite_store::start() {
  std::lock_guard lock(impl_->mutex);
  if (impl_->closed || impl_->stopping)
    throw std::logic_error("sqlite store: start() after stop()");
  if (impl_->running) return;
  impl_->running = true;
  impl_->writer = std::thread([this] { impl_->writer_loop(); });
}

void sqlite_store::stop() noexcept {
  auto& m = *impl_;
  {
    std::lock_guard lock(m.mutex);
    if (m.stopping) return;
    m.stopping = true;
  }
  m.work_cv.notify_all();
  if (m.writer.joinable()) {
    m.writer.join();
  } else {
    m.drain_inline();
  }
  // Statements before the connection: close_v2 would otherwise keep it as a zombie.
  for (auto* s : {&m.find_patient, &m.insert_patient, &m.find_device, &m.insert_device,
                  &m.move_device, &m.touch_device, &m.insert_sample, &m.upsert_baseline,
                  &m.upsert_alert, &m.insert_event, &m.insert_outbox, &m.upsert_snooze,
                  &m.delete_snooze, &m.outbox_delivered, &m.outbox_failed}) {
    s->reset();
  }
  if (m.db) {
    const int rc = sqlite3_close(m.db.release());
    if (rc != SQLITE_OK) spdlog::warn("sqlite store: close failed: {}", sqlite3_errstr(rc));
  }
  {
    std::lock_guard lock(m.mutex);
    m.closed = true;
    m.committed_seq = m.enqueued_seq;  // nobody may wait for a closed store
  }
  m.space_cv.notify_all();
  m.done_cv.notify_all();
  spdlog::debug("sqlite store: {} closed", m.options.path);
}

void sqlite_store::append(std::span<const core::sample> samples) {
  if (samples.empty()) return;
  work_item item;
  item.samples.assign(samples.begin(), samples.end());  // copied outside the lock
  impl_->enqueue(std::move(item));
}

void sqlite_store::apply(core::alert_changes changes,
                         std::function<void(bool ok, std::vector<core::notification>)> committed) {
  if (changes.empty()) {
    // Nothing to make durable, but the caller may still wait for its callback.
    if (committed) committed(true, {});
    return;
  }
  work_item item;
  item.alerts = alert_work{std::move(changes), std::move(committed)};
  impl_->enqueue(std::move(item));
}

void sqlite_store::mark_delivered(std::uint64_t notification_id, core::timestamp at) {
  work_item item;
  item.outbox = outbox_update{notification_id, true, ms(at), 0, {}, false};
  impl_->enqueue(std::move(item));
}

void sqlite_store::mark_failed(std::uint64_t notification_id, int attempts, std::string error,
                               bool final) {
  work_item item;
  item.outbox = outbox_update{notification_id, false, 0, attempts, std::move(error), final};
  impl_->enqueue(std::move(item));
}

sqlite_store::alert_snapshot sqlite_store::load_alert_state() {
  auto& m = *impl_;
  {
    std::lock_guard lock(m.mutex);
    if (m.running || m.stopping || m.closed) {
      throw std::logic_error("sqlite store: load_alert_state() is only allowed before start()");
    }
  }
  // Changes applied before start() are still queued: commit them first.
  m.drain_inline();
  alert_snapshot snap;
  try {
    sqlite3* d = m.db.get();
    const auto each_row = [d](sqlite3_stmt* s, const auto& fn) {
      for (;;) {
        const int rc = sqlite3_step(s);
        if (rc == SQLITE_DONE) return;
        if (rc != SQLITE_ROW) throw sqlite_error(sqlite3_errmsg(d), rc);
        fn(s);
      }
    };
    {
      auto s = prepare(
          d, (std::string(detail::alert_select) + "WHERE a.state <> 'resolved' ORDER BY a.id")
                 .c_str());
      each_row(s.get(), [&](sqlite3_stmt* r) { snap.open.push_back(detail::read_alert(r)); });
    }
    {
      auto s = prepare(
          d, (std::string(detail::snooze_select) + "WHERE z.until > ?1 ORDER BY p.key, z.grp")
                 .c_str());
      sqlite3_bind_int64(s.get(), 1, ms(core::now_ms()));
      each_row(s.get(), [&](sqlite3_stmt* r) { snap.snoozes.push_back(detail::read_snooze(r)); });
    }
    snap.ids.alert =
        static_cast<std::uint64_t>(query_int(d, "SELECT coalesce(max(id), 0) FROM alerts"));
    snap.ids.event =
        static_cast<std::uint64_t>(query_int(d, "SELECT coalesce(max(id), 0) FROM alert_events"));
    snap.ids.notification =
        static_cast<std::uint64_t>(query_int(d, "SELECT coalesce(max(id), 0) FROM outbox"));
    {
      // The columns are the truth for what may change after the insert; the document for the
      // snapshot the notification was made with.
      auto s = prepare(d,
                       "SELECT id, receiver, action, step, created, document FROM outbox "
                       "WHERE status = 'pending' ORDER BY id");
      each_row(s.get(), [&](sqlite3_stmt* r) {
        const auto* doc = reinterpret_cast<const char*>(sqlite3_column_text(r, 5));
        core::notification n;
        try {
          n = from_document(doc != nullptr ? doc : "");
        } catch (const std::runtime_error& e) {
          // One unreadable row must not keep the daemon from starting; it stays in the table.
          spdlog::error("sqlite store: outbox row {} skipped: {}", sqlite3_column_int64(r, 0),
                        e.what());
          return;
        }
        n.id = static_cast<std::uint64_t>(sqlite3_column_int64(r, 0));
        const auto* receiver = reinterpret_cast<const char*>(sqlite3_column_text(r, 1));
        n.receiver = receiver != nullptr ? receiver : "";
        const auto* action = reinterpret_cast<const char*>(sqlite3_column_text(r, 2));
        n.action = core::parse_notify_action(action != nullptr ? action : "").value_or(n.action);
        n.step = sqlite3_column_int(r, 3);
        n.created = core::timestamp(std::chrono::milliseconds(sqlite3_column_int64(r, 4)));
        snap.pending.push_back(std::move(n));
      });
    }
  } catch (const std::runtime_error& e) {
    throw std::runtime_error("SQLite database '" + m.options.path + "': " + e.what());
  }
  return snap;
}

sqlite_store::commit_stats sqlite_store::commit_latency() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->latency;
}

void sqlite_store::flush() {
  auto& m = *impl_;
  std::unique_lock lock(m.mutex);
  const auto target = m.enqueued_seq;
  if (m.committed_seq >= target) return;
  if (!m.running) {
    // No writer (not started yet): commit on this thread.
    lock.unlock();
    m.drain_inline();
    return;
  }
  m.flush_target = std::max(m.flush_target, target);
  m.work_cv.notify_one();
  m.done_cv.wait(lock, [&] { return m.committed_seq >= target || !m.running; });
}

void sqlite_store::save_baseline(const core::short_id& patient, std::vector<std::uint8_t> blob) {
  if (blob.empty()) return;
  work_item item;
  item.baseline = baseline_row{patient, std::move(blob), ms(core::now_ms())};
  impl_->enqueue(std::move(item));
}

std::vector<std::pair<std::string, std::vector<std::uint8_t>>> sqlite_store::load_baselines() {
  auto& m = *impl_;
  {
    std::lock_guard lock(m.mutex);
    if (m.running || m.stopping || m.closed) {
      throw std::logic_error("sqlite store: load_baselines() is only allowed before start()");
    }
  }
  // Baselines saved before start() are still queued: commit them first.
  m.drain_inline();
  std::vector<std::pair<std::string, std::vector<std::uint8_t>>> rows;
  try {
    sqlite3* d = m.db.get();
    auto s =
        prepare(d,
                "SELECT p.key, b.state FROM baselines b JOIN patients p ON p.id = b.patient_id "
                "ORDER BY p.key");
    for (;;) {
      const int rc = sqlite3_step(s.get());
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) throw sqlite_error(sqlite3_errmsg(d), rc);
      const auto* key = reinterpret_cast<const char*>(sqlite3_column_text(s.get(), 0));
      const auto key_bytes = sqlite3_column_bytes(s.get(), 0);
      const auto* blob = static_cast<const std::uint8_t*>(sqlite3_column_blob(s.get(), 1));
      const auto blob_bytes = static_cast<std::size_t>(sqlite3_column_bytes(s.get(), 1));
      std::vector<std::uint8_t> state;
      if (blob != nullptr) state.assign(blob, blob + blob_bytes);
      rows.emplace_back(std::string(key != nullptr ? key : "", static_cast<std::size_t>(key_bytes)),
                        std::move(state));
    }
  } catch (const sqlite_error& e) {
    throw std::runtime_error("SQLite database '" + m.options.path + "': " + e.what());
  }
  return rows;
}

std::size_t sqlite_store::queued_rows() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->queued_rows;
}

core::store_status sqlite_store::status() const {
  const auto c = commit_latency();
  return {queued_rows(), c.count, c.sum_seconds, c.max_seconds};
}

}  // namespace vitals::adapters::sqlite
