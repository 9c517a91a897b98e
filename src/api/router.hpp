#pragma once
// Method + path-pattern routing of the REST API. Patterns are written relative to "/api/", one
// literal or `{param}` per segment, e.g. "hubs/{hub}/groups/{group}/:send". Literal segments match
// the percent-decoded request segment exactly; parameters take the decoded segment (non-empty).

#include <boost/beast/http/verb.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "api/rest_api.hpp"

namespace wps::api {

struct Call;
using Handler = Response (*)(const Call&);

struct Route {
  boost::beast::http::verb method;
  std::string_view pattern;
  Handler handler;
  std::string_view operation;  // swagger operationId without the "WebPubSub_" prefix
};

struct PathParams {
  std::string hub;  // as sent (decoded); hub names are case-insensitive
  std::string group;
  std::string connection_id;
  std::string user_id;  // "%2F" kept literal (spec §4.2)
  std::string permission;
};

struct RouteMatch {
  const Route* route = nullptr;  // null: no route for this method
  PathParams params;
  // Methods whose route matches the path (non-empty with a null route: 405).
  std::vector<boost::beast::http::verb> allowed;
};

class Router {
 public:
  explicit Router(std::span<const Route> routes) : routes_(routes) {}

  // Matches `raw_path` (percent-encoded, without the query). Throws ApiError (400) for a
  // malformed escape in a parameter segment.
  RouteMatch match(boost::beast::http::verb method, std::string_view raw_path) const;

 private:
  std::span<const Route> routes_;
};

// Splits "/api/a/b/" into {"a", "b"} (one trailing '/' ignored); nullopt when the path is not
// under /api/ or has an empty segment.
std::optional<std::vector<std::string_view>> split_api_path(std::string_view raw_path);

}  // namespace wps::api
