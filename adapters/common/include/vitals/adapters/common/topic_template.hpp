#pragma once
/// Topic templates such as "vitals/{patient}/{device}/{kind}": the subscription filter they
/// stand for, and the ids they extract from a concrete topic.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <vitals/core/sample.hpp>

namespace vitals::adapters::common {

/// What a matching topic says about its payload; unset fields come from the payload.
struct topic_fields {
  std::optional<std::string_view> patient;  ///< points into the matched topic
  std::optional<std::string_view> device;   ///< points into the matched topic
  std::optional<core::vital_kind> kind;
};

/// A parsed template. Each level is a literal, "+" (any, not extracted), "#" (last level only,
/// any rest) or exactly one of {patient}, {device}, {kind}, each used at most once.
class topic_template {
 public:
  /// Throws std::invalid_argument naming the template and the reason when it is malformed.
  explicit topic_template(std::string_view text);

  /// The template as written.
  const std::string& text() const noexcept { return text_; }

  /// The MQTT subscription filter: placeholders become "+" ("vitals/+/+").
  const std::string& filter() const noexcept { return filter_; }

  /// The ids in `topic`, or nullopt when it does not match (a bad_topic rejection). A {kind}
  /// level must name a known vital and placeholder levels must not be empty.
  std::optional<topic_fields> match(std::string_view topic) const noexcept;

 private:
  enum class level_kind { literal, any, rest, patient, device, kind };
  struct level {
    level_kind type;
    std::string literal;
  };

  std::string text_;
  std::string filter_;
  std::vector<level> levels_;
};

}  // namespace vitals::adapters::common
