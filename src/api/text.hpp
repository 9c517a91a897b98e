#pragma once
// Small ASCII text helpers of the REST API.

#include <optional>
#include <string>
#include <string_view>

namespace wps::api {

inline char ascii_lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

inline bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size())
    return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i]))
      return false;
  }
  return true;
}

inline std::string to_lower(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    c = ascii_lower(c);
  return out;
}

inline std::string_view trim(std::string_view text) noexcept {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
    text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t'))
    text.remove_suffix(1);
  return text;
}

// Percent-encodes everything but the RFC 3986 unreserved characters (encodeURIComponent-like,
// also escaping !'()*), for building URLs from decoded values.
std::string encode_component(std::string_view text);

// Decodes %XX escapes once. With `keep_encoded_slash`, "%2F"/"%2f" stay as they are (ASP.NET Core
// routing, spec §4.2). nullopt for a malformed escape.
std::optional<std::string> percent_decode(std::string_view text, bool keep_encoded_slash);

// `text` with every ill-formed UTF-8 byte replaced by U+FFFD (error messages echo input).
std::string to_valid_utf8(std::string_view text);

}  // namespace wps::api
