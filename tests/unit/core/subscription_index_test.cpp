#include "core/subscription_index.hpp"

#include <gtest/gtest.h>

namespace wps::core {
namespace {

TEST(SubscriptionIndexTest, ReportsFirstAndLastInterest) {
  SubscriptionIndex index;
  auto j1 = index.join("c1", "g");
  EXPECT_TRUE(j1.inserted);
  EXPECT_TRUE(j1.first_in_group);
  auto j2 = index.join("c2", "g");
  EXPECT_TRUE(j2.inserted);
  EXPECT_FALSE(j2.first_in_group);
  EXPECT_FALSE(index.join("c2", "g").inserted);  // idempotent
  EXPECT_EQ(index.members("g")->size(), 2u);

  auto l1 = index.leave("c1", "g");
  EXPECT_TRUE(l1.removed);
  EXPECT_FALSE(l1.group_now_empty);
  EXPECT_FALSE(index.leave("c1", "g").removed);  // not a member any more
  auto l2 = index.leave("c2", "g");
  EXPECT_TRUE(l2.group_now_empty);
  EXPECT_FALSE(index.group_exists("g"));
  EXPECT_EQ(index.members("g"), nullptr);
  EXPECT_EQ(index.groups_of("c2"), nullptr);
}

TEST(SubscriptionIndexTest, LeaveAllReturnsEmptiedGroupsOnly) {
  SubscriptionIndex index;
  index.join("c1", "a");
  index.join("c1", "b");
  index.join("c2", "b");
  auto emptied = index.leave_all("c1");
  EXPECT_EQ(emptied, std::vector<std::string>{"a"});
  EXPECT_TRUE(index.group_exists("b"));
  EXPECT_FALSE(index.is_member("c1", "b"));
  EXPECT_EQ(index.group_count_of("c1"), 0u);
  EXPECT_TRUE(index.leave_all("unknown").empty());
}

TEST(SubscriptionIndexTest, UsersMapToConnections) {
  SubscriptionIndex index;
  index.add_user("alice", "c1");
  index.add_user("alice", "c2");
  EXPECT_EQ(index.connections_of_user("alice")->size(), 2u);
  index.remove_user("alice", "c1");
  EXPECT_TRUE(index.user_exists("alice"));
  index.remove_user("alice", "c2");
  EXPECT_FALSE(index.user_exists("alice"));
  index.remove_user("nobody", "c9");  // harmless
}

TEST(SubscriptionIndexTest, GroupsAreCaseSensitive) {
  SubscriptionIndex index;
  index.join("c1", "Room");
  EXPECT_FALSE(index.group_exists("room"));
  EXPECT_TRUE(index.is_member("c1", "Room"));
  EXPECT_EQ(index.group_count(), 1u);
}

}  // namespace
}  // namespace wps::core
