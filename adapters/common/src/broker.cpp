#include <vitals/adapters/common/broker.hpp>

#include <algorithm>

#include <fmt/format.h>

namespace vitals::adapters::common {

namespace {

using core::option_spec;

/// scheme://host... without user information; problems otherwise.
void check_uri(const core::option_set& s, std::vector<core::option_problem>& out) {
  const std::string& b = s.text("broker");
  static const std::vector<std::string> schemes{"tcp", "ssl", "mqtt", "mqtts", "ws", "wss"};
  const auto scheme_end = b.find("://");
  const std::string scheme = scheme_end == std::string::npos ? "" : b.substr(0, scheme_end);
  const std::string rest = scheme_end == std::string::npos ? "" : b.substr(scheme_end + 3);
  if (std::find(schemes.begin(), schemes.end(), scheme) == schemes.end() || rest.empty()) {
    out.push_back(
        {"broker", fmt::format("expected a URI such as \"tcp://localhost:1883\" (schemes: {}), "
                               "got \"{}\"",
                               core::join_names(schemes), b)});
  } else if (rest.substr(0, rest.find('/')).find('@') != std::string::npos) {
    // Don't echo the value: it holds credentials.
    out.push_back(
        {"broker", "must not contain credentials; use mqtt.username and mqtt.password_file"});
  }
}

void check(const core::option_set& s, std::vector<core::option_problem>& out) {
  check_uri(s, out);
  const bool user = !s.text("username").empty();
  if (!s.text("password_file").empty() && !user) {
    out.push_back({"password_file",
                   "is set but mqtt.username is not (MQTT sends a password only with a user "
                   "name)"});
  }
  if (user && s.text("password_file").empty()) {
    // Not an error: some brokers authenticate by user name alone (or by client certificate).
    out.push_back(
        {"username", "is set without mqtt.password_file: connecting without a password", true});
  }
  if (s.integer("reconnect_max_s") < s.integer("reconnect_min_s")) {
    const bool max_written = s.written("reconnect_max_s");
    out.push_back({max_written ? "reconnect_max_s" : "reconnect_min_s",
                   fmt::format("reconnect_max_s ({}) must not be less than reconnect_min_s ({})",
                               s.integer("reconnect_max_s"), s.integer("reconnect_min_s"))});
  }
}

}  // namespace

core::section_descriptor broker_section() {
  core::section_descriptor d;
  d.name = std::string(broker_section_name);
  d.doc =
      "The MQTT broker: every part of vitalsd that talks MQTT (the mqtt and ble_gateway sources, "
      "the alert channel) connects here, each under its own client id.";
  d.options = {
      option_spec::string("broker", "tcp://localhost:1883",
                          "Broker URI: tcp://, ssl://, mqtt://, mqtts://, ws:// or wss://, with "
                          "host and port. Never put credentials in the URI (use username and "
                          "password_file).")
          .make_non_empty(),
      option_spec::boolean("clean_session", false,
                           "false: persistent sessions, so messages published while vitalsd is "
                           "down are delivered when it reconnects."),
      option_spec::integer("keep_alive_s", 30, 1, 65535,
                           "Keep-alive interval in seconds; a dead connection is noticed after "
                           "about 1.5 times this.",
                           "s"),
      option_spec::string("username", "",
                          "User name for the broker; empty connects without credentials."),
      option_spec::secret_file(
          "password_file", "password",
          "File holding the broker password (first line; a trailing newline is ignored), read "
          "at start-up. The password itself never goes in this file or on the command line. "
          "Keep the file mode 0600: vitalsd warns when group or others can read it. A relative "
          "path is relative to the working directory."),
      option_spec::integer("reconnect_min_s", 1, 1, 3600,
                           "Reconnect back-off: starts at reconnect_min_s, doubles up to "
                           "reconnect_max_s.",
                           "s"),
      option_spec::integer("reconnect_max_s", 30, 1, 3600, "", "s"),
  };
  d.check = check;
  return d;
}

broker_options broker_from(const core::option_set& s) {
  broker_options b;
  b.server_uri = s.text("broker");
  b.clean_session = s.flag("clean_session");
  b.keep_alive = std::chrono::seconds(s.integer("keep_alive_s"));
  b.username = s.text("username");
  b.password = s.secret("password_file");
  b.reconnect_min = std::chrono::seconds(s.integer("reconnect_min_s"));
  b.reconnect_max = std::chrono::seconds(s.integer("reconnect_max_s"));
  return b;
}

broker_options broker_from(const core::source_context& ctx) {
  return broker_from(ctx.section(broker_section_name));
}

}  // namespace vitals::adapters::common
