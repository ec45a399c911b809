#pragma once
// Internal to the log plugin: the notifier itself (the plugin's public face is its
// registration).

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include <vitals/core/notifier.hpp>

namespace vitals::adapters::log {

/// Writes each notification as one line of JSON (the neutral document every JSON receiver gets)
/// to a file opened for appending, created with mode 0600 (it holds patient data), or to
/// standard output ("-"). For debugging routes and for a local record.
class log_notifier final : public core::notifier {
 public:
  /// Opens the file; throws std::runtime_error naming the path when it cannot.
  log_notifier(std::string name, const std::string& path, bool fsync);
  ~log_notifier() override;

  /// Writes and flushes the line (and fsyncs when configured): delivered, or a failure to retry
  /// with the error.
  void send(const core::notification& n, std::chrono::milliseconds timeout,
            completion done) override;

 private:
  std::string name_;
  std::string path_;
  std::FILE* out_ = nullptr;
  bool owned_ = false;
  bool fsync_ = false;
};

}  // namespace vitals::adapters::log
