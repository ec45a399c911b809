#pragma once
/// A real HTTP/1.1 server on 127.0.0.1 for tests of everything that sends HTTP (webhooks,
/// Alertmanager, PagerDuty, ntfy, FHIR): records each request and answers as the test programs
/// it, including answering nothing at all and being really down (connection refused).

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vitals::test {

/// One request as it arrived.
struct received_request {
  std::string method;
  std::string target;
  std::map<std::string, std::string> headers;  ///< names in lower case
  std::string body;
  std::chrono::steady_clock::time_point at;
  unsigned answered = 0;  ///< the status sent back; 0: none (silent)

  /// The header's value, or "" when absent (`name` in any case).
  std::string header(std::string_view name) const;
};

/// How to answer one request.
struct http_answer {
  unsigned status = 200;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  bool silent = false;  ///< keep the connection open and never answer (a hung receiver)
};

class http_receiver {
 public:
  /// Decides the answer to a request; `index` counts requests from 0. Runs on the receiver's
  /// thread: it must not call back into the receiver except the accessors below.
  using responder = std::function<http_answer(const received_request& req, std::size_t index)>;

  /// Listens on 127.0.0.1:`port` (0: a free one) and serves from a thread of its own.
  explicit http_receiver(std::uint16_t port = 0);
  ~http_receiver();
  http_receiver(const http_receiver&) = delete;
  http_receiver& operator=(const http_receiver&) = delete;

  std::uint16_t port() const noexcept { return port_; }
  /// "http://127.0.0.1:PORT" followed by `path`.
  std::string url(std::string_view path = "/") const;

  /// Answers from now on come from `r` (default: 200 with an empty body).
  void respond_with(responder r);
  /// Shorthand: every request gets `status` (e.g. 503 while "down" at the HTTP level).
  void respond_status(unsigned status);

  /// Really down: closes the listening socket and every open connection, so that connecting
  /// is refused. Waits until done.
  void go_down();
  /// Listens again on the same port. Waits until done.
  void come_up();

  /// Every request so far, in arrival order.
  std::vector<received_request> requests() const;
  std::size_t count() const;
  /// Requests that got a 2xx answer.
  std::vector<received_request> accepted() const;
  /// Waits until at least `n` requests have arrived; false on timeout.
  bool wait_for(std::size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(5)) const;
  /// Waits until at least `n` requests got a 2xx answer; false on timeout.
  bool wait_for_accepted(std::size_t n,
                         std::chrono::milliseconds timeout = std::chrono::seconds(5)) const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
  std::uint16_t port_ = 0;
};

}  // namespace vitals::test
