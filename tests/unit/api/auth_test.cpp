// Authentication of REST requests (spec §3.1).

#include "api_fixture.hpp"
#include "auth/token_claims.hpp"
#include "util/base64.hpp"

namespace wps::api::test {
namespace {

using http::verb;

class AuthTest : public ApiTest {
 protected:
  // POST :send to `target` with `authorization`; returns the status.
  unsigned send_with(const std::string& target, std::string authorization) {
    const Response r =
        send({verb::post, target, "x", std::string("text/plain"), std::move(authorization)});
    if (r.result_int() == 401) {
      EXPECT_EQ(error_code(r), "Unauthorized");
      EXPECT_EQ(r[http::field::www_authenticate], "Bearer");
    }
    return r.result_int();
  }
  const std::string target_ = "/api/hubs/chat/:send?api-version=2024-12-01&excluded=a";
  const std::string url_ = std::string("http://") + kHost + target_;
};

TEST_F(AuthTest, FullUrlWithQueryIsAccepted) {
  auto a = connect("b");
  EXPECT_EQ(send_with(target_, bearer(url_)), 202u);
  EXPECT_EQ(a->frames().size(), 1u);
}

TEST_F(AuthTest, UrlWithoutQueryHttpsCaseAndTrailingSlashAreAccepted) {
  EXPECT_EQ(send_with(target_, bearer(std::string("http://") + kHost + "/api/hubs/chat/:send")),
            202u);
  EXPECT_EQ(send_with(target_, bearer(std::string("https://") + kHost + target_)), 202u);
  EXPECT_EQ(send_with(target_, bearer("HTTP://LOCALHOST:8080/API/HUBS/CHAT/:SEND")), 202u);
  EXPECT_EQ(send_with(target_, bearer(std::string("http://") + kHost + "/api/hubs/chat/:send/")),
            202u);
}

TEST_F(AuthTest, PercentEncodedAudienceIsComparedDecodedToo) {
  const std::string target = "/api/hubs/chat/users/a%20b/:send";
  EXPECT_EQ(send_with(target, bearer(std::string("http://") + kHost + target)), 202u);
  EXPECT_EQ(send_with(target, bearer(std::string("http://") + kHost +
                                     "/api/hubs/chat/users/a%2520b/:send")),
            202u);
}

TEST_F(AuthTest, MissingOrMalformedHeaderIs401) {
  EXPECT_EQ(send_with(target_, ""), 401u);
  EXPECT_EQ(send_with(target_, "Basic abc"), 401u);
  EXPECT_EQ(send_with(target_, "Bearer"), 401u);
  EXPECT_EQ(send_with(target_, "Bearer not.a.jwt"), 401u);
  // The scheme is case-insensitive.
  EXPECT_EQ(send_with(target_, "bearer " + bearer(url_).substr(7)), 202u);
}

TEST_F(AuthTest, SignatureMustUseOneOfTheKeys) {
  const std::string claims = rest_claims(url_);
  EXPECT_EQ(send_with(target_, "Bearer " + auth::sign_token(claims, "some-other-key")), 401u);
  std::string tampered = bearer(url_);
  tampered.back() = tampered.back() == 'A' ? 'B' : 'A';
  EXPECT_EQ(send_with(target_, tampered), 401u);
  config_.secondary_key = "secondary-key";
  EXPECT_EQ(send_with(target_, "Bearer " + auth::sign_token(claims, "secondary-key")), 202u);
  EXPECT_EQ(send_with(target_, "Bearer " + auth::sign_token(claims, config_.primary_key)), 202u);
}

TEST_F(AuthTest, ExpiryIsRequiredAndCheckedWithSkew) {
  EXPECT_EQ(send_with(target_, bearer(url_, kNow - 400)), 401u);
  EXPECT_EQ(send_with(target_, bearer(url_, kNow - 100)), 202u);  // within the 300 s skew
  config_.limits.clock_skew = std::chrono::seconds(0);
  EXPECT_EQ(send_with(target_, bearer(url_, kNow - 100)), 401u);
  const std::string no_exp = R"({"aud":")" + url_ + R"("})";
  EXPECT_EQ(send_with(target_, "Bearer " + auth::sign_token(no_exp, config_.primary_key)), 401u);
  const Response r =
      send({verb::post, target_, "x", std::string("text/plain"), bearer(url_, kNow - 4000)});
  EXPECT_TRUE(contains(error_message(r), "expired"));
}

TEST_F(AuthTest, AudienceMustBeThisRequest) {
  EXPECT_EQ(send_with(target_, bearer("http://localhost:8080/api/hubs/other/:send")), 401u);
  EXPECT_EQ(send_with(target_, bearer("http://evil:8080" + target_)), 401u);
  EXPECT_EQ(send_with(target_, bearer(url_ + "&excluded=b")), 401u);
  const Response r = send({verb::post, target_, "x", std::string("text/plain"),
                           bearer("http://localhost:8080/api/hubs/other/:send")});
  EXPECT_TRUE(contains(error_message(r), "audience"));
}

TEST_F(AuthTest, PublicOriginAndIgnoreHost) {
  const std::string proxied = "https://pubsub.example.com" + target_;
  EXPECT_EQ(send_with(target_, bearer(proxied)), 401u);
  config_.public_origin = "https://pubsub.example.com";
  EXPECT_EQ(send_with(target_, bearer(proxied)), 202u);
  EXPECT_EQ(send_with(target_, bearer(url_)), 202u);  // the Host still works
  config_.public_origin.clear();
  config_.audience_ignore_host = true;
  EXPECT_EQ(send_with(target_, bearer("https://anything:1" + target_)), 202u);
  EXPECT_EQ(send_with(target_, bearer("https://anything:1/api/hubs/x/:send")), 401u);
}

TEST_F(AuthTest, ErrorsBeforeAuthenticationDoNotLeakAndHeadHasNoBody) {
  const Response r = send({verb::head, "/api/hubs/chat/users/u", {}, std::nullopt, ""});
  EXPECT_EQ(status(r), 401u);
  EXPECT_TRUE(r.body().empty());
  EXPECT_EQ(r["x-ms-error-code"], "Unauthorized");
}

// An Entra-shaped token as DefaultAzureCredential would get for the SDKs' scope
// "https://webpubsub.azure.com/.default": RS256 with a kid, a signature nobody checks here.
std::string entra_token(const std::string& aud, std::int64_t exp = kNow + 3600,
                        std::optional<std::int64_t> nbf = kNow - 60,
                        const std::string& alg = "RS256") {
  boost::json::object header{{"typ", "JWT"}, {"alg", alg}, {"kid", "test-key-id"}};
  boost::json::object claims{
      {"aud", aud},
      {"iss", "https://sts.windows.net/72f988bf-0000-0000-0000-000000000000/"},
      {"iat", kNow - 60},
      {"exp", exp},
      {"oid", "00000000-0000-0000-0000-0000000000aa"},
      {"tid", "72f988bf-0000-0000-0000-000000000000"}};
  if (nbf)
    claims["nbf"] = *nbf;
  const auto b64 = [](const std::string& text) { return util::base64url_encode(text); };
  return "Bearer " + b64(boost::json::serialize(header)) + "." +
         b64(boost::json::serialize(claims)) + "." + b64("not-a-real-signature");
}

TEST_F(AuthTest, EntraTokensAreRefusedUnlessAllowedWithAClearMessage) {
  const std::string token = entra_token("https://webpubsub.azure.com");
  const Response r = send({verb::post, target_, "x", std::string("text/plain"), token});
  EXPECT_EQ(status(r), 401u);
  EXPECT_EQ(error_code(r), "Unauthorized");
  EXPECT_TRUE(contains(error_message(r), "--allow-unvalidated-entra-tokens")) << error_message(r);
}

TEST_F(AuthTest, UnvalidatedEntraTokensWhenAllowedCheckAudienceAndLifetimeOnly) {
  config_.allow_unvalidated_entra_tokens = true;
  auto a = connect("b");
  EXPECT_EQ(send_with(target_, entra_token("https://webpubsub.azure.com")), 202u);
  EXPECT_EQ(a->frames().size(), 1u);
  // The forms of the resource the SDKs' scope yields; the request URL does not matter.
  EXPECT_EQ(send_with(target_, entra_token("https://webpubsub.azure.com/")), 202u);
  EXPECT_EQ(send_with(target_, entra_token("HTTPS://WebPubSub.Azure.com")), 202u);
  EXPECT_EQ(send_with("/api/hubs/other/:send", entra_token("https://webpubsub.azure.com")), 202u);
  // Audience: the Web PubSub resource only.
  EXPECT_EQ(send_with(target_, entra_token("https://management.azure.com")), 401u);
  EXPECT_EQ(send_with(target_, entra_token(url_)), 401u);
  EXPECT_EQ(send_with(target_, entra_token("https://webpubsub.azure.com.evil.example")), 401u);
  // Lifetime, with the configured skew.
  EXPECT_EQ(send_with(target_, entra_token("https://webpubsub.azure.com", kNow - 400)), 401u);
  EXPECT_EQ(send_with(target_, entra_token("https://webpubsub.azure.com", kNow - 100)), 202u);
  EXPECT_EQ(send_with(target_, entra_token("https://webpubsub.azure.com", kNow + 3600, kNow + 400)),
            401u);
  const Response expired = send({verb::post, target_, "x", std::string("text/plain"),
                                 entra_token("https://webpubsub.azure.com", kNow - 4000)});
  EXPECT_TRUE(contains(error_message(expired), "expired"));
  // Not a token at all is still refused.
  EXPECT_EQ(send_with(target_, "Bearer abc.def.ghi"), 401u);
  // Access-key tokens keep working beside them, and a bad HS256 signature is not an Entra
  // token: still refused.
  EXPECT_EQ(send_with(target_, bearer(url_)), 202u);
  const std::string hs256_for_resource =
      "Bearer " + auth::sign_token(rest_claims("https://webpubsub.azure.com"), "some-other-key");
  EXPECT_EQ(send_with(target_, hs256_for_resource), 401u);
}

TEST_F(AuthTest, UnvalidatedEntraTokensCanGenerateClientTokens) {
  config_.allow_unvalidated_entra_tokens = true;
  const std::string target = "/api/hubs/chat/:generateToken?api-version=2024-12-01&userId=u1";
  const Response r =
      send({verb::post, target, "", std::nullopt, entra_token("https://webpubsub.azure.com")});
  ASSERT_EQ(status(r), 200u) << r.body();
  const auto token = boost::json::parse(r.body()).at("token").as_string();
  auth::VerifyOptions options;
  options.keys = {config_.primary_key};
  options.now = kNow;
  const auth::VerifyResult verified = auth::verify_token(std::string(token), options);
  ASSERT_TRUE(verified);
  EXPECT_EQ(verified.claims->subject, "u1");
}

}  // namespace
}  // namespace wps::api::test
