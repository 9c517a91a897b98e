#pragma once
// The query string of a REST request, decoded once (percent-escapes, and '+' as space as in
// application/x-www-form-urlencoded). Names are matched case-insensitively, as ASP.NET Core
// binds them; repeated names (`excluded=a&excluded=b`) keep their order.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wps::api {

class Query {
 public:
  Query() = default;
  // Parses an encoded query (the part after '?', without it). Throws ApiError (400) for a
  // malformed escape.
  static Query parse(std::string_view encoded);

  // The single value of `name`; nullopt when absent. Throws ApiError (400) when it is given
  // more than once with different values.
  std::optional<std::string> single(std::string_view name) const;
  // Every value of a repeatable parameter, in order.
  std::vector<std::string> all(std::string_view name) const;
  // Every value of a repeatable parameter, empty values dropped.
  std::vector<std::string> all_non_empty(std::string_view name) const;

  // An integer parameter within [min, max]; nullopt when absent. Throws ApiError (400) for
  // anything that is not a plain decimal integer in range.
  std::optional<long long> integer(std::string_view name, long long min, long long max) const;

  const std::vector<std::pair<std::string, std::string>>& entries() const { return entries_; }

 private:
  std::vector<std::pair<std::string, std::string>> entries_;
};

// Parses a plain decimal integer ("-"? digits, at most 18 digits); nullopt otherwise.
std::optional<long long> parse_integer(std::string_view text);

}  // namespace wps::api
