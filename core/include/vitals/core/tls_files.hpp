#pragma once
/// What the PEM files of a TLS configuration hold, read with OpenSSL when the configuration is
/// loaded, so that a check passes only what a handshake can use. Shared by the broker connection
/// (a TLS client) and the HTTPS API (a TLS server).

#include <string>
#include <string_view>
#include <vector>

namespace vitals::core {

/// The files of one TLS end.
struct tls_files {
  std::string ca_file;    ///< PEM bundle of the CAs to trust (the peer's issuers)
  std::string ca_path;    ///< a directory of hashed PEM CA certificates (c_rehash)
  std::string cert_file;  ///< our certificate chain (PEM); may hold the key too
  std::string key_file;   ///< our private key (PEM, not encrypted), when not in cert_file

  bool operator==(const tls_files&) const = default;
};

/// A finding about the files: `key` is the field it concerns ("ca_file", "ca_path",
/// "cert_file", "key_file"); a `warning` does not stop the start.
struct tls_finding {
  std::string key;
  std::string message;
  bool warning = false;
};

/// Checks that the CA file holds at least one certificate, the CA directory exists, the
/// certificate parses, is within its validity (a warning within 30 days of its end) and has a
/// private key (in key_file or in itself) that matches it. `whose` names our end in messages
/// ("client", "server").
std::vector<tls_finding> check_tls_files(const tls_files& files, std::string_view whose);

/// OpenSSL's newest error in words ("no detail" when there is none); clears the error queue.
std::string openssl_error();

/// A password callback for OpenSSL (`pem_password_cb`) that never prompts on the terminal, as
/// OpenSSL's default would, blocking the start: an encrypted key fails to load instead.
int refuse_password_prompt(char* buf, int size, int rwflag, void* user);

}  // namespace vitals::core
