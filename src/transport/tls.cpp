#include "transport/tls.hpp"

#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <stdexcept>

namespace wps::transport {

namespace ssl = boost::asio::ssl;

namespace {

std::string openssl_error() {
  const unsigned long code = ERR_get_error();
  if (code == 0)
    return "unknown OpenSSL error";
  char buffer[256];
  ERR_error_string_n(code, buffer, sizeof buffer);
  ERR_clear_error();
  return buffer;
}

struct FileCloser {
  void operator()(std::FILE* f) const {
    if (f != nullptr)
      std::fclose(f);
  }
};
using File = std::unique_ptr<std::FILE, FileCloser>;

struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct CertFree {
  void operator()(X509* x) const { X509_free(x); }
};
using Key = std::unique_ptr<EVP_PKEY, KeyFree>;
using Cert = std::unique_ptr<X509, CertFree>;

// The certificate in `path`, if it can be read and is valid for at least another day.
bool still_valid(const std::string& path) {
  File f(std::fopen(path.c_str(), "rb"));
  if (!f)
    return false;
  Cert cert(PEM_read_X509(f.get(), nullptr, nullptr, nullptr));
  if (!cert)
    return false;
  time_t tomorrow = time(nullptr) + 24 * 3600;
  return X509_cmp_time(X509_get0_notAfter(cert.get()), &tomorrow) > 0;
}

void add_extension(X509* cert, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr)
    throw std::runtime_error("cannot make a certificate extension: " + openssl_error());
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

}  // namespace

std::shared_ptr<ssl::context> make_server_tls_context(const std::string& cert_file,
                                                      const std::string& key_file) {
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                       ssl::context::no_compression | ssl::context::single_dh_use);
  SSL_CTX* native = context->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  boost::system::error_code ec;
  context->use_certificate_chain_file(cert_file, ec);
  if (ec)
    throw std::runtime_error("cannot use the TLS certificate " + cert_file + ": " + ec.message());
  context->use_private_key_file(key_file, ssl::context::pem, ec);
  if (ec)
    throw std::runtime_error("cannot use the TLS key " + key_file + ": " + ec.message());
  if (SSL_CTX_check_private_key(native) != 1)
    throw std::runtime_error("the TLS key " + key_file + " does not match the certificate " +
                             cert_file);
  return context;
}

bool ensure_self_signed_certificate(const std::string& cert_file, const std::string& key_file,
                                    int days) {
  if (std::filesystem::exists(key_file) && still_valid(cert_file))
    return false;
  std::error_code fs_ec;
  const auto dir = std::filesystem::path(cert_file).parent_path();
  if (!dir.empty())
    std::filesystem::create_directories(dir, fs_ec);
  const auto key_dir = std::filesystem::path(key_file).parent_path();
  if (!key_dir.empty())
    std::filesystem::create_directories(key_dir, fs_ec);

  Key key(EVP_EC_gen("P-256"));
  if (!key)
    throw std::runtime_error("cannot generate a key: " + openssl_error());
  Cert cert(X509_new());
  if (!cert)
    throw std::runtime_error("cannot make a certificate: " + openssl_error());
  X509_set_version(cert.get(), 2);
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof serial) != 1)
    throw std::runtime_error("no randomness for the serial number: " + openssl_error());
  serial[0] &= 0x7F;  // positive
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), static_cast<long>(days) * 24 * 3600);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("webpubsub-server development"),
                             -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  add_extension(cert.get(), NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1,IP:::1");
  // A CA certificate that is also the server's: trusted as a root (NODE_EXTRA_CA_CERTS etc.).
  add_extension(cert.get(), NID_basic_constraints, "critical,CA:TRUE");
  add_extension(cert.get(), NID_key_usage, "critical,digitalSignature,keyCertSign");
  add_extension(cert.get(), NID_ext_key_usage, "serverAuth");
  add_extension(cert.get(), NID_subject_key_identifier, "hash");
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0)
    throw std::runtime_error("cannot sign the certificate: " + openssl_error());

  {
    const std::string tmp = key_file + ".tmp";
    const mode_t old_mask = umask(077);
    File f(std::fopen(tmp.c_str(), "wb"));
    umask(old_mask);
    if (!f || PEM_write_PrivateKey(f.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1)
      throw std::runtime_error("cannot write " + tmp);
    f.reset();
    std::filesystem::rename(tmp, key_file);
  }
  {
    const std::string tmp = cert_file + ".tmp";
    File f(std::fopen(tmp.c_str(), "wb"));
    if (!f || PEM_write_X509(f.get(), cert.get()) != 1)
      throw std::runtime_error("cannot write " + tmp);
    f.reset();
    std::filesystem::rename(tmp, cert_file);
  }
  return true;
}

}  // namespace wps::transport
