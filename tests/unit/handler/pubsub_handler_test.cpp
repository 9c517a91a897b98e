// PubSubHandler through its Handler interface: real client messages (JSON text, protobuf
// binary) on a fake socket, a real hub, and a fake upstream. Every case runs over the four
// PubSub subprotocols unless it is about reliable sessions only (reliable_session_test.cpp).

#include "handler/pubsub_handler.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "unit/handler/handler_fixture.hpp"
#include "unit/handler/pubsub_wire.hpp"

namespace wps::handler::test {
namespace {

using core::ProtocolKind;
using wps::test::Format;
using wps::test::Received;
using wps::test::Wire;
using Kind = Received::Kind;

constexpr const char* kJoinLeave = "webpubsub.joinLeaveGroup";
constexpr const char* kSend = "webpubsub.sendToGroup";

class PubSubTest : public HandlerFixture, public ::testing::WithParamInterface<ProtocolKind> {
 protected:
  ProtocolKind kind() const { return GetParam(); }
  bool reliable() const { return core::is_reliable(kind()); }
  Wire wire() const { return Wire(core::is_protobuf(kind()) ? Format::protobuf : Format::json); }

  std::shared_ptr<PubSubHandler> make(Who who) { return pubsub(kind(), std::move(who)); }
  // A client of this test's subprotocol, opened, with its `connected` read and cleared.
  std::shared_ptr<FakeSocket> client(Who who) {
    auto s = open(make(std::move(who)));
    auto first = take(*s);
    EXPECT_EQ(first.size(), 1U);
    if (!first.empty()) {
      EXPECT_EQ(first[0].kind, Kind::connected);
    }
    return s;
  }
  void say(FakeSocket& s, const std::string& message) { s.receive(message, wire().binary()); }
  // What the socket received so far, read as the client reads it, and cleared.
  std::vector<Received> take(FakeSocket& s) {
    std::vector<Received> out;
    for (const auto& frame : s.sent())
      out.push_back(wire().read(*frame));
    s.clear_sent();
    return out;
  }
  Received take_one(FakeSocket& s) {
    auto all = take(s);
    EXPECT_EQ(all.size(), 1U);
    return all.empty() ? Received{} : all[0];
  }
  void expect_ack(const Received& r, std::uint64_t id, std::string_view error = {}) {
    EXPECT_EQ(r.kind, Kind::ack);
    EXPECT_EQ(r.ack_id, id);
    EXPECT_EQ(r.success, error.empty());
    EXPECT_EQ(r.error_name, error);
    EXPECT_FALSE(r.sequence_id);
  }
  // The farewell the socket got when the server closed it: `disconnected` with `reason`.
  void expect_farewell(const FakeSocket& s, const std::string& reason) {
    ASSERT_TRUE(s.farewell());
    const Received r = wire().read(*s.farewell());
    EXPECT_EQ(r.kind, Kind::disconnected);
    EXPECT_EQ(r.reason, reason);
  }
  void expect_closed(const FakeSocket& s, std::uint16_t code, const std::string& reason) {
    ASSERT_TRUE(s.closed_with());
    EXPECT_EQ(s.closed_with()->code, code);
    EXPECT_EQ(s.closed_with()->reason, reason);
  }
  std::vector<std::string> members(const std::string& group) {
    std::vector<std::string> out;
    for (const auto& m : hub()->list_group(group, "", 100))
      out.push_back(m.connection_id);
    return out;
  }
  using Strings = std::vector<std::string>;
};

INSTANTIATE_TEST_SUITE_P(Subprotocols, PubSubTest,
                         ::testing::Values(ProtocolKind::json, ProtocolKind::protobuf,
                                           ProtocolKind::json_reliable,
                                           ProtocolKind::protobuf_reliable),
                         [](const ::testing::TestParamInfo<ProtocolKind>& p) {
                           return kind_name(p.param);
                         });

// ---- opening -------------------------------------------------------------------------------

TEST_P(PubSubTest, ConnectedComesFirstThenTheTokenGroupsPresence) {
  upstream.handle("connected");
  upstream.handle("joined");
  auto s = open(make({"c1", "alice", {}, {"g"}}));
  auto got = take(*s);
  ASSERT_EQ(got.size(), 1U);
  EXPECT_EQ(got[0].kind, Kind::connected);
  EXPECT_EQ(got[0].connection_id, "c1");
  EXPECT_EQ(got[0].user_id, std::optional<std::string>("alice"));
  if (reliable()) {
    ASSERT_TRUE(got[0].reconnection_token);
    EXPECT_EQ(got[0].reconnection_token->size(), 64U);
  } else {
    EXPECT_FALSE(got[0].reconnection_token);
  }
  EXPECT_TRUE(hub()->connection_exists("c1"));
  EXPECT_EQ(members("g"), Strings{"c1"});
  EXPECT_EQ(upstream.log("c1"), (Strings{"connected", "joined g"}));
  EXPECT_EQ(context().sessions.size(), reliable() ? 1U : 0U);
}

TEST_P(PubSubTest, AnonymousClientsGetNoUserId) {
  auto s = open(make({"c1"}));
  const Received r = take_one(*s);
  EXPECT_EQ(r.kind, Kind::connected);
  EXPECT_FALSE(r.user_id);
}

TEST_P(PubSubTest, UserLimitRefusesWith1008AndRaisesNoEvents) {
  config.limits.max_connections_per_user = 1;
  upstream.handle("connected");
  upstream.handle("disconnected");
  client({"c1", "alice"});
  auto second = open(make({"c2", "alice"}));
  EXPECT_TRUE(second->sent().empty());  // no `connected`
  const std::string reason = "The user has reached the maximum number of connections.";
  expect_closed(*second, core::close_code::policy_violation, reason);
  expect_farewell(*second, reason);
  EXPECT_FALSE(hub()->connection_exists("c2"));
  EXPECT_TRUE(upstream.log("c2").empty());
  EXPECT_EQ(context().sessions.size(), reliable() ? 1U : 0U);  // c1's only
  EXPECT_EQ(hub()->user_connection_count("alice"), 1U);
}

// ---- groups --------------------------------------------------------------------------------

TEST_P(PubSubTest, JoinAndLeaveAreAcked) {
  auto s = client({"c1", std::nullopt, {kJoinLeave}});
  say(*s, wire().join("g", 1));
  expect_ack(take_one(*s), 1);
  EXPECT_EQ(members("g"), Strings{"c1"});
  say(*s, wire().leave("g", 2));
  expect_ack(take_one(*s), 2);
  EXPECT_FALSE(hub()->group_exists("g"));
  // Without an ackId: done, nothing answered.
  say(*s, wire().join("h"));
  EXPECT_TRUE(take(*s).empty());
  EXPECT_EQ(members("h"), Strings{"c1"});
}

TEST_P(PubSubTest, ForbiddenJoinOrLeaveIsAnsweredAndNotRememberedForDuplicate) {
  auto s = client({"c1", std::nullopt, {}, {"token-group"}});
  say(*s, wire().join("g", 1));
  Received r = take_one(*s);
  expect_ack(r, 1, "Forbidden");
  EXPECT_EQ(r.error_message, "The client does not have permission to join group 'g'.");
  EXPECT_FALSE(hub()->group_exists("g"));
  say(*s, wire().leave("token-group", 2));
  r = take_one(*s);
  expect_ack(r, 2, "Forbidden");
  EXPECT_EQ(r.error_message, "The client does not have permission to leave group 'token-group'.");
  EXPECT_EQ(members("token-group"), Strings{"c1"});
  // Without an ackId a refusal is silent.
  say(*s, wire().join("g"));
  EXPECT_TRUE(take(*s).empty());
  EXPECT_FALSE(hub()->group_exists("g"));
  // Once permitted, the same ackId succeeds: only successes are Duplicates later.
  hub()->grant_permission("c1", core::Permission::join_leave_group, std::string("g"));
  say(*s, wire().join("g", 1));
  expect_ack(take_one(*s), 1);
  EXPECT_EQ(members("g"), Strings{"c1"});
}

TEST_P(PubSubTest, GroupLimitIsABadRequest) {
  config.limits.max_groups_per_connection = 1;
  auto s = client({"c1", std::nullopt, {kJoinLeave}});
  say(*s, wire().join("g1", 1));
  expect_ack(take_one(*s), 1);
  say(*s, wire().join("g2", 2));
  const Received r = take_one(*s);
  expect_ack(r, 2, "BadRequest");
  EXPECT_EQ(r.error_message, "The connection is already in the maximum number of groups (1).");
  EXPECT_FALSE(hub()->group_exists("g2"));
  // A group it is in already is no new group.
  say(*s, wire().join("g1", 3));
  expect_ack(take_one(*s), 3);
}

// ---- sendToGroup ---------------------------------------------------------------------------

TEST_P(PubSubTest, SendToGroupEchoesBeforeTheAck) {
  auto a = client({"a", "alice", {kSend}, {"g"}});
  auto b = client({"b", std::nullopt, {}, {"g"}});
  say(*a, wire().send("g", "hi", 7));
  auto got = take(*a);
  ASSERT_EQ(got.size(), 2U);
  EXPECT_EQ(got[0].kind, Kind::message);
  EXPECT_EQ(got[0].from, "group");
  EXPECT_EQ(got[0].group, std::optional<std::string>("g"));
  EXPECT_EQ(got[0].data, "hi");
  EXPECT_EQ(got[0].sequence_id, reliable() ? std::optional<std::uint64_t>(1) : std::nullopt);
  expect_ack(got[1], 7);
  const Received other = take_one(*b);
  EXPECT_EQ(other.kind, Kind::message);
  EXPECT_EQ(other.data, "hi");
}

TEST_P(PubSubTest, NoEchoSkipsTheSender) {
  auto a = client({"a", std::nullopt, {kSend}, {"g"}});
  auto b = client({"b", std::nullopt, {}, {"g"}});
  say(*a, wire().send("g", "hi", 7, /*no_echo=*/true));
  expect_ack(take_one(*a), 7);
  EXPECT_EQ(take_one(*b).data, "hi");
}

TEST_P(PubSubTest, ARepeatedSuccessfulAckIdIsADuplicateAndNotSentAgain) {
  auto a = client({"a", std::nullopt, {kSend}, {"g"}});
  auto b = client({"b", std::nullopt, {}, {"g"}});
  say(*a, wire().send("g", "hi", 7, true));
  expect_ack(take_one(*a), 7);
  say(*a, wire().send("g", "hi again", 7, true));
  const Received r = take_one(*a);
  expect_ack(r, 7, "Duplicate");
  EXPECT_EQ(r.error_message, "Message with ack-id: 7 has been processed");
  auto delivered = take(*b);
  ASSERT_EQ(delivered.size(), 1U);
  EXPECT_EQ(delivered[0].data, "hi");
  // The ids are the connection's, whatever the message: a join with it is a Duplicate too.
  say(*a, wire().join("g", 7));
  expect_ack(take_one(*a), 7, "Duplicate");
}

TEST_P(PubSubTest, RememberedAckIdsAreBounded) {
  config.limits.max_remembered_ack_ids = 2;
  auto s = client({"c1", std::nullopt, {kJoinLeave}});
  for (std::uint64_t id = 1; id <= 3; ++id) {
    say(*s, wire().join("g", id));
    expect_ack(take_one(*s), id);
  }
  say(*s, wire().join("g", 3));
  expect_ack(take_one(*s), 3, "Duplicate");
  say(*s, wire().join("g", 1));  // forgotten: the oldest went first
  expect_ack(take_one(*s), 1);
}

TEST_P(PubSubTest, SendToGroupWithoutPermissionIsForbidden) {
  auto a = client({"a", std::nullopt, {}, {"g"}});
  auto b = client({"b", std::nullopt, {}, {"g"}});
  say(*a, wire().send("g", "hi", 4));
  const Received r = take_one(*a);
  expect_ack(r, 4, "Forbidden");
  EXPECT_EQ(r.error_message, "The client does not have permission to send to group 'g'.");
  EXPECT_TRUE(take(*b).empty());
  say(*a, wire().send("g", "hi"));  // no ackId: dropped silently
  EXPECT_TRUE(take(*a).empty());
  EXPECT_TRUE(take(*b).empty());
  EXPECT_FALSE(a->closed_with());
}

TEST_P(PubSubTest, PingIsAnsweredWithPong) {
  auto s = client({"c1"});
  say(*s, wire().ping());
  EXPECT_EQ(take_one(*s).kind, Kind::pong);
}

// ---- events --------------------------------------------------------------------------------

TEST_P(PubSubTest, EventWithoutAHandlerIsAnInternalServerErrorAndTheConnectionStays) {
  auto s = client({"c1"});
  say(*s, wire().event("e", "x", 3));
  Received r = take_one(*s);
  expect_ack(r, 3, "InternalServerError");
  EXPECT_EQ(r.error_message, "No event handler is configured for event 'e'.");
  say(*s, wire().event("e", "x", 3));  // it failed, so it is no Duplicate
  expect_ack(take_one(*s), 3, "InternalServerError");
  say(*s, wire().event("e", "x"));
  EXPECT_TRUE(take(*s).empty());
  EXPECT_FALSE(s->paused());
  EXPECT_FALSE(s->closed_with());
  say(*s, wire().ping());
  EXPECT_EQ(take_one(*s).kind, Kind::pong);
  EXPECT_EQ(upstream.pending_user_events(), 0U);
}

TEST_P(PubSubTest, EventGoesUpstreamWithTheSocketPausedAndTheReplyPrecedesTheAck) {
  upstream.handle_user("e");
  auto s = client({"c1", "alice"});
  say(*s, wire().event("e", "x", 5));
  EXPECT_TRUE(s->paused());
  ASSERT_EQ(upstream.pending_user_events(), 1U);
  // What arrives meanwhile waits.
  say(*s, wire().ping());
  EXPECT_EQ(s->held(), 1U);
  EXPECT_TRUE(take(*s).empty());

  auto call = upstream.take_user_event();
  EXPECT_EQ(call.event, "e");
  EXPECT_EQ(call.payload.type, protocol::DataType::text);
  EXPECT_EQ(call.payload.bytes, "x");
  EXPECT_EQ(call.context.connection_id, "c1");
  EXPECT_EQ(call.context.user_id, std::optional<std::string>("alice"));
  core::UserEventResult result;
  result.ok = true;
  result.reply = protocol::Payload{protocol::DataType::text, "reply"};
  result.state = "s1";
  call.done(result);
  EXPECT_TRUE(s->paused());  // the answer runs on the socket's executor
  settle();
  EXPECT_FALSE(s->paused());
  auto got = take(*s);
  ASSERT_EQ(got.size(), 3U);
  EXPECT_EQ(got[0].kind, Kind::message);
  EXPECT_EQ(got[0].from, "server");
  EXPECT_FALSE(got[0].group);
  EXPECT_EQ(got[0].data, "reply");
  EXPECT_EQ(got[0].sequence_id, reliable() ? std::optional<std::uint64_t>(1) : std::nullopt);
  expect_ack(got[1], 5);
  EXPECT_EQ(got[2].kind, Kind::pong);  // the held ping, after the event

  // The state the handler set travels with the next event.
  say(*s, wire().event("e", "y"));
  ASSERT_EQ(upstream.pending_user_events(), 1U);
  EXPECT_EQ(upstream.take_user_event().context.state, std::optional<std::string>("s1"));
}

TEST_P(PubSubTest, EventHandlerFailureIsAnInternalServerErrorAndResumes) {
  upstream.handle_user("*");
  auto s = client({"c1"});
  say(*s, wire().event("e", "x", 5));
  core::UserEventResult failed;
  failed.error = "boom";
  upstream.take_user_event().done(failed);
  settle();
  const Received r = take_one(*s);
  expect_ack(r, 5, "InternalServerError");
  EXPECT_EQ(r.error_message, "Internal server error");
  EXPECT_FALSE(s->paused());
  EXPECT_FALSE(s->closed_with());
  // Failed, so the same ackId goes upstream again.
  say(*s, wire().event("e", "x", 5));
  EXPECT_EQ(upstream.pending_user_events(), 1U);
}

TEST_P(PubSubTest, ASuccessfulEventAckIdIsADuplicateWithoutGoingUpstream) {
  upstream.handle_user("*");
  auto s = client({"c1"});
  say(*s, wire().event("e", "x", 5));
  core::UserEventResult ok;
  ok.ok = true;
  upstream.take_user_event().done(ok);
  settle();
  expect_ack(take_one(*s), 5);
  say(*s, wire().event("e", "x", 5));
  expect_ack(take_one(*s), 5, "Duplicate");
  EXPECT_EQ(upstream.pending_user_events(), 0U);
  EXPECT_FALSE(s->paused());
}

// ---- bad input -----------------------------------------------------------------------------

TEST_P(PubSubTest, AFrameOfTheWrongTypeCloses1003) {
  upstream.handle("disconnected");
  auto s = client({"c1"});
  s->receive(wire().ping(), !wire().binary());
  const std::string reason = core::is_protobuf(kind())
                                 ? "The protobuf subprotocol requires binary messages."
                                 : "The JSON subprotocol requires text messages.";
  expect_closed(*s, core::close_code::unsupported_data, reason);
  expect_farewell(*s, reason);
  EXPECT_TRUE(s->sent().empty());  // no pong
  EXPECT_FALSE(hub()->connection_exists("c1"));
  EXPECT_EQ(upstream.log("c1"), Strings{"disconnected: " + reason});
  EXPECT_EQ(context().counters.protocol_error_closes, 1U);
  EXPECT_EQ(context().sessions.size(), 0U);
}

TEST_P(PubSubTest, AnUndecodableMessageCloses1007AndNothingAfterItIsHandled) {
  upstream.handle("disconnected");
  auto s = client({"c1", std::nullopt, {kJoinLeave}});
  say(*s, wire().garbage());
  ASSERT_TRUE(s->closed_with());
  EXPECT_EQ(s->closed_with()->code, core::close_code::invalid_payload);
  EXPECT_FALSE(s->closed_with()->reason.empty());
  expect_farewell(*s, s->closed_with()->reason);
  say(*s, wire().join("g", 1));
  EXPECT_TRUE(s->sent().empty());
  EXPECT_FALSE(hub()->group_exists("g"));
  EXPECT_EQ(upstream.log("c1"), Strings{"disconnected: " + s->closed_with()->reason});
}

// ---- every way a connection ends, and the events it raises ---------------------------------

TEST_P(PubSubTest, TheClientsCloseEndsItWithoutAFarewell) {
  upstream.handle("connected");
  upstream.handle("disconnected");
  auto s = client({"c1", std::nullopt, {}, {"g"}});
  s->client_close();
  EXPECT_EQ(s->closed_recoverable(), std::optional<bool>(false));
  EXPECT_EQ(s->on_closing_calls(), 0);
  EXPECT_FALSE(s->farewell());
  EXPECT_FALSE(hub()->connection_exists("c1"));
  EXPECT_FALSE(hub()->group_exists("g"));
  EXPECT_EQ(upstream.log("c1"), (Strings{"connected", "disconnected: "}));
  EXPECT_EQ(context().sessions.size(), 0U);
}

TEST_P(PubSubTest, AServerCloseSendsTheFarewellAndRaisesDisconnectedOnce) {
  upstream.handle("connected");
  upstream.handle("disconnected");
  auto s = client({"c1"});
  s->close(core::close_code::going_away, "Server shutting down.");  // from another thread: posted
  EXPECT_FALSE(s->closed_with());
  settle();
  expect_closed(*s, core::close_code::going_away, "Server shutting down.");
  expect_farewell(*s, "Server shutting down.");
  EXPECT_FALSE(hub()->connection_exists("c1"));
  s->client_close();  // the client answers
  EXPECT_EQ(s->closed_recoverable(), std::optional<bool>(false));
  s->close(core::close_code::normal, "again");  // idempotent
  settle();
  EXPECT_EQ(s->on_closing_calls(), 1);
  EXPECT_EQ(upstream.log("c1"), (Strings{"connected", "disconnected: Server shutting down."}));
  EXPECT_EQ(context().sessions.size(), 0U);
}

TEST_P(PubSubTest, ARestCloseSendsDisconnectedThenTheCloseCode) {
  upstream.handle("connected");
  upstream.handle("disconnected");
  auto s = client({"c1", "alice"});
  hub()->close_user("alice", {}, core::close_code::normal, "Closed by the application.");
  settle();
  expect_farewell(*s, "Closed by the application.");
  expect_closed(*s, core::close_code::normal, "Closed by the application.");
  EXPECT_FALSE(hub()->connection_exists("c1"));
  s->client_close();
  EXPECT_EQ(upstream.log("c1"), (Strings{"connected", "disconnected: Closed by the application."}));
  EXPECT_EQ(context().sessions.size(), 0U);
}

TEST_P(PubSubTest, ASlowConsumerCloseGetsTheFarewellAndEndsTheConnection) {
  upstream.handle("disconnected");
  auto s = client({"c1", std::nullopt, {}, {"g"}});
  // What the transport does when the queue passes its limits (on the socket's executor).
  boost::asio::post(ioc, [&] {
    s->close(core::close_code::policy_violation, "SlowClient: the outgoing queue is full.");
  });
  settle();
  expect_farewell(*s, "SlowClient: the outgoing queue is full.");
  expect_closed(*s, core::close_code::policy_violation, "SlowClient: the outgoing queue is full.");
  EXPECT_FALSE(hub()->connection_exists("c1"));
  publish(core::Scope::group, "g", "late");
  EXPECT_TRUE(s->sent().empty());
  s->drop();  // it never answers: the deadline drops it
  EXPECT_EQ(s->closed_recoverable(), std::optional<bool>(false));
  EXPECT_EQ(upstream.log("c1"), Strings{"disconnected: SlowClient: the outgoing queue is full."});
  EXPECT_EQ(context().sessions.size(), 0U);
}

TEST_P(PubSubTest, ADropEndsAPlainConnectionAndKeepsAReliableOne) {
  upstream.handle("connected");
  upstream.handle("disconnected");
  auto s = client({"c1"});
  s->drop();
  EXPECT_EQ(s->closed_recoverable(), std::optional<bool>(true));
  EXPECT_EQ(s->on_closing_calls(), 0);
  if (reliable()) {
    EXPECT_TRUE(hub()->connection_exists("c1"));
    EXPECT_EQ(upstream.log("c1"), Strings{"connected"});
    EXPECT_EQ(context().sessions.size(), 1U);
  } else {
    EXPECT_FALSE(hub()->connection_exists("c1"));
    EXPECT_EQ(upstream.log("c1"), (Strings{"connected", "disconnected: "}));
  }
}

TEST_P(PubSubTest, GroupPresenceEventsFollowJoinsAndLeaves) {
  upstream.handle("connected");
  upstream.handle("joined");
  upstream.handle("left");
  upstream.handle("disconnected");
  auto s = client({"c1", std::nullopt, {kJoinLeave}});
  say(*s, wire().join("g", 1));
  say(*s, wire().leave("g", 2));
  say(*s, wire().join("h"));
  s->client_close();
  EXPECT_EQ(upstream.log("c1"),
            (Strings{"connected", "joined g", "left g", "joined h", "left h", "disconnected: "}));
}

}  // namespace
}  // namespace wps::handler::test

// ---- preview: group streams and invoke (spec §6.8, §6.9) ------------------------------------

namespace wps::handler::test {
namespace {

TEST_P(PubSubTest, AGroupStreamReachesTheMembersInOrderWithItsIdentityAndEnd) {
  auto pub = client({"p", "pat", {kSend}});
  auto sub = client({"s", std::nullopt, {}, {"g"}});
  say(*pub, wire().stream_start("g", "st"));
  Received ack = take_one(*pub);
  EXPECT_EQ(ack.kind, Kind::stream_ack);
  EXPECT_EQ(ack.expected, 1U);
  say(*pub, wire().stream_data("st", 1, "a"));
  auto late = client({"l", std::nullopt, {}, {"g"}});  // joins mid-stream: gets the rest only
  say(*pub, wire().stream_data("st", 3, "gap"));       // ahead: nack, not published
  say(*pub, wire().stream_data("st", 2, "b"));
  say(*pub, wire().stream_data("st", 1, "a"));  // behind: a duplicate, acked, not published
  say(*pub, wire().stream_end("st"));
  auto answers = take(*pub);
  ASSERT_EQ(answers.size(), 5U);
  EXPECT_EQ(answers[0].expected, 2U);
  EXPECT_EQ(answers[1].kind, Kind::stream_nack);
  EXPECT_EQ(answers[1].error_name, "InvalidSequenceId");
  EXPECT_EQ(answers[1].expected, 2U);
  EXPECT_EQ(answers[2].expected, 3U);
  EXPECT_EQ(answers[3].kind, Kind::stream_ack);
  EXPECT_EQ(answers[3].expected, 3U);
  EXPECT_EQ(answers[4].kind, Kind::stream_closed);
  EXPECT_TRUE(answers[4].error_name.empty());
  for (const auto& a : answers)
    EXPECT_FALSE(a.sequence_id);  // control messages are not numbered
  auto got = take(*sub);
  ASSERT_EQ(got.size(), 3U);
  EXPECT_EQ(got[0].data, "a");
  EXPECT_EQ(got[0].stream_id, "st");
  EXPECT_EQ(got[0].stream_sequence_id, 1U);
  EXPECT_EQ(got[1].data, "b");
  EXPECT_EQ(got[1].stream_sequence_id, 2U);
  EXPECT_TRUE(got[2].end_of_stream);
  EXPECT_EQ(got[2].stream_sequence_id, 3U);
  EXPECT_EQ(got[2].data, "");
  EXPECT_EQ(got[2].sequence_id, reliable() ? std::optional<std::uint64_t>(3) : std::nullopt);
  auto rest = take(*late);
  ASSERT_EQ(rest.size(), 2U);
  EXPECT_EQ(rest[0].data, "b");
  EXPECT_EQ(rest[0].stream_sequence_id, 2U);
  EXPECT_TRUE(rest[1].end_of_stream);
  // Unknown now: StreamNotFound.
  say(*pub, wire().stream_data("st", 3, "late"));
  Received gone = take_one(*pub);
  EXPECT_EQ(gone.kind, Kind::stream_closed);
  EXPECT_EQ(gone.error_name, "StreamNotFound");
  EXPECT_TRUE(take(*sub).empty());
  EXPECT_FALSE(pub->closed_with());
}

TEST_P(PubSubTest, StreamStartsAreCheckedLikeSendToGroupAndBounded) {
  config.limits.max_open_streams_per_connection = 1;
  auto pub = client({"p", std::nullopt, {"webpubsub.sendToGroup.g"}});
  say(*pub, wire().stream_start("other", "x"));
  Received forbidden = take_one(*pub);
  EXPECT_EQ(forbidden.kind, Kind::stream_closed);
  EXPECT_EQ(forbidden.error_name, "Forbidden");
  say(*pub, wire().stream_start("g", "s1"));
  EXPECT_EQ(take_one(*pub).kind, Kind::stream_ack);
  say(*pub, wire().stream_start("g", "s1"));
  EXPECT_EQ(take_one(*pub).error_name, "BadRequest");  // already open
  say(*pub, wire().stream_start("g", "s2"));
  EXPECT_EQ(take_one(*pub).error_name, "BadRequest");  // over the limit
  EXPECT_FALSE(pub->closed_with());
}

TEST_P(PubSubTest, AnOversizedFragmentEndsTheStreamAndAClosingPublisherCancelsItsStreams) {
  config.limits.max_stream_chunk_bytes = 4;
  auto pub = client({"p", std::nullopt, {kSend}});
  auto sub = client({"s", std::nullopt, {}, {"g"}});
  say(*pub, wire().stream_start("g", "big"));
  say(*pub, wire().stream_data("big", 1, "12345"));
  auto answers = take(*pub);
  ASSERT_EQ(answers.size(), 2U);
  EXPECT_EQ(answers[1].kind, Kind::stream_closed);
  EXPECT_EQ(answers[1].error_name, "BadRequest");
  Received end = take_one(*sub);
  EXPECT_TRUE(end.end_of_stream);
  EXPECT_EQ(end.error_name, "Cancelled");

  say(*pub, wire().stream_start("g", "cut"));
  say(*pub, wire().stream_data("cut", 1, "ok"));
  take(*pub);
  EXPECT_EQ(take_one(*sub).data, "ok");
  pub->close(1000, "bye");
  settle();
  Received cancelled = take_one(*sub);
  EXPECT_EQ(cancelled.stream_id, "cut");
  EXPECT_TRUE(cancelled.end_of_stream);
  EXPECT_EQ(cancelled.error_name, "Cancelled");
  EXPECT_EQ(cancelled.stream_sequence_id, 2U);
}

// Invoke is JSON only.
class InvokeTest : public PubSubTest {};
INSTANTIATE_TEST_SUITE_P(Json, InvokeTest,
                         ::testing::Values(ProtocolKind::json, ProtocolKind::json_reliable),
                         [](const ::testing::TestParamInfo<ProtocolKind>& p) {
                           return kind_name(p.param);
                         });

TEST_P(InvokeTest, AnInvocationDoesNotPauseTheSocketAndIsAnsweredOnceUnlessCancelled) {
  upstream.handle_user("calc");
  auto s = client({"c1"});
  say(*s,
      R"({"type":"invoke","invocationId":"1","target":"event","event":"calc","dataType":"text","data":"2+2"})");
  say(*s, R"({"type":"invoke","invocationId":"2","target":"event","event":"calc"})");
  EXPECT_FALSE(s->paused());
  say(*s, R"({"type":"invoke","invocationId":"1","event":"calc"})");  // "1" is pending
  say(*s, wire().ping());
  auto got = take(*s);
  ASSERT_EQ(got.size(), 2U);
  EXPECT_EQ(got[0].kind, Kind::invoke_response);
  EXPECT_EQ(got[0].invocation_id, "1");
  EXPECT_EQ(got[0].error_name, "BadRequest");
  EXPECT_EQ(got[1].kind, Kind::pong);
  ASSERT_EQ(upstream.pending_user_events(), 2U);
  auto first = upstream.take_user_event();
  auto second = upstream.take_user_event();
  EXPECT_EQ(first.payload.bytes, "2+2");
  EXPECT_EQ(second.payload.type, protocol::DataType::text);  // no payload: empty text
  EXPECT_EQ(second.payload.bytes, "");
  say(*s, R"({"type":"cancelInvocation","invocationId":"2"})");
  core::UserEventResult result;
  result.ok = true;
  result.reply = protocol::Payload{protocol::DataType::text, "4"};
  second.done(result);  // cancelled: no answer
  first.done(result);
  settle();
  got = take(*s);
  ASSERT_EQ(got.size(), 1U);
  EXPECT_EQ(got[0].invocation_id, "1");
  EXPECT_TRUE(got[0].success);
  EXPECT_EQ(got[0].data, "4");
  EXPECT_FALSE(got[0].sequence_id);
  // Failures and no handler: InternalServerError; other targets: BadRequest.
  say(*s, R"({"type":"invoke","invocationId":"3","event":"calc"})");
  upstream.take_user_event().done(core::UserEventResult{});
  say(*s, R"({"type":"invoke","invocationId":"4","event":"nohandler"})");
  say(*s, R"({"type":"invoke","invocationId":"5","target":"x","event":"calc"})");
  settle();
  got = take(*s);
  ASSERT_EQ(got.size(), 3U);
  EXPECT_EQ(got[0].error_name, "InternalServerError");
  EXPECT_EQ(got[1].error_name, "InternalServerError");
  EXPECT_EQ(got[2].error_name, "BadRequest");
  EXPECT_FALSE(s->closed_with());
}

}  // namespace
}  // namespace wps::handler::test
