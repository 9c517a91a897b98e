// Reliable sessions in a cluster with session recovery (core/session_store.hpp): the sequenceIds
// are the hub log's numbers, a session saves its state, a session claimed from another node
// replays the log after its client's last acknowledgement (holding live messages meanwhile) and
// delivers every message addressed to it exactly once and in order, and a session another node
// took over is dropped without any event. A fake store and a broker that logs, on a real hub.

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "core/node.hpp"
#include "core/session_store.hpp"
#include "handler/codec.hpp"
#include "handler/context.hpp"
#include "handler/pubsub_handler.hpp"
#include "support/fake_socket.hpp"
#include "support/fake_upstream.hpp"
#include "unit/handler/pubsub_wire.hpp"

namespace wps::handler::test {
namespace {

using core::ProtocolKind;
using wps::test::FakeSocket;
using wps::test::FakeUpstream;
using wps::test::Format;
using wps::test::Received;
using wps::test::Wire;
using Kind = Received::Kind;
using Strings = std::vector<std::string>;

constexpr const char* kRefused = "The connection cannot be recovered: unknown or expired session.";

// A cluster's broker as the hub sees it: publications are logged (they come back numbered).
class LoggingBroker final : public core::Broker {
 public:
  void start(core::BrokerHandler&) override {}
  void publish(const core::Publication& p) override { published.push_back(p); }
  void subscribe_group(const std::string&, const std::string&) override {}
  void unsubscribe_group(const std::string&, const std::string&) override {}
  bool logs_publications() const override { return true; }
  std::vector<core::Publication> published;
};

class FakeStore final : public core::SessionStore {
 public:
  void set_session_listener(core::SessionListener& l) override { listener = &l; }
  void save(const core::SessionState& state) override { saved.push_back(state); }
  void remove(const std::string&, const core::ConnId& id) override { removed.push_back(id); }
  void claim(const std::string&, const core::ConnId&, const std::string&,
             std::function<void(std::optional<core::ClaimedSession>)> done) override {
    done(std::nullopt);
  }
  void when_subscribed(std::function<void()> done) override { done(); }
  void replay(const std::string&, std::uint64_t after,
              std::function<void(std::vector<core::LoggedPublication>, bool)> done) override {
    replay_after = after;
    pending_replay = std::move(done);
  }
  core::SessionListener* listener = nullptr;
  std::vector<core::SessionState> saved;
  Strings removed;
  std::optional<std::uint64_t> replay_after;
  std::function<void(std::vector<core::LoggedPublication>, bool)> pending_replay;
};

class ClusterSessionTest : public ::testing::TestWithParam<ProtocolKind> {
 protected:
  ClusterSessionTest() : node_(broker_, {}), context_(config_, node_) {
    context_.upstream = &upstream_;
    context_.session_store = &store_;
    upstream_.handle("connected");
    upstream_.handle("disconnected");
  }
  ~ClusterSessionTest() override {
    for (auto& s : sockets_)
      s->drop();
    settle();
  }
  ProtocolKind kind() const { return GetParam(); }
  Wire wire() const { return Wire(core::is_protobuf(kind()) ? Format::protobuf : Format::json); }
  void settle() {
    ioc_.restart();
    ioc_.poll();
  }
  std::shared_ptr<core::Hub> hub() { return node_.hub("chat"); }
  Registration registration(const std::string& id, std::vector<std::string> groups = {}) {
    Registration r;
    r.hub = hub();
    r.id = id;
    r.user_id = "alice";
    r.kind = kind();
    r.roles = {"webpubsub.joinLeaveGroup"};
    r.groups = std::move(groups);
    return r;
  }
  std::shared_ptr<core::ConnectionEvents> events(const std::string& id) {
    core::ConnectionContext c;
    c.hub = "chat";
    c.connection_id = id;
    c.user_id = "alice";
    return std::make_shared<core::ConnectionEvents>(&upstream_, std::move(c));
  }
  std::shared_ptr<FakeSocket> open(std::shared_ptr<Handler> handler) {
    auto s = FakeSocket::create(ioc_, std::move(handler));
    sockets_.push_back(s);
    s->open();
    settle();
    return s;
  }
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
  core::Publication publication(core::Scope scope, const std::string& target,
                                const std::string& text, std::uint64_t seq) {
    auto m = std::make_shared<core::Message>();
    m->from = protocol::MessageSource::server;
    m->payload = {protocol::DataType::text, text};
    core::Publication p;
    p.hub = "chat";
    p.scope = scope;
    p.target = target;
    p.message = std::move(m);
    p.log_seq = seq;
    return p;
  }
  // As the broker hands it over: from another node (or back from the log when `loopback`).
  void arrive(core::Publication p, bool loopback = false) {
    p.loopback = loopback;
    node_.on_publication(p);
  }
  std::shared_ptr<PubSubHandler> claimed(const std::string& id, std::vector<std::string> groups,
                                         std::uint64_t acked, std::uint64_t replay_after) {
    core::ClaimedSession c;
    c.state.hub = "chat";
    c.state.connection_id = id;
    c.state.user_id = "alice";
    c.state.kind = kind();
    c.state.groups = groups;
    c.state.ack_ids = {7};
    c.state.acked = acked;
    c.state.token = "the-token";
    c.replay_after = replay_after;
    return std::make_shared<PubSubHandler>(context_, pubsub_codec(kind()),
                                           registration(id, std::move(groups)), events(id), c);
  }

  boost::asio::io_context ioc_{1};
  FakeUpstream upstream_;
  config::Config config_;
  LoggingBroker broker_;
  FakeStore store_;
  core::Node node_;
  Context context_;
  std::vector<std::shared_ptr<FakeSocket>> sockets_;
};

TEST_P(ClusterSessionTest, NumbersWithTheLogAndSavesItsState) {
  auto h = std::make_shared<PubSubHandler>(context_, pubsub_codec(kind()),
                                           registration("c1", {"room"}), events("c1"));
  auto s = open(h);
  ASSERT_EQ(take(*s).size(), 1U);  // connected
  ASSERT_FALSE(store_.saved.empty());
  EXPECT_EQ(store_.saved.back().connection_id, "c1");
  EXPECT_EQ(store_.saved.back().groups, Strings{"room"});
  EXPECT_FALSE(store_.saved.back().token.empty());

  // A local publication reaches the reliable session only once numbered by the log.
  hub()->publish(publication(core::Scope::group, "room", "local", 0));
  EXPECT_TRUE(messages(*s).empty());
  ASSERT_EQ(broker_.published.size(), 1U);
  arrive(publication(core::Scope::group, "room", "local", 1000), true);
  arrive(publication(core::Scope::all, "", "remote", 1003));
  arrive(publication(core::Scope::all, "", "remote", 1003));       // twice: once only
  arrive(publication(core::Scope::user, "alice", "stale", 1002));  // older: the client had it
  arrive(publication(core::Scope::all, "", "unlogged", 0), true);  // Redis was down
  EXPECT_EQ(messages(*s), (Strings{"local#1000", "remote#1003", "unlogged#1004"}));

  // Acknowledgements reach the store (throttled; the drop saves the latest).
  s->receive(wire().sequence_ack(1003), wire().binary());
  settle();
  s->drop();
  settle();
  EXPECT_EQ(store_.saved.back().acked, 1003U);
  EXPECT_TRUE(store_.removed.empty()) << "a dropped socket keeps the session";
}

TEST_P(ClusterSessionTest, ClaimedSessionReplaysTheLogThenLiveTrafficExactlyOnceInOrder) {
  auto h = claimed("c2", {"room"}, 9, 9);
  auto s = open(h);
  auto hello = take(*s);
  ASSERT_EQ(hello.size(), 1U);
  EXPECT_EQ(hello[0].kind, Kind::connected);
  EXPECT_EQ(hello[0].connection_id, "c2");
  EXPECT_EQ(hello[0].reconnection_token, "the-token");
  EXPECT_EQ(store_.replay_after, 9U);
  ASSERT_TRUE(store_.pending_replay);
  // Live traffic while the log is read waits.
  arrive(publication(core::Scope::group, "room", "live13", 13));
  arrive(publication(core::Scope::group, "room", "live14", 14));
  EXPECT_TRUE(messages(*s).empty());
  std::vector<core::LoggedPublication> log;
  log.push_back({10, publication(core::Scope::group, "other", "not-mine", 10)});
  log.push_back({11, publication(core::Scope::group, "room", "log11", 11)});
  auto excluded = publication(core::Scope::all, "", "excluded", 12);
  excluded.excluded.push_back("c2");
  log.push_back({12, std::move(excluded)});
  log.push_back({13, publication(core::Scope::all, "", "live13", 13)});
  store_.pending_replay(std::move(log), true);
  settle();
  EXPECT_EQ(messages(*s), (Strings{"log11#11", "live13#13", "live14#14"}));
  arrive(publication(core::Scope::user, "alice", "next", 15));
  EXPECT_EQ(messages(*s), (Strings{"next#15"}));
  // No second `connected` event upstream: the connection goes on.
  for (const auto& r : upstream_.records())
    EXPECT_NE(r.what, "connected");
  // Its ack history came along: a repeated ackId is a Duplicate.
  s->receive(wire().join("room2", 7), wire().binary());
  settle();
  auto ack = take(*s);
  ASSERT_EQ(ack.size(), 1U);
  EXPECT_EQ(ack[0].kind, Kind::ack);
  EXPECT_EQ(ack[0].error_name, "Duplicate");
}

TEST_P(ClusterSessionTest, IncompleteReplayRefusesTheRecovery) {
  auto h = claimed("c3", {}, 0, 5);
  auto s = open(h);
  take(*s);
  ASSERT_TRUE(store_.pending_replay);
  store_.pending_replay({}, false);
  settle();
  ASSERT_TRUE(s->closed_with());
  EXPECT_EQ(s->closed_with()->code, 1008);
  EXPECT_EQ(s->closed_with()->reason, kRefused);
  EXPECT_EQ(store_.removed, Strings{"c3"});
}

TEST_P(ClusterSessionTest, TakenOverSessionIsDroppedWithoutEvents) {
  auto h = std::make_shared<PubSubHandler>(context_, pubsub_codec(kind()),
                                           registration("c4", {"room"}), events("c4"));
  auto s = open(h);
  take(*s);
  ASSERT_TRUE(context_.sessions.find("c4"));
  context_.taken_sessions.on_session_taken("chat", "c4");
  settle();
  EXPECT_FALSE(context_.sessions.find("c4"));
  EXPECT_FALSE(hub()->connection_exists("c4"));
  ASSERT_TRUE(s->closed_with());
  EXPECT_EQ(s->closed_with()->code, 1000);
  EXPECT_TRUE(store_.removed.empty()) << "the new owner keeps the stored state";
  for (const auto& r : upstream_.records())
    EXPECT_EQ(r.what.rfind("disconnected", 0), std::string::npos) << r.what;
  arrive(publication(core::Scope::group, "room", "after", 50));
  EXPECT_TRUE(messages(*s).empty());
}

INSTANTIATE_TEST_SUITE_P(Formats, ClusterSessionTest,
                         ::testing::Values(ProtocolKind::json_reliable,
                                           ProtocolKind::protobuf_reliable),
                         [](const ::testing::TestParamInfo<ProtocolKind>& p) {
                           return p.param == ProtocolKind::json_reliable ? "json" : "protobuf";
                         });

}  // namespace
}  // namespace wps::handler::test
