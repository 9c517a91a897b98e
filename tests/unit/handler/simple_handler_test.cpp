// SimpleHandler (no subprotocol, spec §6.2) through its Handler interface on a fake socket: every
// frame is a `message` event upstream, its answer a raw frame back; no handler or a failing one
// closes with 1011; data messages arrive as raw frames and no system message is ever sent.

#include "handler/simple_handler.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "unit/handler/handler_fixture.hpp"

namespace wps::handler::test {
namespace {

using Strings = std::vector<std::string>;

class SimpleTest : public HandlerFixture {
 protected:
  void SetUp() override {
    upstream.handle("connected");
    upstream.handle("disconnected");
  }
  void answer(std::optional<protocol::Payload> reply, bool ok = true) {
    ASSERT_EQ(upstream.pending_user_events(), 1U);
    core::UserEventResult result;
    result.ok = ok;
    result.error = ok ? "" : "boom";
    result.reply = std::move(reply);
    upstream.take_user_event().done(result);
    settle();
  }
  void publish_payload(protocol::DataType type, std::string bytes) {
    auto m = std::make_shared<core::Message>();
    m->payload = {type, std::move(bytes)};
    hub()->publish({"chat", core::Scope::all, "", std::move(m), {}, nullptr});
  }
};

TEST_F(SimpleTest, OpensWithoutAnySystemMessage) {
  auto s = open(simple({"c1", "alice", {}, {"g"}}));
  EXPECT_TRUE(s->sent().empty());
  EXPECT_TRUE(hub()->connection_exists("c1"));
  EXPECT_EQ(hub()->user_connection_count("alice"), 1U);
  EXPECT_EQ(upstream.log("c1"), Strings{"connected"});
}

TEST_F(SimpleTest, AMessageWithoutAnEventHandlerCloses1011) {
  auto s = open(simple({"c1"}));
  s->receive_text("hello");
  ASSERT_TRUE(s->closed_with());
  EXPECT_EQ(s->closed_with()->code, core::close_code::internal_error);
  EXPECT_EQ(s->closed_with()->reason, "No event handler is configured for the 'message' event.");
  EXPECT_FALSE(s->farewell());  // simple clients get no `disconnected`
  EXPECT_FALSE(hub()->connection_exists("c1"));
  EXPECT_EQ(upstream.log("c1"),
            (Strings{"connected",
                     "disconnected: No event handler is configured for the 'message' event."}));
}

TEST_F(SimpleTest, EachFrameIsAMessageEventAndTheReplyComesBackAsARawFrame) {
  upstream.handle_user("message");
  auto s = open(simple({"c1", "alice"}));
  s->receive_text("first");
  EXPECT_TRUE(s->paused());
  s->receive_binary(std::string("\x00\x01", 2));  // waits for the first event's answer
  EXPECT_EQ(s->held(), 1U);
  ASSERT_EQ(upstream.pending_user_events(), 1U);
  {
    auto call = upstream.take_user_event();
    EXPECT_EQ(call.event, "message");
    EXPECT_EQ(call.payload.type, protocol::DataType::text);
    EXPECT_EQ(call.payload.bytes, "first");
    EXPECT_EQ(call.context.user_id, std::optional<std::string>("alice"));
    core::UserEventResult result;
    result.ok = true;
    result.reply = protocol::Payload{protocol::DataType::text, "reply one"};
    result.state = "st";
    call.done(result);
  }
  settle();
  // The answer went out and the held frame went upstream.
  auto sent = s->sent();
  ASSERT_EQ(sent.size(), 1U);
  EXPECT_FALSE(sent[0]->binary);
  EXPECT_EQ(sent[0]->data, "reply one");
  EXPECT_TRUE(s->paused());
  ASSERT_EQ(upstream.pending_user_events(), 1U);
  auto call = upstream.take_user_event();
  EXPECT_EQ(call.payload.type, protocol::DataType::binary);
  EXPECT_EQ(call.payload.bytes, std::string("\x00\x01", 2));
  EXPECT_EQ(call.context.state, std::optional<std::string>("st"));
  core::UserEventResult result;
  result.ok = true;
  result.reply = protocol::Payload{protocol::DataType::binary, std::string("\xff\x00", 2)};
  call.done(result);
  settle();
  sent = s->sent();
  ASSERT_EQ(sent.size(), 2U);
  EXPECT_TRUE(sent[1]->binary);
  EXPECT_EQ(sent[1]->data, std::string("\xff\x00", 2));
  EXPECT_FALSE(s->paused());
  EXPECT_FALSE(s->closed_with());
}

TEST_F(SimpleTest, AnEmptyAnswerSendsNothingAndResumes) {
  upstream.handle_user("message");
  auto s = open(simple({"c1"}));
  s->receive_text("x");
  answer(std::nullopt);
  EXPECT_TRUE(s->sent().empty());
  EXPECT_FALSE(s->paused());
  EXPECT_FALSE(s->closed_with());
}

TEST_F(SimpleTest, AFailingEventHandlerCloses1011) {
  upstream.handle_user("message");
  auto s = open(simple({"c1"}));
  s->receive_text("x");
  s->receive_text("dropped with the connection");
  answer(std::nullopt, /*ok=*/false);
  ASSERT_TRUE(s->closed_with());
  EXPECT_EQ(s->closed_with()->code, core::close_code::internal_error);
  EXPECT_EQ(s->closed_with()->reason, "The event handler failed.");
  EXPECT_FALSE(s->farewell());
  EXPECT_TRUE(s->sent().empty());
  EXPECT_EQ(upstream.pending_user_events(), 0U);  // the held frame never went upstream
  EXPECT_EQ(upstream.log("c1"),
            (Strings{"connected", "event message", "disconnected: The event handler failed."}));
}

TEST_F(SimpleTest, DataMessagesArriveAsRawFramesOfTheirType) {
  auto s = open(simple({"c1"}));
  publish_payload(protocol::DataType::text, "plain text");
  publish_payload(protocol::DataType::json, R"({"a":1})");
  publish_payload(protocol::DataType::binary, std::string("\x01\x00", 2));
  publish_payload(protocol::DataType::protobuf, "any-bytes");
  auto sent = s->sent();
  ASSERT_EQ(sent.size(), 4U);
  EXPECT_EQ(sent[0]->data, "plain text");
  EXPECT_FALSE(sent[0]->binary);
  EXPECT_EQ(sent[1]->data, R"({"a":1})");
  EXPECT_FALSE(sent[1]->binary);
  EXPECT_EQ(sent[2]->data, std::string("\x01\x00", 2));
  EXPECT_TRUE(sent[2]->binary);
  EXPECT_EQ(sent[3]->data, "any-bytes");
  EXPECT_TRUE(sent[3]->binary);
}

TEST_F(SimpleTest, ARestCloseSendsNoFarewell) {
  auto s = open(simple({"c1"}));
  hub()->close_connection("c1", core::close_code::normal, "bye");
  settle();
  ASSERT_TRUE(s->closed_with());
  EXPECT_EQ(s->closed_with()->code, core::close_code::normal);
  EXPECT_EQ(s->closed_with()->reason, "bye");
  EXPECT_FALSE(s->farewell());
  EXPECT_FALSE(hub()->connection_exists("c1"));
  s->client_close();
  EXPECT_EQ(upstream.log("c1"), (Strings{"connected", "disconnected: bye"}));
}

TEST_F(SimpleTest, TheClientsCloseAndADropRaiseDisconnectedOnce) {
  auto a = open(simple({"a"}));
  auto b = open(simple({"b"}));
  a->client_close();
  b->drop();
  EXPECT_EQ(b->closed_recoverable(), std::optional<bool>(true));
  EXPECT_FALSE(hub()->connection_exists("a"));
  EXPECT_FALSE(hub()->connection_exists("b"));
  EXPECT_EQ(upstream.log("a"), (Strings{"connected", "disconnected: "}));
  EXPECT_EQ(upstream.log("b"), (Strings{"connected", "disconnected: "}));
}

TEST_F(SimpleTest, UserLimitRefusesWith1008) {
  config.limits.max_connections_per_user = 1;
  open(simple({"c1", "alice"}));
  auto second = open(simple({"c2", "alice"}));
  ASSERT_TRUE(second->closed_with());
  EXPECT_EQ(second->closed_with()->code, core::close_code::policy_violation);
  EXPECT_EQ(second->closed_with()->reason,
            "The user has reached the maximum number of connections.");
  EXPECT_FALSE(second->farewell());
  EXPECT_TRUE(upstream.log("c2").empty());
  EXPECT_EQ(hub()->user_connection_count("alice"), 1U);
}

}  // namespace
}  // namespace wps::handler::test
