// vitalsd's HTTP API: the listening socket and the connections, read and written with Beast
// (the only file of the server that includes it). A request is routed and authorised in
// api_routing.cpp, its query string and body are read in api_request.cpp.
#include <vitals/daemon/api_server.hpp>

#include <algorithm>
#include <array>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "api_request.hpp"
#include "api_routing.hpp"

namespace vitals::daemon {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

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

class session;

/// What the acceptor and every connection share; lives as long as the last of them.
struct server_state : std::enable_shared_from_this<server_state> {
  server_state(asio::io_context& io_, api_options o, api_backend& b)
      : io(io_), options(std::move(o)), backend(b), acceptor(io_), retry(io_) {
    for (auto& t : options.tokens) {
      tokens.push_back({t.name, sha256(t.token), t.role == api_role::ack});
      // Only digests are kept: a core dump or a stray log of the options shows no secret.
      std::fill(t.token.begin(), t.token.end(), '\0');
      t.token.clear();
    }
  }

  void do_accept();

  asio::io_context& io;
  api_options options;
  api_backend& backend;
  std::vector<token_entry> tokens;
  tcp::acceptor acceptor;
  asio::steady_timer retry;  ///< accept errors (EMFILE): back off instead of spinning
  std::uint16_t bound_port = 0;
  bool stopped = false;
  std::unordered_map<const void*, std::weak_ptr<session>> sessions;
};

/// One connection: reads a request, answers it, repeats while keep-alive holds.
class session : public std::enable_shared_from_this<session> {
 public:
  session(tcp::socket socket, std::shared_ptr<server_state> server)
      : stream_(std::move(socket)), server_(std::move(server)) {}

  ~session() { server_->sessions.erase(this); }

  void start() {
    server_->sessions.emplace(this, weak_from_this());
    do_read_header();
  }

  void close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
  }

 private:
  void do_read_header() {
    version_ = 11;
    client_keep_alive_ = false;
    log_method_ = "?";
    log_pattern_.clear();
    log_who_ = "-";
    parser_.emplace();
    parser_->header_limit(8192);
    parser_->body_limit(server_->options.max_body_bytes);
    stream_.expires_after(server_->options.timeout);
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_header(ec); });
  }

  void on_header(beast::error_code ec) {
    if (ec) return on_read_error(ec);
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
      stream_.expires_after(server_->options.timeout);
      http::async_write(stream_, *continue_,
                        [self = shared_from_this()](beast::error_code e, std::size_t) {
                          if (e) return self->close();
                          self->do_read_body();
                        });
      return;
    }
    do_read_body();
  }

  void do_read_body() {
    stream_.expires_after(server_->options.timeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) {
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
    run_command(std::get<alert_command>(out.action));
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

  void run_command(const alert_command& c) {
    auto state = std::make_shared<completion>(shared_from_this());
    server_->backend.command(c, [state](api_response r) {
      if (state->answered) return;  // a second call would write into the next request
      state->answered = true;
      state->owner->answer(std::move(r));
    });
  }

  void answer(api_response r) {
    // The backend should call on the io thread; dispatch makes another thread harmless.
    asio::dispatch(stream_.get_executor(), [self = shared_from_this(), r = std::move(r)]() mutable {
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
    stream_.expires_after(server_->options.timeout);
    http::async_write(stream_, *res_,
                      [self = shared_from_this()](beast::error_code ec, std::size_t) {
                        if (ec) return self->close();
                        if (!self->res_->keep_alive()) return self->linger();
                        self->do_read_header();
                      });
  }

  /// Shuts our side down and reads what the client still sends until it closes, so unread
  /// request bytes do not turn into a reset that destroys our answer in flight.
  void linger() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return close();
    stream_.expires_after(linger_time);
    drain();
  }

  void drain() {
    stream_.async_read_some(asio::buffer(scratch_),
                            [self = shared_from_this()](beast::error_code ec, std::size_t) {
                              if (ec) return self->close();
                              self->drain();
                            });
  }

  beast::tcp_stream stream_;
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
    std::make_shared<session>(std::move(socket), self)->start();
    self->do_accept();
  });
}

api_server::api_server(asio::io_context& io, api_options options, api_backend& backend)
    : impl_(std::make_shared<impl>(io, std::move(options), backend)) {
  auto& d = *impl_;
  const auto where = endpoint_text(d.options.address, d.options.port);
  beast::error_code ec;
  const auto address = asio::ip::make_address(d.options.address, ec);
  if (ec) throw std::runtime_error(fmt::format("API: invalid listen address {}", where));
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
  spdlog::info("API: listening on {} ({} token(s), /metrics {})",
               endpoint_text(d.options.address, d.bound_port), d.tokens.size(),
               d.options.metrics_auth ? "needs a token" : "open");
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
  std::vector<std::shared_ptr<session>> open;
  for (const auto& [key, weak] : d.sessions) {
    if (auto s = weak.lock()) open.push_back(std::move(s));
  }
  for (const auto& s : open) s->close();
}

std::uint16_t api_server::port() const noexcept {
  return impl_->bound_port;
}

}  // namespace vitals::daemon
