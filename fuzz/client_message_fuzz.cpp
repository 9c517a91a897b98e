// Fuzzes the json.webpubsub.azure.v1 client-message decoder, then re-encodes what it decoded and
// checks that every encoder output is valid JSON carrying the same values.

#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>

#include "protocol/json_codec.hpp"
#include "protocol/names.hpp"
#include "util/base64.hpp"

namespace {

using namespace wps::protocol;
namespace codec = wps::protocol::json;

void check(bool condition) {
  if (!condition) {
    std::abort();
  }
}

boost::json::value parse_or_abort(std::string_view text) {
  boost::system::error_code ec;
  boost::json::parse_options options;
  options.max_depth = 256;
  boost::json::value value =
      boost::json::parse(boost::json::string_view(text.data(), text.size()), ec, {}, options);
  check(!ec);
  check(value.is_object());
  return value;
}

void check_ack(std::optional<std::uint64_t> ack_id, const std::string& text) {
  if (!ack_id) {
    return;
  }
  const auto ok = parse_or_abort(codec::encode_ack(Ack{*ack_id, std::nullopt}));
  check(ok.at("success").as_bool());
  const auto failed = parse_or_abort(codec::encode_ack(Ack{*ack_id, AckError{"Forbidden", text}}));
  check(failed.at("error").at("message").as_string() == text);
}

// Re-encodes a decoded payload as a group message and checks the recipient sees the same data.
void check_payload(const std::string& group, const Payload& payload) {
  DataMessageView view;
  view.from = MessageSource::group;
  view.group = group;
  view.from_user_id = &group;
  view.type = payload.type;
  view.data = payload.bytes;
  view.sequence_id = payload.bytes.size();
  const auto message = parse_or_abort(codec::encode_data_message(view));
  check(message.at("group").as_string() == group);
  check(message.at("fromUserId").as_string() == group);
  check(message.at("dataType").as_string() == to_string(payload.type));
  const auto& data = message.at("data");
  switch (payload.type) {
    case DataType::json: {
      boost::system::error_code ec;
      boost::json::parse_options options;
      options.max_depth = 256;
      const auto original = boost::json::parse(
          boost::json::string_view(payload.bytes.data(), payload.bytes.size()), ec, {}, options);
      if (payload.bytes.empty()) {
        check(ec.failed());  // only an event without data has empty json bytes
        check(data.is_null());
      } else {
        check(!ec);
        check(data == original);
      }
      break;
    }
    case DataType::text:
      // Decoded text came from a JSON string, hence valid UTF-8 and preserved exactly.
      check(data.as_string() == payload.bytes);
      break;
    case DataType::binary:
    case DataType::protobuf: {
      const auto& text = data.as_string();
      const auto bytes = wps::util::base64_decode(std::string_view(text.data(), text.size()));
      check(bytes.has_value() && *bytes == payload.bytes);
      break;
    }
  }
}

// Metadata survives re-encoding on a delivered message, key for key, in order.
void check_metadata_roundtrip(const Metadata& metadata) {
  check(wps::protocol::check_metadata(metadata).empty());
  DataMessageView view;
  view.data = "1";
  view.metadata = &metadata;
  const auto message = parse_or_abort(codec::encode_data_message(view));
  if (metadata.empty()) {
    check(!message.as_object().contains("metadata"));
    return;
  }
  const auto& object = message.at("metadata").as_object();
  check(object.size() == metadata.size());
  for (const auto& [key, value] : metadata) {
    check(object.at(key).as_string() == value);
  }
}

// The stream answers and a delivered stream message are valid JSON with the same identity.
void check_stream(const std::string& stream_id, const Payload* payload) {
  check(parse_or_abort(codec::encode_stream_ack(StreamAck{stream_id, 3}))
            .at("streamId")
            .as_string() == stream_id);
  check(parse_or_abort(
            codec::encode_stream_nack(StreamNack{stream_id, "InvalidSequenceId", stream_id, 1}))
            .at("message")
            .as_string() == stream_id);
  check(parse_or_abort(
            codec::encode_stream_closed(StreamClosed{stream_id, AckError{"BadRequest", stream_id}}))
            .at("error")
            .at("name") == "BadRequest");
  const StreamInfo info{stream_id, 7, payload == nullptr,
                        StreamError{"UserError", stream_id, stream_id}};
  DataMessageView view;
  view.from = MessageSource::group;
  view.group = "g";
  view.type = payload != nullptr ? payload->type : DataType::text;
  view.data = payload != nullptr ? std::string_view(payload->bytes) : std::string_view();
  view.stream = &info;
  const auto message = parse_or_abort(codec::encode_data_message(view));
  check(message.at("stream").at("streamId").as_string() == stream_id);
  check(message.at("stream").at("error").at("userErrorCode").as_string() == stream_id);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view frame(reinterpret_cast<const char*>(data), size);

  // The escaper must turn arbitrary bytes (including ill-formed UTF-8) into valid JSON.
  parse_or_abort(codec::encode_disconnected(frame));

  const DecodeResult result = codec::decode_client_message(frame);
  if (!result) {
    check(result.error.close_code == 1007);
    check(!result.error.reason.empty() && result.error.reason.size() < 123);
    return 0;
  }
  std::visit(
      [](const auto& message) {
        using T = std::decay_t<decltype(message)>;
        if constexpr (std::is_same_v<T, JoinGroup> || std::is_same_v<T, LeaveGroup>) {
          check(is_valid_group_name(message.group));
          check_ack(message.ack_id, message.group);
        } else if constexpr (std::is_same_v<T, SendToGroup>) {
          check(is_valid_group_name(message.group));
          if (message.stream) {  // a start: no ack, no payload
            check(!message.ack_id);
            check_stream(message.stream->stream_id, nullptr);
            return;
          }
          check(message.ttl_seconds <= kMaxTtlSeconds);
          check_ack(message.ack_id, message.group);
          check(!(message.data.type == DataType::json && message.data.bytes.empty()));
          check_payload(message.group, message.data);
          check_metadata_roundtrip(message.metadata);
        } else if constexpr (std::is_same_v<T, Event>) {
          check(is_valid_event_name(message.event));
          check_ack(message.ack_id, message.event);
          check_payload(message.event, message.data);
          check_metadata_roundtrip(message.metadata);
        } else if constexpr (std::is_same_v<T, Invoke>) {
          check(!message.invocation_id.empty());
          check(is_valid_event_name(message.event));
          check_metadata_roundtrip(message.metadata);
          const auto failed = parse_or_abort(codec::encode_invoke_response(InvokeResponse{
              message.invocation_id, std::nullopt, AckError{"BadRequest", message.target}}));
          check(failed.at("invocationId").as_string() == message.invocation_id);
          check(failed.at("error").at("message").as_string() == message.target);
          if (message.data) {
            const auto ok = parse_or_abort(codec::encode_invoke_response(
                InvokeResponse{message.invocation_id, message.data, std::nullopt}));
            check(ok.at("success").as_bool());
            check_payload(message.event, *message.data);
          }
        } else if constexpr (std::is_same_v<T, CancelInvocation>) {
          check(!message.invocation_id.empty());
        } else if constexpr (std::is_same_v<T, StreamData>) {
          check_stream(message.stream_id, message.sequence_id ? &message.data : nullptr);
        } else if constexpr (std::is_same_v<T, StreamEnd>) {
          check_stream(message.stream_id, nullptr);
        } else if constexpr (std::is_same_v<T, SequenceAck>) {
          DataMessageView view;
          view.data = "null";
          view.sequence_id = message.sequence_id;
          const auto encoded = parse_or_abort(codec::encode_data_message(view));
          check(boost::json::value_to<std::uint64_t>(encoded.at("sequenceId")) ==
                message.sequence_id);
        } else {
          check(codec::encode_pong() == R"({"type":"pong"})");
        }
      },
      *result.message);
  return 0;
}
