#pragma once
// Internal to vitalsctl: the database commands (backup, check), safe while vitalsd runs.

#include <CLI/CLI.hpp>
#include <string>

namespace vitals::ctl {

/// Which database, and where a backup goes.
struct db_args {
  std::string config_path;  ///< the database is this configuration's store.path
  std::string db_path;      ///< or this file
  std::string file;         ///< backup: the new file
};

/// Adds `backup` and `check` to `cli`; the callbacks set `result`.
void add_db_commands(CLI::App& cli, db_args& args, int& result);

}  // namespace vitals::ctl
