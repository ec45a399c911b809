#include <vitals/test/notify_listener.hpp>

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string_view>

namespace vitals::test {

notify_listener::notify_listener(std::filesystem::path path) : path_(std::move(path)) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const auto text = path_.string();
  if (text.size() >= sizeof(addr.sun_path)) {
    throw std::runtime_error("notify socket path too long: " + text);
  }
  std::memcpy(addr.sun_path, text.c_str(), text.size() + 1);
  fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0 || ::pipe2(stop_pipe_, O_CLOEXEC) != 0) {
    throw std::runtime_error(std::string("notify socket: ") + std::strerror(errno));
  }
  if (::bind(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    const std::string why = std::strerror(errno);
    ::close(fd_);
    throw std::runtime_error("cannot bind notify socket " + text + ": " + why);
  }
  thread_ = std::thread([this] { run(); });
}

notify_listener::~notify_listener() {
  const char byte = 0;
  if (::write(stop_pipe_[1], &byte, 1) != 1) {
    // The reader also stops when the pipe closes below; nothing else to do.
  }
  if (thread_.joinable()) thread_.join();
  ::close(stop_pipe_[0]);
  ::close(stop_pipe_[1]);
  ::close(fd_);
  std::error_code ec;
  std::filesystem::remove(path_, ec);
}

void notify_listener::run() {
  std::array<char, 4096> buf{};
  for (;;) {
    std::array<pollfd, 2> fds{{{fd_, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}}};
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) return;
    const auto n = ::recv(fd_, buf.data(), buf.size(), 0);
    if (n <= 0) continue;
    std::string_view text(buf.data(), static_cast<std::size_t>(n));
    std::lock_guard lock(mutex_);
    while (!text.empty()) {
      const auto nl = text.find('\n');
      const auto line = text.substr(0, nl);
      if (!line.empty()) messages_.emplace_back(line);
      if (nl == std::string_view::npos) break;
      text.remove_prefix(nl + 1);
    }
  }
}

std::vector<std::string> notify_listener::messages() const {
  std::lock_guard lock(mutex_);
  return messages_;
}

std::size_t notify_listener::count(const std::string& assignment) const {
  std::lock_guard lock(mutex_);
  return static_cast<std::size_t>(std::count(messages_.begin(), messages_.end(), assignment));
}

std::size_t notify_listener::count_prefix(const std::string& prefix) const {
  std::lock_guard lock(mutex_);
  return static_cast<std::size_t>(std::count_if(
      messages_.begin(), messages_.end(), [&](const auto& m) { return m.rfind(prefix, 0) == 0; }));
}

}  // namespace vitals::test
