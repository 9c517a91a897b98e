#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>

#include "protocol/json_codec.hpp"

namespace {

using namespace wps::protocol;
namespace codec = wps::protocol::json;

// Parses `text` strictly (valid UTF-8 required), failing the test when it is not valid JSON.
boost::json::value parse_strict(std::string_view text) {
  boost::system::error_code ec;
  boost::json::value value =
      boost::json::parse(boost::json::string_view(text.data(), text.size()), ec);
  EXPECT_FALSE(ec) << ec.message() << ": " << text;
  return value;
}

// ---- ack / pong / system -----------------------------------------------------------------

TEST(JsonEncode, AckSuccess) {
  EXPECT_EQ(codec::encode_ack(Ack{1, std::nullopt}), R"({"type":"ack","ackId":1,"success":true})");
  EXPECT_EQ(codec::encode_ack(Ack{0, std::nullopt}), R"({"type":"ack","ackId":0,"success":true})");
  EXPECT_EQ(codec::encode_ack(Ack{18446744073709551615u, std::nullopt}),
            R"({"type":"ack","ackId":18446744073709551615,"success":true})");
}

TEST(JsonEncode, AckError) {
  const Ack ack{5, AckError{std::string(ack_error::forbidden),
                            "The client does not have permission to join group 'g'."}};
  EXPECT_EQ(codec::encode_ack(ack),
            R"({"type":"ack","ackId":5,"success":false,"error":{"name":"Forbidden",)"
            R"("message":"The client does not have permission to join group 'g'."}})");
}

TEST(JsonEncode, AckErrorEscapesMessage) {
  const Ack ack{7, AckError{"Duplicate", "quote \" backslash \\ newline \n tab \t"}};
  const auto value = parse_strict(codec::encode_ack(ack));
  EXPECT_EQ(value.at("error").at("message").as_string(), "quote \" backslash \\ newline \n tab \t");
  EXPECT_EQ(value.at("success").as_bool(), false);
  EXPECT_EQ(value.at("ackId").as_int64(), 7);
}

TEST(JsonEncode, Pong) {
  EXPECT_EQ(codec::encode_pong(), R"({"type":"pong"})");
}

TEST(JsonEncode, Connected) {
  const std::string user = "user1";
  EXPECT_EQ(codec::encode_connected("abc", &user),
            R"({"type":"system","event":"connected","userId":"user1","connectionId":"abc"})");
  EXPECT_EQ(codec::encode_connected("abc", nullptr),
            R"({"type":"system","event":"connected","userId":null,"connectionId":"abc"})");
  EXPECT_EQ(codec::encode_connected("abc", nullptr, "tok.en"),
            R"({"type":"system","event":"connected","userId":null,"connectionId":"abc",)"
            R"("reconnectionToken":"tok.en"})");
  const std::string odd = "u\"\\\x01";
  const auto value = parse_strict(codec::encode_connected("c", &odd, "t"));
  EXPECT_EQ(value.at("userId").as_string(), odd);
}

TEST(JsonEncode, Disconnected) {
  EXPECT_EQ(codec::encode_disconnected("Closed by server"),
            R"({"type":"system","event":"disconnected","message":"Closed by server"})");
  EXPECT_EQ(codec::encode_disconnected(""),
            R"({"type":"system","event":"disconnected","message":""})");
}

// ---- escaping ----------------------------------------------------------------------------

TEST(JsonEncode, EscapesControlCharacters) {
  EXPECT_EQ(codec::encode_disconnected(std::string("\"\\/\b\f\n\r\t\x01\x1f\x7f\0", 12)),
            R"({"type":"system","event":"disconnected","message":"\"\\/\b\f\n\r\t\u0001\u001f)"
            "\x7f"
            R"(\u0000"})");
}

TEST(JsonEncode, KeepsValidUtf8AsIs) {
  const std::string text = "caf\xc3\xa9 \xe7\xbe\xa4 \xf0\x9f\x98\x80 \xef\xbf\xbf \xe2\x80\xa8";
  const std::string encoded = codec::encode_disconnected(text);
  EXPECT_NE(encoded.find(text), std::string::npos);
  EXPECT_EQ(parse_strict(encoded).at("message").as_string(), text);
}

TEST(JsonEncode, ReplacesIllFormedUtf8) {
  const auto message_of = [](std::string_view raw) {
    return std::string(parse_strict(codec::encode_disconnected(raw)).at("message").as_string());
  };
  const std::string fffd = "\xef\xbf\xbd";
  EXPECT_EQ(message_of("a\xff"
                       "b"),
            "a" + fffd + "b");
  EXPECT_EQ(message_of("\x80"), fffd);
  EXPECT_EQ(message_of("\xc3"), fffd);                        // truncated at end
  EXPECT_EQ(message_of("\xc3x"), fffd + "x");                 // truncated before ASCII
  EXPECT_EQ(message_of("\xe7\xbe"), fffd);                    // maximal subpart -> one U+FFFD
  EXPECT_EQ(message_of("\xc0\xaf"), fffd + fffd);             // overlong
  EXPECT_EQ(message_of("\xed\xa0\x80"), fffd + fffd + fffd);  // surrogate
  EXPECT_EQ(message_of("\xf4\x90\x80\x80"), fffd + fffd + fffd + fffd);  // > U+10FFFF
  EXPECT_EQ(message_of("\xf0\x9f\x98"), fffd);
  EXPECT_EQ(message_of("ok\xe7\xbe\xa4\xff\xe7\xbe\xa4"), "ok\xe7\xbe\xa4" + fffd + "\xe7\xbe\xa4");
}

TEST(JsonEncode, EveryByteStringEncodesToValidJson) {
  std::string bytes;
  for (int i = 0; i < 256; ++i) {
    bytes.push_back(static_cast<char>(i));
  }
  const std::string user = bytes;
  parse_strict(codec::encode_connected(bytes, &user, bytes));
  parse_strict(codec::encode_ack(Ack{1, AckError{bytes, bytes}}));
  DataMessageView view;
  view.from = MessageSource::group;
  view.group = bytes;
  view.from_user_id = &user;
  view.type = DataType::text;
  view.data = bytes;
  parse_strict(codec::encode_data_message(view));
}

// ---- data messages -----------------------------------------------------------------------

TEST(JsonEncode, GroupJsonMessageInsertsDataVerbatim) {
  const std::string user = "u";
  DataMessageView view;
  view.from = MessageSource::group;
  view.group = "g";
  view.from_user_id = &user;
  view.type = DataType::json;
  view.data = R"({"a":[1,2]})";
  EXPECT_EQ(codec::encode_data_message(view),
            R"({"type":"message","from":"group","fromUserId":"u","group":"g","dataType":"json",)"
            R"("data":{"a":[1,2]}})");
}

TEST(JsonEncode, GroupMessageFromAnonymousHasNullUser) {
  DataMessageView view;
  view.from = MessageSource::group;
  view.group = "g 1";
  view.type = DataType::text;
  view.data = "hi";
  EXPECT_EQ(codec::encode_data_message(view),
            R"({"type":"message","from":"group","fromUserId":null,"group":"g 1","dataType":"text",)"
            R"("data":"hi"})");
}

TEST(JsonEncode, ServerMessageOmitsGroupFields) {
  const std::string user = "ignored";
  DataMessageView view;
  view.from = MessageSource::server;
  view.group = "ignored";
  view.from_user_id = &user;
  view.type = DataType::json;
  view.data = R"("plain string")";
  EXPECT_EQ(codec::encode_data_message(view),
            R"({"type":"message","from":"server","dataType":"json","data":"plain string"})");
}

TEST(JsonEncode, TextDataIsEscaped) {
  DataMessageView view;
  view.type = DataType::text;
  view.data = "line\n\"q\" \xe7\xbe\xa4";
  EXPECT_EQ(codec::encode_data_message(view),
            "{\"type\":\"message\",\"from\":\"server\",\"dataType\":\"text\",\"data\":"
            "\"line\\n\\\"q\\\" \xe7\xbe\xa4\"}");
}

TEST(JsonEncode, BinaryAndProtobufDataAreBase64) {
  DataMessageView view;
  view.type = DataType::binary;
  view.data = std::string_view("\x00\x01\xfe\xff", 4);
  EXPECT_EQ(codec::encode_data_message(view),
            R"({"type":"message","from":"server","dataType":"binary","data":"AAH+/w=="})");
  view.type = DataType::protobuf;
  view.data = "foo";
  EXPECT_EQ(codec::encode_data_message(view),
            R"({"type":"message","from":"server","dataType":"protobuf","data":"Zm9v"})");
  view.data = "";
  EXPECT_EQ(codec::encode_data_message(view),
            R"({"type":"message","from":"server","dataType":"protobuf","data":""})");
}

TEST(JsonEncode, SequenceIdWhenPresent) {
  DataMessageView view;
  view.from = MessageSource::group;
  view.group = "g";
  view.type = DataType::json;
  view.data = "1";
  view.sequence_id = 1;
  EXPECT_EQ(codec::encode_data_message(view),
            R"({"type":"message","from":"group","fromUserId":null,"group":"g","dataType":"json",)"
            R"("data":1,"sequenceId":1})");
  view.from = MessageSource::server;
  view.sequence_id = 18446744073709551615u;
  EXPECT_EQ(codec::encode_data_message(view),
            R"({"type":"message","from":"server","dataType":"json","data":1,)"
            R"("sequenceId":18446744073709551615})");
}

TEST(JsonEncode, DecodedPayloadsRoundTripThroughEncoder) {
  const char* frames[] = {
      R"({"type":"sendToGroup","group":"g","data":{"k":["v",1.25,null,{"n":-3}]}})",
      R"({"type":"sendToGroup","group":"g","dataType":"text","data":"a\u0000\"\\\u00e9\ud83d\ude00"})",
      R"({"type":"sendToGroup","group":"g","dataType":"binary","data":"AAECAwQF/w=="})",
      R"({"type":"sendToGroup","group":"g","dataType":"protobuf","data":"CgR0ZXN0"})",
  };
  for (const char* frame : frames) {
    const DecodeResult result = codec::decode_client_message(frame);
    ASSERT_TRUE(result) << frame;
    const auto& send = std::get<SendToGroup>(*result.message);
    DataMessageView view;
    view.from = MessageSource::group;
    view.group = send.group;
    view.type = send.data.type;
    view.data = send.data.bytes;
    const auto encoded = parse_strict(codec::encode_data_message(view));
    const auto original = parse_strict(frame);
    EXPECT_EQ(encoded.at("data"), original.at("data")) << frame;
    EXPECT_EQ(encoded.at("dataType").as_string(), to_string(send.data.type));
    EXPECT_EQ(encoded.at("group").as_string(), "g");
  }
}

}  // namespace

namespace {

TEST(JsonEncode, EmptyJsonPayloadBecomesNull) {
  wps::protocol::DataMessageView view;
  view.type = wps::protocol::DataType::json;
  view.data = "";
  EXPECT_EQ(wps::protocol::json::encode_data_message(view),
            R"({"type":"message","from":"server","dataType":"json","data":null})");
}

}  // namespace

namespace {

TEST(JsonEncode, DataMessageMetadata) {
  DataMessageView view;
  view.from = MessageSource::server;
  view.type = DataType::text;
  view.data = "x";
  const Metadata metadata{{"Zk", "v\"1"}, {"a", ""}};
  view.metadata = &metadata;
  const std::string out = codec::encode_data_message(view);
  EXPECT_EQ(
      out,
      R"({"type":"message","from":"server","dataType":"text","data":"x","metadata":{"Zk":"v\"1","a":""}})");
  parse_strict(codec::with_sequence_id(out, 4));
  const Metadata empty;
  view.metadata = &empty;
  EXPECT_EQ(codec::encode_data_message(view).find("metadata"), std::string::npos);
}

}  // namespace

namespace {

TEST(JsonEncode, InvokeResponses) {
  EXPECT_EQ(
      codec::encode_invoke_response({"1", Payload{DataType::text, "hi"}, std::nullopt}),
      R"({"type":"invokeResponse","invocationId":"1","success":true,"dataType":"text","data":"hi"})");
  EXPECT_EQ(codec::encode_invoke_response({"2", std::nullopt, std::nullopt}),
            R"({"type":"invokeResponse","invocationId":"2","success":true})");
  EXPECT_EQ(
      codec::encode_invoke_response({"3", std::nullopt, AckError{"InternalServerError", "x"}}),
      R"({"type":"invokeResponse","invocationId":"3","success":false,"error":{"name":"InternalServerError","message":"x"}})");
}

TEST(JsonEncode, StreamMessages) {
  EXPECT_EQ(codec::encode_stream_ack({"s", 1}),
            R"({"type":"streamAck","streamId":"s","expectedSequenceId":1})");
  EXPECT_EQ(
      codec::encode_stream_nack({"s", "InvalidSequenceId", "m", 2}),
      R"({"type":"streamNack","streamId":"s","expectedSequenceId":2,"name":"InvalidSequenceId","message":"m"})");
  EXPECT_EQ(codec::encode_stream_closed({"s", std::nullopt}),
            R"({"type":"streamClosed","streamId":"s"})");
  EXPECT_EQ(
      codec::encode_stream_closed({"s", AckError{"StreamNotFound", "m"}}),
      R"({"type":"streamClosed","streamId":"s","error":{"name":"StreamNotFound","message":"m"}})");
  const StreamInfo fragment{"s", 1, false, std::nullopt};
  DataMessageView view;
  view.from = MessageSource::group;
  view.group = "g";
  view.type = DataType::text;
  view.data = "a";
  view.stream = &fragment;
  EXPECT_EQ(
      codec::encode_data_message(view),
      R"({"type":"message","from":"group","fromUserId":null,"group":"g","dataType":"text","data":"a","stream":{"streamId":"s","streamSequenceId":1}})");
  const StreamInfo end{"s", 2, true, StreamError{"UserError", "m", "E"}};
  view.stream = &end;
  view.data = "";
  EXPECT_EQ(
      codec::encode_data_message(view),
      R"({"type":"message","from":"group","fromUserId":null,"group":"g","dataType":"text","data":"","stream":{"streamId":"s","streamSequenceId":2,"endOfStream":true,"error":{"name":"UserError","message":"m","userErrorCode":"E"}}})");
}

}  // namespace
