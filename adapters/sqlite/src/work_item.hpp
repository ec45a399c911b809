#pragma once
/// The entries of the store's write queue: what append(), save_baseline(), apply() and the
/// outbox updates hand to the writer thread, in arrival order.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include <vitals/core/alert_model.hpp>
#include <vitals/core/sample.hpp>

namespace vitals::adapters::sqlite::detail {

/// The samples of one append(), from `offset` on: the writer takes a large chunk in parts so
/// that one transaction stays near batch_rows.
struct sample_chunk {
  std::vector<core::sample> samples;
  std::size_t offset = 0;

  /// The samples not taken yet.
  std::span<const core::sample> rest() const noexcept {
    return std::span<const core::sample>(samples).subspan(offset);
  }
};

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

/// What one queue entry carries.
using work_entry = std::variant<sample_chunk, baseline_row, alert_work, outbox_update>;

/// One queue entry and when it was queued (the batch interval counts from the oldest).
struct work_item {
  work_entry entry;
  std::chrono::steady_clock::time_point enqueued{};

  /// Rows it counts for batching and back-pressure. Anything but samples counts as one however
  /// large: the writer never splits it.
  std::size_t rows() const noexcept {
    const auto* chunk = std::get_if<sample_chunk>(&entry);
    return chunk != nullptr ? chunk->rest().size() : 1;
  }

  /// Alert changes and outbox updates: committed at once with what is queued before them, not
  /// after the batch interval, because notifications wait for them.
  bool urgent() const noexcept {
    return std::holds_alternative<alert_work>(entry) ||
           std::holds_alternative<outbox_update>(entry);
  }
};

/// Builds a visitor from lambdas, one per entry type.
template <typename... F>
struct overloaded : F... {
  using F::operator()...;
};

}  // namespace vitals::adapters::sqlite::detail
