#pragma once
/// Delivers committed outbox notifications to their receivers: one queue per receiver ordered by
/// notification id, one attempt in flight per receiver (so an alert's trigger never overtakes
/// nor follows its resolve out of order), retries with jittered exponential backoff, a token
/// bucket per receiver, a deadline per attempt. What a delivery is (an HTTP request, an MQTT
/// message, a line in a file) is the receiver's core::notifier's business. Runs on the daemon's
/// io_context thread and only there.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <vitals/adapters/notify/notifiers.hpp>
#include <vitals/core/alert_model.hpp>
#include <vitals/core/notifier.hpp>

namespace vitals::adapters::notify {

/// What the dispatcher reports back (on the io thread) so that the caller updates its outbox.
struct dispatcher_callbacks {
  /// The receiver accepted it (2xx, PUBACK) or had no use for it (skipped).
  std::function<void(std::uint64_t id, core::timestamp at)> delivered;
  /// One failed attempt; `final`: given up (permanent error or max_attempts reached).
  std::function<void(std::uint64_t id, int attempts, std::string error, bool final)> failed;
};

/// Counters of one receiver, for /metrics.
struct receiver_metrics {
  std::string name;
  std::string kind;  ///< the notifier type ("webhook")
  std::uint64_t sent = 0;
  std::uint64_t skipped = 0;
  std::uint64_t failed_attempts = 0;
  std::uint64_t given_up = 0;
  std::size_t pending = 0;
};

/// One configured receiver: its notifier and how to deliver to it.
struct receiver {
  std::string name;  ///< what routes name
  std::string type;  ///< the notifier type, for metrics and logs
  std::unique_ptr<core::notifier> notifier;
  delivery_options delivery;
};

class dispatcher {
 public:
  /// Receivers are used from the io thread only; their notifiers must not call back after
  /// cancel() (the dispatcher cancels them on stop()).
  dispatcher(boost::asio::io_context& io, std::vector<receiver> receivers, dispatcher_callbacks cb);
  ~dispatcher();
  dispatcher(const dispatcher&) = delete;
  dispatcher& operator=(const dispatcher&) = delete;

  /// Queues notifications (io thread). An id already queued is ignored; a notification for an
  /// unknown receiver is reported failed (final) at once. Ignored after stop().
  void submit(std::vector<core::notification> batch);

  /// Cancels timers and attempts in flight; no callback runs afterwards. What was not delivered
  /// stays pending in the caller's outbox for the next start.
  void stop();

  /// After stop(): everything queued or in flight, per receiver in id order, for another
  /// dispatcher to take over (a reload that changes the receivers). An attempt that stop()
  /// cancelled may have reached its receiver: sent again, it carries the same idempotency key.
  std::vector<core::notification> take_pending();

  /// Per receiver, in configuration order.
  std::vector<receiver_metrics> metrics() const;

  /// Notifications queued or in flight, over all receivers.
  std::size_t pending() const;

 private:
  struct impl;
  std::shared_ptr<impl> impl_;  // shared: handlers hold a weak_ptr and outlive nothing
};

}  // namespace vitals::adapters::notify
