#include "core/permissions.hpp"

#include <algorithm>

namespace wps::core {

std::optional<GroupPattern> GroupPattern::parse(std::string_view pattern) {
  if (pattern.empty() || pattern.size() > 1024)
    return std::nullopt;
  GroupPattern result;
  int stars = 0;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '\\') {
      if (i + 1 >= pattern.size())
        return std::nullopt;
      const char next = pattern[i + 1];
      if (next != '\\' && next != '*' && next != '?')
        return std::nullopt;
      result.tokens_.push_back({Kind::literal, next});
      ++i;
    } else if (c == '*') {
      if (i + 1 < pattern.size() && pattern[i + 1] == '*') {
        result.tokens_.push_back({Kind::globstar, 0});
        stars += 2;
        ++i;
      } else {
        result.tokens_.push_back({Kind::star, 0});
        stars += 1;
      }
    } else if (c == '?') {
      result.tokens_.push_back({Kind::one, 0});
    } else {
      result.tokens_.push_back({Kind::literal, c});
    }
  }
  if (stars > 5)
    return std::nullopt;
  return result;
}

bool GroupPattern::matches(std::string_view group) const {
  // Dynamic programming over (token, position): reach[j] is true when the tokens consumed so far
  // can match group[0, j). O(tokens * length) time, O(length) space, no backtracking blow-up.
  const std::size_t n = group.size();
  std::vector<char> reach(n + 1, 0), next(n + 1, 0);
  reach[0] = 1;
  for (const Token& token : tokens_) {
    std::fill(next.begin(), next.end(), 0);
    switch (token.kind) {
      case Kind::literal:
        for (std::size_t j = 0; j < n; ++j)
          if (reach[j] && group[j] == token.ch)
            next[j + 1] = 1;
        break;
      case Kind::one:
        for (std::size_t j = 0; j < n; ++j)
          if (reach[j] && group[j] != '.')
            next[j + 1] = 1;
        break;
      case Kind::star:
        for (std::size_t j = 0; j <= n; ++j) {
          if (reach[j] || (j > 0 && next[j - 1] && group[j - 1] != '.'))
            next[j] = 1;
        }
        break;
      case Kind::globstar:
        for (std::size_t j = 0; j <= n; ++j) {
          if (reach[j] || (j > 0 && next[j - 1]))
            next[j] = 1;
        }
        break;
    }
    reach.swap(next);
  }
  return reach[n] != 0;
}

namespace {
constexpr std::string_view kJoinLeave = "webpubsub.joinLeaveGroup";
constexpr std::string_view kSend = "webpubsub.sendToGroup";
}  // namespace

Permissions::Permissions(const Permissions& other)
    : all_(other.all_),
      groups_(other.groups_ ? std::make_unique<std::array<Groups, 2>>(*other.groups_) : nullptr) {}

Permissions& Permissions::operator=(const Permissions& other) {
  if (this != &other)
    *this = Permissions(other);
  return *this;
}

Permissions::Groups& Permissions::groups(Permission p) {
  if (!groups_)
    groups_ = std::make_unique<std::array<Groups, 2>>();
  return (*groups_)[index(p)];
}

Permissions Permissions::from_roles(const std::vector<std::string>& roles) {
  Permissions result;
  for (const std::string& role : roles) {
    for (const auto& [prefix, permission] : {std::pair{kJoinLeave, Permission::join_leave_group},
                                             std::pair{kSend, Permission::send_to_group}}) {
      std::string_view rest(role);
      if (!rest.starts_with(prefix))
        continue;
      rest.remove_prefix(prefix.size());
      if (rest.empty()) {
        result.all_[index(permission)] = true;
      } else if (rest.starts_with("s.")) {
        // webpubsub.joinLeaveGroups.<pattern> / webpubsub.sendToGroups.<pattern>
        if (auto pattern = GroupPattern::parse(rest.substr(2)))
          result.groups(permission).patterns.push_back(*pattern);
      } else if (rest.starts_with(".") && rest.size() > 1) {
        result.groups(permission).names.emplace(rest.substr(1));
      }
    }
  }
  return result;
}

bool Permissions::allows(Permission permission, std::string_view group) const {
  if (all_[index(permission)])
    return true;
  if (!groups_)
    return false;
  const Groups& g = (*groups_)[index(permission)];
  if (g.names.contains(std::string(group)))
    return true;
  return std::any_of(g.patterns.begin(), g.patterns.end(),
                     [&](const GroupPattern& p) { return p.matches(group); });
}

void Permissions::grant(Permission permission, const std::optional<std::string>& target) {
  if (target)
    groups(permission).names.insert(*target);
  else
    all_[index(permission)] = true;
}

void Permissions::revoke(Permission permission, const std::optional<std::string>& target) {
  if (!target)
    all_[index(permission)] = false;
  if (!groups_)
    return;
  Groups& g = (*groups_)[index(permission)];
  if (target)
    g.names.erase(*target);
  else
    g.names.clear();
}

bool Permissions::check(Permission permission, const std::optional<std::string>& target) const {
  if (!target)
    return all_[index(permission)];
  return allows(permission, *target);
}

}  // namespace wps::core
