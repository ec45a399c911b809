#pragma once
/// A stand-in for systemd's notification socket: tests bind it, point $NOTIFY_SOCKET at it and
/// read what the daemon sends with sd_notify (READY=1, STATUS=..., WATCHDOG=1, STOPPING=1).

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace vitals::test {

/// A unix datagram socket bound at a path, read on a thread of its own.
class notify_listener {
 public:
  /// Binds `path` (at most 107 bytes); throws std::runtime_error when that fails.
  explicit notify_listener(std::filesystem::path path);
  ~notify_listener();
  notify_listener(const notify_listener&) = delete;
  notify_listener& operator=(const notify_listener&) = delete;

  /// The socket's path, the value for $NOTIFY_SOCKET.
  const std::filesystem::path& path() const noexcept { return path_; }

  /// Every assignment received so far ("READY=1", "STATUS=..."), one per line of each datagram,
  /// in arrival order.
  std::vector<std::string> messages() const;

  /// How many received assignments equal `assignment` exactly ("WATCHDOG=1").
  std::size_t count(const std::string& assignment) const;

  /// How many received assignments start with `prefix` ("STATUS=").
  std::size_t count_prefix(const std::string& prefix) const;

 private:
  void run();

  std::filesystem::path path_;
  int fd_ = -1;
  int stop_pipe_[2] = {-1, -1};
  mutable std::mutex mutex_;
  std::vector<std::string> messages_;
  std::thread thread_;
};

}  // namespace vitals::test
