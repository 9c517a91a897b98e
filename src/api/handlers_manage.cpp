// Closing, existence checks and group membership (spec §4.4). Operations on a hub that was never
// used find nothing: closes and removals succeed, exists answers 404.

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "api/api_error.hpp"
#include "api/handlers.hpp"
#include "protocol/names.hpp"
#include "util/text.hpp"

namespace wps::api {

namespace http = boost::beast::http;

namespace {

Response exists(const Call& call, bool found) {
  if (found)
    return empty_response(200, call.request);
  // HEAD: status and x-ms-error-code only.
  return error_response({404, "NotFound", "Not found."}, call.request);
}

struct GroupsRequest {
  std::vector<std::string> groups;
  std::shared_ptr<const protocol::odata::Filter> filter;
};

// The body of :addToGroups / :removeFromGroups: {"groups":[..],"filter":".."}.
GroupsRequest read_groups_request(const Call& call) {
  const std::string_view type = call.request[http::field::content_type];
  if (!util::iequals(util::trim_ows(type.substr(0, type.find(';'))), "application/json"))
    fail(415, "UnsupportedMediaType", "The request body must be application/json.");
  boost::system::error_code ec;
  const boost::json::value body = boost::json::parse(call.request.body(), ec);
  if (ec)
    bad_request("The request body is not valid JSON: " + ec.message() + ".");
  const boost::json::object* object = body.if_object();
  if (object == nullptr)
    bad_request("The request body must be a JSON object.");

  GroupsRequest result;
  bool has_groups = false;
  for (const auto& [key, value] : *object) {
    if (key == "groups") {
      const boost::json::array* groups = value.if_array();
      if (groups == nullptr && !value.is_null())
        bad_request("'groups' must be an array of group names.");
      if (groups == nullptr)
        continue;
      for (const boost::json::value& group : *groups) {
        const boost::json::string* name = group.if_string();
        if (name == nullptr || !protocol::is_valid_group_name(*name))
          bad_request("'groups' must contain only valid group names.");
        result.groups.emplace_back(name->data(), name->size());
      }
      has_groups = true;
    } else if (key == "filter") {
      if (value.is_null())
        continue;
      const boost::json::string* text = value.if_string();
      if (text == nullptr)
        bad_request("'filter' must be a string.");
      result.filter = parse_filter(std::string_view(text->data(), text->size()));
    } else {
      bad_request("Unknown property '" + std::string(key) +
                  "': only 'groups' and 'filter' are allowed.");
    }
  }
  if (!has_groups || result.groups.empty())
    bad_request("'groups' must be a non-empty array of group names.");
  return result;
}

}  // namespace

// ---- close ------------------------------------------------------------------------------------

namespace {
core::Command close_command(const Call& call, core::CommandOp op, std::string target) {
  core::Command c = command_for(call, op);
  c.target = std::move(target);
  c.code = core::close_code::normal;
  c.reason = reason_param(call);
  if (op != core::CommandOp::close_connection)
    c.excluded = excluded_param(call);
  return c;
}

// Applies a change on every node holding its target and answers `status`.
Response change(const Call& call, const core::Command& command, unsigned status) {
  run(call, command);
  return empty_response(status, call.request);
}
}  // namespace

Response close_all(const Call& call) {
  return change(call, close_command(call, core::CommandOp::close_all, {}), 204);
}

Response close_connection(const Call& call) {
  return change(
      call, close_command(call, core::CommandOp::close_connection, call.params.connection_id), 204);
}

Response close_group(const Call& call) {
  const std::string& group = group_param(call);
  return change(call, close_command(call, core::CommandOp::close_group, group), 204);
}

Response close_user(const Call& call) {
  return change(call, close_command(call, core::CommandOp::close_user, call.params.user_id), 204);
}

// ---- exists -----------------------------------------------------------------------------------

namespace {
Response exists_op(const Call& call, core::CommandOp op, const std::string& target) {
  core::Command c = command_for(call, op);
  c.target = target;
  return exists(call, run(call, c).found);
}
}  // namespace

Response connection_exists(const Call& call) {
  return exists_op(call, core::CommandOp::connection_exists, call.params.connection_id);
}

Response group_exists(const Call& call) {
  const std::string& group = group_param(call);
  return exists_op(call, core::CommandOp::group_exists, group);
}

Response user_exists(const Call& call) {
  return exists_op(call, core::CommandOp::user_exists, call.params.user_id);
}

// ---- membership -------------------------------------------------------------------------------

namespace {
core::Command membership(const Call& call, core::CommandOp op, const std::string& target,
                         const std::string& group) {
  core::Command c = command_for(call, op);
  c.target = target;
  c.group = group;
  return c;
}
}  // namespace

Response add_connection_to_group(const Call& call) {
  const std::string& group = group_param(call);
  const auto c = membership(call, core::CommandOp::add_to_group, call.params.connection_id, group);
  const core::CommandResult result = run(call, c);
  if (!result.found)
    fail(404, "NotFound", "Connection id '" + call.params.connection_id + "' doesn't exist.");
  if (result.limit_reached)
    fail(409, "GroupLimitReached",
         "Connection id '" + call.params.connection_id +
             "' is already in the maximum number of groups (" +
             std::to_string(call.config.limits.max_groups_per_connection) + ").");
  return empty_response(200, call.request);
}

Response remove_connection_from_group(const Call& call) {
  const std::string& group = group_param(call);
  return change(
      call, membership(call, core::CommandOp::remove_from_group, call.params.connection_id, group),
      204);
}

Response remove_connection_from_all_groups(const Call& call) {
  return change(
      call,
      membership(call, core::CommandOp::remove_from_all_groups, call.params.connection_id, {}),
      204);
}

Response add_user_to_group(const Call& call) {
  const std::string& group = group_param(call);
  // 200 even when the user has no connection: the swagger documents no 404 here and the SDKs
  // throw on any other status (docs/REST_API.md).
  return change(
      call, membership(call, core::CommandOp::add_user_to_group, call.params.user_id, group), 200);
}

Response remove_user_from_group(const Call& call) {
  const std::string& group = group_param(call);
  return change(
      call, membership(call, core::CommandOp::remove_user_from_group, call.params.user_id, group),
      204);
}

Response remove_user_from_all_groups(const Call& call) {
  return change(
      call, membership(call, core::CommandOp::remove_user_from_all_groups, call.params.user_id, {}),
      204);
}

namespace {
Response groups_op(const Call& call, core::CommandOp op) {
  GroupsRequest body = read_groups_request(call);
  core::Command c = command_for(call, op);
  c.groups = std::move(body.groups);
  c.filter = std::move(body.filter);
  return change(call, c, 200);
}
}  // namespace

Response add_connections_to_groups(const Call& call) {
  return groups_op(call, core::CommandOp::add_to_groups);
}

Response remove_connections_from_groups(const Call& call) {
  return groups_op(call, core::CommandOp::remove_from_groups);
}

}  // namespace wps::api
