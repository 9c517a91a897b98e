#include "handler/codec.hpp"

#include "protocol/json_codec.hpp"
#include "protocol/protobuf_codec.hpp"

namespace wps::handler {

PubSubCodec::PubSubCodec(bool binary, std::string_view wrong_frame_type, Functions functions)
    : binary_(binary),
      wrong_frame_type_(wrong_frame_type),
      f_(functions),
      pong_(protocol::make_frame(functions.encode_pong(), binary)) {}

SharedFrame PubSubCodec::encode(const core::Message& message) const {
  protocol::DataMessageView view;
  view.from = message.from;
  view.group = message.group;
  view.from_user_id = message.from_user_id ? &*message.from_user_id : nullptr;
  view.type = message.payload.type;
  view.data = message.payload.bytes;
  view.metadata = &message.metadata;
  view.stream = message.stream ? &*message.stream : nullptr;
  return protocol::make_frame(f_.encode_data(view), binary_, message.expires_at);
}

SharedFrame PubSubCodec::with_sequence_id(const Frame& frame, std::uint64_t sequence_id) const {
  return protocol::make_frame(f_.with_sequence_id(frame.data, sequence_id), binary_,
                              frame.expires_at);
}

SharedFrame PubSubCodec::ack(const protocol::Ack& ack) const {
  return protocol::make_frame(f_.encode_ack(ack), binary_);
}

SharedFrame PubSubCodec::connected(const core::ConnId& id,
                                   const std::optional<std::string>& user_id,
                                   std::optional<std::string_view> reconnection_token) const {
  return protocol::make_frame(
      f_.encode_connected(id, user_id ? &*user_id : nullptr, reconnection_token), binary_);
}

SharedFrame PubSubCodec::disconnected(std::string_view reason) const {
  return protocol::make_frame(f_.encode_disconnected(reason), binary_);
}

SharedFrame PubSubCodec::invoke_response(const protocol::InvokeResponse& response) const {
  if (f_.encode_invoke_response == nullptr)
    return nullptr;
  return protocol::make_frame(f_.encode_invoke_response(response), binary_);
}

SharedFrame PubSubCodec::stream_ack(const protocol::StreamAck& ack) const {
  return protocol::make_frame(f_.encode_stream_ack(ack), binary_);
}

SharedFrame PubSubCodec::stream_nack(const protocol::StreamNack& nack) const {
  return protocol::make_frame(f_.encode_stream_nack(nack), binary_);
}

SharedFrame PubSubCodec::stream_closed(const protocol::StreamClosed& closed) const {
  return protocol::make_frame(f_.encode_stream_closed(closed), binary_);
}

const PubSubCodec& json_codec() {
  namespace json = protocol::json;
  static const PubSubCodec codec(
      false, "The JSON subprotocol requires text messages.",
      {json::decode_client_message, json::encode_data_message, json::with_sequence_id,
       json::encode_ack, json::encode_pong, json::encode_connected, json::encode_disconnected,
       json::encode_invoke_response, json::encode_stream_ack, json::encode_stream_nack,
       json::encode_stream_closed});
  return codec;
}

const PubSubCodec& protobuf_codec() {
  namespace pb = protocol::protobuf;
  static const PubSubCodec codec(
      true, "The protobuf subprotocol requires binary messages.",
      {pb::decode_client_message, pb::encode_data_message, pb::with_sequence_id, pb::encode_ack,
       pb::encode_pong, pb::encode_connected, pb::encode_disconnected, nullptr,
       pb::encode_stream_ack, pb::encode_stream_nack, pb::encode_stream_closed});
  return codec;
}

const PubSubCodec& pubsub_codec(core::ProtocolKind kind) {
  return core::is_protobuf(kind) ? protobuf_codec() : json_codec();
}

namespace {
class SimpleEncoder final : public core::Encoder {
 public:
  SharedFrame encode(const core::Message& message) const override {
    const protocol::Payload& payload = message.payload;
    // A stream's empty terminal message has nothing for a simple client (spec §6.8.2 rule 7).
    if (message.stream && message.stream->end && payload.bytes.empty())
      return nullptr;
    const bool binary =
        payload.type == protocol::DataType::binary || payload.type == protocol::DataType::protobuf;
    return protocol::make_frame(payload.bytes, binary, message.expires_at);
  }
};
}  // namespace

const core::Encoder& simple_encoder() {
  static const SimpleEncoder encoder;
  return encoder;
}

}  // namespace wps::handler
