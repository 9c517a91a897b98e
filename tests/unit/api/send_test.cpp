// The :send operations: scopes, content types, excluded, filter, TTL, size limit.

#include <chrono>

#include "api_fixture.hpp"

namespace wps::api::test {
namespace {

class SendTest : public ApiTest {};

TEST_F(SendTest, SendToAllJsonReachesEveryConnectionOfTheHubOnly) {
  auto a = connect("a");
  auto s = connect("s", std::nullopt, {}, core::ProtocolKind::simple);
  auto other = connect("o", std::nullopt, {}, core::ProtocolKind::json, "other");
  const Response r =
      post("/api/hubs/chat/:send?api-version=2024-12-01", R"({"x": 1})", "application/json");
  EXPECT_EQ(status(r), 202u);
  EXPECT_TRUE(r.body().empty());
  ASSERT_EQ(a->texts().size(), 1u);
  EXPECT_EQ(a->texts()[0],
            R"({"type":"message","from":"server","dataType":"json","data":{"x": 1}})");
  ASSERT_EQ(s->frames().size(), 1u);
  EXPECT_EQ(s->frames()[0]->data, R"({"x": 1})");
  EXPECT_FALSE(s->frames()[0]->binary);
  EXPECT_TRUE(other->frames().empty());
}

TEST_F(SendTest, ContentTypeDecidesTheDataType) {
  auto a = connect("a");
  auto s = connect("s", std::nullopt, {}, core::ProtocolKind::simple);
  EXPECT_EQ(status(post("/api/hubs/chat/:send", "hello", "text/plain; charset=utf-8")), 202u);
  EXPECT_TRUE(contains(*a->last_text(), R"("dataType":"text","data":"hello")"));
  EXPECT_FALSE(s->frames().back()->binary);
  EXPECT_EQ(
      status(post("/api/hubs/chat/:send", std::string("\x01\x02", 2), "Application/Octet-Stream")),
      202u);
  EXPECT_TRUE(contains(*a->last_text(), R"("dataType":"binary","data":"AQI=")"));
  EXPECT_TRUE(s->frames().back()->binary);
  EXPECT_EQ(s->frames().back()->data, std::string("\x01\x02", 2));
  EXPECT_EQ(status(post("/api/hubs/chat/:send", R"("Hello World")", "application/json")), 202u);
  EXPECT_EQ(s->frames().back()->data, R"("Hello World")");
}

TEST_F(SendTest, UnsupportedOrMissingContentTypeIs415) {
  auto a = connect("a");
  Response r = post("/api/hubs/chat/:send", "<x/>", "application/xml");
  EXPECT_EQ(status(r), 415u);
  EXPECT_EQ(error_code(r), "UnsupportedMediaType");
  r = post("/api/hubs/chat/:send", "hello");
  EXPECT_EQ(status(r), 415u);
  r = post("/api/hubs/chat/:send", "", std::nullopt);
  EXPECT_EQ(status(r), 415u);
  EXPECT_TRUE(a->frames().empty());
}

TEST_F(SendTest, InvalidJsonIs400) {
  auto a = connect("a");
  for (const char* body : {"", "{", "{'a':1}", "[1,]", "1 2", "nul"}) {
    const Response r = post("/api/hubs/chat/:send", body, "application/json");
    EXPECT_EQ(status(r), 400u) << body;
    EXPECT_EQ(error_code(r), "BadRequest");
  }
  EXPECT_TRUE(a->frames().empty());
}

TEST_F(SendTest, DeeplyNestedJsonIsAccepted) {
  connect("a");
  const std::string body = std::string(200, '[') + std::string(200, ']');
  EXPECT_EQ(status(post("/api/hubs/chat/:send", body, "application/json")), 202u);
}

TEST_F(SendTest, BodiesOverTheMessageLimitAre413) {
  config_.limits.max_message_bytes = 10;
  auto a = connect("a");
  EXPECT_EQ(status(post("/api/hubs/chat/:send", std::string(10, 'x'), "text/plain")), 202u);
  const Response r = post("/api/hubs/chat/:send", std::string(11, 'x'), "text/plain");
  EXPECT_EQ(status(r), 413u);
  EXPECT_EQ(error_code(r), "PayloadTooLarge");
  EXPECT_EQ(a->frames().size(), 1u);
}

TEST_F(SendTest, ExcludedSkipsConnectionsOfSendToAllAndSendToGroup) {
  auto a = connect("a", std::nullopt, {"g"});
  auto b = connect("b", std::nullopt, {"g"});
  auto c = connect("c", std::nullopt, {"g"});
  EXPECT_EQ(status(post("/api/hubs/chat/:send?excluded=a&excluded=c", "x", "text/plain")), 202u);
  EXPECT_TRUE(a->frames().empty());
  EXPECT_EQ(b->frames().size(), 1u);
  EXPECT_TRUE(c->frames().empty());
  EXPECT_EQ(status(post("/api/hubs/chat/groups/g/:send?excluded=b", "y", "text/plain")), 202u);
  EXPECT_EQ(a->frames().size(), 1u);
  EXPECT_EQ(b->frames().size(), 1u);
  EXPECT_EQ(c->frames().size(), 1u);
}

TEST_F(SendTest, SendToGroupReachesMembersOnly) {
  auto a = connect("a", std::nullopt, {"g"});
  auto b = connect("b");
  EXPECT_EQ(status(post("/api/hubs/chat/groups/g/:send", "x", "text/plain")), 202u);
  EXPECT_EQ(*a->last_text(),
            R"({"type":"message","from":"group","fromUserId":null,"group":"g","dataType":"text","data":"x"})");
  EXPECT_TRUE(b->frames().empty());
}

TEST_F(SendTest, SendToUserAndConnection) {
  auto a1 = connect("a1", "alice");
  auto a2 = connect("a2", "alice");
  auto b = connect("b", "bob");
  EXPECT_EQ(status(post("/api/hubs/chat/users/alice/:send", "x", "text/plain")), 202u);
  EXPECT_EQ(a1->frames().size(), 1u);
  EXPECT_EQ(a2->frames().size(), 1u);
  EXPECT_TRUE(b->frames().empty());
  EXPECT_EQ(status(post("/api/hubs/chat/connections/b/:send", "y", "text/plain")), 202u);
  EXPECT_EQ(b->frames().size(), 1u);
  EXPECT_EQ(a1->frames().size(), 1u);
}

TEST_F(SendTest, UnknownTargetsAndHubsAreStillAccepted) {
  EXPECT_EQ(status(post("/api/hubs/nohub/:send", "x", "text/plain")), 202u);
  EXPECT_EQ(status(post("/api/hubs/chat/users/ghost/:send", "x", "text/plain")), 202u);
  EXPECT_EQ(status(post("/api/hubs/chat/connections/ghost/:send", "x", "text/plain")), 202u);
  EXPECT_EQ(status(post("/api/hubs/chat/groups/ghost/:send", "x", "text/plain")), 202u);
  EXPECT_EQ(node_.find_hub("nohub"), nullptr);
}

TEST_F(SendTest, HubNamesAreCaseInsensitive) {
  auto a = connect("a");
  EXPECT_EQ(status(post("/api/hubs/CHAT/:send", "x", "text/plain")), 202u);
  EXPECT_EQ(a->frames().size(), 1u);
}

TEST_F(SendTest, EncodedSlashStaysLiteralInUserIds) {
  auto literal = connect("c1", "tenant%2Falice");
  auto slashed = connect("c2", "tenant/alice");
  auto spaced = connect("c3", "alice smith");
  auto plus = connect("c4", "alice+bob");
  EXPECT_EQ(status(post("/api/hubs/chat/users/tenant%2Falice/:send", "x", "text/plain")), 202u);
  EXPECT_EQ(literal->frames().size(), 1u);
  EXPECT_TRUE(slashed->frames().empty());
  EXPECT_EQ(status(post("/api/hubs/chat/users/tenant%252Falice/:send", "x", "text/plain")), 202u);
  EXPECT_EQ(literal->frames().size(), 2u);
  EXPECT_EQ(status(post("/api/hubs/chat/users/alice%20smith/:send", "x", "text/plain")), 202u);
  EXPECT_EQ(spaced->frames().size(), 1u);
  EXPECT_EQ(status(post("/api/hubs/chat/users/alice+bob/:send", "x", "text/plain")), 202u);
  EXPECT_EQ(plus->frames().size(), 1u);
  EXPECT_TRUE(slashed->frames().empty());
}

TEST_F(SendTest, TtlIsValidatedAndSetsTheExpiry) {
  auto s = connect("s", std::nullopt, {}, core::ProtocolKind::simple);
  for (const char* bad : {"301", "-1", "abc", "1.5", "", "99999999999999999999"}) {
    const Response r =
        post(std::string("/api/hubs/chat/:send?messageTtlSeconds=") + bad, "x", "text/plain");
    EXPECT_EQ(status(r), 400u) << bad;
    EXPECT_TRUE(contains(error_message(r), "messageTtlSeconds")) << bad;
  }
  EXPECT_TRUE(s->frames().empty());

  EXPECT_EQ(status(post("/api/hubs/chat/:send?messageTtlSeconds=0", "x", "text/plain")), 202u);
  EXPECT_EQ(s->frames().back()->expires_at, std::chrono::steady_clock::time_point{});

  const auto before = std::chrono::steady_clock::now();
  EXPECT_EQ(status(post("/api/hubs/chat/users/u/:send?messageTtlSeconds=300", "x", "text/plain")),
            202u);
  EXPECT_EQ(
      status(post("/api/hubs/chat/connections/s/:send?messageTtlSeconds=10", "x", "text/plain")),
      202u);
  const auto expires = s->frames().back()->expires_at;
  EXPECT_GE(expires, before + std::chrono::seconds(10));
  EXPECT_LE(expires, std::chrono::steady_clock::now() + std::chrono::seconds(10));
}

TEST_F(SendTest, FilterSelectsRecipientsOfAllGroupAndUserSends) {
  auto a = connect("a", "alice", {"g"});
  auto b = connect("b", "bob", {"g"});
  auto b2 = connect("b2", "bob");
  EXPECT_EQ(status(post("/api/hubs/chat/:send?filter=userId%20eq%20'bob'", "x", "text/plain")),
            202u);
  EXPECT_TRUE(a->frames().empty());
  EXPECT_EQ(b->frames().size(), 1u);
  EXPECT_EQ(b2->frames().size(), 1u);
  // '+' is a space in the query.
  EXPECT_EQ(
      status(post("/api/hubs/chat/groups/g/:send?filter=connectionId+ne+'a'", "x", "text/plain")),
      202u);
  EXPECT_TRUE(a->frames().empty());
  EXPECT_EQ(b->frames().size(), 2u);
  EXPECT_EQ(b2->frames().size(), 1u);
  EXPECT_EQ(status(post("/api/hubs/chat/users/bob/:send?filter=%27g%27%20in%20groups", "x",
                        "text/plain")),
            202u);
  EXPECT_EQ(b->frames().size(), 3u);
  EXPECT_EQ(b2->frames().size(), 1u);
  // A blank filter matches everything.
  EXPECT_EQ(status(post("/api/hubs/chat/:send?filter=", "x", "text/plain")), 202u);
  EXPECT_EQ(a->frames().size(), 1u);
}

TEST_F(SendTest, InvalidFilterIs400NamingThePosition) {
  auto a = connect("a");
  const Response r = post("/api/hubs/chat/:send?filter=userId%20eq", "x", "text/plain");
  EXPECT_EQ(status(r), 400u);
  EXPECT_EQ(error_code(r), "InvalidFilter");
  EXPECT_TRUE(contains(error_message(r), "position 9")) << error_message(r);
  EXPECT_EQ(status(post("/api/hubs/chat/groups/g/:send?filter=(", "x", "text/plain")), 400u);
  EXPECT_EQ(status(post("/api/hubs/chat/users/u/:send?filter=length(userId)", "x", "text/plain")),
            400u);
  EXPECT_TRUE(a->frames().empty());
}

TEST_F(SendTest, SendToConnectionIgnoresFilterAndSendToUserIgnoresExcluded) {
  // Parameters the operation does not define are ignored, as unknown query parameters are.
  auto a = connect("a", "alice");
  EXPECT_EQ(status(post("/api/hubs/chat/connections/a/:send?filter=(", "x", "text/plain")), 202u);
  EXPECT_EQ(status(post("/api/hubs/chat/users/alice/:send?excluded=a", "x", "text/plain")), 202u);
  EXPECT_EQ(a->frames().size(), 2u);
}

TEST_F(SendTest, InvalidGroupNameIs400) {
  const Response r = post("/api/hubs/chat/groups/%20%20/:send", "x", "text/plain");
  EXPECT_EQ(status(r), 400u);
  EXPECT_TRUE(contains(error_message(r), "group"));
  EXPECT_EQ(
      status(post("/api/hubs/chat/groups/" + std::string(1025, 'g') + "/:send", "x", "text/plain")),
      400u);
}

}  // namespace
}  // namespace wps::api::test
