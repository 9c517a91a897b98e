#pragma once
// Management operations that may concern connections on other nodes (REST closes, exists
// checks, group membership, permissions, listings). The node runs a Command on its own hub and,
// when it is part of a cluster, on every other node through a Cluster, and merges the results.
// A single node has no Cluster. The Redis layer implements it (src/redis); the core knows
// nothing of how commands travel.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/client.hpp"
#include "core/hub.hpp"
#include "core/permissions.hpp"
#include "protocol/odata_filter.hpp"

namespace wps::core {

enum class CommandOp : std::uint8_t {
  // queries
  connection_exists,
  user_exists,
  group_exists,
  check_permission,  // target = connection id
  list_group,        // target = group; after, limit
  // changes; `found` tells whether some node had the target connection / user
  add_to_group,  // target = connection id, group
  remove_from_group,
  remove_from_all_groups,
  add_user_to_group,  // target = user id, group
  remove_user_from_group,
  remove_user_from_all_groups,
  add_to_groups,  // groups, filter
  remove_from_groups,
  close_connection,  // target = connection id; code, reason
  close_all,         // excluded, code, reason
  close_group,       // target = group
  close_user,        // target = user id
  grant_permission,  // target = connection id; permission, permission_target
  revoke_permission,
};
inline constexpr std::uint8_t kLastCommandOp =
    static_cast<std::uint8_t>(CommandOp::revoke_permission);

struct Command {
  CommandOp op = CommandOp::connection_exists;
  std::string hub;     // lower-cased
  std::string target;  // connection id, user id or group, as the op says
  std::string group;   // the group of the membership ops
  std::vector<std::string> groups;
  std::shared_ptr<const protocol::odata::Filter> filter;  // null: every connection
  std::vector<ConnId> excluded;
  std::uint16_t code = close_code::normal;
  std::string reason;
  Permission permission = Permission::join_leave_group;
  std::optional<std::string> permission_target;
  std::string after;        // list_group: members with a greater connection id
  std::uint32_t limit = 0;  // list_group: at most this many
};

struct CommandResult {
  bool found = false;  // exists, check_permission, changes of one target
  // add_to_group: the connection is in max_groups_per_connection groups already.
  bool limit_reached = false;
  std::vector<Hub::Member> members;  // list_group, ordered by connection id
};

// Runs `command` on one hub (null: the hub was never used here).
CommandResult apply_command(Hub* hub, const Command& command);
// Adds `other` (another node's result) to `into`: found is or-ed, members merged in order and
// cut to the command's limit.
void merge_result(CommandResult& into, CommandResult&& other, const Command& command);
// Whether a result from this node alone already settles the command (a connection lives on one
// node only; an exists or check answered yes needs no other node).
bool settled_locally(const CommandResult& local, const Command& command);

class Cluster {
 public:
  virtual ~Cluster() = default;
  // Runs `command` on every other live node and returns their merged results. Blocks the caller
  // until every live node answered or a bounded timeout passed (an unreachable cluster answers
  // nothing): never call it on an event-loop thread. Thread-safe.
  virtual CommandResult run_remote(const Command& command) = 0;
};

}  // namespace wps::core
