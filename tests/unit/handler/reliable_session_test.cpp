// Reliable sessions (json.reliable / protobuf.reliable): sequence ids per recipient, sequenceAck,
// a drop that keeps the session, recovery on a new socket with replay, the recovery window, the
// replay buffer's bounds, and every way the session ends. PubSubHandler through its Handler
// interface, on fake sockets, with a real hub and a fake upstream.

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "handler/pubsub_handler.hpp"
#include "unit/handler/handler_fixture.hpp"
#include "unit/handler/pubsub_wire.hpp"

namespace wps::handler::test {
namespace {

using namespace std::chrono_literals;
using core::ProtocolKind;
using wps::test::Format;
using wps::test::Received;
using wps::test::Wire;
using Kind = Received::Kind;
using Strings = std::vector<std::string>;

constexpr const char* kRefused = "The connection cannot be recovered: unknown or expired session.";
constexpr const char* kReplayFull =
    "The reliable session's buffer of unacknowledged messages is full.";

class ReliableTest : public HandlerFixture, public ::testing::WithParamInterface<ProtocolKind> {
 protected:
  ProtocolKind kind() const { return GetParam(); }
  Wire wire() const { return Wire(core::is_protobuf(kind()) ? Format::protobuf : Format::json); }

  void SetUp() override {
    upstream.handle("connected");
    upstream.handle("disconnected");
  }

  // A session and its first socket; the `connected` it got is kept in `connected_`.
  std::shared_ptr<PubSubHandler> session(Who who = {}) {
    auto h = pubsub(kind(), std::move(who));
    first_ = open(h);
    auto got = take(*first_);
    EXPECT_EQ(got.size(), 1U);
    if (!got.empty())
      connected_ = got[0];
    EXPECT_TRUE(connected_.reconnection_token);
    return h;
  }
  std::string token() const { return connected_.reconnection_token.value_or(""); }

  void say(FakeSocket& s, const std::string& message) { s.receive(message, wire().binary()); }
  std::vector<Received> take(FakeSocket& s) {
    std::vector<Received> out;
    for (const auto& frame : s.sent())
      out.push_back(wire().read(*frame));
    s.clear_sent();
    return out;
  }
  // The data messages `s` received: "<data>#<sequenceId>".
  Strings messages(FakeSocket& s) {
    Strings out;
    for (const Received& r : take(s)) {
      EXPECT_EQ(r.kind, Kind::message);
      out.push_back(r.data + "#" + (r.sequence_id ? std::to_string(*r.sequence_id) : "none"));
    }
    return out;
  }
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
  // A new socket carrying `h` is refused: 1008 after `disconnected`.
  void expect_not_resumable(const std::shared_ptr<PubSubHandler>& h) {
    const auto refused_before = context().counters.recoveries_refused.load();
    auto s = open(h);
    EXPECT_TRUE(s->sent().empty());
    expect_closed(*s, core::close_code::policy_violation, kRefused);
    expect_farewell(*s, kRefused);
    EXPECT_EQ(context().counters.recoveries_refused, refused_before + 1);
    // Endpoints looks sessions up here: an ended one is not found any more.
    EXPECT_EQ(context().sessions.find(h->id()), nullptr);
  }

  std::shared_ptr<FakeSocket> first_;
  Received connected_;
};

INSTANTIATE_TEST_SUITE_P(Reliable, ReliableTest,
                         ::testing::Values(ProtocolKind::json_reliable,
                                           ProtocolKind::protobuf_reliable),
                         [](const ::testing::TestParamInfo<ProtocolKind>& p) {
                           return kind_name(p.param);
                         });

TEST_P(ReliableTest, SequenceIdsArePerRecipientAndOnlyOnDataMessages) {
  session({"a", std::nullopt, {}, {"g"}});
  auto a = first_;
  auto hb = pubsub(kind(), {"b", std::nullopt, {}, {"g"}});
  auto b = open(hb);
  take(*b);
  publish(core::Scope::connection, "b", "only-b");
  publish(core::Scope::group, "g", "both");
  publish(core::Scope::group, "g", "both2");
  EXPECT_EQ(messages(*a), (Strings{"both#1", "both2#2"}));
  EXPECT_EQ(messages(*b), (Strings{"only-b#1", "both#2", "both2#3"}));
  say(*a, wire().ping());  // pongs (and acks, `connected`) carry none: Wire::read checks
  auto pong = take(*a);
  ASSERT_EQ(pong.size(), 1U);
  EXPECT_EQ(pong[0].kind, Kind::pong);
  EXPECT_FALSE(pong[0].sequence_id);
}

TEST_P(ReliableTest, ResumableOnlyWithItsTokenKindAndHub) {
  auto h = session();
  const std::string t = token();
  EXPECT_EQ(t.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_TRUE(h->resumable_by(t, kind(), "chat"));
  std::string wrong = t;
  wrong.back() = wrong.back() == '0' ? '1' : '0';
  EXPECT_FALSE(h->resumable_by(wrong, kind(), "chat"));
  EXPECT_FALSE(h->resumable_by(t.substr(0, t.size() - 1), kind(), "chat"));
  EXPECT_FALSE(h->resumable_by("", kind(), "chat"));
  const ProtocolKind other = kind() == ProtocolKind::json_reliable ? ProtocolKind::protobuf_reliable
                                                                   : ProtocolKind::json_reliable;
  EXPECT_FALSE(h->resumable_by(t, other, "chat"));
  EXPECT_FALSE(h->resumable_by(t, kind(), "other"));
  // Each session has its own token.
  auto h2 = pubsub(kind(), {"c2"});
  EXPECT_FALSE(h2->resumable_by(t, kind(), "chat"));
  // Plain sessions are never resumable.
  auto plain =
      pubsub(core::is_protobuf(kind()) ? ProtocolKind::protobuf : ProtocolKind::json, {"c3"});
  EXPECT_FALSE(plain->resumable_by("", plain->kind(), "chat"));
}

TEST_P(ReliableTest, ADropKeepsTheSessionAndANewSocketGetsConnectedThenTheReplayInOrder) {
  auto h = session({"c1", "alice", {}, {"g"}});
  publish(core::Scope::group, "g", "m1");
  EXPECT_EQ(messages(*first_), Strings{"m1#1"});
  first_->drop();
  EXPECT_EQ(first_->closed_recoverable(), std::optional<bool>(true));
  // Still in its hub and groups, receiving into its buffer.
  EXPECT_TRUE(hub()->connection_exists("c1"));
  EXPECT_EQ(context().sessions.find("c1"), h);
  publish(core::Scope::group, "g", "m2");
  publish(core::Scope::user, "alice", "m3");
  EXPECT_TRUE(first_->sent().empty());

  auto second = open(h);
  auto got = take(*second);
  ASSERT_EQ(got.size(), 4U);
  EXPECT_EQ(got[0].kind, Kind::connected);
  EXPECT_EQ(got[0].connection_id, "c1");
  EXPECT_EQ(got[0].user_id, std::optional<std::string>("alice"));
  EXPECT_EQ(got[0].reconnection_token, connected_.reconnection_token);
  Strings replay;
  for (std::size_t i = 1; i < got.size(); ++i)
    replay.push_back(got[i].data + "#" + std::to_string(got[i].sequence_id.value_or(0)));
  EXPECT_EQ(replay, (Strings{"m1#1", "m2#2", "m3#3"}));  // m1 was never acknowledged
  // Then live traffic, numbered on.
  publish(core::Scope::group, "g", "m4");
  EXPECT_EQ(messages(*second), Strings{"m4#4"});
  EXPECT_EQ(context().counters.recoveries, 1U);
  // One logical connection: `connected` once, no `disconnected`.
  EXPECT_EQ(upstream.log("c1"), Strings{"connected"});
  second->client_close();
  EXPECT_EQ(upstream.log("c1"), (Strings{"connected", "disconnected: "}));
}

TEST_P(ReliableTest, SequenceAckReleasesWhatTheClientHas) {
  auto h = session({"c1", std::nullopt, {}, {"g"}});
  for (const char* m : {"m1", "m2", "m3"})
    publish(core::Scope::group, "g", m);
  EXPECT_EQ(messages(*first_), (Strings{"m1#1", "m2#2", "m3#3"}));
  say(*first_, wire().sequence_ack(2));
  EXPECT_TRUE(first_->sent().empty());  // nothing answers a sequenceAck
  first_->drop();
  auto second = open(h);
  auto got = take(*second);
  ASSERT_EQ(got.size(), 2U);
  EXPECT_EQ(got[0].kind, Kind::connected);
  EXPECT_EQ(got[1].data, "m3");
  EXPECT_EQ(got[1].sequence_id, std::optional<std::uint64_t>(3));
  // A cumulative ack past everything empties it.
  say(*second, wire().sequence_ack(3));
  second->drop();
  auto third = open(h);
  EXPECT_EQ(take(*third).size(), 1U);  // `connected` only
}

TEST_P(ReliableTest, ANewSocketReplacesOneStillAttached) {
  auto h = session({"c1", std::nullopt, {}, {"g"}});
  publish(core::Scope::group, "g", "m1");
  take(*first_);
  // The client gave up on a half-open socket and came back.
  auto second = open(h);
  expect_closed(*first_, core::close_code::normal, "Replaced by a recovered connection.");
  auto got = take(*second);
  ASSERT_EQ(got.size(), 2U);
  EXPECT_EQ(got[0].kind, Kind::connected);
  EXPECT_EQ(got[1].data, "m1");
  // The old socket's end is not the session's.
  first_->client_close();
  EXPECT_TRUE(hub()->connection_exists("c1"));
  EXPECT_EQ(upstream.log("c1"), Strings{"connected"});
  publish(core::Scope::group, "g", "m2");
  EXPECT_EQ(messages(*second), Strings{"m2#2"});
  EXPECT_TRUE(first_->sent().empty());
}

TEST_P(ReliableTest, TheRecoveryWindowEndsADetachedSession) {
  config.limits.recovery_window = 20ms;
  auto h = session({"c1", std::nullopt, {}, {"g"}});
  first_->drop();
  settle();
  EXPECT_TRUE(hub()->connection_exists("c1"));  // not before the window ends
  run_for(2s);                                  // returns once the timer has fired (no work left)
  EXPECT_FALSE(hub()->connection_exists("c1"));
  EXPECT_FALSE(hub()->group_exists("g"));
  EXPECT_EQ(context().sessions.size(), 0U);
  EXPECT_EQ(upstream.log("c1"), (Strings{"connected", "disconnected: "}));
  expect_not_resumable(h);
}

TEST_P(ReliableTest, RecoveringCancelsTheWindowAndTheNextDropStartsANewOne) {
  config.limits.recovery_window = 30ms;
  auto h = session();
  first_->drop();
  auto second = open(h);
  take(*second);
  run_for(120ms);  // past the first window
  EXPECT_TRUE(hub()->connection_exists("c1"));
  EXPECT_EQ(upstream.log("c1"), Strings{"connected"});
  second->drop();
  run_for(2s);
  EXPECT_FALSE(hub()->connection_exists("c1"));
  EXPECT_EQ(upstream.log("c1"), (Strings{"connected", "disconnected: "}));
}

TEST_P(ReliableTest, ReplayOverflowEndsTheSessionWith1008) {
  config.limits.max_replay_messages = 2;
  auto h = session({"c1", std::nullopt, {}, {"g"}});
  publish(core::Scope::group, "g", "m1");
  publish(core::Scope::group, "g", "m2");
  EXPECT_FALSE(first_->closed_with());
  publish(core::Scope::group, "g", "m3");
  settle();
  expect_closed(*first_, core::close_code::policy_violation, kReplayFull);
  expect_farewell(*first_, kReplayFull);
  EXPECT_EQ(messages(*first_), (Strings{"m1#1", "m2#2"}));
  EXPECT_FALSE(hub()->connection_exists("c1"));
  EXPECT_EQ(context().counters.replay_overflows, 1U);
  EXPECT_EQ(context().sessions.size(), 0U);
  first_->client_close();
  EXPECT_EQ(upstream.log("c1"),
            (Strings{"connected", std::string("disconnected: ") + kReplayFull}));
  expect_not_resumable(h);
}

TEST_P(ReliableTest, AcknowledgedMessagesMakeRoomInTheReplayBuffer) {
  config.limits.max_replay_messages = 2;
  session({"c1", std::nullopt, {}, {"g"}});
  for (int i = 1; i <= 6; ++i) {
    publish(core::Scope::group, "g", "m" + std::to_string(i));
    say(*first_, wire().sequence_ack(static_cast<std::uint64_t>(i)));
  }
  EXPECT_FALSE(first_->closed_with());
  EXPECT_EQ(messages(*first_).size(), 6U);
}

TEST_P(ReliableTest, TheReplayBufferIsBoundedInBytesToo) {
  config.limits.max_replay_bytes = 500;
  session({"c1", std::nullopt, {}, {"g"}});
  publish(core::Scope::group, "g", std::string(200, 'a'));
  publish(core::Scope::group, "g", std::string(200, 'b'));
  EXPECT_FALSE(first_->closed_with());
  publish(core::Scope::group, "g", std::string(200, 'c'));
  settle();
  expect_closed(*first_, core::close_code::policy_violation, kReplayFull);
}

TEST_P(ReliableTest, ReplayOverflowWhileDetachedEndsTheSession) {
  config.limits.max_replay_messages = 1;
  auto h = session({"c1", std::nullopt, {}, {"g"}});
  first_->drop();
  publish(core::Scope::group, "g", "m1");
  publish(core::Scope::group, "g", "m2");
  settle();
  EXPECT_FALSE(hub()->connection_exists("c1"));
  EXPECT_EQ(upstream.log("c1"),
            (Strings{"connected", std::string("disconnected: ") + kReplayFull}));
  expect_not_resumable(h);
}

TEST_P(ReliableTest, ARestCloseEndsTheSession) {
  auto h = session();
  hub()->close_connection("c1", core::close_code::normal, "bye");
  // The session ends at once (no delivery, no recovery); the socket closes on its executor.
  EXPECT_FALSE(hub()->connection_exists("c1"));
  settle();
  expect_farewell(*first_, "bye");
  expect_closed(*first_, core::close_code::normal, "bye");
  first_->client_close();
  EXPECT_EQ(upstream.log("c1"), (Strings{"connected", "disconnected: bye"}));
  EXPECT_EQ(context().sessions.size(), 0U);
  expect_not_resumable(h);
}

TEST_P(ReliableTest, ARestCloseOfADetachedSessionEndsIt) {
  auto h = session();
  first_->drop();
  hub()->close_connection("c1", core::close_code::normal, "bye");
  EXPECT_EQ(upstream.log("c1"), (Strings{"connected", "disconnected: bye"}));
  expect_not_resumable(h);
}

TEST_P(ReliableTest, TheClientsCloseEndsTheSession) {
  auto h = session();
  first_->client_close();
  EXPECT_FALSE(hub()->connection_exists("c1"));
  EXPECT_EQ(upstream.log("c1"), (Strings{"connected", "disconnected: "}));
  expect_not_resumable(h);
}

TEST_P(ReliableTest, AServerCloseEndsTheSession) {
  auto h = session();
  first_->close(core::close_code::going_away, "Server shutting down.");
  settle();
  expect_farewell(*first_, "Server shutting down.");
  first_->drop();  // never answered: not recoverable any more
  EXPECT_EQ(first_->closed_recoverable(), std::optional<bool>(false));
  EXPECT_EQ(upstream.log("c1"), (Strings{"connected", "disconnected: Server shutting down."}));
  expect_not_resumable(h);
}

TEST_P(ReliableTest, TheAckHistorySurvivesRecovery) {
  auto h = session({"c1", std::nullopt, {"webpubsub.sendToGroup"}, {"g"}});
  say(*first_, wire().send("g", "hi", 9, true));
  auto got = take(*first_);
  ASSERT_EQ(got.size(), 1U);
  EXPECT_TRUE(got[0].success);
  first_->drop();
  auto second = open(h);
  take(*second);
  say(*second, wire().send("g", "hi", 9, true));  // the client retries what it saw no ack for
  got = take(*second);
  ASSERT_EQ(got.size(), 1U);
  EXPECT_EQ(got[0].kind, Kind::ack);
  EXPECT_EQ(got[0].error_name, "Duplicate");
}

TEST_P(ReliableTest, AcksAndPongsGoToTheSocketAttachedNow) {
  upstream.handle_user("*");
  auto h = session();
  say(*first_, wire().event("e", "x", 1));
  first_->drop();
  auto second = open(h);
  take(*second);
  core::UserEventResult ok;
  ok.ok = true;
  ok.reply = protocol::Payload{protocol::DataType::text, "reply"};
  upstream.take_user_event().done(ok);
  settle();
  auto got = take(*second);
  ASSERT_EQ(got.size(), 2U);
  EXPECT_EQ(got[0].data, "reply");
  EXPECT_EQ(got[0].sequence_id, std::optional<std::uint64_t>(1));
  EXPECT_EQ(got[1].kind, Kind::ack);
  EXPECT_TRUE(first_->sent().empty());
}

TEST_P(ReliableTest, DeliveriesFromAnotherThreadRaceRecoveriesWithoutLossOrReordering) {
  // The hub delivers from any thread while sockets drop and recover on the executor: every
  // socket gets `connected`, then the ids from 1 on with none missing or out of order.
  constexpr int kMessages = 2000;
  config.limits.max_replay_messages = kMessages;
  auto h = session({"c1", std::nullopt, {}, {"g"}});
  std::vector<std::shared_ptr<FakeSocket>> sockets{first_};
  std::atomic<bool> published{false};
  std::thread publisher([&] {
    for (int i = 1; i <= kMessages; ++i) {
      publish(core::Scope::group, "g", std::to_string(i));
      if (i % 100 == 0)
        std::this_thread::sleep_for(200us);
    }
    published = true;
  });
  while (!published && sockets.size() < 40) {
    sockets.back()->drop();
    sockets.push_back(open(h));
  }
  publisher.join();
  for (std::size_t n = 0; n < sockets.size(); ++n) {
    auto got = take(*sockets[n]);
    std::size_t i = 0;
    if (n > 0) {
      ASSERT_FALSE(got.empty());
      EXPECT_EQ(got[0].kind, Kind::connected);
      i = 1;
    }
    for (std::uint64_t expected = 1; i < got.size(); ++i, ++expected) {
      ASSERT_EQ(got[i].kind, Kind::message) << "socket " << n;
      ASSERT_EQ(got[i].sequence_id, std::optional<std::uint64_t>(expected)) << "socket " << n;
      ASSERT_EQ(got[i].data, std::to_string(expected)) << "socket " << n;
    }
    if (n + 1 == sockets.size()) {
      EXPECT_EQ(got.size() - (n > 0 ? 1 : 0), static_cast<std::size_t>(kMessages));
    }
  }
  EXPECT_EQ(upstream.log("c1"), Strings{"connected"});
}

}  // namespace
}  // namespace wps::handler::test
