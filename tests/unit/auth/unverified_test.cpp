// read_unverified_claims() and lifetime_error(): how Microsoft Entra tokens are read when the
// server accepts them unvalidated (--allow-unvalidated-entra-tokens, local development only).

#include <gtest/gtest.h>

#include <string>

#include "auth/jwt.hpp"
#include "util/base64.hpp"

namespace wps::auth {
namespace {

constexpr std::int64_t kNow = 1'800'000'000;

std::string token(const std::string& header, const std::string& payload,
                  const std::string& signature = "sig") {
  return util::base64url_encode(header) + "." + util::base64url_encode(payload) + "." +
         util::base64url_encode(signature);
}

TEST(Unverified, ReadsAnEntraShapedTokenWithoutItsSignature) {
  const auto claims = read_unverified_claims(
      token(R"({"typ":"JWT","alg":"RS256","kid":"abc"})",
            R"({"aud":"https://webpubsub.azure.com","iss":"https://sts.windows.net/t/",)"
            R"("iat":1799999940,"nbf":1799999940,"exp":1800003600,"oid":"o","tid":"t"})"));
  ASSERT_TRUE(claims);
  ASSERT_EQ(claims->audiences.size(), 1U);
  EXPECT_EQ(claims->audiences[0], "https://webpubsub.azure.com");
  EXPECT_EQ(claims->exp, 1800003600);
  EXPECT_EQ(claims->nbf, 1799999940);
  // An empty signature part is fine too: nothing checks it.
  EXPECT_TRUE(read_unverified_claims(token(R"({"alg":"RS256"})", R"({"aud":"x"})", "")));
}

TEST(Unverified, MalformedTokensAreRefused) {
  EXPECT_FALSE(read_unverified_claims(""));
  EXPECT_FALSE(read_unverified_claims("a.b"));
  EXPECT_FALSE(read_unverified_claims("a.b.c.d"));
  EXPECT_FALSE(read_unverified_claims("!!!.###.x"));
  EXPECT_FALSE(read_unverified_claims(token(R"({"typ":"JWT"})", R"({"aud":"x"})")));  // no alg
  EXPECT_FALSE(read_unverified_claims(token(R"({"alg":5})", R"({"aud":"x"})")));
  EXPECT_FALSE(read_unverified_claims(token(R"([])", R"({"aud":"x"})")));
  EXPECT_FALSE(read_unverified_claims(token(R"({"alg":"RS256"})", R"("aud")")));
  EXPECT_FALSE(read_unverified_claims(token(R"({"alg":"RS256"})", R"({"aud":5})")));
  EXPECT_FALSE(read_unverified_claims(token(R"({"alg":"RS256"})", R"({"exp":"soon"})")));
  EXPECT_FALSE(read_unverified_claims(std::string(20000, 'a') + ".b.c"));
}

TEST(Unverified, LifetimeRulesAreThoseOfVerifiedTokens) {
  VerifyOptions options;
  options.now = kNow;
  Claims claims;
  EXPECT_EQ(lifetime_error(claims, options), TokenError::missing_expiry);
  options.require_expiry = false;
  EXPECT_EQ(lifetime_error(claims, options), std::nullopt);
  options.require_expiry = true;
  claims.exp = kNow + 1;
  EXPECT_EQ(lifetime_error(claims, options), std::nullopt);
  claims.exp = kNow - 299;  // within the 300 s skew
  EXPECT_EQ(lifetime_error(claims, options), std::nullopt);
  claims.exp = kNow - 300;
  EXPECT_EQ(lifetime_error(claims, options), TokenError::expired);
  claims.exp = kNow + 3600;
  claims.nbf = kNow + 300;
  EXPECT_EQ(lifetime_error(claims, options), std::nullopt);
  claims.nbf = kNow + 301;
  EXPECT_EQ(lifetime_error(claims, options), TokenError::not_yet_valid);
}

}  // namespace
}  // namespace wps::auth
