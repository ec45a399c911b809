#include <vitals/core/tls_files.hpp>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

namespace vitals::core {

namespace {

struct bio_free {
  void operator()(BIO* b) const noexcept { BIO_free(b); }
};
struct x509_free {
  void operator()(X509* x) const noexcept { X509_free(x); }
};
struct pkey_free {
  void operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); }
};
using bio_ptr = std::unique_ptr<BIO, bio_free>;
using x509_ptr = std::unique_ptr<X509, x509_free>;
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;

bio_ptr open_file(const std::string& path, std::string_view key, std::vector<tls_finding>& out) {
  bio_ptr b(BIO_new_file(path.c_str(), "r"));
  if (!b) {
    out.push_back(
        {std::string(key), fmt::format("cannot read '{}': {}", path, std::strerror(errno))});
    ERR_clear_error();
  }
  return b;
}

/// "Nov 28 12:00:00 2026 GMT" of an ASN.1 time.
std::string time_text(const ASN1_TIME* t) {
  bio_ptr b(BIO_new(BIO_s_mem()));
  ASN1_TIME_print(b.get(), t);
  char* data = nullptr;
  const long n = BIO_get_mem_data(b.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

void check_ca(const tls_files& tls, std::vector<tls_finding>& out) {
  if (!tls.ca_file.empty()) {
    if (auto b = open_file(tls.ca_file, "ca_file", out)) {
      int count = 0;
      while (x509_ptr cert{PEM_read_bio_X509(b.get(), nullptr, refuse_password_prompt, nullptr)})
        ++count;
      ERR_clear_error();
      if (count == 0) {
        out.push_back({"ca_file", fmt::format("'{}' holds no PEM certificate", tls.ca_file)});
      }
    }
  }
  if (!tls.ca_path.empty() && !std::filesystem::is_directory(tls.ca_path)) {
    out.push_back({"ca_path", fmt::format("'{}' is not a directory", tls.ca_path)});
  }
}

void check_expiry(X509* cert, std::string_view whose, std::vector<tls_finding>& out) {
  if (X509_cmp_current_time(X509_get0_notBefore(cert)) > 0) {
    out.push_back({"cert_file", fmt::format("the {} certificate is not valid before {}", whose,
                                            time_text(X509_get0_notBefore(cert)))});
  }
  const ASN1_TIME* end = X509_get0_notAfter(cert);
  if (X509_cmp_current_time(end) < 0) {
    out.push_back(
        {"cert_file", fmt::format("the {} certificate expired on {}", whose, time_text(end))});
    return;
  }
  int days = 0;
  int seconds = 0;
  if (ASN1_TIME_diff(&days, &seconds, nullptr, end) && days < 30) {
    out.push_back({"cert_file",
                   fmt::format("the {} certificate expires on {} (in {} day(s))", whose,
                               time_text(end), days),
                   true});
  }
}

void check_own(const tls_files& tls, std::string_view whose, std::vector<tls_finding>& out) {
  if (tls.cert_file.empty()) {
    if (!tls.key_file.empty()) out.push_back({"key_file", "is set but cert_file is not"});
    return;
  }
  auto b = open_file(tls.cert_file, "cert_file", out);
  if (!b) return;
  x509_ptr cert{PEM_read_bio_X509(b.get(), nullptr, refuse_password_prompt, nullptr)};
  if (!cert) {
    ERR_clear_error();
    out.push_back({"cert_file", fmt::format("'{}' holds no PEM certificate", tls.cert_file)});
    return;
  }
  check_expiry(cert.get(), whose, out);
  const std::string& key_path = tls.key_file.empty() ? tls.cert_file : tls.key_file;
  const std::string key_name = tls.key_file.empty() ? "cert_file" : "key_file";
  auto kb = open_file(key_path, key_name, out);
  if (!kb) return;
  pkey_ptr key{PEM_read_bio_PrivateKey(kb.get(), nullptr, refuse_password_prompt, nullptr)};
  if (!key) {
    const std::string why = openssl_error();
    out.push_back(
        {key_name, tls.key_file.empty()
                       ? fmt::format("holds no private key: set key_file to the {}'s key", whose)
                       : fmt::format("'{}' holds no usable private key ({}); an encrypted key "
                                     "cannot be used: vitalsd has nobody to ask for its password",
                                     key_path, why)});
    return;
  }
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    ERR_clear_error();
    out.push_back(
        {key_name, fmt::format("the private key does not match the {} certificate", whose)});
  }
}

}  // namespace

std::vector<tls_finding> check_tls_files(const tls_files& files, std::string_view whose) {
  std::vector<tls_finding> out;
  check_ca(files, out);
  check_own(files, whose, out);
  return out;
}

std::string openssl_error() {
  const unsigned long e = ERR_peek_last_error();
  ERR_clear_error();
  if (e == 0) return "no detail";
  const char* reason = ERR_reason_error_string(e);
  return reason ? reason : fmt::format("OpenSSL error {:#x}", e);
}

int refuse_password_prompt(char*, int, int, void*) {
  return 0;
}

}  // namespace vitals::core
