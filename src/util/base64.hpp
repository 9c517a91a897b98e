#pragma once
// Base64 (RFC 4648 standard alphabet, padded) and base64url (unpadded) codecs.

#include <optional>
#include <string>
#include <string_view>

namespace wps::util {

std::string base64_encode(std::string_view bytes);
// Accepts padded input; rejects characters outside the alphabet and bad padding.
std::optional<std::string> base64_decode(std::string_view text);

// What a decoder does with set bits left over in the last character (RFC 4648 §3.5). Most
// decoders (.NET's included) ignore them; `reject` accepts only the canonical encoding, so that a
// value (a token's signature) has exactly one textual form.
enum class TrailingBits { ignore, reject };

std::string base64url_encode(std::string_view bytes);  // no padding
// Accepts input with or without padding.
std::optional<std::string> base64url_decode(std::string_view text,
                                            TrailingBits trailing = TrailingBits::ignore);

}  // namespace wps::util
