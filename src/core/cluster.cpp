#include "core/cluster.hpp"

#include <algorithm>
#include <iterator>

namespace wps::core {

CommandResult apply_command(Hub* hub, const Command& c) {
  CommandResult r;
  if (hub == nullptr)
    return r;
  switch (c.op) {
    case CommandOp::connection_exists:
      r.found = hub->connection_exists(c.target);
      break;
    case CommandOp::user_exists:
      r.found = hub->user_exists(c.target);
      break;
    case CommandOp::group_exists:
      r.found = hub->group_exists(c.target);
      break;
    case CommandOp::check_permission:
      r.found = hub->check_permission(c.target, c.permission, c.permission_target);
      break;
    case CommandOp::list_group:
      r.members = hub->list_group(c.target, c.after, c.limit);
      break;
    case CommandOp::add_to_group: {
      const Hub::JoinResult joined = hub->add_to_group(c.target, c.group);
      r.found = joined != Hub::JoinResult::unknown_connection;
      r.limit_reached = joined == Hub::JoinResult::group_limit_reached;
      break;
    }
    case CommandOp::remove_from_group:
      r.found = hub->connection_exists(c.target);
      hub->remove_from_group(c.target, c.group);
      break;
    case CommandOp::remove_from_all_groups:
      r.found = hub->connection_exists(c.target);
      hub->remove_from_all_groups(c.target);
      break;
    case CommandOp::add_user_to_group:
      r.found = hub->add_user_to_group(c.target, c.group);
      break;
    case CommandOp::remove_user_from_group:
      hub->remove_user_from_group(c.target, c.group);
      break;
    case CommandOp::remove_user_from_all_groups:
      hub->remove_user_from_all_groups(c.target);
      break;
    case CommandOp::add_to_groups:
      hub->add_to_groups(c.groups, c.filter);
      break;
    case CommandOp::remove_from_groups:
      hub->remove_from_groups(c.groups, c.filter);
      break;
    case CommandOp::close_connection:
      r.found = hub->connection_exists(c.target);
      hub->close_connection(c.target, c.code, c.reason);
      break;
    case CommandOp::close_all:
      hub->close_all(c.excluded, c.code, c.reason);
      break;
    case CommandOp::close_group:
      hub->close_group(c.target, c.excluded, c.code, c.reason);
      break;
    case CommandOp::close_user:
      hub->close_user(c.target, c.excluded, c.code, c.reason);
      break;
    case CommandOp::grant_permission:
      r.found = hub->grant_permission(c.target, c.permission, c.permission_target);
      break;
    case CommandOp::revoke_permission:
      r.found = hub->connection_exists(c.target);
      hub->revoke_permission(c.target, c.permission, c.permission_target);
      break;
  }
  return r;
}

void merge_result(CommandResult& into, CommandResult&& other, const Command& command) {
  into.found = into.found || other.found;
  into.limit_reached = into.limit_reached || other.limit_reached;
  if (other.members.empty())
    return;
  std::vector<Hub::Member> merged;
  merged.reserve(into.members.size() + other.members.size());
  auto by_id = [](const Hub::Member& a, const Hub::Member& b) {
    return a.connection_id < b.connection_id;
  };
  std::merge(std::make_move_iterator(into.members.begin()),
             std::make_move_iterator(into.members.end()),
             std::make_move_iterator(other.members.begin()),
             std::make_move_iterator(other.members.end()), std::back_inserter(merged), by_id);
  if (merged.size() > command.limit)
    merged.resize(command.limit);
  into.members = std::move(merged);
}

bool settled_locally(const CommandResult& local, const Command& command) {
  if (!local.found)
    return false;
  switch (command.op) {
    case CommandOp::connection_exists:
    case CommandOp::user_exists:
    case CommandOp::group_exists:
    case CommandOp::check_permission:
    case CommandOp::add_to_group:
    case CommandOp::remove_from_group:
    case CommandOp::remove_from_all_groups:
    case CommandOp::close_connection:
    case CommandOp::grant_permission:
    case CommandOp::revoke_permission:
      return true;
    default:
      return false;
  }
}

}  // namespace wps::core
