#include "transport/upgrade.hpp"

#include <openssl/evp.h>

#include <optional>

#include "util/base64.hpp"
#include "util/text.hpp"

namespace wps::transport {


void split_protocols(std::string_view value, std::vector<std::string_view>& out) {
  while (!value.empty()) {
    const std::size_t comma = value.find(',');
    const std::string_view token = util::trim_ows(value.substr(0, comma));
    if (!token.empty())
      out.push_back(token);
    if (comma == std::string_view::npos)
      break;
    value.remove_prefix(comma + 1);
  }
}

bool is_websocket_key(std::string_view key) {
  key = util::trim_ows(key);
  if (key.size() != 24)
    return false;
  const std::optional<std::string> nonce = util::base64_decode(key);
  return nonce && nonce->size() == 16;
}

std::string websocket_accept_key(std::string_view key) {
  if (!is_websocket_key(key))
    return {};
  std::string input(util::trim_ows(key));
  input += "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  // Fetched once: OpenSSL 3 looks implicit algorithms up by name on every use.
  static EVP_MD* const sha1 = EVP_MD_fetch(nullptr, "SHA1", nullptr);
  if (sha1 == nullptr || EVP_Digest(input.data(), input.size(), digest, &size, sha1, nullptr) != 1)
    return {};
  return util::base64_encode(std::string_view(reinterpret_cast<const char*>(digest), size));
}

}  // namespace wps::transport
