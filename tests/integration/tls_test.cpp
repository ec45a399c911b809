// MQTT over TLS end to end: a real mosquitto with a TLS listener whose certificates come from a
// private CA made in the test (tests/support/test_pki), and the real vitalsd. Server
// verification works with the right CA; a wrong CA, an expired certificate, a certificate for
// another host and a missing client certificate each fail with a message naming the cause;
// client certificates and the broker's ACL keep a gateway to its own patients; --check-config
// catches what can be caught before a connection.
#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <vitals/test/test_pki.hpp>

#include "daemon_fixture.hpp"

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using vitals::test::cert_request;
using vitals::test::eventually;

// A namespace of its own: the sanitizer presets are unity builds (tests/README.md).
namespace tls_test {
namespace {

/// The PKI every case uses: the CA vitalsd trusts, another CA, and the certificates issued.
struct pki_set {
  vitals::test::temp_dir dir{"vitals-tls"};
  vitals::test::test_pki ca{dir.path(), "ward"};
  vitals::test::test_pki rogue{dir.path(), "rogue"};
  vitals::test::issued_cert server =
      ca.issue("server", {"localhost", {"localhost"}, {"127.0.0.1"}, true});
  vitals::test::issued_cert other_host =
      ca.issue("other-host", {"broker.elsewhere.example", {"broker.elsewhere.example"}, {}, true});
  vitals::test::issued_cert expired =
      ca.issue("expired", {"localhost", {"localhost"}, {"127.0.0.1"}, true, -48h, -24h});
  vitals::test::issued_cert vitalsd_client = ca.issue("vitalsd", {"vitalsd", {}, {}, false});
  vitals::test::issued_cert gateway_client = ca.issue("gw-1", {"gw-1", {}, {}, false});
};

/// A mosquitto with a TLS listener (on `tls_port`) presenting `cert`; with `require_client`,
/// clients need a certificate of the CA, their name is its CN, and `acl` applies.
struct tls_broker {
  tls_broker(const pki_set& p, const vitals::test::issued_cert& cert, bool require_client,
             const std::string& acl = "")
      : tls_port(vitals::test::free_loopback_port()),
        broker(0, 10s, config(p, cert, require_client, acl, tls_port)) {
    REQUIRE(eventually([&] { return vitals::test::port_accepts(tls_port); }, 10s));
  }

  static std::vector<std::string> config(const pki_set& p, const vitals::test::issued_cert& cert,
                                         bool require_client, const std::string& acl,
                                         std::uint16_t port) {
    std::vector<std::string> lines{
        "listener " + std::to_string(port) + " 127.0.0.1", "cafile " + p.ca.ca_file().string(),
        "certfile " + cert.cert.string(), "keyfile " + cert.key.string(),
        std::string("require_certificate ") + (require_client ? "true" : "false"),
        // Started as root (CI), mosquitto drops to its own user before it reads the keys and the
        // ACL of this test's private directory; as anyone else this line has no effect.
        "user root"};
    if (require_client) lines.push_back("use_identity_as_username true");
    if (!acl.empty()) {
      const auto file = p.dir.path() / ("acl-" + std::to_string(port));
      std::ofstream(file) << acl;
      lines.push_back("acl_file " + file.string());
    }
    return lines;
  }

  std::string uri(const std::string& host = "localhost") const {
    return "ssl://" + host + ":" + std::to_string(tls_port);
  }

  std::uint16_t tls_port;
  vitals::test::mosquitto_broker broker;
};

/// vitalsd's configuration for a TLS broker, with `tls` lines in [mqtt].
fs::path write_config(const fs::path& dir, const std::string& uri, const std::string& tls,
                      const fs::path& db) {
  const auto path = dir / "vitalsd.toml";
  std::ofstream(path) << "[mqtt]\nbroker = \"" << uri << "\"\n"
                      << tls << "[[sources]]\ntype = \"mqtt\"\nclient_id = \"vitalsd-tls\"\n"
                      << "[store]\npath = \"" << db.string() << "\"\nbatch_interval_ms = 50\n"
                      << "[alerts]\ncommand_topic = \"\"\n[api]\nenabled = false\n"
                      << "[pipeline]\naccept_unknown = true\n";
  return path;
}

std::string ca_line(const fs::path& ca) {
  return "ca_file = \"" + ca.string() + "\"\n";
}

std::string client_lines(const vitals::test::issued_cert& c) {
  return "cert_file = \"" + c.cert.string() + "\"\nkey_file = \"" + c.key.string() + "\"\n";
}

/// Starts vitalsd and waits for `text` in its log (or its exit).
std::unique_ptr<vitals::test::child_process> start_until(const fs::path& config,
                                                         const fs::path& log,
                                                         const std::string& text) {
  auto p = std::make_unique<vitals::test::child_process>(
      std::vector<std::string>{VITALSD_PATH, "--config", config.string()}, log);
  const bool seen = eventually(
      [&] { return p->log_text().find(text) != std::string::npos || !p->running(); }, 30s);
  INFO("vitalsd log:\n" << p->log_text());
  REQUIRE(seen);
  REQUIRE(p->running());
  return p;
}

/// One reading of `patient`, `seconds_ago` before now (readings of one device need times of
/// their own: the same time twice is a duplicate).
std::string reading(const std::string& patient, int hr, int seconds_ago = 0) {
  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  return R"({"device":"hr-)" + patient + R"(","ts":)" + std::to_string(now - seconds_ago * 1000) +
         R"(,"hr":)" + std::to_string(hr) + "}";
}

}  // namespace

TEST_CASE(
    "TLS broker: verified server certificate, readings stored, the wrong CA, an expired "
    "certificate and another host's each named",
    "[integration][tls]") {
  pki_set p;
  const tls_broker good(p, p.server, false);
  const auto db = p.dir.path() / "good.db";
  {
    const auto config = write_config(p.dir.path(), good.uri(), ca_line(p.ca.ca_file()), db);
    auto daemon = start_until(config, p.dir.path() / "good.log", "subscribed");
    vitals::test::mqtt_publisher pub(good.uri(), "tls-pub", {p.ca.ca_file().string(), "", ""});
    for (int i = 0; i < 5; ++i)
      pub.publish("vitals/p-tls/hr-p-tls", reading("p-tls", 70 + i, 5 - i));
    REQUIRE(eventually(
        [&] { return vitals::it::query_int(db, "SELECT count(*) FROM samples") == 5; }, 20s));
    CHECK(vitals::it::terminate(*daemon) == 0);
  }
  SECTION("a CA that did not sign the broker's certificate") {
    const auto config =
        write_config(p.dir.path(), good.uri(), ca_line(p.rogue.ca_file()), p.dir.path() / "x.db");
    auto daemon = start_until(config, p.dir.path() / "rogue.log", "TLS to");
    CHECK_THAT(daemon->log_text(), Catch::Contains("is not trusted"));
    CHECK(vitals::it::terminate(*daemon) == 0);
  }
  SECTION("an expired broker certificate") {
    const tls_broker old(p, p.expired, false);
    const auto config =
        write_config(p.dir.path(), old.uri(), ca_line(p.ca.ca_file()), p.dir.path() / "x.db");
    auto daemon = start_until(config, p.dir.path() / "expired.log", "TLS to");
    CHECK_THAT(daemon->log_text(), Catch::Contains("has expired"));
    CHECK(vitals::it::terminate(*daemon) == 0);
  }
  SECTION("a certificate for another host") {
    const tls_broker elsewhere(p, p.other_host, false);
    const auto config =
        write_config(p.dir.path(), elsewhere.uri(), ca_line(p.ca.ca_file()), p.dir.path() / "x.db");
    auto daemon = start_until(config, p.dir.path() / "host.log", "TLS to");
    CHECK_THAT(daemon->log_text(), Catch::Contains("another host name"));
    CHECK(vitals::it::terminate(*daemon) == 0);
  }
}

TEST_CASE(
    "TLS broker requiring client certificates: without one refused and named, with one "
    "in, the ACL keeps a gateway to its own patients",
    "[integration][tls]") {
  pki_set p;
  const std::string acl =
      "user vitalsd\ntopic read vitals/#\n\nuser gw-1\ntopic write vitals/p-1/#\n";
  const tls_broker strict(p, p.server, true, acl);
  SECTION("no client certificate") {
    const auto config =
        write_config(p.dir.path(), strict.uri(), ca_line(p.ca.ca_file()), p.dir.path() / "x.db");
    auto daemon = start_until(config, p.dir.path() / "nocert.log", "TLS to");
    CHECK_THAT(daemon->log_text(), Catch::Contains("client certificate"));
    CHECK(vitals::it::terminate(*daemon) == 0);
  }
  SECTION("client certificates and the ACL") {
    const auto db = p.dir.path() / "acl.db";
    const auto config = write_config(p.dir.path(), strict.uri(),
                                     ca_line(p.ca.ca_file()) + client_lines(p.vitalsd_client), db);
    auto daemon = start_until(config, p.dir.path() / "acl.log", "subscribed");
    const vitals::test::mqtt_tls gw_tls{p.ca.ca_file().string(), p.gateway_client.cert.string(),
                                        p.gateway_client.key.string()};
    // Outside its ACL first: the broker drops the message (and, mosquitto 2.0, the connection;
    // MQTT 3.1.1 acknowledges it all the same), then a reading of its own patient.
    vitals::test::mqtt_publisher(strict.uri(), "gw-1", gw_tls)
        .publish("vitals/p-2/hr-p-2", reading("p-2", 90));
    vitals::test::mqtt_publisher(strict.uri(), "gw-1", gw_tls)
        .publish("vitals/p-1/hr-p-1", reading("p-1", 60));
    REQUIRE(eventually(
        [&] { return vitals::it::query_int(db, "SELECT count(*) FROM samples") == 1; }, 20s));
    CHECK(vitals::it::query_strings(db,
                                    "SELECT p.key FROM samples s JOIN patients p ON "
                                    "p.id = s.patient_id") == std::vector<std::string>{"p-1"});
    CHECK(vitals::it::terminate(*daemon) == 0);
    CHECK(vitals::it::query_int(db, "SELECT count(*) FROM samples") == 1);
  }
}

TEST_CASE("vitalsd --check-config catches TLS mistakes before any connection",
          "[integration][tls]") {
  pki_set p;
  const auto expired_client = p.ca.issue("old-client", {"old", {}, {}, false, -48h, -24h});
  const auto run = [&](const std::string& mqtt_lines) {
    const auto config = p.dir.path() / "check.toml";
    std::ofstream(config) << "[mqtt]\n" << mqtt_lines;
    vitals::test::child_process check({VITALSD_PATH, "--config", config.string(), "--check-config"},
                                      p.dir.path() / "check.log");
    const auto code = check.wait_for(20s);
    return std::make_pair(code, check.log_text());
  };
  const std::string tls_uri = "broker = \"ssl://localhost:8883\"\n";
  struct bad {
    std::string lines;
    std::string expected;
  };
  const std::vector<bad> cases{
      {"broker = \"tcp://localhost:1883\"\n" + ca_line(p.ca.ca_file()),
       "key 'mqtt.ca_file': is set but mqtt.broker is not a TLS URI"},
      {tls_uri + "ca_file = \"" + (p.dir.path() / "none.pem").string() + "\"\n",
       "key 'mqtt.ca_file': cannot read"},
      {tls_uri + "ca_file = \"" + p.server.key.string() + "\"\n", "holds no PEM certificate"},
      {tls_uri + "cert_file = \"" + p.vitalsd_client.cert.string() + "\"\n",
       "key 'mqtt.cert_file': holds no private key"},
      {tls_uri + "cert_file = \"" + p.vitalsd_client.cert.string() + "\"\nkey_file = \"" +
           p.gateway_client.key.string() + "\"\n",
       "key 'mqtt.key_file': the private key does not match the client certificate"},
      {tls_uri + client_lines(expired_client), "the client certificate expired on"},
  };
  for (const auto& c : cases) {
    INFO(c.lines);
    const auto [code, log] = run(c.lines);
    INFO(log);
    CHECK(code == 2);
    CHECK_THAT(log, Catch::Contains(c.expected));
  }
  const auto [code, log] = run(tls_uri + ca_line(p.ca.ca_file()) + client_lines(p.vitalsd_client));
  INFO(log);
  CHECK(code == 0);
  CHECK_THAT(log, Catch::Contains("configuration OK"));
}

namespace {

std::string read_all(const fs::path& p) {
  std::ifstream in(p);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string replaced(std::string text, const std::string& from, const std::string& to) {
  for (auto pos = text.find(from); pos != std::string::npos;
       pos = text.find(from, pos + to.size())) {
    text.replace(pos, from.size(), to);
  }
  return text;
}

}  // namespace

TEST_CASE("the shipped production broker example and ACL work as documented",
          "[integration][tls]") {
  pki_set p;
  const auto gateway = p.ca.issue("gw-0042", {"gw-0042", {}, {}, false});
  const fs::path examples = fs::path(VITALS_SOURCE_DIR) / "config/mosquitto";
  const auto port = vitals::test::free_loopback_port();
  const auto acl = p.dir.path() / "vitals.acl";
  std::ofstream(acl) << read_all(examples / "vitals.acl.example");
  // The example's paths and port, pointed at this test's CA and files; nothing else changes.
  auto conf = read_all(examples / "production.conf.example");
  for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{
           {"listener 8883", "listener " + std::to_string(port) + " 127.0.0.1\nuser root"},
           {"/etc/mosquitto/ca/vitals-ca.pem", p.ca.ca_file().string()},
           {"/etc/mosquitto/certs/broker.pem", p.server.cert.string()},
           {"/etc/mosquitto/certs/broker-key.pem", p.server.key.string()},
           {"/etc/mosquitto/vitals.acl", acl.string()},
           {"persistence true", "persistence false"},
           {"log_dest syslog", "log_dest stderr"}}) {
    REQUIRE(conf.find(from) != std::string::npos);
    conf = replaced(conf, from, to);
  }
  const auto conf_file = p.dir.path() / "broker.conf";
  std::ofstream(conf_file) << conf;
  vitals::test::child_process broker({VITALS_MOSQUITTO_PATH, "-c", conf_file.string()},
                                     p.dir.path() / "broker.log");
  REQUIRE(eventually([&] { return vitals::test::port_accepts(port); }, 10s));
  const std::string uri = "ssl://localhost:" + std::to_string(port);

  const auto db = p.dir.path() / "prod.db";
  const auto config =
      write_config(p.dir.path(), uri, ca_line(p.ca.ca_file()) + client_lines(p.vitalsd_client), db);
  auto daemon = start_until(config, p.dir.path() / "prod.log", "subscribed");
  const vitals::test::mqtt_tls gw_tls{p.ca.ca_file().string(), gateway.cert.string(),
                                      gateway.key.string()};
  vitals::test::mqtt_publisher(uri, "gw-0042", gw_tls)
      .publish("vitals/p-0043/hr-p-0043", reading("p-0043", 90));
  vitals::test::mqtt_publisher(uri, "gw-0042", gw_tls)
      .publish("vitals/p-0042/hr-p-0042", reading("p-0042", 60));
  REQUIRE(eventually([&] { return vitals::it::query_int(db, "SELECT count(*) FROM samples") == 1; },
                     20s));
  CHECK(vitals::it::query_strings(db,
                                  "SELECT p.key FROM samples s JOIN patients p ON p.id = "
                                  "s.patient_id") == std::vector<std::string>{"p-0042"});
  // Without a certificate the broker lets nobody in.
  CHECK_THROWS(vitals::test::mqtt_publisher(uri, "anonymous", {p.ca.ca_file().string(), "", ""}));
  CHECK(vitals::it::terminate(*daemon) == 0);
}

}  // namespace tls_test
