#pragma once
// Codec of the `protobuf.webpubsub.azure.v1` and `protobuf.reliable.webpubsub.azure.v1`
// subprotocols (spec §6.12): one UpstreamMessage per binary frame from the client, one
// DownstreamMessage per binary frame to it. Hand-written proto3 wire format; pure functions.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/messages.hpp"

namespace wps::protocol::protobuf {

// Decodes one binary frame. Never throws. MessageData cases map to Payload types: text_data ->
// text, binary_data -> binary, protobuf_data -> protobuf (bytes = the serialized Any),
// json_data -> json. Rejections carry close code 1007 and a short reason.
DecodeResult decode_client_message(std::string_view frame);

std::string encode_ack(const Ack& ack);
// Payload types map to MessageData: text and json -> text_data (json as its serialized text),
// binary -> binary_data, protobuf -> protobuf_data (the Any bytes embedded as the message).
// DataMessage.from is "group" or "server"; group set for group messages; protobuf data messages
// carry no fromUserId (spec §6.12). sequence_id is written when present.
std::string encode_data_message(const DataMessageView& message);
std::string encode_connected(std::string_view connection_id, const std::string* user_id,
                             std::optional<std::string_view> reconnection_token = std::nullopt);
std::string encode_disconnected(std::string_view reason);
std::string encode_pong();
// Preview group streams (spec §6.12): DownstreamMessage fields 6, 7, 8.
std::string encode_stream_ack(const StreamAck& ack);
std::string encode_stream_nack(const StreamNack& nack);
std::string encode_stream_closed(const StreamClosed& closed);

// `encoded` (a DownstreamMessage holding a data_message, as encode_data_message returns it
// without a sequence id) with DataMessage.sequence_id set: one copy per reliable recipient.
std::string with_sequence_id(std::string_view encoded, std::uint64_t sequence_id);

}  // namespace wps::protocol::protobuf
