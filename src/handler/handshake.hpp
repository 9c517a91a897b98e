#pragma once
// The decision on a client's WebSocket upgrade request (spec §3.2, §3.3): which hub, who the
// client is, which subprotocol, or which HTTP status refuses it. No I/O: tested directly.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config/config.hpp"
#include "core/client.hpp"

namespace wps::handler {

// Whether `target` (raw request-target) addresses the client endpoint: /client/hubs/{hub},
// /client, /client/ (with ?hub=), or the MQTT endpoint /clients/mqtt/hubs/{hub}.
bool is_client_endpoint(std::string_view target);

struct HandshakeRequest {
  std::string_view target;         // raw request-target, e.g. /client/hubs/chat?access_token=...
  std::string_view host;           // Host header
  std::string_view authorization;  // Authorization header (may be empty)
  std::vector<std::string_view> offered_protocols;  // Sec-WebSocket-Protocol values, in order
  bool is_websocket_upgrade = false;
};

struct HandshakeAccept {
  std::string hub;  // lower-cased
  std::optional<std::string> user_id;
  std::vector<std::string> roles;
  std::vector<std::string> groups;
  core::ProtocolKind kind = core::ProtocolKind::simple;
  std::string subprotocol;  // the offered value to echo; empty for none
  // Reliable-protocol recovery (awps_connection_id + awps_reconnection_token, spec §6.4): the
  // access token is then not checked; the session validates the pair after the upgrade and
  // closes with 1008 when it cannot recover.
  std::optional<std::string> recover_connection_id;
  std::string recover_token;
  // Every claim of the token, each as a list of strings (for the `connect` event).
  std::map<std::string, std::vector<std::string>> claims;
};

struct HandshakeReject {
  unsigned status = 400;
  std::string code;     // ErrorDetail.code
  std::string message;  // ErrorDetail.message (never contains secrets)
};

using HandshakeDecision = std::variant<HandshakeAccept, HandshakeReject>;

HandshakeDecision decide_handshake(const HandshakeRequest& request, const config::Config& config,
                                   std::int64_t now_seconds);

// The protocol kind of the first supported value of `offered` (simple when none).
core::ProtocolKind protocol_kind_of(const std::vector<std::string_view>& offered);

}  // namespace wps::handler
