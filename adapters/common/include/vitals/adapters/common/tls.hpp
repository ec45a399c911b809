#pragma once
/// TLS to the MQTT broker: which URIs are TLS, what the configured files hold (checked at load
/// time, so that --check-config passes only what can start), and a diagnosis of a failed
/// handshake that names its cause (Paho reports only "SSL connect error").

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace vitals::adapters::common {

/// The TLS side of the broker connection ([mqtt] ca_file, ca_path, cert_file, key_file,
/// verify_tls). Used only with a TLS URI.
struct tls_options {
  std::string ca_file;    ///< PEM bundle of the CAs to trust; with ca_path empty too: the system's
  std::string ca_path;    ///< a directory of hashed PEM CA certificates (c_rehash)
  std::string cert_file;  ///< the client's certificate chain (PEM); may hold the key too
  std::string key_file;   ///< the client's private key (PEM), when not in cert_file
  bool verify = true;     ///< check the server's chain and host name; false only when configured

  bool operator==(const tls_options&) const = default;
};

/// True for ssl://, mqtts:// and wss:// (case-insensitive scheme).
bool is_tls_uri(std::string_view uri) noexcept;

/// A finding about the TLS files: `key` names the option, `warning` does not stop the start.
struct tls_finding {
  std::string key;
  std::string message;
  bool warning = false;
};

/// Reads the files the options name with OpenSSL: the CA file holds at least one certificate,
/// the CA directory exists, the client certificate parses, has a private key (in key_file or in
/// itself) that matches it, and is not expired (a warning within 30 days of its end).
std::vector<tls_finding> check_tls_files(const tls_options& tls);

/// Makes one TLS handshake with the broker of `uri` with `tls`, as Paho would, and says how it
/// went in words an operator can act on: "the broker's certificate is not trusted (unable to get
/// local issuer certificate): check ca_file", "the broker's certificate has expired", "the
/// broker's certificate is for another host name", "the broker requires a client certificate",
/// or "the TLS handshake succeeds" (then the failure lies elsewhere). Blocks up to `timeout`;
/// call it off the hot path, after a connection failure.
std::string diagnose_tls(std::string_view uri, const tls_options& tls,
                         std::chrono::milliseconds timeout);

}  // namespace vitals::adapters::common
