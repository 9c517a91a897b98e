#pragma once
// The operations of the REST API (spec §4.3), one function each, and the helpers they share.
// Handlers throw ApiError for client errors; RestApi::handle turns it into the response.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "api/call.hpp"
#include "core/cluster.hpp"
#include "core/hub.hpp"
#include "protocol/odata_filter.hpp"

namespace wps::api {

// ---- shared helpers (handlers_common.cpp) ---------------------------------------------------
// The `{group}` path parameter, validated (400).
const std::string& group_param(const Call& call);
// The hub when it was ever used; nullptr otherwise (nothing to find, close or change).
std::shared_ptr<core::Hub> existing_hub(const Call& call);
// A management command of `op` for the call's hub; the caller fills in the operands.
core::Command command_for(const Call& call, core::CommandOp op);
// Runs it on every node of the cluster (this one alone when there is no cluster).
core::CommandResult run(const Call& call, const core::Command& command);
// Parses an OData filter (400 naming the error position); nullptr for an empty/blank text.
std::shared_ptr<const protocol::odata::Filter> parse_filter(std::string_view text);
// The `filter` query parameter, parsed; nullptr when absent or blank.
std::shared_ptr<const protocol::odata::Filter> filter_param(const Call& call);
// The repeated `excluded` query parameter.
std::vector<core::ConnId> excluded_param(const Call& call);
// The `reason` query parameter of the close operations, defaulted.
std::string reason_param(const Call& call);

// ---- messages (handlers_send.cpp) -----------------------------------------------------------
Response send_to_all(const Call& call);
Response send_to_group(const Call& call);
Response send_to_user(const Call& call);
Response send_to_connection(const Call& call);

// ---- connections, groups, users (handlers_manage.cpp) ---------------------------------------
Response close_all(const Call& call);
Response close_connection(const Call& call);
Response close_group(const Call& call);
Response close_user(const Call& call);
Response connection_exists(const Call& call);
Response group_exists(const Call& call);
Response user_exists(const Call& call);
Response add_connection_to_group(const Call& call);
Response remove_connection_from_group(const Call& call);
Response remove_connection_from_all_groups(const Call& call);
Response add_user_to_group(const Call& call);
Response remove_user_from_group(const Call& call);
Response remove_user_from_all_groups(const Call& call);
Response add_connections_to_groups(const Call& call);
Response remove_connections_from_groups(const Call& call);

// ---- permissions (handlers_permissions.cpp) -------------------------------------------------
Response grant_permission(const Call& call);
Response revoke_permission(const Call& call);
Response check_permission(const Call& call);

// ---- tokens and listing (handlers_token.cpp, handlers_list.cpp) -----------------------------
Response generate_client_token(const Call& call);
Response list_connections_in_group(const Call& call);

}  // namespace wps::api
