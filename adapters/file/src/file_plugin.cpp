// The file source as a plugin ([[sources]] type "file"): its option table and factory.
#include <vitals/core/plugin_registry.hpp>

#include "file_source.hpp"

namespace vitals::adapters::plugins {

namespace {

using core::option_spec;

std::vector<option_spec> options() {
  return {
      option_spec::string("path", "",
                          "The JSON-lines file to follow: one compact JSON reading (or an array "
                          "of readings) per line, with its device and patient, as the mqtt "
                          "source accepts them.")
          .make_required("\"/var/lib/vitalsd/replay.jsonl\"")
          .make_non_empty(),
      option_spec::choice("start_at", "end", {"end", "beginning"},
                          "\"end\": only lines appended after start-up (like tail -f); "
                          "\"beginning\": the file's lines first. A truncated or replaced file "
                          "is always read from its beginning."),
      option_spec::integer("poll_interval_ms", 200, 10, 60000,
                           "How often the file is checked for new lines.", "ms"),
      option_spec::integer("max_line_bytes", 65536, 16, 16777216,
                           "Longer lines are rejected (too_large), never parsed.", "bytes"),
      option_spec::integer("max_future_h", 24, 1, 8760,
                           "Readings time-stamped more than this many hours ahead of reading "
                           "are rejected.",
                           "h"),
  };
}

std::unique_ptr<core::source> create(const core::option_set& s, core::source_context& ctx) {
  file::file_options o;
  o.name = ctx.name;
  o.path = s.text("path");
  o.from_start = s.text("start_at") == "beginning";
  o.poll_interval = std::chrono::milliseconds(s.integer("poll_interval_ms"));
  o.max_line_bytes = static_cast<std::size_t>(s.integer("max_line_bytes"));
  o.max_future = std::chrono::hours(s.integer("max_future_h"));
  o.device_patients.insert(ctx.device_patients.begin(), ctx.device_patients.end());
  return std::make_unique<file::file_source>(std::move(o), ctx.sink, ctx.counters);
}

}  // namespace

void register_file(core::plugin_registry& r) {
  core::source_descriptor d;
  d.type = "file";
  d.summary = "readings as JSON lines appended to a file (replays, debugging, devices that log)";
  d.options = options();
  d.create = create;
  r.add(std::move(d));
}

}  // namespace vitals::adapters::plugins
