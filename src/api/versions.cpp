#include "api/versions.hpp"

#include <array>

namespace wps::api {

namespace {

constexpr std::array<std::string_view, 10> kVersions{
    "2020-10-01",         "2021-01-01", "2021-05-01-preview", "2021-08-01-preview", "2021-10-01",
    "2022-10-01-preview", "2022-11-01", "2023-07-01",         "2024-01-01",         "2024-12-01",
};

}  // namespace

bool is_supported_api_version(std::string_view version) noexcept {
  for (std::string_view v : kVersions) {
    if (v == version)
      return true;
  }
  return false;
}

std::string supported_api_versions_text() {
  std::string out;
  for (std::string_view v : kVersions) {
    if (!out.empty())
      out += ", ";
    out += v;
  }
  return out;
}

}  // namespace wps::api
