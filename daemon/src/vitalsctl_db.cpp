#include "vitalsctl_db.hpp"

#include <cstdio>
#include <filesystem>
#include <stdexcept>

#include <vitals/adapters/registry.hpp>
#include <vitals/adapters/sqlite/maintenance.hpp>
#include <vitals/config/loader.hpp>
#include <vitals/config/settings.hpp>

#include "vitalsctl_api.hpp"

namespace vitals::ctl {

namespace {

/// What an installed vitalsd reads (the Debian package's conffile).
constexpr const char* installed_config = "/etc/vitalsd/vitalsd.toml";

/// The database file: --db, else --config's store.path, else the installed configuration's.
/// Throws std::invalid_argument (a usage error) when none names one.
std::string database_of(const db_args& a) {
  if (!a.db_path.empty()) return a.db_path;
  std::string config = a.config_path;
  if (config.empty()) {
    std::error_code ec;
    if (!std::filesystem::exists(installed_config, ec)) {
      throw std::invalid_argument(std::string("which database? give --db FILE or --config FILE (") +
                                  installed_config + " does not exist)");
    }
    config = installed_config;
  }
  try {
    return config::load_file(config, adapters::registry()).store.path;
  } catch (const std::exception& e) {
    throw std::invalid_argument(std::string("invalid configuration:\n") + e.what());
  }
}

template <class Fn>
int run_guarded(const char* what, Fn fn) {
  try {
    return fn();
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "vitalsctl %s: %s\n", what, e.what());
    return exit_usage;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vitalsctl %s: %s\n", what, e.what());
    return exit_failed;
  }
}

int run_backup(const db_args& a) {
  return run_guarded("backup", [&] {
    const auto db = database_of(a);
    std::fprintf(stderr, "vitalsctl backup: copying %s to %s\n", db.c_str(), a.file.c_str());
    const auto r = adapters::sqlite::backup(db, a.file);
    std::printf("%s: backup of %s complete, %lld pages, %lld bytes\n", a.file.c_str(), db.c_str(),
                static_cast<long long>(r.pages), static_cast<long long>(r.bytes));
    return exit_ok;
  });
}

int run_db_check(const db_args& a) {
  return run_guarded("check", [&] {
    const auto db = database_of(a);
    const auto r = adapters::sqlite::check(db);
    for (const auto& p : r.problems) std::printf("%s: %s\n", db.c_str(), p.c_str());
    if (!r.ok()) {
      std::printf("%s: %zu problem(s)\n", db.c_str(), r.problems.size());
      return exit_failed;
    }
    std::printf(
        "%s: ok: schema version %d%s, integrity ok, %lld samples, %lld alerts, %lld "
        "notifications pending\n",
        db.c_str(), r.schema_version,
        r.schema_version < r.expected_version ? " (vitalsd migrates it at its next start)" : "",
        static_cast<long long>(r.samples), static_cast<long long>(r.alerts),
        static_cast<long long>(r.pending));
    return exit_ok;
  });
}

void add_database_options(CLI::App* cmd, db_args& a) {
  auto* config = cmd->add_option("-c,--config", a.config_path,
                                 "vitalsd's configuration: the database is its store.path "
                                 "(default /etc/vitalsd/vitalsd.toml)")
                     ->option_text("FILE");
  cmd->add_option("--db", a.db_path, "The database file itself")
      ->option_text("FILE")
      ->excludes(config);
}

}  // namespace

void add_db_commands(CLI::App& cli, db_args& args, int& result) {
  auto* backup = cli.add_subcommand(
      "backup", "Copy the database to a new file while vitalsd runs (SQLite's online backup)");
  backup->add_option("file", args.file, "The backup file to create (must not exist)")->required();
  add_database_options(backup, args);
  backup->footer(
      "A consistent copy, WAL included, taken in one read transaction: vitalsd goes on writing.\n"
      "The file is created mode 0600 and appears only when complete. Run it as the user vitalsd\n"
      "runs as. Exit code: 0 done, 1 the copy failed (nothing left behind), 2 usage errors.\n"
      "Example: sudo -u vitalsd vitalsctl backup /var/backups/vitalsd/$(date +%F).db");
  backup->callback([&] { result = run_backup(args); });

  auto* check = cli.add_subcommand(
      "check", "Check a database (integrity, foreign keys, schema version) without changing it");
  add_database_options(check, args);
  check->footer(
      "Checks a backup before a restore, or the live database (vitalsd may keep running).\n"
      "Exit code: 0 sound, 1 problems found (each printed) or not readable, 2 usage errors.\n"
      "Example: vitalsctl check --db /var/backups/vitalsd/2026-12-07.db");
  check->callback([&] { result = run_db_check(args); });
}

}  // namespace vitals::ctl
