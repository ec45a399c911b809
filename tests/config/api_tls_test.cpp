// [api] TLS settings: both files or neither, files OpenSSL can use (checked at load with the
// line and key), client certificates only with HTTPS, and no plain HTTP beyond loopback unless
// allowed.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include <vitals/adapters/registry.hpp>
#include <vitals/config/loader.hpp>
#include <vitals/config/settings.hpp>
#include <vitals/test/temp_dir.hpp>
#include <vitals/test/test_pki.hpp>

// A namespace of its own: the sanitizer presets are unity builds (tests/README.md).
namespace api_tls_test {
namespace {

namespace fs = std::filesystem;
using vitals::config::config_error;
using vitals::config::settings;

settings load(const std::string& text) {
  return vitals::config::load_string(text, "api.toml", vitals::adapters::registry());
}

/// The keys of the problems `text` raises (empty when it loads).
std::vector<std::string> problem_keys(const std::string& text, std::string* message = nullptr,
                                      std::uint32_t* line = nullptr) {
  try {
    (void)load(text);
  } catch (const config_error& e) {
    std::vector<std::string> keys;
    for (const auto& p : e.problems()) keys.push_back(p.key);
    if (message) *message = e.what();
    if (line) *line = e.line();
    return keys;
  }
  return {};
}

}  // namespace

TEST_CASE("[api] listen: plain HTTP on loopback only, unless allowed", "[config][api]") {
  std::string message;
  std::uint32_t line = 0;
  CHECK(problem_keys("[api]\nport = 0\nlisten = \"0.0.0.0\"\n", &message, &line) ==
        std::vector<std::string>{"api.listen"});
  CHECK(line == 3);
  CHECK_THAT(message, Catch::Contains("not a loopback address") &&
                          Catch::Contains("tls_cert_file") && Catch::Contains("allow_plain_http"));
  CHECK(problem_keys("[api]\nlisten = \"::\"\n") == std::vector<std::string>{"api.listen"});
  CHECK(problem_keys("[api]\nlisten = \"localhost\"\n", &message) ==
        std::vector<std::string>{"api.listen"});
  CHECK_THAT(message, Catch::Contains("not an IPv4 or IPv6 address"));
  for (const char* loopback : {"127.0.0.1", "127.3.2.1", "::1", "::ffff:127.0.0.1"}) {
    INFO(loopback);
    CHECK(problem_keys(fmt::format("[api]\nlisten = \"{}\"\n", loopback)).empty());
  }
  const auto s = load("[api]\nlisten = \"0.0.0.0\"\nallow_plain_http = true\n");
  CHECK(s.api.allow_plain_http);
  // A switched-off API listens nowhere.
  CHECK(problem_keys("[api]\nenabled = false\nlisten = \"0.0.0.0\"\n").empty());
}

TEST_CASE("[api] TLS files are checked at load", "[config][api]") {
  vitals::test::temp_dir dir("vitals-config-api-tls");
  vitals::test::test_pki ca(dir.path(), "ward");
  const auto server = ca.issue("api", {"localhost", {"localhost"}, {"127.0.0.1"}, true});
  const auto other = ca.issue("other", {"other", {}, {}, true});
  const auto expired = ca.issue(
      "expired",
      {"localhost", {"localhost"}, {}, true, std::chrono::hours(-48), std::chrono::hours(-24)});
  const auto tls = [](const vitals::test::issued_cert& c, const std::string& extra = "") {
    return fmt::format(
        "[api]\nlisten = \"0.0.0.0\"\ntls_cert_file = \"{}\"\ntls_key_file = \"{}\"\n{}",
        c.cert.string(), c.key.string(), extra);
  };

  const auto s =
      load(tls(server, fmt::format("tls_client_ca_file = \"{}\"\n", ca.ca_file().string())));
  CHECK(s.api.tls());
  CHECK_THAT(vitals::config::summary(s), Catch::Contains("https://0.0.0.0:8470") &&
                                             Catch::Contains("client certificates required"));

  std::string message;
  CHECK(problem_keys(fmt::format("[api]\ntls_cert_file = \"{}\"\n", server.cert.string()),
                     &message) == std::vector<std::string>{"api.tls_cert_file"});
  CHECK_THAT(message, Catch::Contains("tls_key_file is not"));
  CHECK(problem_keys(fmt::format("[api]\ntls_client_ca_file = \"{}\"\n", ca.ca_file().string()),
                     &message) == std::vector<std::string>{"api.tls_client_ca_file"});
  CHECK_THAT(message, Catch::Contains("need HTTPS"));

  // Another certificate's key, an expired certificate, a missing file, a CA file without one.
  CHECK(problem_keys(fmt::format("[api]\ntls_cert_file = \"{}\"\ntls_key_file = \"{}\"\n",
                                 server.cert.string(), other.key.string()),
                     &message) == std::vector<std::string>{"api.tls_key_file"});
  CHECK_THAT(message, Catch::Contains("does not match the server certificate"));
  CHECK(problem_keys(tls(expired), &message) == std::vector<std::string>{"api.tls_cert_file"});
  CHECK_THAT(message, Catch::Contains("server certificate expired"));
  CHECK(problem_keys(fmt::format("[api]\ntls_cert_file = \"{}/none.pem\"\ntls_key_file = \"{}\"\n",
                                 dir.path().string(), server.key.string()),
                     &message) == std::vector<std::string>{"api.tls_cert_file"});
  CHECK_THAT(message, Catch::Contains("none.pem"));
  CHECK(problem_keys(tls(server, fmt::format("tls_client_ca_file = \"{}\"\n", server.key.string())),
                     &message) == std::vector<std::string>{"api.tls_client_ca_file"});
  CHECK_THAT(message, Catch::Contains("holds no PEM certificate"));

  // A key the group can read: refused, with the fix.
  fs::permissions(server.key, fs::perms::group_read, fs::perm_options::add);
  CHECK(problem_keys(tls(server), &message) == std::vector<std::string>{"api.tls_key_file"});
  CHECK_THAT(message, Catch::Contains("refused") && Catch::Contains("chmod 600"));
}

}  // namespace api_tls_test
