// Closing, existence checks and group membership (spec §4.4). Operations on a hub that was never
// used find nothing: closes and removals succeed, exists answers 404.

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "api/api_error.hpp"
#include "api/handlers.hpp"
#include "api/text.hpp"
#include "protocol/names.hpp"

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
  if (!iequals(trim(type.substr(0, type.find(';'))), "application/json"))
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

Response close_all(const Call& call) {
  const std::string reason = reason_param(call);
  const auto excluded = excluded_param(call);
  if (auto hub = existing_hub(call))
    hub->close_all(excluded, core::close_code::normal, reason);
  return empty_response(204, call.request);
}

Response close_connection(const Call& call) {
  const std::string reason = reason_param(call);
  if (auto hub = existing_hub(call))
    hub->close_connection(call.params.connection_id, core::close_code::normal, reason);
  return empty_response(204, call.request);
}

Response close_group(const Call& call) {
  const std::string& group = group_param(call);
  const std::string reason = reason_param(call);
  const auto excluded = excluded_param(call);
  if (auto hub = existing_hub(call))
    hub->close_group(group, excluded, core::close_code::normal, reason);
  return empty_response(204, call.request);
}

Response close_user(const Call& call) {
  const std::string reason = reason_param(call);
  const auto excluded = excluded_param(call);
  if (auto hub = existing_hub(call))
    hub->close_user(call.params.user_id, excluded, core::close_code::normal, reason);
  return empty_response(204, call.request);
}

// ---- exists -----------------------------------------------------------------------------------

Response connection_exists(const Call& call) {
  const auto hub = existing_hub(call);
  return exists(call, hub && hub->connection_exists(call.params.connection_id));
}

Response group_exists(const Call& call) {
  const std::string& group = group_param(call);
  const auto hub = existing_hub(call);
  return exists(call, hub && hub->group_exists(group));
}

Response user_exists(const Call& call) {
  const auto hub = existing_hub(call);
  return exists(call, hub && hub->user_exists(call.params.user_id));
}

// ---- membership -------------------------------------------------------------------------------

Response add_connection_to_group(const Call& call) {
  const std::string& group = group_param(call);
  const auto hub = existing_hub(call);
  const auto result = hub ? hub->add_to_group(call.params.connection_id, group)
                          : core::Hub::JoinResult::unknown_connection;
  if (result == core::Hub::JoinResult::unknown_connection)
    fail(404, "NotFound", "Connection id '" + call.params.connection_id + "' doesn't exist.");
  if (result == core::Hub::JoinResult::group_limit_reached)
    fail(409, "GroupLimitReached",
         "Connection id '" + call.params.connection_id +
             "' is already in the maximum number of groups (" +
             std::to_string(call.config.limits.max_groups_per_connection) + ").");
  return empty_response(200, call.request);
}

Response remove_connection_from_group(const Call& call) {
  const std::string& group = group_param(call);
  if (auto hub = existing_hub(call))
    hub->remove_from_group(call.params.connection_id, group);
  return empty_response(204, call.request);
}

Response remove_connection_from_all_groups(const Call& call) {
  if (auto hub = existing_hub(call))
    hub->remove_from_all_groups(call.params.connection_id);
  return empty_response(204, call.request);
}

Response add_user_to_group(const Call& call) {
  const std::string& group = group_param(call);
  // 200 even when the user has no connection: the swagger documents no 404 here and the SDKs
  // throw on any other status (docs/REST_API.md).
  if (auto hub = existing_hub(call))
    hub->add_user_to_group(call.params.user_id, group);
  return empty_response(200, call.request);
}

Response remove_user_from_group(const Call& call) {
  const std::string& group = group_param(call);
  if (auto hub = existing_hub(call))
    hub->remove_user_from_group(call.params.user_id, group);
  return empty_response(204, call.request);
}

Response remove_user_from_all_groups(const Call& call) {
  if (auto hub = existing_hub(call))
    hub->remove_user_from_all_groups(call.params.user_id);
  return empty_response(204, call.request);
}

Response add_connections_to_groups(const Call& call) {
  const GroupsRequest body = read_groups_request(call);
  if (auto hub = existing_hub(call))
    hub->add_to_groups(body.groups, body.filter);
  return empty_response(200, call.request);
}

Response remove_connections_from_groups(const Call& call) {
  const GroupsRequest body = read_groups_request(call);
  if (auto hub = existing_hub(call))
    hub->remove_from_groups(body.groups, body.filter);
  return empty_response(200, call.request);
}

}  // namespace wps::api
