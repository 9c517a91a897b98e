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
//  * ttl_seconds and metadata on send_to_group / event are accepted (metadata checked for wire
//    validity and UTF-8) and ignored; a `stream` start on send_to_group, stream_data and
//    stream_end are rejected ("Streaming is not supported.").
//  * A sequence_ack without sequence_id is sequence id 0 (proto3 cannot tell them apart).

#include <array>
#include <boost/json.hpp>
#include <cstddef>
#include <exception>
#include <new>
#include <utility>

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
}  // namespace downstream

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

// One map<string, string> entry { string key = 1; string value = 2; }.
Error check_metadata_entry(std::string_view bytes) noexcept {
  Reader reader(bytes);
  Field field;
  ReadStatus status;
  while ((status = reader.next(field)) == ReadStatus::field) {
    if ((field.number == 1 || field.number == 2) && is_bytes(field) &&
        !wire::is_valid_utf8(field.bytes)) {
      return "Invalid UTF-8 in 'metadata'.";
    }
  }
  return status == ReadStatus::error ? reader.error() : nullptr;
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
  DataState data;
};

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
      // accepted and ignored
    } else if (field.number == f::metadata && is_bytes(field)) {
      error = check_metadata_entry(field.bytes);
    } else if (field.number == f::stream && is_bytes(field)) {
      state.stream = true;
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
      error = check_metadata_entry(field.bytes);
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
      case upstream::stream_data:
      case upstream::stream_end:
        enter_case(state, field.number);
        error = check_message(field.bytes);
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
      if (in.stream) {
        return fail("Streaming is not supported.");
      }
      if (Error error = check_group_name(in.group)) {
        return fail(error);
      }
      if (in.data.which == 0) {
        return fail("'data' is required.");
      }
      SendToGroup message;
      if (Error error = to_payload(in.data, message.data)) {
        return fail(error);
      }
      message.group.assign(in.group);
      message.ack_id = in.ack_id;
      message.no_echo = in.no_echo;
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
      Event message;
      if (in.data.which != 0) {
        if (Error error = to_payload(in.data, message.data)) {
          return fail(error);
        }
      }  // else: an empty json payload, as the JSON codec makes of an event without data
      message.event.assign(in.event);
      message.ack_id = in.ack_id;
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
    case upstream::stream_data:
    case upstream::stream_end:
      return fail("Streaming is not supported.");
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

std::string with_capacity(std::size_t size) {
  std::string out;
  out.reserve(size);
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
  const std::size_t inner_size =
      length_delimited_size(data_field::from, from.size) +
      (from_group ? length_delimited_size(data_field::group, group.size) : 0) +
      length_delimited_size(data_field::data, message_data_size) +
      (message.sequence_id ? varint_field_size(data_field::sequence_id, *message.sequence_id) : 0);

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
  if (message.sequence_id) {
    append_varint_field(out, data_field::sequence_id, *message.sequence_id);
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
