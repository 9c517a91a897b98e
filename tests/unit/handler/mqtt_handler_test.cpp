// MqttHandler on a fake socket with a real hub: CONNECT and its refusals, packets before CONNECT,
// SUBSCRIBE/PUBLISH with permissions, deliveries at the subscription's QoS with packet ids,
// oversized packets, a packet split across WebSocket messages, sessions kept across a drop.

#include "handler/mqtt_handler.hpp"

#include <gtest/gtest.h>

#include "protocol/mqtt.hpp"
#include "unit/handler/handler_fixture.hpp"

namespace wps::handler::test {
namespace {

namespace mqtt = protocol::mqtt;

constexpr std::uint8_t k5 = mqtt::k_level_5;
constexpr std::uint8_t k4 = mqtt::k_level_311;
const std::vector<std::string> kAll = {"webpubsub.joinLeaveGroup", "webpubsub.sendToGroup"};

class MqttHandlerTest : public HandlerFixture {
 protected:
  std::shared_ptr<MqttHandler> handler(std::vector<std::string> roles = kAll) {
    HandshakeAccept accept;
    accept.hub = "chat";
    accept.kind = core::ProtocolKind::mqtt;
    accept.subprotocol = "mqtt";
    accept.roles = std::move(roles);
    return std::make_shared<MqttHandler>(context(), std::move(accept), core::Multimap{},
                                         core::Multimap{});
  }
  static std::string connect(std::uint8_t level, std::string id, bool clean = true,
                             std::optional<std::uint32_t> expiry = std::nullopt) {
    mqtt::Connect c;
    c.level = level;
    c.client_id = std::move(id);
    c.keep_alive = 60;
    c.clean_start = clean;
    c.properties.session_expiry_interval = expiry;
    return mqtt::encode(c, level);
  }
  // The packets `socket` was sent, decoded at `level`.
  static std::vector<mqtt::Packet> packets(const FakeSocket& socket, std::uint8_t level) {
    mqtt::Reader reader(1 << 20);
    reader.set_level(level);
    for (const auto& frame : socket.sent()) {
      EXPECT_TRUE(frame->binary);
      reader.feed(frame->data);
    }
    std::vector<mqtt::Packet> out;
    for (;;) {
      auto r = reader.next();
      EXPECT_NE(r.kind, mqtt::Reader::Result::Kind::error) << r.error.message;
      if (r.kind != mqtt::Reader::Result::Kind::packet)
        return out;
      out.push_back(*r.packet);
    }
  }
  // A group message as REST sends it (from = group, the topic MQTT subscribers see).
  void to_group(const std::string& group, const std::string& text) {
    auto m = std::make_shared<core::Message>();
    m->from = protocol::MessageSource::group;
    m->group = group;
    m->payload = {protocol::DataType::text, text};
    core::Publication p;
    p.hub = "chat";
    p.scope = core::Scope::group;
    p.target = group;
    p.message = std::move(m);
    hub()->publish(p);
  }
  std::shared_ptr<FakeSocket> connected(std::uint8_t level, const std::string& id,
                                        std::vector<std::string> roles = kAll) {
    auto s = open(handler(std::move(roles)));
    s->receive_binary(connect(level, id));
    settle();
    auto sent = packets(*s, level);
    EXPECT_EQ(sent.size(), 1u);
    EXPECT_EQ(std::get<mqtt::Connack>(sent.at(0)).code, 0);
    s->clear_sent();
    return s;
  }
};

TEST_F(MqttHandlerTest, ConnectRegistersTheClientIdAsConnectionId) {
  upstream.handle("connected");
  upstream.handle("disconnected");
  auto s = open(handler());
  s->receive_binary(connect(k5, "dev1"));
  settle();
  auto sent = packets(*s, k5);
  ASSERT_EQ(sent.size(), 1u);
  const auto& connack = std::get<mqtt::Connack>(sent[0]);
  EXPECT_EQ(connack.code, 0);
  EXPECT_FALSE(connack.session_present);
  EXPECT_EQ(connack.properties.maximum_qos, 1);
  EXPECT_EQ(connack.properties.retain_available, 0);
  EXPECT_EQ(connack.properties.maximum_packet_size, config.limits.max_message_bytes);
  EXPECT_TRUE(hub()->connection_exists("dev1"));
  EXPECT_EQ(upstream.log("dev1"), std::vector<std::string>{"connected"});
  s->client_close();
  settle();
  EXPECT_FALSE(hub()->connection_exists("dev1"));
  EXPECT_EQ(upstream.log("dev1"), (std::vector<std::string>{"connected", "disconnected: "}));
}

TEST_F(MqttHandlerTest, RefusalsAreConnackCodesThenClose) {
  auto bad_id = open(handler());
  bad_id->receive_binary(connect(k5, "has_underscore"));
  settle();
  EXPECT_EQ(std::get<mqtt::Connack>(packets(*bad_id, k5).at(0)).code,
            mqtt::reason::client_identifier_not_valid);
  ASSERT_TRUE(bad_id->closed_with());
  auto bad_id_311 = open(handler());
  bad_id_311->receive_binary(connect(k4, "has_underscore"));
  settle();
  EXPECT_EQ(std::get<mqtt::Connack>(packets(*bad_id_311, k4).at(0)).code,
            mqtt::connack_311::identifier_rejected);
  EXPECT_FALSE(hub()->connection_exists("has_underscore"));
}

TEST_F(MqttHandlerTest, PacketBeforeConnectAndSecondConnectClose) {
  auto s = open(handler());
  s->receive_binary(mqtt::encode(mqtt::PingReq{}, k5));
  settle();
  ASSERT_TRUE(s->closed_with());
  EXPECT_EQ(s->closed_with()->code, core::close_code::protocol_error);
  EXPECT_TRUE(s->sent().empty());

  auto twice = connected(k5, "twice");
  twice->receive_binary(connect(k5, "twice"));
  settle();
  ASSERT_TRUE(twice->closed_with());
  ASSERT_TRUE(twice->farewell());
  mqtt::Reader reader(1 << 20);
  reader.feed(twice->farewell()->data);
  auto farewell = reader.next();
  ASSERT_EQ(farewell.kind, mqtt::Reader::Result::Kind::packet);
  EXPECT_EQ(std::get<mqtt::Disconnect>(*farewell.packet).code, mqtt::reason::protocol_error);
  EXPECT_FALSE(hub()->connection_exists("twice"));
}

TEST_F(MqttHandlerTest, SubscribeAndDeliverAtTheSubscriptionsQos) {
  auto s = connected(k5, "sub1");
  mqtt::Subscribe sub;
  sub.packet_id = 5;
  sub.topics = {{"g1", 1}, {"g0", 0}, {"a/+", 1}};
  s->receive_binary(mqtt::encode(sub, k5));
  settle();
  auto suback = std::get<mqtt::SubResponse>(packets(*s, k5).at(0));
  EXPECT_EQ(suback.packet_id, 5);
  EXPECT_EQ(suback.codes, (std::vector<std::uint8_t>{1, 0, 0xA2}));
  s->clear_sent();
  to_group("g1", "one");
  to_group("g0", "zero");
  to_group("g1", "two");
  settle();
  auto got = packets(*s, k5);
  ASSERT_EQ(got.size(), 3u);
  const auto& p1 = std::get<mqtt::Publish>(got[0]);
  const auto& p0 = std::get<mqtt::Publish>(got[1]);
  const auto& p2 = std::get<mqtt::Publish>(got[2]);
  EXPECT_EQ(p1.topic, "g1");
  EXPECT_EQ(p1.qos, 1);
  EXPECT_EQ(p1.payload, "one");
  EXPECT_EQ(p1.properties.content_type, "text/plain");
  EXPECT_EQ(p0.qos, 0);
  EXPECT_EQ(p2.qos, 1);
  EXPECT_NE(p1.packet_id, p2.packet_id);
  // Sends to the connection arrive on $webpubsub/server/messages at QoS 1 without SUBSCRIBE.
  s->clear_sent();
  publish(core::Scope::connection, "sub1", "direct");
  settle();
  const auto direct = std::get<mqtt::Publish>(packets(*s, k5).at(0));
  EXPECT_EQ(direct.topic, "$webpubsub/server/messages");
  EXPECT_EQ(direct.qos, 1);
  EXPECT_EQ(direct.payload, "direct");
}

TEST_F(MqttHandlerTest, PublishNeedsThePermission) {
  auto watcher = connected(k5, "watch");
  ASSERT_EQ(hub()->add_to_group("watch", "g"), core::Hub::JoinResult::joined);
  auto none = connected(k5, "none", {});
  mqtt::Publish p;
  p.topic = "g";
  p.qos = 1;
  p.packet_id = 9;
  p.payload = "x";
  none->receive_binary(mqtt::encode(p, k5));
  settle();
  auto ack = std::get<mqtt::PubResponse>(packets(*none, k5).at(0));
  EXPECT_EQ(ack.packet_id, 9);
  EXPECT_EQ(ack.code, mqtt::reason::not_authorized);
  EXPECT_TRUE(watcher->sent().empty());
  // QoS 0 without permission closes with DISCONNECT 0x87.
  p.qos = 0;
  none->receive_binary(mqtt::encode(p, k5));
  settle();
  ASSERT_TRUE(none->closed_with());
  EXPECT_EQ(none->closed_with()->code, core::close_code::policy_violation);
  EXPECT_TRUE(watcher->sent().empty());
  // With the role: delivered, PUBACK 0.
  auto allowed = connected(k5, "allowed");
  p.qos = 1;
  allowed->receive_binary(mqtt::encode(p, k5));
  settle();
  EXPECT_EQ(std::get<mqtt::PubResponse>(packets(*allowed, k5).at(0)).code, 0);
  EXPECT_EQ(std::get<mqtt::Publish>(packets(*watcher, k5).at(0)).payload, "x");
}

TEST_F(MqttHandlerTest, SplitPacketsAndOversizedPackets) {
  config.limits.max_message_bytes = 256;
  auto s = open(handler());
  const std::string c = connect(k5, "split");
  s->receive_binary(c.substr(0, 3));
  s->receive_binary(c.substr(3));
  settle();
  EXPECT_EQ(std::get<mqtt::Connack>(packets(*s, k5).at(0)).code, 0);
  s->receive_binary(std::string("\x30\x80\x02", 3));  // announces 256 bytes of body
  settle();
  ASSERT_TRUE(s->closed_with());
  EXPECT_EQ(s->closed_with()->code, core::close_code::message_too_big);
  mqtt::Reader reader(1 << 20);
  reader.feed(s->farewell()->data);
  EXPECT_EQ(std::get<mqtt::Disconnect>(*reader.next().packet).code, mqtt::reason::packet_too_large);
}

TEST_F(MqttHandlerTest, SessionWithExpiryOutlivesADropAndResumes) {
  auto first = open(handler());
  first->receive_binary(connect(k5, "keep", false, 30));
  settle();
  ASSERT_EQ(hub()->add_to_group("keep", "g"), core::Hub::JoinResult::joined);
  first->drop();
  settle();
  EXPECT_TRUE(hub()->connection_exists("keep"));
  to_group("g", "waiting");
  auto again = open(handler());
  again->receive_binary(connect(k5, "keep", false, 30));
  settle();
  auto got = packets(*again, k5);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_TRUE(std::get<mqtt::Connack>(got[0]).session_present);
  EXPECT_EQ(std::get<mqtt::Publish>(got[1]).payload, "waiting");
  // Without expiry a drop ends the session.
  auto brief = open(handler());
  brief->receive_binary(connect(k5, "brief"));
  settle();
  brief->drop();
  settle();
  EXPECT_FALSE(hub()->connection_exists("brief"));
}

// A 5.0 client's Receive Maximum bounds the QoS 1 PUBLISHes awaiting PUBACK; what comes after
// waits (QoS 0 too, so that order holds) and goes out as PUBACKs arrive.
TEST_F(MqttHandlerTest, ReceiveMaximumHoldsQos1DeliveriesUntilPuback) {
  auto s = open(handler());
  mqtt::Connect c;
  c.level = k5;
  c.client_id = "slow";
  c.keep_alive = 60;
  c.properties.receive_maximum = 2;
  s->receive_binary(mqtt::encode(c, k5));
  settle();
  ASSERT_EQ(std::get<mqtt::Connack>(packets(*s, k5).at(0)).code, 0);
  ASSERT_EQ(hub()->add_to_group("slow", "g"), core::Hub::JoinResult::joined);  // QoS 1
  s->clear_sent();
  for (const char* text : {"m1", "m2", "m3", "m4"})
    to_group("g", text);
  settle();
  auto got = packets(*s, k5);
  ASSERT_EQ(got.size(), 2u);
  const auto first = std::get<mqtt::Publish>(got[0]);
  EXPECT_EQ(first.payload, "m1");
  EXPECT_EQ(std::get<mqtt::Publish>(got[1]).payload, "m2");
  s->clear_sent();
  mqtt::PubResponse ack;
  ack.type = mqtt::PacketType::puback;
  ack.packet_id = first.packet_id;
  s->receive_binary(mqtt::encode(ack, k5));
  settle();
  got = packets(*s, k5);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(std::get<mqtt::Publish>(got[0]).payload, "m3");
  // A PUBACK for an id that is not in flight releases nothing.
  s->clear_sent();
  s->receive_binary(mqtt::encode(ack, k5));
  settle();
  EXPECT_TRUE(packets(*s, k5).empty());
}

// QoS 1 messages the dropped connection did not acknowledge are sent again, with DUP and the
// same packet ids, before what waited offline; acknowledged ones are not.
TEST_F(MqttHandlerTest, UnacknowledgedQos1IsResentWhenTheSessionResumes) {
  auto first = open(handler());
  first->receive_binary(connect(k4, "keep311", false));
  settle();
  ASSERT_EQ(hub()->add_to_group("keep311", "g"), core::Hub::JoinResult::joined);
  first->clear_sent();
  to_group("g", "acked");
  to_group("g", "lost1");
  to_group("g", "lost2");
  settle();
  auto got = packets(*first, k4);
  ASSERT_EQ(got.size(), 3u);
  const auto acked = std::get<mqtt::Publish>(got[0]);
  const auto lost1 = std::get<mqtt::Publish>(got[1]);
  const auto lost2 = std::get<mqtt::Publish>(got[2]);
  EXPECT_FALSE(lost1.dup);
  mqtt::PubResponse ack;
  ack.type = mqtt::PacketType::puback;
  ack.packet_id = acked.packet_id;
  first->receive_binary(mqtt::encode(ack, k4));
  settle();
  first->drop();
  settle();
  to_group("g", "offline");
  auto again = open(handler());
  again->receive_binary(connect(k4, "keep311", false));
  settle();
  got = packets(*again, k4);
  ASSERT_EQ(got.size(), 4u);
  EXPECT_TRUE(std::get<mqtt::Connack>(got[0]).session_present);
  const auto re1 = std::get<mqtt::Publish>(got[1]);
  const auto re2 = std::get<mqtt::Publish>(got[2]);
  const auto offline = std::get<mqtt::Publish>(got[3]);
  EXPECT_EQ(re1.payload, "lost1");
  EXPECT_TRUE(re1.dup);
  EXPECT_EQ(re1.packet_id, lost1.packet_id);
  EXPECT_EQ(re2.payload, "lost2");
  EXPECT_EQ(re2.packet_id, lost2.packet_id);
  EXPECT_EQ(offline.payload, "offline");
  EXPECT_FALSE(offline.dup);
  EXPECT_NE(offline.packet_id, lost1.packet_id);
  EXPECT_NE(offline.packet_id, lost2.packet_id);
}

// MQTT 5.0 -> MQTT 5.0: content type, payload format, response topic, correlation data and user
// properties pass unchanged (spec mqtt §10.4); a 3.1.1 subscriber gets the payload only.
TEST_F(MqttHandlerTest, Mqtt5PropertiesPassToMqtt5Subscribers) {
  auto v5 = connected(k5, "sub5");
  auto v4 = connected(k4, "sub4");
  ASSERT_EQ(hub()->add_to_group("sub5", "g"), core::Hub::JoinResult::joined);
  ASSERT_EQ(hub()->add_to_group("sub4", "g"), core::Hub::JoinResult::joined);
  auto publisher = connected(k5, "pub5");
  mqtt::Publish p;
  p.topic = "g";
  p.payload = "req";
  p.properties.content_type = "application/vnd.example";
  p.properties.payload_format_indicator = 1;
  p.properties.response_topic = "replies";
  p.properties.correlation_data = std::string("\x00\x01", 2);
  p.properties.user_properties = {{"a", "1"}, {"a", "2"}};
  publisher->receive_binary(mqtt::encode(p, k5));
  settle();
  const auto got = std::get<mqtt::Publish>(packets(*v5, k5).at(0));
  EXPECT_EQ(got.payload, "req");
  EXPECT_EQ(got.properties.content_type, "application/vnd.example");
  EXPECT_EQ(got.properties.payload_format_indicator, 1);
  EXPECT_EQ(got.properties.response_topic, "replies");
  EXPECT_EQ(got.properties.correlation_data, std::string("\x00\x01", 2));
  EXPECT_EQ(got.properties.user_properties, p.properties.user_properties);
  const auto old = std::get<mqtt::Publish>(packets(*v4, k4).at(0));
  EXPECT_EQ(old.payload, "req");
}

}  // namespace
}  // namespace wps::handler::test
