// Close, exists, group membership, :addToGroups/:removeFromGroups and permissions.

#include "api_fixture.hpp"

namespace wps::api::test {
namespace {

using http::verb;

class ManageTest : public ApiTest {
 protected:
  Response groups_request(const std::string& op, const std::string& body,
                          std::optional<std::string> type = "application/json") {
    return send({verb::post, "/api/hubs/chat/:" + op, body, std::move(type), std::nullopt});
  }
};

TEST_F(ManageTest, CloseConnectionWithReasonOrTheDefault) {
  auto a = connect("a");
  auto b = connect("b");
  Response r = call(verb::delete_, "/api/hubs/chat/connections/a?reason=bye%20now");
  EXPECT_EQ(status(r), 204u);
  EXPECT_TRUE(r.body().empty());
  ASSERT_EQ(a->closes().size(), 1u);
  EXPECT_EQ(a->closes()[0].code, 1000);
  EXPECT_EQ(a->closes()[0].reason, "bye now");
  EXPECT_EQ(status(call(verb::delete_, "/api/hubs/chat/connections/b")), 204u);
  ASSERT_EQ(b->closes().size(), 1u);
  EXPECT_EQ(b->closes()[0].reason, "Closed by REST API.");
  EXPECT_EQ(status(call(verb::delete_, "/api/hubs/chat/connections/ghost")), 204u);
  EXPECT_EQ(status(call(verb::delete_, "/api/hubs/nohub/connections/ghost")), 204u);
}

TEST_F(ManageTest, CloseAllGroupAndUserHonourExcluded) {
  auto a = connect("a", "alice", {"g"});
  auto b = connect("b", "alice", {"g"});
  auto c = connect("c", "carol");
  EXPECT_EQ(status(post("/api/hubs/chat/users/alice/:closeConnections?excluded=b&reason=r1")),
            204u);
  ASSERT_EQ(a->closes().size(), 1u);
  EXPECT_EQ(a->closes()[0].reason, "r1");
  EXPECT_TRUE(b->closes().empty());
  EXPECT_TRUE(c->closes().empty());

  auto d = connect("d", std::nullopt, {"g"});
  EXPECT_EQ(status(post("/api/hubs/chat/groups/g/:closeConnections?excluded=d")), 204u);
  EXPECT_EQ(b->closes().size(), 1u);
  EXPECT_TRUE(d->closes().empty());
  EXPECT_TRUE(c->closes().empty());

  EXPECT_EQ(status(post("/api/hubs/chat/:closeConnections?excluded=c&reason=shutdown")), 204u);
  EXPECT_TRUE(c->closes().empty());
  ASSERT_EQ(d->closes().size(), 1u);
  EXPECT_EQ(d->closes()[0].reason, "shutdown");
  EXPECT_EQ(d->closes()[0].code, 1000);

  EXPECT_EQ(status(post("/api/hubs/nohub/:closeConnections")), 204u);
  EXPECT_EQ(status(post("/api/hubs/chat/groups/none/:closeConnections")), 204u);
  EXPECT_EQ(status(post("/api/hubs/chat/users/none/:closeConnections")), 204u);
}

TEST_F(ManageTest, ExistsOperationsAnswer200Or404WithoutBody) {
  connect("a", "alice", {"g"});
  for (const char* found : {"/api/hubs/chat/connections/a", "/api/hubs/chat/users/alice",
                            "/api/hubs/chat/groups/g", "/api/hubs/Chat/groups/g"}) {
    const Response r = call(verb::head, found);
    EXPECT_EQ(status(r), 200u) << found;
    EXPECT_TRUE(r.body().empty());
  }
  for (const char* missing :
       {"/api/hubs/chat/connections/b", "/api/hubs/chat/users/bob", "/api/hubs/chat/groups/h",
        "/api/hubs/nohub/groups/g", "/api/hubs/chat/users/Alice"}) {
    const Response r = call(verb::head, missing);
    EXPECT_EQ(status(r), 404u) << missing;
    EXPECT_TRUE(r.body().empty());
  }
  EXPECT_EQ(node_.find_hub("nohub"), nullptr);
}

TEST_F(ManageTest, AddAndRemoveConnectionToGroup) {
  connect("a");
  EXPECT_EQ(status(call(verb::put, "/api/hubs/chat/groups/g/connections/a")), 200u);
  EXPECT_TRUE(hub()->group_exists("g"));
  EXPECT_EQ(status(call(verb::put, "/api/hubs/chat/groups/g/connections/a")), 200u);
  EXPECT_EQ(status(call(verb::delete_, "/api/hubs/chat/groups/g/connections/a")), 204u);
  EXPECT_FALSE(hub()->group_exists("g"));
  EXPECT_EQ(status(call(verb::delete_, "/api/hubs/chat/groups/g/connections/ghost")), 204u);
}

TEST_F(ManageTest, AddUnknownConnectionToGroupIs404) {
  Response r = call(verb::put, "/api/hubs/chat/groups/g/connections/ghost");
  EXPECT_EQ(status(r), 404u);
  EXPECT_EQ(error_code(r), "NotFound");
  EXPECT_TRUE(contains(error_message(r), "ghost"));
  r = call(verb::put, "/api/hubs/nohub/groups/g/connections/ghost");
  EXPECT_EQ(status(r), 404u);
}

TEST_F(ManageTest, RemoveConnectionFromAllGroups) {
  connect("a", std::nullopt, {"g1", "g2"});
  EXPECT_EQ(status(call(verb::delete_, "/api/hubs/chat/connections/a/groups")), 204u);
  EXPECT_FALSE(hub()->group_exists("g1"));
  EXPECT_FALSE(hub()->group_exists("g2"));
  EXPECT_EQ(status(call(verb::delete_, "/api/hubs/chat/connections/ghost/groups")), 204u);
}

TEST_F(ManageTest, UserGroupMembership) {
  connect("a1", "alice");
  connect("a2", "alice");
  EXPECT_EQ(status(call(verb::put, "/api/hubs/chat/users/alice/groups/g")), 200u);
  EXPECT_EQ(hub()->list_group("g", "", 10).size(), 2u);
  EXPECT_EQ(status(call(verb::put, "/api/hubs/chat/users/alice/groups/h")), 200u);
  EXPECT_EQ(status(call(verb::delete_, "/api/hubs/chat/users/alice/groups/g")), 204u);
  EXPECT_FALSE(hub()->group_exists("g"));
  EXPECT_TRUE(hub()->group_exists("h"));
  EXPECT_EQ(status(call(verb::delete_, "/api/hubs/chat/users/alice/groups")), 204u);
  EXPECT_FALSE(hub()->group_exists("h"));
  // Users without connections: no error (docs/REST_API.md).
  EXPECT_EQ(status(call(verb::put, "/api/hubs/chat/users/ghost/groups/g")), 200u);
  EXPECT_EQ(status(call(verb::put, "/api/hubs/nohub/users/ghost/groups/g")), 200u);
  EXPECT_EQ(status(call(verb::delete_, "/api/hubs/chat/users/ghost/groups/g")), 204u);
  EXPECT_EQ(status(call(verb::delete_, "/api/hubs/chat/users/ghost/groups")), 204u);
}

TEST_F(ManageTest, InvalidGroupNamesAre400) {
  connect("a");
  EXPECT_EQ(status(call(verb::put, "/api/hubs/chat/groups/%20/connections/a")), 400u);
  EXPECT_EQ(status(call(verb::put, "/api/hubs/chat/users/u/groups/%09%20")), 400u);
  EXPECT_EQ(status(call(verb::head, "/api/hubs/chat/groups/%20")), 400u);
  EXPECT_EQ(status(call(verb::delete_, "/api/hubs/chat/users/u/groups/%20")), 400u);
}

TEST_F(ManageTest, AddToGroupsAndRemoveFromGroupsWithFilter) {
  connect("a", "alice");
  connect("b", "bob");
  Response r = send({verb::post, "/api/hubs/chat/:addToGroups",
                     R"({"groups":["g1","g2"],"filter":"userId eq 'bob'"})", "application/json",
                     std::nullopt});
  EXPECT_EQ(status(r), 200u);
  ASSERT_EQ(hub()->list_group("g1", "", 10).size(), 1u);
  EXPECT_EQ(hub()->list_group("g2", "", 10)[0].connection_id, "b");
  // No filter: every connection.
  r = send({verb::post, "/api/hubs/chat/:addToGroups", R"({"groups":["g1"]})",
            "application/json; charset=utf-8", std::nullopt});
  EXPECT_EQ(status(r), 200u);
  EXPECT_EQ(hub()->list_group("g1", "", 10).size(), 2u);
  r = send({verb::post, "/api/hubs/chat/:removeFromGroups",
            R"({"groups":["g1","g2"],"filter":"connectionId eq 'b'"})", "application/json",
            std::nullopt});
  EXPECT_EQ(status(r), 200u);
  ASSERT_EQ(hub()->list_group("g1", "", 10).size(), 1u);
  EXPECT_EQ(hub()->list_group("g1", "", 10)[0].connection_id, "a");
  EXPECT_FALSE(hub()->group_exists("g2"));
  r = send({verb::post, "/api/hubs/chat/:removeFromGroups", R"({"groups":["g1"],"filter":""})",
            "application/json", std::nullopt});
  EXPECT_EQ(status(r), 200u);
  EXPECT_FALSE(hub()->group_exists("g1"));
  r = send({verb::post, "/api/hubs/nohub/:addToGroups", R"({"groups":["g1"]})", "application/json",
            std::nullopt});
  EXPECT_EQ(status(r), 200u);
}

TEST_F(ManageTest, GroupsRequestValidation) {
  connect("a");
  for (const char* body :
       {R"({})", R"({"groups":[]})", R"({"groups":null})", R"({"groups":"g"})", R"({"groups":[1]})",
        R"({"groups":[" "]})", R"({"groups":["g"],"extra":1})", R"({"groups":["g"],"filter":3})",
        R"([])", R"(not json)", R"({"groups":["g"],)"}) {
    for (const char* op : {"addToGroups", "removeFromGroups"}) {
      const Response r = groups_request(op, body);
      EXPECT_EQ(status(r), 400u) << op << " " << body;
      EXPECT_EQ(error_code(r), "BadRequest");
    }
  }
  Response r = groups_request("addToGroups", R"({"groups":["g"],"filter":"userId eq"})");
  EXPECT_EQ(status(r), 400u);
  EXPECT_EQ(error_code(r), "InvalidFilter");
  r = groups_request("addToGroups", R"({"groups":["g"]})", "text/plain");
  EXPECT_EQ(status(r), 415u);
  EXPECT_EQ(error_code(r), "UnsupportedMediaType");
  r = groups_request("removeFromGroups", R"({"groups":["g"]})", std::nullopt);
  EXPECT_EQ(status(r), 415u);
  EXPECT_FALSE(hub()->group_exists("g"));
}

TEST_F(ManageTest, GrantCheckRevokePermission) {
  connect("a");
  const std::string base = "/api/hubs/chat/permissions/";
  EXPECT_EQ(status(call(verb::head, base + "sendToGroup/connections/a?targetName=g")), 404u);
  EXPECT_EQ(status(call(verb::put, base + "sendToGroup/connections/a?targetName=g")), 200u);
  EXPECT_EQ(status(call(verb::head, base + "sendToGroup/connections/a?targetName=g")), 200u);
  EXPECT_EQ(status(call(verb::head, base + "sendToGroup/connections/a?targetName=h")), 404u);
  EXPECT_EQ(status(call(verb::head, base + "joinLeaveGroup/connections/a?targetName=g")), 404u);
  EXPECT_EQ(status(call(verb::delete_, base + "sendToGroup/connections/a?targetName=g")), 204u);
  EXPECT_EQ(status(call(verb::head, base + "sendToGroup/connections/a?targetName=g")), 404u);

  // Without targetName: every group.
  EXPECT_EQ(status(call(verb::put, base + "joinLeaveGroup/connections/a")), 200u);
  EXPECT_EQ(status(call(verb::head, base + "joinLeaveGroup/connections/a")), 200u);
  EXPECT_EQ(status(call(verb::head, base + "joinLeaveGroup/connections/a?targetName=any")), 200u);
  EXPECT_EQ(status(call(verb::delete_, base + "joinLeaveGroup/connections/a")), 204u);
  EXPECT_EQ(status(call(verb::head, base + "joinLeaveGroup/connections/a")), 404u);
}

TEST_F(ManageTest, PermissionsOnUnknownConnectionsAndBadParameters) {
  const std::string base = "/api/hubs/chat/permissions/";
  EXPECT_EQ(status(call(verb::put, base + "sendToGroup/connections/ghost")), 200u);
  EXPECT_EQ(status(call(verb::delete_, base + "sendToGroup/connections/ghost")), 204u);
  EXPECT_EQ(status(call(verb::head, base + "sendToGroup/connections/ghost")), 404u);
  EXPECT_EQ(status(call(verb::head, "/api/hubs/nohub/permissions/sendToGroup/connections/x")),
            404u);
  Response r = call(verb::put, base + "fly/connections/ghost");
  EXPECT_EQ(status(r), 400u);
  EXPECT_TRUE(contains(error_message(r), "sendToGroup"));
  EXPECT_EQ(status(call(verb::head, base + "fly/connections/ghost")), 400u);
  EXPECT_TRUE(call(verb::head, base + "fly/connections/ghost").body().empty());
  EXPECT_EQ(status(call(verb::put, base + "sendToGroup/connections/ghost?targetName=%20")), 400u);
}

}  // namespace
}  // namespace wps::api::test
