// Unit tests of the core: hubs, groups, users, permissions, acks and fan-out, through fake
// connections and the in-memory broker.

#include "core/hub.hpp"

#include <gtest/gtest.h>

#include <memory>

#include "core/frames.hpp"
#include "core/memory_broker.hpp"
#include "core/node.hpp"
#include "support/fake_connection.hpp"

namespace wps::core {
namespace {

using test::FakeConnection;

class HubTest : public ::testing::Test {
 protected:
  HubTest() : node_(broker_, HubLimits{}) {}

  std::shared_ptr<FakeConnection> connect(const std::string& id,
                                          std::optional<std::string> user = std::nullopt,
                                          std::vector<std::string> roles = {},
                                          std::vector<std::string> groups = {},
                                          ProtocolKind kind = ProtocolKind::json) {
    auto conn = std::make_shared<FakeConnection>();
    ConnectionInfo info{id, std::move(user), kind, std::move(roles), std::move(groups), {}, {}};
    EXPECT_EQ(hub()->add_connection(info, conn), Hub::AddResult::added);
    conns_.push_back(conn);
    return conn;
  }
  std::shared_ptr<Hub> hub() { return node_.hub("chat"); }

  MemoryBroker broker_;
  Node node_;
  std::vector<std::shared_ptr<FakeConnection>> conns_;
};

protocol::Payload text(std::string s) {
  return {protocol::DataType::text, std::move(s)};
}

TEST_F(HubTest, ConnectedMessageCarriesIdsAndTokenGroupsNeedNoRole) {
  auto a = connect("c1", "alice", {}, {"g1"});
  ASSERT_EQ(a->texts().size(), 1u);
  EXPECT_EQ(a->texts()[0],
            R"({"type":"system","event":"connected","userId":"alice","connectionId":"c1"})");
  EXPECT_TRUE(hub()->group_exists("g1"));
  auto anon = connect("c2");
  EXPECT_NE(anon->texts()[0].find(R"("userId":null)"), std::string::npos);
}

TEST_F(HubTest, SimpleClientsGetNoSystemMessages) {
  auto s = connect("s1", std::nullopt, {}, {}, ProtocolKind::simple);
  EXPECT_TRUE(s->frames().empty());
}

TEST_F(HubTest, JoinWithoutRoleIsForbiddenAndWithRoleSucceeds) {
  auto a = connect("c1");
  a->clear();
  hub()->on_client_message("c1", protocol::JoinGroup{"g", 1});
  EXPECT_EQ(
      a->last_text(),
      R"({"type":"ack","ackId":1,"success":false,"error":{"name":"Forbidden","message":"The client does not have permission to join group 'g'."}})");
  EXPECT_FALSE(hub()->group_exists("g"));

  auto b = connect("c2", std::nullopt, {"webpubsub.joinLeaveGroup"});
  b->clear();
  hub()->on_client_message("c2", protocol::JoinGroup{"g", 1});
  EXPECT_EQ(b->last_text(), R"({"type":"ack","ackId":1,"success":true})");
  EXPECT_TRUE(hub()->group_exists("g"));
  hub()->on_client_message("c2", protocol::LeaveGroup{"g", 2});
  EXPECT_EQ(b->last_text(), R"({"type":"ack","ackId":2,"success":true})");
  EXPECT_FALSE(hub()->group_exists("g"));
}

TEST_F(HubTest, DuplicateOnlyForSuccessfulAckIds) {
  auto a = connect("c1", std::nullopt, {"webpubsub.joinLeaveGroup.room"});
  hub()->on_client_message("c1", protocol::JoinGroup{"other", 5});
  EXPECT_NE(a->last_text()->find("Forbidden"), std::string::npos);
  // A failed ackId may be retried and is executed again.
  hub()->on_client_message("c1", protocol::JoinGroup{"room", 5});
  EXPECT_EQ(a->last_text(), R"({"type":"ack","ackId":5,"success":true})");
  hub()->on_client_message("c1", protocol::JoinGroup{"room", 5});
  EXPECT_EQ(
      a->last_text(),
      R"({"type":"ack","ackId":5,"success":false,"error":{"name":"Duplicate","message":"Message with ack-id: 5 has been processed"}})");
}

TEST_F(HubTest, SendToGroupFansOutWithNoEchoAndScopedRoles) {
  auto pub = connect("p", "u1", {"webpubsub.sendToGroup.room", "webpubsub.joinLeaveGroup"});
  auto sub = connect("s", "u2", {}, {"room"});
  auto simple = connect("x", std::nullopt, {}, {"room"}, ProtocolKind::simple);
  hub()->on_client_message("p", protocol::JoinGroup{"room", std::nullopt});
  pub->clear();
  sub->clear();

  hub()->on_client_message("p", protocol::SendToGroup{"room", 1, false, text("hi")});
  EXPECT_EQ(
      sub->last_text(),
      R"({"type":"message","from":"group","fromUserId":"u1","group":"room","dataType":"text","data":"hi"})");
  ASSERT_EQ(pub->texts().size(), 2u);  // echo, then ack
  EXPECT_EQ(pub->texts()[1], R"({"type":"ack","ackId":1,"success":true})");
  ASSERT_EQ(simple->frames().size(), 1u);
  EXPECT_EQ(simple->frames()[0]->data, "hi");
  EXPECT_FALSE(simple->frames()[0]->binary);

  pub->clear();
  hub()->on_client_message("p", protocol::SendToGroup{"room", 2, true, text("quiet")});
  ASSERT_EQ(pub->texts().size(), 1u);  // only the ack
  EXPECT_EQ(sub->last_text()->find("quiet") != std::string::npos, true);

  hub()->on_client_message("p", protocol::SendToGroup{"elsewhere", 3, false, text("no")});
  EXPECT_NE(pub->last_text()->find("send to group 'elsewhere'"), std::string::npos);
}

TEST_F(HubTest, RecipientsOfOneKindShareOneEncodedFrame) {
  auto pub = connect("p", std::nullopt, {"webpubsub.sendToGroup"});
  auto a = connect("a", std::nullopt, {}, {"g"});
  auto b = connect("b", std::nullopt, {}, {"g"});
  auto s1 = connect("s1", std::nullopt, {}, {"g"}, ProtocolKind::simple);
  auto s2 = connect("s2", std::nullopt, {}, {"g"}, ProtocolKind::simple);
  hub()->on_client_message(
      "p",
      protocol::SendToGroup{"g", std::nullopt, false, {protocol::DataType::binary, "\x01\x02"}});
  EXPECT_EQ(a->frames().back().get(), b->frames().back().get());
  EXPECT_EQ(s1->frames().back().get(), s2->frames().back().get());
  EXPECT_TRUE(s1->frames().back()->binary);
  EXPECT_NE(a->frames().back()->data.find(R"("dataType":"binary","data":"AQI=")"),
            std::string::npos);
}

TEST_F(HubTest, PingGetsPongAndEventWithoutHandlerGetsInternalServerError) {
  auto a = connect("c1");
  hub()->on_client_message("c1", protocol::Ping{});
  EXPECT_EQ(a->last_text(), R"({"type":"pong"})");
  hub()->on_client_message("c1", protocol::Event{"hello", 9, text("x")});
  EXPECT_NE(
      a->last_text()->find(R"("ackId":9,"success":false,"error":{"name":"InternalServerError")"),
      std::string::npos);
  // Without an ackId nothing is sent and the connection stays.
  a->clear();
  EXPECT_FALSE(hub()->on_client_message("c1", protocol::Event{"hello", std::nullopt, text("x")}));
  EXPECT_TRUE(a->frames().empty());
}

TEST_F(HubTest, SimpleClientFramesWithoutHandlerClose1011) {
  connect("s", std::nullopt, {}, {}, ProtocolKind::simple);
  auto close = hub()->on_simple_message("s", text("hello"));
  ASSERT_TRUE(close);
  EXPECT_EQ(close->code, 1011);
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
}

TEST_F(HubTest, PublicationScopesAndExclusions) {
  auto a = connect("a", "alice");
  auto b = connect("b", "bob");
  a->clear();
  b->clear();
  auto msg = std::make_shared<Message>();
  msg->payload = {protocol::DataType::json, R"({"k":1})"};
  node_.publish({"chat", Scope::all, "", msg, {"b"}, nullptr});
  EXPECT_EQ(a->last_text(),
            R"({"type":"message","from":"server","dataType":"json","data":{"k":1}})");
  EXPECT_TRUE(b->frames().empty());
  node_.publish({"chat", Scope::user, "bob", msg, {}, nullptr});
  EXPECT_EQ(b->frames().size(), 1u);
  node_.publish({"chat", Scope::connection, "a", msg, {}, nullptr});
  EXPECT_EQ(a->frames().size(), 2u);
  node_.publish({"other", Scope::all, "", msg, {}, nullptr});  // another hub: nothing here
  EXPECT_EQ(a->frames().size(), 2u);
}

TEST_F(HubTest, CloseOperationsReachTheConnections) {
  auto a = connect("a", "alice", {}, {"g"});
  auto b = connect("b", "bob", {}, {"g"});
  hub()->close_group("g", {"b"}, 1000, "bye");
  ASSERT_EQ(a->closes().size(), 1u);
  EXPECT_EQ(a->closes()[0].code, 1000);
  EXPECT_EQ(a->closes()[0].reason, "bye");
  EXPECT_TRUE(b->closes().empty());
  node_.close_all(1001, "shutdown");
  EXPECT_EQ(b->closes().back().code, 1001);
}

TEST_F(HubTest, RuntimeGrantsAndChecks) {
  auto a = connect("a");
  EXPECT_FALSE(hub()->check_permission("a", Permission::send_to_group, "g"));
  EXPECT_TRUE(hub()->grant_permission("a", Permission::send_to_group, std::string("g")));
  EXPECT_TRUE(hub()->check_permission("a", Permission::send_to_group, "g"));
  EXPECT_FALSE(hub()->check_permission("a", Permission::send_to_group, std::nullopt));
  hub()->revoke_permission("a", Permission::send_to_group, std::nullopt);
  EXPECT_FALSE(hub()->check_permission("a", Permission::send_to_group, "g"));
  EXPECT_FALSE(hub()->grant_permission("missing", Permission::send_to_group, std::nullopt));
}

TEST(HubLimitsTest, GroupsPerConnectionAndConnectionsPerUser) {
  MemoryBroker broker;
  HubLimits limits;
  limits.max_groups_per_connection = 1;
  limits.max_connections_per_user = 1;
  Node node(broker, limits);
  auto hub = node.hub("h");
  auto a = std::make_shared<FakeConnection>();
  ASSERT_EQ(hub->add_connection(
                {"a", "u", ProtocolKind::json, {"webpubsub.joinLeaveGroup"}, {}, {}, {}}, a),
            Hub::AddResult::added);
  auto a2 = std::make_shared<FakeConnection>();
  EXPECT_EQ(hub->add_connection({"a2", "u", ProtocolKind::json, {}, {}, {}, {}}, a2),
            Hub::AddResult::user_limit_reached);
  hub->on_client_message("a", protocol::JoinGroup{"g1", 1});
  EXPECT_NE(a->last_text()->find(R"("success":true)"), std::string::npos);
  hub->on_client_message("a", protocol::JoinGroup{"g2", 2});
  EXPECT_NE(a->last_text()->find("BadRequest"), std::string::npos);
  hub->on_client_message("a", protocol::JoinGroup{"g1", 3});  // already a member: fine
  EXPECT_NE(a->last_text()->find(R"("success":true)"), std::string::npos);
}

TEST(HubLimitsTest, GroupLimitHoldsForRestTokenAndBulkJoins) {
  MemoryBroker broker;
  HubLimits limits;
  limits.max_groups_per_connection = 2;
  Node node(broker, limits);
  auto hub = node.hub("h");
  auto a = std::make_shared<FakeConnection>();
  auto b = std::make_shared<FakeConnection>();
  // Token groups beyond the limit are not joined (the handshake refuses such tokens first).
  ASSERT_EQ(hub->add_connection({"a", "u", ProtocolKind::json, {}, {"t1", "t2", "t3"}, {}, {}}, a),
            Hub::AddResult::added);
  ASSERT_EQ(hub->add_connection({"b", "u", ProtocolKind::json, {}, {"t1"}, {}, {}}, b),
            Hub::AddResult::added);
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

TEST(HubAckMemoryTest, RememberedAckIdsAreBounded) {
  MemoryBroker broker;
  HubLimits limits;
  limits.max_remembered_ack_ids = 3;
  Node node(broker, limits);
  auto hub = node.hub("h");
  auto a = std::make_shared<FakeConnection>();
  hub->add_connection(
      {"a", std::nullopt, ProtocolKind::json, {"webpubsub.joinLeaveGroup"}, {}, {}, {}}, a);
  for (std::uint64_t id = 1; id <= 4; ++id)
    hub->on_client_message("a", protocol::JoinGroup{"g", id});
  hub->on_client_message("a", protocol::JoinGroup{"g", 1});  // forgotten: executed again
  EXPECT_NE(a->last_text()->find(R"("success":true)"), std::string::npos);
  hub->on_client_message("a", protocol::JoinGroup{"g", 4});
  EXPECT_NE(a->last_text()->find("Duplicate"), std::string::npos);
}

}  // namespace
}  // namespace wps::core

namespace wps::core {
namespace {

TEST_F(HubTest, EachProtocolKindGetsItsOwnSharedEncoding) {
  auto pub = connect("p", std::nullopt, {"webpubsub.sendToGroup"});
  auto j1 = connect("j1", std::nullopt, {}, {"g"});
  auto r1 = connect("r1", std::nullopt, {}, {"g"}, ProtocolKind::json_reliable);
  auto p1 = connect("p1", std::nullopt, {}, {"g"}, ProtocolKind::protobuf);
  auto p2 = connect("p2", std::nullopt, {}, {"g"}, ProtocolKind::protobuf_reliable);
  hub()->on_client_message("p", protocol::SendToGroup{"g", std::nullopt, false, text("hi")});
  const SharedFrame json_frame = j1->frames().back();
  const SharedFrame proto_frame = p1->frames().back();
  EXPECT_FALSE(json_frame->binary);
  EXPECT_TRUE(json_frame->sequenced);
  EXPECT_TRUE(proto_frame->binary);
  EXPECT_TRUE(proto_frame->sequenced);
  // The reliable kinds get their own encoding (the logical connection stamps it).
  EXPECT_NE(r1->frames().back().get(), json_frame.get());
  EXPECT_NE(p2->frames().back().get(), proto_frame.get());
  EXPECT_EQ(r1->frames().back()->data, json_frame->data);
  auto stamped = with_sequence_id(ProtocolKind::json_reliable, *r1->frames().back(), 7);
  EXPECT_EQ(stamped->data.rfind(R"({"sequenceId":7,"type":"message")", 0), 0u);
  // Connected and acks are binary for protobuf clients.
  EXPECT_TRUE(p1->frames().front()->binary);
}

}  // namespace
}  // namespace wps::core

namespace wps::core {
namespace {

using test::FakeConnection;

struct RecordingObserver : GroupObserver {
  std::vector<std::string> events;
  void on_group_change(const std::string& group, bool joined) override {
    events.push_back((joined ? "+" : "-") + group);
  }
};

TEST(HubGroupObserverTest, ToldOfEveryMembershipChangeOnce) {
  MemoryBroker broker;
  Node node(broker, HubLimits{});
  auto hub = node.hub("h");
  auto observer = std::make_shared<RecordingObserver>();
  auto a = std::make_shared<FakeConnection>();
  ConnectionInfo info{"a", "u", ProtocolKind::json, {"webpubsub.joinLeaveGroup"}, {"t"}, {}, {}};
  info.group_observer = observer;
  ASSERT_EQ(hub->add_connection(info, a), Hub::AddResult::added);
  hub->on_client_message("a", protocol::JoinGroup{"g1", 1});
  hub->on_client_message("a", protocol::JoinGroup{"g1", 2});  // already a member: no event
  EXPECT_TRUE(hub->add_user_to_group("u", "g2"));
  hub->remove_from_group("a", "g1");
  hub->remove_from_group("a", "g1");  // not a member: no event
  hub->remove_connection("a");        // leaves t and g2, in name order
  EXPECT_EQ(observer->events, (std::vector<std::string>{"+t", "+g1", "+g2", "-g1", "-g2", "-t"}));
}

}  // namespace
}  // namespace wps::core
