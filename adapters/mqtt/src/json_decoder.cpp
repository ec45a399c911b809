// The JSON decoder: the payload as a whole (size limit, parsing, rejections counted). Its
// readings are decoded by compact_decoder.* (compact JSON, and detection of Open mHealth data
// points, which omh_decoder.* decodes); both follow the rules of reading.*.

#include <vitals/adapters/mqtt/json_decoder.hpp>

#include <cstring>

#include "compact_decoder.hpp"
#include "reading.hpp"

namespace vitals::adapters::mqtt {

namespace sj = simdjson;
namespace od = simdjson::ondemand;
using detail::broken_json;
using detail::problem;

struct json_decoder::impl {
  impl(decoder_options o, core::stats& st)
      : options(std::move(o)), stats(st), checks(options), readings(checks, tally) {}

  decoder_options options;
  core::stats& stats;
  detail::reading_checks checks;
  detail::rejection_tally tally;
  detail::compact_decoder readings;
  od::parser parser;
  std::vector<char> buffer;  // payload copy with simdjson's padding
};

json_decoder::json_decoder(decoder_options options, core::stats& stats)
    : impl_(std::make_unique<impl>(std::move(options), stats)) {}

json_decoder::~json_decoder() = default;

decode_status json_decoder::decode(std::string_view payload, const decode_context& ctx,
                                   std::vector<core::sample>& out) {
  auto& d = *impl_;
  d.tally.clear();
  last_error_.clear();
  const std::size_t out_start = out.size();

  // The payload as a whole: nothing of it is kept, one rejection is counted.
  auto reject_payload = [&](core::reject_reason r, std::string_view what) {
    out.resize(out_start);
    d.tally.clear();
    d.tally.note(problem{r, "", what}, std::nullopt, last_error_);
  };

  if (payload.size() > d.options.max_payload_bytes) {
    reject_payload(core::reject_reason::too_large, "payload larger than max_payload_bytes");
  } else {
    if (d.buffer.size() < payload.size() + sj::SIMDJSON_PADDING)
      d.buffer.resize(payload.size() + sj::SIMDJSON_PADDING);
    std::memcpy(d.buffer.data(), payload.data(), payload.size());
    std::memset(d.buffer.data() + payload.size(), 0, sj::SIMDJSON_PADDING);
    try {
      od::document doc;
      if (auto e = d.parser.iterate(d.buffer.data(), payload.size(), d.buffer.size()).get(doc))
        throw broken_json{e};
      if (!d.readings.decode_document(doc, ctx, out, last_error_))
        reject_payload(core::reject_reason::wrong_type, "payload is not an object or array");
    } catch (const broken_json& b) {
      // simdjson's messages describe the syntax only, never the payload's content.
      reject_payload(core::reject_reason::invalid_json, sj::error_message(b.code));
    }
  }

  decode_status st;
  st.decoded = out.size() - out_start;
  d.tally.report(d.stats, st);
  return st;
}

}  // namespace vitals::adapters::mqtt
