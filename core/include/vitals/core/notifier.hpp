#pragma once
/// The notifier plugin contract: a notifier turns one committed outbox notification into a
/// delivery (an HTTP request, an MQTT message, a line in a file) and reports how it went. The
/// dispatcher around it owns everything shared (one queue per receiver in outbox order, one
/// attempt in flight, retries with backoff, rate limits, deadlines, metrics), as spdlog's
/// base_sink owns locking and formatting and a sink implements only sink_it_().

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <vitals/core/alert_model.hpp>
#include <vitals/core/options.hpp>
#include <vitals/core/source.hpp>

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace vitals::core {

/// How one delivery attempt ended.
struct delivery_result {
  enum class outcome : std::uint8_t {
    delivered,  ///< the receiver accepted it
    skipped,    ///< the receiver has no use for this action (counts as delivered)
    retry,      ///< failed for now (down, overloaded, timed out): try again later
    rejected,   ///< failed for good (the receiver refused it): do not repeat it
  };
  outcome what = outcome::delivered;
  std::string error;  ///< retry / rejected: what went wrong, free of health data
  std::optional<std::chrono::seconds> retry_after;  ///< the receiver asked to wait this long
  std::string detail;  ///< debug only: e.g. the first bytes of the receiver's answer

  static delivery_result ok() { return {}; }
  static delivery_result skip() { return {outcome::skipped, {}, {}, {}}; }
  static delivery_result failed(std::string why) {
    return {outcome::retry, std::move(why), {}, {}};
  }
  static delivery_result refused(std::string why) {
    return {outcome::rejected, std::move(why), {}, {}};
  }
};

/// Publishes one message at QoS 1 on the daemon's MQTT alert channel. `done` is called exactly
/// once, from any thread, with "" when the broker acknowledged it, or the error.
class message_publisher {
 public:
  virtual ~message_publisher() = default;
  virtual void publish(std::string topic, std::string payload,
                       std::function<void(std::string error)> done) = 0;
};

/// One configured receiver's delivery. Used from the daemon's io thread only.
class notifier {
 public:
  using completion = std::function<void(delivery_result)>;

  virtual ~notifier() = default;

  /// Starts delivering `n`. `done` runs exactly once (on any thread) unless cancel() came
  /// first; `timeout` bounds the attempt. Must not throw for a notification it cannot render:
  /// report it as rejected instead.
  virtual void send(const notification& n, std::chrono::milliseconds timeout, completion done) = 0;

  /// Abandons attempts in flight: their `done` may no longer be called.
  virtual void cancel() {}

  /// True when send() itself ends every attempt within `timeout` (the dispatcher then only
  /// keeps a safety net); false: the dispatcher's deadline ends it.
  virtual bool bounds_attempts() const noexcept { return false; }
};

/// Everything a notifier factory is given besides its own options.
struct notifier_context {
  std::string name;  ///< the receiver's name (routes refer to it)
  boost::asio::io_context& io;
  /// The alert channel, or nullptr when none runs (notifiers that need it fail at creation).
  message_publisher* messages = nullptr;
  /// Shared sections by name.
  const std::unordered_map<std::string, option_set>& sections;
};

/// How the registry knows a notifier type: its name in `[[receivers]] type = "..."`, its
/// options, extra checks and the factory.
struct notifier_descriptor {
  std::string type;     ///< "webhook", "pagerduty", "log", ...
  std::string summary;  ///< one line: where it delivers
  std::vector<option_spec> options;
  /// Checks beyond the table, like source_descriptor::check. May be empty.
  std::function<void(const option_set&, std::vector<option_problem>&)> check;
  /// Whether the receiver needs the MQTT alert channel (the daemon starts it when one does).
  bool uses_message_channel = false;
  /// Builds one; throws std::invalid_argument / std::runtime_error naming what is wrong.
  std::function<std::unique_ptr<notifier>(const option_set&, notifier_context&)> create;
};

}  // namespace vitals::core
