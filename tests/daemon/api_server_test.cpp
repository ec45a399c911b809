// The HTTP API server against a fake backend: auth, routing, validation, errors, keep-alive and
// asynchronous command completion, over real loopback connections.

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include <vitals/daemon/api_server.hpp>

#include "api_fixture.hpp"

// A namespace of its own: the sanitizer presets are unity builds (tests/README.md).
namespace api_server_test {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using json = nlohmann::json;
using namespace std::chrono_literals;
using namespace vitals::test::api;

using response = http::response<http::string_body>;

/// A client connection; each exchange runs on the client's own io_context with a deadline, so
/// a server that never answers fails the test instead of hanging it.
class client {
 public:
  explicit client(std::uint16_t port) {
    bool done = false;
    stream_.async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port),
                          [&](beast::error_code ec) {
                            error_ = ec;
                            done = true;
                          });
    io_.run_for(5s);
    REQUIRE(done);
    REQUIRE_FALSE(error_);
  }

  response send(http::request<http::string_body> req) {
    req.set(http::field::host, "127.0.0.1");
    req.prepare_payload();
    response res;
    bool done = false;
    http::async_write(stream_, req, [&](beast::error_code ec, std::size_t) {
      if (ec) {
        error_ = ec;
        done = true;
        return;
      }
      http::async_read(stream_, buffer_, res, [&](beast::error_code e, std::size_t) {
        error_ = e;
        done = true;
      });
    });
    io_.restart();
    io_.run_for(5s);
    INFO("error: " << error_.message());
    REQUIRE(done);
    REQUIRE_FALSE(error_);
    return res;
  }

  /// True once the server closed the connection (read returns end of stream).
  bool closed_by_server() {
    bool done = false;
    char byte = 0;
    stream_.async_read_some(asio::buffer(&byte, 1), [&](beast::error_code ec, std::size_t) {
      error_ = ec;
      done = true;
    });
    io_.restart();
    io_.run_for(5s);
    return done && error_ == asio::error::eof;
  }

 private:
  asio::io_context io_;
  beast::tcp_stream stream_{io_};
  beast::flat_buffer buffer_;
  beast::error_code error_;
};

http::request<http::string_body> make_request(
    http::verb method, const std::string& target, const char* token = nullptr,
    const std::string& body = {}, const std::string& content_type = "application/json") {
  http::request<http::string_body> req{method, target, 11};
  if (token != nullptr) req.set(http::field::authorization, std::string("Bearer ") + token);
  if (!body.empty()) {
    req.set(http::field::content_type, content_type);
    req.body() = body;
  }
  return req;
}

response call(std::uint16_t port, http::verb method, const std::string& target,
              const char* token = nullptr, const std::string& body = {},
              const std::string& content_type = "application/json") {
  client c(port);
  return c.send(make_request(method, target, token, body, content_type));
}

std::string error_of(const response& r) {
  const auto j = json::parse(r.body(), nullptr, false);
  if (!j.is_object() || !j.contains("error") || !j["error"].is_string()) return "<no error>";
  return j["error"].get<std::string>();
}

std::string header(const response& r, http::field f) {
  return std::string(r[f]);
}

}  // namespace

TEST_CASE("api: status mapping and JSON errors", "[api]") {
  using s = vitals::core::command_result::status;
  CHECK(vitals::daemon::http_status(s::ok) == 200);
  CHECK(vitals::daemon::http_status(s::not_found) == 404);
  CHECK(vitals::daemon::http_status(s::conflict) == 409);
  CHECK(vitals::daemon::http_status(s::invalid) == 400);
  const auto e = vitals::daemon::json_error(409, "already \"resolved\"\xff");
  CHECK(e.status == 409);
  CHECK(e.content_type == "application/json");
  const auto j = json::parse(e.body);
  CHECK(j["error"].get<std::string>().rfind("already \"resolved\"", 0) == 0);
}

TEST_CASE("api: healthz needs no token, data routes do", "[api]") {
  running_server s;
  const auto health = call(s.port(), http::verb::get, "/healthz");
  CHECK(health.result_int() == 200);
  CHECK(health.body() == R"({"status":"ok"})");
  CHECK(header(health, http::field::server) == "vitalsd");

  const auto missing = call(s.port(), http::verb::get, "/api/v1/alerts");
  CHECK(missing.result_int() == 401);
  CHECK(error_of(missing) == "missing bearer token");
  CHECK(header(missing, http::field::www_authenticate).rfind("Bearer realm=\"vitalsd\"", 0) == 0);

  auto basic = make_request(http::verb::get, "/api/v1/alerts");
  basic.set(http::field::authorization, "Basic b3BzOnNlY3JldA==");
  const auto not_bearer = client(s.port()).send(basic);
  CHECK(not_bearer.result_int() == 401);
  CHECK(error_of(not_bearer) == "missing bearer token");

  const auto wrong = call(s.port(), http::verb::get, "/api/v1/alerts", "ack-secret-012345678X");
  CHECK(wrong.result_int() == 401);
  CHECK(error_of(wrong) == "invalid token");
  CHECK(header(wrong, http::field::www_authenticate).rfind("Bearer realm=\"vitalsd\"", 0) == 0);

  // A prefix of a real token is no token.
  const auto prefix = call(s.port(), http::verb::get, "/api/v1/snoozes", "ack-secret");
  CHECK(prefix.result_int() == 401);

  CHECK(s.backend().calls() == std::vector<std::string>{"health"});
}

TEST_CASE("api: read tokens read, ack tokens command", "[api]") {
  running_server s;
  const auto list = call(s.port(), http::verb::get, "/api/v1/alerts", read_token);
  CHECK(list.result_int() == 200);
  CHECK(list.body() == R"({"alerts":[]})");
  CHECK(header(list, http::field::cache_control) == "no-store");
  CHECK(header(list, http::field::content_type) == "application/json");

  const auto refused = call(s.port(), http::verb::post, "/api/v1/alerts/42/acknowledge", read_token,
                            R"({"by":"jane"})");
  CHECK(refused.result_int() == 403);
  CHECK(error_of(refused) == "token 'grafana' may read but not acknowledge, resolve or snooze");
  CHECK(s.backend().commands().empty());

  const auto done = call(s.port(), http::verb::post, "/api/v1/alerts/42/acknowledge", ack_token,
                         R"({"by":"jane","reason":"seen at bedside"})");
  CHECK(done.result_int() == 200);
  CHECK(done.body() == R"({"committed":true})");  // the asynchronous completion's answer
  const auto cmds = s.backend().commands();
  REQUIRE(cmds.size() == 1);
  CHECK(cmds[0].what == alert_command::kind::acknowledge);
  CHECK(cmds[0].alert_id == 42);
  CHECK(cmds[0].who.by == "ops/jane");
  CHECK(cmds[0].who.reason == "seen at bedside");
}

constexpr const char* admin_token = "admin-secret-0123456789";

/// test_options() plus an admin token, "root".
api_options with_admin() {
  auto o = test_options();
  o.tokens.push_back({"root", admin_token, api_role::admin});
  return o;
}

TEST_CASE("api: the reload takes an admin token, and replaced tokens apply at once",
          "[api][reload]") {
  running_server s(with_admin());
  const auto refused = call(s.port(), http::verb::post, "/api/v1/reload", ack_token, "{}");
  CHECK(refused.result_int() == 403);
  CHECK(error_of(refused) == "token 'ops' is not an admin token (role = \"admin\")");
  CHECK(call(s.port(), http::verb::post, "/api/v1/reload", read_token, "{}").result_int() == 403);
  CHECK(call(s.port(), http::verb::get, "/api/v1/reload", admin_token).result_int() == 405);
  CHECK(s.backend().reloads().empty());

  const auto done = call(s.port(), http::verb::post, "/api/v1/reload", admin_token, "{}");
  CHECK(done.result_int() == 200);
  CHECK(done.body() == R"({"status":"reloaded"})");
  const auto reloads = s.backend().reloads();
  REQUIRE(reloads.size() == 1);
  CHECK(reloads[0].by == "root");
  CHECK(s.backend().commands().empty());
  // An admin token may do what an ack token may.
  CHECK(call(s.port(), http::verb::post, "/api/v1/alerts/7/acknowledge", admin_token, "{}")
            .result_int() == 200);

  // A reload replaced the tokens: the old ones are refused from the next request on.
  s.set_tokens({{"new", "new-secret-0123456789", api_role::read}});
  CHECK(call(s.port(), http::verb::get, "/api/v1/alerts", ack_token).result_int() == 401);
  CHECK(call(s.port(), http::verb::get, "/api/v1/alerts", "new-secret-0123456789").result_int() ==
        200);
}

TEST_CASE("api: the patient registry is read with any token and changed with an admin one",
          "[api][registry]") {
  running_server s(with_admin());
  const auto list = call(s.port(), http::verb::get, "/api/v1/patients", read_token);
  CHECK(list.result_int() == 200);
  CHECK(list.body() == R"({"patients":[]})");
  CHECK(call(s.port(), http::verb::get, "/api/v1/patients/p%2D1", read_token).result_int() == 404);
  CHECK(s.backend().calls().back() == "get_patient p-1");  // %-decoded
  CHECK(call(s.port(), http::verb::post, "/api/v1/patients", admin_token, "{}").result_int() ==
        405);

  const std::string doc = R"({"care_team": "ward-3", "devices": ["cgm-1"]})";
  const auto refused = call(s.port(), http::verb::put, "/api/v1/patients/p-1", ack_token, doc);
  CHECK(refused.result_int() == 403);
  CHECK(error_of(refused) == "token 'ops' is not an admin token (role = \"admin\")");
  CHECK(call(s.port(), http::verb::delete_, "/api/v1/patients/p-1", read_token).result_int() ==
        403);
  CHECK(call(s.port(), http::verb::put, "/api/v1/patients/p-1", admin_token).result_int() == 400);
  CHECK(call(s.port(), http::verb::put, "/api/v1/patients/p-1", admin_token, "[1]").result_int() ==
        400);
  CHECK(call(s.port(), http::verb::put, "/api/v1/patients/p-1", admin_token, doc, "text/plain")
            .result_int() == 415);
  CHECK(
      call(s.port(), http::verb::put, "/api/v1/patients/" + std::string(48, 'x'), admin_token, doc)
          .result_int() == 400);
  CHECK(call(s.port(), http::verb::put, "/api/v1/patients/p%0A1", admin_token, doc).result_int() ==
        400);
  CHECK(
      call(s.port(), http::verb::delete_, "/api/v1/patients/p-1", admin_token, "{}").result_int() ==
      400);
  CHECK(s.backend().changes().empty());

  CHECK(call(s.port(), http::verb::put, "/api/v1/patients/p-1", admin_token, doc).result_int() ==
        200);
  CHECK(call(s.port(), http::verb::delete_, "/api/v1/patients/p-1", admin_token).result_int() ==
        200);
  const auto changes = s.backend().changes();
  REQUIRE(changes.size() == 2);
  CHECK(changes[0].id == "p-1");
  REQUIRE(changes[0].document);
  CHECK(json::parse(*changes[0].document) == json::parse(doc));
  CHECK(changes[0].who.by == "root");
  CHECK_FALSE(changes[1].document);
}

TEST_CASE("api: commands without a body act as the token", "[api]") {
  running_server s;
  const auto r = call(s.port(), http::verb::post, "/api/v1/alerts/7/resolve", ack_token);
  CHECK(r.result_int() == 200);
  const auto cmds = s.backend().commands();
  REQUIRE(cmds.size() == 1);
  CHECK(cmds[0].what == alert_command::kind::resolve);
  CHECK(cmds[0].alert_id == 7);
  CHECK(cmds[0].who.by == "ops");
  CHECK(cmds[0].who.reason.empty());
}

TEST_CASE("api: the backend's asynchronous answer and status are returned", "[api]") {
  running_server s;
  s.backend().set_command_reply({409, R"({"error":"alert 5 is resolved"})"});
  const auto r = call(s.port(), http::verb::post, "/api/v1/alerts/5/acknowledge", ack_token);
  CHECK(r.result_int() == 409);
  CHECK(error_of(r) == "alert 5 is resolved");
}

TEST_CASE("api: a completion dropped by the backend answers 500", "[api]") {
  running_server s;
  s.backend().drop_completion();
  const auto r = call(s.port(), http::verb::post, "/api/v1/alerts/5/acknowledge", ack_token);
  CHECK(r.result_int() == 500);
  CHECK(s.backend().commands().size() == 1);
}

TEST_CASE("api: malformed bodies never reach the backend", "[api]") {
  running_server s;
  const auto bad_json = call(s.port(), http::verb::post, "/api/v1/alerts/1/acknowledge", ack_token,
                             R"({"by": "jane",)");
  CHECK(bad_json.result_int() == 400);
  CHECK(error_of(bad_json).rfind("request body is not valid JSON: ", 0) == 0);

  const auto not_object =
      call(s.port(), http::verb::post, "/api/v1/alerts/1/acknowledge", ack_token, "[1]");
  CHECK(not_object.result_int() == 400);
  CHECK(error_of(not_object) == "request body must be a JSON object");

  const auto wrong_type =
      call(s.port(), http::verb::post, "/api/v1/alerts/1/acknowledge", ack_token, R"({"by": 3})");
  CHECK(wrong_type.result_int() == 400);
  CHECK(error_of(wrong_type) == "'by' must be a string");

  const auto unknown = call(s.port(), http::verb::post, "/api/v1/alerts/1/acknowledge", ack_token,
                            R"({"reasn": "typo"})");
  CHECK(unknown.result_int() == 400);
  CHECK(error_of(unknown).find("\"reasn\"") != std::string::npos);

  const auto media = call(s.port(), http::verb::post, "/api/v1/alerts/1/acknowledge", ack_token,
                          "by=jane", "application/x-www-form-urlencoded");
  CHECK(media.result_int() == 415);

  const auto big = call(s.port(), http::verb::post, "/api/v1/alerts/1/acknowledge", ack_token,
                        json{{"reason", std::string(2000, 'x')}}.dump());
  CHECK(big.result_int() == 413);

  CHECK(s.backend().commands().empty());
}

TEST_CASE("api: snooze validation", "[api]") {
  running_server s;
  const auto missing =
      call(s.port(), http::verb::post, "/api/v1/alerts/3/snooze", ack_token, R"({"by":"jane"})");
  CHECK(missing.result_int() == 400);
  CHECK(error_of(missing).find("'minutes'") != std::string::npos);

  const auto text =
      call(s.port(), http::verb::post, "/api/v1/alerts/3/snooze", ack_token, R"({"minutes":"15"})");
  CHECK(text.result_int() == 400);
  CHECK(error_of(text) == "'minutes' must be a positive number");

  const auto zero =
      call(s.port(), http::verb::post, "/api/v1/alerts/3/snooze", ack_token, R"({"minutes":0})");
  CHECK(zero.result_int() == 400);
  CHECK(s.backend().commands().empty());

  const auto ok = call(s.port(), http::verb::post, "/api/v1/alerts/3/snooze", ack_token,
                       R"({"minutes":15,"reason":"procedure"})");
  CHECK(ok.result_int() == 200);
  auto cmds = s.backend().commands();
  REQUIRE(cmds.size() == 1);
  CHECK(cmds[0].what == alert_command::kind::snooze_alert);
  CHECK(cmds[0].alert_id == 3);
  CHECK(cmds[0].length == 900s);
  CHECK(cmds[0].who.by == "ops");
  CHECK(cmds[0].who.reason == "procedure");

  const auto bad_up_to = call(s.port(), http::verb::post, "/api/v1/snoozes", ack_token,
                              R"({"patient":"p1","rule":"hr_high","minutes":5,"up_to":"max"})");
  CHECK(bad_up_to.result_int() == 400);
  const auto no_rule = call(s.port(), http::verb::post, "/api/v1/snoozes", ack_token,
                            R"({"patient":"p1","minutes":5})");
  CHECK(no_rule.result_int() == 400);
  CHECK(error_of(no_rule).find("'rule'") != std::string::npos);
  CHECK(s.backend().commands().size() == 1);

  const auto rule = call(s.port(), http::verb::post, "/api/v1/snoozes", ack_token,
                         R"({"patient":"p1","rule":"hr_high","minutes":30,"up_to":"high",)"
                         R"("by":"sam"})");
  CHECK(rule.result_int() == 200);
  const auto un = call(s.port(), http::verb::delete_, "/api/v1/snoozes/p%201/hr_high", ack_token);
  CHECK(un.result_int() == 200);
  cmds = s.backend().commands();
  REQUIRE(cmds.size() == 3);
  CHECK(cmds[1].what == alert_command::kind::snooze_rule);
  CHECK(cmds[1].patient == "p1");
  CHECK(cmds[1].rule == "hr_high");
  CHECK(cmds[1].length == 1800s);
  CHECK(cmds[1].up_to == "high");
  CHECK(cmds[1].who.by == "ops/sam");
  CHECK(cmds[2].what == alert_command::kind::unsnooze);
  CHECK(cmds[2].patient == "p 1");
  CHECK(cmds[2].rule == "hr_high");
}

TEST_CASE("api: list query and alert id validation", "[api]") {
  running_server s;
  const auto bad_state =
      call(s.port(), http::verb::get, "/api/v1/alerts?state=sleeping", read_token);
  CHECK(bad_state.result_int() == 400);
  CHECK(error_of(bad_state).find("\"sleeping\"") != std::string::npos);

  CHECK(call(s.port(), http::verb::get, "/api/v1/alerts?limit=0", read_token).result_int() == 400);
  CHECK(call(s.port(), http::verb::get, "/api/v1/alerts?limit=1001", read_token).result_int() ==
        400);
  CHECK(call(s.port(), http::verb::get, "/api/v1/alerts?before=x", read_token).result_int() == 400);
  CHECK(call(s.port(), http::verb::get, "/api/v1/alerts?status=active", read_token).result_int() ==
        400);
  CHECK(s.backend().calls().empty());

  const auto ok =
      call(s.port(), http::verb::get,
           "/api/v1/alerts?state=latched&patient=bed%2012&limit=50&before=900", read_token);
  CHECK(ok.result_int() == 200);
  const auto q = s.backend().last_query();
  CHECK(q.state == std::optional<std::string>("latched"));
  CHECK(q.patient == std::optional<std::string>("bed 12"));
  CHECK(q.limit == 50);
  CHECK(q.before == 900);

  const auto word = call(s.port(), http::verb::get, "/api/v1/alerts/abc", read_token);
  CHECK(word.result_int() == 400);
  CHECK(error_of(word).find("positive integer") != std::string::npos);
  CHECK(call(s.port(), http::verb::get, "/api/v1/alerts/0", read_token).result_int() == 400);
  CHECK(call(s.port(), http::verb::post, "/api/v1/alerts/-1/resolve", ack_token).result_int() ==
        400);
  CHECK(s.backend().calls() == std::vector<std::string>{"list_alerts"});

  const auto one = call(s.port(), http::verb::get, "/api/v1/alerts/12", read_token);
  CHECK(one.result_int() == 200);
  CHECK(s.backend().last_id() == 12);
}

TEST_CASE("api: unknown routes and wrong methods", "[api]") {
  running_server s;
  const auto nope = call(s.port(), http::verb::get, "/api/v1/devices?x=1", ack_token);
  CHECK(nope.result_int() == 404);
  CHECK(error_of(nope) == "no such endpoint: GET /api/v1/devices");

  const auto get_ack = call(s.port(), http::verb::get, "/api/v1/alerts/1/acknowledge", ack_token);
  CHECK(get_ack.result_int() == 405);
  CHECK(header(get_ack, http::field::allow) == "POST");

  const auto del = call(s.port(), http::verb::delete_, "/api/v1/snoozes", ack_token);
  CHECK(del.result_int() == 405);
  CHECK(header(del, http::field::allow) == "GET, POST");

  // Routing comes first: no token is needed to learn that a path does not exist.
  CHECK(call(s.port(), http::verb::get, "/nope").result_int() == 404);
  CHECK(s.backend().calls().empty());
}

TEST_CASE("api: metrics auth and content type", "[api]") {
  SECTION("with metrics_auth") {
    running_server s;
    CHECK(call(s.port(), http::verb::get, "/metrics").result_int() == 401);
    CHECK(s.backend().calls().empty());
    const auto m = call(s.port(), http::verb::get, "/metrics", read_token);
    CHECK(m.result_int() == 200);
    CHECK(header(m, http::field::content_type).rfind("text/plain; version=0.0.4", 0) == 0);
    CHECK(m.body().find("vitalsd_up 1") != std::string::npos);
  }
  SECTION("without") {
    auto o = test_options();
    o.metrics_auth = false;
    running_server s(o);
    CHECK(call(s.port(), http::verb::get, "/metrics").result_int() == 200);
    CHECK(call(s.port(), http::verb::get, "/api/v1/snoozes").result_int() == 401);
  }
}

TEST_CASE("api: no tokens configured closes the data, not health", "[api]") {
  auto o = test_options();
  o.tokens.clear();
  running_server s(o);
  CHECK(call(s.port(), http::verb::get, "/healthz").result_int() == 200);
  const auto r = call(s.port(), http::verb::get, "/api/v1/alerts", ack_token);
  CHECK(r.result_int() == 503);
  CHECK(error_of(r) == "no API tokens configured");
  CHECK(s.backend().calls() == std::vector<std::string>{"health"});
}

TEST_CASE("api: keep-alive serves several requests on one connection", "[api]") {
  running_server s;
  client c(s.port());
  const auto first = c.send(make_request(http::verb::get, "/healthz"));
  CHECK(first.result_int() == 200);
  CHECK(first.keep_alive());
  const auto second = c.send(make_request(http::verb::post, "/api/v1/alerts/9/acknowledge",
                                          ack_token, R"({"by":"jane"})"));
  CHECK(second.result_int() == 200);
  const auto third = c.send(make_request(http::verb::get, "/api/v1/snoozes", read_token));
  CHECK(third.result_int() == 200);
  CHECK(s.backend().calls() == std::vector<std::string>{"health", "command", "list_snoozes"});

  auto last = make_request(http::verb::get, "/healthz");
  last.keep_alive(false);
  const auto closing = c.send(last);
  CHECK(closing.result_int() == 200);
  CHECK_FALSE(closing.keep_alive());
  CHECK(c.closed_by_server());
}

TEST_CASE("api: bind failure names the address", "[api]") {
  running_server first;
  asio::io_context io;
  fake_backend backend(io);
  auto o = test_options();
  o.port = first.port();
  try {
    api_server second(io, o, backend);
    FAIL("bound a port already in use");
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()).find("127.0.0.1:" + std::to_string(first.port())) !=
          std::string::npos);
  }
}

}  // namespace api_server_test
