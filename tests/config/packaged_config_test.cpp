// The configuration the Debian package installs as /etc/vitalsd/vitalsd.toml
// (packaging/vitalsd.toml): it loads as shipped, puts the database in the state directory, and
// otherwise keeps the built-in defaults; uncommenting its examples gives a valid file too.

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>

#include <vitals/adapters/registry.hpp>
#include <vitals/config/loader.hpp>
#include <vitals/config/settings.hpp>
#include <vitals/test/temp_dir.hpp>

// A namespace of its own: the sanitizer presets are unity builds (tests/README.md).
namespace packaged_config_test {
namespace {

const std::filesystem::path packaged{VITALS_PACKAGED_CONFIG};

std::string read_all(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

TEST_CASE("the packaged configuration loads and keeps the database in /var/lib/vitalsd",
          "[config][packaging]") {
  const auto& plugins = vitals::adapters::registry();
  const auto s = vitals::config::load_file(packaged.string(), plugins);
  CHECK(s.store.path == "/var/lib/vitalsd/vitalsd.db");
  CHECK(s.warnings.empty());

  // Everything else is the built-in default.
  auto expected = vitals::config::defaults(plugins);
  expected.store.path = s.store.path;
  CHECK(s.store == expected.store);
  CHECK(s.log == expected.log);
  CHECK(s.api == expected.api);
  CHECK(s.sources.size() == expected.sources.size());
}

TEST_CASE("the packaged configuration's commented examples are valid once uncommented",
          "[config][packaging]") {
  vitals::test::temp_dir dir{"vitals-packaged"};
  const auto secrets = dir.path() / "secrets";
  std::filesystem::create_directory(secrets);
  for (const char* name : {"mqtt.password", "nurse-station.token"}) {
    std::ofstream(secrets / name) << "0123456789abcdef0123456789abcdef\n";
    std::filesystem::permissions(
        secrets / name, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  }
  // "# key = value" and "# [table]" lines become settings; "## text" stays documentation.
  std::string text =
      std::regex_replace(read_all(packaged), std::regex("^# ", std::regex::multiline), "");
  text = std::regex_replace(text, std::regex("/etc/vitalsd/secrets"), secrets.string());
  const auto file = dir.path() / "vitalsd.toml";
  std::ofstream(file) << text;

  const auto s = vitals::config::load_file(file.string(), vitals::adapters::registry());
  REQUIRE(s.api.tokens.size() == 1);
  CHECK(s.api.tokens[0].role == "ack");
  CHECK(s.api.tokens[0].token.size() == 32);
  CHECK(s.store.path == "/var/lib/vitalsd/vitalsd.db");
}

}  // namespace packaged_config_test
