#pragma once
/// vitalsd's HTTP API (HTTP/1.1, optionally over TLS, on the daemon's io_context): bearer-token
/// auth, routing, request validation and JSON errors in front of an api_backend.
///
/// Routes:
///   GET    /healthz                              no auth
///   GET    /metrics                              auth unless metrics_auth = false
///   GET    /api/v1/alerts?state=&patient=&limit=&before=
///   GET    /api/v1/alerts/{id}
///   POST   /api/v1/alerts/{id}/acknowledge      {"by"?, "reason"?}
///   POST   /api/v1/alerts/{id}/resolve          {"by"?, "reason"?}
///   POST   /api/v1/alerts/{id}/snooze           {"minutes", "by"?, "reason"?}
///   GET    /api/v1/snoozes
///   POST   /api/v1/snoozes                      {"patient", "rule", "minutes", "up_to"?, ...}
///   DELETE /api/v1/snoozes/{patient}/{rule}     {"by"?, "reason"?}
///   POST   /api/v1/reload                        re-reads the configuration (admin tokens)
///   GET    /api/v1/patients                      the patient registry
///   GET    /api/v1/patients/{id}
///   PUT    /api/v1/patients/{id}                 {settings of a [[patients]] table, "devices"}
///   DELETE /api/v1/patients/{id}                 (PUT and DELETE: admin tokens)

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include <vitals/daemon/api_backend.hpp>

namespace vitals::daemon {

/// read: every GET; ack: GETs and the commands (acknowledge, resolve, snooze, unsnooze);
/// admin: all that, the configuration reload and changes to the patient registry.
enum class api_role : std::uint8_t { read, ack, admin };

/// A named bearer token. The name (never the token) appears in logs and in the audit trail.
struct api_token {
  std::string name;
  std::string token;
  api_role role = api_role::ack;
};

struct api_options {
  std::string address = "127.0.0.1";
  std::uint16_t port = 8470;  ///< 0: any free port (tests); port() tells which
  /// No tokens: authenticated routes answer 503 "no API tokens configured" (and start() warns)
  /// rather than refusing to start, so /healthz keeps working for the orchestrator while the
  /// alert data stays closed.
  std::vector<api_token> tokens;
  bool metrics_auth = true;
  std::size_t max_body_bytes = 16384;
  std::chrono::seconds timeout{30};  ///< per read or write, including keep-alive idle time
  /// Open connections at most. A new one beyond it closes the connection idle the longest (no
  /// request under way: keep-alive, a slow client, a handshake) or, when none is idle, is
  /// closed itself: idle clients cannot lock out a good one nor use up the descriptors that the
  /// broker, the store and the notifiers need.
  std::size_t max_connections = 512;
  /// HTTPS: our certificate chain and key (PEM); empty: plain HTTP. TLS 1.2 or later. A plain
  /// HTTP request to an HTTPS port is answered 400 "this port speaks HTTPS".
  std::string tls_cert_file;
  std::string tls_key_file;
  /// HTTPS: require a client certificate issued by a CA in this PEM file ("": none asked for).
  std::string tls_client_ca_file;
  /// Plain HTTP on an address that is not loopback: refused (the constructor throws) unless set.
  bool allow_plain_http = false;
};

/// The server. Construct, start() and stop() on the io_context thread (or before it runs);
/// destroy it there too, or after the io_context stopped running.
class api_server {
 public:
  /// Loads the TLS files and binds and listens; throws std::runtime_error naming the file or
  /// address:port if that fails, or when plain HTTP would listen beyond loopback unasked.
  api_server(boost::asio::io_context& io, api_options options, api_backend& backend);
  ~api_server();
  api_server(const api_server&) = delete;
  api_server& operator=(const api_server&) = delete;

  /// Begins accepting connections.
  void start();
  /// Closes the acceptor and every open connection; nothing reaches the backend afterwards
  /// (a command already with the backend completes into a closed connection).
  void stop();
  /// Replaces the tokens (a configuration reload; io thread): requests from now on are checked
  /// against the new ones, a connection authenticated by a removed token is refused at its next
  /// request.
  void set_tokens(std::vector<api_token> tokens);

  /// The bound port.
  std::uint16_t port() const noexcept;

 private:
  struct impl;
  // Shared with the connections, so a handler still queued after destruction finds it alive.
  std::shared_ptr<impl> impl_;
};

}  // namespace vitals::daemon
