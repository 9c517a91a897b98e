#include "api/auth.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/api_error.hpp"
#include "auth/jwt.hpp"
#include "util/text.hpp"

namespace wps::api {

namespace http = boost::beast::http;

namespace {

[[noreturn]] void unauthorized(std::string message) {
  fail(401, "Unauthorized", std::move(message));
}

std::string_view bearer_token(const Request& request) {
  const auto it = request.find(http::field::authorization);
  if (it == request.end())
    unauthorized("The Authorization header is missing.");
  std::string_view value = util::trim_ows(it->value());
  constexpr std::string_view scheme = "bearer ";
  if (value.size() <= scheme.size() || !util::istarts_with(value, scheme))
    unauthorized("The Authorization header must use the Bearer scheme.");
  return util::trim_ows(value.substr(scheme.size()));
}

std::string describe(auth::TokenError error) {
  switch (error) {
    case auth::TokenError::expired:
      return "The access token has expired.";
    case auth::TokenError::not_yet_valid:
      return "The access token is not valid yet.";
    case auth::TokenError::missing_expiry:
      return "The access token has no expiry (exp).";
    case auth::TokenError::bad_signature:
      return "The access token's signature is invalid.";
    case auth::TokenError::unsupported_algorithm:
      return "The access token must be signed with HS256.";
    case auth::TokenError::audience_mismatch:
      return "The access token's audience does not match the request URL.";
    case auth::TokenError::malformed:
      break;
  }
  return "The access token is malformed.";
}

// The Web PubSub resource as Microsoft Entra ID names it in a token's audience (the SDKs ask for
// the scope "https://webpubsub.azure.com/.default"); case-insensitive, one trailing '/' allowed.
bool is_web_pubsub_resource(const std::vector<std::string>& audiences) {
  constexpr std::string_view resource = "https://webpubsub.azure.com";
  for (std::string_view aud : audiences) {
    if (aud.ends_with('/'))
      aud.remove_suffix(1);
    if (util::iequals(aud, resource))
      return true;
  }
  return false;
}

// A token that is not an access-key (HS256) token: accepted only as a Microsoft Entra token for
// the Web PubSub resource, unvalidated (audience and lifetime only), and only when configured.
void authenticate_entra(std::string_view token, const config::Config& config,
                        const auth::VerifyOptions& options) {
  const std::optional<auth::Claims> claims = auth::read_unverified_claims(token);
  if (!claims || !is_web_pubsub_resource(claims->audiences))
    unauthorized(describe(auth::TokenError::unsupported_algorithm));
  if (!config.allow_unvalidated_entra_tokens)
    unauthorized(
        "Microsoft Entra ID tokens are not accepted: this server authenticates REST calls with "
        "access-key tokens (HS256). For local development, --allow-unvalidated-entra-tokens "
        "accepts them without validation.");
  if (const auto error = auth::lifetime_error(*claims, options))
    unauthorized(describe(*error));
}

}  // namespace

void authenticate(const Request& request, const config::Config& config, std::int64_t now_seconds) {
  const std::string_view token = bearer_token(request);

  auth::VerifyOptions options;
  options.keys.push_back(config.primary_key);
  if (config.secondary_key && !config.secondary_key->empty())
    options.keys.push_back(*config.secondary_key);
  options.now = now_seconds;
  options.clock_skew = config.limits.clock_skew;
  options.require_expiry = true;
  const auth::VerifyResult verified = auth::verify_token(token, options);
  if (!verified && verified.error == auth::TokenError::unsupported_algorithm) {
    authenticate_entra(token, config, options);
    return;
  }
  if (!verified)
    unauthorized(describe(verified.error));

  std::vector<std::string> origins;
  const std::string_view host = request[http::field::host];
  if (!host.empty()) {
    origins.push_back("http://" + std::string(host));
    origins.push_back("https://" + std::string(host));
  }
  if (!config.public_origin.empty())
    origins.push_back(config.public_origin);
  if (!auth::rest_audience_matches(verified.claims->audiences, request.target(), origins,
                                   config.audience_ignore_host))
    unauthorized(describe(auth::TokenError::audience_mismatch));
}

}  // namespace wps::api
