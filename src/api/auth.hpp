#pragma once
// Authentication of REST requests (spec §3.1): an HS256 bearer token signed with the primary or
// secondary access key whose `aud` is the request URL (with or without its query). With
// Config::allow_unvalidated_entra_tokens, also a Microsoft Entra token (any other algorithm) for
// the Web PubSub resource, checked for audience and lifetime only (local development, as
// Microsoft's emulator).

#include <cstdint>

#include "api/rest_api.hpp"
#include "config/config.hpp"

namespace wps::api {

// Throws ApiError (401) unless the request carries a valid token for its own URL (or, when
// allowed, a current Entra token for the Web PubSub resource).
void authenticate(const Request& request, const config::Config& config, std::int64_t now_seconds);

}  // namespace wps::api
