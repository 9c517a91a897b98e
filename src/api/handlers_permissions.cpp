// Grant, revoke and check a connection's group permissions (spec §4.4, §7).

#include <optional>

#include "api/api_error.hpp"
#include "api/handlers.hpp"
#include "protocol/names.hpp"
#include "util/text.hpp"

namespace wps::api {

namespace {

core::Permission permission_param(const Call& call) {
  const std::string& name = call.params.permission;
  if (util::iequals(name, "sendToGroup"))
    return core::Permission::send_to_group;
  if (util::iequals(name, "joinLeaveGroup"))
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

namespace {
core::Command permission_command(const Call& call, core::CommandOp op) {
  core::Command c = command_for(call, op);
  c.permission = permission_param(call);
  c.permission_target = target_param(call);
  c.target = call.params.connection_id;
  return c;
}
}  // namespace

Response grant_permission(const Call& call) {
  // Unknown connections are not an error: the swagger documents only 200 (docs/REST_API.md).
  run(call, permission_command(call, core::CommandOp::grant_permission));
  return empty_response(200, call.request);
}

Response revoke_permission(const Call& call) {
  run(call, permission_command(call, core::CommandOp::revoke_permission));
  return empty_response(204, call.request);
}

Response check_permission(const Call& call) {
  if (!run(call, permission_command(call, core::CommandOp::check_permission)).found)
    return error_response({404, "NotFound", "The connection does not have the permission."},
                          call.request);
  return empty_response(200, call.request);
}

}  // namespace wps::api
