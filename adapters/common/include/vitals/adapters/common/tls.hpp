#pragma once
/// TLS to the MQTT broker: which URIs are TLS, what the configured files hold (checked at load
/// time, so that --check-config passes only what can start), and a diagnosis of a failed
/// handshake that names its cause (Paho reports only "SSL connect error").

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include <vitals/core/tls_files.hpp>

namespace vitals::adapters::common {

/// The TLS side of the broker connection ([mqtt] ca_file, ca_path, cert_file, key_file,
/// verify_tls). Used only with a TLS URI. With ca_file and ca_path empty, the system's CAs are
/// trusted; cert_file and key_file are the client's certificate, for brokers that require one.
struct tls_options : core::tls_files {
  bool verify = true;  ///< check the server's chain and host name; false only when configured

  bool operator==(const tls_options&) const = default;
};

/// True for ssl://, mqtts:// and wss:// (case-insensitive scheme).
bool is_tls_uri(std::string_view uri) noexcept;

/// core::check_tls_files for the client end.
std::vector<core::tls_finding> check_tls_files(const tls_options& tls);

/// Makes one TLS handshake with the broker of `uri` with `tls`, as Paho would, and says how it
/// went in words an operator can act on: "the broker's certificate is not trusted (unable to get
/// local issuer certificate): check ca_file", "the broker's certificate has expired", "the
/// broker's certificate is for another host name", "the broker requires a client certificate",
/// or "the TLS handshake succeeds" (then the failure lies elsewhere). Blocks up to `timeout`;
/// call it off the hot path, after a connection failure.
std::string diagnose_tls(std::string_view uri, const tls_options& tls,
                         std::chrono::milliseconds timeout);

}  // namespace vitals::adapters::common
