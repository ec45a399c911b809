#pragma once
/// Decoder of the compact JSON reading format and of Open mHealth data points
/// (reference/formats.md, formats 1 and 2) into core::samples.

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <vitals/core/device_directory.hpp>
#include <vitals/core/sample.hpp>
#include <vitals/core/stats.hpp>

namespace vitals::adapters::mqtt {

/// Limits and lookups of one decoder; fixed for its lifetime.
struct decoder_options {
  std::size_t max_payload_bytes = 65536;  ///< larger payloads are rejected before parsing
  std::chrono::milliseconds max_future = std::chrono::hours(24);  ///< ts may lead receive time
  std::unordered_map<std::string, std::string> device_patients;   ///< patient of payloads with none
  /// The daemon's live [[devices]] (changed by a reload); when set, `device_patients` is unused.
  /// Must outlive the decoder.
  const core::device_directory* directory = nullptr;
};

/// What the topic (and the clock) say about a payload; unset fields must come from the payload.
struct decode_context {
  std::optional<std::string_view> patient;  ///< from the topic template's {patient}
  std::optional<std::string_view> device;   ///< from the topic template's {device}
  std::optional<core::vital_kind> kind;     ///< from {kind}: the reading then carries "value"
  core::timestamp receive_time{};           ///< copied into every sample; anchors the ts window
};

/// Outcome of one decode() call. Every rejection has already been counted in core::stats.
struct decode_status {
  std::size_t decoded = 0;   ///< samples appended to the output vector
  std::size_t rejected = 0;  ///< payloads, readings or single vitals rejected
  core::reject_reason first_reason = core::reject_reason::invalid_json;  ///< when rejected > 0

  /// True when nothing was rejected.
  bool ok() const noexcept { return rejected == 0; }
};

/// Decodes one reading, or a JSON array of readings, per call. It reuses one simdjson parser
/// and one padded buffer, so keep one instance per source thread: it is not thread-safe.
///
/// Format per reading: an object with both a "header" object and a "body" object is an Open
/// mHealth data point (heart-rate, oxygen-saturation, blood-glucose; one sample, no sequence);
/// anything else is a compact reading. Both formats may be mixed in one array.
///
/// Rejection granularity: a payload that is too large or not well-formed JSON is one rejection
/// (invalid_json, too_large) and yields nothing, even if part of it decoded; a reading whose
/// device, patient or ts is missing or bad is one rejection; a single vital with a bad value or
/// unit is one rejection while the other vitals of the same reading are still returned.
class json_decoder {
 public:
  /// Throws std::invalid_argument when a device_patients entry is not a valid id (names it).
  json_decoder(decoder_options options, core::stats& stats);
  ~json_decoder();
  json_decoder(const json_decoder&) = delete;
  json_decoder& operator=(const json_decoder&) = delete;

  /// Appends the samples of `payload` to `out`, counts every rejection into stats.
  decode_status decode(std::string_view payload, const decode_context& ctx,
                       std::vector<core::sample>& out);

  /// Why the first rejection of the last decode() happened ("reading 3: field 'ts': not RFC
  /// 3339"). Never contains ids or values from the payload, so it is safe for warn-level logs.
  const std::string& last_error() const noexcept { return last_error_; }

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
  std::string last_error_;
};

}  // namespace vitals::adapters::mqtt
