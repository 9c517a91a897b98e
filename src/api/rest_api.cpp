// RestApi::handle: target parsing, authentication, api-version, routing, then one handler; every
// failure becomes a JSON ErrorDetail (api_error.hpp).

#include "api/rest_api.hpp"

#include <array>
#include <boost/url/parse.hpp>
#include <exception>

#include "api/api_error.hpp"
#include "api/auth.hpp"
#include "api/call.hpp"
#include "api/handlers.hpp"
#include "api/router.hpp"
#include "api/versions.hpp"
#include "protocol/names.hpp"
#include "util/log.hpp"
#include "util/text.hpp"

namespace wps::api {

namespace http = boost::beast::http;

namespace {

using http::verb;

// The 24 operations of spec §4.3 (HealthApi_GetServiceStatus is answered by the transport).
constexpr std::array<Route, 24> kRoutes{{
    {verb::post, "hubs/{hub}/:addToGroups", add_connections_to_groups, "AddConnectionsToGroups"},
    {verb::post, "hubs/{hub}/:closeConnections", close_all, "CloseAllConnections"},
    {verb::post, "hubs/{hub}/:generateToken", generate_client_token, "GenerateClientToken"},
    {verb::post, "hubs/{hub}/:removeFromGroups", remove_connections_from_groups,
     "RemoveConnectionsFromGroups"},
    {verb::post, "hubs/{hub}/:send", send_to_all, "SendToAll"},
    {verb::delete_, "hubs/{hub}/connections/{connectionId}", close_connection, "CloseConnection"},
    {verb::head, "hubs/{hub}/connections/{connectionId}", connection_exists, "ConnectionExists"},
    {verb::post, "hubs/{hub}/connections/{connectionId}/:send", send_to_connection,
     "SendToConnection"},
    {verb::delete_, "hubs/{hub}/connections/{connectionId}/groups",
     remove_connection_from_all_groups, "RemoveConnectionFromAllGroups"},
    {verb::head, "hubs/{hub}/groups/{group}", group_exists, "GroupExists"},
    {verb::post, "hubs/{hub}/groups/{group}/:closeConnections", close_group,
     "CloseGroupConnections"},
    {verb::post, "hubs/{hub}/groups/{group}/:send", send_to_group, "SendToGroup"},
    {verb::get, "hubs/{hub}/groups/{group}/connections", list_connections_in_group,
     "ListConnectionsInGroup"},
    {verb::delete_, "hubs/{hub}/groups/{group}/connections/{connectionId}",
     remove_connection_from_group, "RemoveConnectionFromGroup"},
    {verb::put, "hubs/{hub}/groups/{group}/connections/{connectionId}", add_connection_to_group,
     "AddConnectionToGroup"},
    {verb::delete_, "hubs/{hub}/permissions/{permission}/connections/{connectionId}",
     revoke_permission, "RevokePermission"},
    {verb::head, "hubs/{hub}/permissions/{permission}/connections/{connectionId}", check_permission,
     "CheckPermission"},
    {verb::put, "hubs/{hub}/permissions/{permission}/connections/{connectionId}", grant_permission,
     "GrantPermission"},
    {verb::head, "hubs/{hub}/users/{userId}", user_exists, "UserExists"},
    {verb::post, "hubs/{hub}/users/{userId}/:closeConnections", close_user, "CloseUserConnections"},
    {verb::post, "hubs/{hub}/users/{userId}/:send", send_to_user, "SendToUser"},
    {verb::delete_, "hubs/{hub}/users/{userId}/groups", remove_user_from_all_groups,
     "RemoveUserFromAllGroups"},
    {verb::delete_, "hubs/{hub}/users/{userId}/groups/{group}", remove_user_from_group,
     "RemoveUserFromGroup"},
    {verb::put, "hubs/{hub}/users/{userId}/groups/{group}", add_user_to_group, "AddUserToGroup"},
}};

std::string allow_header(const std::vector<verb>& methods) {
  std::string out;
  for (verb method : methods) {
    if (!out.empty())
      out += ", ";
    out += http::to_string(method);
  }
  return out;
}

// `operation` and `hub` are set as soon as the route (and its hub) is known.
Response dispatch(const Request& request, const config::Config& config, core::Node& node,
                  std::int64_t now_seconds, std::string_view& operation, std::string& hub) {
  const auto target = boost::urls::parse_origin_form(request.target());
  if (!target)
    bad_request("The request target is malformed.");

  const auto raw_path = target->encoded_path();
  const std::string_view path(raw_path.data(), raw_path.size());
  if (path == "/api/health" || path == "/api/health/") {
    // Normally answered by the transport; kept here so the API is complete on its own.
    if (request.method() != verb::get && request.method() != verb::head)
      fail(405, "MethodNotAllowed", "Use GET or HEAD.");
    return empty_response(200, request);
  }

  authenticate(request, config, now_seconds);

  const auto raw_query = target->encoded_query();
  Query query = Query::parse(std::string_view(raw_query.data(), raw_query.size()));
  std::string version = query.single("api-version").value_or(std::string(kLatestApiVersion));
  if (!is_supported_api_version(version)) {
    fail(400, "UnsupportedApiVersion",
         "The api-version '" + version +
             "' is not supported. Supported versions: " + supported_api_versions_text() + ".");
  }

  static const Router router{kRoutes};
  RouteMatch match = router.match(request.method(), path);
  if (match.route == nullptr) {
    if (match.allowed.empty())
      fail(404, "NotFound", "No REST API operation matches this path.");
    ApiError error{405, "MethodNotAllowed",
                   "The path does not support " + std::string(request.method_string()) +
                       "; allowed: " + allow_header(match.allowed) + "."};
    Response response = error_response(error, request);
    response.set(http::field::allow, allow_header(match.allowed));
    return response;
  }
  operation = match.route->operation;
  if (!protocol::is_valid_hub_name(match.params.hub)) {
    bad_request(
        "Invalid hub name: it must start with a letter and contain only letters, digits and "
        "_`,.[] (at most 128 characters).");
  }

  Call call{request,
            config,
            node,
            now_seconds,
            std::move(version),
            std::move(query),
            std::move(match.params),
            {}};
  call.hub = util::to_lower(call.params.hub);
  hub = call.hub;
  WPS_LOG(debug, "api") << match.route->operation << " hub=" << call.hub;
  return match.route->handler(call);
}

}  // namespace

Response RestApi::handle(const Request& request, std::int64_t now_seconds) const {
  // "unmatched": no route (404, 405) or a failure before routing (401, a bad api-version).
  std::string_view operation = "unmatched";
  std::string hub;
  Response response = answer(request, now_seconds, operation, hub);
  core::Metrics& metrics = node_.metrics();
  metrics.count_rest(operation, response.result_int());
  if (metrics.tracer.active()) {
    core::TraceEvent event;
    event.kind = "rest";
    event.hub = std::move(hub);
    event.detail = std::string(operation) + " " + std::to_string(response.result_int());
    metrics.tracer.emit(std::move(event));
  }
  return response;
}

Response RestApi::answer(const Request& request, std::int64_t now_seconds,
                         std::string_view& operation, std::string& hub) const {
  try {
    return dispatch(request, config_, node_, now_seconds, operation, hub);
  } catch (const ApiError& error) {
    WPS_LOG(debug, "api") << request.method_string() << " -> " << error.status << " " << error.code
                          << ": " << error.message;
    return error_response(error, request);
  } catch (const std::exception& e) {
    WPS_LOG(error, "api") << "internal error: " << e.what();
  } catch (...) {
    WPS_LOG(error, "api") << "internal error";
  }
  return error_response({500, "InternalServerError", "The server failed to handle the request."},
                        request);
}

}  // namespace wps::api
