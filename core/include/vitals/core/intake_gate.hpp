#pragma once
/// Whether the sources are held back because the store cannot commit. A reading a source does
/// not take stays with its sender (the MQTT broker queues it for vitalsd's persistent session),
/// while one taken and then not committed is lost at a crash or a stop. So when commits fail the
/// store holds the gate, the daemon pauses every source that can leave data with its sender
/// (core::source::pause()), and the pipeline does not count the held time as device silence.
///
/// Nobody waits on the gate: a source's thread must not block (Paho runs every client's
/// callbacks under one library-wide lock, so a blocked MQTT callback would freeze the alert
/// channel as well).

#include <atomic>

namespace vitals::core {

class intake_gate {
 public:
  /// Commits fail: sources should pause (the store's writer).
  void hold() noexcept { held_.store(true, std::memory_order_release); }
  /// Commits succeed again.
  void release() noexcept { held_.store(false, std::memory_order_release); }
  bool held() const noexcept { return held_.load(std::memory_order_acquire); }

 private:
  std::atomic<bool> held_{false};
};

}  // namespace vitals::core
