#include "core/frames.hpp"

#include "protocol/json_codec.hpp"

namespace wps::core {

SharedFrame encode_message(ProtocolKind kind, const Message& message) {
  const protocol::Payload& payload = message.payload;
  switch (kind) {
    case ProtocolKind::simple: {
      const bool binary = payload.type == protocol::DataType::binary ||
                          payload.type == protocol::DataType::protobuf;
      return make_frame(payload.bytes, binary, message.expires_at);
    }
    case ProtocolKind::json:
    case ProtocolKind::json_reliable: {
      protocol::DataMessageView view;
      view.from = message.from;
      view.group = message.group;
      view.from_user_id = message.from_user_id ? &*message.from_user_id : nullptr;
      view.type = payload.type;
      view.data = payload.bytes;
      // Reliable connections splice their own sequenceId in front
      // (protocol::json::with_sequence_id).
      return make_frame(protocol::json::encode_data_message(view), false, message.expires_at,
                        /*sequenced=*/true);
    }
  }
  return nullptr;
}

SharedFrame encode_ack(ProtocolKind kind, const protocol::Ack& ack) {
  if (!is_json(kind))
    return nullptr;
  return make_frame(protocol::json::encode_ack(ack), false);
}

SharedFrame encode_pong(ProtocolKind kind) {
  if (!is_json(kind))
    return nullptr;
  static const SharedFrame pong = make_frame(protocol::json::encode_pong(), false);
  return pong;
}

SharedFrame encode_connected(ProtocolKind kind, const ConnId& id,
                             const std::optional<std::string>& user_id,
                             const std::optional<std::string>& reconnection_token) {
  if (!is_json(kind))
    return nullptr;
  std::optional<std::string_view> token;
  if (reconnection_token)
    token = *reconnection_token;
  return make_frame(protocol::json::encode_connected(id, user_id ? &*user_id : nullptr, token),
                    false);
}

SharedFrame encode_disconnected(ProtocolKind kind, const std::string& reason) {
  if (!is_json(kind))
    return nullptr;
  return make_frame(protocol::json::encode_disconnected(reason), false);
}

}  // namespace wps::core
