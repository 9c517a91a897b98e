#pragma once
// Encoding of service->client messages for each protocol kind. The only place where the core
// picks a wire format; the formats themselves live in the protocol layer.

#include <optional>
#include <string>

#include "core/connection.hpp"
#include "core/message.hpp"
#include "protocol/messages.hpp"

namespace wps::core {

// Data message for a recipient of `kind`: simple clients get the raw payload (text frame for
// text/json, binary frame for binary/protobuf), PubSub clients the protocol's envelope.
SharedFrame encode_message(ProtocolKind kind, const Message& message);

// `frame` (a data message encoded for `kind`) with the recipient's sequence id: one copy per
// reliable recipient instead of one encoding.
SharedFrame with_sequence_id(ProtocolKind kind, const Frame& frame, std::uint64_t sequence_id);

// Protocol control messages; nullptr for simple clients, which get none of them.
SharedFrame encode_ack(ProtocolKind kind, const protocol::Ack& ack);
SharedFrame encode_pong(ProtocolKind kind);
SharedFrame encode_connected(ProtocolKind kind, const ConnId& id,
                             const std::optional<std::string>& user_id,
                             const std::optional<std::string>& reconnection_token = std::nullopt);
SharedFrame encode_disconnected(ProtocolKind kind, const std::string& reason);

}  // namespace wps::core
