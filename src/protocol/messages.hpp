#pragma once
// Typed messages of the Web PubSub client protocols (spec §6.3, §6.12), independent of any wire
// format. The codecs (json_codec.hpp, protobuf_codec.hpp) turn bytes into these values and back.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

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

// ---- client -> service -------------------------------------------------------------------

struct JoinGroup {
  std::string group;
  std::optional<std::uint64_t> ack_id;
};

struct LeaveGroup {
  std::string group;
  std::optional<std::uint64_t> ack_id;
};

struct SendToGroup {
  std::string group;
  std::optional<std::uint64_t> ack_id;
  bool no_echo = false;
  Payload data;
};

struct Event {
  std::string event;
  std::optional<std::uint64_t> ack_id;
  Payload data;
};

struct SequenceAck {
  std::uint64_t sequence_id = 0;
};

struct Ping {};

using ClientMessage = std::variant<JoinGroup, LeaveGroup, SendToGroup, Event, SequenceAck, Ping>;

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

enum class MessageSource : std::uint8_t { group, server };

// A data message as seen by one recipient; views, so that fan-out never copies the payload.
struct DataMessageView {
  MessageSource from = MessageSource::server;
  std::string_view group;                 // only for MessageSource::group
  const std::string* from_user_id = nullptr;  // null -> "fromUserId":null (group messages only)
  DataType type = DataType::json;
  std::string_view data;                  // canonical payload bytes (see Payload)
  std::optional<std::uint64_t> sequence_id;  // reliable protocols only
};

}  // namespace wps::protocol
