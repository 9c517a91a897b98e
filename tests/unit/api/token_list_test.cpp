// :generateToken and ListConnectionsInGroup paging.

#include "api_fixture.hpp"
#include "util/base64.hpp"

namespace wps::api::test {
namespace {

using http::verb;

class TokenTest : public ApiTest {
 protected:
  auth::Claims verify(const Response& r, const std::string& key) {
    EXPECT_EQ(status(r), 200u);
    EXPECT_EQ(r[http::field::content_type], "application/json; charset=utf-8");
    const std::string token(json(r).at("token").as_string());
    auth::VerifyOptions options;
    options.keys = {key};
    options.now = kNow;
    const auth::VerifyResult verified = auth::verify_token(token, options);
    EXPECT_TRUE(verified) << auth::to_string(verified.error);
    return verified ? *verified.claims : auth::Claims{};
  }
};

TEST_F(TokenTest, DefaultTokenForTheHost) {
  const auth::Claims claims = verify(post("/api/hubs/Chat/:generateToken"), config_.primary_key);
  EXPECT_EQ(claims.audiences, (std::vector<std::string>{"http://localhost:8080/client/hubs/Chat"}));
  EXPECT_EQ(claims.exp, kNow + 3600);
  EXPECT_EQ(claims.iat, kNow);
  EXPECT_EQ(claims.nbf, kNow);
  EXPECT_FALSE(claims.subject);
  EXPECT_TRUE(claims.roles.empty());
}

TEST_F(TokenTest, UserRolesGroupsAndLifetime) {
  const auth::Claims claims = verify(
      post("/api/hubs/chat/:generateToken?api-version=2024-12-01&userId=al%20ice&role=r1&role="
           "webpubsub.joinLeaveGroup&minutesToExpire=5&group=g1&group=g2&clientType=default"),
      config_.primary_key);
  EXPECT_EQ(claims.subject, "al ice");
  EXPECT_EQ(claims.roles, (std::vector<std::string>{"r1", "webpubsub.joinLeaveGroup"}));
  EXPECT_EQ(claims.groups, (std::vector<std::string>{"g1", "g2"}));
  EXPECT_EQ(claims.exp, kNow + 300);
}

TEST_F(TokenTest, ClientTypesAndPublicOrigin) {
  config_.public_origin = "https://pubsub.example.com/";
  auth::Claims claims =
      verify(post("/api/hubs/chat/:generateToken?clientType=MQTT"), config_.primary_key);
  EXPECT_EQ(claims.audiences[0], "https://pubsub.example.com/clients/mqtt/hubs/chat");
  claims = verify(post("/api/hubs/chat/:generateToken?clientType=socketio"), config_.primary_key);
  EXPECT_EQ(claims.audiences[0], "https://pubsub.example.com/clients/socketio/hubs/chat");
  claims = verify(post("/api/hubs/chat/:generateToken?clientType=Default"), config_.primary_key);
  EXPECT_EQ(claims.audiences[0], "https://pubsub.example.com/client/hubs/chat");
}

TEST_F(TokenTest, SignedWithThePrimaryKey) {
  config_.secondary_key = "secondary";
  const Response r =
      send({verb::post,
            "/api/hubs/chat/:generateToken",
            {},
            std::nullopt,
            "Bearer " + auth::sign_token(rest_claims("http://localhost:8080/api/hubs/chat/"
                                                     ":generateToken"),
                                         "secondary")});
  verify(r, config_.primary_key);
}

TEST_F(TokenTest, BadParametersAre400) {
  for (const char* query :
       {"minutesToExpire=0", "minutesToExpire=-5", "minutesToExpire=1.5", "minutesToExpire=x",
        "minutesToExpire=", "clientType=web", "group=%20", "minutesToExpire=99999999999"}) {
    const Response r = post(std::string("/api/hubs/chat/:generateToken?") + query);
    EXPECT_EQ(status(r), 400u) << query;
    EXPECT_EQ(error_code(r), "BadRequest");
  }
}

class ListTest : public ApiTest {
 protected:
  void SetUp() override {
    for (int i = 0; i < 5; ++i)
      connect("c" + std::to_string(i),
              i % 2 == 0 ? std::optional<std::string>("u" + std::to_string(i)) : std::nullopt,
              {"g"});
    connect("x");
  }
  static std::vector<std::string> ids(const boost::json::value& page) {
    std::vector<std::string> out;
    for (const auto& m : page.at("value").as_array())
      out.emplace_back(m.at("connectionId").as_string());
    return out;
  }
  // The target of an absolute nextLink.
  static std::string target_of(const boost::json::value& page) {
    const std::string link(page.at("nextLink").as_string());
    EXPECT_TRUE(link.starts_with("http://localhost:8080/api/hubs/chat/groups/g/connections?"))
        << link;
    return link.substr(std::string("http://localhost:8080").size());
  }
};

TEST_F(ListTest, SinglePageWithUserIds) {
  const Response r = call(verb::get, "/api/hubs/chat/groups/g/connections?api-version=2024-12-01");
  EXPECT_EQ(status(r), 200u);
  const auto page = json(r);
  EXPECT_EQ(ids(page), (std::vector<std::string>{"c0", "c1", "c2", "c3", "c4"}));
  EXPECT_FALSE(page.as_object().contains("nextLink"));
  EXPECT_EQ(page.at("value").at(0).at("userId").as_string(), "u0");
  EXPECT_TRUE(page.at("value").at(1).at("userId").is_null());
}

TEST_F(ListTest, PagesFollowNextLinkWithoutApiVersion) {
  auto page = json(call(verb::get, "/api/hubs/chat/groups/g/connections?maxpagesize=2"));
  EXPECT_EQ(ids(page), (std::vector<std::string>{"c0", "c1"}));
  std::string next = target_of(page);
  EXPECT_TRUE(contains(next, "api-version=2024-12-01"));
  EXPECT_TRUE(contains(next, "maxpagesize=2"));
  EXPECT_TRUE(contains(next, "continuationToken="));

  // Membership changes between pages: c1 (already returned) leaves, c2b joins.
  hub()->remove_connection("c1");
  connect("c2b", std::nullopt, {"g"});

  // The JS SDK GETs nextLink verbatim; also check a version-less link works.
  const std::string without_version =
      "/api/hubs/chat/groups/g/connections?maxpagesize=2&continuationToken=" +
      util::base64url_encode("c1");
  page = json(call(verb::get, without_version));
  EXPECT_EQ(ids(page), (std::vector<std::string>{"c2", "c2b"}));
  page = json(call(verb::get, next));
  EXPECT_EQ(ids(page), (std::vector<std::string>{"c2", "c2b"}));
  next = target_of(page);
  page = json(call(verb::get, next));
  EXPECT_EQ(ids(page), (std::vector<std::string>{"c3", "c4"}));
  EXPECT_FALSE(page.as_object().contains("nextLink"));
}

TEST_F(ListTest, TopCapsTheTotalAcrossPages) {
  auto page = json(call(verb::get, "/api/hubs/chat/groups/g/connections?maxpagesize=2&top=3"));
  EXPECT_EQ(ids(page), (std::vector<std::string>{"c0", "c1"}));
  const std::string next = target_of(page);
  EXPECT_TRUE(contains(next, "top=1"));
  page = json(call(verb::get, next));
  EXPECT_EQ(ids(page), (std::vector<std::string>{"c2"}));
  EXPECT_FALSE(page.as_object().contains("nextLink"));

  page = json(call(verb::get, "/api/hubs/chat/groups/g/connections?top=5"));
  EXPECT_EQ(ids(page).size(), 5u);
  EXPECT_FALSE(page.as_object().contains("nextLink"));
}

TEST_F(ListTest, UnknownGroupOrHubIsAnEmptyPage) {
  for (const char* target :
       {"/api/hubs/chat/groups/none/connections", "/api/hubs/nohub/groups/g/connections"}) {
    const Response r = call(verb::get, target);
    EXPECT_EQ(status(r), 200u);
    EXPECT_EQ(r.body(), R"({"value":[]})");
  }
}

TEST_F(ListTest, BadParametersAre400) {
  for (const char* query : {"maxpagesize=0", "maxpagesize=201", "maxpagesize=x", "top=0", "top=-1",
                            "top=2147483648", "continuationToken=%21%21"}) {
    const Response r = call(verb::get, std::string("/api/hubs/chat/groups/g/connections?") + query);
    EXPECT_EQ(status(r), 400u) << query;
  }
}

TEST_F(ListTest, NextLinkUsesThePublicOriginAndEncodesNames) {
  config_.public_origin = "https://pubsub.example.com";
  connect("y", std::nullopt, {"a b/c"});
  connect("z", std::nullopt, {"a b/c"});
  const auto page =
      json(call(verb::get, "/api/hubs/Chat/groups/a%20b%2Fc/connections?maxpagesize=1"));
  const std::string link(page.at("nextLink").as_string());
  EXPECT_TRUE(
      link.starts_with("https://pubsub.example.com/api/hubs/Chat/groups/a%20b%2Fc/connections?"))
      << link;
}

}  // namespace
}  // namespace wps::api::test
