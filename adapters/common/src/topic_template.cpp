#include <vitals/adapters/common/topic_template.hpp>

#include <stdexcept>

namespace vitals::adapters::common {

namespace {

[[noreturn]] void bad_template(std::string_view text, std::string_view why) {
  throw std::invalid_argument("topic template '" + std::string(text) + "': " + std::string(why));
}

}  // namespace

topic_template::topic_template(std::string_view text) : text_(text) {
  if (text.empty()) bad_template(text, "is empty");
  if (text.find('\0') != std::string_view::npos) bad_template(text, "contains a NUL byte");
  bool seen_patient = false, seen_device = false, seen_kind = false;
  std::size_t start = 0;
  while (true) {
    const auto slash = text.find('/', start);
    const auto seg =
        text.substr(start, slash == std::string_view::npos ? text.npos : slash - start);
    const bool last = slash == std::string_view::npos;
    auto placeholder = [&](bool& seen, level_kind k) {
      if (seen) bad_template(text, std::string(seg) + " used twice");
      seen = true;
      levels_.push_back({k, {}});
    };
    if (seg == "{patient}") {
      placeholder(seen_patient, level_kind::patient);
    } else if (seg == "{device}") {
      placeholder(seen_device, level_kind::device);
    } else if (seg == "{kind}") {
      placeholder(seen_kind, level_kind::kind);
    } else if (seg == "+") {
      levels_.push_back({level_kind::any, {}});
    } else if (seg == "#") {
      if (!last) bad_template(text, "'#' must be the last level");
      levels_.push_back({level_kind::rest, {}});
    } else {
      if (seg.find_first_of("{}") != std::string_view::npos)
        bad_template(text, "unknown or partial placeholder in level '" + std::string(seg) +
                               "' (use a whole level: {patient}, {device} or {kind})");
      if (seg.find_first_of("+#") != std::string_view::npos)
        bad_template(text, "wildcards '+' and '#' must fill a whole level");
      levels_.push_back({level_kind::literal, std::string(seg)});
    }
    if (!filter_.empty() || start > 0) filter_ += '/';
    switch (levels_.back().type) {
      case level_kind::literal:
        filter_ += seg;
        break;
      case level_kind::rest:
        filter_ += '#';
        break;
      default:
        filter_ += '+';
        break;
    }
    if (last) break;
    start = slash + 1;
  }
}

std::optional<topic_fields> topic_template::match(std::string_view topic) const noexcept {
  topic_fields out;
  std::size_t start = 0;
  for (std::size_t i = 0; i < levels_.size(); ++i) {
    const auto& l = levels_[i];
    // "#" also matches the parent level itself ("a/#" matches "a"), as in MQTT.
    if (l.type == level_kind::rest) return out;
    if (start > topic.size()) return std::nullopt;
    const auto slash = topic.find('/', start);
    const auto seg =
        topic.substr(start, slash == std::string_view::npos ? topic.npos : slash - start);
    const bool topic_last = slash == std::string_view::npos;
    const bool template_last = i + 1 == levels_.size();
    if (topic_last != template_last) {
      // The topic ends early: only a following "#" may still match it.
      if (!(topic_last && i + 2 == levels_.size() && levels_[i + 1].type == level_kind::rest))
        return std::nullopt;
    }
    switch (l.type) {
      case level_kind::literal:
        if (seg != l.literal) return std::nullopt;
        break;
      case level_kind::any:
      case level_kind::rest:
        break;
      case level_kind::patient:
        if (seg.empty()) return std::nullopt;
        out.patient = seg;
        break;
      case level_kind::device:
        if (seg.empty()) return std::nullopt;
        out.device = seg;
        break;
      case level_kind::kind:
        out.kind = core::parse_vital_kind(seg);
        if (!out.kind) return std::nullopt;
        break;
    }
    start = topic_last ? topic.size() + 1 : slash + 1;
  }
  return out;
}

}  // namespace vitals::adapters::common
