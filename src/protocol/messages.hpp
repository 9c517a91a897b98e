#pragma once
// Typed messages of the Web PubSub client protocols (spec §6.3, §6.12), independent of any wire
// format. The codecs (json_codec.hpp, protobuf_codec.hpp) turn bytes into these values and back.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace wps::protocol {

// The data types a message payload can carry (§6.3.1, §6.7).
enum class DataType : std::uint8_t { json, text, binary, protobuf };

std::string_view to_string(DataType type) noexcept;
// Case-sensitive, as the SDKs send them: "json", "text", "binary", "protobuf".
std::optional<DataType> parse_data_type(std::string_view name) noexcept;

// A payload in its canonical form:
//   json     -> the serialized JSON value (UTF-8 text), e.g. {"a":1} or "hello"
//   text     -> the UTF-8 string itself (no quotes)
//   binary   -> raw bytes
//   protobuf -> the serialized google.protobuf.Any bytes
struct Payload {
  DataType type = DataType::json;
  std::string bytes;
};

// Metadata of a client message (spec §6.10): string pairs, keys as sent, in the order sent, no
// key twice. Delivered to JSON and protobuf receivers; simple clients get the payload only.
using Metadata = std::vector<std::pair<std::string, std::string>>;

// What of an MQTT 5.0 PUBLISH passes unchanged to the MQTT 5.0 subscribers of the message
// (spec mqtt §10.4): Payload Format Indicator, Content Type, Response Topic, Correlation Data
// (binary) and User Properties (name, value; in order, names may repeat). Other protocols'
// receivers see none of it.
struct MqttPassThrough {
  std::optional<std::uint8_t> payload_format_indicator;
  std::optional<std::string> content_type;
  std::optional<std::string> response_topic;
  std::optional<std::string> correlation_data;
  std::vector<std::pair<std::string, std::string>> user_properties;
  bool operator==(const MqttPassThrough&) const = default;
};

// Limits of §6.10 (emulator rules): `ttlSeconds` 0..300; metadata keys of token characters
// (RFC 7230 tchar) up to 256 chars, values of printable ASCII up to 1024 chars, all keys and
// values together up to 8192 chars.
inline constexpr std::uint32_t kMaxTtlSeconds = 300;
inline constexpr std::size_t kMaxMetadataKey = 256;
inline constexpr std::size_t kMaxMetadataValue = 1024;
inline constexpr std::size_t kMaxMetadataTotal = 8192;
// Why `metadata` is invalid (a close reason), or empty when it is valid.
std::string_view check_metadata(const Metadata& metadata) noexcept;
// Adds or replaces `key` (the last occurrence of a key wins, as for a protobuf map).
void set_metadata(Metadata& metadata, std::string key, std::string value);

// ---- client -> service -------------------------------------------------------------------

struct JoinGroup {
  std::string group;
  std::optional<std::uint64_t> ack_id;
};

struct LeaveGroup {
  std::string group;
  std::optional<std::uint64_t> ack_id;
};

// Preview group streams (spec §6.8). A sendToGroup with `stream` opens a stream; `invalid` is
// set (a BadRequest reason for streamClosed) when the start is well-formed JSON/protobuf but
// not an acceptable start (empty id, idleTimeoutMs <= 0, data on a start).
struct StreamStart {
  std::string stream_id;
  std::optional<std::uint64_t> idle_timeout_ms;
  std::string invalid;
};

struct SendToGroup {
  std::string group;
  std::optional<std::uint64_t> ack_id;
  bool no_echo = false;
  Payload data;
  std::uint32_t ttl_seconds = 0;  // 0: never expires (spec §6.10)
  Metadata metadata;
  std::optional<StreamStart> stream;  // a stream start: no data, no ack
};

struct Event {
  std::string event;
  std::optional<std::uint64_t> ack_id;
  Payload data;
  Metadata metadata;
};

struct SequenceAck {
  std::uint64_t sequence_id = 0;
};

struct Ping {};

// Preview invoke (spec §6.9, JSON subprotocols only): a blocking user event whose answer comes
// back as an invokeResponse. `target` as sent ("event" is the only one served).
struct Invoke {
  std::string invocation_id;
  std::string target;
  std::string event;
  std::optional<Payload> data;  // none: no dataType/data sent
  Metadata metadata;
};

struct CancelInvocation {
  std::string invocation_id;
};

// A fragment (sequence_id and data set) or a keep-alive (neither).
struct StreamData {
  std::string stream_id;
  std::optional<std::uint64_t> sequence_id;
  Payload data;
};

struct StreamEndError {
  std::optional<std::string> message;
  std::optional<std::string> user_error_code;
};

struct StreamEnd {
  std::string stream_id;
  std::optional<StreamEndError> error;
};

using ClientMessage = std::variant<JoinGroup, LeaveGroup, SendToGroup, Event, SequenceAck, Ping,
                                   Invoke, CancelInvocation, StreamData, StreamEnd>;

// Why a client frame was rejected; the transport closes the connection with `close_code` and
// `reason` (reason kept under 123 bytes so it fits a close frame).
struct DecodeError {
  std::uint16_t close_code = 1007;
  std::string reason;
};

// Exactly one of `message` / `error` is meaningful: `message` when it has a value.
struct DecodeResult {
  std::optional<ClientMessage> message;
  DecodeError error;
  explicit operator bool() const noexcept { return message.has_value(); }
};

// ---- service -> client -------------------------------------------------------------------

// Ack error names of §6.3.2.
namespace ack_error {
inline constexpr std::string_view forbidden = "Forbidden";
inline constexpr std::string_view internal_server_error = "InternalServerError";
inline constexpr std::string_view duplicate = "Duplicate";
inline constexpr std::string_view bad_request = "BadRequest";
}  // namespace ack_error

struct AckError {
  std::string name;
  std::string message;
};

struct Ack {
  std::uint64_t ack_id = 0;
  std::optional<AckError> error;  // success when empty
};

// The answer to an Invoke: success with an optional payload, or an error.
struct InvokeResponse {
  std::string invocation_id;
  std::optional<Payload> data;    // success only
  std::optional<AckError> error;  // failure when set
};

// Answers to a stream's publisher (control messages, like acks).
struct StreamAck {
  std::string stream_id;
  std::uint64_t expected_sequence_id = 0;
};
struct StreamNack {
  std::string stream_id;
  std::string name;  // InvalidSequenceId | TransientError
  std::string message;
  std::uint64_t expected_sequence_id = 0;
};
struct StreamClosed {
  std::string stream_id;
  std::optional<AckError> error;  // StreamNotFound | Forbidden | BadRequest | IdleTimeout | ...
};

// What a delivered stream message carries: the stream's identity and fragment number; the
// terminal message has `end` and, when the stream failed, `error`.
struct StreamError {
  std::string name;  // UserError | IdleTimeout | InternalServerError | Forbidden | Cancelled
  std::string message;
  std::optional<std::string> user_error_code;  // UserError only
  bool operator==(const StreamError&) const = default;
};
struct StreamInfo {
  std::string stream_id;
  std::uint64_t sequence_id = 0;
  bool end = false;
  std::optional<StreamError> error;
  bool operator==(const StreamInfo&) const = default;
};

enum class MessageSource : std::uint8_t { group, server };

// A data message as seen by one recipient; views, so that fan-out never copies the payload.
struct DataMessageView {
  MessageSource from = MessageSource::server;
  std::string_view group;                     // only for MessageSource::group
  const std::string* from_user_id = nullptr;  // null -> "fromUserId":null (group messages only)
  DataType type = DataType::json;
  std::string_view data;                     // canonical payload bytes (see Payload)
  std::optional<std::uint64_t> sequence_id;  // reliable protocols only
  const Metadata* metadata = nullptr;        // written when not null and not empty
  const StreamInfo* stream = nullptr;        // group stream messages only
};

}  // namespace wps::protocol
