#pragma once
// Value checks shared by the loader (which prefixes the source and setting) and validate().
// Each returns an empty string when the value is acceptable, otherwise the problem in a few
// words, without the setting's name.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "config/config.hpp"

namespace wps::config {

// Non-empty, no whitespace or control characters.
std::string check_host(std::string_view host);
// Non-empty, no leading/trailing whitespace, no ';' (it would break connection strings), no
// control characters. The value is never echoed: it is a secret.
std::string check_access_key(std::string_view key);
// Empty, or http(s)://host[:port] with no path, query, fragment or user info.
std::string check_public_origin(std::string_view origin);
// redis://host[:port][/db]: port 6379 and database 0 by default; no credentials.
struct RedisUrl {
  std::string host;
  std::uint16_t port = 6379;
  unsigned db = 0;
  // From redis://[user]:password@host: sent with AUTH on every connection (Redis 6 ACL users
  // when `user` is set). Percent-escapes are decoded.
  std::string user;
  std::string password;
};
// nullopt, with `error` set, when `text` is not such a URL.
std::optional<RedisUrl> parse_redis_url(std::string_view text, std::string& error);
// Empty (no cluster) or a URL parse_redis_url accepts.
std::string check_redis_url(std::string_view url);
// trace, debug, info, warn or error (lower-case).
std::string check_log_level(std::string_view level);
// ^[A-Za-z][A-Za-z0-9_`,.[\]]{0,127}$
std::string check_hub_name(std::string_view hub);
// Absolute http(s) URL; placeholders only {hub} and {event}.
std::string check_url_template(std::string_view url);
// connect, connected or disconnected (lower-case).
std::string check_system_event(std::string_view event);
std::string check_group_presence_event(std::string_view event);
// Empty (no user events), "*", or a comma-separated list of event names / "*".
std::string check_user_event_pattern(std::string_view pattern);
// All fields of a handler; the problem is prefixed with the field's JSON name.
std::string check_event_handler(const EventHandler& handler);

// Quotes a value for an error message: control characters escaped, long values shortened.
std::string quote(std::string_view value);

}  // namespace wps::config
