// vitalsd's HTTP API: the listening socket and the connections, plain or TLS, read and written
// with Beast (the only file of the server that includes it). A request is routed and authorised
// in api_routing.cpp, its query string and body are read in api_request.cpp.
#include <vitals/daemon/api_server.hpp>

#include <algorithm>
#include <array>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/core/detect_ssl.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>

#include "api_request.hpp"
#include "api_routing.hpp"

namespace vitals::daemon {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using plain_stream = beast::tcp_stream;
using tls_stream = beast::ssl_stream<beast::tcp_stream>;

namespace {

using detail::error_reply;
using detail::handle_request;
using detail::iequals;
using detail::reply;
using detail::request_view;
using detail::sha256;
using detail::token_entry;

/// Lingering close: how long to drain what a client still sends after we shut down our side,
/// so it reads our last answer instead of a connection reset.
constexpr auto linger_time = std::chrono::seconds(2);

std::string_view sv(beast::string_view s) {
  return {s.data(), s.size()};
}

/// What stop() closes, and max_connections may close: every open connection, whatever its
/// stream.
class connection {
 public:
  virtual ~connection() = default;
  virtual void close() = 0;
  /// No request under way (waiting for one, or still in the TLS handshake), since when.
  virtual bool idle() const = 0;
  virtual std::chrono::steady_clock::time_point idle_since() const = 0;
};

/// What the acceptor and every connection share; lives as long as the last of them.
struct server_state : std::enable_shared_from_this<server_state> {
  server_state(asio::io_context& io_, api_options o, api_backend& b)
      : io(io_), options(std::move(o)), backend(b), acceptor(io_), retry(io_) {
    set_tokens(std::move(options.tokens));
    options.tokens.clear();
  }

  void set_tokens(std::vector<api_token> given) {
    tokens.clear();
    for (auto& t : given) {
      tokens.push_back(
          {t.name, sha256(t.token), t.role != api_role::read, t.role == api_role::admin});
      // Only digests are kept: a core dump or a stray log of the options shows no secret.
      std::fill(t.token.begin(), t.token.end(), '\0');
      t.token.clear();
    }
  }

  void do_accept();
  /// At max_connections: closes the longest-idle connection; false when none is idle.
  bool make_room();

  asio::io_context& io;
  api_options options;
  api_backend& backend;
  std::vector<token_entry> tokens;
  tcp::acceptor acceptor;
  asio::steady_timer retry;  ///< accept errors (EMFILE): back off instead of spinning
  std::uint16_t bound_port = 0;
  bool stopped = false;
  std::optional<ssl::context> tls;  ///< set: every connection speaks TLS
  std::unordered_map<const void*, std::weak_ptr<connection>> sessions;
  std::size_t open_connections = 0;  ///< sessions whose socket is not closed yet
  std::uint64_t evicted = 0;         ///< idle connections closed to admit a new one
  std::uint64_t refused = 0;         ///< new connections closed: all were busy
  std::chrono::steady_clock::time_point next_limit_log{};
};

/// One connection: reads a request, answers it, repeats while keep-alive holds. Stream is
/// plain_stream or tls_stream; a TLS connection first tells a TLS client from a plain one.
template <class Stream>
class session : public connection, public std::enable_shared_from_this<session<Stream>> {
 public:
  static constexpr bool is_tls = std::is_same_v<Stream, tls_stream>;

  template <class... Args>
  explicit session(std::shared_ptr<server_state> server, Args&&... stream_args)
      : stream_(std::forward<Args>(stream_args)...), server_(std::move(server)) {}

  ~session() override {
    server_->sessions.erase(this);
    if (open_) --server_->open_connections;
  }

  void start() {
    server_->sessions.emplace(this, shared());
    ++server_->open_connections;
    idle_since_ = std::chrono::steady_clock::now();
    if constexpr (is_tls) {
      detect();
    } else {
      do_read_header();
    }
  }

  void close() override {
    if (open_) {
      open_ = false;
      --server_->open_connections;
    }
    beast::error_code ec;
    lowest().socket().shutdown(tcp::socket::shutdown_both, ec);
    lowest().close();
  }

  bool idle() const override { return open_ && idle_; }
  std::chrono::steady_clock::time_point idle_since() const override { return idle_since_; }

 private:
  std::shared_ptr<session> shared() { return this->shared_from_this(); }
  beast::tcp_stream& lowest() { return beast::get_lowest_layer(stream_); }

  /// A TLS ClientHello goes on to the handshake (with the bytes already read); anything else is
  /// a client speaking plain HTTP to the HTTPS port, which gets a 400 that says so in clear.
  void detect() {
    lowest().expires_after(server_->options.timeout);
    beast::async_detect_ssl(lowest(), buffer_, [self = shared()](beast::error_code ec, bool tls) {
      if (ec) return self->close();
      if (!tls) return self->refuse_plain();
      self->handshake();
    });
  }

  void handshake() {
    lowest().expires_after(server_->options.timeout);
    stream_.async_handshake(ssl::stream_base::server, buffer_.data(),
                            [self = shared()](beast::error_code ec, std::size_t used) {
                              if (ec) {
                                self->handshake_failed(ec);
                                return self->close();
                              }
                              self->buffer_.consume(used);
                              self->do_read_header();
                            });
  }

  void handshake_failed(beast::error_code ec) {
    beast::error_code ignored;
    const auto peer = lowest().socket().remote_endpoint(ignored);
    // Operators need this to tell a client without a certificate from one that does not trust
    // ours; no request has been read, so there is nothing of a patient in it.
    spdlog::info("api: TLS handshake with {} failed: {}",
                 ignored ? std::string("?") : peer.address().to_string(), ec.message());
  }

  void refuse_plain() {
    res_.emplace();
    res_->version(11);
    res_->result(http::status::bad_request);
    res_->set(http::field::server, "vitalsd");
    res_->set(http::field::content_type, "application/json");
    res_->body() = R"({"error":"this port speaks HTTPS: use https://"})";
    res_->keep_alive(false);
    res_->prepare_payload();
    spdlog::debug("api: a client spoke plain HTTP to the HTTPS port: answered 400");
    lowest().expires_after(server_->options.timeout);
    http::async_write(lowest(), *res_, [self = shared()](beast::error_code ec, std::size_t) {
      if (ec) return self->close();
      self->linger_plain();
    });
  }

  void do_read_header() {
    idle_ = true;
    idle_since_ = std::chrono::steady_clock::now();
    version_ = 11;
    client_keep_alive_ = false;
    log_method_ = "?";
    log_pattern_.clear();
    log_who_ = "-";
    parser_.emplace();
    parser_->header_limit(8192);
    parser_->body_limit(server_->options.max_body_bytes);
    lowest().expires_after(server_->options.timeout);
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared()](beast::error_code ec, std::size_t) { self->on_header(ec); });
  }

  void on_header(beast::error_code ec) {
    if (ec) return on_read_error(ec);
    idle_ = false;
    const auto length = parser_->content_length();
    if (length && *length > server_->options.max_body_bytes) return too_large();
    const auto& req = parser_->get();
    // Kept apart from the message: release() in on_request() empties the parser's copy.
    version_ = req.version() == 10 ? 10 : 11;
    client_keep_alive_ = req.keep_alive();
    log_method_ = std::string(sv(req.method_string()));
    const auto expect = sv(req[http::field::expect]);
    if (iequals(expect, "100-continue") && !parser_->is_done()) {
      // curl and others wait for this before sending a larger body.
      continue_.emplace(http::status::continue_, req.version());
      lowest().expires_after(server_->options.timeout);
      http::async_write(stream_, *continue_, [self = shared()](beast::error_code e, std::size_t) {
        if (e) return self->close();
        self->do_read_body();
      });
      return;
    }
    do_read_body();
  }

  void do_read_body() {
    lowest().expires_after(server_->options.timeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared()](beast::error_code ec, std::size_t) {
                       if (ec) return self->on_read_error(ec);
                       self->on_request();
                     });
  }

  void on_read_error(beast::error_code ec) {
    if (ec == http::error::body_limit) return too_large();
    if (ec == http::error::header_limit) {
      return send(error_reply(431, "request header fields too large"), false);
    }
    if (ec.category() == http::make_error_code(http::error::bad_target).category() &&
        ec != http::error::end_of_stream && ec != http::error::partial_message) {
      return send(error_reply(400, "malformed HTTP request"), false);
    }
    // End of stream, timeout, reset or stop(): nothing to answer.
    close();
  }

  void too_large() {
    send(error_reply(413, fmt::format("request body is larger than {} bytes",
                                      server_->options.max_body_bytes)),
         false);
  }

  void on_request() {
    req_ = parser_->release();
    if (server_->stopped) return close();
    handle();
  }

  void handle() {
    const request_view req{sv(req_.method_string()), sv(req_.target()),
                           sv(req_[http::field::authorization]),
                           sv(req_[http::field::content_type]), req_.body()};
    auto out =
        handle_request(req, server_->backend, server_->tokens, server_->options.metrics_auth);
    log_pattern_ = std::move(out.log_pattern);
    log_who_ = std::move(out.log_who);
    if (auto* r = std::get_if<reply>(&out.action)) return send(std::move(*r));
    if (auto* c = std::get_if<alert_command>(&out.action)) {
      return run([this, &c](auto done) { server_->backend.command(*c, std::move(done)); });
    }
    if (auto* p = std::get_if<patient_change>(&out.action)) {
      return run([this, &p](auto done) { server_->backend.change_patient(*p, std::move(done)); });
    }
    const auto& who = std::get<reload_request>(out.action).who;
    run([this, &who](auto done) { server_->backend.reload(who, std::move(done)); });
  }

  /// Calls `done` once; a completion the backend drops without calling answers 500, so the
  /// client is not left waiting on a connection no timer watches.
  struct completion {
    std::shared_ptr<session> owner;
    bool answered = false;
    completion(const completion&) = delete;
    completion& operator=(const completion&) = delete;
    explicit completion(std::shared_ptr<session> s) : owner(std::move(s)) {}
    ~completion() {
      // After stop() nobody is listening, and the io_context may be going away.
      if (!answered && !owner->server_->stopped)
        owner->answer(json_error(500, "the command was dropped without an answer"));
    }
  };

  /// Hands the backend call `call` its `done`, answered once whatever the backend does.
  template <class Call>
  void run(Call&& call) {
    auto state = std::make_shared<completion>(shared());
    call(std::function<void(api_response)>([state](api_response r) {
      if (state->answered) return;  // a second call would write into the next request
      state->answered = true;
      state->owner->answer(std::move(r));
    }));
  }

  void answer(api_response r) {
    // The backend should call on the io thread; dispatch makes another thread harmless.
    asio::dispatch(stream_.get_executor(), [self = shared(), r = std::move(r)]() mutable {
      if (self->server_->stopped) return self->close();
      self->send(reply{std::move(r), {}, {}});
    });
  }

  void send(reply r, bool keep_alive = true) {
    res_.emplace();
    res_->version(version_);
    res_->result(r.response.status);
    res_->set(http::field::server, "vitalsd");
    res_->set(http::field::content_type, r.response.content_type);
    // Alert state changes by the second: no cache in between may answer for us.
    res_->set(http::field::cache_control, "no-store");
    res_->set("X-Content-Type-Options", "nosniff");
    if (!r.allow.empty()) res_->set(http::field::allow, r.allow);
    if (!r.www_authenticate.empty()) res_->set(http::field::www_authenticate, r.www_authenticate);
    res_->body() = std::move(r.response.body);
    res_->keep_alive(keep_alive && client_keep_alive_ && !server_->stopped);
    res_->prepare_payload();
    spdlog::debug("api: {} {} -> {} ({})", log_method_,
                  log_pattern_.empty() ? std::string_view("?") : std::string_view(log_pattern_),
                  r.response.status, log_who_);
    lowest().expires_after(server_->options.timeout);
    http::async_write(stream_, *res_, [self = shared()](beast::error_code ec, std::size_t) {
      if (ec) return self->close();
      if (!self->res_->keep_alive()) return self->linger();
      self->do_read_header();
    });
  }

  /// Ends a connection after an answer that closes it: TLS sends its close_notify (and waits a
  /// moment for the client's); plain shuts our side down and drains.
  void linger() {
    if constexpr (is_tls) {
      lowest().expires_after(linger_time);
      stream_.async_shutdown([self = shared()](beast::error_code) { self->close(); });
    } else {
      linger_plain();
    }
  }

  /// Shuts our side down and reads what the client still sends until it closes, so unread
  /// request bytes do not turn into a reset that destroys our answer in flight.
  void linger_plain() {
    beast::error_code ec;
    lowest().socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return close();
    lowest().expires_after(linger_time);
    drain();
  }

  void drain() {
    lowest().async_read_some(asio::buffer(scratch_),
                             [self = shared()](beast::error_code ec, std::size_t) {
                               if (ec) return self->close();
                               self->drain();
                             });
  }

  Stream stream_;
  bool open_ = true;  // the socket is not closed yet (counted in open_connections)
  bool idle_ = true;  // no request under way
  std::chrono::steady_clock::time_point idle_since_{};
  std::shared_ptr<server_state> server_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::request<http::string_body> req_;
  std::optional<http::response<http::empty_body>> continue_;
  std::optional<http::response<http::string_body>> res_;
  std::array<char, 4096> scratch_{};
  unsigned version_ = 11;
  bool client_keep_alive_ = false;
  std::string log_method_ = "?";
  std::string log_pattern_;
  std::string log_who_ = "-";
};

std::string endpoint_text(const std::string& address, std::uint16_t port) {
  if (address.find(':') != std::string::npos) return fmt::format("[{}]:{}", address, port);
  return fmt::format("{}:{}", address, port);
}

/// The server's TLS context: TLS 1.2 or later, our certificate and key, and with a client CA,
/// a client certificate it issued required of every connection.
ssl::context make_tls_context(const api_options& o) {
  ssl::context ctx(ssl::context::tls_server);
  SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION);
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_compression |
                  ssl::context::single_dh_use);
  // An encrypted key would make OpenSSL prompt on the terminal; refuse it instead.
  ctx.set_password_callback([](std::size_t, ssl::context::password_purpose) { return ""; });
  auto load = [](std::string_view key, const std::string& file, auto&& what) {
    beast::error_code ec;
    what(ec);
    if (ec) {
      throw std::runtime_error(fmt::format("API: cannot use {} '{}': {}", key, file, ec.message()));
    }
  };
  load("tls_cert_file", o.tls_cert_file,
       [&](beast::error_code& ec) { ctx.use_certificate_chain_file(o.tls_cert_file, ec); });
  load("tls_key_file", o.tls_key_file, [&](beast::error_code& ec) {
    ctx.use_private_key_file(o.tls_key_file, ssl::context::pem, ec);
    if (ec && ec.category() == asio::error::get_ssl_category() &&
        ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == X509_R_KEY_VALUES_MISMATCH) {
      ec = {};  // told in words below
    }
  });
  if (SSL_CTX_check_private_key(ctx.native_handle()) != 1) {
    throw std::runtime_error(fmt::format(
        "API: the key in tls_key_file '{}' does not match the certificate", o.tls_key_file));
  }
  if (!o.tls_client_ca_file.empty()) {
    load("tls_client_ca_file", o.tls_client_ca_file,
         [&](beast::error_code& ec) { ctx.load_verify_file(o.tls_client_ca_file, ec); });
    // Tells clients which CAs we accept, so one with several certificates picks the right one.
    SSL_CTX_set_client_CA_list(ctx.native_handle(),
                               SSL_load_client_CA_file(o.tls_client_ca_file.c_str()));
    ctx.set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
  }
  return ctx;
}

}  // namespace

struct api_server::impl : server_state {
  using server_state::server_state;
};

void server_state::do_accept() {
  acceptor.async_accept([self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
    if (self->stopped || ec == asio::error::operation_aborted) return;
    if (ec) {
      // Out of descriptors and the like: try again shortly rather than spin.
      spdlog::warn("api: accept failed: {}", ec.message());
      self->retry.expires_after(std::chrono::milliseconds(100));
      self->retry.async_wait([self](beast::error_code e) {
        if (!e && !self->stopped) self->do_accept();
      });
      return;
    }
    if (self->open_connections >= self->options.max_connections && !self->make_room()) {
      ++self->refused;
      beast::error_code ignored;
      socket.close(ignored);
      self->do_accept();
      return;
    }
    if (self->tls) {
      std::make_shared<session<tls_stream>>(self, std::move(socket), *self->tls)->start();
    } else {
      std::make_shared<session<plain_stream>>(self, std::move(socket))->start();
    }
    self->do_accept();
  });
}

bool server_state::make_room() {
  std::shared_ptr<connection> oldest;
  for (const auto& [key, weak] : sessions) {
    auto c = weak.lock();
    if (!c || !c->idle()) continue;
    if (!oldest || c->idle_since() < oldest->idle_since()) oldest = std::move(c);
  }
  const auto now = std::chrono::steady_clock::now();
  if (now >= next_limit_log) {
    // Once a minute at most: a flood of connections must not become a flood of log lines.
    next_limit_log = now + std::chrono::minutes(1);
    spdlog::warn(
        "api: {} connections open (max_connections): {} ({} idle closed, {} new refused so far)",
        open_connections,
        oldest ? "the longest-idle one is closed for the new one"
               : "none idle, the new one refused",
        evicted + (oldest ? 1 : 0), refused + (oldest ? 0 : 1));
  }
  if (!oldest) return false;
  oldest->close();
  ++evicted;
  return true;
}

api_server::api_server(asio::io_context& io, api_options options, api_backend& backend)
    : impl_(std::make_shared<impl>(io, std::move(options), backend)) {
  auto& d = *impl_;
  const auto where = endpoint_text(d.options.address, d.options.port);
  beast::error_code ec;
  const auto address = asio::ip::make_address(d.options.address, ec);
  if (ec) throw std::runtime_error(fmt::format("API: invalid listen address {}", where));
  const bool tls = !d.options.tls_cert_file.empty();
  if (!tls && !address.is_loopback() && !d.options.allow_plain_http) {
    throw std::runtime_error(
        fmt::format("API: refusing plain HTTP on {}, which is not a loopback address: configure "
                    "tls_cert_file and tls_key_file, or allow_plain_http behind a TLS proxy",
                    where));
  }
  if (tls) d.tls.emplace(make_tls_context(d.options));
  const tcp::endpoint endpoint(address, d.options.port);
  auto fail = [&](std::string_view what) {
    throw std::runtime_error(
        fmt::format("API: cannot listen on {}: {} failed: {}", where, what, ec.message()));
  };
  if (d.acceptor.open(endpoint.protocol(), ec); ec) fail("open");
  if (d.acceptor.set_option(asio::socket_base::reuse_address(true), ec); ec) fail("setsockopt");
  if (d.acceptor.bind(endpoint, ec); ec) fail("bind");
  if (d.acceptor.listen(asio::socket_base::max_listen_connections, ec); ec) fail("listen");
  d.bound_port = d.acceptor.local_endpoint(ec).port();
  if (ec) fail("getsockname");
}

api_server::~api_server() {
  stop();
}

void api_server::start() {
  auto& d = *impl_;
  if (d.tokens.empty()) {
    // Health stays open for the orchestrator; the data needs a token, and there is none.
    spdlog::warn(
        "API: no tokens configured ([[api.tokens]]): every endpoint but /healthz answers 503");
  }
  spdlog::info("API: listening on {}://{} ({} token(s), /metrics {}{})", d.tls ? "https" : "http",
               endpoint_text(d.options.address, d.bound_port), d.tokens.size(),
               d.options.metrics_auth ? "needs a token" : "open",
               d.options.tls_client_ca_file.empty() ? "" : ", client certificates required");
  d.do_accept();
}

void api_server::stop() {
  auto& d = *impl_;
  if (d.stopped) return;
  d.stopped = true;
  beast::error_code ec;
  d.acceptor.close(ec);
  d.retry.cancel();
  // Copied first: closing may destroy a session, which erases itself from the map.
  std::vector<std::shared_ptr<connection>> open;
  for (const auto& [key, weak] : d.sessions) {
    if (auto s = weak.lock()) open.push_back(std::move(s));
  }
  for (const auto& s : open) s->close();
}

void api_server::set_tokens(std::vector<api_token> tokens) {
  impl_->set_tokens(std::move(tokens));
}

std::uint16_t api_server::port() const noexcept {
  return impl_->bound_port;
}

}  // namespace vitals::daemon
