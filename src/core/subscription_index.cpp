#include "core/subscription_index.hpp"

namespace wps::core {

SubscriptionIndex::JoinResult SubscriptionIndex::join(const ConnId& conn,
                                                      const std::string& group) {
  auto [git, group_created] = groups_.try_emplace(group);
  const bool inserted = git->second.insert(conn);
  if (inserted)
    conn_groups_[conn].insert(group);
  return {inserted, group_created};
}

SubscriptionIndex::LeaveResult SubscriptionIndex::leave(const ConnId& conn,
                                                        const std::string& group) {
  auto git = groups_.find(group);
  if (git == groups_.end() || !git->second.erase(conn))
    return {};
  LeaveResult result{true, false};
  if (git->second.empty()) {
    groups_.erase(git);
    result.group_now_empty = true;
  }
  if (auto cit = conn_groups_.find(conn); cit != conn_groups_.end()) {
    cit->second.erase(group);
    if (cit->second.empty())
      conn_groups_.erase(cit);
  }
  return result;
}

std::vector<std::string> SubscriptionIndex::leave_all(const ConnId& conn) {
  std::vector<std::string> emptied;
  auto cit = conn_groups_.find(conn);
  if (cit == conn_groups_.end())
    return emptied;
  for (const std::string& group : cit->second) {
    auto git = groups_.find(group);
    if (git == groups_.end())
      continue;
    git->second.erase(conn);
    if (git->second.empty()) {
      groups_.erase(git);
      emptied.push_back(group);
    }
  }
  conn_groups_.erase(cit);
  return emptied;
}

void SubscriptionIndex::add_user(const std::string& user, const ConnId& conn) {
  users_[user].insert(conn);
}

void SubscriptionIndex::remove_user(const std::string& user, const ConnId& conn) {
  auto it = users_.find(user);
  if (it == users_.end())
    return;
  it->second.erase(conn);
  if (it->second.empty())
    users_.erase(it);
}

bool SubscriptionIndex::is_member(const ConnId& conn, const std::string& group) const {
  auto it = conn_groups_.find(conn);
  return it != conn_groups_.end() && it->second.contains(group);
}

std::size_t SubscriptionIndex::group_count_of(const ConnId& conn) const {
  auto it = conn_groups_.find(conn);
  return it == conn_groups_.end() ? 0 : it->second.size();
}

const util::StringSet* SubscriptionIndex::members(const std::string& group) const {
  auto it = groups_.find(group);
  return it == groups_.end() ? nullptr : &it->second;
}

const util::StringSet* SubscriptionIndex::connections_of_user(const std::string& user) const {
  auto it = users_.find(user);
  return it == users_.end() ? nullptr : &it->second;
}

const util::StringSet* SubscriptionIndex::groups_of(const ConnId& conn) const {
  auto it = conn_groups_.find(conn);
  return it == conn_groups_.end() ? nullptr : &it->second;
}

}  // namespace wps::core
