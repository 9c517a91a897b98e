#include "protocol/protobuf_codec.hpp"

// Parsing rules (standard proto3 behaviour unless noted):
//  * Unknown fields are skipped, whatever their wire type; so is a known field number arriving
//    with an unexpected wire type (as generated C++/C#/Java parsers do).
//  * Groups (wire types 3/4) and wire types 6/7 are rejected, as are field number 0, tags above
//    32 bits, varints longer than 10 bytes or above 2^64-1, and lengths beyond the input.
//  * Repeated occurrences of a scalar field: the last one wins. Repeated occurrences of a
//    message field, and of the same oneof member, are merged (fields of the later occurrence
//    override, fields it lacks are kept); a different oneof member replaces the earlier one.
//    Merging two google.protobuf.Any values concatenates their serializations, which is exactly
//    the merge the wire format defines.
//  * Every string, wherever it occurs (including overridden occurrences and metadata map
//    entries), must be valid UTF-8.
// Semantic rules (mirroring the JSON codec):
//  * group names via is_valid_group_name, event names via is_valid_event_name;
//  * send_to_group without MessageData (or with an empty one) is rejected, as JSON requires
//    `data`; an event without data becomes an empty json payload, as in the JSON codec;
//  * json_data must parse as JSON (max depth 64, not `null`) and is kept verbatim;
//  * protobuf_data must be a well-formed Any (type_url valid UTF-8) and is kept verbatim;
//  * ttl_seconds (0..300) on send_to_group and metadata on send_to_group / event are decoded
//    and validated as the JSON codec does (spec §6.10; map entries: the last one of a key wins);
//    a metadata-only message carries an empty text payload.
//  * Group streams (spec §6.8): send_to_group.stream = 7 is a start (its data, ack_id, ttl and
//    metadata are not used; a start with data, an empty id or idle_timeout_ms 0 is marked
//    invalid for the handler to refuse); stream_data = 13 is a fragment when
//    stream_sequence_id and data are both set, a keep-alive when neither is (one without the
//    other is rejected); stream_end = 14 may carry an error { message, user_error_code }.
//  * A sequence_ack without sequence_id is sequence id 0 (proto3 cannot tell them apart).

#include <array>
#include <boost/json.hpp>
#include <cstddef>
#include <exception>
#include <new>
#include <utility>
#include <vector>

#include "protocol/names.hpp"
#include "protocol/protobuf_wire.hpp"

namespace wps::protocol::protobuf {
namespace {

namespace bj = boost::json;
using wire::Field;
using wire::Reader;
using wire::ReadStatus;
using wire::WireType;

constexpr std::uint16_t k_invalid_message_code = 1007;
constexpr std::uint16_t k_internal_error_code = 1011;
constexpr std::size_t k_max_json_depth = 64;

// Field numbers of the consolidated schema (spec §6.12).
namespace upstream {
constexpr std::uint32_t send_to_group = 1;
constexpr std::uint32_t event = 5;
constexpr std::uint32_t join_group = 6;
constexpr std::uint32_t leave_group = 7;
constexpr std::uint32_t sequence_ack = 8;
constexpr std::uint32_t ping = 9;
constexpr std::uint32_t stream_data = 13;
constexpr std::uint32_t stream_end = 14;
}  // namespace upstream

namespace send_to_group_field {
constexpr std::uint32_t group = 1;
constexpr std::uint32_t ack_id = 2;
constexpr std::uint32_t data = 3;
constexpr std::uint32_t no_echo = 4;
constexpr std::uint32_t ttl_seconds = 5;
constexpr std::uint32_t metadata = 6;
constexpr std::uint32_t stream = 7;
}  // namespace send_to_group_field

namespace event_field {
constexpr std::uint32_t event = 1;
constexpr std::uint32_t data = 2;
constexpr std::uint32_t ack_id = 3;
constexpr std::uint32_t metadata = 4;
}  // namespace event_field

namespace group_field {  // JoinGroupMessage, LeaveGroupMessage
constexpr std::uint32_t group = 1;
constexpr std::uint32_t ack_id = 2;
}  // namespace group_field

namespace message_data {
constexpr std::uint32_t text = 1;
constexpr std::uint32_t binary = 2;
constexpr std::uint32_t protobuf = 3;
constexpr std::uint32_t json = 4;
}  // namespace message_data

namespace downstream {
constexpr std::uint32_t ack = 1;
constexpr std::uint32_t data = 2;
constexpr std::uint32_t system = 3;
constexpr std::uint32_t pong = 4;
constexpr std::uint32_t stream_ack = 6;
constexpr std::uint32_t stream_nack = 7;
constexpr std::uint32_t stream_closed = 8;
}  // namespace downstream

constexpr std::size_t k_max_stream_id = 128;

namespace ack_field {
constexpr std::uint32_t ack_id = 1;
constexpr std::uint32_t success = 2;
constexpr std::uint32_t error = 3;
constexpr std::uint32_t error_name = 1;
constexpr std::uint32_t error_message = 2;
}  // namespace ack_field

namespace data_field {
constexpr std::uint32_t from = 1;
constexpr std::uint32_t group = 2;
constexpr std::uint32_t data = 3;
constexpr std::uint32_t sequence_id = 4;
constexpr std::uint32_t metadata = 5;
constexpr std::uint32_t stream = 6;
}  // namespace data_field

namespace system_field {
constexpr std::uint32_t connected = 1;
constexpr std::uint32_t disconnected = 2;
constexpr std::uint32_t connection_id = 1;
constexpr std::uint32_t user_id = 2;
constexpr std::uint32_t reconnection_token = 3;
constexpr std::uint32_t reason = 2;
}  // namespace system_field

// ---- decoding ----------------------------------------------------------------------------

// Every parse step returns nullptr or a static close reason.
using Error = const char*;

bool is_bytes(const Field& field) noexcept {
  return field.type == WireType::length_delimited;
}
bool is_varint(const Field& field) noexcept {
  return field.type == WireType::varint;
}

// Checks the wire structure of a message whose content is ignored (PingMessage, skipped cases).
Error check_message(std::string_view bytes) noexcept {
  Reader reader(bytes);
  Field field;
  ReadStatus status;
  while ((status = reader.next(field)) == ReadStatus::field) {
  }
  return status == ReadStatus::error ? reader.error() : nullptr;
}

// google.protobuf.Any { string type_url = 1; bytes value = 2; }
Error check_any(std::string_view bytes) noexcept {
  Reader reader(bytes);
  Field field;
  ReadStatus status;
  while ((status = reader.next(field)) == ReadStatus::field) {
    if (field.number == 1 && is_bytes(field) && !wire::is_valid_utf8(field.bytes)) {
      return "Invalid UTF-8 in 'protobuf_data.type_url'.";
    }
  }
  return status == ReadStatus::error ? reader.error() : nullptr;
}

// One map<string, string> entry { string key = 1; string value = 2; }, added to `metadata`.
Error parse_metadata_entry(std::string_view bytes, Metadata& metadata) {
  Reader reader(bytes);
  Field field;
  ReadStatus status;
  std::string_view key;
  std::string_view value;
  while ((status = reader.next(field)) == ReadStatus::field) {
    if ((field.number == 1 || field.number == 2) && is_bytes(field)) {
      if (!wire::is_valid_utf8(field.bytes)) {
        return "Invalid UTF-8 in 'metadata'.";
      }
      (field.number == 1 ? key : value) = field.bytes;
    }
  }
  if (status == ReadStatus::error) {
    return reader.error();
  }
  set_metadata(metadata, std::string(key), std::string(value));
  return nullptr;
}

// Metadata::check_metadata's reason as a static Error (its reasons are string literals).
Error check_metadata_error(const Metadata& metadata) noexcept {
  const std::string_view problem = check_metadata(metadata);
  return problem.empty() ? nullptr : problem.data();
}

// Reads a string field, requiring valid UTF-8.
Error read_string(const Field& field, std::string_view& out, Error invalid_utf8) noexcept {
  if (!wire::is_valid_utf8(field.bytes)) {
    return invalid_utf8;
  }
  out = field.bytes;
  return nullptr;
}

// MessageData, merged over occurrences.
struct DataState {
  std::uint32_t which = 0;  // 0: no case set; else the message_data field number
  std::string_view value;   // text / binary / json: the last occurrence
  std::string any;          // protobuf: the merged (concatenated) Any serializations
};

Error parse_message_data(std::string_view bytes, DataState& state) {
  Reader reader(bytes);
  Field field;
  ReadStatus status;
  while ((status = reader.next(field)) == ReadStatus::field) {
    if (!is_bytes(field)) {
      continue;
    }
    switch (field.number) {
      case message_data::text:
      case message_data::json:
        if (!wire::is_valid_utf8(field.bytes)) {
          return field.number == message_data::text ? "Invalid UTF-8 in 'text_data'."
                                                    : "Invalid UTF-8 in 'json_data'.";
        }
        [[fallthrough]];
      case message_data::binary:
        state.which = field.number;
        state.value = field.bytes;
        state.any.clear();
        break;
      case message_data::protobuf:
        if (Error error = check_any(field.bytes)) {
          return error;
        }
        if (state.which != message_data::protobuf) {
          state.which = message_data::protobuf;
          state.value = {};
          state.any.clear();
        }
        state.any.append(field.bytes);
        break;
      default:
        break;
    }
  }
  return status == ReadStatus::error ? reader.error() : nullptr;
}

// JSON text that parses (depth <= 64) to something other than null.
Error check_json(std::string_view text) {
  std::array<unsigned char, 4096> buffer{};
  bj::monotonic_resource resource(buffer.data(), buffer.size());
  bj::parse_options options;
  options.max_depth = k_max_json_depth;
  boost::system::error_code ec;
  const bj::value value =
      bj::parse(bj::string_view(text.data(), text.size()), ec, bj::storage_ptr(&resource), options);
  if (ec) {
    return "'json_data' is not valid JSON.";
  }
  if (value.is_null()) {
    return "'json_data' must not be null.";
  }
  return nullptr;
}

// The payload of a MessageData with a case set.
Error to_payload(DataState& state, Payload& payload) {
  switch (state.which) {
    case message_data::text:
      payload.type = DataType::text;
      payload.bytes.assign(state.value);
      return nullptr;
    case message_data::binary:
      payload.type = DataType::binary;
      payload.bytes.assign(state.value);
      return nullptr;
    case message_data::protobuf:
      payload.type = DataType::protobuf;
      payload.bytes = std::move(state.any);
      return nullptr;
    case message_data::json:
      if (Error error = check_json(state.value)) {
        return error;
      }
      payload.type = DataType::json;
      payload.bytes.assign(state.value);
      return nullptr;
    default:
      return "MessageData has no data case set.";
  }
}

struct SendToGroupState {
  std::string_view group;
  std::optional<std::uint64_t> ack_id;
  bool no_echo = false;
  bool stream = false;
  std::string_view stream_id;
  std::optional<std::uint64_t> idle_timeout_ms;
  std::uint64_t ttl_seconds = 0;
  Metadata metadata;
  DataState data;
};

// StreamStartInfo { string stream_id = 1; optional uint32 idle_timeout_ms = 2; }
Error parse_stream_start(std::string_view bytes, SendToGroupState& state) {
  Reader reader(bytes);
  Field field;
  ReadStatus status;
  while ((status = reader.next(field)) == ReadStatus::field) {
    if (field.number == 1 && is_bytes(field)) {
      if (Error error = read_string(field, state.stream_id, "Invalid UTF-8 in 'stream_id'.")) {
        return error;
      }
    } else if (field.number == 2 && is_varint(field)) {
      state.idle_timeout_ms = field.varint;
    }
  }
  return status == ReadStatus::error ? reader.error() : nullptr;
}

Error parse_send_to_group(std::string_view bytes, SendToGroupState& state) {
  namespace f = send_to_group_field;
  Reader reader(bytes);
  Field field;
  ReadStatus status;
  while ((status = reader.next(field)) == ReadStatus::field) {
    Error error = nullptr;
    if (field.number == f::group && is_bytes(field)) {
      error = read_string(field, state.group, "Invalid UTF-8 in 'group'.");
    } else if (field.number == f::ack_id && is_varint(field)) {
      state.ack_id = field.varint;
    } else if (field.number == f::data && is_bytes(field)) {
      error = parse_message_data(field.bytes, state.data);
    } else if (field.number == f::no_echo && is_varint(field)) {
      state.no_echo = field.varint != 0;
    } else if (field.number == f::ttl_seconds && is_varint(field)) {
      state.ttl_seconds = field.varint;
    } else if (field.number == f::metadata && is_bytes(field)) {
      error = parse_metadata_entry(field.bytes, state.metadata);
    } else if (field.number == f::stream && is_bytes(field)) {
      state.stream = true;
      error = parse_stream_start(field.bytes, state);
    }
    if (error != nullptr) {
      return error;
    }
  }
  return status == ReadStatus::error ? reader.error() : nullptr;
}

struct EventState {
  std::string_view event;
  std::optional<std::uint64_t> ack_id;
  Metadata metadata;
  DataState data;
};

Error parse_event(std::string_view bytes, EventState& state) {
  namespace f = event_field;
  Reader reader(bytes);
  Field field;
  ReadStatus status;
  while ((status = reader.next(field)) == ReadStatus::field) {
    Error error = nullptr;
    if (field.number == f::event && is_bytes(field)) {
      error = read_string(field, state.event, "Invalid UTF-8 in 'event'.");
    } else if (field.number == f::data && is_bytes(field)) {
      error = parse_message_data(field.bytes, state.data);
    } else if (field.number == f::ack_id && is_varint(field)) {
      state.ack_id = field.varint;
    } else if (field.number == f::metadata && is_bytes(field)) {
      error = parse_metadata_entry(field.bytes, state.metadata);
    }
    if (error != nullptr) {
      return error;
    }
  }
  return status == ReadStatus::error ? reader.error() : nullptr;
}

// StreamDataMessage { stream_id = 1; optional stream_sequence_id = 2; MessageData data = 3 }
// and StreamEndMessage { stream_id = 1; optional StreamEndError error = 2 { message = 1;
// user_error_code = 2 } }.
struct StreamState {
  std::string_view stream_id;
  std::optional<std::uint64_t> sequence_id;
  DataState data;
  bool has_error = false;
  std::optional<std::string_view> error_message;
  std::optional<std::string_view> user_error_code;
};

Error parse_stream_end_error(std::string_view bytes, StreamState& state) {
  Reader reader(bytes);
  Field field;
  ReadStatus status;
  state.has_error = true;
  while ((status = reader.next(field)) == ReadStatus::field) {
    if ((field.number == 1 || field.number == 2) && is_bytes(field)) {
      std::string_view text;
      if (Error error = read_string(field, text, "Invalid UTF-8 in 'error'.")) {
        return error;
      }
      (field.number == 1 ? state.error_message : state.user_error_code) = text;
    }
  }
  return status == ReadStatus::error ? reader.error() : nullptr;
}

Error parse_stream(std::string_view bytes, StreamState& state, bool end) {
  Reader reader(bytes);
  Field field;
  ReadStatus status;
  while ((status = reader.next(field)) == ReadStatus::field) {
    Error error = nullptr;
    if (field.number == 1 && is_bytes(field)) {
      error = read_string(field, state.stream_id, "Invalid UTF-8 in 'stream_id'.");
    } else if (!end && field.number == 2 && is_varint(field)) {
      state.sequence_id = field.varint;
    } else if (!end && field.number == 3 && is_bytes(field)) {
      error = parse_message_data(field.bytes, state.data);
    } else if (end && field.number == 2 && is_bytes(field)) {
      error = parse_stream_end_error(field.bytes, state);
    }
    if (error != nullptr) {
      return error;
    }
  }
  return status == ReadStatus::error ? reader.error() : nullptr;
}

struct GroupState {  // JoinGroupMessage, LeaveGroupMessage
  std::string_view group;
  std::optional<std::uint64_t> ack_id;
};

Error parse_group_message(std::string_view bytes, GroupState& state) {
  Reader reader(bytes);
  Field field;
  ReadStatus status;
  while ((status = reader.next(field)) == ReadStatus::field) {
    if (field.number == group_field::group && is_bytes(field)) {
      if (Error error = read_string(field, state.group, "Invalid UTF-8 in 'group'.")) {
        return error;
      }
    } else if (field.number == group_field::ack_id && is_varint(field)) {
      state.ack_id = field.varint;
    }
  }
  return status == ReadStatus::error ? reader.error() : nullptr;
}

Error parse_sequence_ack(std::string_view bytes, std::uint64_t& sequence_id) noexcept {
  Reader reader(bytes);
  Field field;
  ReadStatus status;
  while ((status = reader.next(field)) == ReadStatus::field) {
    if (field.number == 1 && is_varint(field)) {
      sequence_id = field.varint;
    }
  }
  return status == ReadStatus::error ? reader.error() : nullptr;
}

Error check_group_name(std::string_view group) noexcept {
  if (group.empty()) {
    return "'group' is required.";
  }
  if (!is_valid_group_name(group)) {
    return "'group' is not a valid group name.";
  }
  return nullptr;
}

// The state of every UpstreamMessage case; `which` names the one set last.
struct UpstreamState {
  std::uint32_t which = 0;
  SendToGroupState send_to_group;
  EventState event;
  GroupState group;  // join or leave, per `which`
  std::uint64_t sequence_id = 0;
  StreamState stream;  // stream_data or stream_end, per `which`
};

// Enters oneof case `number`: a different case than the current one starts from scratch.
void enter_case(UpstreamState& state, std::uint32_t number) {
  if (state.which == number) {
    return;
  }
  state.which = number;
  state.send_to_group = {};
  state.event = {};
  state.group = {};
  state.sequence_id = 0;
  state.stream = {};
}

Error parse_upstream(std::string_view frame, UpstreamState& state) {
  Reader reader(frame);
  Field field;
  ReadStatus status;
  while ((status = reader.next(field)) == ReadStatus::field) {
    if (!is_bytes(field)) {
      continue;
    }
    Error error = nullptr;
    switch (field.number) {
      case upstream::send_to_group:
        enter_case(state, field.number);
        error = parse_send_to_group(field.bytes, state.send_to_group);
        break;
      case upstream::event:
        enter_case(state, field.number);
        error = parse_event(field.bytes, state.event);
        break;
      case upstream::join_group:
      case upstream::leave_group:
        enter_case(state, field.number);
        error = parse_group_message(field.bytes, state.group);
        break;
      case upstream::sequence_ack:
        enter_case(state, field.number);
        error = parse_sequence_ack(field.bytes, state.sequence_id);
        break;
      case upstream::ping:
        enter_case(state, field.number);
        error = check_message(field.bytes);
        break;
      case upstream::stream_data:
      case upstream::stream_end:
        enter_case(state, field.number);
        error = parse_stream(field.bytes, state.stream, field.number == upstream::stream_end);
        break;
      default:
        break;  // unknown field or oneof member: skipped
    }
    if (error != nullptr) {
      return error;
    }
  }
  return status == ReadStatus::error ? reader.error() : nullptr;
}

DecodeResult fail(Error reason) {
  DecodeResult result;
  result.error = DecodeError{k_invalid_message_code, reason};
  return result;
}

DecodeResult to_message(UpstreamState& state) {
  DecodeResult result;
  switch (state.which) {
    case upstream::send_to_group: {
      SendToGroupState& in = state.send_to_group;
      if (Error error = check_group_name(in.group)) {
        return fail(error);
      }
      if (in.stream) {
        SendToGroup message;
        message.group.assign(in.group);
        message.no_echo = in.no_echo;
        StreamStart start;
        start.stream_id.assign(in.stream_id);
        start.idle_timeout_ms = in.idle_timeout_ms;
        if (start.stream_id.empty()) {
          start.invalid = "'stream_id' must not be empty.";
        } else if (start.stream_id.size() > k_max_stream_id) {
          start.invalid = "'stream_id' is longer than 128 characters.";
        } else if (in.idle_timeout_ms && *in.idle_timeout_ms == 0) {
          start.invalid = "'idle_timeout_ms' must be positive.";
        } else if (in.data.which != 0) {
          start.invalid = "A stream start carries no data.";
        }
        message.stream = std::move(start);
        result.message = std::move(message);
        return result;
      }
      if (in.ttl_seconds > kMaxTtlSeconds) {
        return fail("Property 'ttlSeconds' is out of range. Allowed range is [0,300].");
      }
      if (Error error = check_metadata_error(in.metadata)) {
        return fail(error);
      }
      SendToGroup message;
      if (in.data.which == 0) {
        if (in.metadata.empty()) {
          return fail("'data' is required.");
        }
        message.data.type = DataType::text;  // metadata only: an empty text payload
      } else if (Error error = to_payload(in.data, message.data)) {
        return fail(error);
      }
      message.group.assign(in.group);
      message.ack_id = in.ack_id;
      message.no_echo = in.no_echo;
      message.ttl_seconds = static_cast<std::uint32_t>(in.ttl_seconds);
      message.metadata = std::move(in.metadata);
      result.message = std::move(message);
      return result;
    }
    case upstream::event: {
      EventState& in = state.event;
      if (in.event.empty()) {
        return fail("'event' is required.");
      }
      if (!is_valid_event_name(in.event)) {
        return fail("'event' is not a valid event name.");
      }
      if (Error error = check_metadata_error(in.metadata)) {
        return fail(error);
      }
      Event message;
      if (in.data.which != 0) {
        if (Error error = to_payload(in.data, message.data)) {
          return fail(error);
        }
      } else if (!in.metadata.empty()) {
        message.data.type = DataType::text;  // metadata only: an empty text payload
      }  // else: an empty json payload, as the JSON codec makes of an event without data
      message.event.assign(in.event);
      message.ack_id = in.ack_id;
      message.metadata = std::move(in.metadata);
      result.message = std::move(message);
      return result;
    }
    case upstream::join_group:
    case upstream::leave_group: {
      if (Error error = check_group_name(state.group.group)) {
        return fail(error);
      }
      std::string group(state.group.group);
      if (state.which == upstream::join_group) {
        result.message = JoinGroup{std::move(group), state.group.ack_id};
      } else {
        result.message = LeaveGroup{std::move(group), state.group.ack_id};
      }
      return result;
    }
    case upstream::sequence_ack:
      result.message = SequenceAck{state.sequence_id};
      return result;
    case upstream::ping:
      result.message = Ping{};
      return result;
    case upstream::stream_data: {
      StreamState& in = state.stream;
      StreamData message;
      message.stream_id.assign(in.stream_id);
      if (in.sequence_id.has_value() != (in.data.which != 0)) {
        return fail("'stream_sequence_id' and 'data' must come together.");
      }
      if (in.sequence_id) {
        if (Error error = to_payload(in.data, message.data)) {
          return fail(error);
        }
        message.sequence_id = in.sequence_id;
      }
      result.message = std::move(message);
      return result;
    }
    case upstream::stream_end: {
      StreamState& in = state.stream;
      StreamEnd message;
      message.stream_id.assign(in.stream_id);
      if (in.has_error) {
        StreamEndError error;
        if (in.error_message) {
          error.message = std::string(*in.error_message);
        }
        if (in.user_error_code) {
          error.user_error_code = std::string(*in.user_error_code);
        }
        message.error = std::move(error);
      }
      result.message = std::move(message);
      return result;
    }
    default:
      return fail("The UpstreamMessage has no supported message case set.");
  }
}

// ---- encoding ----------------------------------------------------------------------------

using wire::append_length_prefix;
using wire::append_utf8;
using wire::append_varint_field;
using wire::length_delimited_size;
using wire::measure_utf8;
using wire::Utf8Text;
using wire::varint_field_size;

// Size of an implicit-presence string field: omitted when empty (proto3 default).
std::size_t string_field_size(std::uint32_t field, const Utf8Text& text) noexcept {
  return text.size == 0 ? 0 : length_delimited_size(field, text.size);
}

void append_string_field(std::string& out, std::uint32_t field, const Utf8Text& text) {
  if (text.size == 0) {
    return;
  }
  append_length_prefix(out, field, text.size);
  append_utf8(out, text);
}

// Always written, even when empty (explicit presence: `optional` fields, oneof members).
void append_present_string_field(std::string& out, std::uint32_t field, const Utf8Text& text) {
  append_length_prefix(out, field, text.size);
  append_utf8(out, text);
}

// A map entry { key = 1; value = 2 }, both always written.
std::size_t entry_size(const std::pair<Utf8Text, Utf8Text>& entry) noexcept {
  return length_delimited_size(1, entry.first.size) + length_delimited_size(2, entry.second.size);
}

std::string with_capacity(std::size_t size) {
  std::string out;
  out.reserve(size);
  return out;
}

// StreamInfo { stream_id = 1; stream_sequence_id = 2; optional end_of_stream = 3;
//   optional StreamError error = 4 { name = 1; message = 2; user_error_code = 3 } }
std::string encode_stream_info(const StreamInfo& stream) {
  const Utf8Text id = measure_utf8(stream.stream_id);
  Utf8Text name;
  Utf8Text text;
  Utf8Text code;
  std::size_t error_size = 0;
  if (stream.error) {
    name = measure_utf8(stream.error->name);
    text = measure_utf8(stream.error->message);
    code =
        stream.error->user_error_code ? measure_utf8(*stream.error->user_error_code) : Utf8Text{};
    error_size =
        string_field_size(1, name) + string_field_size(2, text) + string_field_size(3, code);
  }
  std::string out;
  append_string_field(out, 1, id);
  if (stream.sequence_id != 0) {
    append_varint_field(out, 2, stream.sequence_id);
  }
  if (stream.end) {
    append_varint_field(out, 3, 1);
  }
  if (stream.error) {
    append_length_prefix(out, 4, error_size);
    append_string_field(out, 1, name);
    append_string_field(out, 2, text);
    append_string_field(out, 3, code);
  }
  return out;
}

}  // namespace

DecodeResult decode_client_message(std::string_view frame) {
  try {
    UpstreamState state;
    if (Error error = parse_upstream(frame, state)) {
      return fail(error);
    }
    return to_message(state);
  } catch (const std::bad_alloc&) {
    DecodeResult result;
    result.error = DecodeError{k_internal_error_code, "Out of memory."};
    return result;
  } catch (const std::exception&) {
    return fail("The client message is not a valid protobuf protocol message.");
  }
}

std::string encode_ack(const Ack& ack) {
  // DownstreamMessage { ack_message = 1 { ack_id = 1; success = 2; error = 3 {name, message} } }
  std::size_t error_size = 0;
  Utf8Text name;
  Utf8Text message;
  if (ack.error) {
    name = measure_utf8(ack.error->name);
    message = measure_utf8(ack.error->message);
    error_size = string_field_size(ack_field::error_name, name) +
                 string_field_size(ack_field::error_message, message);
  }
  const std::size_t inner_size = varint_field_size(ack_field::ack_id, ack.ack_id) +
                                 (ack.error ? length_delimited_size(ack_field::error, error_size)
                                            : varint_field_size(ack_field::success, 1));
  std::string out = with_capacity(length_delimited_size(downstream::ack, inner_size));
  append_length_prefix(out, downstream::ack, inner_size);
  append_varint_field(out, ack_field::ack_id, ack.ack_id);
  if (!ack.error) {
    append_varint_field(out, ack_field::success, 1);
    return out;
  }
  // success = false is the proto3 default: not written.
  append_length_prefix(out, ack_field::error, error_size);
  append_string_field(out, ack_field::error_name, name);
  append_string_field(out, ack_field::error_message, message);
  return out;
}

std::string encode_data_message(const DataMessageView& message) {
  // DownstreamMessage { data_message = 2 { from = 1; group = 2; data = 3; sequence_id = 4 } }
  const bool from_group = message.from == MessageSource::group;
  const Utf8Text from = measure_utf8(from_group ? "group" : "server");
  const Utf8Text group = from_group ? measure_utf8(message.group) : Utf8Text{};

  std::uint32_t data_case = message_data::text;
  Utf8Text text;
  std::size_t payload_size = message.data.size();
  switch (message.type) {
    case DataType::json:
    case DataType::text:
      text = measure_utf8(message.data);
      payload_size = text.size;
      break;
    case DataType::binary:
      data_case = message_data::binary;
      break;
    case DataType::protobuf:
      data_case = message_data::protobuf;
      break;
  }
  const std::size_t message_data_size = length_delimited_size(data_case, payload_size);
  // map<string, string> metadata = 5: one entry message { key = 1; value = 2 } per pair.
  std::vector<std::pair<Utf8Text, Utf8Text>> entries;
  std::size_t metadata_size = 0;
  if (message.metadata != nullptr) {
    entries.reserve(message.metadata->size());
    for (const auto& [key, value] : *message.metadata) {
      entries.emplace_back(measure_utf8(key), measure_utf8(value));
      metadata_size += length_delimited_size(data_field::metadata, entry_size(entries.back()));
    }
  }
  std::string stream_info;  // StreamInfo, encoded on its own (small)
  if (message.stream != nullptr) {
    stream_info = encode_stream_info(*message.stream);
  }
  const std::size_t inner_size =
      length_delimited_size(data_field::from, from.size) +
      (from_group ? length_delimited_size(data_field::group, group.size) : 0) +
      length_delimited_size(data_field::data, message_data_size) +
      (message.sequence_id ? varint_field_size(data_field::sequence_id, *message.sequence_id) : 0) +
      metadata_size +
      (message.stream != nullptr ? length_delimited_size(data_field::stream, stream_info.size())
                                 : 0);

  std::string out = with_capacity(length_delimited_size(downstream::data, inner_size));
  append_length_prefix(out, downstream::data, inner_size);
  append_present_string_field(out, data_field::from, from);
  if (from_group) {
    append_present_string_field(out, data_field::group, group);
  }
  append_length_prefix(out, data_field::data, message_data_size);
  append_length_prefix(out, data_case, payload_size);
  if (data_case == message_data::text) {
    append_utf8(out, text);
  } else {
    out.append(message.data);
  }
  for (const auto& entry : entries) {
    append_length_prefix(out, data_field::metadata, entry_size(entry));
    append_present_string_field(out, 1, entry.first);
    append_present_string_field(out, 2, entry.second);
  }
  if (message.stream != nullptr) {
    append_length_prefix(out, data_field::stream, stream_info.size());
    out.append(stream_info);
  }
  // Last, so that with_sequence_id (which appends it) gives the same bytes.
  if (message.sequence_id) {
    append_varint_field(out, data_field::sequence_id, *message.sequence_id);
  }
  return out;
}

std::string encode_stream_ack(const StreamAck& ack) {
  // DownstreamMessage { stream_ack_message = 6 { stream_id = 1; expected_sequence_id = 2 } }
  const Utf8Text id = measure_utf8(ack.stream_id);
  const std::size_t inner =
      string_field_size(1, id) + varint_field_size(2, ack.expected_sequence_id);
  std::string out = with_capacity(length_delimited_size(downstream::stream_ack, inner));
  append_length_prefix(out, downstream::stream_ack, inner);
  append_string_field(out, 1, id);
  append_varint_field(out, 2, ack.expected_sequence_id);
  return out;
}

std::string encode_stream_nack(const StreamNack& nack) {
  // DownstreamMessage { stream_nack_message = 7 { stream_id = 1; name = 2; message = 3;
  //   expected_sequence_id = 4 } }
  const Utf8Text id = measure_utf8(nack.stream_id);
  const Utf8Text name = measure_utf8(nack.name);
  const Utf8Text text = measure_utf8(nack.message);
  const std::size_t inner = string_field_size(1, id) + string_field_size(2, name) +
                            string_field_size(3, text) +
                            varint_field_size(4, nack.expected_sequence_id);
  std::string out = with_capacity(length_delimited_size(downstream::stream_nack, inner));
  append_length_prefix(out, downstream::stream_nack, inner);
  append_string_field(out, 1, id);
  append_string_field(out, 2, name);
  append_string_field(out, 3, text);
  append_varint_field(out, 4, nack.expected_sequence_id);
  return out;
}

std::string encode_stream_closed(const StreamClosed& closed) {
  // DownstreamMessage { stream_closed_message = 8 { stream_id = 1; error = 2 { name = 1;
  //   message = 2 } } }
  const Utf8Text id = measure_utf8(closed.stream_id);
  Utf8Text name;
  Utf8Text text;
  std::size_t error_size = 0;
  if (closed.error) {
    name = measure_utf8(closed.error->name);
    text = measure_utf8(closed.error->message);
    error_size = string_field_size(1, name) + string_field_size(2, text);
  }
  const std::size_t inner =
      string_field_size(1, id) + (closed.error ? length_delimited_size(2, error_size) : 0);
  std::string out = with_capacity(length_delimited_size(downstream::stream_closed, inner));
  append_length_prefix(out, downstream::stream_closed, inner);
  append_string_field(out, 1, id);
  if (closed.error) {
    append_length_prefix(out, 2, error_size);
    append_string_field(out, 1, name);
    append_string_field(out, 2, text);
  }
  return out;
}

std::string encode_connected(std::string_view connection_id, const std::string* user_id,
                             std::optional<std::string_view> reconnection_token) {
  // DownstreamMessage { system_message = 3 { connected_message = 1 {
  //   connection_id = 1; user_id = 2; reconnection_token = 3 } } }
  // An anonymous connection has no user_id: the field keeps its default "".
  const Utf8Text connection = measure_utf8(connection_id);
  const Utf8Text user = user_id != nullptr ? measure_utf8(*user_id) : Utf8Text{};
  const Utf8Text token = reconnection_token ? measure_utf8(*reconnection_token) : Utf8Text{};
  const std::size_t connected_size =
      string_field_size(system_field::connection_id, connection) +
      string_field_size(system_field::user_id, user) +
      (reconnection_token ? length_delimited_size(system_field::reconnection_token, token.size)
                          : 0);
  const std::size_t system_size = length_delimited_size(system_field::connected, connected_size);
  std::string out = with_capacity(length_delimited_size(downstream::system, system_size));
  append_length_prefix(out, downstream::system, system_size);
  append_length_prefix(out, system_field::connected, connected_size);
  append_string_field(out, system_field::connection_id, connection);
  append_string_field(out, system_field::user_id, user);
  if (reconnection_token) {
    append_present_string_field(out, system_field::reconnection_token, token);
  }
  return out;
}

std::string encode_disconnected(std::string_view reason) {
  // DownstreamMessage { system_message = 3 { disconnected_message = 2 { reason = 2 } } }
  const Utf8Text text = measure_utf8(reason);
  const std::size_t disconnected_size = string_field_size(system_field::reason, text);
  const std::size_t system_size =
      length_delimited_size(system_field::disconnected, disconnected_size);
  std::string out = with_capacity(length_delimited_size(downstream::system, system_size));
  append_length_prefix(out, downstream::system, system_size);
  append_length_prefix(out, system_field::disconnected, disconnected_size);
  append_string_field(out, system_field::reason, text);
  return out;
}

std::string encode_pong() {
  // DownstreamMessage { pong_message = 4 {} }
  std::string out;
  append_length_prefix(out, downstream::pong, 0);
  return out;
}

std::string with_sequence_id(std::string_view encoded, std::uint64_t sequence_id) {
  // Accepts exactly what encode_data_message produces: one data_message field spanning the
  // whole input. Anything else comes back unchanged. If the inner message already carries a
  // sequence_id, the appended one wins (last occurrence of a scalar field).
  std::size_t pos = 0;
  std::uint64_t tag = 0;
  std::uint64_t inner_size = 0;
  if (wire::read_varint(encoded, pos, tag) != nullptr ||
      tag != wire::make_tag(downstream::data, WireType::length_delimited) ||
      wire::read_varint(encoded, pos, inner_size) != nullptr ||
      inner_size != encoded.size() - pos) {
    return std::string(encoded);
  }
  const std::string_view inner = encoded.substr(pos);
  const std::size_t new_inner_size =
      inner.size() + varint_field_size(data_field::sequence_id, sequence_id);
  std::string out = with_capacity(length_delimited_size(downstream::data, new_inner_size));
  append_length_prefix(out, downstream::data, new_inner_size);
  out.append(inner);
  append_varint_field(out, data_field::sequence_id, sequence_id);
  return out;
}

}  // namespace wps::protocol::protobuf
