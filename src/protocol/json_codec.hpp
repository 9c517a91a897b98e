#pragma once
// Codec of the `json.webpubsub.azure.v1` subprotocol (spec §6.3). Pure functions: no I/O, no
// clock, no globals. Every service->client message is one JSON object for one text frame.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/messages.hpp"

namespace wps::protocol::json {

// Decodes one text frame sent by a client. Never throws. Rejections carry close code 1007
// ("invalid protocol message") and a short reason naming the problem (unknown type, missing
// or invalid field, invalid group/event name, bad base64, `data` null for json, ...).
DecodeResult decode_client_message(std::string_view frame);

std::string encode_ack(const Ack& ack);
// {"type":"invokeResponse","invocationId":...,"success":true[,"dataType":...,"data":...]} or
// {"type":"invokeResponse","invocationId":...,"success":false,"error":{"name":...,"message":...}}
std::string encode_invoke_response(const InvokeResponse& response);
// {"type":"streamAck","streamId":...,"expectedSequenceId":n}
std::string encode_stream_ack(const StreamAck& ack);
// {"type":"streamNack","streamId":...,"expectedSequenceId":n,"name":...,"message":...}
std::string encode_stream_nack(const StreamNack& nack);
// {"type":"streamClosed","streamId":...[,"error":{"name":...,"message":...}]}
std::string encode_stream_closed(const StreamClosed& closed);
std::string encode_data_message(const DataMessageView& message);
// {"type":"system","event":"connected","userId":...|null,"connectionId":...[,"reconnectionToken":...]}
std::string encode_connected(std::string_view connection_id, const std::string* user_id,
                             std::optional<std::string_view> reconnection_token = std::nullopt);
// {"type":"system","event":"disconnected","message":"<reason>"}
std::string encode_disconnected(std::string_view reason);
// {"type":"pong"}
std::string encode_pong();

// `encoded` (an encoded object, "{...}") with "sequenceId":<id> as its first member: one copy
// per reliable recipient instead of one encoding (spec §6.4).
std::string with_sequence_id(std::string_view encoded, std::uint64_t sequence_id);

}  // namespace wps::protocol::json
