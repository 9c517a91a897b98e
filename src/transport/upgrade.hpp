#pragma once
// RFC 6455 pieces of a WebSocket upgrade that do not depend on what the endpoint serves.

#include <string>
#include <string_view>
#include <vector>

namespace wps::transport {

// Whether `key` (a Sec-WebSocket-Key value) is the base64 of 16 bytes (RFC 6455 §4.1).
bool is_websocket_key(std::string_view key);
// The Sec-WebSocket-Accept value answering `key` (RFC 6455 §4.2.2): base64 of the SHA-1 of the
// key and the protocol's GUID. Empty when `key` is not a valid key.
std::string websocket_accept_key(std::string_view key);

// Splits Sec-WebSocket-Protocol header values ("a, b") into trimmed tokens.
void split_protocols(std::string_view header_value, std::vector<std::string_view>& out);

}  // namespace wps::transport
