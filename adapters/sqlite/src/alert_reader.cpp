#include <vitals/adapters/sqlite/alert_reader.hpp>

#include <sqlite3.h>

#include <string>
#include <utility>

#include "alert_select.hpp"
#include "connection.hpp"

namespace vitals::adapters::sqlite {

struct alert_reader::impl {
  std::string path;
  detail::db_ptr db;
  // After db: statements are finalized before the connection closes.
  detail::stmt_ptr list, get, events, snoozes, outbox;

  [[noreturn]] void fail(const std::string& what) const { detail::fail(path, what); }

  detail::stmt_ptr prepare(const std::string& sql) const {
    return detail::naming_path(path, [&] { return detail::prepare(db.get(), sql.c_str()); });
  }

  /// Steps to the next row; false at the end; throws on errors.
  bool next(sqlite3_stmt* s) const {
    return detail::naming_path(path, [&] { return detail::next_row(db.get(), s); });
  }

  /// Every row of `s` made a value by `read`; throws on errors.
  template <typename Read>
  auto all(sqlite3_stmt* s, Read read) const {
    return detail::naming_path(path, [&] { return detail::read_all(db.get(), s, read); });
  }
};

alert_reader::alert_reader(std::string path) : impl_(std::make_unique<impl>()) {
  auto& m = *impl_;
  m.path = std::move(path);
  m.db = detail::open_db(m.path, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, " read-only");
  // The writer holds its lock only for a commit; a short wait beats failing an API request.
  sqlite3_busy_timeout(m.db.get(), 5000);
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
  detail::reset_guard g{s};
  if (q.state) detail::bind_text(s, 1, core::to_string(*q.state));
  if (q.patient) detail::bind_text(s, 2, *q.patient);
  sqlite3_bind_int64(s, 3, static_cast<std::int64_t>(q.before_id));
  sqlite3_bind_int64(s, 4, static_cast<std::int64_t>(q.limit));
  return m.all(s, detail::read_alert);
}

std::optional<core::alert_record> alert_reader::get(std::uint64_t id) {
  auto& m = *impl_;
  sqlite3_stmt* s = m.get.get();
  detail::reset_guard g{s};
  sqlite3_bind_int64(s, 1, static_cast<std::int64_t>(id));
  if (!m.next(s)) return std::nullopt;
  return detail::read_alert(s);
}

std::vector<core::lifecycle_event> alert_reader::events(std::uint64_t alert_id) {
  auto& m = *impl_;
  sqlite3_stmt* s = m.events.get();
  detail::reset_guard g{s};
  sqlite3_bind_int64(s, 1, static_cast<std::int64_t>(alert_id));
  return m.all(s, detail::read_event);
}

std::vector<core::snooze> alert_reader::snoozes(core::timestamp now) {
  auto& m = *impl_;
  sqlite3_stmt* s = m.snoozes.get();
  detail::reset_guard g{s};
  sqlite3_bind_int64(s, 1, detail::ms(now));
  return m.all(s, detail::read_snooze);
}

alert_reader::outbox_counts alert_reader::outbox() {
  auto& m = *impl_;
  sqlite3_stmt* s = m.outbox.get();
  detail::reset_guard g{s};
  outbox_counts c;
  while (m.next(s)) {
    const auto status = detail::col_text(s, 0);
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
