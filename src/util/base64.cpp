#include "util/base64.hpp"

#include <array>
#include <cstddef>
#include <cstdint>

namespace wps::util {
namespace {

constexpr std::string_view k_std_alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::string_view k_url_alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

constexpr std::uint8_t k_invalid = 0xFF;

using DecodeTable = std::array<std::uint8_t, 256>;

constexpr DecodeTable make_decode_table(std::string_view alphabet) {
  DecodeTable table{};
  for (auto& entry : table) {
    entry = k_invalid;
  }
  for (std::size_t i = 0; i < alphabet.size(); ++i) {
    table[static_cast<unsigned char>(alphabet[i])] = static_cast<std::uint8_t>(i);
  }
  return table;
}

constexpr DecodeTable k_std_table = make_decode_table(k_std_alphabet);
constexpr DecodeTable k_url_table = make_decode_table(k_url_alphabet);

std::uint32_t byte_at(std::string_view bytes, std::size_t i) {
  return static_cast<unsigned char>(bytes[i]);
}

std::string encode(std::string_view bytes, std::string_view alphabet, bool pad) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t n =
        (byte_at(bytes, i) << 16) | (byte_at(bytes, i + 1) << 8) | byte_at(bytes, i + 2);
    out.push_back(alphabet[(n >> 18) & 0x3F]);
    out.push_back(alphabet[(n >> 12) & 0x3F]);
    out.push_back(alphabet[(n >> 6) & 0x3F]);
    out.push_back(alphabet[n & 0x3F]);
  }
  const std::size_t rest = bytes.size() - i;
  if (rest == 1) {
    const std::uint32_t n = byte_at(bytes, i) << 16;
    out.push_back(alphabet[(n >> 18) & 0x3F]);
    out.push_back(alphabet[(n >> 12) & 0x3F]);
    if (pad) {
      out.append("==");
    }
  } else if (rest == 2) {
    const std::uint32_t n = (byte_at(bytes, i) << 16) | (byte_at(bytes, i + 1) << 8);
    out.push_back(alphabet[(n >> 18) & 0x3F]);
    out.push_back(alphabet[(n >> 12) & 0x3F]);
    out.push_back(alphabet[(n >> 6) & 0x3F]);
    if (pad) {
      out.push_back('=');
    }
  }
  return out;
}

// Decodes unpadded base64 text (its length must not be 1 mod 4).
std::optional<std::string> decode_unpadded(std::string_view text, const DecodeTable& table,
                                           TrailingBits trailing) {
  if (text.size() % 4 == 1) {
    return std::nullopt;
  }
  std::string out;
  out.reserve(text.size() / 4 * 3 + 2);
  std::uint32_t acc = 0;
  int bits = 0;
  for (const char c : text) {
    const std::uint8_t v = table[static_cast<unsigned char>(c)];
    if (v == k_invalid) {
      return std::nullopt;
    }
    acc = ((acc << 6) | v) & 0xFFFFFFu;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFFu));
    }
  }
  if (trailing == TrailingBits::reject && (acc & ((1u << bits) - 1u)) != 0) {
    return std::nullopt;
  }
  return out;
}

// Strips the padding of a padded text: the length must be a multiple of 4 and at most two '='
// may end it. Returns nullopt on bad padding.
std::optional<std::string_view> strip_padding(std::string_view text) {
  if (text.size() % 4 != 0) {
    return std::nullopt;
  }
  std::size_t pad = 0;
  while (pad < text.size() && pad < 3 && text[text.size() - 1 - pad] == '=') {
    ++pad;
  }
  if (pad > 2) {
    return std::nullopt;
  }
  return text.substr(0, text.size() - pad);
}

}  // namespace

std::string base64_encode(std::string_view bytes) {
  return encode(bytes, k_std_alphabet, true);
}

std::optional<std::string> base64_decode(std::string_view text) {
  const auto body = strip_padding(text);
  if (!body) {
    return std::nullopt;
  }
  // Any '=' left inside the body is not in the alphabet and is rejected there.
  return decode_unpadded(*body, k_std_table, TrailingBits::ignore);
}

std::string base64url_encode(std::string_view bytes) {
  return encode(bytes, k_url_alphabet, false);
}

std::optional<std::string> base64url_decode(std::string_view text, TrailingBits trailing) {
  if (!text.empty() && text.back() == '=') {
    const auto body = strip_padding(text);
    if (!body) {
      return std::nullopt;
    }
    text = *body;
  }
  return decode_unpadded(text, k_url_table, trailing);
}

}  // namespace wps::util
