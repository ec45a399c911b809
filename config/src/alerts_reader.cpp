// [alerts], [api] with [[api.tokens]], and [[routes]] with [[routes.steps]].
#include <arpa/inet.h>
#include <netinet/in.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <optional>
#include <set>

#include <vitals/core/tls_files.hpp>

#include "sections.hpp"

namespace vitals::config::detail {

namespace {

/// "HH:MM-HH:MM" in local time.
std::optional<core::quiet_hours> parse_quiet_hours(std::string_view text) {
  int h1 = 0, m1 = 0, h2 = 0, m2 = 0;
  char tail = 0;
  const std::string s(text);
  if (std::sscanf(s.c_str(), "%2d:%2d-%2d:%2d%c", &h1, &m1, &h2, &m2, &tail) != 4) {
    return std::nullopt;
  }
  if (h1 < 0 || h1 > 23 || h2 < 0 || h2 > 24 || m1 < 0 || m1 > 59 || m2 < 0 || m2 > 59) {
    return std::nullopt;
  }
  return core::quiet_hours{h1 * 60 + m1, h2 * 60 + m2};
}

enum class address_kind : std::uint8_t { invalid, loopback, other };

/// What the API's listen address is (an IPv4 or IPv6 literal: the server binds it as given).
address_kind classify(const std::string& address) {
  in_addr v4{};
  if (::inet_pton(AF_INET, address.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127 ? address_kind::loopback : address_kind::other;
  }
  in6_addr v6{};
  if (::inet_pton(AF_INET6, address.c_str(), &v6) == 1) {
    if (IN6_IS_ADDR_LOOPBACK(&v6)) return address_kind::loopback;
    if (IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127) return address_kind::loopback;
    return address_kind::other;
  }
  return address_kind::invalid;
}

/// tls_cert_file, tls_key_file and tls_client_ca_file: both or neither of the first two, and
/// files OpenSSL can use (the key's mode checked like every secret file's).
void read_api_tls(table_reader& r, api_settings& a) {
  const auto* cert = r.string("tls_cert_file", a.tls_cert_file, false);
  const auto* key = r.string("tls_key_file", a.tls_key_file, false);
  const auto* client_ca = r.string("tls_client_ca_file", a.tls_client_ca_file, false);
  if (!cert && !key && !client_ca) return;
  if (a.tls_cert_file.empty() != a.tls_key_file.empty()) {
    const bool no_key = a.tls_key_file.empty();
    r.error(no_key ? *cert : *key, no_key ? "tls_cert_file" : "tls_key_file",
            no_key ? "is set but tls_key_file is not (HTTPS needs both)"
                   : "is set but tls_cert_file is not (HTTPS needs both)");
    return;
  }
  if (!a.tls() && client_ca && !a.tls_client_ca_file.empty()) {
    r.error(*client_ca, "tls_client_ca_file",
            "is set but tls_cert_file is not: client certificates need HTTPS");
    return;
  }
  if (key && !a.tls_key_file.empty()) {
    std::string ignored;  // read for its checks only; OpenSSL reads the key again at start
    read_secret_file(r, *key, "tls_key_file", "TLS key", a.tls_key_file, ignored);
  }
  core::tls_files files;
  files.ca_file = a.tls_client_ca_file;
  files.cert_file = a.tls_cert_file;
  files.key_file = a.tls_key_file;
  for (const auto& f : core::check_tls_files(files, "server")) {
    const auto* node = f.key == "ca_file" ? client_ca : f.key == "key_file" ? key : cert;
    const std::string name = f.key == "ca_file" ? "tls_client_ca_file" : "tls_" + f.key;
    if (f.warning) {
      r.warning(*node, name, f.message);
    } else {
      r.error(*node, name, f.message);
    }
  }
}

}  // namespace

void read_alerts(context& c, const toml::table* t, alert_settings& a) {
  table_reader r(c, t, "alerts");
  auto& l = a.lifecycle;
  duration(r, "flap_window_s", l.flap_window, 0.0, 3600.0, "s");
  r.boolean("latch_high", l.latch_high);
  duration(r, "max_snooze_min", l.max_snooze, 1.0, 24 * 60.0, "min");
  const auto* high = duration(r, "max_snooze_high_min", l.max_snooze_high, 1.0, 24 * 60.0, "min");
  if (high && l.max_snooze_high > l.max_snooze) {
    r.error(*high, "max_snooze_high_min", "must not be more than max_snooze_min");
  }
  r.boolean("inhibit", l.inhibit);
  r.integer("utc_offset_min", l.utc_offset_min, -720, 840);
  if (const auto* n = r.string("command_topic", a.command_topic, false);
      n && a.command_topic.find_first_of("+#") != std::string::npos) {
    r.error(*n, "command_topic", "must be a plain topic, without the wildcards + and #");
  }
  r.string("client_id", a.client_id, true);
  r.finish();
}

void read_api(context& c, const toml::table* t, api_settings& a) {
  table_reader r(c, t, "api");
  r.boolean("enabled", a.enabled);
  const auto* listen = r.string("listen", a.listen, true);
  r.integer("port", a.port, 0, 65535);
  r.boolean("metrics_auth", a.metrics_auth);
  r.integer("max_connections", a.max_connections, 1, 65536);
  read_api_tls(r, a);
  r.boolean("allow_plain_http", a.allow_plain_http);
  if (listen && !c.schema) {
    const auto kind = classify(a.listen);
    if (kind == address_kind::invalid) {
      r.error(*listen, "listen",
              fmt::format("\"{}\" is not an IPv4 or IPv6 address (\"127.0.0.1\", \"::1\", "
                          "\"0.0.0.0\")",
                          a.listen));
    } else if (kind == address_kind::other && a.enabled && !a.tls() && !a.allow_plain_http) {
      r.error(*listen, "listen",
              fmt::format("\"{}\" is not a loopback address and the API has no TLS: set "
                          "tls_cert_file and tls_key_file, or allow_plain_http = true when a "
                          "TLS-terminating proxy is in front (tokens and patient data would "
                          "cross the network in clear text)",
                          a.listen));
    }
  }
  std::set<std::string> names;
  each_table(c, r, "tokens", [&](const toml::table* tt, const std::string& path) {
    table_reader tr(c, tt, path);
    api_token_settings tok;
    const auto* name = tr.string("name", tok.name, true);
    const auto* file = tr.string("token_file", tok.token_file, true);
    tr.one_of("role", tok.role, {"read", "ack", "admin"});
    tr.finish();
    if (c.schema) return;
    if (!name || !file) {
      if (!tt->contains("name") || !tt->contains("token_file")) {
        c.errors.push_back(at(c, tt->source(), path,
                              "each API token needs a name and a token_file (the token itself "
                              "never goes in the config)"));
      }
      return;
    }
    if (!names.insert(tok.name).second) {
      tr.error(*name, "name", fmt::format("duplicate token name \"{}\"", tok.name));
      return;
    }
    read_secret_file(tr, *file, "token_file", "token", tok.token_file, tok.token);
    if (!tok.token.empty() && tok.token.size() < 16) {
      tr.error(*file, "token_file", "the token must be at least 16 characters");
      return;
    }
    if (!tok.token.empty()) a.tokens.push_back(std::move(tok));
  });
  r.finish();
}

void read_routes(context& c, table_reader& root, const std::vector<std::string>& receiver_names,
                 std::vector<core::route>& out) {
  std::set<std::string> names;
  each_table(c, root, "routes", [&](const toml::table* t, const std::string& path) {
    table_reader r(c, t, path);
    core::route rt;
    const auto* name = r.string("name", rt.name, true);
    string_list(r, "patients", rt.patients);
    string_list(r, "care_teams", rt.care_teams);
    string_list(r, "rules", rt.rules);
    std::vector<std::string> prios;
    const auto* prio_node = string_list(r, "priorities", prios);
    std::string source;
    const auto* source_node = r.one_of("source", source, {"any", "physiological", "technical"});
    double repeat_min = 0;
    if (r.number("repeat_min", repeat_min, 0.0, 7 * 24 * 60.0, "min")) {
      rt.repeat_interval = std::chrono::seconds(std::llround(repeat_min * 60));
    }
    std::string quiet;
    const auto* quiet_node = r.string("quiet_hours", quiet, false);
    bool steps_ok = true;
    each_table(c, r, "steps", [&](const toml::table* st, const std::string& spath) {
      table_reader sr(c, st, spath);
      core::escalation_step step;
      double after = 0;
      const auto* after_node = sr.number("after_min", after, 0.0, 7 * 24 * 60.0, "min");
      const auto* recv_node = string_list(sr, "receivers", step.receivers);
      sr.finish();
      if (c.schema) return;
      step.after = std::chrono::seconds(std::llround(after * 60));
      if (!recv_node || step.receivers.empty()) {
        c.errors.push_back(at(c, st->source(), spath + ".receivers",
                              "missing (each step pages at least one receiver)"));
        steps_ok = false;
        return;
      }
      for (const auto& rn : step.receivers) {
        if (std::find(receiver_names.begin(), receiver_names.end(), rn) == receiver_names.end()) {
          sr.error(*recv_node, "receivers",
                   fmt::format("unknown receiver \"{}\"{}; receivers: {}", rn,
                               core::did_you_mean(rn, receiver_names),
                               receiver_names.empty() ? std::string("none defined")
                                                      : core::join_names(receiver_names)));
          steps_ok = false;
          return;
        }
      }
      if (!rt.steps.empty() && step.after < rt.steps.back().after) {
        sr.error(after_node ? *after_node : *st, "after_min",
                 "steps must be in order: after_min may not be less than the previous step's");
        steps_ok = false;
        return;
      }
      rt.steps.push_back(std::move(step));
    });
    r.finish();
    if (c.schema) return;
    if (!name) {
      c.errors.push_back(at(c, t->source(), path + ".name", "missing (each route needs a name)"));
      return;
    }
    if (!names.insert(rt.name).second) {
      r.error(*name, "name", fmt::format("duplicate route name \"{}\"", rt.name));
      return;
    }
    for (const auto& p : prios) {
      const auto level = core::parse_priority(p);
      if (!level) {
        r.error(*prio_node, "priorities",
                fmt::format("must list \"low\", \"medium\" or \"high\", got \"{}\"", p));
        return;
      }
      rt.priorities.push_back(*level);
    }
    if (source_node && source != "any") {
      rt.source =
          source == "technical" ? core::alert_source::technical : core::alert_source::physiological;
    }
    if (quiet_node && !quiet.empty()) {
      rt.quiet = parse_quiet_hours(quiet);
      if (!rt.quiet) {
        r.error(*quiet_node, "quiet_hours",
                fmt::format("expected \"HH:MM-HH:MM\" in local time, e.g. \"22:00-07:00\", got "
                            "\"{}\"",
                            quiet));
        return;
      }
    }
    if (rt.steps.empty()) {
      if (steps_ok) {
        c.errors.push_back(at(c, t->source(), path + ".steps",
                              "missing (a route needs at least one [[routes.steps]] with "
                              "receivers)"));
      }
      return;
    }
    out.push_back(std::move(rt));
  });
}

}  // namespace vitals::config::detail
