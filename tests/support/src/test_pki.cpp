#include <vitals/test/test_pki.hpp>

#include <sys/stat.h>

#include <cstdio>
#include <stdexcept>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace vitals::test {

namespace {

struct pkey_free {
  void operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); }
};
struct x509_free {
  void operator()(X509* x) const noexcept { X509_free(x); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;
using x509_ptr = std::unique_ptr<X509, x509_free>;

void require(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("test_pki: ") + what + " failed");
}

pkey_ptr new_key() {
  pkey_ptr k(EVP_EC_gen("P-256"));
  require(k != nullptr, "EC key generation");
  return k;
}

void add_extension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  require(ext != nullptr, "X509 extension");
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

x509_ptr new_cert(const std::string& cn, EVP_PKEY* key, std::chrono::hours not_before,
                  std::chrono::hours not_after, long serial) {
  x509_ptr cert(X509_new());
  require(cert != nullptr, "X509_new");
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), not_before.count() * 3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), not_after.count() * 3600);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  return cert;
}

void write_pem(const std::filesystem::path& p, X509* cert, EVP_PKEY* key) {
  std::FILE* f = std::fopen(p.c_str(), "w");
  require(f != nullptr, "open for writing");
  const bool ok = cert ? PEM_write_X509(f, cert) == 1
                       : PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
  std::fclose(f);
  require(ok, "PEM write");
  if (key) ::chmod(p.c_str(), 0600);
}

}  // namespace

struct test_pki::impl {
  std::filesystem::path dir;
  std::filesystem::path ca_path;
  pkey_ptr ca_key;
  x509_ptr ca_cert;
  long next_serial = 2;
};

test_pki::test_pki(std::filesystem::path dir, std::string name) : impl_(std::make_unique<impl>()) {
  auto& d = *impl_;
  d.dir = std::move(dir);
  d.ca_key = new_key();
  d.ca_cert = new_cert(name + " test CA", d.ca_key.get(), std::chrono::hours(-1),
                       std::chrono::hours(24 * 365), 1);
  X509_set_issuer_name(d.ca_cert.get(), X509_get_subject_name(d.ca_cert.get()));
  add_extension(d.ca_cert.get(), d.ca_cert.get(), NID_basic_constraints, "critical,CA:TRUE");
  add_extension(d.ca_cert.get(), d.ca_cert.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
  add_extension(d.ca_cert.get(), d.ca_cert.get(), NID_subject_key_identifier, "hash");
  require(X509_sign(d.ca_cert.get(), d.ca_key.get(), EVP_sha256()) > 0, "CA signing");
  d.ca_path = d.dir / (name + "-ca.pem");
  write_pem(d.ca_path, d.ca_cert.get(), nullptr);
}

test_pki::~test_pki() = default;

const std::filesystem::path& test_pki::ca_file() const noexcept {
  return impl_->ca_path;
}

issued_cert test_pki::issue(const std::string& file_stem, const cert_request& r) {
  auto& d = *impl_;
  auto key = new_key();
  auto cert = new_cert(r.common_name, key.get(), r.not_before, r.not_after, d.next_serial++);
  X509_set_issuer_name(cert.get(), X509_get_subject_name(d.ca_cert.get()));
  add_extension(cert.get(), d.ca_cert.get(), NID_basic_constraints, "critical,CA:FALSE");
  add_extension(cert.get(), d.ca_cert.get(), NID_key_usage, "critical,digitalSignature");
  add_extension(cert.get(), d.ca_cert.get(), NID_ext_key_usage,
                r.server ? "serverAuth" : "clientAuth");
  add_extension(cert.get(), d.ca_cert.get(), NID_authority_key_identifier, "keyid:always");
  std::string san;
  for (const auto& n : r.dns_names) san += (san.empty() ? "DNS:" : ",DNS:") + n;
  for (const auto& ip : r.ip_addresses) san += (san.empty() ? "IP:" : ",IP:") + ip;
  if (!san.empty()) add_extension(cert.get(), d.ca_cert.get(), NID_subject_alt_name, san);
  require(X509_sign(cert.get(), d.ca_key.get(), EVP_sha256()) > 0, "certificate signing");
  issued_cert out{d.dir / (file_stem + ".pem"), d.dir / (file_stem + "-key.pem")};
  write_pem(out.cert, cert.get(), nullptr);
  write_pem(out.key, nullptr, key.get());
  return out;
}

}  // namespace vitals::test
