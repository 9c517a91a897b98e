#include "auth/token_claims.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "auth/jwt.hpp"

namespace wps::auth {
namespace {

constexpr std::string_view key = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ABCDEFGH";

TEST(ClientTokenAudience, BuildsSdkAudience) {
  EXPECT_EQ(client_token_audience("http://localhost:8080", "chat"),
            "http://localhost:8080/client/hubs/chat");
  EXPECT_EQ(client_token_audience("https://x.webpubsub.azure.com/", "Hub1"),
            "https://x.webpubsub.azure.com/client/hubs/Hub1");
  // Hub is not escaped, like the SDKs.
  EXPECT_EQ(client_token_audience("http://h", "my hub"), "http://h/client/hubs/my hub");
}

TEST(BuildClientTokenClaims, JsSdkShape) {
  ClientTokenClaims c;
  c.audience = "http://localhost:8080/client/hubs/chat";
  c.user_id = "user1";
  c.roles = {"webpubsub.joinLeaveGroup", "webpubsub.sendToGroup"};
  c.groups = {"group1"};
  c.iat = 1700000000;
  c.exp = 1700003600;
  EXPECT_EQ(build_client_token_claims(c),
            R"({"role":["webpubsub.joinLeaveGroup","webpubsub.sendToGroup"],)"
            R"("webpubsub.group":["group1"],"sub":"user1",)"
            R"("aud":"http://localhost:8080/client/hubs/chat","iat":1700000000,"exp":1700003600})");
}

TEST(BuildClientTokenClaims, MinimalPythonShape) {
  ClientTokenClaims c;
  c.audience = "http://localhost:8080/client/hubs/chat";
  c.exp = 1700000060;
  EXPECT_EQ(build_client_token_claims(c),
            R"({"aud":"http://localhost:8080/client/hubs/chat","exp":1700000060})");
  c.user_id = "";
  EXPECT_EQ(build_client_token_claims(c),
            R"({"aud":"http://localhost:8080/client/hubs/chat","exp":1700000060})");
}

TEST(BuildClientTokenClaims, EscapesStrings) {
  ClientTokenClaims c;
  c.audience = "a";
  c.user_id = "quote\"back\\slash\nnl";
  c.groups = {"g\"1"};
  c.exp = 1;
  EXPECT_EQ(build_client_token_claims(c),
            R"({"webpubsub.group":["g\"1"],"sub":"quote\"back\\slash\nnl","aud":"a","exp":1})");
}

TEST(MintClientToken, VerifiesAndMatchesAudience) {
  ClientTokenClaims c;
  c.audience = client_token_audience("http://localhost:8080", "chat");
  c.user_id = "user1";
  c.roles = {"webpubsub.sendToGroup.g1"};
  c.groups = {"g1", "g2"};
  c.iat = 1700000000;
  c.exp = 1700003600;
  const std::string token = mint_client_token(c, key);
  EXPECT_EQ(token, sign_token(build_client_token_claims(c), key));

  VerifyOptions o;
  o.keys = {std::string(key)};
  o.now = 1700000100;
  const VerifyResult r = verify_token(token, o);
  ASSERT_TRUE(r) << to_string(r.error);
  EXPECT_EQ(r.claims->subject, "user1");
  EXPECT_EQ(r.claims->roles, c.roles);
  EXPECT_EQ(r.claims->groups, c.groups);
  EXPECT_EQ(r.claims->iat, c.iat);
  EXPECT_EQ(r.claims->exp, c.exp);
  EXPECT_TRUE(client_audience_matches(r.claims->audiences, "chat",
                                      {"http://localhost:8080", "https://localhost:8080"}, false));
  EXPECT_FALSE(client_audience_matches(r.claims->audiences, "other",
                                       {"http://localhost:8080", "https://localhost:8080"}, false));
}

}  // namespace
}  // namespace wps::auth
