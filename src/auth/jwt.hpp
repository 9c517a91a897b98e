#pragma once
// HS256 JSON Web Tokens (RFC 7519) as the Web PubSub SDKs mint them (spec §3.1, §3.2).
// Only HS256 is accepted; signatures are compared in constant time; keys are the UTF-8 bytes of
// the access-key string (not base64-decoded).

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wps::auth {

enum class TokenError {
  malformed,              // not three base64url parts, bad JSON, claims not an object, ...
  unsupported_algorithm,  // header alg other than HS256 (including "none")
  bad_signature,          // signed with none of the keys
  expired,                // exp + skew <= now
  not_yet_valid,          // nbf - skew > now
  missing_expiry,         // exp absent while required
  audience_mismatch,      // audience check failed (reported by the audience helpers' callers)
};

std::string_view to_string(TokenError error) noexcept;

// Claims of a verified token. Claim values that may be a string or an array of strings are
// normalised to vectors. `all` keeps every claim as a list of strings (numbers and booleans
// rendered as JSON text) for the connect event's `claims`.
struct Claims {
  std::vector<std::string> audiences;  // "aud": string or array
  std::optional<std::string> subject;  // "sub" or the xmlsoap nameidentifier claim
  std::vector<std::string> roles;      // "role" or the microsoft role claim; string or array
  std::vector<std::string> groups;     // "webpubsub.group" or "group"; string or array
  std::optional<std::int64_t> exp;
  std::optional<std::int64_t> nbf;
  std::optional<std::int64_t> iat;
  std::map<std::string, std::vector<std::string>> all;
};

struct VerifyOptions {
  std::vector<std::string> keys;         // primary first, then secondary; non-empty
  std::int64_t now = 0;                  // seconds since the epoch
  std::chrono::seconds clock_skew{300};  // emulator value (spec §10.1)
  bool require_expiry = true;
};

struct VerifyResult {
  std::optional<Claims> claims;
  TokenError error = TokenError::malformed;
  explicit operator bool() const noexcept { return claims.has_value(); }
};

// Parses and verifies `token`. Never throws.
VerifyResult verify_token(std::string_view token, const VerifyOptions& options);

// The lifetime rules of verify_token (exp required when options.require_expiry, exp and nbf with
// options.clock_skew at options.now): the problem, or nullopt when the token is current.
std::optional<TokenError> lifetime_error(const Claims& claims, const VerifyOptions& options);

// Reads a token's claims WITHOUT checking its signature or algorithm: for Microsoft Entra tokens
// accepted unvalidated in local development (--allow-unvalidated-entra-tokens). The header must
// be a JSON object with a string "alg"; claims are read as verify_token reads them. nullopt when
// malformed. Never throws.
std::optional<Claims> read_unverified_claims(std::string_view token);

// Signs `claims_json` (a JSON object text) as {"alg":"HS256","typ":"JWT"}.
std::string sign_token(std::string_view claims_json, std::string_view key);

// Audience rules.
// Client tokens (§3.2.3): `aud` equals <origin>/client/hubs/<hub>, compared case-insensitively,
// ignoring one trailing '/', with ws==http and wss==https, hub compared raw or percent-decoded.
// `origins` lists acceptable "scheme://host[:port]" values (the request's Host with http and
// https, plus any configured public origin); when `any_host` is true only the path is compared.
// MQTT tokens name the MQTT endpoint instead: `endpoint` "/clients/mqtt/hubs/".
bool client_audience_matches(const std::vector<std::string>& audiences, std::string_view hub,
                             const std::vector<std::string>& origins, bool any_host,
                             std::string_view endpoint = "/client/hubs/");

// The common case of client_audience_matches, without allocating: some `aud` is exactly
// <origin><endpoint><hub> for an origin http://<host>, https://<host> or `public_origin` (one
// trailing '/' of it dropped). True implies client_audience_matches(..., any_host = false) with
// those origins; false means only that the full comparison is needed.
bool client_audience_is_exactly(const std::vector<std::string>& audiences, std::string_view hub,
                                std::string_view host, std::string_view public_origin,
                                std::string_view endpoint = "/client/hubs/");

// REST tokens (§3.1): `aud` equals the full request URL (origin + target as received) or the URL
// without its query, case-insensitively, also after percent-decoding `aud`, ignoring a trailing
// '/' difference. `target` is the raw request-target (path?query). With `any_host`, only the
// path(+query) part of `aud` is compared.
bool rest_audience_matches(const std::vector<std::string>& audiences, std::string_view target,
                           const std::vector<std::string>& origins, bool any_host);

}  // namespace wps::auth
