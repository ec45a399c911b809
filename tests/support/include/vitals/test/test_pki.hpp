#pragma once
/// A private certificate authority made in the test, with OpenSSL: server and client
/// certificates for TLS tests (a good one, one for another host, an expired one, one from
/// another CA), written as PEM files into a directory.

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace vitals::test {

/// One issued certificate: its PEM files.
struct issued_cert {
  std::filesystem::path cert;  ///< the certificate (PEM)
  std::filesystem::path key;   ///< its private key (PEM, unencrypted, mode 0600)
};

/// What to issue.
struct cert_request {
  std::string common_name;
  std::vector<std::string> dns_names;  ///< subjectAltName DNS entries
  std::vector<std::string> ip_addresses;  ///< subjectAltName IP entries ("127.0.0.1")
  bool server = true;  ///< serverAuth (else clientAuth) extended key usage
  /// Validity relative to now: [not_before, not_after]; an expired certificate has both in the
  /// past.
  std::chrono::hours not_before{-1};
  std::chrono::hours not_after{24 * 30};
};

/// A self-signed CA (EC P-256 keys throughout) that issues certificates into `dir`.
class test_pki {
 public:
  /// Makes the CA "<name> test CA" and writes `<name>-ca.pem` into `dir`.
  test_pki(std::filesystem::path dir, std::string name);
  ~test_pki();
  test_pki(const test_pki&) = delete;
  test_pki& operator=(const test_pki&) = delete;

  /// The CA's certificate (what clients trust).
  const std::filesystem::path& ca_file() const noexcept;

  /// Issues a certificate signed by this CA, written as `<file_stem>.pem` and
  /// `<file_stem>-key.pem`.
  issued_cert issue(const std::string& file_stem, const cert_request& r);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace vitals::test
