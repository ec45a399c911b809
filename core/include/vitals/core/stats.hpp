#pragma once
/// Counters shared by sources, the pipeline and the store; read by logs and (later) /metrics.

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace vitals::core {

/// Why an incoming message or sample was rejected. Every rejection is counted under one reason.
enum class reject_reason : std::uint8_t {
  invalid_json = 0,  ///< payload is not well-formed JSON
  too_large,         ///< payload exceeds the configured maximum size
  missing_field,     ///< device, timestamp or a value is missing
  wrong_type,        ///< a field has the wrong JSON type
  unknown_vital,     ///< no known vital in the reading
  bad_value,         ///< value is NaN, infinite or not a number
  bad_unit,          ///< unit not recognised for the vital
  bad_timestamp,     ///< timestamp unparsable or outside the accepted window
  bad_id,            ///< patient or device id empty, too long or not allowed
  bad_topic,         ///< topic does not match the subscription template
  unknown_device,    ///< device not known and auto-registration is off
  implausible,       ///< value outside physiological plausibility limits
  bad_frame,         ///< BLE GATT value that does not decode (truncated, size, bad hex)
  crc_mismatch,      ///< CGM record whose E2E-CRC does not match (dropped, not a reading)
  count_
};

inline constexpr std::size_t reject_reason_count = static_cast<std::size_t>(reject_reason::count_);

/// Stable snake_case name of a reason, as used in logs and metrics labels.
constexpr std::string_view to_string(reject_reason r) noexcept {
  switch (r) {
    case reject_reason::invalid_json:
      return "invalid_json";
    case reject_reason::too_large:
      return "too_large";
    case reject_reason::missing_field:
      return "missing_field";
    case reject_reason::wrong_type:
      return "wrong_type";
    case reject_reason::unknown_vital:
      return "unknown_vital";
    case reject_reason::bad_value:
      return "bad_value";
    case reject_reason::bad_unit:
      return "bad_unit";
    case reject_reason::bad_timestamp:
      return "bad_timestamp";
    case reject_reason::bad_id:
      return "bad_id";
    case reject_reason::bad_topic:
      return "bad_topic";
    case reject_reason::unknown_device:
      return "unknown_device";
    case reject_reason::implausible:
      return "implausible";
    case reject_reason::bad_frame:
      return "bad_frame";
    case reject_reason::crc_mismatch:
      return "crc_mismatch";
    case reject_reason::count_:
      break;
  }
  return "unknown";
}

/// Process-wide counters. Relaxed atomics: they are statistics, not synchronisation.
struct stats {
  std::atomic<std::uint64_t> messages_received{0};  ///< MQTT messages (or frames) seen by sources
  std::atomic<std::uint64_t> samples_decoded{0};    ///< samples pushed towards the ring
  std::atomic<std::uint64_t> samples_accepted{0};   ///< samples that passed validation
  std::atomic<std::uint64_t> samples_duplicate{0};  ///< exact repeats ignored by the pipeline
  std::atomic<std::uint64_t> samples_late{0};       ///< stored, not evaluated: backfilled or late
  std::atomic<std::uint64_t> samples_artifact{0};   ///< stored, not evaluated: impossible jump
  std::atomic<std::uint64_t> condition_reports{0};  ///< condition-only samples (probe off, link)
  std::atomic<std::uint64_t> samples_stored{0};     ///< rows committed (new or already present)
  std::atomic<std::uint64_t> ring_full_waits{0};    ///< times a producer had to wait for space
  std::atomic<std::uint64_t> ring_drops{0};         ///< samples dropped after the bounded wait
  /// Samples taken from a source and never committed: batches the store gave up on at a stop
  /// while it was failing, or queued after it stopped.
  std::atomic<std::uint64_t> samples_not_stored{0};
  std::atomic<std::uint64_t> alerts_raised{0};
  std::atomic<std::uint64_t> alerts_cleared{0};
  std::atomic<std::uint64_t> store_commits{0};
  std::atomic<std::uint64_t> store_errors{0};
  std::array<std::atomic<std::uint64_t>, reject_reason_count> rejected{};

  void count_reject(reject_reason r) noexcept {
    rejected[static_cast<std::size_t>(r)].fetch_add(1, std::memory_order_relaxed);
  }
  std::uint64_t rejects(reject_reason r) const noexcept {
    return rejected[static_cast<std::size_t>(r)].load(std::memory_order_relaxed);
  }
  std::uint64_t total_rejects() const noexcept {
    std::uint64_t n = 0;
    for (const auto& c : rejected) n += c.load(std::memory_order_relaxed);
    return n;
  }
};

}  // namespace vitals::core
