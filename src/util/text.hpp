#pragma once
// ASCII text helpers shared by every layer: case folding and case-insensitive comparison (HTTP
// header names and tokens, hub names, JSON message types, OData identifiers), trimming, percent
// encoding of URL components, and UTF-8 repair for echoed input. Locale-independent: only the
// ASCII letters change case, every other byte (UTF-8 included) passes through.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace wps::util {

constexpr char ascii_lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

constexpr char ascii_upper(char c) noexcept {
  return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
}

// `text` with its ASCII letters lower-cased.
std::string to_lower(std::string_view text);

// Equal but for the case of ASCII letters.
constexpr bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size())
    return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i]))
      return false;
  }
  return true;
}

// `text` starts with `prefix`, ignoring the case of ASCII letters.
constexpr bool istarts_with(std::string_view text, std::string_view prefix) noexcept {
  return text.size() >= prefix.size() && iequals(text.substr(0, prefix.size()), prefix);
}

// HTTP's optional white space (RFC 9110 §5.6.3): space and horizontal tab.
constexpr bool is_ows(char c) noexcept {
  return c == ' ' || c == '\t';
}

// Without the optional white space around a header value or list element.
std::string_view trim_ows(std::string_view text) noexcept;

// White space as the C locale's isspace sees it: space, \t, \n, \v, \f, \r.
constexpr bool is_ascii_space(char c) noexcept {
  return c == ' ' || (c >= '\t' && c <= '\r');
}

// Without the ASCII white space (is_ascii_space) at either end.
std::string_view trim_ascii_space(std::string_view text) noexcept;

// The value of a hexadecimal digit (either case), or -1.
constexpr int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

// Percent-encodes everything but the RFC 3986 unreserved characters (ALPHA DIGIT - . _ ~), with
// upper-case hex digits: a URL component from any bytes (encodeURIComponent-like, also escaping
// !'()*).
std::string percent_encode(std::string_view text);

// Decodes %XX escapes once ('+' stays '+'). With `keep_encoded_slash`, "%2F"/"%2f" stay as they
// are (routing on '/'-separated segments). nullopt for a malformed escape.
std::optional<std::string> percent_decode(std::string_view text, bool keep_encoded_slash = false);

// The same, but a malformed escape is kept literally instead of failing (comparisons of values
// that may or may not be encoded; never for routing).
std::string percent_decode_lenient(std::string_view text);

// `text` with every ill-formed UTF-8 byte replaced by U+FFFD (messages that echo input).
std::string to_valid_utf8(std::string_view text);

}  // namespace wps::util
