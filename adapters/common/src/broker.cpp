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

/// TLS options need a TLS URI; with one, the files must hold what a handshake needs.
void check_tls(const core::option_set& s, std::vector<core::option_problem>& out) {
  const bool tls = is_tls_uri(s.text("broker"));
  if (!tls) {
    for (const char* key : {"ca_file", "ca_path", "cert_file", "key_file"}) {
      if (!s.text(key).empty()) {
        out.push_back({key,
                       "is set but mqtt.broker is not a TLS URI (ssl://, mqtts:// or "
                       "wss://): the connection would not be encrypted"});
      }
    }
    if (!s.flag("verify_tls")) {
      out.push_back({"verify_tls", "is false but mqtt.broker is not a TLS URI"});
    }
    return;
  }
  for (const auto& f : check_tls_files(broker_from(s).tls)) {
    out.push_back({f.key, f.message, f.warning});
  }
  if (!s.flag("verify_tls")) {
    out.push_back({"verify_tls",
                   "the broker's certificate and host name are not verified: anyone on the path "
                   "can impersonate the broker and read every reading",
                   true});
  }
}

void check(const core::option_set& s, std::vector<core::option_problem>& out) {
  check_uri(s, out);
  check_tls(s, out);
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
          "Keep the file mode 0600: vitalsd refuses it when group or others can read it. A "
          "relative "
          "path is relative to the working directory."),
      option_spec::integer("reconnect_min_s", 1, 1, 3600,
                           "Reconnect back-off: starts at reconnect_min_s, doubles up to "
                           "reconnect_max_s.",
                           "s"),
      option_spec::integer("reconnect_max_s", 30, 1, 3600, "", "s"),
      option_spec::string("ca_file", "",
                          "TLS (ssl://, mqtts://, wss:// brokers): a PEM file of the CAs to trust "
                          "for the broker's certificate; with ca_path also empty, the system's "
                          "CAs. TLS is 1.2 or later; the broker's certificate chain and host name "
                          "are verified."),
      option_spec::string("ca_path", "",
                          "TLS: a directory of CA certificates prepared with c_rehash, instead of "
                          "or besides ca_file."),
      option_spec::string("cert_file", "",
                          "TLS: the client certificate (PEM, with its chain) for brokers that "
                          "authenticate clients by certificate; \"\" for none."),
      option_spec::secret_file(
          "key_file", "client key",
          "TLS: the client certificate's private key (PEM, not encrypted), "
          "when cert_file does not hold it. Keep it mode 0600: vitalsd refuses it "
          "when group or others can read it."),
      option_spec::boolean("verify_tls", true,
                           "false skips the verification of the broker's certificate and host "
                           "name: for tests only (warned)."),
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
  b.tls.ca_file = s.text("ca_file");
  b.tls.ca_path = s.text("ca_path");
  b.tls.cert_file = s.text("cert_file");
  b.tls.key_file = s.text("key_file");
  b.tls.verify = s.flag("verify_tls");
  return b;
}

broker_options broker_from(const core::source_context& ctx) {
  return broker_from(ctx.section(broker_section_name));
}

}  // namespace vitals::adapters::common
