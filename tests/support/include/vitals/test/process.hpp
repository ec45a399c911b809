#pragma once
/// Child processes for integration tests (mosquitto, vitalsd, vitals-sim), with their output
/// captured in a log file.

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace vitals::test {

/// A process started with posix_spawn; killed with SIGKILL on destruction if still running.
class child_process {
 public:
  /// Starts argv[0] (a path, not searched in PATH) with the current environment plus `env`
  /// (overriding), in `working_dir` (empty: ours), stdout and stderr appended to `log_file`.
  /// Throws std::runtime_error when the process cannot be spawned.
  child_process(std::vector<std::string> argv, const std::filesystem::path& log_file,
                std::map<std::string, std::string> env = {},
                const std::filesystem::path& working_dir = {});
  ~child_process();
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  /// The process id.
  pid_t pid() const noexcept { return pid_; }

  /// Sends `signo` (no effect once the process has been reaped).
  void send_signal(int signo);

  /// Waits up to `timeout` for the process to end; its exit code, or 128 + signal number when
  /// a signal ended it (the shell's convention), or nullopt when it is still running.
  std::optional<int> wait_for(std::chrono::milliseconds timeout);

  /// True until the process has ended (and has been reaped).
  bool running();

  /// What the process wrote to stdout and stderr so far.
  std::string log_text() const;

  /// Where stdout and stderr go.
  const std::filesystem::path& log_path() const noexcept { return log_; }

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
  std::filesystem::path log_;
};

}  // namespace vitals::test
