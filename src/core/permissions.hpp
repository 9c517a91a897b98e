#pragma once
// What a connection may do with groups (spec §7): roles from its token (or connect handler) and
// grants made at run time through the REST API.

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace wps::core {

enum class Permission : std::uint8_t { join_leave_group = 0, send_to_group = 1 };

// Wildcard group pattern of `webpubsub.*Groups.<pattern>` roles: `?` one character except '.',
// `*` any run without '.', `**` any run including '.', `\` escapes `\`, `*` and `?`. At most
// five '*'. Matching is case-sensitive.
class GroupPattern {
 public:
  static std::optional<GroupPattern> parse(std::string_view pattern);
  bool matches(std::string_view group) const;

 private:
  enum class Kind : std::uint8_t { literal, one, star, globstar };
  struct Token {
    Kind kind;
    char ch;
  };
  std::vector<Token> tokens_;
};

class Permissions {
 public:
  Permissions() = default;
  Permissions(const Permissions& other);
  Permissions& operator=(const Permissions& other);
  Permissions(Permissions&&) noexcept = default;
  Permissions& operator=(Permissions&&) noexcept = default;
  ~Permissions() = default;

  // Unknown roles are ignored (the service ignores them too).
  static Permissions from_roles(const std::vector<std::string>& roles);

  // Whether the connection may join/leave or send to `group`.
  bool allows(Permission permission, std::string_view group) const;

  // REST grants: without a target the permission covers every group.
  void grant(Permission permission, const std::optional<std::string>& target);
  // Without a target removes the global grant and every per-group grant of `permission`.
  void revoke(Permission permission, const std::optional<std::string>& target);
  // REST CheckPermission: without a target, whether the global grant is held; with one, allows().
  bool check(Permission permission, const std::optional<std::string>& target) const;

 private:
  // Per-group grants and patterns of one permission.
  struct Groups {
    std::unordered_set<std::string> names;
    std::vector<GroupPattern> patterns;
  };
  static std::size_t index(Permission p) { return static_cast<std::size_t>(p); }
  // Allocated on the first per-group grant or pattern: most connections hold none (16 bytes
  // per connection instead of 176).
  Groups& groups(Permission p);

  std::array<bool, 2> all_{};  // the global grant of each permission
  std::unique_ptr<std::array<Groups, 2>> groups_;
};

}  // namespace wps::core
