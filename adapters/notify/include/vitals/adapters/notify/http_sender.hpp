#pragma once
/// One HTTP(S) POST at a time over Boost.Beast: a new connection per attempt (simple, and a
/// receiver that restarted or moved behind a load balancer never sees a stale socket), the whole
/// attempt bounded by one deadline. Beast stays in the .cpp: it is heavy to compile.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>

namespace vitals::adapters::notify {

/// An http(s) URL split into what a connection needs.
struct http_url {
  bool tls = false;
  std::string host;    ///< name or address, without brackets for IPv6
  std::string port;    ///< "80" / "443" unless given
  std::string target;  ///< path and query, at least "/"
};

/// Parses "http[s]://host[:port][/path][?query]"; on failure returns nullopt and sets `error`
/// (other schemes, user info, missing host, bad port).
std::optional<http_url> parse_http_url(std::string_view url, std::string* error = nullptr);

/// What to POST (the URL is given separately).
struct http_post {
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string method = "POST";  ///< the notifiers POST; vitalsctl also GETs and DELETEs
  bool whole_answer = false;    ///< keep the whole answer body (up to 1 MiB), not a snippet
};

/// How an attempt ended: an HTTP status, or status 0 and the transport error.
struct http_result {
  int status = 0;
  std::string error;                                ///< status 0: what went wrong (no payload data)
  std::optional<std::chrono::seconds> retry_after;  ///< Retry-After in seconds, when sent
  std::string body;  ///< the first bytes of the answer, for debug logs
};

/// TLS choices of one receiver.
struct tls_settings {
  std::string ca_file;     ///< extra CA bundle besides the system store; empty: none
  bool verify_tls = true;  ///< false only when configured (a warning is logged once)
  std::string cert_file;   ///< a client certificate (PEM) for servers that require one; or ""
  std::string key_file;    ///< its key (PEM), when cert_file does not hold it
};

/// Sends POSTs for one receiver. Lives on, and must only be used from, the io_context's thread.
class http_sender {
 public:
  using completion = std::function<void(http_result)>;

  /// `name` only labels log lines. Throws std::runtime_error when `ca_file` or the client
  /// certificate cannot be loaded.
  http_sender(boost::asio::io_context& io, std::string name, tls_settings tls);
  ~http_sender();
  http_sender(const http_sender&) = delete;
  http_sender& operator=(const http_sender&) = delete;

  /// Starts one POST to `url` (plus `path_suffix` appended to its path); `done` runs exactly
  /// once on the io thread, unless cancel() or the sender's destruction came first (then never).
  /// The whole attempt (resolve, connect, TLS handshake, write, read) is bounded by `timeout`.
  void post(const http_url& url, std::string_view path_suffix, http_post request,
            std::chrono::milliseconds timeout, completion done);

  /// Aborts every attempt in flight; their completions are not called.
  void cancel();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace vitals::adapters::notify
