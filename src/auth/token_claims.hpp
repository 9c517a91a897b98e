#pragma once
// Builds client access-token claims the way the SDKs and the service mint them (spec §3.2.2),
// for `:generateToken` (§4.6) and tests.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wps::auth {

struct ClientTokenClaims {
  std::string audience;                // e.g. client_token_audience(origin, hub)
  std::optional<std::string> user_id;  // "sub"; omitted when absent or empty
  std::vector<std::string> roles;      // "role" array; omitted when empty
  std::vector<std::string> groups;     // "webpubsub.group" array; omitted when empty
  std::optional<std::int64_t> iat;     // omitted when absent (Python style)
  std::int64_t exp = 0;
};

// "<origin>/client/hubs/<hub>" with one trailing '/' of `origin` removed; hub not escaped (as the
// SDKs do). `origin` is "scheme://host[:port]" (http/https).
std::string client_token_audience(std::string_view origin, std::string_view hub);

// JSON object text: {"role":[..],"webpubsub.group":[..],"sub":..,"aud":..,"iat":..,"exp":..}.
std::string build_client_token_claims(const ClientTokenClaims& claims);

// sign_token(build_client_token_claims(claims), key).
std::string mint_client_token(const ClientTokenClaims& claims, std::string_view key);

}  // namespace wps::auth
