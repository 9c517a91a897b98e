#include "auth/token_claims.hpp"

#include <boost/json.hpp>

#include "auth/jwt.hpp"

namespace wps::auth {

namespace {

boost::json::array to_array(const std::vector<std::string>& values) {
  boost::json::array out;
  out.reserve(values.size());
  for (const std::string& v : values) {
    out.emplace_back(boost::json::string_view(v.data(), v.size()));
  }
  return out;
}

}  // namespace

std::string client_token_audience(std::string_view origin, std::string_view hub) {
  if (!origin.empty() && origin.back() == '/') {
    origin.remove_suffix(1);
  }
  std::string aud(origin);
  aud += "/client/hubs/";
  aud += hub;
  return aud;
}

std::string build_client_token_claims(const ClientTokenClaims& claims) {
  boost::json::object object;
  if (!claims.roles.empty()) {
    object["role"] = to_array(claims.roles);
  }
  if (!claims.groups.empty()) {
    object["webpubsub.group"] = to_array(claims.groups);
  }
  if (claims.user_id && !claims.user_id->empty()) {
    object["sub"] = boost::json::string_view(claims.user_id->data(), claims.user_id->size());
  }
  object["aud"] = boost::json::string_view(claims.audience.data(), claims.audience.size());
  if (claims.iat) {
    object["iat"] = *claims.iat;
  }
  object["exp"] = claims.exp;
  return boost::json::serialize(object);
}

std::string mint_client_token(const ClientTokenClaims& claims, std::string_view key) {
  return sign_token(build_client_token_claims(claims), key);
}

}  // namespace wps::auth
