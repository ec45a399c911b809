// The command lines of every binary: --version and --help exit 0, usage and configuration
// errors exit 2 (never CLI11's 105-109), runtime failures exit 1; and vitalsctl's operator
// commands (status, alerts list/ack, check-config) against a real vitalsd and its HTTP API.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "daemon_fixture.hpp"

using namespace std::chrono_literals;
namespace fs = std::filesystem;

// A namespace of its own: the sanitizer presets are unity builds (tests/README.md).
namespace cli_test {
namespace {

using vitals::it::run_to_end;

std::string write(const fs::path& p, const std::string& text, fs::perms mode) {
  std::ofstream(p) << text;
  fs::permissions(p, mode);
  return p.string();
}

}  // namespace

TEST_CASE("exit codes of every binary: 0 ok, 1 runtime failure, 2 usage or configuration",
          "[integration][cli]") {
  vitals::test::temp_dir dir("vitals-cli");
  const auto& d = dir.path();
  const auto bad_config =
      write(d / "bad.toml", "[store]\nbatch_rows = -1\n", fs::perms::owner_read);
  const auto unwritable =
      write(d / "unwritable.toml",
            "[store]\npath = \"/proc/vitalsd/cannot.db\"\n[api]\nenabled = false\n",
            fs::perms::owner_read);
  struct expect {
    std::vector<std::string> argv;
    int code;
    std::string says;
  };
  const std::vector<expect> cases{
      {{VITALSD_PATH, "--version"}, 0, "vitalsd "},
      {{VITALSD_PATH, "--help"}, 0, "--check-config"},
      {{VITALSD_PATH, "--no-such-flag"}, 2, "no-such-flag"},
      {{VITALSD_PATH, "--log-level", "loud"}, 2, "loud"},
      {{VITALSD_PATH, "--config", bad_config}, 2, "store.batch_rows"},
      {{VITALSD_PATH, "--config", bad_config, "--check-config"}, 2, "store.batch_rows"},
      {{VITALSD_PATH, "--check-config"}, 0, "configuration OK"},
      {{VITALSD_PATH, "--config", unwritable}, 1, "cannot start"},
      {{VITALSCTL_PATH, "--version"}, 0, "vitalsctl "},
      {{VITALSCTL_PATH}, 2, ""},
      {{VITALSCTL_PATH, "frobnicate"}, 2, "frobnicate"},
      {{VITALSCTL_PATH, "check-config", "--config", bad_config}, 2, "store.batch_rows"},
      {{VITALSCTL_PATH, "check-config"}, 0, "configuration OK"},
      {{VITALSCTL_PATH, "status", "--api", "http://127.0.0.1:1"}, 1, "not reachable"},
      {{VITALSCTL_PATH, "alerts", "list", "--api", "http://127.0.0.1:1"}, 2, "token"},
      {{VITALSCTL_PATH, "alerts", "ack"}, 2, "id"},
      {{VITALS_SIM_PATH, "--version"}, 0, "vitals-sim"},
      {{VITALS_SIM_PATH, "--patients", "zero"}, 2, "patients"},
      {{VITALS_EVAL_PATH, "--help"}, 0, "vitals-eval"},
      {{VITALS_EVAL_PATH, "--no-such-flag"}, 2, "no-such-flag"},
  };
  int i = 0;
  for (const auto& c : cases) {
    const auto r = run_to_end(c.argv, d, "run-" + std::to_string(i++));
    INFO(fs::path(c.argv[0]).filename().string()
         << " " << (c.argv.size() > 1 ? c.argv[1] : "") << ": " << r.output);
    CHECK(r.code == c.code);
    CHECK_THAT(r.output, Catch::Contains(c.says));
  }
}

TEST_CASE("vitalsctl status, alerts list and ack against a running vitalsd", "[integration][cli]") {
  vitals::test::temp_dir scratch("vitals-cli-api");
  const auto token = write(scratch.path() / "ops.token", "0123456789abcdef0123456789abcdef\n",
                           fs::perms::owner_read | fs::perms::owner_write);
  vitals::it::daemon_env env("",
                             "[[api.tokens]]\nname = \"ops\"\ntoken_file = \"" + token + "\"\n");
  auto daemon = env.start_daemon();
  const std::string api = "http://127.0.0.1:" + std::to_string(env.api_port);
  const auto ctl = [&](const std::vector<std::string>& args, const std::string& tag) {
    std::vector<std::string> argv;
    argv.reserve(args.size() + 1);
    argv.emplace_back(VITALSCTL_PATH);
    argv.insert(argv.end(), args.begin(), args.end());
    return run_to_end(argv, scratch.path(), tag);
  };

  const auto status = ctl({"status", "--api", api, "--token-file", token}, "status");
  INFO(status.output);
  CHECK(status.code == 0);
  CHECK_THAT(status.output, Catch::Contains("status: ok") &&
                                Catch::Contains("source mqtt: connected") &&
                                Catch::Contains("vitalsd_samples_stored_total"));

  // A desaturation raises spo2_low.
  vitals::test::mqtt_publisher pub(env.broker.uri(), "cli-pub");
  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  for (int i = 0; i < 40; ++i) {
    const double spo2 = i < 5 ? 97 : std::max(80.0, 97.0 - 2.0 * (i - 4));
    pub.publish("vitals/p-cli/ox-cli",
                "{\"device\":\"ox-cli\",\"ts\":" + std::to_string(now - 60'000 + i * 1000) +
                    ",\"spo2\":" + std::to_string(spo2) + "}");
  }
  REQUIRE(vitals::test::eventually(
      [&] { return env.count("SELECT count(*) FROM alerts WHERE state = 'active'") == 1; }, 30s));
  const auto id = std::to_string(env.count("SELECT id FROM alerts"));

  const auto list = ctl({"alerts", "list", "--api", api, "--token-file", token}, "list");
  INFO(list.output);
  CHECK(list.code == 0);
  CHECK_THAT(list.output, Catch::Contains("spo2_low") && Catch::Contains("p-cli"));

  const auto ack = ctl({"alerts", "ack", id, "--by", "jane", "--reason", "at the bedside", "--api",
                        api, "--token-file", token},
                       "ack");
  INFO(ack.output);
  CHECK(ack.code == 0);
  CHECK_THAT(ack.output, Catch::Contains("acknowledged") && Catch::Contains("ops/jane"));
  CHECK(env.count("SELECT count(*) FROM alerts WHERE state = 'acknowledged'") == 1);

  // Acknowledged twice: refused by vitalsd, exit 1 with its reason.
  const auto again = ctl({"alerts", "ack", id, "--api", api, "--token-file", token}, "again");
  CHECK(again.code == 1);
  CHECK_THAT(again.output, Catch::Contains("HTTP 409"));
  // A token that is not one of vitalsd's: exit 1, 401.
  const auto wrong = write(scratch.path() / "wrong.token", "fedcba9876543210fedcba9876543210\n",
                           fs::perms::owner_read);
  const auto refused = ctl({"alerts", "list", "--api", api, "--token-file", wrong}, "wrong");
  CHECK(refused.code == 1);
  CHECK_THAT(refused.output, Catch::Contains("HTTP 401"));
  CHECK(vitals::it::terminate(*daemon) == 0);
}

}  // namespace cli_test
