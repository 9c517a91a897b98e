#include "api/query.hpp"

#include "api/api_error.hpp"
#include "util/text.hpp"

namespace wps::api {

Query Query::parse(std::string_view encoded) {
  Query query;
  // application/x-www-form-urlencoded: '+' is a space, then escapes are decoded once.
  const auto decode = [](std::string_view text) {
    std::string plus_as_space(text);
    for (char& c : plus_as_space) {
      if (c == '+')
        c = ' ';
    }
    auto decoded = util::percent_decode(plus_as_space, false);
    if (!decoded)
      bad_request("The query string is malformed.");
    return std::move(*decoded);
  };
  while (!encoded.empty()) {
    const std::size_t amp = encoded.find('&');
    const std::string_view pair = encoded.substr(0, amp);
    encoded = amp == std::string_view::npos ? std::string_view{} : encoded.substr(amp + 1);
    if (pair.empty())
      continue;  // "a=1&&b=2"
    const std::size_t eq = pair.find('=');
    const std::string_view key = pair.substr(0, eq);
    const std::string_view value =
        eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
    query.entries_.emplace_back(decode(key), decode(value));
  }
  return query;
}

std::optional<std::string> Query::single(std::string_view name) const {
  std::optional<std::string> found;
  for (const auto& [key, value] : entries_) {
    if (!util::iequals(key, name))
      continue;
    if (found && *found != value)
      bad_request("The query parameter '" + std::string(name) + "' is given more than once.");
    found = value;
  }
  return found;
}

std::vector<std::string> Query::all(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& [key, value] : entries_) {
    if (util::iequals(key, name))
      out.push_back(value);
  }
  return out;
}

std::vector<std::string> Query::all_non_empty(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& [key, value] : entries_) {
    if (util::iequals(key, name) && !value.empty())
      out.push_back(value);
  }
  return out;
}

std::optional<long long> parse_integer(std::string_view text) {
  bool negative = false;
  if (!text.empty() && (text.front() == '-' || text.front() == '+')) {
    negative = text.front() == '-';
    text.remove_prefix(1);
  }
  if (text.empty() || text.size() > 18)
    return std::nullopt;
  long long value = 0;
  for (char c : text) {
    if (c < '0' || c > '9')
      return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return negative ? -value : value;
}

std::optional<long long> Query::integer(std::string_view name, long long min, long long max) const {
  const auto text = single(name);
  if (!text)
    return std::nullopt;
  const auto value = parse_integer(*text);
  if (!value || *value < min || *value > max) {
    bad_request("The query parameter '" + std::string(name) + "' must be an integer from " +
                std::to_string(min) + " to " + std::to_string(max) + ".");
  }
  return value;
}

}  // namespace wps::api
