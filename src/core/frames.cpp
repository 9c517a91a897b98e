#include "core/frames.hpp"

#include <array>

#include "protocol/json_codec.hpp"
#include "protocol/protobuf_codec.hpp"

namespace wps::core {

SharedFrame encode_message(ProtocolKind kind, const Message& message) {
  const protocol::Payload& payload = message.payload;
  if (kind == ProtocolKind::simple) {
    // Raw payload: text and json as text frames, binary and protobuf (the serialized Any) as
    // binary frames (spec §6.7).
    const bool binary =
        payload.type == protocol::DataType::binary || payload.type == protocol::DataType::protobuf;
    return make_frame(payload.bytes, binary, message.expires_at);
  }
  protocol::DataMessageView view;
  view.from = message.from;
  view.group = message.group;
  view.from_user_id = message.from_user_id ? &*message.from_user_id : nullptr;
  view.type = payload.type;
  view.data = payload.bytes;
  // Reliable connections splice their own sequence id in (see with_sequence_id()).
  if (is_protobuf(kind))
    return make_frame(protocol::protobuf::encode_data_message(view), true, message.expires_at,
                      /*sequenced=*/true);
  return make_frame(protocol::json::encode_data_message(view), false, message.expires_at,
                    /*sequenced=*/true);
}

SharedFrame with_sequence_id(ProtocolKind kind, const Frame& frame, std::uint64_t sequence_id) {
  std::string data = is_protobuf(kind)
                         ? protocol::protobuf::with_sequence_id(frame.data, sequence_id)
                         : protocol::json::with_sequence_id(frame.data, sequence_id);
  return make_frame(std::move(data), frame.binary, frame.expires_at, true);
}

SharedFrame encode_ack(ProtocolKind kind, const protocol::Ack& ack) {
  if (is_protobuf(kind))
    return make_frame(protocol::protobuf::encode_ack(ack), true);
  if (is_json(kind))
    return make_frame(protocol::json::encode_ack(ack), false);
  return nullptr;
}

SharedFrame encode_pong(ProtocolKind kind) {
  static const SharedFrame json_pong = make_frame(protocol::json::encode_pong(), false);
  static const SharedFrame protobuf_pong = make_frame(protocol::protobuf::encode_pong(), true);
  if (is_protobuf(kind))
    return protobuf_pong;
  if (is_json(kind))
    return json_pong;
  return nullptr;
}

SharedFrame encode_connected(ProtocolKind kind, const ConnId& id,
                             const std::optional<std::string>& user_id,
                             const std::optional<std::string>& reconnection_token) {
  std::optional<std::string_view> token;
  if (reconnection_token)
    token = *reconnection_token;
  const std::string* user = user_id ? &*user_id : nullptr;
  if (is_protobuf(kind))
    return make_frame(protocol::protobuf::encode_connected(id, user, token), true);
  if (is_json(kind))
    return make_frame(protocol::json::encode_connected(id, user, token), false);
  return nullptr;
}

SharedFrame encode_disconnected(ProtocolKind kind, const std::string& reason) {
  if (is_protobuf(kind))
    return make_frame(protocol::protobuf::encode_disconnected(reason), true);
  if (is_json(kind))
    return make_frame(protocol::json::encode_disconnected(reason), false);
  return nullptr;
}

}  // namespace wps::core
