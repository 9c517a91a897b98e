#include "config/checks.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstddef>

#include "util/text.hpp"

namespace wps::config {

std::optional<RedisUrl> parse_redis_url(std::string_view text, std::string& error) {
  constexpr std::string_view scheme = "redis://";
  if (!text.starts_with(scheme)) {
    error = "must start with redis://";
    return std::nullopt;
  }
  text.remove_prefix(scheme.size());
  RedisUrl url;
  const auto slash = text.find('/');
  std::string_view authority = text.substr(0, slash);
  if (slash != std::string_view::npos) {
    std::string_view db = text.substr(slash + 1);
    if (!db.empty()) {
      const auto [end, ec] = std::from_chars(db.data(), db.data() + db.size(), url.db);
      if (ec != std::errc() || end != db.data() + db.size() || url.db > 10'000) {
        error = "the database must be a number";
        return std::nullopt;
      }
    }
  }
  if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
    const std::string_view credentials = authority.substr(0, at);
    authority.remove_prefix(at + 1);
    const auto colon = credentials.find(':');
    if (colon == std::string_view::npos) {
      error = "credentials must be [user]:password@";
      return std::nullopt;
    }
    auto decode = [&error](std::string_view in, std::string& out) {
      for (std::size_t i = 0; i < in.size(); ++i) {
        if (in[i] != '%') {
          out += in[i];
          continue;
        }
        unsigned value = 0;
        if (i + 2 >= in.size() ||
            std::from_chars(in.data() + i + 1, in.data() + i + 3, value, 16).ptr !=
                in.data() + i + 3) {
          error = "bad percent-escape in the credentials";
          return false;
        }
        out += static_cast<char>(value);
        i += 2;
      }
      return true;
    };
    if (!decode(credentials.substr(0, colon), url.user) ||
        !decode(credentials.substr(colon + 1), url.password))
      return std::nullopt;
    if (url.password.empty()) {
      error = "the password is empty";
      return std::nullopt;
    }
  }
  std::string_view host = authority;
  if (authority.starts_with('[')) {  // [::1]:6379
    const auto close = authority.find(']');
    if (close == std::string_view::npos) {
      error = "unterminated [ in the host";
      return std::nullopt;
    }
    host = authority.substr(1, close - 1);
    authority.remove_prefix(close + 1);
    if (!authority.empty() && authority.front() != ':') {
      error = "unexpected text after the host";
      return std::nullopt;
    }
  } else {
    const auto colon = authority.rfind(':');
    host = authority.substr(0, colon);
    authority = colon == std::string_view::npos ? std::string_view() : authority.substr(colon);
  }
  if (!authority.empty()) {
    std::string_view port = authority.substr(1);
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) {
      error = "the port must be 1..65535";
      return std::nullopt;
    }
    url.port = static_cast<std::uint16_t>(value);
  }
  if (host.empty()) {
    error = "the host is missing";
    return std::nullopt;
  }
  url.host = std::string(host);
  return url;
}

std::string check_redis_url(std::string_view url) {
  if (url.empty())
    return {};
  std::string error;
  if (!parse_redis_url(url, error))
    return error;
  return {};
}

namespace {

bool is_control(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u < 0x20 || u == 0x7f;
}

bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_hex(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool has_control(std::string_view s) {
  return std::any_of(s.begin(), s.end(), is_control);
}

// Strips "http://" or "https://" (any case); returns false when neither is there.
bool strip_http_scheme(std::string_view& s) {
  if (util::istarts_with(s, "http://")) {
    s.remove_prefix(7);
    return true;
  }
  if (util::istarts_with(s, "https://")) {
    s.remove_prefix(8);
    return true;
  }
  return false;
}

// host[:port] of an origin: a DNS name / IPv4 address, or a bracketed IPv6 address.
std::string check_authority(std::string_view authority) {
  if (authority.empty()) {
    return "has no host";
  }
  std::string_view host = authority;
  std::string_view port;
  bool has_port = false;
  if (authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) {
      return "has an unterminated '[' in the host";
    }
    host = authority.substr(1, close - 1);
    const std::string_view rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') {
        return "has unexpected characters after the IPv6 address";
      }
      has_port = true;
      port = rest.substr(1);
    }
    if (host.empty() || !std::all_of(host.begin(), host.end(),
                                     [](char c) { return is_hex(c) || c == ':' || c == '.'; })) {
      return "has an invalid IPv6 address";
    }
  } else {
    const auto colon = authority.find(':');
    if (colon != std::string_view::npos) {
      if (authority.find(':', colon + 1) != std::string_view::npos) {
        return "has an invalid host (put IPv6 addresses in brackets)";
      }
      host = authority.substr(0, colon);
      port = authority.substr(colon + 1);
      has_port = true;
    }
    if (host.empty()) {
      return "has no host";
    }
    if (!std::all_of(host.begin(), host.end(), [](char c) {
          return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_';
        })) {
      return "has an invalid host";
    }
  }
  if (has_port) {
    if (port.empty() || port.size() > 5 || !std::all_of(port.begin(), port.end(), is_digit)) {
      return "has an invalid port (1..65535)";
    }
    unsigned value = 0;
    for (const char c : port) {
      value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (value == 0 || value > 65535) {
      return "has an invalid port (1..65535)";
    }
  }
  return {};
}

}  // namespace

std::string quote(std::string_view value) {
  constexpr std::size_t kMaxShown = 80;
  static constexpr std::array<char, 16> kHex = {'0', '1', '2', '3', '4', '5', '6', '7',
                                                '8', '9', 'a', 'b', 'c', 'd', 'e', 'f'};
  std::string out = "'";
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (i == kMaxShown) {
      out += "...";
      break;
    }
    const char c = value[i];
    if (is_control(c)) {
      const auto u = static_cast<unsigned char>(c);
      out += "\\x";
      out += kHex[u >> 4U];
      out += kHex[u & 0xfU];
    } else {
      out += c;
    }
  }
  out += "'";
  return out;
}

std::string check_host(std::string_view host) {
  if (host.empty()) {
    return "must not be empty";
  }
  if (std::any_of(host.begin(), host.end(),
                  [](char c) { return util::is_ascii_space(c) || is_control(c); })) {
    return "must not contain whitespace or control characters";
  }
  return {};
}

std::string check_access_key(std::string_view key) {
  if (key.empty()) {
    return "must not be empty";
  }
  if (util::is_ascii_space(key.front()) || util::is_ascii_space(key.back())) {
    return "must not have leading or trailing whitespace";
  }
  if (key.find(';') != std::string_view::npos) {
    return "must not contain ';'";
  }
  if (has_control(key)) {
    return "must not contain control characters";
  }
  return {};
}

std::string check_public_origin(std::string_view origin) {
  if (origin.empty()) {
    return {};
  }
  const std::string shown = quote(origin);
  std::string_view rest = origin;
  if (!strip_http_scheme(rest)) {
    return shown + " is not an origin: expected http(s)://host[:port]";
  }
  if (rest.find_first_of("/?#") != std::string_view::npos) {
    return shown + " is not an origin: it must not have a path, query or fragment";
  }
  if (rest.find('@') != std::string_view::npos) {
    return shown + " is not an origin: it must not contain user info";
  }
  if (auto problem = check_authority(rest); !problem.empty()) {
    return shown + " is not an origin: it " + problem;
  }
  return {};
}

std::string check_log_level(std::string_view level) {
  if (level == "trace" || level == "debug" || level == "info" || level == "warn" ||
      level == "error") {
    return {};
  }
  return quote(level) + " is not a log level (trace|debug|info|warn|error)";
}

std::string check_hub_name(std::string_view hub) {
  const auto allowed = [](char c) {
    return is_alpha(c) || is_digit(c) || c == '_' || c == '`' || c == ',' || c == '.' || c == '[' ||
           c == ']';
  };
  if (hub.empty() || hub.size() > 128 || !is_alpha(hub.front()) ||
      !std::all_of(hub.begin(), hub.end(), allowed)) {
    return quote(hub) +
           " is not a valid hub name (a letter, then up to 127 of A-Z a-z 0-9 _ ` , . [ ])";
  }
  return {};
}

std::string check_url_template(std::string_view url) {
  if (url.empty()) {
    return "must not be empty";
  }
  const std::string shown = quote(url);
  if (std::any_of(url.begin(), url.end(),
                  [](char c) { return util::is_ascii_space(c) || is_control(c); })) {
    return shown + " must not contain whitespace or control characters";
  }
  std::string_view rest = url;
  if (!strip_http_scheme(rest)) {
    return shown + " is not an absolute http:// or https:// URL";
  }
  const std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  if (authority.empty() || authority.front() == ':') {
    return shown + " has no host";
  }
  for (std::size_t i = 0; i < url.size(); ++i) {
    if (url[i] == '}') {
      return shown + " has an unmatched '}'";
    }
    if (url[i] != '{') {
      continue;
    }
    const auto close = url.find('}', i);
    if (close == std::string_view::npos) {
      return shown + " has an unmatched '{'";
    }
    const std::string_view name = url.substr(i + 1, close - i - 1);
    if (name != "hub" && name != "event") {
      return shown + " has an unknown placeholder {" + std::string(name) +
             "} (only {hub} and {event})";
    }
    i = close;
  }
  return {};
}

std::string check_system_event(std::string_view event) {
  if (event == "connect" || event == "connected" || event == "disconnected") {
    return {};
  }
  return quote(event) + " is not a system event (connect|connected|disconnected)";
}

std::string check_group_presence_event(std::string_view event) {
  if (event == "joined" || event == "left") {
    return {};
  }
  return quote(event) + " is not a group presence event (joined|left)";
}

std::string check_user_event_pattern(std::string_view pattern) {
  if (pattern.empty()) {
    return {};
  }
  if (has_control(pattern)) {
    return quote(pattern) + " must not contain control characters";
  }
  std::string_view rest = pattern;
  while (true) {
    const auto comma = rest.find(',');
    const std::string_view item = util::trim_ascii_space(rest.substr(0, comma));
    if (item.empty()) {
      return quote(pattern) + " has an empty event name (expected *, or names separated by ',')";
    }
    if (comma == std::string_view::npos) {
      break;
    }
    rest.remove_prefix(comma + 1);
  }
  return {};
}

std::string check_event_handler(const EventHandler& handler) {
  if (auto problem = check_url_template(handler.url_template); !problem.empty()) {
    return "urlTemplate: " + problem;
  }
  for (std::size_t i = 0; i < handler.system_events.size(); ++i) {
    if (auto problem = check_system_event(handler.system_events[i]); !problem.empty()) {
      return "systemEvents[" + std::to_string(i) + "]: " + problem;
    }
  }
  if (auto problem = check_user_event_pattern(handler.user_event_pattern); !problem.empty()) {
    return "userEventPattern: " + problem;
  }
  for (std::size_t i = 0; i < handler.group_presence_events.size(); ++i) {
    if (auto problem = check_group_presence_event(handler.group_presence_events[i]);
        !problem.empty()) {
      return "groupPresenceEvents.eventNames[" + std::to_string(i) + "]: " + problem;
    }
  }
  return {};
}

}  // namespace wps::config
