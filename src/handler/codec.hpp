#pragma once
// The wire formats of the client protocols, as a table: one entry per protocol family, each a
// set of the pure codec functions of src/protocol plus the frame type it uses. A handler speaks
// through its entry; the hub encodes data messages through it (core::Encoder), once per format.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/client.hpp"
#include "core/message.hpp"
#include "protocol/frame.hpp"
#include "protocol/messages.hpp"

namespace wps::handler {

using protocol::Frame;
using protocol::SharedFrame;

// JSON (`json[.reliable].webpubsub.azure.v1`) or protobuf (`protobuf[.reliable]...`).
class PubSubCodec final : public core::Encoder {
 public:
  struct Functions {
    protocol::DecodeResult (*decode)(std::string_view frame);
    std::string (*encode_data)(const protocol::DataMessageView& message);
    std::string (*with_sequence_id)(std::string_view encoded, std::uint64_t sequence_id);
    std::string (*encode_ack)(const protocol::Ack& ack);
    std::string (*encode_pong)();
    std::string (*encode_connected)(std::string_view connection_id, const std::string* user_id,
                                    std::optional<std::string_view> reconnection_token);
    std::string (*encode_disconnected)(std::string_view reason);
    // Preview; null when the format has no such message (protobuf has no invoke, spec §6.9).
    std::string (*encode_invoke_response)(const protocol::InvokeResponse& response) = nullptr;
    std::string (*encode_stream_ack)(const protocol::StreamAck& ack) = nullptr;
    std::string (*encode_stream_nack)(const protocol::StreamNack& nack) = nullptr;
    std::string (*encode_stream_closed)(const protocol::StreamClosed& closed) = nullptr;
  };
  PubSubCodec(bool binary, std::string_view wrong_frame_type, Functions functions);

  // Binary frames (protobuf) or text frames (JSON), both ways.
  bool binary() const { return binary_; }
  // Why a frame of the other type is refused (close 1003).
  std::string_view wrong_frame_type() const { return wrong_frame_type_; }

  protocol::DecodeResult decode(std::string_view frame) const { return f_.decode(frame); }
  // A data message without a sequence id (the hub's one encoding per format).
  SharedFrame encode(const core::Message& message) const override;
  // `frame` (a data message of this format) with a reliable recipient's sequence id.
  SharedFrame with_sequence_id(const Frame& frame, std::uint64_t sequence_id) const;
  SharedFrame ack(const protocol::Ack& ack) const;
  SharedFrame pong() const { return pong_; }
  SharedFrame connected(const core::ConnId& id, const std::optional<std::string>& user_id,
                        std::optional<std::string_view> reconnection_token) const;
  SharedFrame disconnected(std::string_view reason) const;
  // Null when the format has no invokeResponse.
  SharedFrame invoke_response(const protocol::InvokeResponse& response) const;
  // Answers to a group stream's publisher (spec §6.8.1).
  SharedFrame stream_ack(const protocol::StreamAck& ack) const;
  SharedFrame stream_nack(const protocol::StreamNack& nack) const;
  SharedFrame stream_closed(const protocol::StreamClosed& closed) const;

 private:
  const bool binary_;
  const std::string_view wrong_frame_type_;
  const Functions f_;
  const SharedFrame pong_;
};

const PubSubCodec& json_codec();
const PubSubCodec& protobuf_codec();
// The codec of a PubSub kind (JSON for the JSON kinds, protobuf for the protobuf ones).
const PubSubCodec& pubsub_codec(core::ProtocolKind kind);

// Simple WebSocket clients receive the raw payload: text and json as text frames, binary and
// protobuf (the serialized Any) as binary frames (spec §6.7).
const core::Encoder& simple_encoder();

}  // namespace wps::handler
