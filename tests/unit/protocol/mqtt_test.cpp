// MQTT 3.1.1 / 5.0 packets: hand-written wire bytes decode to the expected values, every packet
// type round-trips at both levels, the reader cuts packets out of any split of the stream, and
// each rule of the standards the server enforces fails with its reason code.
#include "protocol/mqtt.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace wps::protocol::mqtt {
namespace {

std::string bytes(std::initializer_list<int> values) {
  std::string out;
  for (int v : values)
    out.push_back(static_cast<char>(v));
  return out;
}

Packet decode_one(const std::string& wire, std::uint8_t level = k_level_5) {
  Reader reader(1 << 20);
  reader.set_level(level);
  reader.feed(wire);
  auto result = reader.next();
  EXPECT_EQ(result.kind, Reader::Result::Kind::packet) << result.error.message;
  EXPECT_EQ(reader.buffered(), 0u);
  return result.packet ? *result.packet : Packet{PingReq{}};
}

Error decode_error(const std::string& wire, std::uint8_t level = k_level_5,
                   std::size_t limit = 1 << 20) {
  Reader reader(limit);
  reader.set_level(level);
  reader.feed(wire);
  auto result = reader.next();
  EXPECT_EQ(result.kind, Reader::Result::Kind::error);
  return result.error;
}

TEST(MqttDecode, Connect311AsWritten) {
  // CONNECT, "MQTT", level 4, flags: user name + password + clean session, keep alive 60,
  // client id "abc", user "u", password "pw".
  const std::string wire = bytes({0x10, 22, 0,   4,   'M', 'Q', 'T', 'T', 4, 0xC2, 0,   60,
                                  0,    3,  'a', 'b', 'c', 0,   1,   'u', 0, 2,    'p', 'w'});
  const auto connect = std::get<Connect>(decode_one(wire, k_level_5));
  EXPECT_EQ(connect.level, k_level_311);
  EXPECT_TRUE(connect.clean_start);
  EXPECT_EQ(connect.keep_alive, 60);
  EXPECT_EQ(connect.client_id, "abc");
  EXPECT_EQ(connect.username, "u");
  EXPECT_EQ(connect.password, "pw");
  EXPECT_FALSE(connect.will);
  EXPECT_EQ(encode(connect, k_level_311), wire);
}

TEST(MqttDecode, Connect5WithPropertiesAndWill) {
  // Level 5, flags: will (QoS 1, retain) + clean start, keep alive 30; properties: session
  // expiry 120, receive maximum 10, user property a=b; client id "c1"; will properties: will
  // content type "text/plain", will delay 5; will topic "t", payload "bye".
  std::string body = bytes({0, 4, 'M', 'Q', 'T', 'T', 5, 0x2E, 0, 30});
  const std::string props = bytes({0x11, 0, 0, 0, 120, 0x21, 0, 10, 0x26, 0, 1, 'a', 0, 1, 'b'});
  body.push_back(static_cast<char>(props.size()));
  body += props;
  body += bytes({0, 2, 'c', '1'});
  const std::string will_props =
      bytes({0x03, 0, 10, 't', 'e', 'x', 't', '/', 'p', 'l', 'a', 'i', 'n', 0x18, 0, 0, 0, 5});
  body.push_back(static_cast<char>(will_props.size()));
  body += will_props;
  body += bytes({0, 1, 't', 0, 3, 'b', 'y', 'e'});
  const std::string wire = bytes({0x10, static_cast<int>(body.size())}) + body;
  const auto connect = std::get<Connect>(decode_one(wire));
  EXPECT_EQ(connect.level, k_level_5);
  EXPECT_EQ(connect.keep_alive, 30);
  EXPECT_EQ(connect.properties.session_expiry_interval, 120u);
  EXPECT_EQ(connect.properties.receive_maximum, 10);
  ASSERT_EQ(connect.properties.user_properties.size(), 1u);
  EXPECT_EQ(connect.properties.user_properties[0], (UserProperty{"a", "b"}));
  EXPECT_EQ(connect.client_id, "c1");
  ASSERT_TRUE(connect.will);
  EXPECT_EQ(connect.will->qos, 1);
  EXPECT_TRUE(connect.will->retain);
  EXPECT_EQ(connect.will->properties.will_delay_interval, 5u);
  EXPECT_EQ(connect.will->properties.content_type, "text/plain");
  EXPECT_EQ(connect.will->topic, "t");
  EXPECT_EQ(connect.will->payload, "bye");
  EXPECT_EQ(encode(connect, k_level_5), wire);
}

TEST(MqttDecode, Publish5WithProperties) {
  // QoS 1 PUBLISH to "g" id 7, content type "a/b", correlation data "x", payload "hi".
  const std::string wire =
      bytes({0x32, 18, 0, 1, 'g', 0, 7, 10, 0x03, 0, 3, 'a', '/', 'b', 0x09, 0, 1, 'x', 'h', 'i'});
  const auto publish = std::get<Publish>(decode_one(wire));
  EXPECT_EQ(publish.qos, 1);
  EXPECT_EQ(publish.topic, "g");
  EXPECT_EQ(publish.packet_id, 7);
  EXPECT_EQ(publish.properties.content_type, "a/b");
  EXPECT_EQ(publish.properties.correlation_data, "x");
  EXPECT_EQ(publish.payload, "hi");
  EXPECT_EQ(encode(publish, k_level_5), wire);
}

TEST(MqttDecode, ShortAcksOf5HaveSuccessCode) {
  const auto ack = std::get<PubResponse>(decode_one(bytes({0x40, 2, 0, 9})));
  EXPECT_EQ(ack.packet_id, 9);
  EXPECT_EQ(ack.code, 0);
  const auto disconnect = std::get<Disconnect>(decode_one(bytes({0xE0, 0})));
  EXPECT_EQ(disconnect.code, 0);
  const auto with_code = std::get<Disconnect>(decode_one(bytes({0xE0, 1, 0x04})));
  EXPECT_EQ(with_code.code, reason::disconnect_with_will);
}

std::vector<Packet> samples(std::uint8_t level) {
  Properties rich;
  if (level == k_level_5) {
    rich.reason_string = "why";
    rich.user_properties = {{"k", "v"}, {"k", "w"}};
  }
  Connect connect;
  connect.level = level;
  connect.keep_alive = 180;
  connect.client_id = "client1";
  connect.clean_start = false;
  connect.username = "user";
  connect.password = std::string("\0\xff", 2);
  Will will;
  will.qos = 2;
  will.topic = "will";
  will.payload = "gone";
  if (level == k_level_5) {
    connect.properties.session_expiry_interval = 30;
    connect.properties.maximum_packet_size = 1000;
    will.properties.message_expiry_interval = 9;
  }
  connect.will = will;
  Connack connack;
  connack.session_present = true;
  if (level == k_level_5) {
    connack.properties.assigned_client_identifier = "abc";
    connack.properties.server_keep_alive = 60;
    connack.properties.retain_available = 0;
    connack.properties.wildcard_subscription_available = 0;
    connack.properties.subscription_identifiers_available = 1;
    connack.properties.shared_subscription_available = 0;
    connack.properties.maximum_packet_size = 1 << 20;
  }
  Publish publish;
  publish.qos = 2;
  publish.dup = true;
  publish.retain = true;
  publish.topic = "group/a";
  publish.packet_id = 65535;
  publish.payload = std::string(300, 'x');  // two-byte Remaining Length
  if (level == k_level_5) {
    publish.properties.payload_format_indicator = 1;
    publish.properties.subscription_identifiers = {1, 268435455};
    publish.properties.response_topic = "r";
    publish.properties.user_properties = {{"a", ""}};
  }
  Subscribe subscribe;
  subscribe.packet_id = 3;
  subscribe.topics = {{"a", 0}, {"b", 2}};
  if (level == k_level_5) {
    subscribe.topics[1].no_local = true;
    subscribe.topics[1].retain_as_published = true;
    subscribe.topics[1].retain_handling = 2;
    subscribe.properties.subscription_identifiers = {42};
  }
  Unsubscribe unsubscribe;
  unsubscribe.packet_id = 4;
  unsubscribe.filters = {"a", "b"};
  std::vector<Packet> out = {connect,
                             connack,
                             publish,
                             PubResponse{PacketType::puback, 1, 0, {}},
                             PubResponse{PacketType::pubrec, 2, 0, {}},
                             PubResponse{PacketType::pubrel, 3, 0, {}},
                             PubResponse{PacketType::pubcomp, 4, 0, {}},
                             subscribe,
                             SubResponse{PacketType::suback, 3, rich, {0, 1, 2, 0x80}},
                             unsubscribe,
                             PingReq{},
                             PingResp{},
                             Disconnect{}};
  if (level == k_level_5) {
    out.push_back(PubResponse{PacketType::puback, 1, reason::not_authorized, rich});
    out.push_back(SubResponse{PacketType::unsuback, 4, rich, {0, 0x11}});
    out.push_back(Disconnect{reason::session_taken_over, rich});
    out.push_back(Auth{0x18, {}});
  } else {
    out.push_back(SubResponse{PacketType::unsuback, 4, {}, {}});
  }
  return out;
}

TEST(MqttRoundTrip, EveryPacketTypeAtBothLevels) {
  for (std::uint8_t level : {k_level_311, k_level_5}) {
    for (const Packet& packet : samples(level)) {
      const std::string wire = encode(packet, level);
      const Packet back = decode_one(wire, level);
      EXPECT_EQ(back, packet) << "level " << int(level) << " type index " << packet.index();
      EXPECT_EQ(encode(back, level), wire);
    }
  }
}

TEST(MqttReader, AnySplitYieldsTheSamePackets) {
  std::string stream;
  const auto packets = samples(k_level_5);
  for (const Packet& p : packets)
    stream += encode(p, k_level_5);
  for (std::size_t step : {1u, 2u, 3u, 7u, 64u, 100000u}) {
    Reader reader(1 << 20);
    std::vector<Packet> seen;
    for (std::size_t pos = 0; pos < stream.size(); pos += step) {
      reader.feed(std::string_view(stream).substr(pos, step));
      for (;;) {
        auto r = reader.next();
        ASSERT_NE(r.kind, Reader::Result::Kind::error) << r.error.message;
        if (r.kind == Reader::Result::Kind::need_more)
          break;
        seen.push_back(*r.packet);
      }
    }
    EXPECT_EQ(seen, packets) << "step " << step;
    EXPECT_EQ(reader.buffered(), 0u);
  }
}

TEST(MqttReader, OversizedPacketFailsFromItsHeader) {
  // A PUBLISH announcing 16,384 bytes: refused once its 3 header bytes are in, without the body.
  Reader reader(1000);
  reader.feed(bytes({0x30, 0x80, 0x80}));
  EXPECT_EQ(reader.next().kind, Reader::Result::Kind::need_more);
  reader.feed(bytes({0x01}));
  auto r = reader.next();
  ASSERT_EQ(r.kind, Reader::Result::Kind::error);
  EXPECT_EQ(r.error.code, reason::packet_too_large);
  // It stays failed.
  reader.feed(encode(PingReq{}, k_level_5));
  EXPECT_EQ(reader.next().kind, Reader::Result::Kind::error);
  // The limit counts the whole packet: 1000 bytes pass, 1001 do not.
  Publish p;
  p.topic = "t";
  p.payload = std::string(1000 - 3 - 3 - 1, 'x');  // header 3, topic 3, properties length 1
  const std::string exact = encode(p, k_level_5);
  ASSERT_EQ(exact.size(), 1000u);
  Reader fits(1000);
  fits.feed(exact);
  EXPECT_EQ(fits.next().kind, Reader::Result::Kind::packet);
  p.payload.push_back('x');
  EXPECT_EQ(decode_error(encode(p, k_level_5), k_level_5, 1000).code, reason::packet_too_large);
}

TEST(MqttReader, MalformedInput) {
  // Remaining Length of five bytes.
  EXPECT_EQ(decode_error(bytes({0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01})).code,
            reason::malformed_packet);
  // Packet type 0.
  EXPECT_EQ(decode_error(bytes({0x00, 0})).code, reason::malformed_packet);
  // SUBSCRIBE with flags 0 instead of 2.
  EXPECT_EQ(decode_error(bytes({0x80, 6, 0, 1, 0, 1, 'a', 0}), k_level_311).code,
            reason::malformed_packet);
  // PUBLISH QoS 3.
  EXPECT_EQ(decode_error(bytes({0x36, 5, 0, 1, 'a', 0, 1})).code, reason::malformed_packet);
  // DUP on QoS 0.
  EXPECT_EQ(decode_error(bytes({0x38, 4, 0, 1, 'a', 0})).code, reason::malformed_packet);
  // Topic with invalid UTF-8 and with U+0000.
  EXPECT_EQ(decode_error(bytes({0x30, 4, 0, 2, 0xC3, 0x28}), k_level_311).code,
            reason::malformed_packet);
  EXPECT_EQ(decode_error(bytes({0x30, 4, 0, 2, 'a', 0}), k_level_311).code,
            reason::malformed_packet);
  // A string running past the packet.
  EXPECT_EQ(decode_error(bytes({0x30, 3, 0, 9, 'a'}), k_level_311).code, reason::malformed_packet);
  // Trailing bytes after a PINGREQ's (empty) body and after a PUBACK's properties.
  EXPECT_EQ(decode_error(bytes({0xC0, 1, 0})).code, reason::malformed_packet);
  EXPECT_EQ(decode_error(bytes({0x40, 5, 0, 1, 0, 0, 7})).code, reason::malformed_packet);
  // Packet identifier 0 on a QoS 1 PUBLISH.
  EXPECT_EQ(decode_error(bytes({0x32, 5, 0, 1, 'a', 0, 0}), k_level_311).code,
            reason::malformed_packet);
  // Reserved CONNECT flag.
  EXPECT_EQ(decode_error(bytes({0x10, 12, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x01, 0, 60, 0, 0})).code,
            reason::malformed_packet);
  // Unknown property id 0x04.
  EXPECT_EQ(decode_error(bytes({0x30, 6, 0, 1, 'a', 2, 0x04, 0})).code, reason::malformed_packet);
  // 3.1.1 SUBSCRIBE options with reserved bits.
  EXPECT_EQ(decode_error(bytes({0x82, 6, 0, 1, 0, 1, 'a', 0x04}), k_level_311).code,
            reason::malformed_packet);
}

TEST(MqttReader, ProtocolErrors) {
  // Content type given twice.
  EXPECT_EQ(decode_error(bytes({0x30, 12, 0, 1, 'a', 8, 0x03, 0, 1, 'x', 0x03, 0, 1, 'y'})).code,
            reason::protocol_error);
  // Session expiry (a CONNECT property) in a PUBLISH.
  EXPECT_EQ(decode_error(bytes({0x30, 9, 0, 1, 'a', 5, 0x11, 0, 0, 0, 1})).code,
            reason::protocol_error);
  // Empty topic name without a topic alias; SUBSCRIBE without filters.
  EXPECT_EQ(decode_error(bytes({0x30, 3, 0, 0, 0})).code, reason::protocol_error);
  EXPECT_EQ(decode_error(bytes({0x82, 3, 0, 1, 0})).code, reason::protocol_error);
  // Retain Handling 3.
  EXPECT_EQ(decode_error(bytes({0x82, 7, 0, 1, 0, 0, 1, 'a', 0x30})).code, reason::protocol_error);
  // 3.1.1 password without user name.
  EXPECT_EQ(
      decode_error(bytes({0x10, 15, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x42, 0, 60, 0, 0, 0, 1, 'p'}))
          .code,
      reason::protocol_error);
  // Wildcards in a topic name.
  EXPECT_EQ(decode_error(bytes({0x30, 4, 0, 2, 'a', '#'}), k_level_311).code,
            reason::topic_name_invalid);
}

TEST(MqttReader, UnsupportedProtocolVersions) {
  // MQTT 3.1 (MQIsdp, level 3) and a made-up level 6.
  EXPECT_EQ(
      decode_error(bytes({0x10, 14, 0, 6, 'M', 'Q', 'I', 's', 'd', 'p', 3, 2, 0, 60, 0, 0})).code,
      reason::unsupported_protocol_version);
  EXPECT_EQ(decode_error(bytes({0x10, 12, 0, 4, 'M', 'Q', 'T', 'T', 6, 2, 0, 60, 0, 0})).code,
            reason::unsupported_protocol_version);
}

TEST(MqttRequalify, AddsQosPacketIdAndSubscriptionId) {
  Publish p;
  p.topic = "g";
  p.payload = "data";
  p.properties.content_type = "text/plain";
  const std::string shared = encode(p, k_level_5);
  auto one = requalify_publish(shared, k_level_5, 1, 77, 5);
  ASSERT_TRUE(one);
  auto back = std::get<Publish>(decode_one(*one));
  EXPECT_EQ(back.qos, 1);
  EXPECT_EQ(back.packet_id, 77);
  EXPECT_EQ(back.properties.subscription_identifiers, std::vector<std::uint32_t>{5});
  EXPECT_EQ(back.properties.content_type, "text/plain");
  EXPECT_EQ(back.payload, "data");
  auto v4 = requalify_publish(encode(p, k_level_311), k_level_311, 1, 9, 5);
  ASSERT_TRUE(v4);
  back = std::get<Publish>(decode_one(*v4, k_level_311));
  EXPECT_EQ(back.packet_id, 9);
  EXPECT_TRUE(back.properties.subscription_identifiers.empty());
  EXPECT_FALSE(requalify_publish(encode(PingReq{}, k_level_5), k_level_5, 1, 1, 0));
  EXPECT_FALSE(requalify_publish(*one, k_level_5, 1, 1, 0));  // not QoS 0
  EXPECT_EQ(publish_topic(shared), "g");
  EXPECT_EQ(publish_topic(*one), "g");
  EXPECT_FALSE(publish_topic(encode(PingReq{}, k_level_5)));
  EXPECT_FALSE(publish_topic(shared.substr(0, 3)));
}

TEST(MqttCodes, Connack311Mapping) {
  EXPECT_EQ(connack_code_311(reason::success), 0);
  EXPECT_EQ(connack_code_311(reason::unsupported_protocol_version), 1);
  EXPECT_EQ(connack_code_311(reason::client_identifier_not_valid), 2);
  EXPECT_EQ(connack_code_311(reason::unspecified_error), 3);
  EXPECT_EQ(connack_code_311(reason::bad_user_name_or_password), 4);
  EXPECT_EQ(connack_code_311(reason::not_authorized), 5);
}

TEST(MqttTopics, WildcardsAndShared) {
  EXPECT_TRUE(has_wildcard("a/+"));
  EXPECT_TRUE(has_wildcard("#"));
  EXPECT_FALSE(has_wildcard("a/b"));
  EXPECT_TRUE(is_shared_subscription("$share/g/t"));
  EXPECT_FALSE(is_shared_subscription("share/g"));
}

TEST(MqttDataTypes, ContentTypeDecidesAndBadPayloadsAreBinary) {
  EXPECT_EQ(data_type_of(std::nullopt, "{}"), DataType::binary);
  EXPECT_EQ(data_type_of("application/json", "{\"a\":1}"), DataType::json);
  EXPECT_EQ(data_type_of("Application/JSON; charset=utf-8", "[1]"), DataType::json);
  EXPECT_EQ(data_type_of("application/json", "{not json"), DataType::binary);
  EXPECT_EQ(data_type_of("text/plain", "hello"), DataType::text);
  EXPECT_EQ(data_type_of("text/plain", "\xff"), DataType::binary);
  EXPECT_EQ(data_type_of("application/x-protobuf", "\x0a"), DataType::protobuf);
  EXPECT_EQ(data_type_of("application/octet-stream", "x"), DataType::binary);
  EXPECT_EQ(data_type_of("image/png", "x"), DataType::binary);
  EXPECT_EQ(content_type_of(DataType::json), "application/json");
  EXPECT_EQ(content_type_of(DataType::text), "text/plain");
  EXPECT_EQ(content_type_of(DataType::protobuf), "application/x-protobuf");
  EXPECT_EQ(content_type_of(DataType::binary), "application/octet-stream");
}

}  // namespace
}  // namespace wps::protocol::mqtt
