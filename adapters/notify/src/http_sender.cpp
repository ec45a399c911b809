#include <vitals/adapters/notify/http_sender.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cctype>
#include <charconv>
#include <list>
#include <stdexcept>

namespace vitals::adapters::notify {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

namespace {

constexpr std::size_t response_body_limit = 1024 * 1024;  // receivers answer small documents
constexpr std::size_t body_snippet = 200;

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool fail(std::string* error, std::string text) {
  if (error) *error = std::move(text);
  return false;
}

bool is_ip_literal(const std::string& host) {
  boost::system::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

/// Retry-After in delta-seconds; the HTTP-date form is ignored (receivers we know send seconds,
/// and a date would need the receiver's clock to agree with ours).
std::optional<std::chrono::seconds> parse_retry_after(std::string_view v) {
  while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
  while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
  long long s = 0;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), s);
  if (ec != std::errc() || end != v.data() + v.size() || s < 0) return std::nullopt;
  return std::chrono::seconds(std::min<long long>(s, 24 * 3600));
}

/// The URL's path joined with the payload's suffix, the URL's own query kept last.
std::string join_target(const std::string& url_target, std::string_view suffix) {
  if (suffix.empty()) return url_target;
  const auto q = url_target.find('?');
  std::string path = url_target.substr(0, q);
  const std::string query = q == std::string::npos ? std::string() : url_target.substr(q + 1);
  if (!path.empty() && path.back() == '/' && suffix.front() == '/') path.pop_back();
  if (suffix.front() != '/' && suffix.front() != '?' && (path.empty() || path.back() != '/')) {
    path += '/';
  }
  path += suffix;
  if (!query.empty()) path += (suffix.find('?') == std::string_view::npos ? '?' : '&') + query;
  return path;
}

}  // namespace

std::optional<http_url> parse_http_url(std::string_view url, std::string* error) {
  http_url out;
  const auto sep = url.find("://");
  if (sep == std::string_view::npos) {
    fail(error, "not an http(s) URL (no scheme)");
    return std::nullopt;
  }
  const std::string scheme = lower(url.substr(0, sep));
  if (scheme == "https") {
    out.tls = true;
  } else if (scheme != "http") {
    fail(error, "unsupported URL scheme '" + scheme + "' (http or https only)");
    return std::nullopt;
  }
  std::string_view rest = url.substr(sep + 3);
  const auto auth_end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, auth_end);
  std::string_view tail = auth_end == std::string_view::npos ? "" : rest.substr(auth_end);
  if (authority.find('@') != std::string_view::npos) {
    // Credentials in URLs end up in logs; receivers take a secret instead.
    fail(error, "user information in the URL is not supported (use the receiver secret)");
    return std::nullopt;
  }
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) {
      fail(error, "unterminated IPv6 address in the URL");
      return std::nullopt;
    }
    out.host = std::string(authority.substr(1, close - 1));
    const auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        fail(error, "unexpected text after the IPv6 address in the URL");
        return std::nullopt;
      }
      port = after.substr(1);
    }
  } else {
    const auto colon = authority.rfind(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (out.host.empty()) {
    fail(error, "no host in the URL");
    return std::nullopt;
  }
  if (port.empty()) {
    out.port = out.tls ? "443" : "80";
  } else {
    unsigned p = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (ec != std::errc() || end != port.data() + port.size() || p == 0 || p > 65535) {
      fail(error, "bad port '" + std::string(port) + "' in the URL");
      return std::nullopt;
    }
    out.port = std::to_string(p);
  }
  tail = tail.substr(0, tail.find('#'));  // fragments never go on the wire
  out.target = tail.empty() ? "/" : (tail.front() == '?' ? "/" : "") + std::string(tail);
  return out;
}

/// One request: resolve, connect, (TLS), write, read. Kept alive by its own pending handlers.
class http_attempt : public std::enable_shared_from_this<http_attempt> {
 public:
  http_attempt(asio::io_context& io, std::shared_ptr<ssl::context> ctx, const http_url& url,
               std::chrono::milliseconds timeout, http_sender::completion done, bool whole_answer)
      : resolver_(io),
        deadline_(io),
        ctx_(std::move(ctx)),
        url_(url),
        timeout_(timeout),
        done_(std::move(done)),
        whole_answer_(whole_answer) {
    if (url_.tls) {
      tls_.emplace(io, *ctx_);
    } else {
      plain_.emplace(io);
    }
    parser_.body_limit(response_body_limit);
  }

  http::request<http::string_body>& request() { return req_; }

  void start(bool verify) {
    deadline_.expires_after(timeout_);
    deadline_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (ec || self->finished_) return;
      self->timed_out_ = true;
      self->abort_io();  // the pending operation then completes with operation_aborted
    });
    phase_ = "resolve";
    resolver_.async_resolve(url_.host, url_.port,
                            [self = shared_from_this(), verify](boost::system::error_code ec,
                                                                tcp::resolver::results_type r) {
                              if (ec) return self->failed(ec);
                              self->connect(r, verify);
                            });
  }

  /// Stops without calling the completion.
  void cancel() {
    done_ = nullptr;
    finished_ = true;
    deadline_.cancel();
    abort_io();
  }

 private:
  beast::tcp_stream& tcp() { return tls_ ? tls_->next_layer() : *plain_; }

  void abort_io() {
    resolver_.cancel();
    boost::system::error_code ignored;
    tcp().socket().close(ignored);
  }

  void connect(const tcp::resolver::results_type& r, bool verify) {
    phase_ = "connect";
    tcp().async_connect(
        r, [self = shared_from_this(), verify](boost::system::error_code ec, const tcp::endpoint&) {
          if (ec) return self->failed(ec);
          if (self->tls_) return self->handshake(verify);
          self->write();
        });
  }

  void handshake(bool verify) {
    phase_ = "TLS handshake";
    // SNI: virtual hosts and CDNs pick the certificate by it; not sent for IP literals (RFC 6066).
    if (!is_ip_literal(url_.host) &&
        !SSL_set_tlsext_host_name(tls_->native_handle(), url_.host.c_str())) {
      return failed(boost::system::error_code(static_cast<int>(::ERR_get_error()),
                                              asio::error::get_ssl_category()));
    }
    if (verify) tls_->set_verify_callback(ssl::host_name_verification(url_.host));
    tls_->async_handshake(ssl::stream_base::client,
                          [self = shared_from_this()](boost::system::error_code ec) {
                            if (ec) return self->failed(ec);
                            self->write();
                          });
  }

  void write() {
    phase_ = "write";
    auto on_write = [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
      if (ec) return self->failed(ec);
      self->read();
    };
    if (tls_) {
      http::async_write(*tls_, req_, std::move(on_write));
    } else {
      http::async_write(*plain_, req_, std::move(on_write));
    }
  }

  void read() {
    phase_ = "read";
    auto on_read = [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
      if (ec) return self->failed(ec);
      self->answered();
    };
    if (tls_) {
      http::async_read(*tls_, buffer_, parser_, std::move(on_read));
    } else {
      http::async_read(*plain_, buffer_, parser_, std::move(on_read));
    }
  }

  void answered() {
    const auto& res = parser_.get();
    http_result r;
    r.status = static_cast<int>(res.result_int());
    if (auto it = res.find(http::field::retry_after); it != res.end()) {
      r.retry_after = parse_retry_after(std::string_view(it->value().data(), it->value().size()));
    }
    r.body = whole_answer_ ? res.body() : res.body().substr(0, body_snippet);
    // No TLS close_notify: we asked for "Connection: close" and have the whole answer; waiting
    // for the peer's shutdown only adds a way to hang.
    finish(std::move(r));
  }

  void failed(boost::system::error_code ec) {
    http_result r;
    if (timed_out_) {
      r.error = "timed out after " + std::to_string(timeout_.count()) + " ms (" + phase_ + ")";
    } else {
      r.error = phase_ + " failed: " + ec.message();
    }
    finish(std::move(r));
  }

  void finish(http_result r) {
    if (finished_) return;
    finished_ = true;
    deadline_.cancel();
    boost::system::error_code ignored;
    tcp().socket().shutdown(tcp::socket::shutdown_both, ignored);
    tcp().socket().close(ignored);
    auto done = std::move(done_);
    done_ = nullptr;
    if (done) done(std::move(r));
  }

  tcp::resolver resolver_;
  asio::steady_timer deadline_;
  std::shared_ptr<ssl::context> ctx_;  // outlives the SSL object even if the sender goes first
  std::optional<beast::tcp_stream> plain_;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls_;
  http_url url_;
  std::chrono::milliseconds timeout_;
  http_sender::completion done_;
  bool whole_answer_ = false;
  http::request<http::string_body> req_;
  beast::flat_buffer buffer_;
  http::response_parser<http::string_body> parser_;
  std::string phase_;
  bool finished_ = false;
  bool timed_out_ = false;
};

struct http_sender::impl {
  asio::io_context& io;
  std::string name;
  tls_settings tls;
  std::shared_ptr<ssl::context> ctx;
  std::list<std::weak_ptr<http_attempt>> attempts;
};

http_sender::http_sender(asio::io_context& io, std::string name, tls_settings tls)
    : impl_(std::make_unique<impl>(impl{io, std::move(name), std::move(tls), nullptr, {}})) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  ctx->set_default_verify_paths();
  if (!impl_->tls.ca_file.empty()) {
    boost::system::error_code ec;
    ctx->load_verify_file(impl_->tls.ca_file, ec);
    if (ec) {
      throw std::runtime_error("receiver " + impl_->name + ": cannot load ca_file '" +
                               impl_->tls.ca_file + "': " + ec.message());
    }
  }
  if (const auto& t = impl_->tls; !t.cert_file.empty()) {
    boost::system::error_code ec;
    ctx->use_certificate_chain_file(t.cert_file, ec);
    const auto& key = t.key_file.empty() ? t.cert_file : t.key_file;
    if (!ec) ctx->use_private_key_file(key, ssl::context::pem, ec);
    if (ec) {
      throw std::runtime_error("receiver " + impl_->name +
                               ": cannot load the client certificate '" + t.cert_file +
                               "' or its key: " + ec.message());
    }
  }
  if (impl_->tls.verify_tls) {
    ctx->set_verify_mode(ssl::verify_peer);
  } else {
    ctx->set_verify_mode(ssl::verify_none);
    spdlog::warn("receiver {}: TLS certificate verification is disabled (verify_tls = false)",
                 impl_->name);
  }
  impl_->ctx = std::move(ctx);
}

http_sender::~http_sender() {
  cancel();
}

void http_sender::post(const http_url& url, std::string_view path_suffix, http_post request,
                       std::chrono::milliseconds timeout, completion done) {
  auto& d = *impl_;
  d.attempts.remove_if([](const std::weak_ptr<http_attempt>& w) { return w.expired(); });
  auto a = std::make_shared<http_attempt>(d.io, d.ctx, url, timeout, std::move(done),
                                          request.whole_answer);
  auto& req = a->request();
  req.method(http::string_to_verb(request.method));
  req.target(join_target(url.target, path_suffix));
  req.version(11);
  const bool default_port = url.port == (url.tls ? "443" : "80");
  const std::string host =
      url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
  req.set(http::field::host, default_port ? host : host + ":" + url.port);
  req.set(http::field::user_agent, "vitalsd/0.1");
  if (!request.body.empty() || req.method() == http::verb::post) {
    req.set(http::field::content_type, request.content_type);
  }
  req.set(http::field::connection, "close");
  for (auto& [name, value] : request.headers) req.set(name, value);
  req.body() = std::move(request.body);
  req.prepare_payload();
  d.attempts.push_back(a);
  a->start(d.tls.verify_tls);
}

void http_sender::cancel() {
  for (auto& w : impl_->attempts) {
    if (auto a = w.lock()) a->cancel();
  }
  impl_->attempts.clear();
}

}  // namespace vitals::adapters::notify
