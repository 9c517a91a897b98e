#include "protocol/protobuf_codec.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <limits>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "unit/protocol/protobuf_downstream_reader.hpp"

namespace {

using namespace wps::protocol;
namespace pb = wps::protocol::protobuf;
using wps::test::protobuf::Downstream;
using wps::test::protobuf::parse_downstream;

constexpr std::uint64_t k_max_u64 = std::numeric_limits<std::uint64_t>::max();

// Bytes from a list of byte values, e.g. bytes({0x32, 0x05, ...}).
std::string bytes(std::initializer_list<int> values) {
  std::string out;
  for (const int value : values) {
    out.push_back(static_cast<char>(static_cast<unsigned char>(value)));
  }
  return out;
}

std::string hex(std::string_view data) {
  static constexpr std::string_view k_digits = "0123456789abcdef";
  std::string out;
  for (const char c : data) {
    const auto byte = static_cast<unsigned char>(c);
    if (!out.empty()) {
      out.push_back(' ');
    }
    out.push_back(k_digits[byte >> 4]);
    out.push_back(k_digits[byte & 0x0F]);
  }
  return out;
}

// Varint encoding written independently of the codec, for building test frames.
std::string varint(std::uint64_t value) {
  std::string out;
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7F) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
  return out;
}

// A length-delimited field with a single-byte tag (field < 16).
std::string ld(int field, std::string_view content) {
  std::string out;
  out.push_back(static_cast<char>((field << 3) | 2));
  out += varint(content.size());
  out.append(content);
  return out;
}

std::string vf(int field, std::uint64_t value) {
  std::string out;
  out.push_back(static_cast<char>(field << 3));
  out += varint(value);
  return out;
}

template <typename T>
T decode_as(std::string_view frame) {
  const DecodeResult result = pb::decode_client_message(frame);
  EXPECT_TRUE(result) << hex(frame) << " -> " << result.error.reason;
  if (!result) {
    return T{};
  }
  const T* message = std::get_if<T>(&*result.message);
  EXPECT_NE(message, nullptr) << hex(frame) << " decoded to variant index "
                              << result.message->index();
  return message != nullptr ? *message : T{};
}

std::string expect_rejected(std::string_view frame) {
  const DecodeResult result = pb::decode_client_message(frame);
  EXPECT_FALSE(result) << hex(frame);
  EXPECT_FALSE(result.message.has_value());
  EXPECT_EQ(result.error.close_code, 1007) << hex(frame);
  EXPECT_FALSE(result.error.reason.empty()) << hex(frame);
  EXPECT_LT(result.error.reason.size(), 123u) << hex(frame);
  return result.error.reason;
}

Downstream parse_or_fail(std::string_view encoded) {
  const auto parsed = parse_downstream(encoded);
  EXPECT_TRUE(parsed.has_value()) << hex(encoded);
  return parsed.value_or(Downstream{});
}

// ---- decoding: one hand-written vector per message type ----------------------------------

TEST(ProtobufDecode, JoinGroupWithAckId) {
  const auto message = decode_as<JoinGroup>(bytes({0x32, 0x05, 0x0a, 0x01, 0x67, 0x10, 0x01}));
  EXPECT_EQ(message.group, "g");
  EXPECT_EQ(message.ack_id, 1u);
}

TEST(ProtobufDecode, JoinGroupWithoutAckId) {
  const auto message = decode_as<JoinGroup>(bytes({0x32, 0x03, 0x0a, 0x01, 0x67}));
  EXPECT_EQ(message.group, "g");
  EXPECT_FALSE(message.ack_id.has_value());
}

TEST(ProtobufDecode, ExplicitZeroAckIdIsPresent) {
  const auto message = decode_as<JoinGroup>(bytes({0x32, 0x05, 0x0a, 0x01, 0x67, 0x10, 0x00}));
  EXPECT_EQ(message.ack_id, 0u);
}

TEST(ProtobufDecode, LeaveGroupWithMultiByteAckId) {
  // ack_id 300 = ac 02
  const auto message =
      decode_as<LeaveGroup>(bytes({0x3a, 0x08, 0x0a, 0x03, 0x67, 0x72, 0x70, 0x10, 0xac, 0x02}));
  EXPECT_EQ(message.group, "grp");
  EXPECT_EQ(message.ack_id, 300u);
}

TEST(ProtobufDecode, JoinGroupWithMaxAckId) {
  const auto message =
      decode_as<JoinGroup>(bytes({0x32, 0x0e, 0x0a, 0x01, 0x67, 0x10, 0xff, 0xff, 0xff, 0xff, 0xff,
                                  0xff, 0xff, 0xff, 0xff, 0x01}));
  EXPECT_EQ(message.ack_id, k_max_u64);
}

TEST(ProtobufDecode, SendToGroupText) {
  const auto message = decode_as<SendToGroup>(bytes(
      {0x0a, 0x0d, 0x0a, 0x01, 0x67, 0x10, 0x02, 0x1a, 0x04, 0x0a, 0x02, 0x68, 0x69, 0x20, 0x01}));
  EXPECT_EQ(message.group, "g");
  EXPECT_EQ(message.ack_id, 2u);
  EXPECT_TRUE(message.no_echo);
  EXPECT_EQ(message.data.type, DataType::text);
  EXPECT_EQ(message.data.bytes, "hi");
}

TEST(ProtobufDecode, SendToGroupEmptyText) {
  const auto message =
      decode_as<SendToGroup>(bytes({0x0a, 0x07, 0x0a, 0x01, 0x67, 0x1a, 0x02, 0x0a, 0x00}));
  EXPECT_EQ(message.data.type, DataType::text);
  EXPECT_EQ(message.data.bytes, "");
  EXPECT_FALSE(message.no_echo);
  EXPECT_FALSE(message.ack_id.has_value());
}

TEST(ProtobufDecode, SendToGroupBinary) {
  const auto message = decode_as<SendToGroup>(
      bytes({0x0a, 0x09, 0x0a, 0x01, 0x67, 0x1a, 0x04, 0x12, 0x02, 0x00, 0xff}));
  EXPECT_EQ(message.data.type, DataType::binary);
  EXPECT_EQ(message.data.bytes, bytes({0x00, 0xff}));
}

TEST(ProtobufDecode, SendToGroupProtobufKeepsAnyBytes) {
  // Any { type_url: "t", value: 01 } = 0a 01 74 12 01 01
  const auto message = decode_as<SendToGroup>(bytes(
      {0x0a, 0x0d, 0x0a, 0x01, 0x67, 0x1a, 0x08, 0x1a, 0x06, 0x0a, 0x01, 0x74, 0x12, 0x01, 0x01}));
  EXPECT_EQ(message.data.type, DataType::protobuf);
  EXPECT_EQ(message.data.bytes, bytes({0x0a, 0x01, 0x74, 0x12, 0x01, 0x01}));
}

TEST(ProtobufDecode, SendToGroupEmptyAny) {
  const auto message =
      decode_as<SendToGroup>(bytes({0x0a, 0x07, 0x0a, 0x01, 0x67, 0x1a, 0x02, 0x1a, 0x00}));
  EXPECT_EQ(message.data.type, DataType::protobuf);
  EXPECT_EQ(message.data.bytes, "");
}

TEST(ProtobufDecode, SendToGroupJsonKeptVerbatim) {
  const auto message =
      decode_as<SendToGroup>(bytes({0x0a, 0x0e, 0x0a, 0x01, 0x67, 0x1a, 0x09, 0x22, 0x07, 0x7b,
                                    0x22, 0x61, 0x22, 0x3a, 0x31, 0x7d}));
  EXPECT_EQ(message.data.type, DataType::json);
  EXPECT_EQ(message.data.bytes, R"({"a":1})");
  // Whitespace is not normalized.
  const auto spaced = decode_as<SendToGroup>(ld(1, ld(1, "g") + ld(3, ld(4, " [1, 2] "))));
  EXPECT_EQ(spaced.data.bytes, " [1, 2] ");
}

TEST(ProtobufDecode, SendToGroupTtlAndMetadata) {
  // ttl_seconds = 60 (28 3c), metadata {"k": "v"} (32 06 0a 01 6b 12 01 76), {"k2": ""}
  const auto message = decode_as<SendToGroup>(
      ld(1, ld(1, "g") + ld(3, ld(1, "x")) + bytes({0x28, 0x3c}) +
                bytes({0x32, 0x06, 0x0a, 0x01, 0x6b, 0x12, 0x01, 0x76}) + ld(6, ld(1, "k2"))));
  EXPECT_EQ(message.group, "g");
  EXPECT_EQ(message.data.bytes, "x");
  EXPECT_EQ(message.ttl_seconds, 60u);
  EXPECT_EQ(message.metadata, (Metadata{{"k", "v"}, {"k2", ""}}));
  // A repeated key: the last entry wins, in the first one's place (protobuf map semantics).
  const auto repeated =
      decode_as<SendToGroup>(ld(1, ld(1, "g") + ld(6, ld(1, "a") + ld(2, "1")) + ld(6, ld(1, "b")) +
                                       ld(6, ld(1, "a") + ld(2, "2"))));
  EXPECT_EQ(repeated.metadata, (Metadata{{"a", "2"}, {"b", ""}}));
  // Metadata without data: an empty text payload (spec §6.10).
  EXPECT_EQ(repeated.data.type, DataType::text);
  EXPECT_EQ(repeated.data.bytes, "");
  const auto event = decode_as<Event>(ld(5, ld(1, "e") + ld(4, ld(1, "m") + ld(2, "v"))));
  EXPECT_EQ(event.metadata, (Metadata{{"m", "v"}}));
  EXPECT_EQ(event.data.type, DataType::text);
}

TEST(ProtobufDecode, TtlAndMetadataOutOfRange) {
  EXPECT_EQ(expect_rejected(ld(1, ld(1, "g") + ld(3, ld(1, "x")) + bytes({0x28, 0xad, 0x02}))),
            "Property 'ttlSeconds' is out of range. Allowed range is [0,300].");  // 301
  decode_as<SendToGroup>(ld(1, ld(1, "g") + ld(3, ld(1, "x")) + bytes({0x28, 0xac, 0x02})));
  expect_rejected(ld(1, ld(1, "g") + ld(3, ld(1, "x")) + ld(6, ld(1, "a b"))));  // key char
  expect_rejected(ld(1, ld(1, "g") + ld(3, ld(1, "x")) + ld(6, ld(2, "v"))));    // empty key
  expect_rejected(ld(5, ld(1, "e") + ld(4, ld(1, "k") + ld(2, "a\nb"))));        // control char
  expect_rejected(
      ld(5, ld(1, "e") + ld(4, ld(1, "k") + ld(2, std::string(1025, 'v')))));  // value > 1024
}

TEST(ProtobufEncode, DataMessageMetadata) {
  DataMessageView view;
  view.from = MessageSource::group;
  view.group = "g";
  view.type = DataType::text;
  view.data = "x";
  const Metadata metadata{{"K", "v"}, {"e", ""}};
  view.metadata = &metadata;
  const Downstream d = parse_or_fail(pb::encode_data_message(view));
  EXPECT_EQ(d.metadata, metadata);
  EXPECT_EQ(d.data, "x");
  const Downstream stamped = parse_or_fail(pb::with_sequence_id(pb::encode_data_message(view), 3));
  EXPECT_EQ(stamped.metadata, metadata);
  EXPECT_EQ(stamped.sequence_id, 3u);
}

TEST(ProtobufDecode, EventWithText) {
  const auto message = decode_as<Event>(
      bytes({0x2a, 0x0a, 0x0a, 0x01, 0x65, 0x12, 0x03, 0x0a, 0x01, 0x78, 0x18, 0x05}));
  EXPECT_EQ(message.event, "e");
  EXPECT_EQ(message.ack_id, 5u);
  EXPECT_EQ(message.data.type, DataType::text);
  EXPECT_EQ(message.data.bytes, "x");
}

TEST(ProtobufDecode, EventWithoutDataIsEmptyJson) {
  const auto message = decode_as<Event>(bytes({0x2a, 0x03, 0x0a, 0x01, 0x65}));
  EXPECT_EQ(message.event, "e");
  EXPECT_FALSE(message.ack_id.has_value());
  EXPECT_EQ(message.data.type, DataType::json);
  EXPECT_EQ(message.data.bytes, "");
  // An empty MessageData is the same as none.
  const auto empty = decode_as<Event>(ld(5, ld(1, "e") + ld(2, "")));
  EXPECT_EQ(empty.data.type, DataType::json);
  EXPECT_EQ(empty.data.bytes, "");
}

TEST(ProtobufDecode, EventWithBinaryJsonProtobufAndMetadata) {
  const auto binary = decode_as<Event>(ld(5, ld(1, "my.event-1") + ld(2, ld(2, "\x01\x02"))));
  EXPECT_EQ(binary.event, "my.event-1");
  EXPECT_EQ(binary.data.type, DataType::binary);
  EXPECT_EQ(binary.data.bytes, "\x01\x02");
  // (A metadata entry with an empty key is invalid, as in JSON: spec §6.10.)
  const auto json = decode_as<Event>(ld(5, ld(1, "E") + ld(2, ld(4, "\"s\"")) + ld(4, ld(1, "k"))));
  EXPECT_EQ(json.event, "E");
  EXPECT_EQ(json.data.type, DataType::json);
  EXPECT_EQ(json.data.bytes, "\"s\"");
  const auto any = decode_as<Event>(ld(5, ld(1, "e") + ld(2, ld(3, ld(1, "type.x/y")))));
  EXPECT_EQ(any.data.type, DataType::protobuf);
  EXPECT_EQ(any.data.bytes, ld(1, "type.x/y"));
}

TEST(ProtobufDecode, SequenceAck) {
  EXPECT_EQ(decode_as<SequenceAck>(bytes({0x42, 0x02, 0x08, 0x07})).sequence_id, 7u);
  EXPECT_EQ(decode_as<SequenceAck>(bytes({0x42, 0x0b, 0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                          0xff, 0xff, 0xff, 0x01}))
                .sequence_id,
            k_max_u64);
  // proto3: an absent sequence_id is 0.
  EXPECT_EQ(decode_as<SequenceAck>(bytes({0x42, 0x00})).sequence_id, 0u);
}

TEST(ProtobufDecode, Ping) {
  decode_as<Ping>(bytes({0x4a, 0x00}));
  decode_as<Ping>(bytes({0x4a, 0x02, 0x08, 0x01}));  // unknown content skipped
}

TEST(ProtobufDecode, NonMinimalVarintsAreAccepted) {
  // ack_id 1 written as 81 80 00
  const auto message =
      decode_as<JoinGroup>(bytes({0x32, 0x07, 0x0a, 0x01, 0x67, 0x10, 0x81, 0x80, 0x00}));
  EXPECT_EQ(message.ack_id, 1u);
  // length 1 written as 81 00
  EXPECT_EQ(decode_as<JoinGroup>(bytes({0x32, 0x04, 0x0a, 0x81, 0x00, 0x67})).group, "g");
}

// ---- decoding: unknown fields and repeated occurrences -------------------------------------

TEST(ProtobufDecode, SkipsUnknownFieldsOfEveryWireType) {
  std::string frame;
  frame += bytes({0x78, 0x01});                                              // 15: varint
  frame += bytes({0x81, 0x01, 1, 2, 3, 4, 5, 6, 7, 8});                      // 16: fixed64
  frame += bytes({0x8d, 0x01, 1, 2, 3, 4});                                  // 17: fixed32
  frame += bytes({0xa2, 0x06, 0x02, 0xaa, 0xbb});                            // 100: bytes
  frame += bytes({0xf8, 0xff, 0xff, 0xff, 0x0f, 0x00});                      // 2^29-1: varint
  frame += ld(6, vf(3, 9) + bytes({0x08, 0x01}) + ld(1, "g") + ld(9, "x"));  // inner unknowns
  frame += bytes({0x52, 0x00});  // UpstreamMessage field 10: unknown
  const auto message = decode_as<JoinGroup>(frame);
  EXPECT_EQ(message.group, "g");
  EXPECT_FALSE(message.ack_id.has_value());
}

TEST(ProtobufDecode, KnownFieldWithWrongWireTypeIsSkipped) {
  // group as varint, ack_id as bytes: both skipped as unknown (standard parser behaviour).
  const auto message = decode_as<JoinGroup>(ld(6, vf(1, 5) + ld(2, "zz") + ld(1, "g")));
  EXPECT_EQ(message.group, "g");
  EXPECT_FALSE(message.ack_id.has_value());
  // A oneof member with a non-length-delimited wire type is unknown too.
  decode_as<Ping>(vf(6, 1) + ld(9, ""));
}

TEST(ProtobufDecode, LastScalarOccurrenceWins) {
  const auto message = decode_as<JoinGroup>(ld(6, ld(1, "a") + vf(2, 1) + ld(1, "b") + vf(2, 2)));
  EXPECT_EQ(message.group, "b");
  EXPECT_EQ(message.ack_id, 2u);
  const auto send =
      decode_as<SendToGroup>(ld(1, ld(1, "g") + vf(4, 1) + vf(4, 0) + ld(3, ld(1, "x"))));
  EXPECT_FALSE(send.no_echo);
  EXPECT_TRUE(decode_as<SendToGroup>(ld(1, ld(1, "g") + vf(4, 2) + ld(3, ld(1, "x")))).no_echo);
}

TEST(ProtobufDecode, RepeatedMessageFieldsAreMerged) {
  // Two join_group_message occurrences: group from the first, ack_id from the second.
  const auto join = decode_as<JoinGroup>(ld(6, ld(1, "a") + vf(2, 1)) + ld(6, vf(2, 2)));
  EXPECT_EQ(join.group, "a");
  EXPECT_EQ(join.ack_id, 2u);
  // SendToGroup split in two; MessageData split in two (the later case wins).
  const auto send = decode_as<SendToGroup>(ld(1, ld(1, "g") + ld(3, ld(1, "t"))) +
                                           ld(1, vf(2, 4) + ld(3, ld(2, "b"))));
  EXPECT_EQ(send.group, "g");
  EXPECT_EQ(send.ack_id, 4u);
  EXPECT_EQ(send.data.type, DataType::binary);
  EXPECT_EQ(send.data.bytes, "b");
  // Two protobuf_data occurrences merge like the messages they are: bytes concatenated.
  const auto any = decode_as<SendToGroup>(
      ld(1, ld(1, "g") + ld(3, ld(3, ld(1, "u"))) + ld(3, ld(3, ld(2, "v")))));
  EXPECT_EQ(any.data.type, DataType::protobuf);
  EXPECT_EQ(any.data.bytes, ld(1, "u") + ld(2, "v"));
  // protobuf_data, then text, then protobuf_data again: only the last Any survives.
  const auto reset = decode_as<SendToGroup>(
      ld(1, ld(1, "g") + ld(3, ld(3, ld(1, "u")) + ld(1, "t") + ld(3, ld(2, "v")))));
  EXPECT_EQ(reset.data.bytes, ld(2, "v"));
}

TEST(ProtobufDecode, LastOneofMemberWins) {
  decode_as<LeaveGroup>(ld(6, ld(1, "a") + vf(2, 1)) + ld(7, ld(1, "b")));
  // A different case in between resets the earlier state.
  const auto leave = decode_as<LeaveGroup>(ld(7, vf(2, 1)) + ld(6, ld(1, "a")) + ld(7, ld(1, "b")));
  EXPECT_EQ(leave.group, "b");
  EXPECT_FALSE(leave.ack_id.has_value());
  decode_as<Ping>(ld(1, ld(1, "g")) + ld(9, ""));
  // Stream messages are oneof members like the others.
  decode_as<JoinGroup>(ld(13, "") + ld(6, ld(1, "g")));
  EXPECT_EQ(decode_as<StreamEnd>(ld(6, ld(1, "g")) + ld(14, ld(1, "s"))).stream_id, "s");
}

// ---- decoding: rejections ----------------------------------------------------------------

TEST(ProtobufDecode, RejectsEmptyFrameAndMissingCase) {
  expect_rejected("");
  expect_rejected(bytes({0x52, 0x00}));  // unknown oneof case 10 only
  expect_rejected(bytes({0x12, 0x00}));  // field 2 is not an UpstreamMessage case
  expect_rejected(bytes({0x08, 0x01}));  // field 1 as a varint: unknown, no case
  expect_rejected(bytes({0x78, 0x01}));  // unknown varint only
}

TEST(ProtobufDecode, GroupStreams) {
  // A start: send_to_group.stream = 7, without data or ack.
  const auto start = decode_as<SendToGroup>(
      ld(1, ld(1, "g") + vf(2, 5) + vf(4, 1) + ld(7, ld(1, "s") + vf(2, 1000))));
  ASSERT_TRUE(start.stream.has_value());
  EXPECT_EQ(start.stream->stream_id, "s");
  EXPECT_EQ(start.stream->idle_timeout_ms, 1000u);
  EXPECT_TRUE(start.stream->invalid.empty());
  EXPECT_FALSE(start.ack_id.has_value());
  EXPECT_TRUE(start.no_echo);
  // Starts the handler refuses (BadRequest), decoded rather than closing the connection.
  EXPECT_FALSE(decode_as<SendToGroup>(ld(1, ld(1, "g") + ld(7, ""))).stream->invalid.empty());
  EXPECT_FALSE(decode_as<SendToGroup>(ld(1, ld(1, "g") + ld(7, ld(1, "s") + vf(2, 0))))
                   .stream->invalid.empty());
  EXPECT_FALSE(decode_as<SendToGroup>(ld(1, ld(1, "g") + ld(3, ld(1, "x")) + ld(7, ld(1, "s"))))
                   .stream->invalid.empty());
  // Fragments, keep-alives, ends.
  const auto fragment = decode_as<StreamData>(ld(13, ld(1, "s") + vf(2, 3) + ld(3, ld(2, "\x01"))));
  EXPECT_EQ(fragment.stream_id, "s");
  EXPECT_EQ(fragment.sequence_id, 3u);
  EXPECT_EQ(fragment.data.type, DataType::binary);
  EXPECT_EQ(fragment.data.bytes, "\x01");
  EXPECT_FALSE(decode_as<StreamData>(ld(13, ld(1, "s"))).sequence_id.has_value());
  expect_rejected(ld(13, ld(1, "s") + vf(2, 3)));           // number without data
  expect_rejected(ld(13, ld(1, "s") + ld(3, ld(1, "x"))));  // data without number
  const auto end = decode_as<StreamEnd>(ld(14, ld(1, "s") + ld(2, ld(1, "m") + ld(2, "E1"))));
  ASSERT_TRUE(end.error.has_value());
  EXPECT_EQ(end.error->message, "m");
  EXPECT_EQ(end.error->user_error_code, "E1");
  EXPECT_FALSE(decode_as<StreamEnd>(bytes({0x72, 0x00})).error.has_value());
}

TEST(ProtobufEncode, StreamAnswersAndInfo) {
  const Downstream ack = parse_or_fail(pb::encode_stream_ack({"s", 4}));
  EXPECT_EQ(ack.kind, Downstream::Kind::stream_ack);
  EXPECT_EQ(ack.stream_id, "s");
  EXPECT_EQ(ack.expected_sequence_id, 4u);
  const Downstream nack = parse_or_fail(pb::encode_stream_nack({"s", "InvalidSequenceId", "m", 2}));
  EXPECT_EQ(nack.kind, Downstream::Kind::stream_nack);
  EXPECT_EQ(nack.error_name, "InvalidSequenceId");
  EXPECT_EQ(nack.expected_sequence_id, 2u);
  const Downstream closed =
      parse_or_fail(pb::encode_stream_closed({"s", AckError{"StreamNotFound", "m"}}));
  EXPECT_EQ(closed.kind, Downstream::Kind::stream_closed);
  EXPECT_TRUE(closed.has_error);
  EXPECT_EQ(closed.error_name, "StreamNotFound");
  EXPECT_FALSE(parse_or_fail(pb::encode_stream_closed({"s", std::nullopt})).has_error);
  const StreamInfo info{"s", 9, true, StreamError{"UserError", "m", "E"}};
  DataMessageView view;
  view.from = MessageSource::group;
  view.group = "g";
  view.type = DataType::text;
  view.stream = &info;
  const Downstream data = parse_or_fail(pb::with_sequence_id(pb::encode_data_message(view), 2));
  EXPECT_TRUE(data.has_stream);
  EXPECT_EQ(data.stream_id, "s");
  EXPECT_EQ(data.stream_sequence_id, 9u);
  EXPECT_TRUE(data.end_of_stream);
  EXPECT_EQ(data.stream_error_name, "UserError");
  EXPECT_EQ(data.user_error_code, "E");
  EXPECT_EQ(data.sequence_id, 2u);
}

TEST(ProtobufDecode, RejectsTruncatedVarints) {
  expect_rejected(bytes({0x80}));                          // tag
  expect_rejected(bytes({0x32}));                          // length missing
  expect_rejected(bytes({0x32, 0x85}));                    // length truncated
  expect_rejected(bytes({0x42, 0x02, 0x08, 0xff}));        // value truncated inside a message
  expect_rejected(bytes({0x78}));                          // unknown varint field, value missing
  expect_rejected(bytes({0x4a, 0x00, 0x78, 0x80, 0x80}));  // after a complete message
}

TEST(ProtobufDecode, RejectsOverlongVarints) {
  // 10th byte above 1: beyond 2^64-1
  expect_rejected(
      bytes({0x42, 0x0b, 0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02}));
  // 11 bytes
  expect_rejected(
      bytes({0x42, 0x0c, 0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x81, 0x00}));
  // 10 bytes of continuation
  expect_rejected(
      bytes({0x42, 0x0b, 0x08, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80}));
}

TEST(ProtobufDecode, RejectsLengthsPastTheEnd) {
  expect_rejected(bytes({0x32, 0x05, 0x0a, 0x01, 0x67}));
  expect_rejected(bytes({0x32, 0x03, 0x0a, 0x05, 0x67}));  // inner length
  expect_rejected(bytes({0x32, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}));
  expect_rejected(bytes({0x81, 0x01, 1, 2, 3, 4, 5, 6, 7}));  // fixed64 truncated
  expect_rejected(bytes({0x8d, 0x01, 1, 2, 3}));              // fixed32 truncated
}

TEST(ProtobufDecode, RejectsInvalidTagsAndWireTypes) {
  expect_rejected(bytes({0x02, 0x00}));                          // field number 0
  expect_rejected(bytes({0x00}));                                // field number 0, varint
  expect_rejected(bytes({0x0b, 0x0c}));                          // group start/end (field 1)
  expect_rejected(bytes({0x0c}));                                // group end
  expect_rejected(bytes({0x0e, 0x00}));                          // wire type 6
  expect_rejected(bytes({0x0f, 0x00}));                          // wire type 7
  expect_rejected(bytes({0xff, 0xff, 0xff, 0xff, 0x7f, 0x00}));  // tag above 32 bits
  expect_rejected(ld(6, ld(1, "g") + bytes({0x1b})));            // group inside a message
}

TEST(ProtobufDecode, RejectsInvalidUtf8) {
  const std::string bad = bytes({0xff});
  expect_rejected(ld(6, ld(1, bad)));                                          // group
  expect_rejected(ld(6, ld(1, bytes({0xc0, 0x80}))));                          // overlong
  expect_rejected(ld(6, ld(1, bytes({0xed, 0xa0, 0x80}))));                    // surrogate
  expect_rejected(ld(6, ld(1, bytes({0xe2, 0x82}))));                          // truncated
  expect_rejected(ld(1, ld(1, "g") + ld(3, ld(1, "a" + bad))));                // text_data
  expect_rejected(ld(1, ld(1, "g") + ld(3, ld(4, "\"" + bad + "\""))));        // json_data
  expect_rejected(ld(5, ld(1, "e" + bad)));                                    // event
  expect_rejected(ld(1, ld(1, "g") + ld(3, ld(3, ld(1, bad)))));               // Any.type_url
  expect_rejected(ld(5, ld(1, "e") + ld(4, ld(1, bad))));                      // metadata key
  expect_rejected(ld(1, ld(1, "g") + ld(3, ld(1, "x")) + ld(6, ld(2, bad))));  // metadata value
  // Even in an occurrence a later one overrides.
  expect_rejected(ld(6, ld(1, bad) + ld(1, "g")));
  // Valid multi-byte text is fine; binary may hold anything.
  EXPECT_EQ(decode_as<JoinGroup>(ld(6, ld(1, "gr\xc3\xbcpp\xf0\x9f\x98\x80"))).group,
            "gr\xc3\xbcpp\xf0\x9f\x98\x80");
  EXPECT_EQ(decode_as<SendToGroup>(ld(1, ld(1, "g") + ld(3, ld(2, bad)))).data.bytes, bad);
}

TEST(ProtobufDecode, RejectsInvalidGroupNames) {
  EXPECT_EQ(expect_rejected(bytes({0x32, 0x00})), "'group' is required.");
  EXPECT_EQ(expect_rejected(ld(6, vf(2, 1))), "'group' is required.");
  EXPECT_EQ(expect_rejected(ld(6, ld(1, " "))), "'group' is not a valid group name.");
  expect_rejected(ld(7, ld(1, "\t\n")));
  expect_rejected(ld(1, ld(1, " ") + ld(3, ld(1, "x"))));
  expect_rejected(ld(1, ld(3, ld(1, "x"))));
  expect_rejected(ld(6, ld(1, std::string(1025, 'a'))));
  EXPECT_EQ(decode_as<JoinGroup>(ld(6, ld(1, std::string(1024, 'a')))).group.size(), 1024u);
}

TEST(ProtobufDecode, RejectsInvalidEventNames) {
  EXPECT_EQ(expect_rejected(ld(5, ld(2, ld(1, "x")))), "'event' is required.");
  EXPECT_EQ(expect_rejected(ld(5, ld(1, "1x"))), "'event' is not a valid event name.");
  expect_rejected(ld(5, ld(1, "a b")));
  expect_rejected(ld(5, ld(1, std::string(129, 'a'))));
}

TEST(ProtobufDecode, SendToGroupRequiresData) {
  EXPECT_EQ(expect_rejected(bytes({0x0a, 0x03, 0x0a, 0x01, 0x67})), "'data' is required.");
  EXPECT_EQ(expect_rejected(ld(1, ld(1, "g") + ld(3, ""))), "'data' is required.");
  expect_rejected(ld(1, ld(1, "g") + ld(3, ld(7, "x"))));  // only an unknown MessageData field
}

TEST(ProtobufDecode, RejectsInvalidJsonData) {
  for (const std::string_view text :
       {"", "{", "nul", "[1,]", "{\"a\":1} x", "'a'", "null", " null "}) {
    expect_rejected(ld(1, ld(1, "g") + ld(3, ld(4, text))));
    expect_rejected(ld(5, ld(1, "e") + ld(2, ld(4, text))));
  }
  expect_rejected(ld(1, ld(1, "g") + ld(3, ld(4, std::string(65, '[') + std::string(65, ']')))));
  decode_as<SendToGroup>(
      ld(1, ld(1, "g") + ld(3, ld(4, std::string(60, '[') + std::string(60, ']')))));
  for (const std::string_view text : {"0", "\"\"", "true", "{}", "[null]", "1e400"}) {
    EXPECT_EQ(decode_as<SendToGroup>(ld(1, ld(1, "g") + ld(3, ld(4, text)))).data.bytes, text);
  }
}

TEST(ProtobufDecode, RejectsMalformedNestedMessages) {
  expect_rejected(ld(1, ld(1, "g") + ld(3, ld(3, bytes({0x0a, 0x05})))));  // bad Any
  expect_rejected(ld(1, ld(1, "g") + ld(3, bytes({0x0a, 0x05, 0x61}))));   // bad MessageData
  expect_rejected(ld(5, ld(1, "e") + ld(4, bytes({0x80}))));               // bad metadata entry
  expect_rejected(ld(9, bytes({0x80})));                                   // bad ping
  expect_rejected(ld(13, bytes({0x80})) + ld(6, ld(1, "g")));              // bad overridden case
}

// ---- encoding: hand-written vectors ------------------------------------------------------

TEST(ProtobufEncode, AckSuccess) {
  EXPECT_EQ(hex(pb::encode_ack(Ack{1, std::nullopt})), "0a 04 08 01 10 01");
  EXPECT_EQ(hex(pb::encode_ack(Ack{0, std::nullopt})), "0a 04 08 00 10 01");
  EXPECT_EQ(hex(pb::encode_ack(Ack{k_max_u64, std::nullopt})),
            "0a 0d 08 ff ff ff ff ff ff ff ff ff 01 10 01");
}

TEST(ProtobufEncode, AckError) {
  EXPECT_EQ(hex(pb::encode_ack(Ack{5, AckError{"Forbidden", "no"}})),
            "0a 13 08 05 1a 0f 0a 09 46 6f 72 62 69 64 64 65 6e 12 02 6e 6f");
  // Empty strings are proto3 defaults: omitted, the error message itself stays.
  EXPECT_EQ(hex(pb::encode_ack(Ack{2, AckError{"", ""}})), "0a 04 08 02 1a 00");
}

TEST(ProtobufEncode, GroupTextMessage) {
  DataMessageView view;
  view.from = MessageSource::group;
  view.group = "g";
  view.type = DataType::text;
  view.data = "hi";
  const std::string expected = "12 10 0a 05 67 72 6f 75 70 12 01 67 1a 04 0a 02 68 69";
  EXPECT_EQ(hex(pb::encode_data_message(view)), expected);
  // No fromUserId in protobuf data messages.
  const std::string user = "someone";
  view.from_user_id = &user;
  EXPECT_EQ(hex(pb::encode_data_message(view)), expected);
}

TEST(ProtobufEncode, ServerBinaryMessageWithSequenceId) {
  DataMessageView view;
  view.from = MessageSource::server;
  view.group = "ignored";
  view.type = DataType::binary;
  view.data = std::string_view("\x00\xff", 2);
  view.sequence_id = 3;
  EXPECT_EQ(hex(pb::encode_data_message(view)),
            "12 10 0a 06 73 65 72 76 65 72 1a 04 12 02 00 ff 20 03");
}

TEST(ProtobufEncode, JsonBecomesTextData) {
  DataMessageView view;
  view.type = DataType::json;
  view.data = R"({"a":1})";
  EXPECT_EQ(hex(pb::encode_data_message(view)),
            "12 13 0a 06 73 65 72 76 65 72 1a 09 0a 07 7b 22 61 22 3a 31 7d");
}

TEST(ProtobufEncode, ProtobufBecomesEmbeddedAny) {
  DataMessageView view;
  view.type = DataType::protobuf;
  const std::string any = bytes({0x0a, 0x01, 0x74, 0x12, 0x01, 0x01});
  view.data = any;
  EXPECT_EQ(hex(pb::encode_data_message(view)),
            "12 12 0a 06 73 65 72 76 65 72 1a 08 1a 06 0a 01 74 12 01 01");
}

TEST(ProtobufEncode, EmptyTextIsStillWritten) {
  DataMessageView view;
  view.from = MessageSource::group;
  view.group = "";
  view.type = DataType::text;
  view.data = "";
  EXPECT_EQ(hex(pb::encode_data_message(view)), "12 0d 0a 05 67 72 6f 75 70 12 00 1a 02 0a 00");
}

TEST(ProtobufEncode, Connected) {
  const std::string user = "u";
  EXPECT_EQ(hex(pb::encode_connected("c", &user)), "1a 08 0a 06 0a 01 63 12 01 75");
  EXPECT_EQ(hex(pb::encode_connected("c", nullptr, "t")), "1a 08 0a 06 0a 01 63 1a 01 74");
  EXPECT_EQ(hex(pb::encode_connected("c", nullptr, "")), "1a 07 0a 05 0a 01 63 1a 00");
  EXPECT_EQ(hex(pb::encode_connected("", nullptr)), "1a 02 0a 00");
}

TEST(ProtobufEncode, Disconnected) {
  EXPECT_EQ(hex(pb::encode_disconnected("bye")), "1a 07 12 05 12 03 62 79 65");
  EXPECT_EQ(hex(pb::encode_disconnected("")), "1a 02 12 00");
}

TEST(ProtobufEncode, Pong) {
  EXPECT_EQ(hex(pb::encode_pong()), "22 00");
}

TEST(ProtobufEncode, MultiByteLengths) {
  DataMessageView view;
  view.type = DataType::binary;
  const std::string payload(300, 'x');
  view.data = payload;
  const std::string encoded = pb::encode_data_message(view);
  // MessageData: 12 ac 02 <300> = 303; DataMessage: 0a 06 server (8) + 1a af 02 <303> (306)
  // = 314 = ba 02; total 3 + 314.
  EXPECT_EQ(hex(encoded.substr(0, 3)), "12 ba 02");
  EXPECT_EQ(encoded.size(), 317u);
  EXPECT_EQ(hex(encoded.substr(11, 6)), "1a af 02 12 ac 02");
  const Downstream parsed = parse_or_fail(encoded);
  EXPECT_EQ(parsed.data, payload);
}

TEST(ProtobufEncode, IllFormedUtf8IsReplaced) {
  DataMessageView view;
  view.from = MessageSource::group;
  view.group = "g\xff";
  view.type = DataType::text;
  view.data = "a\xe2\x82z\xc0";
  const Downstream parsed = parse_or_fail(pb::encode_data_message(view));
  EXPECT_EQ(parsed.group, "g\xef\xbf\xbd");
  EXPECT_EQ(parsed.data, "a\xef\xbf\xbdz\xef\xbf\xbd");
  // Binary payloads are bytes, never touched.
  view.type = DataType::binary;
  EXPECT_EQ(parse_or_fail(pb::encode_data_message(view)).data, "a\xe2\x82z\xc0");
  EXPECT_EQ(parse_or_fail(pb::encode_disconnected("\xff\xfe")).reason, "\xef\xbf\xbd\xef\xbf\xbd");
  const std::string user = "\xf0\x9f\x98";
  const Downstream connected = parse_or_fail(pb::encode_connected("c\x80", &user, "\xed\xa0\x80"));
  EXPECT_EQ(connected.connection_id, "c\xef\xbf\xbd");
  EXPECT_EQ(connected.user_id, "\xef\xbf\xbd");
  EXPECT_EQ(connected.reconnection_token, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
  const Downstream ack = parse_or_fail(pb::encode_ack(Ack{1, AckError{"\xff", "ok\xff"}}));
  EXPECT_EQ(ack.error_name, "\xef\xbf\xbd");
  EXPECT_EQ(ack.error_message, "ok\xef\xbf\xbd");
}

// ---- encoding: round trips through the test reader ---------------------------------------

TEST(ProtobufRoundTrip, Acks) {
  for (const std::uint64_t id : std::initializer_list<std::uint64_t>{
           0, 1, 127, 128, 300, std::uint64_t{1} << 35, k_max_u64}) {
    const Downstream ok = parse_or_fail(pb::encode_ack(Ack{id, std::nullopt}));
    EXPECT_EQ(ok.kind, Downstream::Kind::ack);
    EXPECT_EQ(ok.ack_id, id);
    EXPECT_TRUE(ok.success);
    EXPECT_FALSE(ok.has_error);
    const Downstream failed = parse_or_fail(pb::encode_ack(
        Ack{id, AckError{std::string(ack_error::duplicate), std::string(200, 'm')}}));
    EXPECT_EQ(failed.ack_id, id);
    EXPECT_FALSE(failed.success);
    EXPECT_TRUE(failed.has_error);
    EXPECT_EQ(failed.error_name, "Duplicate");
    EXPECT_EQ(failed.error_message, std::string(200, 'm'));
  }
}

TEST(ProtobufRoundTrip, DataMessages) {
  const std::string long_text(70000, 'q');
  const std::string group(1024, 'g');
  for (const DataType type :
       {DataType::json, DataType::text, DataType::binary, DataType::protobuf}) {
    for (const MessageSource from : {MessageSource::group, MessageSource::server}) {
      for (const std::string_view data :
           {std::string_view("[1,2]"), std::string_view(long_text), std::string_view("")}) {
        DataMessageView view;
        view.from = from;
        view.group = group;
        view.type = type;
        view.data = data;
        const Downstream parsed = parse_or_fail(pb::encode_data_message(view));
        EXPECT_EQ(parsed.kind, Downstream::Kind::data);
        EXPECT_EQ(parsed.from, from == MessageSource::group ? "group" : "server");
        if (from == MessageSource::group) {
          EXPECT_EQ(parsed.group, group);
        } else {
          EXPECT_FALSE(parsed.group.has_value());
        }
        const std::uint32_t expected_case = type == DataType::binary     ? 2u
                                            : type == DataType::protobuf ? 3u
                                                                         : 1u;
        EXPECT_EQ(parsed.data_case, expected_case);
        EXPECT_EQ(parsed.data, data);
        EXPECT_FALSE(parsed.sequence_id.has_value());
      }
    }
  }
}

TEST(ProtobufRoundTrip, SystemMessages) {
  const std::string user = "user@example";
  const Downstream connected = parse_or_fail(pb::encode_connected("conn-1", &user, "token"));
  EXPECT_EQ(connected.kind, Downstream::Kind::connected);
  EXPECT_EQ(connected.connection_id, "conn-1");
  EXPECT_EQ(connected.user_id, user);
  EXPECT_EQ(connected.reconnection_token, "token");
  const Downstream anonymous = parse_or_fail(pb::encode_connected("conn-2", nullptr));
  EXPECT_EQ(anonymous.user_id, "");
  EXPECT_FALSE(anonymous.reconnection_token.has_value());
  const std::string reason(500, 'r');
  const Downstream disconnected = parse_or_fail(pb::encode_disconnected(reason));
  EXPECT_EQ(disconnected.kind, Downstream::Kind::disconnected);
  EXPECT_EQ(disconnected.reason, reason);
  EXPECT_EQ(parse_or_fail(pb::encode_pong()).kind, Downstream::Kind::pong);
}

TEST(ProtobufRoundTrip, DecodedPayloadsReencode) {
  const auto send = decode_as<SendToGroup>(ld(1, ld(1, "grp") + ld(3, ld(3, ld(1, "t/x")))));
  DataMessageView view;
  view.from = MessageSource::group;
  view.group = send.group;
  view.type = send.data.type;
  view.data = send.data.bytes;
  const Downstream parsed = parse_or_fail(pb::encode_data_message(view));
  EXPECT_EQ(parsed.group, "grp");
  EXPECT_EQ(parsed.data_case, 3u);
  EXPECT_EQ(parsed.data, ld(1, "t/x"));
}

// ---- with_sequence_id --------------------------------------------------------------------

TEST(ProtobufSequenceId, AppendsToTheDataMessage) {
  DataMessageView view;
  view.from = MessageSource::group;
  view.group = "g";
  view.type = DataType::text;
  view.data = "hi";
  EXPECT_EQ(hex(pb::with_sequence_id(pb::encode_data_message(view), 7)),
            "12 12 0a 05 67 72 6f 75 70 12 01 67 1a 04 0a 02 68 69 20 07");
}

TEST(ProtobufSequenceId, EqualsEncodingWithTheIdForEveryIdSize) {
  DataMessageView view;
  view.from = MessageSource::server;
  view.type = DataType::binary;
  for (const std::size_t payload_size : {0u, 100u, 113u, 114u, 115u, 116u, 16370u, 16400u}) {
    const std::string payload(payload_size, 'p');
    view.data = payload;
    view.sequence_id.reset();
    const std::string plain = pb::encode_data_message(view);
    std::vector<std::uint64_t> ids = {k_max_u64 - 1, k_max_u64};
    for (int bit = 0; bit < 64; ++bit) {
      ids.push_back((std::uint64_t{1} << bit) - 1);
      ids.push_back(std::uint64_t{1} << bit);
    }
    for (const std::uint64_t id : ids) {
      view.sequence_id = id;
      const std::string with = pb::with_sequence_id(plain, id);
      EXPECT_EQ(with, pb::encode_data_message(view)) << payload_size << " " << id;
      const Downstream parsed = parse_or_fail(with);
      EXPECT_EQ(parsed.sequence_id, id);
      EXPECT_EQ(parsed.data, payload);
    }
  }
}

TEST(ProtobufSequenceId, OuterLengthPrefixGrows) {
  // Inner size 126 -> 128 after appending 20 01: the outer prefix becomes two bytes.
  DataMessageView view;
  view.type = DataType::binary;
  const std::string payload(114, 'p');  // 8 + (2 + 2 + 114) = 126
  view.data = payload;
  const std::string plain = pb::encode_data_message(view);
  ASSERT_EQ(hex(plain.substr(0, 2)), "12 7e");
  const std::string with = pb::with_sequence_id(plain, 1);
  EXPECT_EQ(hex(with.substr(0, 3)), "12 80 01");
  EXPECT_EQ(with.size(), plain.size() + 3);
  EXPECT_EQ(parse_or_fail(with).sequence_id, 1u);
}

TEST(ProtobufSequenceId, ReplacesAnExistingId) {
  DataMessageView view;
  view.data = "1";
  view.sequence_id = 5;
  const std::string with = pb::with_sequence_id(pb::encode_data_message(view), 9);
  EXPECT_EQ(parse_or_fail(with).sequence_id, 9u);  // last occurrence wins
}

TEST(ProtobufSequenceId, LeavesOtherInputUnchanged) {
  const std::string user = "u";
  for (const std::string& input :
       {pb::encode_ack(Ack{1, std::nullopt}), pb::encode_pong(), pb::encode_connected("c", &user),
        pb::encode_disconnected("r"), std::string(), bytes({0x12}), bytes({0x12, 0x05, 0x0a}),
        bytes({0x12, 0x00, 0x22, 0x00}), bytes({0x12, 0x80}), bytes({0x92, 0x00}),
        bytes({0x12, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})}) {
    EXPECT_EQ(pb::with_sequence_id(input, 3), input) << hex(input);
  }
  // An empty data message is still a data message.
  EXPECT_EQ(hex(pb::with_sequence_id(bytes({0x12, 0x00}), 3)), "12 02 20 03");
}

}  // namespace
