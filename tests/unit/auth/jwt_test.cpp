#include "auth/jwt.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

namespace wps::auth {
namespace {

constexpr std::string_view primary_key = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ABCDEFGH";
constexpr std::string_view secondary_key = "secondary-key-0123456789-0123456789-abcdef";
constexpr std::int64_t now = 1700000000;
constexpr std::string_view hs256_header_b64 = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";

// Test-side encoder (independent of the one under test).
std::string b64url(std::string_view bytes) {
  static constexpr std::string_view alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  std::uint32_t buffer = 0;
  int bits = 0;
  for (const char c : bytes) {
    buffer = (buffer << 8U) | static_cast<unsigned char>(c);
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(alphabet[(buffer >> static_cast<unsigned>(bits)) & 63U]);
    }
  }
  if (bits > 0) {
    out.push_back(alphabet[(buffer << static_cast<unsigned>(6 - bits)) & 63U]);
  }
  return out;
}

std::string hmac256(std::string_view key, std::string_view data) {
  std::array<unsigned char, 32> mac{};
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac.data(), &length);
  return std::string(reinterpret_cast<const char*>(mac.data()), length);
}

// Token with an arbitrary header, signed HS256 with `key`.
std::string craft(std::string_view header_json, std::string_view payload_json,
                  std::string_view key = primary_key) {
  std::string input = b64url(header_json) + "." + b64url(payload_json);
  return input + "." + b64url(hmac256(key, input));
}

VerifyOptions options(std::int64_t at = now) {
  VerifyOptions o;
  o.keys = {std::string(primary_key), std::string(secondary_key)};
  o.now = at;
  return o;
}

std::string exp_payload(std::int64_t exp) {
  return R"({"aud":"a","exp":)" + std::to_string(exp) + "}";
}

TokenError error_of(std::string_view token, const VerifyOptions& o = options()) {
  const VerifyResult r = verify_token(token, o);
  EXPECT_FALSE(r);
  return r.error;
}

// --- sign_token -------------------------------------------------------------------------------

TEST(SignToken, MatchesWellKnownJwtIoVector) {
  const std::string token = sign_token(R"({"sub":"1234567890","name":"John Doe","iat":1516239022})",
                                       "your-256-bit-secret");
  EXPECT_EQ(token,
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
            "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ."
            "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c");
}

TEST(SignToken, HeaderIsHs256JwtAndPartsAreUnpadded) {
  const std::string token = sign_token("{}", primary_key);
  EXPECT_EQ(token.substr(0, hs256_header_b64.size()), hs256_header_b64);
  EXPECT_EQ(token.find('='), std::string::npos);
  EXPECT_EQ(token, craft(R"({"alg":"HS256","typ":"JWT"})", "{}"));
}

TEST(SignToken, RoundTripsThroughVerify) {
  const std::string token = sign_token(exp_payload(now + 60), primary_key);
  const VerifyResult r = verify_token(token, options());
  ASSERT_TRUE(r) << to_string(r.error);
  EXPECT_EQ(r.claims->exp, now + 60);
}

TEST(SignToken, EmptyKeyStillSigns) {
  const std::string token = sign_token(exp_payload(now + 60), "");
  VerifyOptions o = options();
  o.keys = {""};
  EXPECT_TRUE(verify_token(token, o));
}

// --- tokens as the SDKs mint them -------------------------------------------------------------

TEST(VerifyToken, JsSdkClientToken) {
  // Minted by an independent implementation (Python hmac/base64) exactly like
  // @azure/web-pubsub getClientAccessToken({userId, roles, groups}).
  const std::string token =
      "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
      "eyJyb2xlIjpbIndlYnB1YnN1Yi5qb2luTGVhdmVHcm91cCIsIndlYnB1YnN1Yi5zZW5kVG9Hcm91cCJdLCJ3ZWJwdW"
      "JzdWIuZ3JvdXAiOlsiZ3JvdXAxIl0sInN1YiI6InVzZXIxIiwiaWF0IjoxNzAwMDAwMDAwLCJleHAiOjE3MDAwMDM2"
      "MDAsImF1ZCI6Imh0dHA6Ly9sb2NhbGhvc3Q6ODA4MC9jbGllbnQvaHVicy9jaGF0In0."
      "GfzLxlft_4wkM-okjZ5h_kzk-c_QaW-cViTvaFBq1nE";
  const VerifyResult r = verify_token(token, options());
  ASSERT_TRUE(r) << to_string(r.error);
  const Claims& c = *r.claims;
  EXPECT_EQ(c.audiences, std::vector<std::string>{"http://localhost:8080/client/hubs/chat"});
  EXPECT_EQ(c.subject, "user1");
  EXPECT_EQ(c.roles,
            (std::vector<std::string>{"webpubsub.joinLeaveGroup", "webpubsub.sendToGroup"}));
  EXPECT_EQ(c.groups, std::vector<std::string>{"group1"});
  EXPECT_EQ(c.iat, 1700000000);
  EXPECT_EQ(c.exp, 1700003600);
  EXPECT_FALSE(c.nbf);
  EXPECT_EQ(c.all.at("sub"), std::vector<std::string>{"user1"});
  EXPECT_EQ(c.all.at("exp"), std::vector<std::string>{"1700003600"});
  EXPECT_EQ(c.all.at("webpubsub.group"), std::vector<std::string>{"group1"});
  EXPECT_EQ(c.all.size(), 6U);
}

TEST(VerifyToken, PythonSdkClientTokenWithoutIat) {
  const std::string token =
      "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
      "eyJhdWQiOiJodHRwOi8vbG9jYWxob3N0OjgwODAvY2xpZW50L2h1YnMvY2hhdCIsImV4cCI6MTcwMDAwMDA2MCwic3"
      "ViIjoicHktdXNlciIsInJvbGUiOlsid2VicHVic3ViLnNlbmRUb0dyb3VwLmcxIl19."
      "7Dm5TeK8W-4xd3nFECrZ5uaKYYXbcI_oxp2LcwkEG8E";
  const VerifyResult r = verify_token(token, options());
  ASSERT_TRUE(r) << to_string(r.error);
  EXPECT_EQ(r.claims->subject, "py-user");
  EXPECT_EQ(r.claims->roles, std::vector<std::string>{"webpubsub.sendToGroup.g1"});
  EXPECT_TRUE(r.claims->groups.empty());
  EXPECT_FALSE(r.claims->iat);
  EXPECT_EQ(r.claims->exp, now + 60);
}

TEST(VerifyToken, JsRestTokenWithEmptyClaimsAndQueryAudience) {
  const std::string payload =
      R"({"iat":1700000000,"exp":1700003600,)"
      R"("aud":"http://localhost:8080/api/hubs/chat/:send?api-version=2024-12-01&excluded=a"})";
  const VerifyResult r = verify_token(sign_token(payload, primary_key), options());
  ASSERT_TRUE(r);
  EXPECT_EQ(r.claims->audiences.at(0),
            "http://localhost:8080/api/hubs/chat/:send?api-version=2024-12-01&excluded=a");
  EXPECT_FALSE(r.claims->subject);
}

TEST(VerifyToken, SingleStringRoleGroupAndAudienceArray) {
  const std::string payload =
      R"({"aud":["x","y"],"role":"webpubsub.joinLeaveGroup","webpubsub.group":"g","exp":)" +
      std::to_string(now + 10) + "}";
  const VerifyResult r = verify_token(sign_token(payload, primary_key), options());
  ASSERT_TRUE(r);
  EXPECT_EQ(r.claims->audiences, (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(r.claims->roles, std::vector<std::string>{"webpubsub.joinLeaveGroup"});
  EXPECT_EQ(r.claims->groups, std::vector<std::string>{"g"});
}

TEST(VerifyToken, AlternativeClaimNames) {
  const std::string payload =
      R"({"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/nameidentifier":"u2",)"
      R"("http://schemas.microsoft.com/ws/2008/06/identity/claims/role":["r1","r2"],)"
      R"("group":["g1"],"exp":)" +
      std::to_string(now + 10) + "}";
  const VerifyResult r = verify_token(sign_token(payload, primary_key), options());
  ASSERT_TRUE(r);
  EXPECT_EQ(r.claims->subject, "u2");
  EXPECT_EQ(r.claims->roles, (std::vector<std::string>{"r1", "r2"}));
  EXPECT_EQ(r.claims->groups, std::vector<std::string>{"g1"});
}

TEST(VerifyToken, PrimaryClaimNamesWinAndAlternativesMerge) {
  const std::string payload =
      R"({"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/nameidentifier":"alt",)"
      R"("sub":"main","role":["r1"],)"
      R"("http://schemas.microsoft.com/ws/2008/06/identity/claims/role":["r1","r2"],)"
      R"("group":"g2","webpubsub.group":["g1"],"exp":)" +
      std::to_string(now + 10) + "}";
  const VerifyResult r = verify_token(sign_token(payload, primary_key), options());
  ASSERT_TRUE(r);
  EXPECT_EQ(r.claims->subject, "main");
  EXPECT_EQ(r.claims->roles, (std::vector<std::string>{"r1", "r2"}));
  EXPECT_EQ(r.claims->groups, (std::vector<std::string>{"g1", "g2"}));
}

TEST(VerifyToken, AllClaimsRenderedAsStringLists) {
  const std::string payload =
      R"({"exp":)" + std::to_string(now + 10) +
      R"(,"custom":"v","n":42,"f":1.5,"b":true,"z":null,"arr":["a",1,false],)"
      R"("obj":{"k":"v"},"empty":[]})";
  const VerifyResult r = verify_token(sign_token(payload, primary_key), options());
  ASSERT_TRUE(r) << to_string(r.error);
  const auto& all = r.claims->all;
  EXPECT_EQ(all.at("custom"), std::vector<std::string>{"v"});
  EXPECT_EQ(all.at("n"), std::vector<std::string>{"42"});
  EXPECT_EQ(all.at("b"), std::vector<std::string>{"true"});
  EXPECT_EQ(all.at("z"), std::vector<std::string>{"null"});
  EXPECT_EQ(all.at("arr"), (std::vector<std::string>{"a", "1", "false"}));
  EXPECT_EQ(all.at("obj"), std::vector<std::string>{R"({"k":"v"})"});
  EXPECT_TRUE(all.at("empty").empty());
  EXPECT_EQ(all.at("f"), std::vector<std::string>{"1.5"});
  EXPECT_EQ(all.at("exp"), std::vector<std::string>{std::to_string(now + 10)});
}

TEST(VerifyToken, UnicodeClaimsSurvive) {
  const std::string payload = R"({"sub":"\u00fcser \u4e2d","exp":)" + std::to_string(now + 1) + "}";
  const VerifyResult r = verify_token(sign_token(payload, primary_key), options());
  ASSERT_TRUE(r);
  EXPECT_EQ(r.claims->subject, "\xC3\xBCser \xE4\xB8\xAD");
}

// --- keys and signatures ----------------------------------------------------------------------

TEST(VerifyToken, SecondaryKeyAccepted) {
  const VerifyResult r = verify_token(sign_token(exp_payload(now + 10), secondary_key), options());
  EXPECT_TRUE(r);
}

TEST(VerifyToken, UnknownKeyRejected) {
  EXPECT_EQ(error_of(sign_token(exp_payload(now + 10), "some-other-key-of-enough-length-1234")),
            TokenError::bad_signature);
}

TEST(VerifyToken, NoKeysMeansBadSignature) {
  VerifyOptions o = options();
  o.keys.clear();
  EXPECT_EQ(error_of(sign_token(exp_payload(now + 10), primary_key), o), TokenError::bad_signature);
}

TEST(VerifyToken, KeyIsUsedAsUtf8BytesNotBase64Decoded) {
  // A key that is valid base64; signing with its decoded bytes must not verify.
  const std::string token = sign_token(exp_payload(now + 10), "AAAA");
  VerifyOptions o = options();
  o.keys = {std::string("\0\0\0", 3)};
  EXPECT_EQ(error_of(token, o), TokenError::bad_signature);
  o.keys = {"AAAA"};
  EXPECT_TRUE(verify_token(token, o));
}

TEST(VerifyToken, TamperedPayloadRejected) {
  const std::string token = sign_token(exp_payload(now + 10), primary_key);
  const std::size_t first = token.find('.');
  const std::size_t second = token.find('.', first + 1);
  const std::string forged_payload = b64url(R"({"aud":"a","exp":9999999999,"role":"admin"})");
  const std::string forged = token.substr(0, first + 1) + forged_payload + token.substr(second);
  EXPECT_EQ(error_of(forged), TokenError::bad_signature);
}

TEST(VerifyToken, TamperedSignatureRejected) {
  const std::string token = sign_token(exp_payload(now + 10), primary_key);
  const std::size_t sig_start = token.rfind('.') + 1;
  for (std::size_t i = sig_start; i < token.size(); ++i) {
    for (const char replacement : {'A', 'B', 'Q', 'g', 'w', '_'}) {
      if (token[i] == replacement) {
        continue;
      }
      std::string t = token;
      t[i] = replacement;
      const VerifyResult r = verify_token(t, options());
      EXPECT_FALSE(r) << t;
      // The last character carries two unused bits: non-canonical forms are malformed.
      if (i + 1 == token.size()) {
        EXPECT_TRUE(r.error == TokenError::bad_signature || r.error == TokenError::malformed);
      } else {
        EXPECT_EQ(r.error, TokenError::bad_signature) << t;
      }
    }
  }
}

TEST(VerifyToken, NonCanonicalBase64Rejected) {
  const std::string token = sign_token(exp_payload(now + 10), primary_key);
  // Signature is 43 chars: last char encodes 4 bits, the 2 low bits must be zero.
  static constexpr std::string_view alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const std::size_t last = alphabet.find(token.back());
  ASSERT_EQ(last % 4, 0U);
  std::string t = token;
  t.back() = alphabet[last + 1];
  EXPECT_EQ(error_of(t), TokenError::malformed);
}

TEST(VerifyToken, TamperedHeaderRejected) {
  const std::string token = sign_token(exp_payload(now + 10), primary_key);
  // {"alg":"HS256","typ":"JWS"} differs only in the header: new signing input.
  const std::string other_header = b64url(R"({"alg":"HS256","typ":"JWS"})");
  const std::string forged = other_header + token.substr(token.find('.'));
  EXPECT_EQ(error_of(forged), TokenError::bad_signature);
}

TEST(VerifyToken, TruncatedOrMissingSignatureRejected) {
  const std::string token = sign_token(exp_payload(now + 10), primary_key);
  const std::string without_sig = token.substr(0, token.rfind('.') + 1);
  EXPECT_EQ(error_of(without_sig), TokenError::bad_signature);
  // Shorter signatures (the cut may leave non-canonical trailing bits -> malformed).
  for (std::size_t cut = 1; cut <= 43; ++cut) {
    const TokenError e = error_of(token.substr(0, token.size() - cut));
    EXPECT_TRUE(e == TokenError::bad_signature || e == TokenError::malformed) << cut;
  }
  // Canonical 40-character prefix re-encoded: 30 bytes, wrong length.
  const std::string sig30 =
      b64url(hmac256(primary_key, token.substr(0, token.rfind('.'))).substr(0, 30));
  EXPECT_EQ(error_of(token.substr(0, token.rfind('.') + 1) + sig30), TokenError::bad_signature);
  // 41 chars: not a valid base64 length.
  EXPECT_EQ(error_of(token.substr(0, token.size() - 2)), TokenError::malformed);
  // Extra signature bytes.
  EXPECT_EQ(error_of(token + "AAAA"), TokenError::bad_signature);
}

TEST(VerifyToken, PaddedPartsAccepted) {
  const std::string header = R"({"alg":"HS256"})";
  // 19 bytes -> 26 base64url characters, i.e. "==" when padded.
  const std::string payload = R"({"exp":)" + std::to_string(now + 10) + "} ";
  ASSERT_EQ(b64url(payload).size() % 4, 2U);
  const std::string input = b64url(header) + "." + b64url(payload);
  const std::string sig = b64url(hmac256(primary_key, input));  // 32 bytes -> 43 characters
  EXPECT_TRUE(verify_token(input + "." + sig, options()));
  EXPECT_TRUE(verify_token(input + "." + sig + "=", options()));
  EXPECT_EQ(error_of(input + "." + sig + "=="), TokenError::malformed);
  EXPECT_EQ(error_of(input + "." + sig + "A="), TokenError::malformed);

  // A padded payload: the signing input is the text as transmitted, padding included.
  const std::string padded_input = b64url(header) + "." + b64url(payload) + "==";
  const std::string padded_sig = b64url(hmac256(primary_key, padded_input));
  EXPECT_TRUE(verify_token(padded_input + "." + padded_sig, options()));
  EXPECT_EQ(error_of(b64url(header) + "." + b64url(payload) + "=." + padded_sig),
            TokenError::malformed);
  // Signed without padding, transmitted with padding: signature no longer matches.
  EXPECT_EQ(error_of(padded_input + "." + sig), TokenError::bad_signature);
}

// --- algorithms and headers -------------------------------------------------------------------

TEST(VerifyToken, AlgNoneRejected) {
  const std::string payload = exp_payload(now + 10);
  const std::string unsigned_token =
      b64url(R"({"alg":"none","typ":"JWT"})") + "." + b64url(payload) + ".";
  EXPECT_EQ(error_of(unsigned_token), TokenError::unsupported_algorithm);
  EXPECT_EQ(error_of(craft(R"({"alg":"none"})", payload)), TokenError::unsupported_algorithm);
  EXPECT_EQ(error_of(craft(R"({"alg":"None"})", payload)), TokenError::unsupported_algorithm);
}

TEST(VerifyToken, OtherAlgorithmsRejected) {
  const std::string payload = exp_payload(now + 10);
  for (const char* header :
       {R"({"alg":"HS512","typ":"JWT"})", R"({"alg":"HS384"})", R"({"alg":"RS256"})",
        R"({"alg":"hs256"})", R"({"alg":"HS256 "})", R"({"alg":["HS256"]})", R"({"alg":null})",
        R"({"alg":256})", R"({"typ":"JWT"})", R"({})"}) {
    EXPECT_EQ(error_of(craft(header, payload)), TokenError::unsupported_algorithm) << header;
  }
}

TEST(VerifyToken, TypIsOptionalAndNotChecked) {
  const std::string payload = exp_payload(now + 10);
  EXPECT_TRUE(verify_token(craft(R"({"alg":"HS256"})", payload), options()));
  EXPECT_TRUE(
      verify_token(craft(R"({"typ":"at+jwt","alg":"HS256","kid":"k1"})", payload), options()));
}

TEST(VerifyToken, HeaderNotAJsonObjectIsMalformed) {
  const std::string payload = exp_payload(now + 10);
  for (const char* header : {"[]", "\"HS256\"", "{", "not json", "", R"({"alg":"HS256"} x)"}) {
    EXPECT_EQ(error_of(craft(header, payload)), TokenError::malformed) << header;
  }
}

// --- structure --------------------------------------------------------------------------------

TEST(VerifyToken, WrongNumberOfPartsIsMalformed) {
  const std::string token = sign_token(exp_payload(now + 10), primary_key);
  EXPECT_EQ(error_of(""), TokenError::malformed);
  EXPECT_EQ(error_of("."), TokenError::malformed);
  EXPECT_EQ(error_of(".."), TokenError::malformed);
  EXPECT_EQ(error_of("..."), TokenError::malformed);
  EXPECT_EQ(error_of("abc"), TokenError::malformed);
  EXPECT_EQ(error_of(token.substr(0, token.rfind('.'))), TokenError::malformed);
  EXPECT_EQ(error_of(token + ".x"), TokenError::malformed);
  EXPECT_EQ(error_of(token + "."), TokenError::malformed);
}

TEST(VerifyToken, TruncatedTokensNeverVerify) {
  const std::string token = sign_token(exp_payload(now + 10), primary_key);
  for (std::size_t n = 0; n < token.size(); ++n) {
    EXPECT_FALSE(verify_token(token.substr(0, n), options())) << n;
  }
}

TEST(VerifyToken, InvalidBase64CharactersAreMalformed) {
  const std::string token = sign_token(exp_payload(now + 10), primary_key);
  std::string plus = token;
  plus[2] = '+';
  EXPECT_EQ(error_of(plus), TokenError::malformed);
  std::string slash = token;
  slash[token.find('.') + 2] = '/';
  EXPECT_EQ(error_of(slash), TokenError::malformed);
  EXPECT_EQ(error_of(" " + token), TokenError::malformed);
  EXPECT_EQ(error_of(token + "\n"), TokenError::malformed);
  EXPECT_EQ(error_of("Bearer " + token), TokenError::malformed);
}

TEST(VerifyToken, PayloadNotAnObjectIsMalformed) {
  for (const char* payload : {"[]", "42", "\"s\"", "null", "{", "", "{\"exp\":1,}"}) {
    EXPECT_EQ(error_of(sign_token(payload, primary_key)), TokenError::malformed) << payload;
  }
}

TEST(VerifyToken, InvalidUtf8PayloadIsMalformed) {
  EXPECT_EQ(error_of(sign_token("{\"sub\":\"\xff\xfe\",\"exp\":9999999999}", primary_key)),
            TokenError::malformed);
}

TEST(VerifyToken, OversizedTokenIsMalformed) {
  const std::string payload =
      R"({"exp":)" + std::to_string(now + 10) + R"(,"pad":")" + std::string(13000, 'x') + "\"}";
  EXPECT_EQ(error_of(sign_token(payload, primary_key)), TokenError::malformed);
  const std::string fits =
      R"({"exp":)" + std::to_string(now + 10) + R"(,"pad":")" + std::string(8000, 'x') + "\"}";
  EXPECT_TRUE(verify_token(sign_token(fits, primary_key), options()));
}

TEST(VerifyToken, DeepJsonIsMalformed) {
  std::string deep = R"({"exp":)" + std::to_string(now + 10) + R"(,"d":)";
  deep += std::string(200, '[');
  deep += std::string(200, ']');
  deep += "}";
  EXPECT_EQ(error_of(sign_token(deep, primary_key)), TokenError::malformed);
  std::string shallow = R"({"exp":)" + std::to_string(now + 10) + R"(,"d":[[["x"]]]})";
  EXPECT_TRUE(verify_token(sign_token(shallow, primary_key), options()));
}

TEST(VerifyToken, WrongClaimTypesAreMalformed) {
  const std::string exp = R"("exp":)" + std::to_string(now + 10);
  for (const std::string& payload : {
           "{" + exp + R"(,"aud":42})",
           "{" + exp + R"(,"aud":["a",1]})",
           "{" + exp + R"(,"sub":42})",
           "{" + exp + R"(,"sub":["u"]})",
           "{" + exp + R"(,"role":{"r":1}})",
           "{" + exp + R"(,"webpubsub.group":[null]})",
           "{" + exp + R"(,"group":true})",
           "{" + exp + R"(,"iat":"1700000000"})",
           "{" + exp + R"(,"nbf":null})",
           std::string(R"({"exp":"1700000000"})"),
           std::string(R"({"exp":true})"),
           std::string(R"({"exp":[1700000000]})"),
           std::string(R"({"exp":1e300})"),
           std::string(R"({"exp":-1e300})"),
           std::string(R"({"exp":18446744073709551615})"),
       }) {
    EXPECT_EQ(error_of(sign_token(payload, primary_key)), TokenError::malformed) << payload;
  }
}

// --- time checks ------------------------------------------------------------------------------

TEST(VerifyToken, ExpiryBoundaryWithDefaultSkew) {
  const std::int64_t exp = now;
  const std::string token = sign_token(exp_payload(exp), primary_key);
  EXPECT_TRUE(verify_token(token, options(exp + 299)));
  EXPECT_EQ(error_of(token, options(exp + 300)), TokenError::expired);
  EXPECT_EQ(error_of(token, options(exp + 100000)), TokenError::expired);
}

TEST(VerifyToken, ExpiryBoundaryWithoutSkew) {
  const std::string token = sign_token(exp_payload(now), primary_key);
  VerifyOptions o = options(now - 1);
  o.clock_skew = std::chrono::seconds{0};
  EXPECT_TRUE(verify_token(token, o));
  o.now = now;
  EXPECT_EQ(error_of(token, o), TokenError::expired);
}

TEST(VerifyToken, NotBeforeBoundary) {
  const std::int64_t nbf = now + 1000;
  const std::string token = sign_token(
      R"({"exp":)" + std::to_string(nbf + 3600) + R"(,"nbf":)" + std::to_string(nbf) + "}",
      primary_key);
  EXPECT_EQ(error_of(token, options(nbf - 301)), TokenError::not_yet_valid);
  EXPECT_TRUE(verify_token(token, options(nbf - 300)));
  EXPECT_TRUE(verify_token(token, options(nbf)));
  VerifyOptions o = options(nbf - 1);
  o.clock_skew = std::chrono::seconds{0};
  EXPECT_EQ(error_of(token, o), TokenError::not_yet_valid);
  o.now = nbf;
  EXPECT_TRUE(verify_token(token, o));
}

TEST(VerifyToken, MissingExpiry) {
  const std::string token = sign_token(R"({"aud":"a","iat":1700000000})", primary_key);
  EXPECT_EQ(error_of(token), TokenError::missing_expiry);
  VerifyOptions o = options();
  o.require_expiry = false;
  const VerifyResult r = verify_token(token, o);
  ASSERT_TRUE(r);
  EXPECT_FALSE(r.claims->exp);
}

TEST(VerifyToken, FractionalTimesAreTruncated) {
  const std::string token =
      sign_token(R"({"exp":1700000000.9,"nbf":1699999000.5,"iat":1.6999990009e9})", primary_key);
  const VerifyResult r = verify_token(token, options(1699999500));
  ASSERT_TRUE(r);
  EXPECT_EQ(r.claims->exp, 1700000000);
  EXPECT_EQ(r.claims->nbf, 1699999000);
  EXPECT_EQ(r.claims->iat, 1699999000);
}

TEST(VerifyToken, ExtremeTimesDoNotOverflow) {
  const std::int64_t max = std::numeric_limits<std::int64_t>::max();
  const std::int64_t min = std::numeric_limits<std::int64_t>::min();
  EXPECT_TRUE(verify_token(sign_token(exp_payload(max), primary_key), options()));
  EXPECT_TRUE(verify_token(sign_token(exp_payload(max), primary_key), options(max - 1)));
  EXPECT_EQ(error_of(sign_token(exp_payload(max), primary_key), options(max)), TokenError::expired);
  EXPECT_EQ(error_of(sign_token(R"({"exp":-9223372036854775808})", primary_key)),
            TokenError::expired);
  // now == exp == min: exp + skew saturates upward only as far as min + skew.
  EXPECT_TRUE(
      verify_token(sign_token(R"({"exp":-9223372036854775808})", primary_key), options(min)));
  const std::string far_nbf = R"({"exp":9223372036854775807,"nbf":9223372036854775807})";
  EXPECT_EQ(error_of(sign_token(far_nbf, primary_key), options(max - 1000)),
            TokenError::not_yet_valid);
  EXPECT_TRUE(verify_token(
      sign_token(R"({"exp":9999999999,"nbf":-9223372036854775808})", primary_key), options(min)));
}

TEST(VerifyToken, ChecksSignatureBeforeTime) {
  // An expired token with a bad signature reports the signature.
  EXPECT_EQ(error_of(sign_token(exp_payload(1), "wrong-key-xxxxxxxxxxxxxxxxxxxxxxxxxx")),
            TokenError::bad_signature);
}

TEST(TokenErrorText, AllValuesNamed) {
  EXPECT_EQ(to_string(TokenError::malformed), "malformed");
  EXPECT_EQ(to_string(TokenError::unsupported_algorithm), "unsupported_algorithm");
  EXPECT_EQ(to_string(TokenError::bad_signature), "bad_signature");
  EXPECT_EQ(to_string(TokenError::expired), "expired");
  EXPECT_EQ(to_string(TokenError::not_yet_valid), "not_yet_valid");
  EXPECT_EQ(to_string(TokenError::missing_expiry), "missing_expiry");
  EXPECT_EQ(to_string(TokenError::audience_mismatch), "audience_mismatch");
}

}  // namespace
}  // namespace wps::auth
