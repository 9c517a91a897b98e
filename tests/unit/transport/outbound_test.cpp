// Outbound: what one WebSocket connection writes next, without I/O. Each collect() is read back
// as the bytes the gather write would send, split into the 101 and server frames.

#include "transport/outbound.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "protocol/frame.hpp"
#include "protocol/ws_frame.hpp"
#include "unit/transport/server_bytes.hpp"

namespace wps::transport {
namespace {

namespace ws = protocol::ws;
using namespace std::chrono_literals;
using Strings = std::vector<std::string>;
using test::parts_of;

constexpr std::size_t kNoLimit = 1'000'000;

SharedFrame text(std::string s, std::chrono::steady_clock::time_point expires = {}) {
  return protocol::make_frame(std::move(s), false, expires);
}

class OutboundTest : public ::testing::Test {
 protected:
  // The next write's parts (empty: nothing to write).
  Strings collect(std::size_t max_frames = 30, std::size_t max_bytes = kNoLimit) {
    std::vector<boost::asio::const_buffer> buffers;
    out.collect(buffers, max_frames, max_bytes);
    std::string bytes;
    for (const auto& b : buffers)
      bytes.append(static_cast<const char*>(b.data()), b.size());
    return parts_of(bytes);
  }
  void push(std::initializer_list<const char*> frames) {
    for (const char* f : frames)
      out.push(text(f));
    ASSERT_TRUE(out.drain());
  }

  Outbound out{100, kNoLimit};
};

TEST_F(OutboundTest, TheOrderOfAWrite) {
  push({"a", "b"});
  out.set_upgrade_response("HTTP/1.1 101 Switching Protocols\r\n\r\n");
  out.answer_ping("p");
  out.set_close_frame(ws::encode_close_frame(1000, "bye"));
  EXPECT_EQ(collect(), (Strings{"101", "pong:p", "text:a", "text:b", "close:1000 bye"}));
  EXPECT_FALSE(out.close_sent());
  EXPECT_TRUE(out.written());  // it carried the close frame
  EXPECT_TRUE(out.close_sent());
  EXPECT_EQ(out.size(), 0U);
  EXPECT_EQ(out.bytes(), 0U);
  EXPECT_TRUE(collect().empty());  // each goes once
}

TEST_F(OutboundTest, TheUpgradeResponseGoesOnceAndStaysUntilWritten) {
  out.set_upgrade_response("HTTP/1.1 101 Switching Protocols\r\n\r\n");
  EXPECT_EQ(collect(), Strings{"101"});
  push({"a"});  // arrives while the 101 is in flight: the next write
  EXPECT_FALSE(out.written());
  EXPECT_EQ(collect(), Strings{"text:a"});
  EXPECT_FALSE(out.written());
  EXPECT_TRUE(collect().empty());
}

TEST_F(OutboundTest, APongTakesThePlaceOfAKeepAlivePing) {
  out.request_ping();
  out.answer_ping("x");
  EXPECT_EQ(collect(), Strings{"pong:x"});
  out.written();
  EXPECT_TRUE(collect().empty());  // the ping is not owed any more: the client is alive
  out.request_ping();
  EXPECT_EQ(collect(), Strings{"ping"});
}

TEST_F(OutboundTest, OnlyTheLatestPingWaitsForItsPong) {
  for (const char* payload : {"1", "2", "3"})
    out.answer_ping(payload);
  EXPECT_EQ(collect(), Strings{"pong:3"});
  out.answer_ping("4");  // while one is in flight: the next write
  out.answer_ping("5");
  out.written();
  EXPECT_EQ(collect(), Strings{"pong:5"});
  out.written();
  EXPECT_TRUE(collect().empty());
}

TEST_F(OutboundTest, NoPingAfterOurCloseFrame) {
  out.set_close_frame(ws::encode_close_frame(1000, ""));
  EXPECT_EQ(collect(), Strings{"close:1000"});
  EXPECT_TRUE(out.written());
  out.request_ping();
  EXPECT_TRUE(collect().empty());
}

TEST_F(OutboundTest, TheCloseFrameWaitsForTheDataBeforeIt) {
  push({"a", "b", "c"});
  out.set_close_frame(ws::encode_close_frame(1001, ""));
  EXPECT_EQ(collect(2), (Strings{"text:a", "text:b"}));
  EXPECT_FALSE(out.written());
  EXPECT_FALSE(out.close_sent());
  EXPECT_EQ(collect(2), (Strings{"text:c", "close:1001"}));
  EXPECT_TRUE(out.written());
}

TEST_F(OutboundTest, PushReportsTheFirstFrameOfAnEmptyInbox) {
  EXPECT_TRUE(out.push(text("a")));
  EXPECT_FALSE(out.push(text("b")));
  EXPECT_TRUE(out.drain());
  EXPECT_TRUE(out.push(text("c")));
  EXPECT_TRUE(out.drain());
  EXPECT_EQ(out.size(), 3U);
  EXPECT_EQ(collect(), (Strings{"text:a", "text:b", "text:c"}));
}

TEST_F(OutboundTest, ALocalPushQueuesBehindWhatTheInboxHolds) {
  out.push(text("a"));
  EXPECT_TRUE(out.push_local(text("b")));
  EXPECT_TRUE(out.push_local(text("c")));
  EXPECT_TRUE(out.drain());  // nothing left in the inbox
  EXPECT_EQ(out.size(), 3U);
  EXPECT_EQ(collect(), (Strings{"text:a", "text:b", "text:c"}));
}

TEST_F(OutboundTest, ALocalPushPastALimitFailsAndASealedQueueDropsIt) {
  Outbound limited(2, kNoLimit);
  EXPECT_TRUE(limited.push_local(text("a")));
  EXPECT_TRUE(limited.push_local(text("b")));
  EXPECT_FALSE(limited.push_local(text("c")));
  EXPECT_EQ(limited.size(), 2U);
  limited.drop_unsent();
  EXPECT_TRUE(limited.push_local(text("late")));  // sealed: dropped, not a slow consumer
  EXPECT_EQ(limited.size(), 0U);
}

TEST_F(OutboundTest, PassingTheMessageLimitFailsTheDrainAndKeepsWhatWasQueued) {
  Outbound limited(2, kNoLimit);
  limited.push(text("a"));
  limited.push(text("b"));
  EXPECT_TRUE(limited.drain());
  limited.push(text("c"));
  EXPECT_FALSE(limited.drain());
  EXPECT_EQ(limited.size(), 2U);
  EXPECT_EQ(limited.bytes(), 2U);
}

TEST_F(OutboundTest, PassingTheByteLimitFailsTheDrain) {
  Outbound limited(100, 10);
  limited.push(text("12345"));
  limited.push(text("67890"));
  EXPECT_TRUE(limited.drain());  // exactly at the limit
  limited.push(text("x"));
  EXPECT_FALSE(limited.drain());
  EXPECT_EQ(limited.size(), 2U);
  EXPECT_EQ(limited.bytes(), 10U);
}

TEST_F(OutboundTest, ASealedQueueTakesNoDataButTheFarewellPassesTheLimits) {
  Outbound limited(1, kNoLimit);
  limited.push(text("a"));
  EXPECT_TRUE(limited.drain());
  limited.seal();
  limited.push(text("late"));
  EXPECT_TRUE(limited.drain());  // dropped, not a slow consumer
  limited.append(text("farewell"));
  EXPECT_EQ(limited.size(), 2U);
  std::vector<boost::asio::const_buffer> buffers;
  limited.collect(buffers, 30, kNoLimit);
  std::string bytes;
  for (const auto& b : buffers)
    bytes.append(static_cast<const char*>(b.data()), b.size());
  EXPECT_EQ(parts_of(bytes), (Strings{"text:a", "text:farewell"}));
}

TEST_F(OutboundTest, DropUnsentKeepsTheFramesInFlight) {
  push({"a", "b", "c", "d"});
  EXPECT_EQ(collect(2), (Strings{"text:a", "text:b"}));
  out.drop_unsent();
  EXPECT_EQ(out.size(), 2U);  // a and b are being written
  out.push(text("e"));
  EXPECT_TRUE(out.drain());  // sealed: dropped
  EXPECT_EQ(out.size(), 2U);
  out.append(text("farewell"));
  out.set_close_frame(ws::encode_close_frame(1008, "SlowClient"));
  EXPECT_FALSE(out.written());
  EXPECT_EQ(out.size(), 1U);
  EXPECT_EQ(collect(), (Strings{"text:farewell", "close:1008 SlowClient"}));
  EXPECT_TRUE(out.written());
}

TEST_F(OutboundTest, ExpiredFramesAreDroppedAtTheHead) {
  const auto past = std::chrono::steady_clock::now() - 1s;
  const auto future = std::chrono::steady_clock::now() + 1h;
  out.push(text("old1", past));
  out.push(text("old2", past));
  out.push(text("fresh", future));
  out.push(text("forever"));
  ASSERT_TRUE(out.drain());
  EXPECT_EQ(collect(), (Strings{"text:fresh", "text:forever"}));
  EXPECT_EQ(out.size(), 2U);
  out.written();
  EXPECT_EQ(out.bytes(), 0U);
}

TEST_F(OutboundTest, AnExpiredFrameFurtherOnEndsTheBatch) {
  const auto past = std::chrono::steady_clock::now() - 1s;
  push({"a"});
  out.push(text("expired", past));
  out.push(text("b"));
  ASSERT_TRUE(out.drain());
  EXPECT_EQ(collect(), Strings{"text:a"});
  out.written();
  EXPECT_EQ(collect(), Strings{"text:b"});  // dropped at the head of the next write
  out.written();
  EXPECT_EQ(out.size(), 0U);
  EXPECT_EQ(out.bytes(), 0U);
}

TEST_F(OutboundTest, BatchesAreBoundedInFramesAndBytesButTakeTheFirstFrameWhole) {
  push({"0123456789", "abcdefghij", "k", "l"});
  EXPECT_EQ(collect(30, 5), Strings{"text:0123456789"});  // larger than the limit alone
  out.written();
  EXPECT_EQ(collect(30, 11), (Strings{"text:abcdefghij", "text:k"}));
  out.written();
  push({"m", "n"});
  EXPECT_EQ(collect(2), (Strings{"text:l", "text:m"}));
  out.written();
  EXPECT_EQ(collect(2), Strings{"text:n"});
}

TEST_F(OutboundTest, BinaryFramesKeepTheirType) {
  out.push(protocol::make_frame(std::string(300, 'x'), true));
  ASSERT_TRUE(out.drain());
  EXPECT_EQ(collect(), Strings{"binary:" + std::string(300, 'x')});
}

}  // namespace
}  // namespace wps::transport
