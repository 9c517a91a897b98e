#include "util/text.hpp"

namespace wps::util {

namespace {

constexpr bool is_unreserved(char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.' || c == '~';
}

// The byte of the escape "%XY" starting at text[i], or -1 when there is none (too short, or X or
// Y not a hex digit).
int escape_at(std::string_view text, std::size_t i) noexcept {
  if (text.size() - i < 3)
    return -1;
  const int hi = hex_value(text[i + 1]);
  const int lo = hex_value(text[i + 2]);
  if (hi < 0 || lo < 0)
    return -1;
  return (hi << 4) | lo;
}

}  // namespace

std::string to_lower(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    c = ascii_lower(c);
  return out;
}

std::string_view trim_ows(std::string_view text) noexcept {
  while (!text.empty() && is_ows(text.front()))
    text.remove_prefix(1);
  while (!text.empty() && is_ows(text.back()))
    text.remove_suffix(1);
  return text;
}

std::string_view trim_ascii_space(std::string_view text) noexcept {
  while (!text.empty() && is_ascii_space(text.front()))
    text.remove_prefix(1);
  while (!text.empty() && is_ascii_space(text.back()))
    text.remove_suffix(1);
  return text;
}

std::string percent_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    if (is_unreserved(c)) {
      out += c;
    } else {
      const auto byte = static_cast<unsigned char>(c);
      out += '%';
      out += kHex[byte >> 4];
      out += kHex[byte & 0x0F];
    }
  }
  return out;
}

std::optional<std::string> percent_decode(std::string_view text, bool keep_encoded_slash) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    const int byte = escape_at(text, i);
    if (byte < 0)
      return std::nullopt;
    if (keep_encoded_slash && byte == '/')
      out.append(text.substr(i, 3));
    else
      out += static_cast<char>(byte);
    i += 2;
  }
  return out;
}

std::string percent_decode_lenient(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const int byte = text[i] == '%' ? escape_at(text, i) : -1;
    if (byte < 0) {
      out += text[i];
      continue;
    }
    out += static_cast<char>(byte);
    i += 2;
  }
  return out;
}

std::string to_valid_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    std::size_t length = 0;
    unsigned char lo = 0x80;
    unsigned char hi = 0xBF;
    if (lead < 0x80) {
      length = 1;
    } else if (lead >= 0xC2 && lead <= 0xDF) {
      length = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      length = 3;
      lo = lead == 0xE0 ? 0xA0 : 0x80;  // no overlong forms
      hi = lead == 0xED ? 0x9F : 0xBF;  // no surrogates
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      length = 4;
      lo = lead == 0xF0 ? 0x90 : 0x80;
      hi = lead == 0xF4 ? 0x8F : 0xBF;
    }
    bool ok = length != 0 && text.size() - i >= length;
    for (std::size_t k = 1; ok && k < length; ++k) {
      const auto c = static_cast<unsigned char>(text[i + k]);
      ok = c >= (k == 1 ? lo : 0x80) && c <= (k == 1 ? hi : 0xBF);
    }
    if (ok) {
      out.append(text.substr(i, length));
      i += length;
    } else {
      out += "\xEF\xBF\xBD";  // U+FFFD
      ++i;
    }
  }
  return out;
}

}  // namespace wps::util
