#include "vitalsctl_api.hpp"

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <optional>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <vitals/adapters/notify/http_sender.hpp>
#include <vitals/adapters/registry.hpp>
#include <vitals/config/loader.hpp>

namespace vitals::ctl {

namespace {

using json = nlohmann::json;
namespace notify = adapters::notify;

/// The token in `path` (first line); never on the command line.
std::string read_token(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw usage_error("cannot read the token file '" + path + "'");
  std::string token;
  std::getline(in, token);
  while (!token.empty() && (token.back() == '\r' || token.back() == ' ')) token.pop_back();
  if (token.empty()) throw usage_error("the token file '" + path + "' is empty");
  return token;
}

}  // namespace

reply call(const api_target& t, const std::string& method, const std::string& target,
           const std::string& body, bool with_token) {
  std::string url_error;
  const auto url = notify::parse_http_url(t.url, &url_error);
  if (!url) throw usage_error("--api: " + url_error);
  notify::http_post req;
  req.method = method;
  req.body = body;
  req.whole_answer = true;
  if (with_token) {
    if (t.token_file.empty()) {
      throw usage_error(
          "this command needs an API token: --token-file FILE (or VITALSCTL_TOKEN_FILE)");
    }
    req.headers.emplace_back("Authorization", "Bearer " + read_token(t.token_file));
  }
  boost::asio::io_context io;
  notify::http_sender sender(io, "vitalsctl",
                             notify::tls_settings{t.ca_file, !t.insecure, t.cert_file, t.key_file});
  reply out;
  sender.post(*url, target, std::move(req), std::chrono::seconds(10), [&](notify::http_result r) {
    out.status = r.status;
    out.body = std::move(r.body);
    out.error = std::move(r.error);
  });
  io.run();
  return out;
}

std::string error_of(const reply& r) {
  if (r.status == 0) return r.error;
  try {
    const auto j = json::parse(r.body);
    if (j.contains("error"))
      return fmt::format("HTTP {}: {}", r.status, j["error"].get<std::string>());
  } catch (const json::exception&) {
  }
  return fmt::format("HTTP {}", r.status);
}

std::string text(const json& j, const char* key) {
  if (!j.contains(key) || j[key].is_null()) return "-";
  return j[key].is_string() ? j[key].get<std::string>() : j[key].dump();
}

namespace {

int run_status(const api_target& t) {
  const auto health = call(t, "GET", "/healthz", {}, false);
  if (health.status == 0) {
    std::fprintf(stderr, "vitalsctl: vitalsd at %s not reachable: %s\n", t.url.c_str(),
                 health.error.c_str());
    return exit_failed;
  }
  json h;
  try {
    h = json::parse(health.body);
  } catch (const json::exception&) {
    std::fprintf(stderr, "vitalsctl: /healthz answered %d without JSON\n", health.status);
    return exit_failed;
  }
  std::printf("status: %s\n", text(h, "status").c_str());
  if (h.contains("sources")) {
    for (const auto& [name, state] : h["sources"].items()) {
      std::printf("  source %s: %s\n", name.c_str(), state.get<std::string>().c_str());
    }
  }
  std::printf("store queued rows: %s, ring depth: %s\nalerts open: %s, notifications pending: %s\n",
              text(h, "store_queued_rows").c_str(), text(h, "ring_depth").c_str(),
              text(h, "alerts_open").c_str(), text(h, "notifications_pending").c_str());
  if (!t.token_file.empty()) {
    const auto metrics = call(t, "GET", "/metrics");
    if (metrics.status != 200) {
      std::fprintf(stderr, "vitalsctl: /metrics: %s\n", error_of(metrics).c_str());
      return exit_failed;
    }
    std::istringstream lines(metrics.body);
    for (std::string line; std::getline(lines, line);) {
      for (const char* name : {"vitalsd_samples_stored_total ", "vitalsd_ring_drops_total ",
                               "vitalsd_store_errors_total ", "vitalsd_messages_received_total "}) {
        if (line.rfind(name, 0) == 0) std::printf("%s\n", line.c_str());
      }
    }
  }
  return health.status == 200 && text(h, "status") == "ok" ? exit_ok : exit_failed;
}

void print_alert_row(const json& a) {
  std::printf("%6s  %-12s  %-6s  %-24s  %-14s  %s  %s %s\n", text(a, "id").c_str(),
              text(a, "state").c_str(), text(a, "priority").c_str(),
              text(a, "current_rule").c_str(), text(a, "patient").c_str(),
              text(a, "raised_at").c_str(), text(a, "last_value").c_str(), text(a, "unit").c_str());
}

int print_reply(const reply& r, bool as_json, bool list) {
  if (r.status < 200 || r.status >= 300) {
    std::fprintf(stderr, "vitalsctl: %s\n", error_of(r).c_str());
    return exit_failed;
  }
  if (as_json) {
    std::printf("%s\n", r.body.c_str());
    return exit_ok;
  }
  const auto j = json::parse(r.body);
  std::printf("%6s  %-12s  %-6s  %-24s  %-14s  %-24s  %s\n", "id", "state", "prio", "rule",
              "patient", "raised", "last value");
  if (list) {
    for (const auto& a : j["alerts"]) print_alert_row(a);
    return exit_ok;
  }
  print_alert_row(j["alert"]);
  for (const auto& e : j["events"]) {
    std::printf("        %s  %-18s by %s%s\n", text(e, "at").c_str(), text(e, "action").c_str(),
                text(e, "actor").c_str(),
                e.contains("reason") && !e["reason"].get<std::string>().empty()
                    ? (": " + e["reason"].get<std::string>()).c_str()
                    : "");
  }
  return exit_ok;
}

int run_alerts(const api_target& t, const alerts_args& a) {
  if (a.action == "list") {
    std::string q = fmt::format("/api/v1/alerts?limit={}", a.limit);
    if (!a.state.empty()) q += "&state=" + a.state;
    if (!a.patient.empty()) q += "&patient=" + a.patient;
    return print_reply(call(t, "GET", q), a.json, true);
  }
  const std::string path = fmt::format("/api/v1/alerts/{}", a.id);
  if (a.action == "show") return print_reply(call(t, "GET", path), a.json, false);
  json body = json::object();
  if (!a.by.empty()) body["by"] = a.by;
  if (!a.reason.empty()) body["reason"] = a.reason;
  if (a.action == "snooze") body["minutes"] = a.minutes;
  const std::string verb = a.action == "ack" ? "acknowledge" : a.action;
  return print_reply(call(t, "POST", path + "/" + verb, body.dump()), a.json, false);
}

int run_check_config(const std::string& path) {
  const auto& plugins = adapters::registry();
  try {
    const auto s = path.empty() ? config::defaults(plugins) : config::load_file(path, plugins);
    std::printf("%s: configuration OK\n%s\n", path.empty() ? "(embedded defaults)" : path.c_str(),
                config::summary(s).c_str());
    return exit_ok;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vitalsctl: invalid configuration:\n%s\n", e.what());
    return exit_usage;
  }
}

}  // namespace

void add_api_options(CLI::App* cmd, api_target& t) {
  cmd->add_option("--api", t.url, "vitalsd's API (default http://127.0.0.1:8470)")
      ->option_text("URL")
      ->envname("VITALSCTL_API");
  cmd->add_option("--token-file", t.token_file,
                  "File holding an API token ([[api.tokens]]); the token itself never goes on "
                  "the command line")
      ->option_text("FILE")
      ->envname("VITALSCTL_TOKEN_FILE");
  cmd->add_option("--ca-file", t.ca_file, "CA bundle for an https:// API (default: the system's)")
      ->option_text("FILE")
      ->envname("VITALSCTL_CA_FILE");
  cmd->add_option("--cert-file", t.cert_file,
                  "Client certificate (PEM) for an API that requires one (tls_client_ca_file)")
      ->option_text("FILE")
      ->envname("VITALSCTL_CERT_FILE");
  cmd->add_option("--key-file", t.key_file, "The client certificate's key, if not in --cert-file")
      ->option_text("FILE")
      ->envname("VITALSCTL_KEY_FILE");
  cmd->add_flag("--insecure", t.insecure, "Do not verify the API's certificate (tests only)");
}

namespace {

void add_alert_command(CLI::App* alerts, const std::string& name, const std::string& what,
                       alerts_args& a, int& result, const api_target& t) {
  auto* c = alerts->add_subcommand(name, what);
  if (name != "list") c->add_option("id", a.id, "Alert id")->required();
  if (name == "list") {
    c->add_option("--state", a.state, "active, acknowledged, latched or resolved")
        ->check(CLI::IsMember({"active", "acknowledged", "latched", "resolved"}));
    c->add_option("--patient", a.patient, "Only this patient's");
    c->add_option("--limit", a.limit, "At most this many, newest first (1-1000)")
        ->check(CLI::Range(1, 1000));
  }
  if (name == "ack" || name == "resolve" || name == "snooze") {
    c->add_option("--by", a.by, "Who (recorded after the token's name in the audit trail)");
    c->add_option("--reason", a.reason, "Why (recorded in the audit trail)");
  }
  if (name == "snooze") {
    c->add_option("--minutes", a.minutes, "How long")->required()->check(CLI::PositiveNumber);
  }
  c->add_flag("--json", a.json, "The API's JSON answer as it is");
  c->fallthrough();  // --api, --token-file, ... of `alerts` may follow the action
  c->callback([&a, &result, &t, name] {
    a.action = name;
    result = guarded([&] { return run_alerts(t, a); });
  });
}

/// `vitalsctl reload`: POST /api/v1/reload, then what vitalsd applied or why it refused.
int run_reload(const api_target& t) {
  const auto r = call(t, "POST", "/api/v1/reload", "{}");
  json j;
  try {
    j = json::parse(r.body);
  } catch (const json::exception&) {
  }
  if (r.status != 200) {
    std::fprintf(stderr, "vitalsctl: reload refused: %s\n", error_of(r).c_str());
    if (j.is_object() && j.contains("problems")) {
      std::fprintf(stderr, "%s\n", text(j, "problems").c_str());
    }
    if (r.status == 422) std::fprintf(stderr, "the running configuration stays in force\n");
    return exit_failed;
  }
  std::printf(
      "reloaded: %s patient(s) with settings, %s device(s), %s route(s), %s receiver(s), %s "
      "token(s)\n",
      text(j, "patients").c_str(), text(j, "devices").c_str(), text(j, "routes").c_str(),
      text(j, "receivers").c_str(), text(j, "tokens").c_str());
  if (j.contains("restart_needed") && !j["restart_needed"].empty()) {
    std::printf("changed but applied only at the next restart:\n");
    for (const auto& k : j["restart_needed"]) {
      std::printf("  %s\n", k.get<std::string>().c_str());
    }
  }
  return exit_ok;
}

}  // namespace

void add_api_commands(CLI::App& cli, api_target& target, alerts_args& alerts,
                      std::string& config_path, int& result) {
  auto* status = cli.add_subcommand(
      "status", "vitalsd's health (/healthz) and, with a token, its main counters (/metrics)");
  add_api_options(status, target);
  status->footer(
      "Exit code: 0 when vitalsd is up with every source receiving, 1 when it is "
      "degraded or not reachable, 2 for usage errors.");
  status->callback([&] { result = guarded([&] { return run_status(target); }); });

  auto* a = cli.add_subcommand("alerts", "List, show, acknowledge, resolve or snooze alerts");
  a->require_subcommand(1);
  add_api_options(a, target);
  add_alert_command(a, "list", "Alerts, newest first", alerts, result, target);
  add_alert_command(a, "show", "One alert with its audit trail", alerts, result, target);
  add_alert_command(a, "ack", "Acknowledge an alert", alerts, result, target);
  add_alert_command(a, "resolve", "Resolve an alert whose condition has cleared", alerts, result,
                    target);
  add_alert_command(a, "snooze", "Silence an alert's notifications for a while", alerts, result,
                    target);
  a->footer(
      "Exit code: 0 done, 1 refused by vitalsd (the reason on stderr) or not reachable, 2 "
      "usage errors.\nExample: vitalsctl alerts ack 12 --by jane --reason 'at the bedside' "
      "--token-file /etc/vitalsd/secrets/ops.token");

  auto* reload = cli.add_subcommand(
      "reload",
      "Make vitalsd re-read its configuration (patients, devices, rules, routes, receivers, "
      "tokens) without a restart");
  add_api_options(reload, target);
  reload->footer(
      "Needs a token of role \"admin\". vitalsd checks the whole file first: with any error "
      "nothing changes and the errors are printed (FILE:LINE:COL). Detector state, baselines, "
      "open alerts and escalation timers are kept. Settings that cannot change live (the broker, "
      "sources, the database, the API listener) are listed and wait for a restart. `systemctl "
      "reload vitalsd` (SIGHUP) does the same without a token; the result "
      "is then in vitalsd's log.\nExit code: 0 reloaded, 1 refused or not reachable, 2 usage "
      "errors.");
  reload->callback([&] { result = guarded([&] { return run_reload(target); }); });

  auto* check = cli.add_subcommand(
      "check-config", "Validate a configuration as vitalsd would and print its summary");
  check
      ->add_option("-c,--config", config_path,
                   "TOML configuration file (default: none, the "
                   "embedded defaults)")
      ->option_text("FILE");
  check->callback([&] { result = run_check_config(config_path); });
}

}  // namespace vitals::ctl
