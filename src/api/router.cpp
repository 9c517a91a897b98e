#include "api/router.hpp"

#include "api/api_error.hpp"
#include "util/text.hpp"

namespace wps::api {

namespace {

std::vector<std::string_view> split(std::string_view text) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (true) {
    const std::size_t slash = text.find('/', start);
    out.push_back(text.substr(start, slash == std::string_view::npos ? text.npos : slash - start));
    if (slash == std::string_view::npos)
      break;
    start = slash + 1;
  }
  return out;
}

std::string* param_slot(PathParams& params, std::string_view name) {
  if (name == "hub")
    return &params.hub;
  if (name == "group")
    return &params.group;
  if (name == "connectionId")
    return &params.connection_id;
  if (name == "userId")
    return &params.user_id;
  if (name == "permission")
    return &params.permission;
  return nullptr;
}

// Whether `segments` fit `pattern`; fills `params` when `capture` is set.
bool fits(std::string_view pattern, const std::vector<std::string_view>& segments,
          PathParams* capture) {
  const std::vector<std::string_view> parts = split(pattern);
  if (parts.size() != segments.size())
    return false;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const std::string_view part = parts[i];
    const bool is_param = part.size() > 2 && part.front() == '{' && part.back() == '}';
    if (!is_param) {
      const auto decoded = util::percent_decode(segments[i], false);
      if (!decoded || *decoded != part)
        return false;
      continue;
    }
    if (capture == nullptr)
      continue;
    const std::string_view name = part.substr(1, part.size() - 2);
    auto decoded = util::percent_decode(segments[i], name == "userId");
    if (!decoded)
      bad_request("The request path has a malformed percent-encoding.");
    if (decoded->empty())
      bad_request("The path parameter '" + std::string(name) + "' must not be empty.");
    if (std::string* slot = param_slot(*capture, name))
      *slot = std::move(*decoded);
  }
  return true;
}

}  // namespace

std::optional<std::vector<std::string_view>> split_api_path(std::string_view raw_path) {
  constexpr std::string_view prefix = "/api/";
  if (!raw_path.starts_with(prefix))
    return std::nullopt;
  raw_path.remove_prefix(prefix.size());
  if (!raw_path.empty() && raw_path.back() == '/')
    raw_path.remove_suffix(1);
  std::vector<std::string_view> segments = split(raw_path);
  for (std::string_view s : segments) {
    if (s.empty())
      return std::nullopt;
  }
  return segments;
}

RouteMatch Router::match(boost::beast::http::verb method, std::string_view raw_path) const {
  RouteMatch result;
  const auto segments = split_api_path(raw_path);
  if (!segments)
    return result;
  for (const Route& route : routes_) {
    if (!fits(route.pattern, *segments, nullptr))
      continue;
    result.allowed.push_back(route.method);
    if (route.method == method && result.route == nullptr) {
      fits(route.pattern, *segments, &result.params);
      result.route = &route;
    }
  }
  return result;
}

}  // namespace wps::api
