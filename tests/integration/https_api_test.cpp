// The real vitalsd serving its API over HTTPS with certificates from a private CA made in the
// test, and the real vitalsctl as its client: verified with the CA it gets in; without it, it
// is refused by its own verification; plain HTTP to the HTTPS port gets a 400; a required
// client certificate is required; and a non-loopback address without TLS stops the start.
#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <vitals/test/http_client.hpp>
#include <vitals/test/test_pki.hpp>

#include "daemon_fixture.hpp"

using namespace std::chrono_literals;
namespace fs = std::filesystem;

// A namespace of its own: the sanitizer presets are unity builds (tests/README.md).
namespace https_api_test {
namespace {

using vitals::it::run_to_end;

}  // namespace

TEST_CASE("vitalsd serves its API over HTTPS to a verifying vitalsctl", "[integration][tls]") {
  vitals::test::temp_dir scratch("vitals-https");
  vitals::test::test_pki ca(scratch.path(), "ward");
  vitals::test::test_pki rogue(scratch.path(), "rogue");
  const auto server = ca.issue("api", {"localhost", {"localhost"}, {"127.0.0.1"}, true});
  const auto station = ca.issue("station", {"nurse-station", {}, {}, false});
  const auto intruder = rogue.issue("intruder", {"intruder", {}, {}, false});
  const auto token = scratch.path() / "ops.token";
  std::ofstream(token) << "0123456789abcdef0123456789abcdef\n";
  fs::permissions(token, fs::perms::owner_read | fs::perms::owner_write);

  vitals::it::daemon_env env(
      "", "tls_cert_file = \"" + server.cert.string() + "\"\ntls_key_file = \"" +
              server.key.string() + "\"\ntls_client_ca_file = \"" + ca.ca_file().string() +
              "\"\n[[api.tokens]]\nname = \"ops\"\ntoken_file = \"" + token.string() + "\"\n");
  auto daemon = env.start_daemon();
  CHECK_THAT(daemon->log_text(), Catch::Contains("listening on https://127.0.0.1:"));
  const std::string api = "https://127.0.0.1:" + std::to_string(env.api_port);
  // vitalsctl status against the API with `extra` TLS options.
  const auto status = [&](const std::vector<std::string>& extra, const std::string& tag) {
    std::vector<std::string> a{VITALSCTL_PATH, "status",      "--api", api,
                               "--token-file", token.string()};
    a.insert(a.end(), extra.begin(), extra.end());
    return run_to_end(a, scratch.path(), tag);
  };

  const auto ok = status({"--ca-file", ca.ca_file().string(), "--cert-file", station.cert.string(),
                          "--key-file", station.key.string()},
                         "ok");
  INFO(ok.output);
  CHECK(ok.code == 0);
  CHECK_THAT(ok.output, Catch::Contains("status: ok"));

  // The system's CAs do not know ours: vitalsctl refuses the server.
  const auto untrusted = status(
      {"--cert-file", station.cert.string(), "--key-file", station.key.string()}, "untrusted");
  CHECK(untrusted.code == 1);
  CHECK_THAT(untrusted.output, Catch::Contains("certificate verify failed"));
  // No client certificate, or one from another CA: vitalsd refuses the client.
  CHECK(status({"--ca-file", ca.ca_file().string()}, "no-cert").code == 1);
  CHECK(status({"--ca-file", ca.ca_file().string(), "--cert-file", intruder.cert.string(),
                "--key-file", intruder.key.string()},
               "rogue-cert")
            .code == 1);
  CHECK_THAT(daemon->log_text(), Catch::Contains("TLS handshake with 127.0.0.1 failed"));

  // Plain HTTP to the HTTPS port: a 400 that says so, and nothing served.
  const auto plain = vitals::test::http_request(env.api_port, "GET", "/healthz");
  CHECK(plain.status == 400);
  CHECK_THAT(plain.body, Catch::Contains("this port speaks HTTPS"));
  CHECK(vitals::it::terminate(*daemon) == 0);
}

TEST_CASE("vitalsd refuses plain HTTP on a non-loopback address", "[integration][tls]") {
  vitals::it::daemon_env env("", "listen = \"0.0.0.0\"\n");
  vitals::test::temp_dir scratch("vitals-https-plain");
  for (const auto& extra : std::vector<std::vector<std::string>>{{}, {"--check-config"}}) {
    std::vector<std::string> argv{VITALSD_PATH, "--config", env.config.string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    const auto r = run_to_end(argv, scratch.path(), extra.empty() ? "start" : "check");
    INFO(r.output);
    CHECK(r.code == 2);
    CHECK_THAT(r.output,
               Catch::Contains("api.listen") && Catch::Contains("not a loopback address"));
  }
  // Allowed explicitly (a TLS proxy in front): it starts.
  vitals::it::daemon_env allowed("", "listen = \"0.0.0.0\"\nallow_plain_http = true\n");
  auto daemon = allowed.start_daemon();
  CHECK_THAT(daemon->log_text(), Catch::Contains("listening on http://0.0.0.0:"));
  CHECK(vitals::it::terminate(*daemon) == 0);
}

}  // namespace https_api_test
