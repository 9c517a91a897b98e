#pragma once
// Everything a handler sees of one authenticated, routed request.

#include <cstdint>
#include <string>
#include <string_view>

#include "api/query.hpp"
#include "api/rest_api.hpp"
#include "api/router.hpp"
#include "config/config.hpp"
#include "core/node.hpp"

namespace wps::api {

struct Call {
  const Request& request;
  const config::Config& config;
  core::Node& node;
  std::int64_t now_seconds = 0;
  std::string api_version;  // as given, or the latest when absent
  Query query;
  PathParams params;
  std::string hub;  // validated and lower-cased (core key)

  // "scheme://host[:port]" used to build absolute URLs and token audiences: the configured
  // public origin, else http:// + the Host header.
  std::string public_origin() const;
};

}  // namespace wps::api
