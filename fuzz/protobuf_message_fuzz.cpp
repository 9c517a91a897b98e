// Fuzzes the protobuf.webpubsub.azure.v1 client-message decoder. Whatever it accepts is
// re-encoded two ways and checked: as a canonical UpstreamMessage, which must decode to the same
// message, and (payloads, ack ids, sequence ids) through the downstream encoders, whose output
// the independent test reader must parse back to the same values. The encoders and
// with_sequence_id also get the raw input.

#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>

#include "../tests/unit/protocol/protobuf_downstream_reader.hpp"
#include "protocol/names.hpp"
#include "protocol/protobuf_codec.hpp"

namespace {

using namespace wps::protocol;
namespace codec = wps::protocol::protobuf;
using wps::test::protobuf::Downstream;
using wps::test::protobuf::parse_downstream;

void check(bool condition) {
  if (!condition) {
    std::abort();
  }
}

Downstream parse_or_abort(std::string_view encoded) {
  auto parsed = parse_downstream(encoded);
  check(parsed.has_value());
  return std::move(*parsed);
}

// RFC 3629 well-formedness, decoded code point by code point (independent of the codec).
bool is_valid_utf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    std::size_t length = 0;
    std::uint32_t code_point = 0;
    if (lead < 0x80) {
      ++i;
      continue;
    }
    if ((lead & 0xE0) == 0xC0) {
      length = 2;
      code_point = lead & 0x1Fu;
    } else if ((lead & 0xF0) == 0xE0) {
      length = 3;
      code_point = lead & 0x0Fu;
    } else if ((lead & 0xF8) == 0xF0) {
      length = 4;
      code_point = lead & 0x07u;
    } else {
      return false;
    }
    if (text.size() - i < length) {
      return false;
    }
    for (std::size_t k = 1; k < length; ++k) {
      const auto byte = static_cast<unsigned char>(text[i + k]);
      if ((byte & 0xC0) != 0x80) {
        return false;
      }
      code_point = (code_point << 6) | (byte & 0x3Fu);
    }
    const std::uint32_t minimum = length == 2 ? 0x80u : length == 3 ? 0x800u : 0x10000u;
    if (code_point < minimum || code_point > 0x10FFFF ||
        (code_point >= 0xD800 && code_point <= 0xDFFF)) {
      return false;
    }
    i += length;
  }
  return true;
}

// ---- canonical UpstreamMessage writer (independent of the codec) ----------------------------

void put_varint(std::string& out, std::uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7F) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

void put_bytes(std::string& out, int field, std::string_view bytes) {
  put_varint(out, static_cast<std::uint64_t>(field) << 3 | 2);
  put_varint(out, bytes.size());
  out.append(bytes);
}

void put_uint(std::string& out, int field, std::uint64_t value) {
  put_varint(out, static_cast<std::uint64_t>(field) << 3);
  put_varint(out, value);
}

std::string message_data(const Payload& payload) {
  std::string out;
  switch (payload.type) {
    case DataType::text:
      put_bytes(out, 1, payload.bytes);
      break;
    case DataType::binary:
      put_bytes(out, 2, payload.bytes);
      break;
    case DataType::protobuf:
      put_bytes(out, 3, payload.bytes);
      break;
    case DataType::json:
      if (!payload.bytes.empty()) {  // empty: an event without data
        put_bytes(out, 4, payload.bytes);
      }
      break;
  }
  return out;
}

void put_metadata(std::string& out, int field, const Metadata& metadata) {
  for (const auto& [key, value] : metadata) {
    std::string entry;
    put_bytes(entry, 1, key);
    put_bytes(entry, 2, value);
    put_bytes(out, field, entry);
  }
}

std::string canonical(const ClientMessage& message) {
  std::string inner;
  int field = 0;
  std::visit(
      [&](const auto& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, JoinGroup> || std::is_same_v<T, LeaveGroup>) {
          field = std::is_same_v<T, JoinGroup> ? 6 : 7;
          put_bytes(inner, 1, m.group);
          if (m.ack_id) {
            put_uint(inner, 2, *m.ack_id);
          }
        } else if constexpr (std::is_same_v<T, SendToGroup>) {
          field = 1;
          put_bytes(inner, 1, m.group);
          if (m.no_echo) {
            put_uint(inner, 4, 1);
          }
          if (m.stream) {
            std::string start;
            put_bytes(start, 1, m.stream->stream_id);
            if (m.stream->idle_timeout_ms) {
              put_uint(start, 2, *m.stream->idle_timeout_ms);
            }
            put_bytes(inner, 7, start);
            return;
          }
          if (m.ack_id) {
            put_uint(inner, 2, *m.ack_id);
          }
          put_bytes(inner, 3, message_data(m.data));
          if (m.ttl_seconds != 0) {
            put_uint(inner, 5, m.ttl_seconds);
          }
          put_metadata(inner, 6, m.metadata);
        } else if constexpr (std::is_same_v<T, Event>) {
          field = 5;
          put_bytes(inner, 1, m.event);
          if (!(m.data.type == DataType::json && m.data.bytes.empty())) {
            put_bytes(inner, 2, message_data(m.data));
          }
          if (m.ack_id) {
            put_uint(inner, 3, *m.ack_id);
          }
          put_metadata(inner, 4, m.metadata);
        } else if constexpr (std::is_same_v<T, StreamData>) {
          field = 13;
          put_bytes(inner, 1, m.stream_id);
          if (m.sequence_id) {
            put_uint(inner, 2, *m.sequence_id);
            put_bytes(inner, 3, message_data(m.data));
          }
        } else if constexpr (std::is_same_v<T, StreamEnd>) {
          field = 14;
          put_bytes(inner, 1, m.stream_id);
          if (m.error) {
            std::string error;
            if (m.error->message) {
              put_bytes(error, 1, *m.error->message);
            }
            if (m.error->user_error_code) {
              put_bytes(error, 2, *m.error->user_error_code);
            }
            put_bytes(inner, 2, error);
          }
        } else if constexpr (std::is_same_v<T, Invoke> || std::is_same_v<T, CancelInvocation>) {
          check(false);  // protobuf has no invoke (spec §6.9)
        } else if constexpr (std::is_same_v<T, SequenceAck>) {
          field = 8;
          if (m.sequence_id != 0) {
            put_uint(inner, 1, m.sequence_id);
          }
        } else {
          field = 9;
        }
      },
      message);
  std::string out;
  put_bytes(out, field, inner);
  return out;
}

bool same(const Payload& a, const Payload& b) {
  return a.type == b.type && a.bytes == b.bytes;
}

bool same(const ClientMessage& a, const ClientMessage& b) {
  if (a.index() != b.index()) {
    return false;
  }
  return std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        const T& y = std::get<T>(b);
        if constexpr (std::is_same_v<T, JoinGroup> || std::is_same_v<T, LeaveGroup>) {
          return x.group == y.group && x.ack_id == y.ack_id;
        } else if constexpr (std::is_same_v<T, SendToGroup>) {
          if (x.stream || y.stream) {
            // (`invalid` is not compared: a start's data, which makes it invalid, is not
            // re-encoded.)
            return x.stream && y.stream && x.group == y.group && x.no_echo == y.no_echo &&
                   x.stream->stream_id == y.stream->stream_id &&
                   x.stream->idle_timeout_ms == y.stream->idle_timeout_ms;
          }
          return x.group == y.group && x.ack_id == y.ack_id && x.no_echo == y.no_echo &&
                 same(x.data, y.data) && x.ttl_seconds == y.ttl_seconds && x.metadata == y.metadata;
        } else if constexpr (std::is_same_v<T, Event>) {
          return x.event == y.event && x.ack_id == y.ack_id && same(x.data, y.data) &&
                 x.metadata == y.metadata;
        } else if constexpr (std::is_same_v<T, StreamData>) {
          return x.stream_id == y.stream_id && x.sequence_id == y.sequence_id &&
                 (!x.sequence_id || same(x.data, y.data));
        } else if constexpr (std::is_same_v<T, StreamEnd>) {
          return x.stream_id == y.stream_id && x.error.has_value() == y.error.has_value() &&
                 (!x.error || (x.error->message == y.error->message &&
                               x.error->user_error_code == y.error->user_error_code));
        } else if constexpr (std::is_same_v<T, SequenceAck>) {
          return x.sequence_id == y.sequence_id;
        } else {
          return true;
        }
      },
      a);
}

// ---- downstream checks -------------------------------------------------------------------

void check_ack(std::optional<std::uint64_t> ack_id, const std::string& text) {
  if (!ack_id) {
    return;
  }
  const Downstream ok = parse_or_abort(codec::encode_ack(Ack{*ack_id, std::nullopt}));
  check(ok.kind == Downstream::Kind::ack && ok.ack_id == *ack_id && ok.success && !ok.has_error);
  const Downstream failed = parse_or_abort(codec::encode_ack(Ack{*ack_id, AckError{text, text}}));
  check(failed.ack_id == *ack_id && !failed.success && failed.has_error);
  check(failed.error_name == text && failed.error_message == text);  // text is valid UTF-8
}

void check_payload(const std::string& group, const Payload& payload, std::uint64_t sequence_id,
                   const Metadata* metadata = nullptr) {
  if (payload.type == DataType::json && !payload.bytes.empty()) {
    boost::system::error_code ec;
    boost::json::parse_options options;
    options.max_depth = 64;
    const auto value = boost::json::parse(
        boost::json::string_view(payload.bytes.data(), payload.bytes.size()), ec, {}, options);
    check(!ec && !value.is_null());
  }
  if (payload.type == DataType::json || payload.type == DataType::text) {
    check(is_valid_utf8(payload.bytes));
  }
  DataMessageView view;
  view.from = MessageSource::group;
  view.group = group;
  view.from_user_id = &group;
  view.type = payload.type;
  view.data = payload.bytes;
  view.metadata = metadata;
  const std::string encoded = codec::encode_data_message(view);
  const Downstream message = parse_or_abort(encoded);
  check(message.kind == Downstream::Kind::data && message.from == "group");
  if (metadata != nullptr) {
    check(message.metadata == *metadata);
  }
  check(message.group == group);
  const std::uint32_t expected_case = payload.type == DataType::binary     ? 2u
                                      : payload.type == DataType::protobuf ? 3u
                                                                           : 1u;
  check(message.data_case == expected_case);
  check(message.data == payload.bytes);
  check(!message.sequence_id.has_value());

  const std::string reliable = codec::with_sequence_id(encoded, sequence_id);
  view.sequence_id = sequence_id;
  check(reliable == codec::encode_data_message(view));
  const Downstream again = parse_or_abort(reliable);
  check(again.sequence_id == sequence_id && again.data == payload.bytes);
}

// The stream answers and a delivered stream message parse back to the same identity.
void check_stream(const std::string& stream_id, const Payload* payload, std::uint64_t number) {
  const Downstream ack = parse_or_abort(codec::encode_stream_ack(StreamAck{stream_id, number}));
  check(ack.kind == Downstream::Kind::stream_ack && ack.stream_id == stream_id &&
        ack.expected_sequence_id == number);
  const Downstream nack = parse_or_abort(
      codec::encode_stream_nack(StreamNack{stream_id, "InvalidSequenceId", stream_id, number}));
  check(nack.kind == Downstream::Kind::stream_nack && nack.error_message == stream_id);
  const Downstream closed = parse_or_abort(
      codec::encode_stream_closed(StreamClosed{stream_id, AckError{"BadRequest", stream_id}}));
  check(closed.kind == Downstream::Kind::stream_closed && closed.has_error &&
        closed.error_message == stream_id);
  const StreamInfo info{stream_id, number, payload == nullptr,
                        StreamError{"UserError", stream_id, stream_id}};
  DataMessageView view;
  view.from = MessageSource::group;
  view.group = "g";
  view.type = payload != nullptr ? payload->type : DataType::text;
  view.data = payload != nullptr ? std::string_view(payload->bytes) : std::string_view();
  view.stream = &info;
  const Downstream message = parse_or_abort(codec::encode_data_message(view));
  check(message.has_stream && message.stream_id == stream_id &&
        message.stream_sequence_id == number && message.end_of_stream == (payload == nullptr));
  check(message.user_error_code.value_or("") == stream_id &&
        message.stream_error_message == stream_id);  // (proto3: "" is not written)
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view frame(reinterpret_cast<const char*>(data), size);

  // Encoders and with_sequence_id on raw input.
  const Downstream disconnected = parse_or_abort(codec::encode_disconnected(frame));
  check(is_valid_utf8(disconnected.reason));
  check((disconnected.reason == frame) == is_valid_utf8(frame));
  const std::string frame_copy(frame);
  const Downstream connected =
      parse_or_abort(codec::encode_connected(frame, &frame_copy, frame.substr(0, size / 2)));
  check(connected.kind == Downstream::Kind::connected && connected.reconnection_token.has_value());
  const std::string resequenced = codec::with_sequence_id(frame, size);
  if (resequenced != frame) {
    // (Not necessarily longer: a non-minimal tag or length in the input is rewritten minimally.)
    // Only a data_message (tag 12, possibly spelled non-minimally) spanning the whole input.
    check(!frame.empty() && static_cast<unsigned char>(frame.front()) % 0x80 == 0x12);
    check(resequenced.front() == '\x12');
    std::string suffix = "\x20";
    put_varint(suffix, size);
    check(resequenced.ends_with(suffix));
  }

  const DecodeResult result = codec::decode_client_message(frame);
  if (!result) {
    check(result.error.close_code == 1007);
    check(!result.error.reason.empty() && result.error.reason.size() < 123);
    return 0;
  }
  const ClientMessage& message = *result.message;

  // A canonical re-encoding decodes to the same message.
  const DecodeResult again = codec::decode_client_message(canonical(message));
  check(again && same(message, *again.message));

  std::visit(
      [&](const auto& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, JoinGroup> || std::is_same_v<T, LeaveGroup>) {
          check(is_valid_group_name(m.group));
          check_ack(m.ack_id, m.group);
        } else if constexpr (std::is_same_v<T, SendToGroup>) {
          check(is_valid_group_name(m.group));
          if (m.stream) {
            check(!m.ack_id);
            check_stream(m.stream->stream_id, nullptr, size);
            return;
          }
          check(!(m.data.type == DataType::json && m.data.bytes.empty()));
          check(m.ttl_seconds <= kMaxTtlSeconds);
          check(check_metadata(m.metadata).empty());
          check_ack(m.ack_id, m.group);
          check_payload(m.group, m.data, m.ack_id.value_or(size), &m.metadata);
        } else if constexpr (std::is_same_v<T, Event>) {
          check(is_valid_event_name(m.event));
          check(check_metadata(m.metadata).empty());
          check_ack(m.ack_id, m.event);
          check_payload(m.event, m.data, m.ack_id.value_or(size), &m.metadata);
        } else if constexpr (std::is_same_v<T, StreamData>) {
          check_stream(m.stream_id, m.sequence_id ? &m.data : nullptr, m.sequence_id.value_or(0));
        } else if constexpr (std::is_same_v<T, StreamEnd>) {
          check_stream(m.stream_id, nullptr, size);
        } else if constexpr (std::is_same_v<T, SequenceAck>) {
          DataMessageView view;
          view.data = "x";
          view.sequence_id = m.sequence_id;
          check(parse_or_abort(codec::encode_data_message(view)).sequence_id == m.sequence_id);
        } else {
          check(parse_or_abort(codec::encode_pong()).kind == Downstream::Kind::pong);
        }
      },
      message);
  return 0;
}
