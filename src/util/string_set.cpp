#include "util/string_set.hpp"

#include <algorithm>
#include <functional>
#include <unordered_set>

namespace wps::util {

// Positions into `strings`, hashed and compared by the strings they point at; lookups by
// string_view need no position (transparent hash and equality). Heap-allocated and never moved:
// the hash and equality keep a pointer to `strings`.
struct StringSet::Index {
  struct Hash {
    using is_transparent = void;
    const std::vector<std::string>* strings;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
    std::size_t operator()(std::uint32_t i) const noexcept { return (*this)((*strings)[i]); }
  };
  struct Equal {
    using is_transparent = void;
    const std::vector<std::string>* strings;
    bool operator()(std::uint32_t a, std::uint32_t b) const noexcept { return a == b; }
    bool operator()(std::uint32_t a, std::string_view b) const noexcept {
      return (*strings)[a] == b;
    }
    bool operator()(std::string_view a, std::uint32_t b) const noexcept {
      return a == (*strings)[b];
    }
  };

  explicit Index(std::vector<std::string> from)
      : strings(std::move(from)), positions(strings.size() * 2, Hash{&strings}, Equal{&strings}) {
    for (std::size_t i = 0; i < strings.size(); ++i)
      positions.insert(static_cast<std::uint32_t>(i));
  }
  Index(const Index&) = delete;
  Index& operator=(const Index&) = delete;

  std::vector<std::string> strings;
  std::unordered_set<std::uint32_t, Hash, Equal> positions;
};

StringSet::StringSet() noexcept = default;

StringSet::StringSet(std::initializer_list<std::string_view> values) {
  for (std::string_view value : values)
    insert(value);
}

StringSet::StringSet(const StringSet& other) {
  for (const std::string& value : other)
    insert(value);
}

StringSet& StringSet::operator=(const StringSet& other) {
  if (this != &other)
    *this = StringSet(other);
  return *this;
}

StringSet::StringSet(StringSet&&) noexcept = default;
StringSet& StringSet::operator=(StringSet&&) noexcept = default;
StringSet::~StringSet() = default;

const std::vector<std::string>& StringSet::items() const {
  return index_ ? index_->strings : small_;
}

std::size_t StringSet::find(std::string_view value) const {
  if (index_) {
    const auto it = index_->positions.find(value);
    return it == index_->positions.end() ? npos : *it;
  }
  const auto it = std::find(small_.begin(), small_.end(), value);
  return it == small_.end() ? npos : static_cast<std::size_t>(it - small_.begin());
}

bool StringSet::contains(std::string_view value) const {
  return find(value) != npos;
}

bool StringSet::insert(std::string_view value) {
  if (find(value) != npos)
    return false;
  if (!index_ && small_.size() < kSmall) {
    small_.emplace_back(value);
    return true;
  }
  if (!index_) {
    index_ = std::make_unique<Index>(std::move(small_));
    small_ = {};
  }
  index_->strings.emplace_back(value);
  index_->positions.insert(static_cast<std::uint32_t>(index_->strings.size() - 1));
  return true;
}

bool StringSet::erase(std::string_view value) {
  if (!index_) {
    const std::size_t i = find(value);
    if (i == npos)
      return false;
    if (i + 1 != small_.size())
      small_[i] = std::move(small_.back());
    small_.pop_back();
    return true;
  }
  std::vector<std::string>& strings = index_->strings;
  auto& positions = index_->positions;
  const auto it = positions.find(value);
  if (it == positions.end())
    return false;
  const std::uint32_t i = *it;
  const auto last = static_cast<std::uint32_t>(strings.size() - 1);
  positions.erase(it);
  if (i != last) {
    // The last string moves into the hole: its position changes (re-hashed by its new place).
    positions.erase(positions.find(last));
    strings[i] = std::move(strings[last]);
    strings.pop_back();
    positions.insert(i);
  } else {
    strings.pop_back();
  }
  if (strings.empty())
    index_.reset();  // an emptied large set gives its buckets back
  return true;
}

}  // namespace wps::util
