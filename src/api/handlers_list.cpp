// ListConnectionsInGroup (spec §4.5): pages ordered by connection id; the continuation token is
// the base64url of the last id returned, so paging stays stable while membership changes.

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <limits>

#include "api/api_error.hpp"
#include "api/handlers.hpp"
#include "util/base64.hpp"
#include "util/text.hpp"

namespace wps::api {

namespace {

constexpr long long kMaxPageSize = 200;

std::string continuation_after(const Call& call) {
  const auto token = call.query.single("continuationToken");
  if (!token || token->empty())
    return {};
  auto after = util::base64url_decode(*token);
  if (!after)
    bad_request("The continuationToken is invalid.");
  return std::move(*after);
}

std::string next_link(const Call& call, const std::string& last_id, long long page_size,
                      std::optional<long long> remaining_top) {
  std::string link = call.public_origin();
  link += "/api/hubs/" + util::percent_encode(call.params.hub);
  link += "/groups/" + util::percent_encode(call.params.group);
  link += "/connections?api-version=" + util::percent_encode(call.api_version);
  link += "&maxpagesize=" + std::to_string(page_size);
  if (remaining_top)
    link += "&top=" + std::to_string(*remaining_top);
  link += "&continuationToken=" + util::base64url_encode(last_id);
  return link;
}

}  // namespace

Response list_connections_in_group(const Call& call) {
  const std::string& group = group_param(call);
  const long long page_size =
      call.query.integer("maxpagesize", 1, kMaxPageSize).value_or(kMaxPageSize);
  const auto top = call.query.integer("top", 1, std::numeric_limits<std::int32_t>::max());
  const std::string after = continuation_after(call);

  const long long limit = top ? std::min(page_size, *top) : page_size;
  core::Command command = command_for(call, core::CommandOp::list_group);
  command.target = group;
  command.after = after;
  // One extra entry tells whether another page exists.
  command.limit = static_cast<std::uint32_t>(limit) + 1;
  std::vector<core::Hub::Member> members = run(call, command).members;
  const bool more_in_group = members.size() > static_cast<std::size_t>(limit);
  if (more_in_group)
    members.resize(static_cast<std::size_t>(limit));

  boost::json::array value;
  value.reserve(members.size());
  for (const core::Hub::Member& member : members) {
    boost::json::object entry;
    entry["connectionId"] = member.connection_id;
    if (member.user_id)
      entry["userId"] = *member.user_id;
    else
      entry["userId"] = nullptr;
    value.push_back(std::move(entry));
  }
  boost::json::object body;
  body["value"] = std::move(value);

  std::optional<long long> remaining;
  if (top)
    remaining = *top - static_cast<long long>(members.size());
  if (more_in_group && (!remaining || *remaining > 0))
    body["nextLink"] = next_link(call, members.back().connection_id, page_size, remaining);
  return json_response(200, boost::json::serialize(body), call.request);
}

}  // namespace wps::api
