#pragma once
/// vitalsd's wiring: store, pipeline and sources built from settings, run on one io_context that
/// owns the signals.

#include <functional>
#include <memory>
#include <string>

#include <vitals/config/settings.hpp>
#include <vitals/core/stats.hpp>

namespace vitals::daemon {

/// The running daemon. Construct from settings, call run(); SIGTERM or SIGINT (or stop()) makes
/// run() stop the sources, drain the ring, commit and return 0.
class app {
 public:
  explicit app(config::settings settings);
  ~app();
  app(const app&) = delete;
  app& operator=(const app&) = delete;

  /// Where a reload (SIGHUP, POST /api/v1/reload) reads the configuration: main's loader of
  /// the file, with the command line's overrides applied; `source` names it in logs. Without
  /// one, a reload re-reads nothing and says so. Before run().
  void set_config_loader(std::function<config::settings()> loader, std::string source);

  /// Starts everything and blocks until a stop signal; returns the process exit code.
  int run();

  /// Asks run() to stop, from any thread.
  void stop();

  /// The process-wide counters.
  const core::stats& counters() const noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace vitals::daemon
