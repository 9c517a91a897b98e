// Routing, api-versions, error shape, hub and path validation.

#include "api/api_error.hpp"
#include "api/query.hpp"
#include "api/router.hpp"
#include "api/versions.hpp"
#include "api_fixture.hpp"

namespace wps::api::test {
namespace {

using http::verb;

class RoutingTest : public ApiTest {};

TEST_F(RoutingTest, MissingApiVersionIsTheLatestAndEveryKnownVersionWorks) {
  connect("a");
  EXPECT_EQ(status(post("/api/hubs/chat/:send", "x", "text/plain")), 202u);
  for (const char* v :
       {"2020-10-01", "2021-01-01", "2021-05-01-preview", "2021-08-01-preview", "2021-10-01",
        "2022-10-01-preview", "2022-11-01", "2023-07-01", "2024-01-01", "2024-12-01"}) {
    EXPECT_EQ(status(post(std::string("/api/hubs/chat/:send?api-version=") + v, "x", "text/plain")),
              202u)
        << v;
  }
}

TEST_F(RoutingTest, UnknownApiVersionIs400ListingTheSupportedOnes) {
  const Response r = post("/api/hubs/chat/:send?api-version=2099-01-01", "x", "text/plain");
  EXPECT_EQ(status(r), 400u);
  EXPECT_EQ(error_code(r), "UnsupportedApiVersion");
  EXPECT_TRUE(contains(error_message(r), "2099-01-01"));
  EXPECT_TRUE(contains(error_message(r), "2021-10-01"));
  EXPECT_TRUE(contains(error_message(r), "2024-12-01"));
  EXPECT_EQ(r[http::field::content_type], "application/json; charset=utf-8");
  EXPECT_EQ(status(post("/api/hubs/chat/:send?api-version=", "x", "text/plain")), 400u);
  EXPECT_EQ(status(post("/api/hubs/chat/:send?api-version=2024-12-01&api-version=2023-07-01", "x",
                        "text/plain")),
            400u);
  EXPECT_EQ(status(post("/api/hubs/chat/:send?api-version=2024-12-01&api-version=2024-12-01", "x",
                        "text/plain")),
            202u);
}

TEST_F(RoutingTest, UnknownRoutesAre404Json) {
  for (const char* target :
       {"/api/hubs", "/api/hubs/chat", "/api/hubs/chat/:sendx", "/api/hubs/chat/nothing",
        "/api/other", "/api/hubs/chat/groups/g/connections/c/extra", "/api/hubs//:send",
        "/api/hubs/chat/users/u/:send/x"}) {
    const Response r = call(verb::post, target);
    EXPECT_EQ(status(r), 404u) << target;
    EXPECT_EQ(error_code(r), "NotFound");
  }
}

TEST_F(RoutingTest, KnownPathWithOtherMethodIs405WithAllow) {
  Response r = call(verb::get, "/api/hubs/chat/:send");
  EXPECT_EQ(status(r), 405u);
  EXPECT_EQ(error_code(r), "MethodNotAllowed");
  EXPECT_EQ(r[http::field::allow], "POST");
  r = call(verb::post, "/api/hubs/chat/groups/g/connections/c");
  EXPECT_EQ(status(r), 405u);
  EXPECT_EQ(r[http::field::allow], "DELETE, PUT");
  r = call(verb::get, "/api/hubs/chat/users/u");
  EXPECT_EQ(r[http::field::allow], "HEAD");
}

TEST_F(RoutingTest, InvalidHubNamesAre400) {
  for (const char* hub : {"1chat", "_x", "ch%20at", "ch-at", "%C3%A9"}) {
    const Response r = post(std::string("/api/hubs/") + hub + "/:send", "x", "text/plain");
    EXPECT_EQ(status(r), 400u) << hub;
    EXPECT_TRUE(contains(error_message(r), "hub")) << hub;
  }
  EXPECT_EQ(status(post("/api/hubs/" + std::string(129, 'a') + "/:send", "x", "text/plain")), 400u);
  EXPECT_EQ(status(post("/api/hubs/a_b%60,.%5B%5D/:send", "x", "text/plain")), 202u);
}

TEST_F(RoutingTest, MalformedEscapesAre400) {
  EXPECT_EQ(status(post("/api/hubs/chat/users/a%zz/:send", "x", "text/plain")), 400u);
  EXPECT_EQ(status(post("/api/hubs/chat/users/a%2/:send", "x", "text/plain")), 400u);
  EXPECT_EQ(status(post("/api/hubs/chat/:send?filter=%zz", "x", "text/plain")), 400u);
}

TEST_F(RoutingTest, LiteralSegmentsMayBeEncoded) {
  auto a = connect("a");
  EXPECT_EQ(status(post("/api/hubs/chat/%3Asend", "x", "text/plain")), 202u);
  EXPECT_EQ(a->frames().size(), 1u);
}

TEST_F(RoutingTest, TrailingSlashIsTolerated) {
  EXPECT_EQ(status(call(verb::head, "/api/hubs/chat/users/u/")), 404u);
  EXPECT_EQ(status(post("/api/hubs/chat/:send/", "x", "text/plain")), 202u);
}

TEST_F(RoutingTest, ResponsesKeepTheConnectionAliveAsTheRequestAsks) {
  Request request{verb::head, "/api/hubs/chat/users/u", 11};
  request.set(http::field::host, kHost);
  request.set(http::field::authorization, bearer("http://localhost:8080/api/hubs/chat/users/u"));
  request.keep_alive(false);
  EXPECT_FALSE(api().handle(request, kNow).keep_alive());
  request.keep_alive(true);
  EXPECT_TRUE(api().handle(request, kNow).keep_alive());
}

TEST(QueryTest, DecodesOnceWithPlusAsSpaceAndRepeatedKeys) {
  const Query q = Query::parse("a=1&excluded=x%2By&excluded=p+q&&Flag&b=%252F");
  EXPECT_EQ(q.single("A"), "1");
  EXPECT_EQ(q.all("excluded"), (std::vector<std::string>{"x+y", "p q"}));
  EXPECT_EQ(q.single("flag"), "");
  EXPECT_EQ(q.single("b"), "%2F");
  EXPECT_EQ(q.single("missing"), std::nullopt);
}

TEST(QueryTest, Integers) {
  const Query q = Query::parse("n=42&neg=-3&bad=4x&big=123456789012345678901");
  EXPECT_EQ(q.integer("n", 0, 100), 42);
  EXPECT_EQ(q.integer("neg", -5, 5), -3);
  EXPECT_EQ(q.integer("none", 0, 1), std::nullopt);
  EXPECT_THROW(q.integer("bad", 0, 100), ApiError);
  EXPECT_THROW(q.integer("big", 0, 100), ApiError);
  EXPECT_THROW(q.integer("n", 0, 10), ApiError);
}

TEST(RouterTest, SplitApiPath) {
  EXPECT_EQ(split_api_path("/api/a/b/"), (std::vector<std::string_view>{"a", "b"}));
  EXPECT_EQ(split_api_path("/other/a"), std::nullopt);
  EXPECT_EQ(split_api_path("/api/a//b"), std::nullopt);
}

TEST(VersionsTest, LatestIsSupported) {
  EXPECT_TRUE(is_supported_api_version(kLatestApiVersion));
  EXPECT_FALSE(is_supported_api_version("2024-12-01 "));
}

}  // namespace
}  // namespace wps::api::test

namespace wps::api::test {
namespace {

TEST_F(RoutingTest, HealthNeedsNoAuthentication) {
  for (auto method : {verb::get, verb::head}) {
    const Response r = send({method, "/api/health?api-version=whatever", {}, std::nullopt, ""});
    EXPECT_EQ(status(r), 200u);
    EXPECT_TRUE(r.body().empty());
  }
  EXPECT_EQ(status(send({verb::post, "/api/health", {}, std::nullopt, ""})), 405u);
}

}  // namespace
}  // namespace wps::api::test
