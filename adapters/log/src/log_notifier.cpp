#include "log_notifier.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include <vitals/adapters/notify/payloads.hpp>

namespace vitals::adapters::log {

log_notifier::log_notifier(std::string name, const std::string& path, bool fsync)
    : name_(std::move(name)), path_(path), fsync_(fsync) {
  if (path == "-") {
    out_ = stdout;
    return;
  }
  // 0600: notifications name patients and values.
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    throw std::runtime_error("cannot open " + path + " for appending: " + std::strerror(errno));
  }
  out_ = ::fdopen(fd, "a");
  if (!out_) {
    const int err = errno;
    ::close(fd);
    throw std::runtime_error("cannot open " + path + ": " + std::strerror(err));
  }
  owned_ = true;
  spdlog::info("receiver {}: notifications are written to {} (it holds patient data)", name_,
               path_);
}

log_notifier::~log_notifier() {
  if (owned_ && out_) std::fclose(out_);
}

void log_notifier::send(const core::notification& n, std::chrono::milliseconds, completion done) {
  std::string line = notify::notification_json(n);
  line += '\n';
  errno = 0;
  const bool written = std::fwrite(line.data(), 1, line.size(), out_) == line.size() &&
                       std::fflush(out_) == 0 && (!fsync_ || ::fsync(::fileno(out_)) == 0);
  if (!written) {
    const int err = errno;
    std::clearerr(out_);
    return done(core::delivery_result::failed("cannot write to " + path_ + ": " +
                                              (err ? std::strerror(err) : "short write")));
  }
  done(core::delivery_result::ok());
}

}  // namespace vitals::adapters::log
