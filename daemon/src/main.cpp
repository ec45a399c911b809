// vitalsd: the monitoring daemon. A thin main: parse the command line, load settings, run the app.

#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <optional>
#include <string>

#include <spdlog/spdlog.h>

#include <vitals/adapters/registry.hpp>
#include <vitals/config/loader.hpp>
#include <vitals/daemon/app.hpp>
#include <vitals/daemon/logging.hpp>

namespace {

/// Exit codes: 0 ok (and --help, --version), 1 a runtime failure (cannot start, lost the store),
/// 2 a usage or configuration error.
constexpr int exit_runtime = 1;
constexpr int exit_usage = 2;

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{
      "vitalsd " VITALS_VERSION
      " - real-time monitoring daemon for wearable vitals.\n"
      "Subscribes to heart rate, SpO2 and glucose readings over MQTT, detects what a clinician\n"
      "must know about, stores samples and alerts in SQLite. Without --config it runs on embedded\n"
      "defaults: broker tcp://localhost:1883, topic vitals/{patient}/{device}, database\n"
      "./vitalsd.db. See config/vitalsd.example.toml for every setting, --list-plugins for the\n"
      "source and receiver types this build has.",
      "vitalsd"};
  std::string config_path;
  bool check_config = false;
  bool list_plugins = false;
  std::optional<std::string> log_format_arg;
  std::optional<std::string> log_level_arg;
  cli.add_option("-c,--config", config_path, "TOML configuration file")
      ->check(CLI::ExistingFile)
      ->option_text("FILE");
  cli.add_flag("--check-config", check_config,
               "Validate the configuration (every error with file:line and key), print a summary "
               "and exit: 0 when valid, 1 otherwise");
  cli.add_flag("--list-plugins", list_plugins,
               "List the source types ([[sources]] type) and receiver types ([[receivers]] type) "
               "built into this vitalsd, and exit");
  cli.add_option("--log-format", log_format_arg,
                 "Log line format: 'text' (for people) or 'json' (one JSON object per line); "
                 "overrides log.format")
      ->check(CLI::IsMember({"text", "json"}));
  cli.add_option("--log-level", log_level_arg,
                 "trace, debug, info, warn or error; overrides log.level")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
  cli.set_version_flag("-V,--version", "vitalsd " VITALS_VERSION);
  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version are "errors" with exit code 0; every usage error is exit 2, not
    // CLI11's own codes.
    const int code = cli.exit(e);
    return code == 0 ? 0 : exit_usage;
  }

  const auto& plugins = vitals::adapters::registry();
  if (list_plugins) {
    std::printf("sources ([[sources]] type = ...):\n");
    for (const auto& d : plugins.sources()) {
      std::printf("  %-14s %s%s\n", d.type.c_str(), d.summary.c_str(),
                  d.default_instance ? " (runs by default)" : "");
    }
    std::printf("receivers ([[receivers]] type = ...):\n");
    for (const auto& d : plugins.notifiers()) {
      std::printf("  %-14s %s\n", d.type.c_str(), d.summary.c_str());
    }
    return 0;
  }

  vitals::config::settings settings;
  try {
    settings = config_path.empty() ? vitals::config::defaults(plugins)
                                   : vitals::config::load_file(config_path, plugins);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vitalsd: invalid configuration:\n%s\n", e.what());
    return exit_usage;
  }
  if (log_format_arg) settings.log.format = *log_format_arg;
  if (log_level_arg) settings.log.level = *log_level_arg;

  if (check_config) {
    std::printf("%s: configuration OK\n%s\n",
                config_path.empty() ? "(embedded defaults)" : config_path.c_str(),
                vitals::config::summary(settings).c_str());
    return 0;
  }

  try {
    vitals::daemon::setup_logging(vitals::daemon::parse_log_format(settings.log.format),
                                  settings.log.level);
    for (const auto& w : settings.warnings) spdlog::warn("config: {}", w);
    vitals::daemon::app daemon(std::move(settings));
    if (!config_path.empty()) {
      // SIGHUP and POST /api/v1/reload read the file again, with the same command-line
      // overrides.
      daemon.set_config_loader(
          [&plugins, config_path, log_format_arg, log_level_arg] {
            auto next = vitals::config::load_file(config_path, plugins);
            if (log_format_arg) next.log.format = *log_format_arg;
            if (log_level_arg) next.log.level = *log_level_arg;
            return next;
          },
          config_path);
    }
    return daemon.run();
  } catch (const std::exception& e) {
    spdlog::critical("vitalsd cannot start: {}", e.what());
    return exit_runtime;
  }
}
