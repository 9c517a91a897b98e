// The pure parts: response parsing, cookies, origins, URL templates, handler selection.

#include "webhook/responses.hpp"

#include <gtest/gtest.h>

#include "webhook/events.hpp"

namespace wps::webhook {
namespace {

TEST(ConnectResponse, EmptyWhitespaceAndNullAccept) {
  for (std::string_view body : {"", "  \r\n", "null", " null "}) {
    auto parsed = parse_connect_response(body);
    EXPECT_TRUE(parsed.ok) << body;
    EXPECT_FALSE(parsed.user_id);
  }
}

TEST(ConnectResponse, FieldsAndNulls) {
  auto parsed = parse_connect_response(
      R"({"userId":"","groups":[],"roles":null,"subprotocol":"x","other":{"a":1}})");
  ASSERT_TRUE(parsed.ok) << parsed.error;
  EXPECT_EQ(parsed.user_id, "");
  EXPECT_EQ(parsed.groups, std::vector<std::string>{});
  EXPECT_FALSE(parsed.roles);
  EXPECT_EQ(parsed.subprotocol, "x");
}

TEST(ConnectResponse, WrongTypesFail) {
  for (std::string_view body :
       {R"({"userId":1})", R"({"groups":[1]})", R"({"roles":"r"})", R"({"subprotocol":""})",
        R"({"subprotocol":3})", "[]", "\"text\"", "42", "{", "{} x"}) {
    auto parsed = parse_connect_response(body);
    EXPECT_FALSE(parsed.ok) << body;
    EXPECT_FALSE(parsed.error.empty());
  }
}

TEST(UserEventResponse, ContentTypes) {
  auto json = parse_user_event_response("Application/JSON; charset=utf-8", "[1, 2]");
  ASSERT_TRUE(json.ok);
  EXPECT_EQ(json.reply->type, protocol::DataType::json);
  EXPECT_EQ(json.reply->bytes, "[1,2]");
  auto text = parse_user_event_response("text/plain", "hi");
  EXPECT_EQ(text.reply->type, protocol::DataType::text);
  auto binary = parse_user_event_response(std::nullopt, "hi");
  EXPECT_EQ(binary.reply->type, protocol::DataType::binary);
  EXPECT_FALSE(parse_user_event_response("application/xml", "<a/>").ok);
  auto empty = parse_user_event_response("application/xml", "");
  EXPECT_TRUE(empty.ok);
  EXPECT_FALSE(empty.reply);
}

TEST(Cookies, Merge) {
  EXPECT_EQ(merge_cookies("", {"a=1; Path=/", "b = 2"}), "a=1; b=2");
  EXPECT_EQ(merge_cookies("a=1; b=2", {"a=3"}), "a=3; b=2");
  EXPECT_EQ(merge_cookies("a=1; b=2", {"a=x; max-age=0"}), "b=2");
  EXPECT_EQ(merge_cookies("a=1", {"a=x; Max-Age=-1"}), "");
  EXPECT_EQ(merge_cookies("a=1", {"a=x; Max-Age=10"}), "a=x");
  EXPECT_EQ(merge_cookies("a=1", {"garbage", "=v"}), "a=1");
}

TEST(Validation, AllowedOrigin) {
  EXPECT_TRUE(origin_allowed({"*"}, "h"));
  EXPECT_TRUE(origin_allowed({"x, H.example "}, "h.EXAMPLE"));
  EXPECT_TRUE(origin_allowed({"x", "h"}, "h"));
  EXPECT_FALSE(origin_allowed({}, "h"));
  EXPECT_FALSE(origin_allowed({"", "hh"}, "h"));
}

TEST(Events, UrlTemplate) {
  EXPECT_EQ(expand_url_template("http://x/{hub}/{Event}?h={HUB}", "my hub", "a/b"),
            "http://x/my%20hub/a%2Fb?h=my%20hub");
  EXPECT_EQ(expand_url_template("http://x/{other}/{event", "h", "e"), "http://x/{other}/{event");
}

TEST(Events, Patterns) {
  EXPECT_TRUE(user_event_matches("*", "x"));
  EXPECT_TRUE(user_event_matches(" a , B ", "b"));
  EXPECT_TRUE(user_event_matches("Message", "message"));
  EXPECT_FALSE(user_event_matches("", "message"));
  EXPECT_FALSE(user_event_matches("a,b", "c"));
  config::HubSettings hub;
  hub.event_handlers = {{"u1", {"Connect"}, "", {}}, {"u2", {"connect", "connected"}, "*", {}}};
  EXPECT_EQ(select_handler(hub, "connect", false)->url_template, "u1");
  EXPECT_EQ(select_handler(hub, "connected", false)->url_template, "u2");
  EXPECT_EQ(select_handler(hub, "anything", true)->url_template, "u2");
  EXPECT_EQ(select_handler(hub, "disconnected", false), nullptr);
}

TEST(Events, SignatureAndTime) {
  // RFC 4231 test case 2.
  EXPECT_EQ(hmac_sha256_hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(compute_signature("c", "k", std::nullopt), "sha256=" + hmac_sha256_hex("k", "c"));
  EXPECT_EQ(compute_signature("c", "k", std::string("s")),
            "sha256=" + hmac_sha256_hex("k", "c") + ",sha256=" + hmac_sha256_hex("s", "c"));
  EXPECT_EQ(
      utc_timestamp(std::chrono::system_clock::time_point{} + std::chrono::milliseconds(1'500)),
      "1970-01-01T00:00:01.500Z");
}

}  // namespace
}  // namespace wps::webhook
