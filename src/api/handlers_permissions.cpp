// Grant, revoke and check a connection's group permissions (spec §4.4, §7).

#include <optional>

#include "api/api_error.hpp"
#include "api/handlers.hpp"
#include "api/text.hpp"
#include "protocol/names.hpp"

namespace wps::api {

namespace {

core::Permission permission_param(const Call& call) {
  const std::string& name = call.params.permission;
  if (iequals(name, "sendToGroup"))
    return core::Permission::send_to_group;
  if (iequals(name, "joinLeaveGroup"))
    return core::Permission::join_leave_group;
  bad_request("Unknown permission '" + name + "': use sendToGroup or joinLeaveGroup.");
}

// `targetName`: a group name; absent or empty means every group.
std::optional<std::string> target_param(const Call& call) {
  auto target = call.query.single("targetName");
  if (!target || target->empty())
    return std::nullopt;
  if (!protocol::is_valid_group_name(*target))
    bad_request("Invalid targetName: it must be a valid group name.");
  return target;
}

}  // namespace

Response grant_permission(const Call& call) {
  const core::Permission permission = permission_param(call);
  const auto target = target_param(call);
  // Unknown connections are not an error: the swagger documents only 200 (docs/REST_API.md).
  if (auto hub = existing_hub(call))
    hub->grant_permission(call.params.connection_id, permission, target);
  return empty_response(200, call.request);
}

Response revoke_permission(const Call& call) {
  const core::Permission permission = permission_param(call);
  const auto target = target_param(call);
  if (auto hub = existing_hub(call))
    hub->revoke_permission(call.params.connection_id, permission, target);
  return empty_response(204, call.request);
}

Response check_permission(const Call& call) {
  const core::Permission permission = permission_param(call);
  const auto target = target_param(call);
  const auto hub = existing_hub(call);
  const bool has = hub && hub->check_permission(call.params.connection_id, permission, target);
  if (!has)
    return error_response({404, "NotFound", "The connection does not have the permission."},
                          call.request);
  return empty_response(200, call.request);
}

}  // namespace wps::api
