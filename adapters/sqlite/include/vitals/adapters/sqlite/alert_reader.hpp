#pragma once
/// Read-only access to the alert tables (schema v3) for the HTTP API, and the JSON document the
/// outbox keeps of each notification.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <vitals/core/alert_model.hpp>
#include <vitals/core/alert_store.hpp>

namespace vitals::adapters::sqlite {

/// The outbox `document` of a notification: the whole notification (alert snapshot and event
/// included) as JSON, so that the dispatcher can rebuild it after a restart.
std::string to_document(const core::notification& n);

/// Parses to_document()'s output; throws std::runtime_error when it is not such a document.
core::notification from_document(std::string_view document);

/// Filter and page of alert_reader::list().
using alert_query = core::alert_query;

/// A separate read-only connection to the store's file. WAL lets it read while the writer
/// writes, so API requests never wait for (or delay) the writer's transactions. Not thread-safe:
/// use it from one thread.
class alert_reader final : public core::alert_history {
 public:
  /// Opens `path` read-only; throws std::runtime_error naming the path when it cannot be opened
  /// or has no alert tables of schema version 3 or later.
  explicit alert_reader(std::string path);
  ~alert_reader() override;
  alert_reader(const alert_reader&) = delete;
  alert_reader& operator=(const alert_reader&) = delete;

  /// Alerts matching `q`, newest (largest id) first.
  std::vector<core::alert_record> list(const alert_query& q) override;
  std::optional<core::alert_record> get(std::uint64_t id) override;
  /// The audit trail of one alert, oldest first.
  std::vector<core::lifecycle_event> events(std::uint64_t alert_id) override;
  /// Snoozes still running at `now`, by patient and group.
  std::vector<core::snooze> snoozes(core::timestamp now) override;

  using outbox_counts = core::outbox_counts;
  outbox_counts outbox() override;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace vitals::adapters::sqlite
