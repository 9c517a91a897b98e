#include "handler/handshake.hpp"

#include <algorithm>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include "auth/jwt.hpp"
#include "protocol/names.hpp"
#include "util/text.hpp"

namespace wps::handler {

namespace {

constexpr std::string_view kJsonProtocol = "json.webpubsub.azure.v1";
constexpr std::string_view kJsonReliableProtocol = "json.reliable.webpubsub.azure.v1";
constexpr std::string_view kProtobufProtocol = "protobuf.webpubsub.azure.v1";
constexpr std::string_view kProtobufReliableProtocol = "protobuf.reliable.webpubsub.azure.v1";

HandshakeReject reject(unsigned status, std::string code, std::string message) {
  return HandshakeReject{status, std::move(code), std::move(message)};
}

// The hub named by the request path or query; nullopt when the target is not a client endpoint.
struct Target {
  std::optional<std::string> hub;  // percent-decoded, as given
  std::optional<std::string> access_token;
  std::optional<std::string> recover_connection_id;
  std::optional<std::string> recover_token;
  bool mqtt = false;  // /clients/mqtt/hubs/{hub}
};

std::optional<Target> parse_target(std::string_view target) {
  auto parsed = boost::urls::parse_origin_form(target);
  if (!parsed)
    return std::nullopt;
  const boost::urls::url_view& url = *parsed;
  std::vector<std::string> segments;
  for (auto seg : url.segments())
    segments.emplace_back(seg);
  // A trailing slash yields an empty last segment.
  if (!segments.empty() && segments.back().empty())
    segments.pop_back();
  Target result;
  for (auto param : url.params()) {
    if (param.key == "access_token" && !result.access_token && param.has_value)
      result.access_token = std::string(param.value);
    if (param.key == "awps_connection_id" && param.has_value)
      result.recover_connection_id = std::string(param.value);
    if (param.key == "awps_reconnection_token" && param.has_value)
      result.recover_token = std::string(param.value);
    if (param.key == "hub" && param.has_value && segments.size() == 1)
      result.hub = std::string(param.value);
  }
  if (segments.size() == 3 && segments[0] == "client" && segments[1] == "hubs") {
    result.hub = segments[2];
    return result;
  }
  // MQTT over WebSocket (docs/PROTOCOL.md "MQTT"): only the hub path; other /clients/mqtt/
  // paths stay 404.
  if (segments.size() == 4 && segments[0] == "clients" && segments[1] == "mqtt" &&
      segments[2] == "hubs") {
    result.hub = segments[3];
    result.mqtt = true;
    result.recover_connection_id.reset();
    return result;
  }
  if (segments.size() == 1 && segments[0] == "client")
    return result;
  return std::nullopt;
}

}  // namespace

bool is_client_endpoint(std::string_view target) {
  return parse_target(target).has_value();
}

core::ProtocolKind protocol_kind_of(const std::vector<std::string_view>& offered) {
  for (std::string_view value : offered) {
    if (util::iequals(value, kJsonProtocol))
      return core::ProtocolKind::json;
    if (util::iequals(value, kJsonReliableProtocol))
      return core::ProtocolKind::json_reliable;
    if (util::iequals(value, kProtobufProtocol))
      return core::ProtocolKind::protobuf;
    if (util::iequals(value, kProtobufReliableProtocol))
      return core::ProtocolKind::protobuf_reliable;
  }
  return core::ProtocolKind::simple;
}

HandshakeDecision decide_handshake(const HandshakeRequest& request, const config::Config& config,
                                   std::int64_t now_seconds) {
  auto target = parse_target(request.target);
  if (!target)
    return reject(404, "NotFound", "Not a client endpoint.");
  if (!target->hub || target->hub->empty())
    return reject(400, "BadRequest",
                  target->mqtt ? "The hub name is missing: use /clients/mqtt/hubs/{hub}."
                               : "The hub name is missing: use /client/hubs/{hub}.");
  if (!protocol::is_valid_hub_name(*target->hub))
    return reject(400, "BadRequest", "Invalid hub name.");
  if (!request.is_websocket_upgrade)
    return reject(400, "BadRequest", "The client endpoint expects a WebSocket upgrade request.");

  HandshakeAccept accept;
  accept.hub = util::to_lower(*target->hub);
  const config::HubSettings& hub_settings = config.hub_settings(accept.hub);

  if (target->mqtt) {
    // MQTT clients must offer `mqtt` (MQTT.js does, for 3.1.1 and 5.0); `mqttv3.1` alone is
    // MQTT 3.1, which is not supported.
    for (std::string_view offered : request.offered_protocols) {
      if (util::iequals(offered, "mqtt")) {
        accept.kind = core::ProtocolKind::mqtt;
        accept.subprotocol = std::string(offered);
        break;
      }
    }
    if (accept.kind != core::ProtocolKind::mqtt)
      return reject(400, "BadRequest",
                    "The MQTT endpoint requires the WebSocket subprotocol 'mqtt'.");
  }

  // Subprotocol: echo the first offered value we support; anything else is a simple client.
  for (std::string_view offered :
       target->mqtt ? std::vector<std::string_view>{} : request.offered_protocols) {
    const core::ProtocolKind kind = protocol_kind_of({offered});
    if (kind != core::ProtocolKind::simple) {
      accept.kind = kind;
      accept.subprotocol = std::string(offered);
      break;
    }
  }

  // Recovery of a reliable connection: the JS client appends the pair to its original URL, so a
  // stale access_token may still be there; the pair wins (spec §3.3).
  if (target->recover_connection_id) {
    accept.recover_connection_id = std::move(target->recover_connection_id);
    accept.recover_token = target->recover_token.value_or("");
    return accept;
  }

  // Token: the access_token query parameter wins over the Authorization header (emulator).
  std::optional<std::string_view> token;
  if (target->access_token) {
    token = *target->access_token;
  } else if (request.authorization.size() > 7 &&
             util::istarts_with(request.authorization, "bearer ")) {
    token = request.authorization.substr(7);
  }

  if (!token || token->empty()) {
    if (!hub_settings.allow_anonymous)
      return reject(401, "Unauthorized", "An access token is required to connect to this hub.");
  } else {
    auth::VerifyOptions options;
    options.keys.push_back(config.primary_key);
    if (config.secondary_key)
      options.keys.push_back(*config.secondary_key);
    options.now = now_seconds;
    options.clock_skew = config.limits.clock_skew;
    auto verified = auth::verify_token(*token, options);
    if (!verified)
      return reject(401, "Unauthorized",
                    std::string("Invalid access token: ") +
                        std::string(auth::to_string(verified.error)) + ".");
    const std::string_view endpoint = target->mqtt ? "/clients/mqtt/hubs/" : "/client/hubs/";
    const auto& audiences = verified.claims->audiences;
    // Most tokens name this very URL: checked first without allocating (issue 14: handshakes).
    if (config.audience_ignore_host ||
        !auth::client_audience_is_exactly(audiences, *target->hub, request.host,
                                          config.public_origin, endpoint)) {
      std::vector<std::string> origins;
      if (!request.host.empty()) {
        origins.push_back("http://" + std::string(request.host));
        origins.push_back("https://" + std::string(request.host));
      }
      if (!config.public_origin.empty())
        origins.push_back(config.public_origin);
      if (!auth::client_audience_matches(audiences, *target->hub, origins,
                                         config.audience_ignore_host, endpoint))
        return reject(401, "Unauthorized", "The access token's audience does not match this hub.");
    }
    auth::Claims& claims = *verified.claims;
    accept.claims = std::move(claims.all);
    if (claims.subject && !claims.subject->empty())
      accept.user_id = std::move(claims.subject);
    accept.roles = std::move(claims.roles);
    for (std::string& group : claims.groups) {
      if (!protocol::is_valid_group_name(group))
        return reject(400, "BadRequest", "The access token contains an invalid group name.");
      if (std::find(accept.groups.begin(), accept.groups.end(), group) == accept.groups.end())
        accept.groups.push_back(std::move(group));
    }
    const std::size_t max_groups = config.limits.max_groups_per_connection;
    if (max_groups != 0 && accept.groups.size() > max_groups)
      return reject(400, "BadRequest",
                    "The access token lists " + std::to_string(accept.groups.size()) +
                        " groups; a connection may be in at most " + std::to_string(max_groups) +
                        ".");
  }
  return accept;
}

}  // namespace wps::handler
