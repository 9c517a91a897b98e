#pragma once
// A set of strings sized for the index of a hub: most sets hold one to a few strings (the groups
// of one connection, the connections of one user), a few hold thousands (the members of a large
// group). Up to kSmall strings it is a plain vector searched from the front (one allocation, no
// buckets: an std::unordered_set costs ~230 bytes for its first string); past that the vector
// gains a hash index of positions, so lookups, inserts and erases stay O(1) at any size. Each
// string is stored once. Iteration is in no particular order (erase moves the last string into
// the hole). Not thread-safe.

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace wps::util {

class StringSet {
 public:
  static constexpr std::size_t kSmall = 8;
  using const_iterator = std::vector<std::string>::const_iterator;

  StringSet() noexcept;
  StringSet(std::initializer_list<std::string_view> values);
  StringSet(const StringSet& other);
  StringSet& operator=(const StringSet& other);
  StringSet(StringSet&&) noexcept;
  StringSet& operator=(StringSet&&) noexcept;
  ~StringSet();

  // True when `value` was not in the set.
  bool insert(std::string_view value);
  // True when `value` was in the set.
  bool erase(std::string_view value);
  bool contains(std::string_view value) const;
  std::size_t size() const { return items().size(); }
  bool empty() const { return items().empty(); }
  const_iterator begin() const { return items().begin(); }
  const_iterator end() const { return items().end(); }

 private:
  struct Index;  // past kSmall: the strings and a hash index of their positions
  const std::vector<std::string>& items() const;
  // The position of `value`, or npos.
  std::size_t find(std::string_view value) const;
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);

  std::vector<std::string> small_;  // up to kSmall strings (empty once index_ exists)
  std::unique_ptr<Index> index_;
};

}  // namespace wps::util
