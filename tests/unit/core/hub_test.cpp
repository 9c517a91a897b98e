// Unit tests of the core: hubs, groups, users, permissions and fan-out, through fake clients and
// encoders. What a client's message means is tested with the protocol handlers
// (tests/unit/handler).

#include "core/hub.hpp"

#include <gtest/gtest.h>

#include <memory>

#include "core/memory_broker.hpp"
#include "core/node.hpp"
#include "support/fake_client.hpp"

namespace wps::core {
namespace {

using test::FakeClient;
using test::json_encoder;
using test::raw_encoder;

// Records what a hub hands to the broker (for the other nodes).
struct RecordingBroker final : Broker {
  std::vector<Publication> published;
  std::vector<std::string> edges;
  void start(BrokerHandler&) override {}
  void publish(const Publication& publication) override { published.push_back(publication); }
  void subscribe_group(const std::string& hub, const std::string& group) override {
    edges.push_back("+g " + hub + "/" + group);
  }
  void unsubscribe_group(const std::string& hub, const std::string& group) override {
    edges.push_back("-g " + hub + "/" + group);
  }
};

class HubTest : public ::testing::Test {
 protected:
  HubTest() : node_(broker_, HubLimits{}) {}

  std::shared_ptr<FakeClient> connect(const std::string& id,
                                      std::optional<std::string> user = std::nullopt,
                                      std::vector<std::string> roles = {},
                                      std::vector<std::string> groups = {},
                                      const Encoder& encoder = json_encoder(),
                                      ProtocolKind kind = ProtocolKind::json) {
    auto client = std::make_shared<FakeClient>();
    ConnectionInfo info;
    info.id = id;
    info.user_id = std::move(user);
    info.kind = kind;
    info.encoder = &encoder;
    info.roles = std::move(roles);
    info.groups = std::move(groups);
    EXPECT_EQ(hub()->add_connection(info, client), Hub::AddResult::added);
    clients_.push_back(client);
    return client;
  }
  std::shared_ptr<Hub> hub() { return node_.hub("chat"); }
  static SharedMessage text(std::string s) {
    auto m = std::make_shared<Message>();
    m->payload = {protocol::DataType::text, std::move(s)};
    return m;
  }

  RecordingBroker broker_;
  Node node_;
  std::vector<std::shared_ptr<FakeClient>> clients_;
};

TEST_F(HubTest, TokenGroupsAreJoinedAtRegistrationWithoutRoles) {
  connect("c1", "alice", {}, {"g1"});
  EXPECT_TRUE(hub()->group_exists("g1"));
  EXPECT_TRUE(hub()->connection_exists("c1"));
  EXPECT_TRUE(hub()->user_exists("alice"));
  EXPECT_FALSE(hub()->permits("c1", Permission::join_leave_group, "g1"));
}

struct RecordingObserver : GroupObserver {
  std::vector<std::string> events;
  void on_group_change(const std::string& group, bool joined) override {
    events.push_back((joined ? "+" : "-") + group);
  }
};

TEST_F(HubTest, OnAddedRunsOnceBeforeTokenGroupsAreJoined) {
  auto client = std::make_shared<FakeClient>();
  auto observer = std::make_shared<RecordingObserver>();
  ConnectionInfo info;
  info.id = "c";
  info.encoder = &json_encoder();
  info.groups = {"g"};
  info.group_observer = observer;
  ASSERT_EQ(hub()->add_connection(info, client, [&] { observer->events.push_back("added"); }),
            Hub::AddResult::added);
  EXPECT_EQ(observer->events, (std::vector<std::string>{"added", "+g"}));
  EXPECT_TRUE(hub()->group_exists("g"));
}

TEST_F(HubTest, PermitsFollowsRolesScopesAndGrants) {
  connect("a", std::nullopt, {"webpubsub.sendToGroup.room", "webpubsub.joinLeaveGroup"});
  EXPECT_TRUE(hub()->permits("a", Permission::send_to_group, "room"));
  EXPECT_FALSE(hub()->permits("a", Permission::send_to_group, "other"));
  EXPECT_TRUE(hub()->permits("a", Permission::join_leave_group, "anything"));
  EXPECT_FALSE(hub()->permits("nobody", Permission::join_leave_group, "room"));
  hub()->grant_permission("a", Permission::send_to_group, std::string("other"));
  EXPECT_TRUE(hub()->permits("a", Permission::send_to_group, "other"));
}

TEST_F(HubTest, PublishDeliversLocallyOnceAndHandsTheBrokerOnlyWhatCrossesNodes) {
  auto a = connect("a", std::nullopt, {}, {"g"});
  auto b = connect("b", std::nullopt, {}, {"g"});
  Publication publication{"chat", Scope::group, "g", text("hi"), {"b"}, nullptr};
  hub()->publish(publication);
  EXPECT_EQ(a->texts(), (std::vector<std::string>{"json:hi"}));
  EXPECT_TRUE(b->frames().empty());
  ASSERT_EQ(broker_.published.size(), 1u);
  EXPECT_EQ(broker_.published[0].target, "g");
  // What another node publishes is delivered here, and not handed back to the broker.
  node_.on_publication({"chat", Scope::group, "g", text("remote"), {}, nullptr});
  EXPECT_EQ(a->last_text(), "json:remote");
  EXPECT_EQ(broker_.published.size(), 1u);
}

TEST_F(HubTest, RecipientsOfOneEncoderShareOneFrame) {
  auto a = connect("a", std::nullopt, {}, {"g"});
  auto b = connect("b", std::nullopt, {}, {"g"});
  auto s1 = connect("s1", std::nullopt, {}, {"g"}, raw_encoder(), ProtocolKind::simple);
  auto s2 = connect("s2", std::nullopt, {}, {"g"}, raw_encoder(), ProtocolKind::simple);
  const int json_calls = json_encoder().calls();
  const int raw_calls = raw_encoder().calls();
  hub()->publish({"chat", Scope::group, "g", text("x"), {}, nullptr});
  EXPECT_EQ(json_encoder().calls(), json_calls + 1);
  EXPECT_EQ(raw_encoder().calls(), raw_calls + 1);
  EXPECT_EQ(a->frames().back().get(), b->frames().back().get());
  EXPECT_EQ(s1->frames().back().get(), s2->frames().back().get());
  EXPECT_EQ(s1->frames().back()->data, "raw:x");
  EXPECT_EQ(a->frames().back()->data, "json:x");
}

TEST_F(HubTest, AGroupsAudienceFollowsEveryMembershipChange) {
  auto a = connect("a", "alice", {}, {"g"});
  auto b = connect("b", "bob", {}, {"g"});
  const auto publish = [&](const char* s) {
    hub()->publish({"chat", Scope::group, "g", text(s), {}, nullptr});
  };
  publish("1");  // builds the audience
  hub()->remove_from_group("b", "g");
  publish("2");
  auto c = connect("c", std::nullopt, {}, {"g"});  // a token group
  publish("3");
  EXPECT_EQ(hub()->add_to_group("b", "g"), Hub::JoinResult::joined);
  publish("4");
  hub()->remove_connection("a");
  publish("5");
  hub()->remove_user_from_group("bob", "g");
  publish("6");
  hub()->add_user_to_group("alice", "g");  // alice has no connection any more
  hub()->add_to_groups({"g"}, nullptr);
  publish("7");
  hub()->remove_from_groups({"g"}, nullptr);
  publish("8");
  EXPECT_EQ(a->texts(), (std::vector<std::string>{"json:1", "json:2", "json:3", "json:4"}));
  EXPECT_EQ(b->texts(), (std::vector<std::string>{"json:1", "json:4", "json:5", "json:7"}));
  EXPECT_EQ(c->texts(),
            (std::vector<std::string>{"json:3", "json:4", "json:5", "json:6", "json:7"}));
  // A connection registered again under its id (a recovered client) is reached as the new one.
  clients_.clear();
  auto c2 = std::make_shared<FakeClient>();
  ConnectionInfo info;
  info.id = "c";
  info.encoder = &raw_encoder();
  info.kind = ProtocolKind::simple;
  info.groups = {"g"};
  EXPECT_EQ(hub()->add_connection(info, c2), Hub::AddResult::added);
  publish("9");
  EXPECT_EQ(c2->texts(), std::vector<std::string>{"raw:9"});
  EXPECT_EQ(c->texts().size(), 5u);
}

TEST_F(HubTest, UsersGroupsAndRemoval) {
  auto a1 = connect("a1", "alice");
  auto a2 = connect("a2", "alice");
  EXPECT_TRUE(hub()->user_exists("alice"));
  EXPECT_FALSE(hub()->user_exists("Alice"));  // user ids are case-sensitive
  EXPECT_TRUE(hub()->add_user_to_group("alice", "g"));
  EXPECT_FALSE(hub()->add_user_to_group("nobody", "g"));
  auto members = hub()->list_group("g", "", 10);
  ASSERT_EQ(members.size(), 2u);
  EXPECT_EQ(members[0].connection_id, "a1");
  EXPECT_EQ(members[1].user_id, std::optional<std::string>("alice"));
  EXPECT_EQ(hub()->list_group("g", "a1", 10).size(), 1u);
  hub()->remove_connection("a1");
  EXPECT_FALSE(hub()->connection_exists("a1"));
  EXPECT_TRUE(hub()->user_exists("alice"));
  hub()->remove_user_from_all_groups("alice");
  EXPECT_FALSE(hub()->group_exists("g"));
  hub()->remove_connection("a2");
  EXPECT_FALSE(hub()->user_exists("alice"));
  EXPECT_EQ(hub()->connection_count(), 0u);
  // Interest edges for the broker: first member in, last member out.
  EXPECT_EQ(broker_.edges, (std::vector<std::string>{"+g chat/g", "-g chat/g"}));
}

TEST_F(HubTest, PublicationScopesAndExclusions) {
  auto a = connect("a", "alice");
  auto b = connect("b", "bob");
  node_.publish({"chat", Scope::all, "", text("1"), {"b"}, nullptr});
  EXPECT_EQ(a->last_text(), "json:1");
  EXPECT_TRUE(b->frames().empty());
  node_.publish({"chat", Scope::user, "bob", text("2"), {}, nullptr});
  EXPECT_EQ(b->texts(), (std::vector<std::string>{"json:2"}));
  node_.publish({"chat", Scope::connection, "a", text("3"), {}, nullptr});
  EXPECT_EQ(a->frames().size(), 2u);
  node_.publish({"other", Scope::all, "", text("4"), {}, nullptr});  // another hub: nothing here
  EXPECT_EQ(a->frames().size(), 2u);
}

TEST_F(HubTest, CloseOperationsReachTheClients) {
  auto a = connect("a", "alice", {}, {"g"});
  auto b = connect("b", "bob", {}, {"g"});
  auto c = connect("c", "carol");
  hub()->close_group("g", {"b"}, 1000, "bye");
  ASSERT_EQ(a->closes().size(), 1u);
  EXPECT_EQ(a->closes()[0].code, 1000);
  EXPECT_EQ(a->closes()[0].reason, "bye");
  EXPECT_TRUE(b->closes().empty());
  hub()->close_user("carol", {}, 1000, "you");
  EXPECT_EQ(c->closes().back().reason, "you");
  hub()->close_connection("b", 1000, "just b");
  EXPECT_EQ(b->closes().back().reason, "just b");
  node_.close_all(1001, "shutdown");
  EXPECT_EQ(b->closes().back().code, 1001);
  EXPECT_EQ(a->closes().size(), 2u);
}

TEST_F(HubTest, RuntimeGrantsAndChecks) {
  connect("a");
  EXPECT_FALSE(hub()->check_permission("a", Permission::send_to_group, "g"));
  EXPECT_TRUE(hub()->grant_permission("a", Permission::send_to_group, std::string("g")));
  EXPECT_TRUE(hub()->check_permission("a", Permission::send_to_group, "g"));
  EXPECT_FALSE(hub()->check_permission("a", Permission::send_to_group, std::nullopt));
  hub()->revoke_permission("a", Permission::send_to_group, std::nullopt);
  EXPECT_FALSE(hub()->check_permission("a", Permission::send_to_group, "g"));
  EXPECT_FALSE(hub()->grant_permission("missing", Permission::send_to_group, std::nullopt));
}

TEST_F(HubTest, ExpiredClientsAreSkipped) {
  auto a = connect("a", std::nullopt, {}, {"g"});
  clients_.clear();
  a.reset();  // the client is gone without unregistering: the hub holds only a weak reference
  hub()->publish({"chat", Scope::group, "g", text("x"), {}, nullptr});
  hub()->close_all({}, 1000, "");
  EXPECT_TRUE(hub()->connection_exists("a"));
}

ConnectionInfo info_of(std::string id, std::optional<std::string> user,
                       std::vector<std::string> groups = {}) {
  ConnectionInfo info;
  info.id = std::move(id);
  info.user_id = std::move(user);
  info.encoder = &json_encoder();
  info.groups = std::move(groups);
  return info;
}

TEST(HubLimitsTest, GroupsPerConnectionAndConnectionsPerUser) {
  MemoryBroker broker;
  HubLimits limits;
  limits.max_groups_per_connection = 1;
  limits.max_connections_per_user = 1;
  Node node(broker, limits);
  auto hub = node.hub("h");
  auto a = std::make_shared<FakeClient>();
  ASSERT_EQ(hub->add_connection(info_of("a", "u"), a), Hub::AddResult::added);
  auto a2 = std::make_shared<FakeClient>();
  bool added = false;
  EXPECT_EQ(hub->add_connection(info_of("a2", "u"), a2, [&] { added = true; }),
            Hub::AddResult::user_limit_reached);
  EXPECT_FALSE(added);
  EXPECT_FALSE(hub->connection_exists("a2"));
  EXPECT_EQ(hub->add_to_group("a", "g1"), Hub::JoinResult::joined);
  EXPECT_EQ(hub->add_to_group("a", "g2"), Hub::JoinResult::group_limit_reached);
  EXPECT_EQ(hub->add_to_group("a", "g1"), Hub::JoinResult::joined);  // already a member: fine
}

TEST(HubLimitsTest, GroupLimitHoldsForRestTokenAndBulkJoins) {
  MemoryBroker broker;
  HubLimits limits;
  limits.max_groups_per_connection = 2;
  Node node(broker, limits);
  auto hub = node.hub("h");
  auto a = std::make_shared<FakeClient>();
  auto b = std::make_shared<FakeClient>();
  // Token groups beyond the limit are not joined (the handshake refuses such tokens first).
  ASSERT_EQ(hub->add_connection(info_of("a", "u", {"t1", "t2", "t3"}), a), Hub::AddResult::added);
  ASSERT_EQ(hub->add_connection(info_of("b", "u", {"t1"}), b), Hub::AddResult::added);
  EXPECT_FALSE(hub->group_exists("t3"));
  EXPECT_EQ(hub->add_to_group("a", "x"), Hub::JoinResult::group_limit_reached);
  EXPECT_EQ(hub->add_to_group("a", "t1"), Hub::JoinResult::joined);  // already a member
  EXPECT_EQ(hub->add_to_group("nobody", "x"), Hub::JoinResult::unknown_connection);
  EXPECT_EQ(hub->add_to_group("b", "x"), Hub::JoinResult::joined);
  // Bulk joins skip the full connections and fill the others up to the limit.
  EXPECT_TRUE(hub->add_user_to_group("u", "y"));
  hub->add_to_groups({"z"}, nullptr);
  EXPECT_FALSE(hub->group_exists("y"));
  EXPECT_FALSE(hub->group_exists("z"));
  hub->remove_from_group("b", "x");
  hub->add_to_groups({"z", "w"}, nullptr);
  EXPECT_EQ(hub->list_group("z", "", 10).size(), 1u);
  EXPECT_FALSE(hub->group_exists("w"));
}

TEST(HubGroupObserverTest, ToldOfEveryMembershipChangeOnce) {
  MemoryBroker broker;
  Node node(broker, HubLimits{});
  auto hub = node.hub("h");
  auto observer = std::make_shared<RecordingObserver>();
  auto a = std::make_shared<FakeClient>();
  ConnectionInfo info = info_of("a", "u", {"t"});
  info.group_observer = observer;
  ASSERT_EQ(hub->add_connection(info, a), Hub::AddResult::added);
  EXPECT_EQ(hub->add_to_group("a", "g1"), Hub::JoinResult::joined);
  EXPECT_EQ(hub->add_to_group("a", "g1"), Hub::JoinResult::joined);  // a member: no event
  EXPECT_TRUE(hub->add_user_to_group("u", "g2"));
  hub->remove_from_group("a", "g1");
  hub->remove_from_group("a", "g1");  // not a member: no event
  hub->remove_connection("a");        // leaves t and g2, in name order
  EXPECT_EQ(observer->events, (std::vector<std::string>{"+t", "+g1", "+g2", "-g1", "-g2", "-t"}));
}

}  // namespace
}  // namespace wps::core
