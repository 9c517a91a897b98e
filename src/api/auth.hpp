#pragma once
// Authentication of REST requests (spec §3.1): an HS256 bearer token signed with the primary or
// secondary access key whose `aud` is the request URL (with or without its query).

#include <cstdint>

#include "api/rest_api.hpp"
#include "config/config.hpp"

namespace wps::api {

// Throws ApiError (401) unless the request carries a valid token for its own URL.
void authenticate(const Request& request, const config::Config& config, std::int64_t now_seconds);

}  // namespace wps::api
