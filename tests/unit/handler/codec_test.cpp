// The codec table (one PubSubCodec per format, the simple encoder), the replay buffer and ack
// history of reliable sessions, and the sessions registry.

#include "handler/codec.hpp"

#include <gtest/gtest.h>

#include <memory>

#include "handler/context.hpp"
#include "handler/replay_buffer.hpp"
#include "unit/handler/handler_fixture.hpp"
#include "unit/handler/pubsub_wire.hpp"

namespace wps::handler::test {
namespace {

using wps::test::Format;
using wps::test::Received;
using wps::test::Wire;

core::Message group_message(std::string text, std::chrono::steady_clock::time_point expires = {}) {
  core::Message m;
  m.from = protocol::MessageSource::group;
  m.group = "g";
  m.payload = {protocol::DataType::text, std::move(text)};
  m.expires_at = expires;
  return m;
}

// ---- the table -----------------------------------------------------------------------------

TEST(CodecTable, EachKindHasItsFormat) {
  EXPECT_EQ(&pubsub_codec(core::ProtocolKind::json), &json_codec());
  EXPECT_EQ(&pubsub_codec(core::ProtocolKind::json_reliable), &json_codec());
  EXPECT_EQ(&pubsub_codec(core::ProtocolKind::protobuf), &protobuf_codec());
  EXPECT_EQ(&pubsub_codec(core::ProtocolKind::protobuf_reliable), &protobuf_codec());
  EXPECT_FALSE(json_codec().binary());
  EXPECT_TRUE(protobuf_codec().binary());
}

class CodecFormat : public ::testing::TestWithParam<Format> {
 protected:
  const PubSubCodec& codec() const {
    return GetParam() == Format::json ? json_codec() : protobuf_codec();
  }
  Wire wire() const { return Wire(GetParam()); }
};

INSTANTIATE_TEST_SUITE_P(Formats, CodecFormat, ::testing::Values(Format::json, Format::protobuf),
                         [](const ::testing::TestParamInfo<Format>& p) {
                           return p.param == Format::json ? "json" : "protobuf";
                         });

TEST_P(CodecFormat, EveryFrameHasTheFormatsTypeAndAMatchingHeader) {
  const auto expires = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  const SharedFrame data = codec().encode(group_message("hi", expires));
  const std::string id = "c1";
  const std::optional<std::string> user("u");
  const SharedFrame frames[] = {
      data,           codec().with_sequence_id(*data, 3),        codec().ack({1, std::nullopt}),
      codec().pong(), codec().connected(id, user, std::nullopt), codec().disconnected("bye")};
  for (const SharedFrame& f : frames) {
    ASSERT_TRUE(f);
    EXPECT_EQ(f->binary, codec().binary());
    const auto header = protocol::ws::encode_frame_header(codec().binary(), f->data.size());
    EXPECT_EQ(f->header.size, header.size);
    EXPECT_EQ(f->header.bytes, header.bytes);
  }
  // Only data messages keep a TTL, through the sequence id too.
  EXPECT_EQ(frames[0]->expires_at, expires);
  EXPECT_EQ(frames[1]->expires_at, expires);
  EXPECT_EQ(frames[2]->expires_at, std::chrono::steady_clock::time_point{});
}

TEST_P(CodecFormat, MessagesReadBackAsTheClientReadsThem) {
  const SharedFrame data = codec().encode(group_message("hi"));
  Received r = wire().read(*data);
  EXPECT_EQ(r.kind, Received::Kind::message);
  EXPECT_EQ(r.from, "group");
  EXPECT_EQ(r.group, std::optional<std::string>("g"));
  EXPECT_EQ(r.data, "hi");
  EXPECT_FALSE(r.sequence_id);
  r = wire().read(*codec().with_sequence_id(*data, 42));
  EXPECT_EQ(r.data, "hi");
  EXPECT_EQ(r.sequence_id, std::optional<std::uint64_t>(42));
  r = wire().read(*codec().ack({9, protocol::AckError{"Forbidden", "no"}}));
  EXPECT_EQ(r.kind, Received::Kind::ack);
  EXPECT_EQ(r.ack_id, 9U);
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.error_name, "Forbidden");
  r = wire().read(*codec().connected("c1", std::nullopt, std::string_view("tok")));
  EXPECT_EQ(r.kind, Received::Kind::connected);
  EXPECT_EQ(r.connection_id, "c1");
  EXPECT_EQ(r.reconnection_token, std::optional<std::string>("tok"));
  r = wire().read(*codec().disconnected("bye"));
  EXPECT_EQ(r.kind, Received::Kind::disconnected);
  EXPECT_EQ(r.reason, "bye");
  EXPECT_EQ(wire().read(*codec().pong()).kind, Received::Kind::pong);
}

TEST_P(CodecFormat, DecodesTheFormatsClientMessages) {
  EXPECT_TRUE(codec().decode(wire().join("g", 1)));
  EXPECT_TRUE(codec().decode(wire().ping()));
  const auto bad = codec().decode(wire().garbage());
  EXPECT_FALSE(bad);
  EXPECT_EQ(bad.error.close_code, core::close_code::invalid_payload);
}

TEST(SimpleEncoder, RawPayloadsInFramesOfTheirType) {
  const core::Encoder& encoder = simple_encoder();
  const auto expires = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  core::Message m;
  m.payload = {protocol::DataType::json, R"({"a":1})"};
  m.expires_at = expires;
  SharedFrame f = encoder.encode(m);
  EXPECT_EQ(f->data, R"({"a":1})");
  EXPECT_FALSE(f->binary);
  EXPECT_EQ(f->expires_at, expires);
  m.payload = {protocol::DataType::text, "t"};
  EXPECT_FALSE(encoder.encode(m)->binary);
  m.payload = {protocol::DataType::binary, "b"};
  EXPECT_TRUE(encoder.encode(m)->binary);
  m.payload = {protocol::DataType::protobuf, "p"};
  f = encoder.encode(m);
  EXPECT_TRUE(f->binary);
  EXPECT_EQ(f->data, "p");
}

// ---- replay buffer and ack history ---------------------------------------------------------

TEST(ReplayBuffer, NumbersKeepsAndReleasesCumulatively) {
  ReplayBuffer buffer(10, 1 << 20);
  const SharedFrame data = json_codec().encode(group_message("x"));
  std::vector<std::uint64_t> ids;
  for (int i = 0; i < 4; ++i) {
    SharedFrame stamped = buffer.stamp(json_codec(), *data);
    ASSERT_TRUE(stamped);
    ids.push_back(Wire(Format::json).read(*stamped).sequence_id.value_or(0));
  }
  EXPECT_EQ(ids, (std::vector<std::uint64_t>{1, 2, 3, 4}));
  EXPECT_EQ(buffer.size(), 4U);
  const std::size_t one = buffer.bytes() / 4;
  buffer.acknowledge(2);
  EXPECT_EQ(buffer.size(), 2U);
  EXPECT_EQ(buffer.bytes(), 2 * one);
  buffer.acknowledge(1);  // behind: nothing changes
  EXPECT_EQ(buffer.size(), 2U);
  std::vector<std::uint64_t> kept;
  buffer.for_each([&](const SharedFrame& f) {
    kept.push_back(Wire(Format::json).read(*f).sequence_id.value_or(0));
  });
  EXPECT_EQ(kept, (std::vector<std::uint64_t>{3, 4}));
  buffer.acknowledge(100);
  EXPECT_EQ(buffer.size(), 0U);
  EXPECT_EQ(buffer.bytes(), 0U);
}

TEST(ReplayBuffer, PastABoundNothingIsKept) {
  const SharedFrame data = protobuf_codec().encode(group_message("x"));
  ReplayBuffer by_count(2, 1 << 20);
  EXPECT_TRUE(by_count.stamp(protobuf_codec(), *data));
  EXPECT_TRUE(by_count.stamp(protobuf_codec(), *data));
  EXPECT_FALSE(by_count.stamp(protobuf_codec(), *data));
  EXPECT_EQ(by_count.size(), 2U);
  by_count.acknowledge(1);
  // The refused message used up id 3.
  SharedFrame next = by_count.stamp(protobuf_codec(), *data);
  ASSERT_TRUE(next);
  EXPECT_EQ(Wire(Format::protobuf).read(*next).sequence_id, std::optional<std::uint64_t>(4));

  const std::size_t size = protobuf_codec().with_sequence_id(*data, 1)->data.size();
  ReplayBuffer by_bytes(100, 2 * size);
  EXPECT_TRUE(by_bytes.stamp(protobuf_codec(), *data));
  EXPECT_TRUE(by_bytes.stamp(protobuf_codec(), *data));
  EXPECT_FALSE(by_bytes.stamp(protobuf_codec(), *data));
  by_bytes.clear();
  EXPECT_EQ(by_bytes.size(), 0U);
  EXPECT_EQ(by_bytes.bytes(), 0U);
}

TEST(AckHistory, ForgetsTheOldestPastItsBound) {
  AckHistory history(3);
  for (std::uint64_t id = 1; id <= 3; ++id)
    history.remember(id);
  history.remember(2);  // known already: no new place taken
  EXPECT_TRUE(history.contains(1));
  history.remember(4);
  EXPECT_FALSE(history.contains(1));
  EXPECT_TRUE(history.contains(2));
  EXPECT_TRUE(history.contains(3));
  EXPECT_TRUE(history.contains(4));
}

// ---- sessions registry ---------------------------------------------------------------------

class SessionsTest : public HandlerFixture {};

TEST_F(SessionsTest, RemovesOnlyTheSessionItHasUnderThatId) {
  auto first = pubsub(core::ProtocolKind::json_reliable, {"c1"});
  auto second = pubsub(core::ProtocolKind::json_reliable, {"c1"});
  Sessions& sessions = context().sessions;
  sessions.add(first);
  EXPECT_EQ(sessions.find("c1"), first);
  sessions.add(second);  // took the id over
  sessions.remove(first.get());
  EXPECT_EQ(sessions.find("c1"), second);
  sessions.remove(second.get());
  EXPECT_EQ(sessions.find("c1"), nullptr);
  EXPECT_EQ(sessions.size(), 0U);
}

}  // namespace
}  // namespace wps::handler::test
