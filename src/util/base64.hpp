#pragma once
// Base64 (RFC 4648 standard alphabet, padded) and base64url (unpadded) codecs.

#include <optional>
#include <string>
#include <string_view>

namespace wps::util {

std::string base64_encode(std::string_view bytes);
// Accepts padded input; rejects characters outside the alphabet and bad padding.
std::optional<std::string> base64_decode(std::string_view text);

std::string base64url_encode(std::string_view bytes);  // no padding
// Accepts input with or without padding.
std::optional<std::string> base64url_decode(std::string_view text);

}  // namespace wps::util
