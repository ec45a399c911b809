#pragma once
/// Open mHealth data points (format 2 of reference/formats.md), private to the JSON decoder: the
/// supported schemas, what a data point's "header" and "body" hold, and the sample it becomes.

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "reading.hpp"

namespace vitals::adapters::mqtt::detail {

/// One Open mHealth measure ({"value":..,"unit":..}) as read; checked once the schema is known.
struct omh_measure {
  bool present = false;
  bool have_value = false;
  double value = 0.0;
  std::optional<std::string_view> unit;
  std::optional<problem> error;  // wrong types inside it
};

/// What the "header" and "body" of one reading held. Either may come first, so everything is
/// collected before the schema decides which measure counts.
struct omh_point {
  bool header = false;           // "header" seen as an object
  bool body = false;             // "body" seen as an object
  std::optional<problem> error;  // first wrong type in the header or the time frame
  bool schema = false;
  std::optional<std::string_view> ns, name, version, user_id, source_name;
  std::array<omh_measure, core::vital_kind_count> measures{};
  bool time_frame = false;
  bool interval = false;
  std::optional<std::string_view> date_time, start_date_time, end_date_time;
};

/// Reads the parts of data points and turns a whole one into a sample or a rejection. One per
/// json_decoder: it reuses one omh_point and one message buffer.
class omh_decoder {
 public:
  omh_decoder(const reading_checks& checks, rejection_tally& tally)
      : checks_(checks), tally_(tally) {}

  /// A cleared point for the reading being read; compact readings never ask for one.
  omh_point& start_point() {
    point_ = omh_point{};
    return point_;
  }

  /// Reads a data point's "header" object into `p`.
  static void parse_header(od::object header, omh_point& p);
  /// Reads a data point's "body" object into `p`.
  static void parse_body(od::object body, omh_point& p);

  /// Finishes a data point with both parts: appends its one sample to `out`, or notes its one
  /// rejection.
  void decode(const omh_point& p, std::optional<std::size_t> index, const decode_context& ctx,
              std::vector<core::sample>& out, std::string& msg);

 private:
  const reading_checks& checks_;
  rejection_tally& tally_;
  omh_point point_;     // reused: compact readings never touch it
  std::string detail_;  // message naming an unsupported schema
};

}  // namespace vitals::adapters::mqtt::detail
