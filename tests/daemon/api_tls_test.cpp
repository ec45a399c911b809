// The HTTP API over TLS, with certificates from a private CA made in the test: a client that
// trusts the CA gets in with a token, one that does not is refused by its own verification, a
// plain HTTP request to the HTTPS port gets a 400 that says so, client certificates are
// required when configured, and plain HTTP beyond loopback is refused unless allowed.
#include <catch2/catch.hpp>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include <vitals/adapters/notify/http_sender.hpp>
#include <vitals/test/http_client.hpp>
#include <vitals/test/temp_dir.hpp>
#include <vitals/test/test_pki.hpp>

#include "api_fixture.hpp"

// A namespace of its own: the sanitizer presets are unity builds (tests/README.md).
namespace api_tls_test {
namespace {

using namespace vitals::test::api;
namespace notify = vitals::adapters::notify;

struct pki {
  vitals::test::temp_dir dir{"vitals-api-tls"};
  vitals::test::test_pki ca{dir.path(), "ward"};
  vitals::test::test_pki rogue{dir.path(), "rogue"};
  vitals::test::issued_cert server =
      ca.issue("api", {"localhost", {"localhost"}, {"127.0.0.1"}, true});
  vitals::test::issued_cert client = ca.issue("station", {"nurse-station", {}, {}, false});
  vitals::test::issued_cert rogue_client = rogue.issue("intruder", {"intruder", {}, {}, false});
};

api_options tls_options(const pki& p, bool require_client = false) {
  auto o = test_options();
  o.tls_cert_file = p.server.cert.string();
  o.tls_key_file = p.server.key.string();
  if (require_client) o.tls_client_ca_file = p.ca.ca_file().string();
  return o;
}

/// One request with the client vitalsctl and the receivers use; status 0 and `error` when no
/// HTTP answer came.
notify::http_result https_get(std::uint16_t port, const std::string& target,
                              notify::tls_settings tls, const char* token = ack_token) {
  const auto url = notify::parse_http_url("https://127.0.0.1:" + std::to_string(port));
  REQUIRE(url);
  notify::http_post req;
  req.method = "GET";
  req.whole_answer = true;
  if (token != nullptr) req.headers.emplace_back("Authorization", std::string("Bearer ") + token);
  boost::asio::io_context io;
  notify::http_sender sender(io, "test", std::move(tls));
  notify::http_result out;
  out.error = "no completion";
  sender.post(*url, target, std::move(req), 10s,
              [&](notify::http_result r) { out = std::move(r); });
  io.run();
  return out;
}

}  // namespace

TEST_CASE("api over TLS: a verifying client with a token gets in", "[api][tls]") {
  pki p;
  running_server s(tls_options(p));
  const notify::tls_settings trusting{p.ca.ca_file().string(), true, {}, {}};

  const auto health = https_get(s.port(), "/healthz", trusting, nullptr);
  INFO(health.error);
  CHECK(health.status == 200);
  const auto alerts = https_get(s.port(), "/api/v1/alerts", trusting);
  INFO(alerts.error);
  CHECK(alerts.status == 200);
  CHECK_THAT(alerts.body, Catch::Contains("\"alerts\""));
  // TLS does not replace the token.
  CHECK(https_get(s.port(), "/api/v1/alerts", trusting, nullptr).status == 401);
}

TEST_CASE("api over TLS: a client that does not trust the CA is refused", "[api][tls]") {
  pki p;
  running_server s(tls_options(p));
  const auto r = https_get(s.port(), "/api/v1/alerts", {p.rogue.ca_file().string(), true, {}, {}});
  CHECK(r.status == 0);
  CHECK_THAT(r.error, Catch::Contains("certificate verify failed"));
  const auto calls = s.backend().calls();
  CHECK(std::count(calls.begin(), calls.end(), "list_alerts") == 0);
}

TEST_CASE("api over TLS: plain HTTP to the HTTPS port gets a 400 and no data", "[api][tls]") {
  pki p;
  running_server s(tls_options(p));
  const auto r = vitals::test::http_request(
      s.port(), "GET", "/api/v1/alerts", {{"Authorization", std::string("Bearer ") + ack_token}});
  INFO(r.error);
  CHECK(r.status == 400);
  CHECK_THAT(r.body, Catch::Contains("this port speaks HTTPS"));
  CHECK(s.backend().calls().empty());
  // The port still serves TLS afterwards.
  CHECK(https_get(s.port(), "/healthz", {p.ca.ca_file().string(), true, {}, {}}).status == 200);
}

TEST_CASE("api over TLS: client certificates when tls_client_ca_file is set", "[api][tls]") {
  pki p;
  running_server s(tls_options(p, true));
  const auto ca = p.ca.ca_file().string();

  const auto none = https_get(s.port(), "/api/v1/alerts", {ca, true, {}, {}});
  CHECK(none.status == 0);
  const auto rogue =
      https_get(s.port(), "/api/v1/alerts",
                {ca, true, p.rogue_client.cert.string(), p.rogue_client.key.string()});
  CHECK(rogue.status == 0);
  const auto good = https_get(s.port(), "/api/v1/alerts",
                              {ca, true, p.client.cert.string(), p.client.key.string()});
  INFO(good.error);
  CHECK(good.status == 200);
  const auto calls = s.backend().calls();
  CHECK(std::count(calls.begin(), calls.end(), "list_alerts") == 1);
}

TEST_CASE("api: plain HTTP beyond loopback is refused unless allowed", "[api][tls]") {
  pki p;
  asio::io_context io;
  fake_backend backend(io);
  auto o = test_options();
  o.address = "0.0.0.0";
  REQUIRE_THROWS_WITH(api_server(io, o, backend),
                      Catch::Contains("refusing plain HTTP") && Catch::Contains("0.0.0.0"));
  o.allow_plain_http = true;
  CHECK_NOTHROW(api_server(io, o, backend));
  auto t = tls_options(p);
  t.address = "0.0.0.0";
  CHECK_NOTHROW(api_server(io, t, backend));
  // Loopback stays plain by default.
  CHECK_NOTHROW(api_server(io, test_options(), backend));
}

TEST_CASE("api over TLS: unusable files stop the start naming the option", "[api][tls]") {
  pki p;
  asio::io_context io;
  fake_backend backend(io);
  auto o = tls_options(p);
  o.tls_key_file = p.client.key.string();  // another certificate's key
  REQUIRE_THROWS_WITH(api_server(io, o, backend),
                      Catch::Contains("tls_key_file") && Catch::Contains("does not match"));
  o = tls_options(p);
  o.tls_cert_file = (p.dir.path() / "missing.pem").string();
  REQUIRE_THROWS_WITH(api_server(io, o, backend),
                      Catch::Contains("tls_cert_file") && Catch::Contains("missing.pem"));
}

}  // namespace api_tls_test
