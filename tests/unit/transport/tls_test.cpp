#include "transport/tls.hpp"

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace wps::transport {
namespace {

namespace fs = std::filesystem;

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("wps-tls-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  fs::path dir_;
};

TEST_F(TlsTest, SelfSignedCertificateIsMadeOnceForLocalhostAndLoads) {
  const auto cert = path("sub/cert.pem");
  const auto key = path("sub/key.pem");
  EXPECT_TRUE(ensure_self_signed_certificate(cert, key));
  EXPECT_FALSE(ensure_self_signed_certificate(cert, key)) << "a valid certificate is reused";
  struct stat st {};
  ASSERT_EQ(::stat(key.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0077U, 0U) << "the key is readable by its owner only";

  std::FILE* f = std::fopen(cert.c_str(), "rb");
  ASSERT_NE(f, nullptr);
  X509* x509 = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  ASSERT_NE(x509, nullptr);
  EXPECT_EQ(X509_check_host(x509, "localhost", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_ip_asc(x509, "127.0.0.1", 0), 1);
  EXPECT_EQ(X509_check_ip_asc(x509, "::1", 0), 1);
  EXPECT_NE(X509_check_host(x509, "example.com", 0, 0, nullptr), 1);
  X509_free(x509);

  EXPECT_NE(make_server_tls_context(cert, key), nullptr);
}

TEST_F(TlsTest, AnExpiringCertificateIsReplaced) {
  const auto cert = path("cert.pem");
  const auto key = path("key.pem");
  EXPECT_TRUE(ensure_self_signed_certificate(cert, key, 0));  // valid for less than a day
  EXPECT_TRUE(ensure_self_signed_certificate(cert, key));
}

TEST_F(TlsTest, BadFilesAreNamedInTheError) {
  const auto cert = path("cert.pem");
  const auto key = path("key.pem");
  const auto other_cert = path("other-cert.pem");
  const auto other_key = path("other-key.pem");
  ensure_self_signed_certificate(cert, key);
  ensure_self_signed_certificate(other_cert, other_key);
  try {
    make_server_tls_context(cert, other_key);
    FAIL() << "a key that does not match the certificate must be refused";
  } catch (const std::runtime_error& e) {
    // OpenSSL notices while loading the key ("key values mismatch"); the message names the file.
    EXPECT_NE(std::string(e.what()).find(other_key), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("mismatch"), std::string::npos) << e.what();
  }
  try {
    make_server_tls_context(path("missing.pem"), key);
    FAIL() << "a missing certificate must be refused";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("missing.pem"), std::string::npos) << e.what();
  }
  std::ofstream(path("garbage.pem")) << "not a key";
  EXPECT_THROW(make_server_tls_context(cert, path("garbage.pem")), std::runtime_error);
}

}  // namespace
}  // namespace wps::transport
