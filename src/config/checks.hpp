#pragma once
// Value checks shared by the loader (which prefixes the source and setting) and validate().
// Each returns an empty string when the value is acceptable, otherwise the problem in a few
// words, without the setting's name.

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
std::string to_lower(std::string_view value);

}  // namespace wps::config
