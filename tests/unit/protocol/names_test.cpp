#include "protocol/names.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

using wps::protocol::is_valid_event_name;
using wps::protocol::is_valid_group_name;
using wps::protocol::is_valid_hub_name;

std::string repeat(std::string_view unit, std::size_t count) {
  std::string out;
  for (std::size_t i = 0; i < count; ++i) {
    out.append(unit);
  }
  return out;
}

TEST(HubName, AcceptsPatternCharacters) {
  EXPECT_TRUE(is_valid_hub_name("a"));
  EXPECT_TRUE(is_valid_hub_name("Hub1"));
  EXPECT_TRUE(is_valid_hub_name("chat_room"));
  EXPECT_TRUE(is_valid_hub_name("a`,.[]_9Z"));
}

TEST(HubName, RejectsOtherCharacters) {
  EXPECT_FALSE(is_valid_hub_name(""));
  EXPECT_FALSE(is_valid_hub_name("1hub"));
  EXPECT_FALSE(is_valid_hub_name("_hub"));
  EXPECT_FALSE(is_valid_hub_name("hub-1"));
  EXPECT_FALSE(is_valid_hub_name("hub 1"));
  EXPECT_FALSE(is_valid_hub_name("hub/1"));
  EXPECT_FALSE(is_valid_hub_name("h\xc3\xbc"));
  EXPECT_FALSE(is_valid_hub_name(std::string("hub\0", 4)));
}

TEST(HubName, LengthLimitIs128) {
  EXPECT_TRUE(is_valid_hub_name("h" + repeat("a", 127)));
  EXPECT_FALSE(is_valid_hub_name("h" + repeat("a", 128)));
}

TEST(GroupName, AcceptsAnyNonBlankText) {
  EXPECT_TRUE(is_valid_group_name("g"));
  EXPECT_TRUE(is_valid_group_name("group 1"));
  EXPECT_TRUE(is_valid_group_name(" leading and trailing "));
  EXPECT_TRUE(is_valid_group_name("a/b?c#d%20"));
  EXPECT_TRUE(is_valid_group_name("\xe7\xbe\xa4\xe7\xbb\x84"));  // 群组
  EXPECT_TRUE(is_valid_group_name("\xf0\x9f\x98\x80"));          // U+1F600
  EXPECT_TRUE(is_valid_group_name(" \t x"));
}

TEST(GroupName, RejectsEmptyAndWhiteSpaceOnly) {
  EXPECT_FALSE(is_valid_group_name(""));
  EXPECT_FALSE(is_valid_group_name(" "));
  EXPECT_FALSE(is_valid_group_name("   "));
  EXPECT_FALSE(is_valid_group_name("\t\r\n\v\f"));
  EXPECT_FALSE(is_valid_group_name("\xc2\xa0"));                  // U+00A0
  EXPECT_FALSE(is_valid_group_name("\xe3\x80\x80 "));             // U+3000
  EXPECT_FALSE(is_valid_group_name("\xe2\x80\x83\xe2\x80\xa8"));  // U+2003 U+2028
}

TEST(GroupName, LimitIs1024CodePoints) {
  EXPECT_TRUE(is_valid_group_name(repeat("a", 1024)));
  EXPECT_FALSE(is_valid_group_name(repeat("a", 1025)));
  // Code points, not bytes: 1024 three-byte characters are 3072 bytes.
  EXPECT_TRUE(is_valid_group_name(repeat("\xe7\xbe\xa4", 1024)));
  EXPECT_FALSE(is_valid_group_name(repeat("\xe7\xbe\xa4", 1025)));
  EXPECT_TRUE(is_valid_group_name(repeat("\xf0\x9f\x98\x80", 1024)));
  EXPECT_FALSE(is_valid_group_name(repeat("\xf0\x9f\x98\x80", 1025)));
}

TEST(GroupName, RejectsIllFormedUtf8) {
  EXPECT_FALSE(is_valid_group_name("a\xff"));
  EXPECT_FALSE(is_valid_group_name("\xc3"));              // truncated
  EXPECT_FALSE(is_valid_group_name("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(is_valid_group_name("\xe0\x80\xaf"));      // overlong
  EXPECT_FALSE(is_valid_group_name("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(is_valid_group_name("\xf4\x90\x80\x80"));  // > U+10FFFF
  EXPECT_FALSE(is_valid_group_name("\x80"));
}

TEST(EventName, AcceptsPattern) {
  EXPECT_TRUE(is_valid_event_name("a"));
  EXPECT_TRUE(is_valid_event_name("message"));
  EXPECT_TRUE(is_valid_event_name("my.event-name_2"));
  EXPECT_TRUE(is_valid_event_name("MyEvent"));  // case-insensitive
  EXPECT_TRUE(is_valid_event_name("e" + repeat("x", 127)));
}

TEST(EventName, RejectsOthers) {
  EXPECT_FALSE(is_valid_event_name(""));
  EXPECT_FALSE(is_valid_event_name("1event"));
  EXPECT_FALSE(is_valid_event_name("_event"));
  EXPECT_FALSE(is_valid_event_name(".event"));
  EXPECT_FALSE(is_valid_event_name("-event"));
  EXPECT_FALSE(is_valid_event_name("my event"));
  EXPECT_FALSE(is_valid_event_name("my/event"));
  EXPECT_FALSE(is_valid_event_name("caf\xc3\xa9"));
  EXPECT_FALSE(is_valid_event_name("e" + repeat("x", 128)));
}

}  // namespace
