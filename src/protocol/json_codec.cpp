#include "protocol/json_codec.hpp"

#include <array>
#include <boost/json.hpp>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <exception>
#include <new>
#include <utility>

#include "protocol/names.hpp"
#include "util/base64.hpp"
#include "util/text.hpp"

namespace wps::protocol::json {
namespace {

namespace bj = boost::json;

constexpr std::uint16_t k_invalid_message_code = 1007;
constexpr std::uint16_t k_internal_error_code = 1011;
// Deep enough for any realistic `data` value, shallow enough to bound the parser's work.
constexpr std::size_t k_max_depth = 64;
// Longest excerpt of client input quoted in a close reason (keeps reasons < 123 bytes).
constexpr std::size_t k_max_quoted = 40;
// Longest invocationId (JS uses "1", "2", ...; apps may pass their own, e.g. a UUID).
constexpr std::size_t k_max_invocation_id = 128;
constexpr std::size_t k_max_stream_id = 128;

// ---- output helpers ----------------------------------------------------------------------

void append_uint(std::string& out, std::uint64_t value) {
  std::array<char, 24> buf{};
  const auto result = std::to_chars(buf.data(), buf.data() + buf.size(), value);
  out.append(buf.data(), result.ptr);
}

// Length of the well-formed UTF-8 sequence at `text[pos]` (pos < size, text[pos] >= 0x80), or 0
// if ill-formed; then `bad_length` is the length of the maximal ill-formed subpart (>= 1), which
// is what gets replaced by one U+FFFD (Unicode's recommended practice).
std::size_t utf8_sequence_length(std::string_view text, std::size_t pos, std::size_t& bad_length) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(pos);
  std::size_t length = 0;
  unsigned char lo = 0x80;
  unsigned char hi = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) {
      lo = 0xA0;
    } else if (lead == 0xED) {
      hi = 0x9F;
    }
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) {
      lo = 0x90;
    } else if (lead == 0xF4) {
      hi = 0x8F;
    }
  } else {
    bad_length = 1;
    return 0;
  }
  for (std::size_t i = 1; i < length; ++i) {
    if (pos + i >= text.size() || byte(pos + i) < lo || byte(pos + i) > hi) {
      bad_length = i;
      return 0;
    }
    lo = 0x80;
    hi = 0xBF;
  }
  return length;
}

// Appends `text` as a JSON string literal. Escapes '"', '\\' and control characters; replaces
// ill-formed UTF-8 with U+FFFD so that the output is always valid JSON in valid UTF-8.
void append_json_string(std::string& out, std::string_view text) {
  static constexpr std::string_view k_hex = "0123456789abcdef";
  static constexpr std::string_view k_replacement = "\xEF\xBF\xBD";
  out.push_back('"');
  std::size_t run_start = 0;
  std::size_t i = 0;
  const auto flush = [&] { out.append(text.data() + run_start, i - run_start); };
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
      ++i;
      continue;
    }
    if (c >= 0x80) {
      std::size_t bad_length = 0;
      const std::size_t length = utf8_sequence_length(text, i, bad_length);
      if (length != 0) {
        i += length;
        continue;
      }
      flush();
      out.append(k_replacement);
      i += bad_length;
      run_start = i;
      continue;
    }
    flush();
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\b':
        out.append("\\b");
        break;
      case '\f':
        out.append("\\f");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
      default:
        out.append("\\u00");
        out.push_back(k_hex[c >> 4]);
        out.push_back(k_hex[c & 0x0F]);
        break;
    }
    ++i;
    run_start = i;
  }
  flush();
  out.push_back('"');
}

void append_int(std::string& out, std::int64_t value) {
  std::array<char, 24> buf{};
  const auto result = std::to_chars(buf.data(), buf.data() + buf.size(), value);
  out.append(buf.data(), result.ptr);
}

// Shortest round-trip form. Literals beyond the double range (e.g. 1e400) parse as infinities,
// which have no JSON spelling (Boost.JSON 1.81's serializer would emit the invalid token
// `Infinity`); they are written as +-1e999, which JSON readers again take as +-infinity.
void append_double(std::string& out, double value) {
  if (std::isnan(value)) {
    out.append("null");  // cannot come from the parser; kept for completeness
    return;
  }
  if (std::isinf(value)) {
    out.append(value > 0 ? "1e999" : "-1e999");
    return;
  }
  std::array<char, 32> buf{};
  const auto result = std::to_chars(buf.data(), buf.data() + buf.size(), value);
  out.append(buf.data(), result.ptr);
}

std::string_view view_of(const bj::string& text) {
  return {text.data(), text.size()};
}

// Compact serialization of a parsed value; recursion depth is bounded by the parser's max_depth.
void append_json_value(std::string& out, const bj::value& value) {
  switch (value.kind()) {
    case bj::kind::null:
      out.append("null");
      return;
    case bj::kind::bool_:
      out.append(value.get_bool() ? "true" : "false");
      return;
    case bj::kind::int64:
      append_int(out, value.get_int64());
      return;
    case bj::kind::uint64:
      append_uint(out, value.get_uint64());
      return;
    case bj::kind::double_:
      append_double(out, value.get_double());
      return;
    case bj::kind::string:
      append_json_string(out, view_of(value.get_string()));
      return;
    case bj::kind::array: {
      out.push_back('[');
      bool first = true;
      for (const bj::value& element : value.get_array()) {
        if (!first) {
          out.push_back(',');
        }
        first = false;
        append_json_value(out, element);
      }
      out.push_back(']');
      return;
    }
    case bj::kind::object: {
      out.push_back('{');
      bool first = true;
      for (const bj::key_value_pair& member : value.get_object()) {
        if (!first) {
          out.push_back(',');
        }
        first = false;
        append_json_string(out, std::string_view(member.key().data(), member.key().size()));
        out.push_back(':');
        append_json_value(out, member.value());
      }
      out.push_back('}');
      return;
    }
  }
}

void append_nullable_string(std::string& out, const std::string* text) {
  if (text == nullptr) {
    out.append("null");
  } else {
    append_json_string(out, *text);
  }
}

// A payload as the value of "data".
void append_payload(std::string& out, DataType type, std::string_view data) {
  switch (type) {
    case DataType::json:
      // Already serialized JSON, inserted as is. The one cheap guard: an empty payload (e.g. an
      // upstream reply with an empty application/json body) would break the frame, so it
      // becomes null.
      out.append(data.empty() ? std::string_view("null") : data);
      break;
    case DataType::text:
      append_json_string(out, data);
      break;
    case DataType::binary:
    case DataType::protobuf:
      out.push_back('"');
      out.append(util::base64_encode(data));
      out.push_back('"');
      break;
  }
}

// ,"stream":{"streamId":...,"streamSequenceId":k[,"endOfStream":true][,"error":{...}]}
void append_stream(std::string& out, const StreamInfo& stream) {
  out.append(R"(,"stream":{"streamId":)");
  append_json_string(out, stream.stream_id);
  out.append(R"(,"streamSequenceId":)");
  append_uint(out, stream.sequence_id);
  if (stream.end) {
    out.append(R"(,"endOfStream":true)");
  }
  if (stream.error) {
    out.append(R"(,"error":{"name":)");
    append_json_string(out, stream.error->name);
    out.append(R"(,"message":)");
    append_json_string(out, stream.error->message);
    if (stream.error->user_error_code) {
      out.append(R"(,"userErrorCode":)");
      append_json_string(out, *stream.error->user_error_code);
    }
    out.push_back('}');
  }
  out.push_back('}');
}

// ,"metadata":{"k":"v",...}
void append_metadata(std::string& out, const Metadata& metadata) {
  out.append(R"(,"metadata":{)");
  bool first = true;
  for (const auto& [key, value] : metadata) {
    if (!first) {
      out.push_back(',');
    }
    first = false;
    append_json_string(out, key);
    out.push_back(':');
    append_json_string(out, value);
  }
  out.push_back('}');
}

// ---- decoding helpers --------------------------------------------------------------------

DecodeResult fail(std::string reason) {
  DecodeResult result;
  result.error = DecodeError{k_invalid_message_code, std::move(reason)};
  return result;
}

// A short, printable-ASCII excerpt of client input for a close reason.
std::string quote_excerpt(std::string_view text) {
  std::string out;
  for (const char c : text.substr(0, k_max_quoted)) {
    const auto u = static_cast<unsigned char>(c);
    out.push_back(u >= 0x20 && u < 0x7F ? c : '?');
  }
  if (text.size() > k_max_quoted) {
    out.append("...");
  }
  return out;
}

const bj::value* find_field(const bj::object& object, std::string_view key) {
  const auto it = object.find(key);
  return it == object.end() ? nullptr : &it->value();
}

// A JSON number that is an integer in [0, 2^64). Fractions, exponents and out-of-range values
// (which Boost.JSON parses as doubles) and negatives are rejected.
std::optional<std::uint64_t> to_uint64(const bj::value& value) {
  if (value.is_uint64()) {
    return value.get_uint64();
  }
  if (value.is_int64() && value.get_int64() >= 0) {
    return static_cast<std::uint64_t>(value.get_int64());
  }
  return std::nullopt;
}

// Reads the optional `ackId`. Returns false (and sets `error`) when present but invalid.
bool read_ack_id(const bj::object& object, std::optional<std::uint64_t>& ack_id,
                 std::string& error) {
  const bj::value* field = find_field(object, "ackId");
  if (field == nullptr) {
    return true;
  }
  ack_id = to_uint64(*field);
  if (!ack_id) {
    error = "'ackId' must be a non-negative 64-bit integer.";
    return false;
  }
  return true;
}

bool read_group(const bj::object& object, std::string& group, std::string& error) {
  const bj::value* field = find_field(object, "group");
  if (field == nullptr || !field->is_string()) {
    error = "'group' is required and must be a string.";
    return false;
  }
  const std::string_view name = view_of(field->get_string());
  if (!is_valid_group_name(name)) {
    error = "'group' is not a valid group name.";
    return false;
  }
  group.assign(name);
  return true;
}

// Reads `dataType` and `data` into `payload`. A missing `data` is an error unless
// `data_optional`, in which case the payload keeps the declared type and empty bytes.
bool read_payload(const bj::object& object, bool data_optional, Payload& payload,
                  std::string& error) {
  payload.type = DataType::json;
  if (const bj::value* field = find_field(object, "dataType"); field != nullptr) {
    if (!field->is_string()) {
      error = "'dataType' must be a string.";
      return false;
    }
    const std::string_view name = view_of(field->get_string());
    const auto type = parse_data_type(name);
    if (!type) {
      error = "Unknown 'dataType' '" + quote_excerpt(name) + "'.";
      return false;
    }
    payload.type = *type;
  }
  const bj::value* data = find_field(object, "data");
  if (data == nullptr) {
    if (data_optional) {
      return true;
    }
    error = "'data' is required.";
    return false;
  }
  switch (payload.type) {
    case DataType::json:
      if (data->is_null()) {
        error = "'data' must not be null when 'dataType' is 'json'.";
        return false;
      }
      payload.bytes.reserve(64);
      append_json_value(payload.bytes, *data);
      return true;
    case DataType::text:
      if (!data->is_string()) {
        error = "'data' must be a string when 'dataType' is 'text'.";
        return false;
      }
      payload.bytes.assign(view_of(data->get_string()));
      return true;
    case DataType::binary:
    case DataType::protobuf: {
      if (!data->is_string()) {
        error = "'data' must be a base64 string for binary data types.";
        return false;
      }
      auto bytes = util::base64_decode(view_of(data->get_string()));
      if (!bytes) {
        error = "'data' is not valid base64.";
        return false;
      }
      payload.bytes = std::move(*bytes);
      return true;
    }
  }
  error = "Unknown 'dataType'.";
  return false;
}

// Reads the optional `metadata` (spec §6.10): an object of strings; null is absent.
bool read_metadata(const bj::object& object, Metadata& metadata, std::string& error) {
  const bj::value* field = find_field(object, "metadata");
  if (field == nullptr || field->is_null()) {
    return true;
  }
  if (!field->is_object()) {
    error = "'metadata' must be an object of strings.";
    return false;
  }
  for (const bj::key_value_pair& member : field->get_object()) {
    if (!member.value().is_string()) {
      error = "'metadata' values must be strings.";
      return false;
    }
    set_metadata(metadata, std::string(member.key().data(), member.key().size()),
                 std::string(view_of(member.value().get_string())));
  }
  if (const std::string_view problem = check_metadata(metadata); !problem.empty()) {
    error.assign(problem);
    return false;
  }
  return true;
}

// Reads the optional `ttlSeconds`: an integer 0..300; null is absent (0).
bool read_ttl(const bj::object& object, std::uint32_t& ttl, std::string& error) {
  const bj::value* field = find_field(object, "ttlSeconds");
  if (field == nullptr || field->is_null()) {
    return true;
  }
  const auto value = to_uint64(*field);
  if (!value || *value > kMaxTtlSeconds) {
    error = "Property 'ttlSeconds' is out of range. Allowed range is [0,300].";
    return false;
  }
  ttl = static_cast<std::uint32_t>(*value);
  return true;
}

// A message with metadata may have no `data`: it carries an empty text payload (spec §6.10).
bool read_payload_or_metadata_only(const bj::object& object, bool data_optional,
                                   const Metadata& metadata, Payload& payload, std::string& error) {
  if (!metadata.empty() && find_field(object, "data") == nullptr &&
      find_field(object, "dataType") == nullptr) {
    payload.type = DataType::text;
    payload.bytes.clear();
    return true;
  }
  return read_payload(object, data_optional, payload, error);
}

DecodeResult decode_object(const bj::object& object) {
  const bj::value* type_field = find_field(object, "type");
  if (type_field == nullptr || !type_field->is_string()) {
    return fail("The client message has no string 'type'.");
  }
  const std::string_view type = view_of(type_field->get_string());
  std::string error;
  DecodeResult result;

  if (util::iequals(type, "joinGroup") || util::iequals(type, "leaveGroup")) {
    std::string group;
    std::optional<std::uint64_t> ack_id;
    if (!read_group(object, group, error) || !read_ack_id(object, ack_id, error)) {
      return fail(std::move(error));
    }
    if (util::iequals(type, "joinGroup")) {
      result.message = JoinGroup{std::move(group), ack_id};
    } else {
      result.message = LeaveGroup{std::move(group), ack_id};
    }
    return result;
  }

  if (util::iequals(type, "sendToGroup")) {
    SendToGroup message;
    if (!read_group(object, message.group, error) || !read_ack_id(object, message.ack_id, error)) {
      return fail(std::move(error));
    }
    if (const bj::value* no_echo = find_field(object, "noEcho"); no_echo != nullptr) {
      if (!no_echo->is_bool()) {
        return fail("'noEcho' must be a boolean.");
      }
      message.no_echo = no_echo->get_bool();
    }
    if (const bj::value* stream = find_field(object, "stream");
        stream != nullptr && !stream->is_null()) {
      // A stream start (spec §6.8.1): no data and no ack; the handler refuses bad starts with
      // streamClosed BadRequest rather than a close.
      const bj::value* id =
          stream->is_object() ? find_field(stream->get_object(), "streamId") : nullptr;
      if (id == nullptr || !id->is_string()) {
        return fail("'stream.streamId' is required and must be a string.");
      }
      StreamStart start;
      start.stream_id.assign(view_of(id->get_string()));
      if (const bj::value* idle = find_field(stream->get_object(), "idleTimeoutMs");
          idle != nullptr && !idle->is_null()) {
        start.idle_timeout_ms = to_uint64(*idle);
        if (!start.idle_timeout_ms || *start.idle_timeout_ms == 0) {
          start.invalid = "'idleTimeoutMs' must be a positive integer.";
        }
      }
      if (start.stream_id.empty()) {
        start.invalid = "'streamId' must not be empty.";
      } else if (start.stream_id.size() > k_max_stream_id) {
        start.invalid = "'streamId' is longer than 128 characters.";
      }
      if (find_field(object, "data") != nullptr || find_field(object, "dataType") != nullptr) {
        start.invalid = "A stream start carries no 'data' or 'dataType'.";
      }
      message.ack_id.reset();  // a start is never acknowledged
      message.stream = std::move(start);
      result.message = std::move(message);
      return result;
    }
    if (!read_metadata(object, message.metadata, error) ||
        !read_ttl(object, message.ttl_seconds, error) ||
        !read_payload_or_metadata_only(object, false, message.metadata, message.data, error)) {
      return fail(std::move(error));
    }
    result.message = std::move(message);
    return result;
  }

  if (util::iequals(type, "event")) {
    Event message;
    const bj::value* name = find_field(object, "event");
    if (name == nullptr || !name->is_string()) {
      return fail("'event' is required and must be a string.");
    }
    if (!is_valid_event_name(view_of(name->get_string()))) {
      return fail("'event' is not a valid event name.");
    }
    message.event.assign(view_of(name->get_string()));
    if (!read_ack_id(object, message.ack_id, error)) {
      return fail(std::move(error));
    }
    // An event may carry no `data`: it becomes an empty payload of the declared `dataType`
    // (json when absent), i.e. an upstream request with an empty body.
    if (!read_metadata(object, message.metadata, error) ||
        !read_payload_or_metadata_only(object, true, message.metadata, message.data, error)) {
      return fail(std::move(error));
    }
    result.message = std::move(message);
    return result;
  }

  if (util::iequals(type, "sequenceAck")) {
    const bj::value* field = find_field(object, "sequenceId");
    const auto sequence_id = field == nullptr ? std::nullopt : to_uint64(*field);
    if (!sequence_id) {
      return fail("'sequenceId' is required and must be a non-negative 64-bit integer.");
    }
    result.message = SequenceAck{*sequence_id};
    return result;
  }

  if (util::iequals(type, "invoke") || util::iequals(type, "cancelInvocation")) {
    const bj::value* id = find_field(object, "invocationId");
    if (id == nullptr || !id->is_string() || id->get_string().empty()) {
      return fail("'invocationId' is required and must be a non-empty string.");
    }
    if (id->get_string().size() > k_max_invocation_id) {
      return fail("'invocationId' is longer than 128 characters.");
    }
    if (util::iequals(type, "cancelInvocation")) {
      result.message = CancelInvocation{std::string(view_of(id->get_string()))};
      return result;
    }
    Invoke message;
    message.invocation_id.assign(view_of(id->get_string()));
    message.target = "event";  // the only target; JS always sends it
    if (const bj::value* target = find_field(object, "target"); target != nullptr) {
      if (!target->is_string()) {
        return fail("'target' must be a string.");
      }
      message.target.assign(view_of(target->get_string()));
    }
    const bj::value* name = find_field(object, "event");
    if (name == nullptr || !name->is_string()) {
      return fail("'event' is required and must be a string.");
    }
    if (!is_valid_event_name(view_of(name->get_string()))) {
      return fail("'event' is not a valid event name.");
    }
    message.event.assign(view_of(name->get_string()));
    if (!read_metadata(object, message.metadata, error)) {
      return fail(std::move(error));
    }
    const bool has_type = find_field(object, "dataType") != nullptr;
    const bool has_data = find_field(object, "data") != nullptr;
    if (has_type != has_data) {
      return fail("'dataType' and 'data' must come together.");
    }
    if (has_data) {
      Payload payload;
      if (!read_payload(object, false, payload, error)) {
        return fail(std::move(error));
      }
      message.data = std::move(payload);
    }
    result.message = std::move(message);
    return result;
  }

  if (util::iequals(type, "streamData") || util::iequals(type, "streamEnd")) {
    const bj::value* id = find_field(object, "streamId");
    if (id == nullptr || !id->is_string()) {
      return fail("'streamId' is required and must be a string.");
    }
    if (util::iequals(type, "streamEnd")) {
      StreamEnd message;
      message.stream_id.assign(view_of(id->get_string()));
      if (const bj::value* e = find_field(object, "error"); e != nullptr && !e->is_null()) {
        if (!e->is_object()) {
          return fail("'error' must be an object.");
        }
        StreamEndError end_error;
        for (const auto& [key, target] : {std::pair{"message", &end_error.message},
                                          std::pair{"userErrorCode", &end_error.user_error_code}}) {
          const bj::value* v = find_field(e->get_object(), key);
          if (v == nullptr || v->is_null()) {
            continue;
          }
          if (!v->is_string()) {
            return fail("'error' fields must be strings.");
          }
          *target = std::string(view_of(v->get_string()));
        }
        message.error = std::move(end_error);
      }
      result.message = std::move(message);
      return result;
    }
    StreamData message;
    message.stream_id.assign(view_of(id->get_string()));
    const bj::value* sequence = find_field(object, "streamSequenceId");
    const bool has_data = find_field(object, "data") != nullptr;
    if (sequence == nullptr && !has_data && find_field(object, "dataType") == nullptr) {
      result.message = std::move(message);  // keep-alive
      return result;
    }
    if (sequence == nullptr || !has_data) {
      return fail("'streamSequenceId' and 'data' must come together.");
    }
    message.sequence_id = to_uint64(*sequence);
    if (!message.sequence_id) {
      return fail("'streamSequenceId' must be a non-negative 64-bit integer.");
    }
    if (!read_payload(object, false, message.data, error)) {
      return fail(std::move(error));
    }
    result.message = std::move(message);
    return result;
  }

  if (util::iequals(type, "ping")) {
    result.message = Ping{};
    return result;
  }

  return fail("Unknown message type '" + quote_excerpt(type) + "'.");
}

}  // namespace

DecodeResult decode_client_message(std::string_view frame) {
  try {
    // Small frames parse without touching the heap; the tree dies with this call.
    std::array<unsigned char, 4096> buffer{};
    bj::monotonic_resource resource(buffer.data(), buffer.size());
    bj::parse_options options;
    options.max_depth = k_max_depth;
    boost::system::error_code ec;
    const bj::value root = bj::parse(bj::string_view(frame.data(), frame.size()), ec,
                                     bj::storage_ptr(&resource), options);
    if (ec) {
      return fail("The client message is not a valid JSON protocol message.");
    }
    if (!root.is_object()) {
      return fail("The client message is not a JSON object.");
    }
    return decode_object(root.get_object());
  } catch (const std::bad_alloc&) {
    DecodeResult result;
    result.error = DecodeError{k_internal_error_code, "Out of memory."};
    return result;
  } catch (const std::exception&) {
    return fail("The client message is not a valid JSON protocol message.");
  }
}

std::string encode_ack(const Ack& ack) {
  std::string out;
  out.reserve(ack.error ? 96 + ack.error->name.size() + ack.error->message.size() : 48);
  out.append(R"({"type":"ack","ackId":)");
  append_uint(out, ack.ack_id);
  if (!ack.error) {
    out.append(R"(,"success":true})");
    return out;
  }
  out.append(R"(,"success":false,"error":{"name":)");
  append_json_string(out, ack.error->name);
  out.append(R"(,"message":)");
  append_json_string(out, ack.error->message);
  out.append("}}");
  return out;
}

std::string encode_invoke_response(const InvokeResponse& response) {
  std::string out;
  out.reserve(96 + response.invocation_id.size() +
              (response.data ? response.data->bytes.size() * 4 / 3 + 8 : 0));
  out.append(R"({"type":"invokeResponse","invocationId":)");
  append_json_string(out, response.invocation_id);
  if (response.error) {
    out.append(R"(,"success":false,"error":{"name":)");
    append_json_string(out, response.error->name);
    out.append(R"(,"message":)");
    append_json_string(out, response.error->message);
    out.append("}}");
    return out;
  }
  out.append(R"(,"success":true)");
  if (response.data) {
    out.append(R"(,"dataType":")");
    out.append(to_string(response.data->type));
    out.append(R"(","data":)");
    append_payload(out, response.data->type, response.data->bytes);
  }
  out.push_back('}');
  return out;
}

std::string encode_stream_ack(const StreamAck& ack) {
  std::string out;
  out.reserve(80 + ack.stream_id.size());
  out.append(R"({"type":"streamAck","streamId":)");
  append_json_string(out, ack.stream_id);
  out.append(R"(,"expectedSequenceId":)");
  append_uint(out, ack.expected_sequence_id);
  out.push_back('}');
  return out;
}

std::string encode_stream_nack(const StreamNack& nack) {
  std::string out;
  out.reserve(120 + nack.stream_id.size() + nack.message.size());
  out.append(R"({"type":"streamNack","streamId":)");
  append_json_string(out, nack.stream_id);
  out.append(R"(,"expectedSequenceId":)");
  append_uint(out, nack.expected_sequence_id);
  out.append(R"(,"name":)");
  append_json_string(out, nack.name);
  out.append(R"(,"message":)");
  append_json_string(out, nack.message);
  out.push_back('}');
  return out;
}

std::string encode_stream_closed(const StreamClosed& closed) {
  std::string out;
  out.reserve(96 + closed.stream_id.size() + (closed.error ? closed.error->message.size() : 0));
  out.append(R"({"type":"streamClosed","streamId":)");
  append_json_string(out, closed.stream_id);
  if (closed.error) {
    out.append(R"(,"error":{"name":)");
    append_json_string(out, closed.error->name);
    out.append(R"(,"message":)");
    append_json_string(out, closed.error->message);
    out.push_back('}');
  }
  out.push_back('}');
  return out;
}

std::string encode_data_message(const DataMessageView& message) {
  const bool from_group = message.from == MessageSource::group;
  std::size_t data_size = message.data.size() + 2;
  if (message.type == DataType::binary || message.type == DataType::protobuf) {
    data_size = (message.data.size() + 2) / 3 * 4 + 2;
  } else if (message.type == DataType::text) {
    data_size += message.data.size() / 16 + 8;  // room for a few escapes
  }
  std::size_t size = 96 + data_size;
  if (from_group) {
    size += message.group.size() + 32;
    if (message.from_user_id != nullptr) {
      size += message.from_user_id->size();
    }
  }
  std::string out;
  out.reserve(size);

  if (from_group) {
    out.append(R"({"type":"message","from":"group","fromUserId":)");
    append_nullable_string(out, message.from_user_id);
    out.append(R"(,"group":)");
    append_json_string(out, message.group);
  } else {
    out.append(R"({"type":"message","from":"server")");
  }
  out.append(R"(,"dataType":")");
  out.append(to_string(message.type));
  out.append(R"(","data":)");
  append_payload(out, message.type, message.data);
  if (message.metadata != nullptr && !message.metadata->empty()) {
    append_metadata(out, *message.metadata);
  }
  if (message.stream != nullptr) {
    append_stream(out, *message.stream);
  }
  if (message.sequence_id) {
    out.append(R"(,"sequenceId":)");
    append_uint(out, *message.sequence_id);
  }
  out.push_back('}');
  return out;
}

std::string encode_connected(std::string_view connection_id, const std::string* user_id,
                             std::optional<std::string_view> reconnection_token) {
  std::string out;
  out.reserve(96 + connection_id.size() + (user_id != nullptr ? user_id->size() : 0) +
              (reconnection_token ? reconnection_token->size() + 24 : 0));
  out.append(R"({"type":"system","event":"connected","userId":)");
  append_nullable_string(out, user_id);
  out.append(R"(,"connectionId":)");
  append_json_string(out, connection_id);
  if (reconnection_token) {
    out.append(R"(,"reconnectionToken":)");
    append_json_string(out, *reconnection_token);
  }
  out.push_back('}');
  return out;
}

std::string encode_disconnected(std::string_view reason) {
  std::string out;
  out.reserve(64 + reason.size());
  out.append(R"({"type":"system","event":"disconnected","message":)");
  append_json_string(out, reason);
  out.push_back('}');
  return out;
}

std::string encode_pong() {
  return R"({"type":"pong"})";
}

std::string with_sequence_id(std::string_view encoded, std::uint64_t sequence_id) {
  // encoded is "{" members "}" with at least one member (every message has "type").
  const std::string id = std::to_string(sequence_id);
  std::string out;
  out.reserve(encoded.size() + id.size() + 16);
  out += R"({"sequenceId":)";
  out += id;
  if (encoded.size() > 2) {
    out += ',';
    out.append(encoded.substr(1));
  } else {
    out += '}';
  }
  return out;
}

}  // namespace wps::protocol::json
