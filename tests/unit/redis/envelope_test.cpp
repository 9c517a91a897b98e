#include "redis/envelope.hpp"

#include <gtest/gtest.h>

#include "redis/resp_client.hpp"

namespace wps::redis {
namespace {

using Clock = std::chrono::steady_clock;

// A group publication to "room" of hub "chat" carrying `m`, a group message with `payload`.
core::Publication room_publication(const std::shared_ptr<core::Message>& m,
                                   protocol::Payload payload) {
  core::Publication p;
  p.hub = "chat";
  p.scope = core::Scope::group;
  p.target = "room";
  m->from = protocol::MessageSource::group;
  m->group = "room";
  m->payload = std::move(payload);
  p.message = m;
  return p;
}

TEST(EnvelopeTest, PublicationRoundTrip) {
  const auto now = Clock::now();
  core::Publication p;
  p.hub = "chat";
  p.scope = core::Scope::group;
  p.target = "room";
  p.excluded = {"c1", "c2"};
  p.filter = protocol::odata::parse("userId eq 'bob'").filter;
  auto m = std::make_shared<core::Message>();
  m->from = protocol::MessageSource::group;
  m->group = "room";
  m->from_user_id = "alice";
  m->payload = {protocol::DataType::binary, std::string("\0\xff", 2)};
  m->expires_at = now + std::chrono::seconds(30);
  p.message = m;
  const std::string bytes = encode_publication("node", p, now);
  const DecodeResult d = decode_envelope(bytes, now);
  ASSERT_TRUE(d.envelope) << d.error;
  const auto& e = std::get<PublicationEnvelope>(*d.envelope);
  EXPECT_EQ(e.origin, "node");
  EXPECT_EQ(e.publication.hub, "chat");
  EXPECT_EQ(e.publication.scope, core::Scope::group);
  EXPECT_EQ(e.publication.target, "room");
  EXPECT_EQ(e.publication.excluded, p.excluded);
  ASSERT_TRUE(e.publication.filter);
  EXPECT_EQ(e.publication.filter->text(), "userId eq 'bob'");
  EXPECT_EQ(e.publication.message->from_user_id, "alice");
  EXPECT_EQ(e.publication.message->payload.bytes, m->payload.bytes);
  EXPECT_EQ(e.publication.message->payload.type, protocol::DataType::binary);
  EXPECT_EQ(e.publication.message->expires_at, m->expires_at);
  // A message without expiry keeps none.
  m->expires_at = {};
  const auto d2 = decode_envelope(encode_publication("node", p, now), now);
  ASSERT_TRUE(d2.envelope);
  EXPECT_EQ(std::get<PublicationEnvelope>(*d2.envelope).publication.message->expires_at,
            Clock::time_point{});
}

TEST(EnvelopeTest, MetadataTravelsInVersionTwoOnly) {
  const auto now = Clock::now();
  auto m = std::make_shared<core::Message>();
  const core::Publication p = room_publication(m, {protocol::DataType::text, "hi"});
  // Without metadata: version 1, as before (nodes of an older release read it).
  EXPECT_EQ(encode_publication("n", p, now)[0], '\x01');
  m->metadata = {{"Zeta", "1"}, {"alpha", "two words"}};
  const std::string bytes = encode_publication("n", p, now);
  EXPECT_EQ(bytes[0], '\x02');
  const DecodeResult d = decode_envelope(bytes, now);
  ASSERT_TRUE(d.envelope) << d.error;
  EXPECT_EQ(std::get<PublicationEnvelope>(*d.envelope).publication.message->metadata, m->metadata);
  for (std::size_t cut = 0; cut < bytes.size(); ++cut)
    EXPECT_FALSE(decode_envelope(bytes.substr(0, cut), now).envelope) << cut;
  EXPECT_FALSE(decode_envelope(bytes + "x", now).envelope);
  // A stream fragment's identity, and a terminal message with its error.
  m->stream = protocol::StreamInfo{"s-1", 7, true, protocol::StreamError{"UserError", "m", "E1"}};
  const auto with_stream = decode_envelope(encode_publication("n", p, now), now);
  ASSERT_TRUE(with_stream.envelope) << with_stream.error;
  EXPECT_EQ(std::get<PublicationEnvelope>(*with_stream.envelope).publication.message->stream,
            m->stream);
  m->metadata.clear();
  m->stream = protocol::StreamInfo{"s-2", 1, false, std::nullopt};
  const std::string fragment = encode_publication("n", p, now);
  EXPECT_EQ(fragment[0], '\x02');
  const auto d3 = decode_envelope(fragment, now);
  ASSERT_TRUE(d3.envelope) << d3.error;
  EXPECT_EQ(std::get<PublicationEnvelope>(*d3.envelope).publication.message->stream, m->stream);
  // Version 2 is for publications only.
  std::string reply = encode_reply("n", 1, core::CommandResult{});
  reply[0] = 2;
  EXPECT_FALSE(decode_envelope(reply, now).envelope);
}

// An MQTT 5.0 publisher's properties (spec mqtt §10.4) travel in version 3, with the metadata
// and stream fields of version 2 before them.
TEST(EnvelopeTest, MqttPropertiesTravelInVersionThree) {
  const auto now = Clock::now();
  auto m = std::make_shared<core::Message>();
  const core::Publication p =
      room_publication(m, {protocol::DataType::binary, std::string("\x00\x01", 2)});
  auto mqtt = std::make_shared<protocol::MqttPassThrough>();
  mqtt->payload_format_indicator = 1;
  mqtt->content_type = "application/vnd.example";
  mqtt->response_topic = "replies/7";
  mqtt->correlation_data = std::string("\x00\xffid", 4);
  mqtt->user_properties = {{"k", "v1"}, {"k", "v2"}, {"", ""}};
  m->mqtt = mqtt;
  const std::string bytes = encode_publication("n", p, now);
  EXPECT_EQ(bytes[0], '\x03');
  const DecodeResult d = decode_envelope(bytes, now);
  ASSERT_TRUE(d.envelope) << d.error;
  const auto& got = *std::get<PublicationEnvelope>(*d.envelope).publication.message;
  ASSERT_TRUE(got.mqtt);
  EXPECT_EQ(*got.mqtt, *mqtt);
  EXPECT_EQ(got.payload.bytes, m->payload.bytes);
  for (std::size_t cut = 0; cut < bytes.size(); ++cut)
    EXPECT_FALSE(decode_envelope(bytes.substr(0, cut), now).envelope) << cut;
  EXPECT_FALSE(decode_envelope(bytes + "x", now).envelope);
  // Nothing set but present: still version 3, read back as present and empty.
  m->mqtt = std::make_shared<protocol::MqttPassThrough>();
  const auto empty = decode_envelope(encode_publication("n", p, now), now);
  ASSERT_TRUE(empty.envelope) << empty.error;
  const auto& got_empty = *std::get<PublicationEnvelope>(*empty.envelope).publication.message;
  ASSERT_TRUE(got_empty.mqtt);
  EXPECT_EQ(*got_empty.mqtt, protocol::MqttPassThrough{});
  // A version this node does not know is refused, not misread.
  std::string future = bytes;
  future[0] = 4;
  EXPECT_FALSE(decode_envelope(future, now).envelope);
}

TEST(EnvelopeTest, CommandAndReplyRoundTrip) {
  core::Command c;
  c.op = core::CommandOp::grant_permission;
  c.hub = "chat";
  c.target = "conn";
  c.permission = core::Permission::send_to_group;
  c.permission_target = "room";
  c.code = 1000;
  c.reason = "bye";
  c.limit = 201;
  const auto d = decode_envelope(encode_command("n1", 42, c), Clock::now());
  ASSERT_TRUE(d.envelope) << d.error;
  const auto& e = std::get<CommandEnvelope>(*d.envelope);
  EXPECT_EQ(e.request_id, 42u);
  EXPECT_EQ(e.command.op, core::CommandOp::grant_permission);
  EXPECT_EQ(e.command.permission, core::Permission::send_to_group);
  EXPECT_EQ(e.command.permission_target, "room");
  EXPECT_EQ(e.command.reason, "bye");
  EXPECT_EQ(e.command.limit, 201u);

  core::CommandResult r;
  r.found = true;
  r.members = {{"a", "alice"}, {"b", std::nullopt}};
  const auto dr = decode_envelope(encode_reply("n2", 42, r), Clock::now());
  ASSERT_TRUE(dr.envelope) << dr.error;
  const auto& er = std::get<ReplyEnvelope>(*dr.envelope);
  EXPECT_TRUE(er.result.found);
  ASSERT_EQ(er.result.members.size(), 2u);
  EXPECT_EQ(er.result.members[0].user_id, "alice");
  EXPECT_FALSE(er.result.members[1].user_id);
}

TEST(EnvelopeTest, RejectsMalformedInput) {
  core::CommandResult r;
  r.members = {{"a", "alice"}};
  const std::string good = encode_reply("n", 1, r);
  for (std::size_t cut = 0; cut < good.size(); ++cut)
    EXPECT_FALSE(decode_envelope(good.substr(0, cut), Clock::now()).envelope) << cut;
  EXPECT_FALSE(decode_envelope(good + "x", Clock::now()).envelope);
  std::string bad_version = good;
  bad_version[0] = 9;
  EXPECT_EQ(decode_envelope(bad_version, Clock::now()).error, "unknown version");
  std::string bad_kind = good;
  bad_kind[1] = 9;
  EXPECT_FALSE(decode_envelope(bad_kind, Clock::now()).envelope);
  // A count larger than the bytes left is refused before allocating.
  EXPECT_FALSE(
      decode_envelope(std::string("\x01\x03\x00\x01\x00\xff\xff\xff\xff\x0f", 10), Clock::now())
          .envelope);
}

TEST(RedisUrlTest, Parses) {
  std::string error;
  auto u = config::parse_redis_url("redis://127.0.0.1:6380/2", error);
  ASSERT_TRUE(u) << error;
  EXPECT_EQ(u->host, "127.0.0.1");
  EXPECT_EQ(u->port, 6380);
  EXPECT_EQ(u->db, 2u);
  u = config::parse_redis_url("redis://cache", error);
  ASSERT_TRUE(u);
  EXPECT_EQ(u->port, 6379);
  EXPECT_EQ(u->db, 0u);
  u = config::parse_redis_url("redis://[::1]:7000", error);
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "::1");
  EXPECT_FALSE(config::parse_redis_url("http://x", error));
  EXPECT_FALSE(config::parse_redis_url("redis://:6379", error));
  EXPECT_FALSE(config::parse_redis_url("redis://h:0", error));
  EXPECT_FALSE(config::parse_redis_url("redis://h:6379/x", error));
  u = config::parse_redis_url("redis://:s%40cret@h", error);
  ASSERT_TRUE(u) << error;
  EXPECT_EQ(u->user, "");
  EXPECT_EQ(u->password, "s@cret");
  EXPECT_EQ(u->host, "h");
  u = config::parse_redis_url("redis://app:pw@h:7000/3", error);
  ASSERT_TRUE(u) << error;
  EXPECT_EQ(u->user, "app");
  EXPECT_EQ(u->password, "pw");
  EXPECT_EQ(u->port, 7000);
  EXPECT_EQ(u->db, 3U);
  EXPECT_FALSE(config::parse_redis_url("redis://pw@h", error));
  EXPECT_FALSE(config::parse_redis_url("redis://u:@h", error));
  EXPECT_FALSE(config::parse_redis_url("redis://u:p%4@h", error));
  EXPECT_FALSE(config::parse_redis_url("redis://u:p%zz@h", error));
}

TEST(RespTest, EncodesCommands) {
  std::string out;
  append_command(out, {"PUBLISH", "ch", std::string_view("a\0b", 3)});
  EXPECT_EQ(out, std::string("*3\r\n$7\r\nPUBLISH\r\n$2\r\nch\r\n$3\r\na\0b\r\n", 34));
}

}  // namespace
}  // namespace wps::redis
