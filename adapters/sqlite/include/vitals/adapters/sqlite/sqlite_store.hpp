#pragma once
/// SQLite persistence for samples, baselines and the alert lifecycle (alerts, audit trail,
/// snoozes, notification outbox): one writer thread, batched WAL transactions.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <vitals/core/alert.hpp>
#include <vitals/core/alert_model.hpp>
#include <vitals/core/alert_store.hpp>
#include <vitals/core/intake_gate.hpp>
#include <vitals/core/sample.hpp>
#include <vitals/core/stale_monitor.hpp>
#include <vitals/core/stats.hpp>
#include <vitals/core/store.hpp>

namespace vitals::adapters::sqlite {

/// Settings of the SQLite store (config section [store]).
struct store_options {
  std::string path = "vitalsd.db";                ///< database file; created 0600 when missing
  std::size_t batch_rows = 1000;                  ///< commit when this many rows are waiting
  std::chrono::milliseconds batch_interval{200};  ///< or this long after the oldest waiting row
  std::string synchronous = "normal";             ///< "normal" or "full" (PRAGMA synchronous)
  std::size_t max_queued_rows = 100000;           ///< append() blocks beyond this: back-pressure
  std::chrono::milliseconds busy_timeout{5000};   ///< how long to wait for another writer's lock
  /// Held while commits fail, so that the sources stop taking readings (may be null).
  core::intake_gate* intake = nullptr;
};

/// A change of the store's health, told on the writer thread: `failing` with the error, or
/// recovered (`failing` false, `cause` says for how long it failed).
using health_callback = std::function<void(bool failing, const std::string& cause)>;

/// core::store on a SQLite file. append() and flush() come from the pipeline thread and only
/// queue work; one writer thread owns the connection and commits in batches.
class sqlite_store final : public core::store, public core::alert_store {
 public:
  /// Schema version (PRAGMA user_version) this code creates and understands.
  static constexpr int current_schema_version = 5;

  /// Opens or creates the database, applies migrations; throws std::runtime_error naming the
  /// path on failure and std::invalid_argument for bad options.
  sqlite_store(store_options options, core::stats& st);

  /// Stops (commits what is queued) and closes.
  ~sqlite_store() override;

  sqlite_store(const sqlite_store&) = delete;
  sqlite_store& operator=(const sqlite_store&) = delete;

  /// Starts the writer thread. Throws std::logic_error after stop().
  void start();

  /// Commits everything queued, joins the writer and closes the database. Idempotent. Bounded
  /// even while commits fail: once begin_shutdown() or stop() was called, a failing batch is
  /// tried a few more times and then given up, logged and counted in samples_not_stored.
  void stop() noexcept;

  /// From now on failing commits are given up after a few attempts instead of retried until
  /// they succeed, so that a stop with a dead disk ends; call it before stopping what feeds the
  /// store (the pipeline flushes into it).
  void begin_shutdown() noexcept;

  /// Called on the writer thread when commits start failing and when they succeed again. Set
  /// before start().
  void on_health(health_callback cb);

  /// Queues samples (one lock per call); blocks while more than max_queued_rows are waiting.
  void append(std::span<const core::sample> samples) override;

  /// Blocks until everything queued before the call is committed (or given up after errors
  /// during shutdown, which is logged).
  void flush() override;

  /// Queues one patient's baseline state; the writer upserts it into `baselines` with the
  /// wall-clock time of this call. An empty blob is ignored.
  void save_baseline(const core::short_id& patient, std::vector<std::uint8_t> blob) override;

  /// Every stored baseline as (patient id, state), for baseline_detector::import_state(). Reads
  /// on the calling thread, so only before start(): throws std::logic_error after it, and
  /// std::runtime_error naming the path when the database cannot be read.
  std::vector<std::pair<std::string, std::vector<std::uint8_t>>> load_baselines();

  /// The streams of devices seen since `since`, with the receive time of their newest reading,
  /// for the stale-data watch after a restart. Only before start(), like load_baselines().
  std::vector<core::stream_seen> load_recent_streams(core::timestamp since);

  /// Queues the manager's changes; one transaction with everything queued before, in order.
  /// Alerts and events are written before the outbox rows that mention them. `committed` (may be
  /// empty) runs on the writer thread right after the commit that made them durable, with the
  /// notifications now in the outbox (the daemon posts them to its dispatcher), or with
  /// `ok == false` if the store gave up (shutdown with a dead disk, or apply() after stop()).
  /// Committed at once, without waiting for the batch interval.
  void apply(core::alert_changes changes,
             std::function<void(bool ok, std::vector<core::notification>)> committed) override;
  /// apply() without a completion.
  void apply(core::alert_changes changes) { apply(std::move(changes), {}); }

  /// Queues an outbox update: delivered (or skipped) at `at`.
  void mark_delivered(std::uint64_t notification_id, core::timestamp at) override;
  /// Queues an outbox update: a failed attempt with its error; `final`: given up (status failed),
  /// otherwise the row stays pending.
  void mark_failed(std::uint64_t notification_id, int attempts, std::string error,
                   bool final) override;

  /// Everything the alert manager and dispatcher need after a restart.
  using alert_snapshot = core::alert_snapshot;
  /// Reads on the calling thread, so only before start() (std::logic_error after it); commits
  /// what is queued first. std::runtime_error naming the path when the database cannot be read.
  alert_snapshot load_alert_state() override;

  /// Commit latency of the writer (for /metrics): count, sum of seconds, max seconds.
  struct commit_stats {
    std::uint64_t count = 0;
    double sum_seconds = 0.0;
    double max_seconds = 0.0;
  };
  /// Thread-safe.
  commit_stats commit_latency() const;

  /// Queue depth and commit latency (thread-safe).
  core::store_status status() const override;

  /// Rows (samples, baselines, alert changes, outbox updates) queued and not yet taken by the
  /// writer.
  std::size_t queued_rows() const;

  /// Tests only: creates a database at an older schema `version` (the first `version` migration
  /// steps), as an earlier vitalsd left it, to test the migrations from it.
  static void create_schema_for_testing(const std::string& path, int version);

  /// Reads PRAGMA user_version of a database file without modifying it; throws on failure.
  static int schema_version(const std::string& path);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace vitals::adapters::sqlite
