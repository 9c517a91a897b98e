#include "core/permissions.hpp"

#include <gtest/gtest.h>

namespace wps::core {
namespace {

bool match(std::string_view pattern, std::string_view group) {
  auto p = GroupPattern::parse(pattern);
  EXPECT_TRUE(p.has_value()) << pattern;
  return p && p->matches(group);
}

TEST(GroupPatternTest, DocumentedExamples) {
  EXPECT_TRUE(match("chat-*", "chat-1"));
  EXPECT_FALSE(match("chat-*", "chat.1"));
  EXPECT_TRUE(match("clientA.**", "clientA.alpha.room1"));
  EXPECT_TRUE(match("literal\\*star", "literal*star"));
  EXPECT_FALSE(match("literal\\*star", "literalXstar"));
  EXPECT_TRUE(match("room?", "room1"));
  EXPECT_FALSE(match("room?", "room."));
  EXPECT_FALSE(match("room?", "room"));
  EXPECT_TRUE(match("a*b*c", "aXXbYYc"));
  EXPECT_TRUE(match("*", ""));
  EXPECT_FALSE(match("Chat-*", "chat-1"));  // case-sensitive
  EXPECT_TRUE(match("**", "a.b.c"));
}

TEST(GroupPatternTest, InvalidPatterns) {
  EXPECT_FALSE(GroupPattern::parse("a*b*c*d*e*f*"));  // six stars
  EXPECT_FALSE(GroupPattern::parse("***a***"));       // six stars
  EXPECT_TRUE(GroupPattern::parse("**.**.*"));        // five
  EXPECT_FALSE(GroupPattern::parse("trailing\\"));
  EXPECT_FALSE(GroupPattern::parse("bad\\escape"));
  EXPECT_FALSE(GroupPattern::parse(""));
}

TEST(GroupPatternTest, LongInputsStayFast) {
  auto p = GroupPattern::parse("*a*a*a*a*b");
  ASSERT_TRUE(p);
  EXPECT_FALSE(p->matches(std::string(1024, 'a')));
}

TEST(PermissionsTest, RolesMapToPermissions) {
  auto p =
      Permissions::from_roles({"webpubsub.joinLeaveGroup.room.1", "webpubsub.sendToGroups.news-*",
                               "unknown.role", "webpubsub.sendToGroup.x"});
  EXPECT_TRUE(p.allows(Permission::join_leave_group, "room.1"));
  EXPECT_FALSE(p.allows(Permission::join_leave_group, "room"));
  EXPECT_TRUE(p.allows(Permission::send_to_group, "news-today"));
  EXPECT_FALSE(p.allows(Permission::send_to_group, "news.today"));
  EXPECT_TRUE(p.allows(Permission::send_to_group, "x"));
  EXPECT_FALSE(p.allows(Permission::join_leave_group, "x"));
  auto all = Permissions::from_roles({"webpubsub.sendToGroup", "webpubsub.joinLeaveGroup"});
  EXPECT_TRUE(all.allows(Permission::send_to_group, "anything"));
  EXPECT_TRUE(all.allows(Permission::join_leave_group, "anything"));
  auto none = Permissions::from_roles({});
  EXPECT_FALSE(none.allows(Permission::send_to_group, "g"));
}

TEST(PermissionsTest, GrantRevokeCheck) {
  Permissions p;
  p.grant(Permission::join_leave_group, std::string("a"));
  EXPECT_TRUE(p.check(Permission::join_leave_group, std::string("a")));
  EXPECT_FALSE(p.check(Permission::join_leave_group, std::nullopt));
  p.grant(Permission::join_leave_group, std::nullopt);
  EXPECT_TRUE(p.check(Permission::join_leave_group, std::nullopt));
  EXPECT_TRUE(p.check(Permission::join_leave_group, std::string("zzz")));
  p.revoke(Permission::join_leave_group, std::string("a"));
  EXPECT_TRUE(p.check(Permission::join_leave_group, std::string("a")));  // global grant remains
  p.revoke(Permission::join_leave_group, std::nullopt);
  EXPECT_FALSE(p.check(Permission::join_leave_group, std::string("a")));
}

TEST(PermissionsTest, ACopyHoldsTheSameGrantsAndChangesOnItsOwn) {
  Permissions original = Permissions::from_roles({"webpubsub.sendToGroups.news-*"});
  original.grant(Permission::join_leave_group, std::string("a"));
  Permissions copy = original;
  EXPECT_TRUE(copy.allows(Permission::join_leave_group, "a"));
  EXPECT_TRUE(copy.allows(Permission::send_to_group, "news-1"));
  copy.revoke(Permission::join_leave_group, std::string("a"));
  copy.grant(Permission::send_to_group, std::string("b"));
  EXPECT_TRUE(original.allows(Permission::join_leave_group, "a"));
  EXPECT_FALSE(original.allows(Permission::send_to_group, "b"));
  EXPECT_FALSE(copy.allows(Permission::join_leave_group, "a"));
  Permissions assigned;
  assigned = original;
  EXPECT_TRUE(assigned.allows(Permission::join_leave_group, "a"));
  EXPECT_FALSE(assigned.allows(Permission::join_leave_group, "zzz"));
}

TEST(PermissionsTest, RevokingEverythingKeepsTheRolePatterns) {
  Permissions p = Permissions::from_roles({"webpubsub.joinLeaveGroups.room-*"});
  p.grant(Permission::join_leave_group, std::string("x"));
  p.grant(Permission::join_leave_group, std::nullopt);
  p.revoke(Permission::join_leave_group, std::nullopt);
  EXPECT_FALSE(p.allows(Permission::join_leave_group, "x"));
  EXPECT_TRUE(p.allows(Permission::join_leave_group, "room-1"));
  Permissions none;
  none.revoke(Permission::send_to_group, std::nullopt);  // nothing held: nothing to do
  none.revoke(Permission::send_to_group, std::string("g"));
  EXPECT_FALSE(none.check(Permission::send_to_group, std::nullopt));
}

}  // namespace
}  // namespace wps::core
