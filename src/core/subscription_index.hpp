#pragma once
// The two-way index of one hub: group -> connections, connection -> groups, user -> connections.
// It reports interest edges (first member joined / last member left) so the node can tell the
// broker. Not thread-safe: the owning Hub serialises access. Every set is a util::StringSet: most
// are small (a connection's groups, a user's connections) and cost one vector, not a hash table.

#include <string>
#include <unordered_map>
#include <vector>

#include "core/client.hpp"
#include "util/string_set.hpp"

namespace wps::core {

class SubscriptionIndex {
 public:
  struct JoinResult {
    bool inserted = false;        // false when already a member
    bool first_in_group = false;  // the group had no member before
  };
  struct LeaveResult {
    bool removed = false;  // false when not a member
    bool group_now_empty = false;
  };

  JoinResult join(const ConnId& conn, const std::string& group);
  LeaveResult leave(const ConnId& conn, const std::string& group);
  // Removes `conn` from every group; returns the groups that became empty.
  std::vector<std::string> leave_all(const ConnId& conn);

  void add_user(const std::string& user, const ConnId& conn);
  void remove_user(const std::string& user, const ConnId& conn);

  bool is_member(const ConnId& conn, const std::string& group) const;
  bool group_exists(const std::string& group) const { return groups_.contains(group); }
  bool user_exists(const std::string& user) const { return users_.contains(user); }
  std::size_t group_count_of(const ConnId& conn) const;

  // nullptr when the group / user has no member.
  const util::StringSet* members(const std::string& group) const;
  const util::StringSet* connections_of_user(const std::string& user) const;
  const util::StringSet* groups_of(const ConnId& conn) const;

  std::size_t group_count() const { return groups_.size(); }
  std::size_t user_count() const { return users_.size(); }

 private:
  std::unordered_map<std::string, util::StringSet> groups_;
  std::unordered_map<ConnId, util::StringSet> conn_groups_;
  std::unordered_map<std::string, util::StringSet> users_;
};

}  // namespace wps::core
