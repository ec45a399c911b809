#pragma once
/// Where the alert lifecycle is kept: the interface the daemon's alert side writes and reads
/// through (SQLite implements it; a shared database can later). The manager's changes are
/// committed before any notification about them is sent (outbox), and survive restarts.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <vitals/core/alert_model.hpp>

namespace vitals::core {

/// Everything the alert manager and the notifiers need after a restart.
struct alert_snapshot {
  std::vector<alert_record> open;     ///< alerts not resolved, by id
  std::vector<snooze> snoozes;        ///< snoozes running now
  alert_id_state ids;                 ///< largest stored ids
  std::vector<notification> pending;  ///< outbox rows not delivered, by id
};

/// Filter and page of alert_history::list().
struct alert_query {
  std::optional<alert_state> state;
  std::optional<std::string> patient;  ///< patient key
  std::size_t limit = 100;
  std::uint64_t before_id = 0;  ///< paging: only ids < before_id when non-zero
};

/// Outbox rows by delivery status.
struct outbox_counts {
  std::uint64_t pending = 0;
  std::uint64_t delivered = 0;
  std::uint64_t failed = 0;
};

/// The write side: the alert service's changes and the outbox's delivery state. Calls come from
/// one thread (the daemon's io thread); an implementation queues the work for its own writer and
/// does no I/O in apply(), mark_delivered() or mark_failed().
class alert_store {
 public:
  virtual ~alert_store() = default;

  /// Open alerts, running snoozes, the largest ids and the undelivered notifications. Called
  /// before the writer starts; throws std::runtime_error when the store cannot be read.
  virtual alert_snapshot load_alert_state() = 0;

  /// Queues the manager's changes; one transaction, alerts and events before the outbox rows
  /// that mention them. `committed` (may be empty) runs on the writer's thread once they are
  /// durable, with the notifications now in the outbox, or with ok == false if the store gave up.
  virtual void apply(alert_changes changes,
                     std::function<void(bool ok, std::vector<notification>)> committed) = 0;

  /// Queues an outbox update: delivered (or skipped) at `at`.
  virtual void mark_delivered(std::uint64_t notification_id, timestamp at) = 0;

  /// Queues an outbox update: a failed attempt; `final`: given up, otherwise still pending.
  virtual void mark_failed(std::uint64_t notification_id, int attempts, std::string error,
                           bool final) = 0;
};

/// The read side, for the API: alerts, their audit trail, snoozes and the outbox. Reads never
/// wait for (or delay) the writer. Not thread-safe: one instance per reading thread.
class alert_history {
 public:
  virtual ~alert_history() = default;

  /// Alerts matching `q`, newest (largest id) first.
  virtual std::vector<alert_record> list(const alert_query& q) = 0;
  /// One alert, open or resolved; nullopt when unknown.
  virtual std::optional<alert_record> get(std::uint64_t id) = 0;
  /// The audit trail of one alert, oldest first.
  virtual std::vector<lifecycle_event> events(std::uint64_t alert_id) = 0;
  /// Snoozes still running at `now`, by patient and group.
  virtual std::vector<snooze> snoozes(timestamp now) = 0;
  /// Outbox rows by status.
  virtual outbox_counts outbox() = 0;
};

}  // namespace vitals::core
