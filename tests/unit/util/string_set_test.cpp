// util::StringSet: a vector up to kSmall strings, a vector with a hash index of positions past
// that. Checked against std::unordered_set over random inserts and erases that cross the
// boundary both ways, plus copies and moves (the index points into its own storage).

#include "util/string_set.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>
#include <string>
#include <unordered_set>
#include <vector>

namespace wps::util {
namespace {

std::set<std::string> contents(const StringSet& s) {
  std::set<std::string> out(s.begin(), s.end());
  EXPECT_EQ(out.size(), s.size()) << "a string is stored twice";
  return out;
}

TEST(StringSetTest, InsertEraseContainsOnASmallSet) {
  StringSet s;
  EXPECT_TRUE(s.empty());
  EXPECT_TRUE(s.insert("a"));
  EXPECT_TRUE(s.insert("b"));
  EXPECT_FALSE(s.insert("a"));
  EXPECT_EQ(s.size(), 2u);
  EXPECT_TRUE(s.contains("a"));
  EXPECT_FALSE(s.contains("c"));
  EXPECT_TRUE(s.erase("a"));
  EXPECT_FALSE(s.erase("a"));
  EXPECT_FALSE(s.contains("a"));
  EXPECT_EQ(contents(s), (std::set<std::string>{"b"}));
}

TEST(StringSetTest, AgreesWithUnorderedSetAcrossTheSmallAndIndexedForms) {
  std::mt19937 random(12345);
  for (int round = 0; round < 20; ++round) {
    StringSet s;
    std::unordered_set<std::string> reference;
    // Few distinct values for some rounds (the set stays small), many for others.
    const unsigned distinct = round % 2 == 0 ? 12U : 400U;
    for (int op = 0; op < 3000; ++op) {
      const std::string value = "conn-" + std::to_string(random() % distinct);
      switch (random() % 3) {
        case 0:
        case 1:
          ASSERT_EQ(s.insert(value), reference.insert(value).second) << value;
          break;
        default:
          ASSERT_EQ(s.erase(value), reference.erase(value) == 1) << value;
          break;
      }
      ASSERT_EQ(s.size(), reference.size());
      const std::string probe = "conn-" + std::to_string(random() % distinct);
      ASSERT_EQ(s.contains(probe), reference.contains(probe)) << probe;
    }
    EXPECT_EQ(contents(s), std::set<std::string>(reference.begin(), reference.end()));
    // Emptied completely, whatever its form.
    for (const std::string& value : reference)
      ASSERT_TRUE(s.erase(value));
    EXPECT_TRUE(s.empty());
    EXPECT_FALSE(s.contains("conn-1"));
    EXPECT_TRUE(s.insert("conn-1"));
    EXPECT_TRUE(s.contains("conn-1"));
  }
}

TEST(StringSetTest, ErasingFromTheMiddleOfALargeSetKeepsEveryOtherStringFindable) {
  StringSet s;
  for (int i = 0; i < 100; ++i)
    ASSERT_TRUE(s.insert("g" + std::to_string(i)));
  for (int i = 0; i < 100; i += 3)
    ASSERT_TRUE(s.erase("g" + std::to_string(i)));
  for (int i = 0; i < 100; ++i)
    EXPECT_EQ(s.contains("g" + std::to_string(i)), i % 3 != 0) << i;
}

TEST(StringSetTest, CopiesAndMovesKeepWorkingInBothForms) {
  for (const int n : {3, 50}) {
    StringSet original;
    for (int i = 0; i < n; ++i)
      original.insert("x" + std::to_string(i));
    StringSet copy = original;
    EXPECT_TRUE(copy.erase("x1"));
    EXPECT_TRUE(original.contains("x1"));
    StringSet moved = std::move(original);
    EXPECT_TRUE(moved.contains("x2"));
    EXPECT_TRUE(moved.insert("new"));
    EXPECT_TRUE(moved.erase("x0"));
    EXPECT_TRUE(moved.contains("new"));
    EXPECT_FALSE(moved.contains("x0"));
    StringSet assigned;
    assigned = std::move(moved);
    EXPECT_TRUE(assigned.contains("new"));
    EXPECT_EQ(assigned.size(), static_cast<std::size_t>(n));
    StringSet listed{"a", "b", "a"};
    EXPECT_EQ(listed.size(), 2u);
  }
}

}  // namespace
}  // namespace wps::util
