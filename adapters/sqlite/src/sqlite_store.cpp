// sqlite_store ties the parts together: the connection and its schema (schema.cpp), the write
// queue and its thread (writer.cpp), and the rows each queue entry becomes (sample_rows.cpp,
// alert_rows.cpp, baselines.cpp), written here in one transaction per batch.
#include <vitals/adapters/sqlite/sqlite_store.hpp>

#include <sqlite3.h>
#include <sys/stat.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <spdlog/spdlog.h>

#include "alert_rows.hpp"
#include "baselines.hpp"
#include "connection.hpp"
#include "ids.hpp"
#include "sample_rows.hpp"
#include "schema.hpp"
#include "work_item.hpp"
#include "writer.hpp"

namespace vitals::adapters::sqlite {

namespace detail {

/// The writer's prepared statements and id cache, made once the schema is current.
struct row_writers {
  row_writers(sqlite3* db, core::stats& st)
      : ids(db), samples(db, ids, st), alerts(db, ids, st), baselines(db, ids) {}

  id_cache ids;
  sample_rows samples;
  alert_rows alerts;
  baseline_rows baselines;
};

}  // namespace detail

struct sqlite_store::impl final : detail::batch_sink {
  impl(store_options o, core::stats& s) : options(std::move(o)), st(s) {}

  store_options options;
  core::stats& st;
  detail::db_ptr db;
  std::unique_ptr<detail::row_writers> rows;  // after db: destroyed before the connection
  detail::writer writer{options, st, *this};
  // The file opened, to notice it deleted or replaced under us (on-disk databases only).
  bool on_disk = false;
  struct stat opened {};

  void open();
  void check_file();
  void close() noexcept;
  std::uint64_t write_batch(const std::vector<detail::work_item>& batch) override;
};

void sqlite_store::impl::open() {
  on_disk = detail::is_file_path(options.path);
  if (on_disk) {
    detail::secure_file(options.path);
    detail::secure_sidecar(options.path + "-wal");
    detail::secure_sidecar(options.path + "-shm");
  }
  db = detail::open_db(options.path,
                       SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX);
  sqlite3* d = db.get();
  sqlite3_extended_result_codes(d, 1);
  detail::naming_path(options.path, [&] {
    sqlite3_busy_timeout(d, static_cast<int>(options.busy_timeout.count()));
    {
      // journal_mode answers with the mode in force; anything but wal (e.g. a read-only
      // directory) would silently lose the crash-safety and concurrency we rely on.
      auto s = detail::prepare(d, "PRAGMA journal_mode=WAL");
      const int step = sqlite3_step(s.get());
      if (step != SQLITE_ROW) throw detail::sqlite_error(sqlite3_errmsg(d), step);
      const auto* mode = reinterpret_cast<const char*>(sqlite3_column_text(s.get(), 0));
      if (on_disk && (mode == nullptr || std::string_view(mode) != "wal")) {
        throw detail::sqlite_error(
            std::string("journal_mode is ") + (mode ? mode : "?") + ", not wal", SQLITE_ERROR);
      }
    }
    detail::exec(
        d, options.synchronous == "full" ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
    detail::exec(d, "PRAGMA foreign_keys=ON");
    detail::migrate(d, options.path);
    rows = std::make_unique<detail::row_writers>(d, st);
  });
  if (on_disk && ::stat(options.path.c_str(), &opened) != 0) {
    throw std::runtime_error(options.path + ": cannot stat the database just opened");
  }
}

void sqlite_store::impl::check_file() {
  if (!on_disk) return;
  // Before every transaction: a stat() costs about a microsecond, a commit milliseconds, and a
  // transaction committed to a deleted file is lost.
  struct stat now_at_path {};
  if (::stat(options.path.c_str(), &now_at_path) != 0) {
    throw detail::sqlite_error(
        "the database file was deleted while vitalsd ran; nothing more is committed to the "
        "deleted file. Restore a backup to its path and restart vitalsd (without one, vitalsd "
        "starts a new, empty database)",
        SQLITE_IOERR);
  }
  if (now_at_path.st_dev != opened.st_dev || now_at_path.st_ino != opened.st_ino) {
    throw detail::sqlite_error(
        "the database file was replaced while vitalsd ran (another inode at its path); nothing "
        "is committed until vitalsd restarts on the new file",
        SQLITE_IOERR);
  }
}

void sqlite_store::impl::close() noexcept {
  // Statements before the connection: close_v2 would otherwise keep it as a zombie.
  rows.reset();
  if (db) {
    // The WAL into the database file, and the WAL emptied: after a clean stop the file alone
    // holds everything (SQLite does this itself only at the last connection's close, and the
    // API's read-only connection may still be open).
    const int ck =
        sqlite3_wal_checkpoint_v2(db.get(), nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
    if (ck != SQLITE_OK) {
      spdlog::warn(
          "sqlite store: the final checkpoint failed ({}): the database needs its -wal "
          "file until the next start",
          sqlite3_errstr(ck));
    }
    const int rc = sqlite3_close(db.release());
    if (rc != SQLITE_OK) spdlog::warn("sqlite store: close failed: {}", sqlite3_errstr(rc));
  }
}

std::uint64_t sqlite_store::impl::write_batch(const std::vector<detail::work_item>& batch) {
  sqlite3* d = db.get();
  std::uint64_t samples_written = 0;
  check_file();
  rows->samples.begin();
  detail::exec(d, "BEGIN IMMEDIATE");
  try {
    for (const auto& item : batch) {
      std::visit(detail::overloaded{
                     [&](const detail::sample_chunk& c) {
                       for (const auto& s : c.rest()) {
                         if (rows->samples.write(s)) ++samples_written;
                       }
                     },
                     [&](const detail::baseline_row& b) { rows->baselines.write(b); },
                     [&](const detail::alert_work& w) { rows->alerts.write(w.changes); },
                     [&](const detail::outbox_update& u) { rows->alerts.write(u); },
                 },
                 item.entry);
    }
    rows->samples.touch_devices();
    detail::exec(d, "COMMIT");
  } catch (...) {
    // Some errors (SQLITE_FULL, IOERR) already rolled back; ROLLBACK without a transaction
    // would only add a second error.
    if (sqlite3_get_autocommit(d) == 0) sqlite3_exec(d, "ROLLBACK", nullptr, nullptr, nullptr);
    rows->ids.clear();
    throw;
  }
  return samples_written;
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
  impl_->writer.start();
}

void sqlite_store::stop() noexcept {
  auto& m = *impl_;
  if (!m.writer.stop()) return;
  m.close();
  m.writer.close();
  spdlog::debug("sqlite store: {} closed", m.options.path);
}

void sqlite_store::append(std::span<const core::sample> samples) {
  if (samples.empty()) return;
  // Copied here, outside the writer's lock.
  impl_->writer.enqueue(
      {detail::sample_chunk{std::vector<core::sample>(samples.begin(), samples.end())}});
}

void sqlite_store::flush() {
  impl_->writer.flush();
}

void sqlite_store::save_baseline(const core::short_id& patient, std::vector<std::uint8_t> blob) {
  if (blob.empty()) return;
  impl_->writer.enqueue(
      {detail::baseline_row{patient, std::move(blob), detail::ms(core::now_ms())}});
}

std::vector<std::pair<std::string, std::vector<std::uint8_t>>> sqlite_store::load_baselines() {
  auto& m = *impl_;
  // Baselines saved before start() are still queued: commit them first.
  m.writer.drain_before_start("load_baselines");
  return detail::naming_path(m.options.path, [&] { return detail::load_baselines(m.db.get()); });
}

void sqlite_store::apply(core::alert_changes changes,
                         std::function<void(bool ok, std::vector<core::notification>)> committed) {
  if (changes.empty()) {
    // Nothing to make durable, but the caller may still wait for its callback.
    if (committed) committed(true, {});
    return;
  }
  impl_->writer.enqueue({detail::alert_work{std::move(changes), std::move(committed)}});
}

void sqlite_store::mark_delivered(std::uint64_t notification_id, core::timestamp at) {
  impl_->writer.enqueue(
      {detail::outbox_update{notification_id, true, detail::ms(at), 0, {}, false}});
}

void sqlite_store::mark_failed(std::uint64_t notification_id, int attempts, std::string error,
                               bool final) {
  impl_->writer.enqueue(
      {detail::outbox_update{notification_id, false, 0, attempts, std::move(error), final}});
}

std::vector<core::stream_seen> sqlite_store::load_recent_streams(core::timestamp since) {
  auto& m = *impl_;
  m.writer.drain_before_start("load_recent_streams");
  return detail::naming_path(
      m.options.path, [&] { return detail::load_recent_streams(m.db.get(), detail::ms(since)); });
}

sqlite_store::alert_snapshot sqlite_store::load_alert_state() {
  auto& m = *impl_;
  // Changes applied before start() are still queued: commit them first.
  m.writer.drain_before_start("load_alert_state");
  return detail::naming_path(m.options.path, [&] { return detail::load_alert_state(m.db.get()); });
}

sqlite_store::commit_stats sqlite_store::commit_latency() const {
  return impl_->writer.latency();
}

core::store_status sqlite_store::status() const {
  const auto c = commit_latency();
  core::store_status out;
  out.queued_rows = queued_rows();
  out.commits = c.count;
  out.commit_seconds_sum = c.sum_seconds;
  out.commit_seconds_max = c.max_seconds;
  impl_->writer.health(out);
  return out;
}

void sqlite_store::begin_shutdown() noexcept {
  impl_->writer.begin_shutdown();
}

void sqlite_store::on_health(health_callback cb) {
  impl_->writer.on_health(std::move(cb));
}

std::size_t sqlite_store::queued_rows() const {
  return impl_->writer.queued_rows();
}

}  // namespace vitals::adapters::sqlite
