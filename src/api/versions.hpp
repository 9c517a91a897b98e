#pragma once
// The api-versions of the data-plane REST API (spec §4.1). Behaviour does not differ by version.

#include <string>
#include <string_view>

namespace wps::api {

inline constexpr std::string_view kLatestApiVersion = "2024-12-01";

bool is_supported_api_version(std::string_view version) noexcept;
// "2020-10-01, 2021-01-01, ..." for error messages.
std::string supported_api_versions_text();

}  // namespace wps::api
