#pragma once
/// What the compact and the Open mHealth decoders share about one reading (private): the problems
/// that reject it and their tally, the rules for its device, patient and time, and the sample it
/// becomes.

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include <simdjson.h>

#include <vitals/adapters/mqtt/json_decoder.hpp>

namespace vitals::adapters::mqtt::detail {

namespace od = simdjson::ondemand;

/// A problem found while decoding: the counted reason and a message free of payload data.
struct problem {
  core::reject_reason reason;
  std::string_view field;  ///< a field name of ours (never a key taken from the payload)
  std::string_view what;
};

/// The first problem of a reading, the one that rejects it; call it with each problem found.
struct first_problem {
  std::optional<problem> error;
  void operator()(const problem& p) {
    if (!error) error = p;
  }
};

/// Thrown out of the reading loop when the document itself is broken; no exceptions otherwise.
struct broken_json {
  simdjson::error_code code;
};

/// Calls `fn(key, value)` for each field of `obj` in document order; throws broken_json when
/// the document is broken; `return` in `fn` skips to the next field. Used by the Open mHealth
/// code only: the compact loops keep their own copy, as the helper is not inlined at -O3 and
/// the out-of-line call measured ~9% slower per compact message.
template <class Fn>
void each_field(od::object& obj, Fn&& fn) {
  for (auto f : obj) {
    if (f.error()) throw broken_json{f.error()};
    std::string_view key;
    if (auto e = f.unescaped_key().get(key)) throw broken_json{e};
    od::value v;
    if (auto e = f.value().get(v)) throw broken_json{e};
    fn(key, v);
  }
}

using core::valid_id_text;

/// The rejections of one decode() call: counted per reason, the first one described. clear()
/// and report() run for every message: inline, as they were before the decoder was split (out
/// of line they cost a few percent of a compact message).
class rejection_tally {
 public:
  /// Counts `p`; when it is the first, describes it in `msg` ("reading 3: field 'ts': ...").
  void note(const problem& p, std::optional<std::size_t> index, std::string& msg);

  /// Forgets everything counted (a new payload, or a payload rejected whole).
  void clear() noexcept {
    pending_.fill(0);
    first_.reset();
  }

  /// Adds the counts to `stats` and `status`.
  void report(core::stats& stats, decode_status& status) const {
    if (!first_) return;  // nothing counted: note() sets first_ with the first count
    for (std::size_t i = 0; i < pending_.size(); ++i) {
      if (pending_[i] == 0) continue;
      stats.rejected[i].fetch_add(pending_[i], std::memory_order_relaxed);
      status.rejected += pending_[i];
    }
    status.first_reason = *first_;
  }

 private:
  std::array<std::uint64_t, core::reject_reason_count> pending_{};
  std::optional<core::reject_reason> first_;
};

/// Where a reading says it comes from, once checked: the device, and the patient from the
/// reading or the topic (`patient`) or else from the device map (`mapped`).
struct reading_ids {
  std::optional<std::string_view> device, patient;
  std::optional<core::short_id> mapped;
};

/// The device, patient and time rules, the same for both formats.
class reading_checks {
 public:
  /// Throws std::invalid_argument when a device_patients entry is not a valid id (names it).
  explicit reading_checks(const decoder_options& options);

  /// Device and patient of a reading against the topic and the device map; `device_field` and
  /// `patient_field` name where the payload carries them. Leaves `ids.patient` unset when the
  /// device map supplies it (then `ids.mapped` is set). Calls `fail` for each problem.
  template <class Fail>
  void check_ids(const decode_context& ctx, reading_ids& ids, std::string_view device_field,
                 std::string_view patient_field, Fail&& fail) const {
    auto& device = ids.device;
    auto& patient = ids.patient;
    auto& mapped = ids.mapped;
    // Device: from the topic or the payload; both present and different means someone publishes
    // under another device's topic, and attributing the data to either would be a guess.
    if (ctx.device && device && *ctx.device != *device)
      fail({core::reject_reason::bad_id, device_field, "disagrees with the topic"});
    if (!device) device = ctx.device;
    if (!device)
      fail({core::reject_reason::missing_field, device_field, "missing"});
    else if (!valid_id_text(*device))
      fail(
          {core::reject_reason::bad_id, device_field, "empty, too long or has control characters"});

    // Patient: topic, payload, then the configured device map; any disagreement is rejected,
    // because a reading filed under the wrong patient is worse than a lost one.
    if (device) {
      if (const auto* p = devices_.find(*device)) mapped = *p;
    }
    if (ctx.patient && patient && *ctx.patient != *patient)
      fail({core::reject_reason::bad_id, patient_field, "disagrees with the topic"});
    if (!patient) patient = ctx.patient;
    if (patient && mapped && mapped->view() != *patient)
      fail({core::reject_reason::bad_id, patient_field, "disagrees with the device map"});
    if (patient && !valid_id_text(*patient))
      fail({core::reject_reason::bad_id, patient_field,
            "empty, too long or has control characters"});
    if (!patient && !mapped)
      fail({core::reject_reason::unknown_device, patient_field,
            "not in topic, payload or device map"});
  }

  /// The accepted window of device times: from 2000-01-01 to max_future after the receive time.
  template <class Fail>
  void check_time(core::timestamp ts, const decode_context& ctx, std::string_view field,
                  Fail&& fail) const {
    if (ts < core::earliest_device_time)
      fail({core::reject_reason::bad_timestamp, field, "before 2000-01-01"});
    if (ts > ctx.receive_time + options_.max_future)
      fail({core::reject_reason::bad_timestamp, field, "too far ahead of the receive time"});
  }

 private:
  const decoder_options& options_;
  /// options_.device_patients when the daemon gives no directory of its own.
  std::unique_ptr<core::device_directory> own_;
  mutable core::device_directory::view devices_;
};

/// The sample of a reading that passed the checks (ids set, patient or mapped), without kind
/// and value.
inline core::sample checked_sample(const reading_ids& ids, core::timestamp ts,
                                   const decode_context& ctx) noexcept {
  core::sample s;
  s.patient = ids.mapped && !ids.patient ? *ids.mapped : *core::short_id::make(*ids.patient);
  s.device = *core::short_id::make(*ids.device);
  s.device_time = ts;
  s.receive_time = ctx.receive_time;
  return s;
}

}  // namespace vitals::adapters::mqtt::detail
