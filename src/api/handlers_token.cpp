// :generateToken (spec §4.6): a client access token for the hub, signed with the primary key.

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <limits>

#include "api/api_error.hpp"
#include "api/handlers.hpp"
#include "auth/jwt.hpp"
#include "auth/token_claims.hpp"
#include "protocol/names.hpp"
#include "util/text.hpp"

namespace wps::api {

namespace {

constexpr long long kDefaultMinutes = 60;

// The audience path of each client type (spec §4.6, §9.2, §9.3).
std::string audience(const Call& call) {
  const std::string origin = call.public_origin();
  const auto type = call.query.single("clientType");
  if (!type || type->empty() || util::iequals(*type, "Default"))
    return auth::client_token_audience(origin, call.params.hub);
  if (util::iequals(*type, "MQTT"))
    return origin + "/clients/mqtt/hubs/" + call.params.hub;
  if (util::iequals(*type, "SocketIO"))
    return origin + "/clients/socketio/hubs/" + call.params.hub;
  bad_request("Unknown clientType '" + *type + "': use Default, MQTT or SocketIO.");
}

}  // namespace

Response generate_client_token(const Call& call) {
  auth::ClientTokenClaims claims;
  claims.audience = audience(call);
  if (auto user = call.query.single("userId"); user && !user->empty())
    claims.user_id = std::move(*user);
  claims.roles = call.query.all_non_empty("role");
  claims.groups = call.query.all_non_empty("group");
  const auto is_utf8 = [](const std::string& text) { return util::to_valid_utf8(text) == text; };
  if (claims.user_id && !is_utf8(*claims.user_id))
    bad_request("The userId must be UTF-8.");
  for (const std::string& role : claims.roles) {
    if (!is_utf8(role))
      bad_request("Every role must be UTF-8.");
  }
  for (const std::string& group : claims.groups) {
    if (!protocol::is_valid_group_name(group))
      bad_request("Invalid group '" + group + "': it must be a valid group name.");
  }
  const long long minutes =
      call.query.integer("minutesToExpire", 1, std::numeric_limits<std::int32_t>::max())
          .value_or(kDefaultMinutes);
  claims.iat = call.now_seconds;
  claims.exp = call.now_seconds + minutes * 60;

  // The claims helper has no `nbf`; the service sets it to the issue time (spec §4.6).
  boost::json::object object =
      boost::json::parse(auth::build_client_token_claims(claims)).as_object();
  object["nbf"] = call.now_seconds;
  const std::string token =
      auth::sign_token(boost::json::serialize(object), call.config.primary_key);

  boost::json::object response;
  response["token"] = token;
  return json_response(200, boost::json::serialize(response), call.request);
}

}  // namespace wps::api
