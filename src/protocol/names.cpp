#include "protocol/names.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>

namespace wps::protocol {
namespace {

constexpr std::size_t k_max_hub_length = 128;
constexpr std::size_t k_max_group_code_points = 1024;
constexpr std::size_t k_max_event_length = 128;

bool is_ascii_alpha(char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}
bool is_ascii_digit(char c) noexcept {
  return c >= '0' && c <= '9';
}

// Decodes the well-formed UTF-8 sequence starting at `text[pos]` and advances `pos` past it.
// Returns nullopt for ill-formed input (bad lead/continuation bytes, overlong forms, surrogates,
// values above U+10FFFF, truncation).
std::optional<char32_t> next_code_point(std::string_view text, std::size_t& pos) noexcept {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(pos);
  if (lead < 0x80) {
    ++pos;
    return lead;
  }
  std::size_t length = 0;
  char32_t value = 0;
  unsigned char lo = 0x80;
  unsigned char hi = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
    value = lead & 0x1Fu;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    value = lead & 0x0Fu;
    if (lead == 0xE0) {
      lo = 0xA0;  // no overlongs
    } else if (lead == 0xED) {
      hi = 0x9F;  // no surrogates
    }
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    value = lead & 0x07u;
    if (lead == 0xF0) {
      lo = 0x90;  // no overlongs
    } else if (lead == 0xF4) {
      hi = 0x8F;  // <= U+10FFFF
    }
  } else {
    return std::nullopt;
  }
  if (text.size() - pos < length) {
    return std::nullopt;
  }
  for (std::size_t i = 1; i < length; ++i) {
    const unsigned char c = byte(pos + i);
    if (c < lo || c > hi) {
      return std::nullopt;
    }
    lo = 0x80;
    hi = 0xBF;
    value = (value << 6) | (c & 0x3Fu);
  }
  pos += length;
  return value;
}

// White space as .NET's regex `\s` defines it ([\f\n\r\t\v\x85\p{Z}]), the class the service's
// `^(?!\s+$).+$` group pattern uses.
bool is_white_space(char32_t c) noexcept {
  switch (c) {
    case U'\t':
    case U'\n':
    case U'\v':
    case U'\f':
    case U'\r':
    case U' ':
    case U'\u0085':
    case U'\u00A0':
    case U'\u1680':
    case U'\u2028':
    case U'\u2029':
    case U'\u202F':
    case U'\u205F':
    case U'\u3000':
      return true;
    default:
      return c >= U'\u2000' && c <= U'\u200A';
  }
}

}  // namespace

bool is_valid_hub_name(std::string_view hub) noexcept {
  if (hub.empty() || hub.size() > k_max_hub_length || !is_ascii_alpha(hub.front())) {
    return false;
  }
  for (const char c : hub.substr(1)) {
    const bool ok = is_ascii_alpha(c) || is_ascii_digit(c) || c == '_' || c == '`' || c == ',' ||
                    c == '.' || c == '[' || c == ']';
    if (!ok) {
      return false;
    }
  }
  return true;
}

bool is_valid_group_name(std::string_view group) noexcept {
  if (group.empty()) {
    return false;
  }
  std::size_t count = 0;
  bool only_white_space = true;
  std::size_t pos = 0;
  while (pos < group.size()) {
    const auto c = next_code_point(group, pos);
    if (!c) {
      return false;
    }
    if (++count > k_max_group_code_points) {
      return false;
    }
    if (only_white_space && !is_white_space(*c)) {
      only_white_space = false;
    }
  }
  return !only_white_space;
}

bool is_valid_event_name(std::string_view event) noexcept {
  if (event.empty() || event.size() > k_max_event_length || !is_ascii_alpha(event.front())) {
    return false;
  }
  for (const char c : event.substr(1)) {
    const bool ok = is_ascii_alpha(c) || is_ascii_digit(c) || c == '_' || c == '.' || c == '-';
    if (!ok) {
      return false;
    }
  }
  return true;
}

}  // namespace wps::protocol
