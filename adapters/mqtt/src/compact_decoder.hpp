#pragma once
/// Compact JSON readings (format 1 of reference/formats.md), private to the JSON decoder: the
/// walk over a document's readings, and one pass over each reading's keys that also notices an
/// Open mHealth data point and hands it on to the omh_decoder.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "omh_decoder.hpp"
#include "reading.hpp"

namespace vitals::adapters::mqtt::detail {

/// Decodes the readings of a document, compact or Open mHealth. Not thread-safe (see
/// json_decoder).
class compact_decoder {
 public:
  compact_decoder(const reading_checks& checks, rejection_tally& tally)
      : checks_(checks), tally_(tally), omh_(checks, tally) {}

  /// Decodes the readings of a document, one reading object or an array of them: appends their
  /// samples to `out` and notes their rejections (an array element that is not an object is
  /// one). False when the document is neither an object nor an array. Throws broken_json.
  bool decode_document(od::document& doc, const decode_context& ctx, std::vector<core::sample>& out,
                       std::string& msg);

 private:
  const reading_checks& checks_;
  rejection_tally& tally_;
  omh_decoder omh_;
};

}  // namespace vitals::adapters::mqtt::detail
