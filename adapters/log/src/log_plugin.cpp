// The log notifier as a plugin ([[receivers]] type "log"): its option table and factory.
#include <vitals/core/plugin_registry.hpp>

#include "log_notifier.hpp"

namespace vitals::adapters::plugins {

namespace {

using core::option_spec;

std::vector<option_spec> options() {
  return {
      option_spec::string("path", "",
                          "File to append one JSON line per notification to (created with mode "
                          "0600: it holds patient data), or \"-\" for standard output.")
          .make_required("\"/var/lib/vitalsd/notifications.jsonl\"")
          .make_non_empty(),
      option_spec::boolean("fsync", false,
                           "true: every line is on disk before it counts as delivered (slower)."),
  };
}

}  // namespace

void register_log(core::plugin_registry& r) {
  core::notifier_descriptor d;
  d.type = "log";
  d.summary = "notifications as JSON lines in a file (debugging routes, a local record)";
  d.options = options();
  d.create = [](const core::option_set& s, core::notifier_context& ctx) {
    return std::make_unique<log::log_notifier>(ctx.name, s.text("path"), s.flag("fsync"));
  };
  r.add(std::move(d));
}

}  // namespace vitals::adapters::plugins
