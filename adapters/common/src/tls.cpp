#include <vitals/adapters/common/tls.hpp>

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <memory>

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

namespace vitals::adapters::common {

namespace {

struct ctx_free {
  void operator()(SSL_CTX* c) const noexcept { SSL_CTX_free(c); }
};
struct ssl_free {
  void operator()(SSL* s) const noexcept { SSL_free(s); }
};

using core::openssl_error;

struct endpoint {
  std::string host;
  std::string port;
};

/// host and port of "scheme://host[:port][/path]"; IPv6 in brackets.
endpoint endpoint_of(std::string_view uri) {
  const auto scheme_end = uri.find("://");
  std::string scheme(uri.substr(0, scheme_end));
  for (auto& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string_view rest = scheme_end == std::string_view::npos ? uri : uri.substr(scheme_end + 3);
  rest = rest.substr(0, rest.find('/'));
  endpoint e{std::string(rest), scheme == "wss" ? "443" : "8883"};
  if (!rest.empty() && rest.front() == '[') {
    const auto close = rest.find(']');
    e.host = std::string(rest.substr(1, close - 1));
    if (close + 1 < rest.size() && rest[close + 1] == ':') e.port = rest.substr(close + 2);
  } else if (const auto colon = rest.rfind(':'); colon != std::string_view::npos) {
    e.host = std::string(rest.substr(0, colon));
    e.port = std::string(rest.substr(colon + 1));
  }
  return e;
}

/// A connected TCP socket, or -1 with `error` set.
int connect_tcp(const endpoint& e, std::chrono::milliseconds timeout, std::string& error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (const int rc = ::getaddrinfo(e.host.c_str(), e.port.c_str(), &hints, &found); rc != 0) {
    error = fmt::format("cannot resolve {}: {}", e.host, ::gai_strerror(rc));
    return -1;
  }
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> list(found, ::freeaddrinfo);
  error = "no address";
  for (const addrinfo* a = found; a; a = a->ai_next) {
    const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) continue;
    if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0 || errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      int so_error = 0;
      socklen_t len = sizeof so_error;
      if (::poll(&p, 1, static_cast<int>(timeout.count())) == 1 &&
          ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len) == 0 && so_error == 0) {
        ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
        timeval tv{static_cast<time_t>(timeout.count() / 1000),
                   static_cast<suseconds_t>(timeout.count() % 1000 * 1000)};
        ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        return fd;
      }
      error = so_error ? std::strerror(so_error) : "timed out";
    } else {
      error = std::strerror(errno);
    }
    ::close(fd);
  }
  error = fmt::format("cannot connect to {}:{}: {}", e.host, e.port, error);
  return -1;
}

/// What a failed verification means, in the words of the options that fix it.
std::string verify_failure(long result) {
  switch (result) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
      return "the broker's certificate has expired";
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return "the broker's certificate is not valid yet (check the clocks)";
    case X509_V_ERR_HOSTNAME_MISMATCH:
      return "the broker's certificate is for another host name than the one in mqtt.broker";
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
      return fmt::format(
          "the broker's certificate is not trusted ({}): check mqtt.ca_file / "
          "ca_path",
          X509_verify_cert_error_string(result));
    default:
      return fmt::format("the broker's certificate was refused: {}",
                         X509_verify_cert_error_string(result));
  }
}

/// What a TLS alert or library error during the handshake means.
std::string handshake_failure(const std::string& reason) {
  if (reason.find("certificate required") != std::string::npos ||
      reason.find("handshake failure") != std::string::npos) {
    return fmt::format(
        "the broker refused the handshake ({}): it probably requires a client "
        "certificate (mqtt.cert_file, key_file) or one it trusts",
        reason);
  }
  if (reason.find("unknown ca") != std::string::npos ||
      reason.find("bad certificate") != std::string::npos ||
      reason.find("certificate expired") != std::string::npos) {
    return fmt::format("the broker refused the client certificate ({})", reason);
  }
  if (reason.find("unsupported protocol") != std::string::npos ||
      reason.find("protocol version") != std::string::npos) {
    return fmt::format("no common TLS version ({}): vitalsd speaks TLS 1.2 and later", reason);
  }
  return fmt::format("the TLS handshake failed: {}", reason);
}

std::unique_ptr<SSL_CTX, ctx_free> make_context(const tls_options& tls, std::string& error) {
  std::unique_ptr<SSL_CTX, ctx_free> ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) {
    error = openssl_error();
    return nullptr;
  }
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_default_passwd_cb(ctx.get(), core::refuse_password_prompt);
  const bool own_ca = !tls.ca_file.empty() || !tls.ca_path.empty();
  const bool loaded = own_ca ? SSL_CTX_load_verify_locations(
                                   ctx.get(), tls.ca_file.empty() ? nullptr : tls.ca_file.c_str(),
                                   tls.ca_path.empty() ? nullptr : tls.ca_path.c_str()) == 1
                             : SSL_CTX_set_default_verify_paths(ctx.get()) == 1;
  if (!loaded) {
    error = "cannot load the CA certificates: " + openssl_error();
    return nullptr;
  }
  if (!tls.cert_file.empty()) {
    const auto& key = tls.key_file.empty() ? tls.cert_file : tls.key_file;
    if (SSL_CTX_use_certificate_chain_file(ctx.get(), tls.cert_file.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx.get(), key.c_str(), SSL_FILETYPE_PEM) != 1) {
      error = "cannot load the client certificate: " + openssl_error();
      return nullptr;
    }
  }
  SSL_CTX_set_verify(ctx.get(), tls.verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nullptr);
  return ctx;
}

}  // namespace

bool is_tls_uri(std::string_view uri) noexcept {
  const auto end = uri.find("://");
  if (end == std::string_view::npos) return false;
  std::string scheme(uri.substr(0, end));
  for (auto& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return scheme == "ssl" || scheme == "mqtts" || scheme == "wss";
}

std::vector<core::tls_finding> check_tls_files(const tls_options& tls) {
  return core::check_tls_files(tls, "client");
}

std::string diagnose_tls(std::string_view uri, const tls_options& tls,
                         std::chrono::milliseconds timeout) {
  const auto e = endpoint_of(uri);
  std::string error;
  auto ctx = make_context(tls, error);
  if (!ctx) return error;
  const int fd = connect_tcp(e, timeout, error);
  if (fd < 0) return error;
  std::unique_ptr<SSL, ssl_free> ssl(SSL_new(ctx.get()));
  SSL_set_fd(ssl.get(), fd);
  SSL_set_tlsext_host_name(ssl.get(), e.host.c_str());
  if (tls.verify) SSL_set1_host(ssl.get(), e.host.c_str());
  std::string result;
  if (SSL_connect(ssl.get()) != 1) {
    const long verify = SSL_get_verify_result(ssl.get());
    result = verify != X509_V_OK ? verify_failure(verify) : handshake_failure(openssl_error());
  } else {
    // TLS 1.3 sends a refusal of the client's certificate after the handshake: read briefly (an
    // MQTT broker sends nothing before CONNECT, so silence means accepted).
    timeval brief{0, 500000};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &brief, sizeof brief);
    char byte = 0;
    const int n = SSL_peek(ssl.get(), &byte, 1);
    const int err = n > 0 ? SSL_ERROR_NONE : SSL_get_error(ssl.get(), n);
    if (err == SSL_ERROR_SSL) {
      result = handshake_failure(openssl_error());
    } else {
      result = fmt::format(
          "the TLS handshake with {}:{} succeeds ({}): the failure lies "
          "elsewhere (credentials, the broker's ACL)",
          e.host, e.port, SSL_get_version(ssl.get()));
    }
  }
  ERR_clear_error();
  ::close(fd);
  return result;
}

}  // namespace vitals::adapters::common
