#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cmath>
#include <string>

#include "protocol/json_codec.hpp"
#include "util/base64.hpp"

namespace {

using namespace wps::protocol;
using wps::protocol::json::decode_client_message;

// Decodes `frame`, expecting success and a message of type T.
template <typename T>
T decode_as(std::string_view frame) {
  const DecodeResult result = decode_client_message(frame);
  EXPECT_TRUE(result) << frame << " -> " << result.error.reason;
  if (!result) {
    return T{};
  }
  const T* message = std::get_if<T>(&*result.message);
  EXPECT_NE(message, nullptr) << frame;
  return message != nullptr ? *message : T{};
}

// Decodes `frame`, expecting a 1007 rejection with a short reason.
std::string expect_rejected(std::string_view frame) {
  const DecodeResult result = decode_client_message(frame);
  EXPECT_FALSE(result) << frame;
  EXPECT_FALSE(result.message.has_value());
  EXPECT_EQ(result.error.close_code, 1007) << frame;
  EXPECT_FALSE(result.error.reason.empty()) << frame;
  EXPECT_LT(result.error.reason.size(), 123u) << frame;
  return result.error.reason;
}

std::string repeat(std::string_view unit, std::size_t count) {
  std::string out;
  for (std::size_t i = 0; i < count; ++i) {
    out.append(unit);
  }
  return out;
}

// ---- envelope ----------------------------------------------------------------------------

TEST(JsonDecode, RejectsMalformedJson) {
  EXPECT_EQ(expect_rejected(""), "The client message is not a valid JSON protocol message.");
  expect_rejected("{");
  expect_rejected("{\"type\":\"ping\"");
  expect_rejected("{\"type\":\"ping\"} x");
  expect_rejected("{\"type\":\"ping\"}{}");
  expect_rejected("{'type':'ping'}");
  expect_rejected("{\"type\":\"ping\",}");
  expect_rejected("{\"type\":\"ping\"/*c*/}");
  expect_rejected("{\"type\":\"p\xffing\"}");  // invalid UTF-8 inside a string
  expect_rejected(std::string("{\"type\":\"ping\"}\0", 16));
}

TEST(JsonDecode, RejectsNonObjects) {
  expect_rejected("null");
  expect_rejected("[]");
  expect_rejected("[{\"type\":\"ping\"}]");
  expect_rejected("\"ping\"");
  expect_rejected("42");
  expect_rejected("true");
}

TEST(JsonDecode, RequiresStringType) {
  expect_rejected("{}");
  expect_rejected(R"({"Type":"ping"})");
  expect_rejected(R"({"type":null})");
  expect_rejected(R"({"type":1})");
  expect_rejected(R"({"type":["ping"]})");
}

TEST(JsonDecode, RejectsUnknownTypeNamingIt) {
  EXPECT_EQ(expect_rejected(R"({"type":"foo"})"), "Unknown message type 'foo'.");
  expect_rejected(R"({"type":""})");
  expect_rejected(R"({"type":"pingx"})");
  expect_rejected(R"({"type":"sendToConnection"})");
  // A long or non-ASCII type still gives a short printable reason.
  const std::string reason = expect_rejected(R"({"type":")" + repeat("\xc3\xa9", 500) + "\"}");
  for (const char c : reason) {
    EXPECT_TRUE(static_cast<unsigned char>(c) >= 0x20 && static_cast<unsigned char>(c) < 0x7F);
  }
}

TEST(JsonDecode, TypeIsCaseInsensitive) {
  decode_as<Ping>(R"({"type":"PING"})");
  decode_as<Ping>(R"({"type":"Ping"})");
  decode_as<JoinGroup>(R"({"type":"JOINGROUP","group":"g"})");
  decode_as<LeaveGroup>(R"({"type":"leavegroup","group":"g"})");
  decode_as<SendToGroup>(R"({"type":"SendToGroup","group":"g","data":1})");
  decode_as<Event>(R"({"type":"EVENT","event":"e"})");
  decode_as<SequenceAck>(R"({"type":"SEQUENCEACK","sequenceId":1})");
}

TEST(JsonDecode, IgnoresUnknownFieldsAndWhitespace) {
  decode_as<Ping>(R"(  {"type":"ping","extra":{"deep":[1,2,3]},"ackId":"ignored?"} )");
  const auto join = decode_as<JoinGroup>(
      "{\n \"ttlSeconds\": 5,\n \"type\": \"joinGroup\",\n \"group\": \"g\",\n \"x\": null\n}");
  EXPECT_EQ(join.group, "g");
}

TEST(JsonDecode, LimitsNestingDepth) {
  const std::string shallow =
      R"({"type":"sendToGroup","group":"g","data":)" + repeat("[", 60) + repeat("]", 60) + "}";
  decode_as<SendToGroup>(shallow);
  const std::string deep =
      R"({"type":"sendToGroup","group":"g","data":)" + repeat("[", 5000) + repeat("]", 5000) + "}";
  expect_rejected(deep);
}

// ---- ping / sequenceAck ------------------------------------------------------------------

TEST(JsonDecode, Ping) {
  decode_as<Ping>(R"({"type":"ping"})");
}

TEST(JsonDecode, SequenceAck) {
  EXPECT_EQ(decode_as<SequenceAck>(R"({"type":"sequenceAck","sequenceId":0})").sequence_id, 0u);
  EXPECT_EQ(decode_as<SequenceAck>(R"({"type":"sequenceAck","sequenceId":42})").sequence_id, 42u);
  EXPECT_EQ(decode_as<SequenceAck>(R"({"type":"sequenceAck","sequenceId":18446744073709551615})")
                .sequence_id,
            18446744073709551615u);
}

TEST(JsonDecode, SequenceAckRejectsBadSequenceId) {
  expect_rejected(R"({"type":"sequenceAck"})");
  expect_rejected(R"({"type":"sequenceAck","sequenceId":null})");
  expect_rejected(R"({"type":"sequenceAck","sequenceId":-1})");
  expect_rejected(R"({"type":"sequenceAck","sequenceId":1.5})");
  expect_rejected(R"({"type":"sequenceAck","sequenceId":"1"})");
  expect_rejected(R"({"type":"sequenceAck","sequenceId":18446744073709551616})");
}

// ---- ackId -------------------------------------------------------------------------------

TEST(JsonDecode, AckIdIsOptional) {
  EXPECT_FALSE(decode_as<JoinGroup>(R"({"type":"joinGroup","group":"g"})").ack_id);
}

TEST(JsonDecode, AckIdAcceptsUint64Range) {
  EXPECT_EQ(decode_as<JoinGroup>(R"({"type":"joinGroup","group":"g","ackId":0})").ack_id, 0u);
  EXPECT_EQ(decode_as<JoinGroup>(R"({"type":"joinGroup","group":"g","ackId":1})").ack_id, 1u);
  EXPECT_EQ(decode_as<JoinGroup>(R"({"type":"joinGroup","group":"g","ackId":9223372036854775807})")
                .ack_id,
            9223372036854775807u);
  EXPECT_EQ(decode_as<JoinGroup>(R"({"type":"joinGroup","group":"g","ackId":9223372036854775808})")
                .ack_id,
            9223372036854775808u);
  EXPECT_EQ(decode_as<JoinGroup>(R"({"type":"joinGroup","group":"g","ackId":18446744073709551615})")
                .ack_id,
            18446744073709551615u);
}

TEST(JsonDecode, AckIdRejectsNonIntegers) {
  for (const char* ack : {"-1", "1.5", "\"1\"", "18446744073709551616", "1e3", "1.0", "null",
                          "true", "[1]", "-9223372036854775808", "1e400"}) {
    const std::string frame =
        std::string(R"({"type":"joinGroup","group":"g","ackId":)") + ack + "}";
    EXPECT_EQ(expect_rejected(frame), "'ackId' must be a non-negative 64-bit integer.") << ack;
  }
}

TEST(JsonDecode, AckIdCheckedOnEveryAckableType) {
  EXPECT_EQ(decode_as<LeaveGroup>(R"({"type":"leaveGroup","group":"g","ackId":7})").ack_id, 7u);
  EXPECT_EQ(
      decode_as<SendToGroup>(R"({"type":"sendToGroup","group":"g","data":1,"ackId":8})").ack_id,
      8u);
  EXPECT_EQ(decode_as<Event>(R"({"type":"event","event":"e","ackId":9})").ack_id, 9u);
  expect_rejected(R"({"type":"leaveGroup","group":"g","ackId":-1})");
  expect_rejected(R"({"type":"sendToGroup","group":"g","data":1,"ackId":1.5})");
  expect_rejected(R"({"type":"event","event":"e","ackId":"1"})");
}

// ---- joinGroup / leaveGroup --------------------------------------------------------------

TEST(JsonDecode, JoinAndLeaveGroup) {
  const auto join = decode_as<JoinGroup>(R"({"type":"joinGroup","group":"group 1","ackId":3})");
  EXPECT_EQ(join.group, "group 1");
  EXPECT_EQ(join.ack_id, 3u);
  const auto leave = decode_as<LeaveGroup>(R"({"type":"leaveGroup","group":"g"})");
  EXPECT_EQ(leave.group, "g");
}

TEST(JsonDecode, GroupNamesAreUnescapedUnicode) {
  EXPECT_EQ(decode_as<JoinGroup>(R"({"type":"joinGroup","group":"\u7fa4\u7ec4"})").group,
            "\xe7\xbe\xa4\xe7\xbb\x84");
  EXPECT_EQ(decode_as<JoinGroup>("{\"type\":\"joinGroup\",\"group\":\"\xe7\xbe\xa4\"}").group,
            "\xe7\xbe\xa4");
  EXPECT_EQ(decode_as<JoinGroup>(R"({"type":"joinGroup","group":"\ud83d\ude00"})").group,
            "\xf0\x9f\x98\x80");
  EXPECT_EQ(decode_as<JoinGroup>(R"({"type":"joinGroup","group":"a\"b\\c"})").group, "a\"b\\c");
}

TEST(JsonDecode, GroupLengthIsCountedInCodePoints) {
  const auto frame = [](const std::string& group) {
    return R"({"type":"joinGroup","group":")" + group + "\"}";
  };
  decode_as<JoinGroup>(frame(repeat("a", 1024)));
  expect_rejected(frame(repeat("a", 1025)));
  EXPECT_EQ(decode_as<JoinGroup>(frame(repeat("\xe7\xbe\xa4", 1024))).group.size(), 3072u);
  expect_rejected(frame(repeat("\xe7\xbe\xa4", 1025)));
  decode_as<JoinGroup>(frame(repeat("\\ud83d\\ude00", 1024)));
  expect_rejected(frame(repeat("\\ud83d\\ude00", 1025)));
}

TEST(JsonDecode, RejectsMissingOrInvalidGroup) {
  for (const char* type : {"joinGroup", "leaveGroup", "sendToGroup"}) {
    const std::string prefix = std::string(R"({"type":")") + type + R"(","data":1)";
    expect_rejected(prefix + "}");
    expect_rejected(prefix + R"(,"group":null})");
    expect_rejected(prefix + R"(,"group":1})");
    expect_rejected(prefix + R"(,"group":["g"]})");
    expect_rejected(prefix + R"(,"group":""})");
    expect_rejected(prefix + R"(,"group":"   "})");
    expect_rejected(prefix + R"(,"group":"\t\n"})");
    expect_rejected(prefix + R"(,"group":"\u3000"})");
    expect_rejected(prefix + R"(,"Group":"g"})");
  }
}

// ---- sendToGroup -------------------------------------------------------------------------

TEST(JsonDecode, SendToGroupJsonDefault) {
  const auto m = decode_as<SendToGroup>(
      R"({"type":"sendToGroup","group":"g","ackId":1,"data":{"a":[1,"x",true,null]}})");
  EXPECT_EQ(m.group, "g");
  EXPECT_EQ(m.ack_id, 1u);
  EXPECT_FALSE(m.no_echo);
  EXPECT_EQ(m.data.type, DataType::json);
  EXPECT_EQ(m.data.bytes, R"({"a":[1,"x",true,null]})");
}

TEST(JsonDecode, SendToGroupJsonScalarsAreSerialized) {
  const auto data_of = [](const std::string& data) {
    return decode_as<SendToGroup>(R"({"type":"sendToGroup","group":"g","dataType":"json","data":)" +
                                  data + "}")
        .data.bytes;
  };
  EXPECT_EQ(data_of(R"("hello")"), R"("hello")");
  EXPECT_EQ(data_of(R"( "a\"b\u00e9" )"), "\"a\\\"b\xc3\xa9\"");
  EXPECT_EQ(data_of("42"), "42");
  EXPECT_EQ(data_of("-7"), "-7");
  EXPECT_EQ(data_of("false"), "false");
  EXPECT_EQ(data_of("[]"), "[]");
  EXPECT_EQ(data_of("{ }"), "{}");
  EXPECT_EQ(data_of("\"\""), "\"\"");
  EXPECT_EQ(data_of("18446744073709551615"), "18446744073709551615");
  EXPECT_EQ(data_of("-9223372036854775808"), "-9223372036854775808");
  // Doubles are written in their shortest round-trip form.
  EXPECT_EQ(data_of("1.5"), "1.5");
  EXPECT_EQ(data_of("1.0"), "1");
  EXPECT_EQ(boost::json::parse(data_of("1E5")).as_double(), 1e5);
  EXPECT_EQ(boost::json::parse(data_of("-2.5e-3")).as_double(), -2.5e-3);
  EXPECT_EQ(data_of(R"({"a" : 1, "b" : [ 1 , 2 ] })"), R"({"a":1,"b":[1,2]})");
}

TEST(JsonDecode, SendToGroupJsonOutOfRangeNumbersStayValidJson) {
  const auto data_of = [](const std::string& data) {
    return decode_as<SendToGroup>(R"({"type":"sendToGroup","group":"g","data":)" + data + "}")
        .data.bytes;
  };
  // Boost.JSON reads these as infinities; they must not come out as the non-JSON `Infinity`.
  EXPECT_EQ(data_of("[2.51e400,-1e400]"), "[1e999,-1e999]");
  EXPECT_TRUE(std::isinf(boost::json::parse(data_of("1e400")).as_double()));
  EXPECT_EQ(data_of("1e-400"), "0");
}

TEST(JsonDecode, SendToGroupJsonRejectsNullOrMissingData) {
  expect_rejected(R"({"type":"sendToGroup","group":"g","data":null})");
  expect_rejected(R"({"type":"sendToGroup","group":"g","dataType":"json","data":null})");
  expect_rejected(R"({"type":"sendToGroup","group":"g"})");
  expect_rejected(R"({"type":"sendToGroup","group":"g","dataType":"json"})");
}

TEST(JsonDecode, SendToGroupText) {
  const auto m = decode_as<SendToGroup>(
      R"({"type":"sendToGroup","group":"g","dataType":"text","data":"hi \"there\"\n\u00e9"})");
  EXPECT_EQ(m.data.type, DataType::text);
  EXPECT_EQ(m.data.bytes, "hi \"there\"\n\xc3\xa9");
  EXPECT_EQ(
      decode_as<SendToGroup>(R"({"type":"sendToGroup","group":"g","dataType":"text","data":""})")
          .data.bytes,
      "");
  EXPECT_EQ(decode_as<SendToGroup>(
                R"({"type":"sendToGroup","group":"g","dataType":"text","data":"a\u0000b"})")
                .data.bytes,
            std::string("a\0b", 3));
}

TEST(JsonDecode, SendToGroupTextRequiresString) {
  for (const char* data : {"1", "null", "true", "{}", "[\"a\"]"}) {
    expect_rejected(std::string(R"({"type":"sendToGroup","group":"g","dataType":"text","data":)") +
                    data + "}");
  }
  expect_rejected(R"({"type":"sendToGroup","group":"g","dataType":"text"})");
}

TEST(JsonDecode, SendToGroupBinaryAndProtobufDecodeBase64) {
  const std::string bytes(
      "\x00\x01\xfe\xff"
      "abc",
      7);
  const std::string encoded = wps::util::base64_encode(bytes);
  for (const auto& [name, type] :
       {std::pair{"binary", DataType::binary}, std::pair{"protobuf", DataType::protobuf}}) {
    const auto m =
        decode_as<SendToGroup>(std::string(R"({"type":"sendToGroup","group":"g","dataType":")") +
                               name + R"(","data":")" + encoded + "\"}");
    EXPECT_EQ(m.data.type, type);
    EXPECT_EQ(m.data.bytes, bytes);
  }
  EXPECT_EQ(
      decode_as<SendToGroup>(R"({"type":"sendToGroup","group":"g","dataType":"binary","data":""})")
          .data.bytes,
      "");
}

TEST(JsonDecode, SendToGroupBinaryRejectsBadBase64) {
  for (const char* type : {"binary", "protobuf"}) {
    const std::string prefix =
        std::string(R"({"type":"sendToGroup","group":"g","dataType":")") + type + R"(","data":)";
    expect_rejected(prefix + R"("Zg"})");     // unpadded
    expect_rejected(prefix + R"("Zm9v!"})");  // bad character
    expect_rejected(prefix + R"("-_-_"})");   // base64url alphabet
    expect_rejected(prefix + R"("Zg==Zg=="})");
    expect_rejected(prefix + R"(1})");
    expect_rejected(prefix + R"(null})");
    expect_rejected(prefix + R"(["Zg=="]})");
    expect_rejected(std::string(R"({"type":"sendToGroup","group":"g","dataType":")") + type +
                    "\"}");
  }
}

TEST(JsonDecode, SendToGroupRejectsUnknownDataType) {
  expect_rejected(R"({"type":"sendToGroup","group":"g","dataType":"xml","data":"x"})");
  expect_rejected(R"({"type":"sendToGroup","group":"g","dataType":"JSON","data":"x"})");
  expect_rejected(R"({"type":"sendToGroup","group":"g","dataType":"","data":"x"})");
  expect_rejected(R"({"type":"sendToGroup","group":"g","dataType":1,"data":"x"})");
  expect_rejected(R"({"type":"sendToGroup","group":"g","dataType":null,"data":"x"})");
}

TEST(JsonDecode, SendToGroupNoEcho) {
  EXPECT_TRUE(decode_as<SendToGroup>(R"({"type":"sendToGroup","group":"g","noEcho":true,"data":1})")
                  .no_echo);
  EXPECT_FALSE(
      decode_as<SendToGroup>(R"({"type":"sendToGroup","group":"g","noEcho":false,"data":1})")
          .no_echo);
  for (const char* value : {"\"true\"", "1", "0", "null", "[]"}) {
    expect_rejected(std::string(R"({"type":"sendToGroup","group":"g","data":1,"noEcho":)") + value +
                    "}");
  }
}

// ---- event -------------------------------------------------------------------------------

TEST(JsonDecode, EventWithEachDataType) {
  auto m = decode_as<Event>(R"({"type":"event","event":"chat","ackId":2,"data":{"x":1}})");
  EXPECT_EQ(m.event, "chat");
  EXPECT_EQ(m.ack_id, 2u);
  EXPECT_EQ(m.data.type, DataType::json);
  EXPECT_EQ(m.data.bytes, R"({"x":1})");

  m = decode_as<Event>(R"({"type":"event","event":"chat","dataType":"text","data":"hello"})");
  EXPECT_EQ(m.data.type, DataType::text);
  EXPECT_EQ(m.data.bytes, "hello");

  m = decode_as<Event>(R"({"type":"event","event":"chat","dataType":"binary","data":"AAE="})");
  EXPECT_EQ(m.data.type, DataType::binary);
  EXPECT_EQ(m.data.bytes, std::string("\x00\x01", 2));

  m = decode_as<Event>(R"({"type":"event","event":"chat","dataType":"protobuf","data":"Zm8="})");
  EXPECT_EQ(m.data.type, DataType::protobuf);
  EXPECT_EQ(m.data.bytes, "fo");
}

TEST(JsonDecode, EventWithoutDataIsEmptyPayloadOfDeclaredType) {
  auto m = decode_as<Event>(R"({"type":"event","event":"ping-me"})");
  EXPECT_EQ(m.data.type, DataType::json);
  EXPECT_EQ(m.data.bytes, "");
  m = decode_as<Event>(R"({"type":"event","event":"e","dataType":"text"})");
  EXPECT_EQ(m.data.type, DataType::text);
  EXPECT_EQ(m.data.bytes, "");
  m = decode_as<Event>(R"({"type":"event","event":"e","dataType":"binary"})");
  EXPECT_EQ(m.data.type, DataType::binary);
  EXPECT_EQ(m.data.bytes, "");
}

TEST(JsonDecode, EventDataRulesMatchSendToGroup) {
  expect_rejected(R"({"type":"event","event":"e","data":null})");
  expect_rejected(R"({"type":"event","event":"e","dataType":"text","data":1})");
  expect_rejected(R"({"type":"event","event":"e","dataType":"binary","data":"Zg"})");
  expect_rejected(R"({"type":"event","event":"e","dataType":"protobuf","data":"@@@@"})");
  expect_rejected(R"({"type":"event","event":"e","dataType":"yaml","data":"x"})");
}

TEST(JsonDecode, EventNameRules) {
  EXPECT_EQ(decode_as<Event>(R"({"type":"event","event":"My.Event-1_x"})").event, "My.Event-1_x");
  decode_as<Event>(R"({"type":"event","event":")" + std::string("e") + repeat("x", 127) + "\"}");
  expect_rejected(R"({"type":"event","event":")" + std::string("e") + repeat("x", 128) + "\"}");
  expect_rejected(R"({"type":"event"})");
  expect_rejected(R"({"type":"event","event":null})");
  expect_rejected(R"({"type":"event","event":1})");
  expect_rejected(R"({"type":"event","event":""})");
  expect_rejected(R"({"type":"event","event":"1abc"})");
  expect_rejected(R"({"type":"event","event":"_abc"})");
  expect_rejected(R"({"type":"event","event":"a b"})");
  expect_rejected(R"({"type":"event","event":"a/b"})");
  expect_rejected(R"({"type":"event","event":"caf\u00e9"})");
}

}  // namespace

namespace {

TEST(JsonDecode, SendToGroupTtlAndMetadata) {
  const auto m = decode_as<SendToGroup>(
      R"({"type":"sendToGroup","group":"g","data":"x","dataType":"text","ttlSeconds":300,)"
      R"("metadata":{"Zk":"1","a":"b c","Zk":"2"}})");
  EXPECT_EQ(m.ttl_seconds, 300u);
  // Keys as sent, in order; a repeated key keeps its first place with the last value.
  EXPECT_EQ(m.metadata, (Metadata{{"Zk", "2"}, {"a", "b c"}}));
  const auto none = decode_as<SendToGroup>(
      R"({"type":"sendToGroup","group":"g","data":1,"ttlSeconds":null,"metadata":null})");
  EXPECT_EQ(none.ttl_seconds, 0u);
  EXPECT_TRUE(none.metadata.empty());
  // Metadata without data: an empty text payload.
  const auto only =
      decode_as<SendToGroup>(R"({"type":"sendToGroup","group":"g","metadata":{"k":"v"}})");
  EXPECT_EQ(only.data.type, DataType::text);
  EXPECT_EQ(only.data.bytes, "");
  const auto event = decode_as<Event>(R"({"type":"event","event":"e","metadata":{"k":"v"}})");
  EXPECT_EQ(event.metadata, (Metadata{{"k", "v"}}));
  EXPECT_EQ(event.data.type, DataType::text);
}

TEST(JsonDecode, TtlAndMetadataValidation) {
  EXPECT_EQ(expect_rejected(R"({"type":"sendToGroup","group":"g","data":1,"ttlSeconds":301})"),
            "Property 'ttlSeconds' is out of range. Allowed range is [0,300].");
  expect_rejected(R"({"type":"sendToGroup","group":"g","data":1,"ttlSeconds":-1})");
  expect_rejected(R"({"type":"sendToGroup","group":"g","data":1,"ttlSeconds":1.5})");
  expect_rejected(R"({"type":"sendToGroup","group":"g","data":1,"ttlSeconds":"5"})");
  expect_rejected(R"({"type":"sendToGroup","group":"g","data":1,"metadata":[]})");
  expect_rejected(R"({"type":"sendToGroup","group":"g","data":1,"metadata":{"k":1}})");
  expect_rejected(R"({"type":"sendToGroup","group":"g","data":1,"metadata":{"a b":"v"}})");
  expect_rejected(R"({"type":"sendToGroup","group":"g","data":1,"metadata":{"":"v"}})");
  expect_rejected(R"({"type":"event","event":"e","metadata":{"k":"\r\nX-Injected: 1"}})");
  expect_rejected(R"({"type":"event","event":"e","metadata":{"k":"\u00e9"}})");
  const std::string long_key(257, 'k');
  expect_rejected(R"({"type":"event","event":"e","metadata":{")" + long_key + R"(":"v"}})");
  decode_as<Event>(R"({"type":"event","event":"e","metadata":{")" + long_key.substr(1) +
                   R"(":"v"}})");
  // 9 entries of 1000-char values: over 8192 in total.
  std::string big = R"({"type":"event","event":"e","metadata":{)";
  for (int i = 0; i < 9; ++i)
    big += (i ? "," : "") + std::string("\"k") + std::to_string(i) + "\":\"" +
           std::string(1000, 'v') + "\"";
  big += "}}";
  expect_rejected(big);
}

}  // namespace

namespace {

TEST(JsonDecode, InvokeAndCancel) {
  const auto invoke = decode_as<Invoke>(
      R"({"type":"invoke","invocationId":"7","target":"event","event":"calc","dataType":"json","data":{"a":1}})");
  EXPECT_EQ(invoke.invocation_id, "7");
  EXPECT_EQ(invoke.target, "event");
  EXPECT_EQ(invoke.event, "calc");
  ASSERT_TRUE(invoke.data.has_value());
  EXPECT_EQ(invoke.data->bytes, R"({"a":1})");
  const auto bare = decode_as<Invoke>(R"({"type":"invoke","invocationId":"x","event":"e"})");
  EXPECT_FALSE(bare.data.has_value());
  EXPECT_EQ(bare.target, "event");
  // Another target is decoded (the handler answers BadRequest).
  EXPECT_EQ(
      decode_as<Invoke>(R"({"type":"invoke","invocationId":"x","target":"t","event":"e"})").target,
      "t");
  EXPECT_EQ(decode_as<CancelInvocation>(R"({"type":"cancelInvocation","invocationId":"7"})")
                .invocation_id,
            "7");
  expect_rejected(R"({"type":"invoke","invocationId":"","event":"e"})");
  expect_rejected(R"({"type":"invoke","invocationId":1,"event":"e"})");
  expect_rejected(R"({"type":"invoke","invocationId":"1"})");
  expect_rejected(R"({"type":"invoke","invocationId":"1","event":"e","data":"x"})");
  expect_rejected(R"({"type":"invoke","invocationId":"1","event":"e","dataType":"text"})");
  expect_rejected(R"({"type":"cancelInvocation"})");
}

TEST(JsonDecode, GroupStreams) {
  const auto start = decode_as<SendToGroup>(
      R"({"type":"sendToGroup","group":"g","noEcho":true,"ackId":3,"stream":{"streamId":"s","idleTimeoutMs":500}})");
  ASSERT_TRUE(start.stream.has_value());
  EXPECT_EQ(start.stream->stream_id, "s");
  EXPECT_EQ(start.stream->idle_timeout_ms, 500u);
  EXPECT_TRUE(start.stream->invalid.empty());
  EXPECT_FALSE(start.ack_id.has_value());  // a start is never acknowledged
  EXPECT_TRUE(start.no_echo);
  EXPECT_FALSE(
      decode_as<SendToGroup>(R"({"type":"sendToGroup","group":"g","stream":{"streamId":""}})")
          .stream->invalid.empty());
  EXPECT_FALSE(
      decode_as<SendToGroup>(
          R"({"type":"sendToGroup","group":"g","stream":{"streamId":"s","idleTimeoutMs":0}})")
          .stream->invalid.empty());
  EXPECT_FALSE(decode_as<SendToGroup>(
                   R"({"type":"sendToGroup","group":"g","data":1,"stream":{"streamId":"s"}})")
                   .stream->invalid.empty());
  expect_rejected(R"({"type":"sendToGroup","group":"g","stream":{}})");
  const auto data = decode_as<StreamData>(
      R"({"type":"streamData","streamId":"s","streamSequenceId":2,"dataType":"binary","data":"AQI="})");
  EXPECT_EQ(data.sequence_id, 2u);
  EXPECT_EQ(data.data.bytes, "\x01\x02");
  EXPECT_FALSE(decode_as<StreamData>(R"({"type":"streamData","streamId":"s"})").sequence_id);
  expect_rejected(R"({"type":"streamData","streamId":"s","streamSequenceId":2})");
  expect_rejected(R"({"type":"streamData","streamId":"s","data":"x"})");
  expect_rejected(R"({"type":"streamData"})");
  const auto end = decode_as<StreamEnd>(
      R"({"type":"streamEnd","streamId":"s","error":{"message":"m","userErrorCode":"E"}})");
  ASSERT_TRUE(end.error.has_value());
  EXPECT_EQ(end.error->message, "m");
  EXPECT_EQ(end.error->user_error_code, "E");
  expect_rejected(R"({"type":"streamEnd","streamId":"s","error":{"message":1}})");
}

}  // namespace
