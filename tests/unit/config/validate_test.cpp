// validate() on configs built in code, and the value checks it shares with the loader.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "config/checks.hpp"
#include "config/loader.hpp"

namespace wps::config {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(Validate, DefaultsAreValid) {
  EXPECT_EQ(validate(Config{}), "");
}

TEST(Validate, SecondaryKeyMayEqualPrimary) {
  Config c;
  c.primary_key = "same-key";
  c.secondary_key = "same-key";
  EXPECT_EQ(validate(c), "");
}

TEST(Validate, NamesTheSetting) {
  Config c;
  c.limits.keep_alive_interval = std::chrono::milliseconds(999);
  EXPECT_EQ(validate(c), "limits.keepAliveIntervalMs: 999 is out of range (1000..120000)");

  c = Config{};
  c.limits.keep_alive_interval = std::chrono::milliseconds(-5);
  EXPECT_EQ(validate(c), "limits.keepAliveIntervalMs: -5 is out of range (1000..120000)");

  c = Config{};
  c.public_origin = "https://x.example/path";
  EXPECT_THAT(validate(c), StartsWith("publicOrigin: 'https://x.example/path' is not an origin"));

  c = Config{};
  c.primary_key = "";
  EXPECT_EQ(validate(c), "accessKey: must not be empty");

  c = Config{};
  c.secondary_key = "a;b";
  EXPECT_EQ(validate(c), "secondaryAccessKey: must not contain ';'");

  c = Config{};
  c.threads = 1000;
  EXPECT_EQ(validate(c), "threads: 1000 is out of range (0..256)");

  c = Config{};
  c.log_level = "INFO";
  EXPECT_EQ(validate(c), "logLevel: 'INFO' is not a log level (trace|debug|info|warn|error)");

  c = Config{};
  c.host = "";
  EXPECT_EQ(validate(c), "host: must not be empty");

  c = Config{};
  c.limits.max_http_header_bytes = 0;
  EXPECT_EQ(validate(c), "limits.maxHttpHeaderBytes: 0 is out of range (at least 1)");

  c = Config{};
  c.limits.clock_skew = std::chrono::seconds(86401);
  EXPECT_EQ(validate(c), "limits.clockSkewSeconds: 86401 is out of range (0..86400)");
}

TEST(Validate, PendingBytesMustHoldTheLargestMessage) {
  Config c;
  c.limits.max_message_bytes = 100;
  c.limits.max_pending_bytes = 100;
  EXPECT_EQ(validate(c), "");
  c.limits.max_pending_bytes = 99;
  EXPECT_THAT(validate(c), StartsWith("limits.maxPendingBytes (99) must be at least "
                                      "limits.maxMessageBytes (100)"));
}

TEST(Validate, Hubs) {
  Config c;
  c.hubs["Chat"] = HubSettings{};
  EXPECT_EQ(validate(c), "hubs.Chat: hub keys must be lower-case");

  c = Config{};
  c.hubs["chat-room"] = HubSettings{};
  EXPECT_THAT(validate(c), StartsWith("hubs.chat-room: 'chat-room' is not a valid hub name"));

  c = Config{};
  c.hubs["chat"].event_handlers.push_back({"http://ok/{event}", {"connected"}, "*", {}});
  EXPECT_EQ(validate(c), "");
  c.hubs["chat"].event_handlers.push_back({"http://ok", {"Connected"}, "", {}});
  EXPECT_EQ(validate(c),
            "hubs.chat.eventHandlers[1].systemEvents[0]: 'Connected' is not a system event "
            "(connect|connected|disconnected)");

  c = Config{};
  c.hubs["chat"].event_handlers.push_back({"http://ok", {}, "", {"joined", "gone"}});
  EXPECT_EQ(validate(c),
            "hubs.chat.eventHandlers[0].groupPresenceEvents.eventNames[1]: 'gone' is not a group "
            "presence event (joined|left)");

  c = Config{};
  c.default_hub.event_handlers.push_back({"ws://x", {}, "", {}});
  EXPECT_EQ(validate(c),
            "hubs._default.eventHandlers[0].urlTemplate: 'ws://x' is not an absolute http:// or "
            "https:// URL");
}

TEST(Checks, PublicOrigin) {
  for (const char* ok :
       {"", "http://a", "https://a.example.com", "https://a:1", "http://a:65535",
        "https://127.0.0.1:8443", "https://[::1]", "https://[::1]:8080", "HTTPS://A.Example"}) {
    EXPECT_EQ(check_public_origin(ok), "") << ok;
  }
  for (const char* bad :
       {"a.example", "ftp://a", "https://", "https://a/", "https://a/b", "https://a?q",
        "https://a#f", "https://u@a", "https://a:", "https://a:65536", "https://a:0", "https://a:x",
        "https://::1", "https://[::1", "https://[::1]x", "https://[zz]", "https://a b",
        "https://:80"}) {
    EXPECT_THAT(check_public_origin(bad), HasSubstr("is not an origin")) << bad;
  }
}

TEST(Checks, HubName) {
  EXPECT_EQ(check_hub_name("a"), "");
  EXPECT_EQ(check_hub_name("Ab9_`,.[]"), "");
  EXPECT_EQ(check_hub_name(std::string(128, 'h')), "");
  EXPECT_NE(check_hub_name(std::string(129, 'h')), "");
  EXPECT_NE(check_hub_name(""), "");
  EXPECT_NE(check_hub_name("9a"), "");
  EXPECT_NE(check_hub_name("a-b"), "");
  EXPECT_NE(check_hub_name("a/b"), "");
  EXPECT_NE(check_hub_name("h\xc3\xa9"), "");
}

TEST(Checks, AccessKey) {
  EXPECT_EQ(check_access_key(kDevelopmentAccessKey), "");
  EXPECT_EQ(check_access_key("x"), "");
  EXPECT_EQ(check_access_key("in ner"), "");
  EXPECT_EQ(check_access_key("\xc3\xa9t\xc3\xa9"), "");
  EXPECT_EQ(check_access_key(""), "must not be empty");
  EXPECT_EQ(check_access_key("x "), "must not have leading or trailing whitespace");
  EXPECT_EQ(check_access_key("\nx"), "must not have leading or trailing whitespace");
  EXPECT_EQ(check_access_key("a;b"), "must not contain ';'");
  EXPECT_EQ(check_access_key("a\x7f"), "must not contain control characters");
}

TEST(Checks, UrlTemplate) {
  EXPECT_EQ(check_url_template("http://localhost:7071/api/{hub}/{event}"), "");
  EXPECT_EQ(check_url_template("https://{hub}.example.com/?e={event}"), "");
  EXPECT_NE(check_url_template("http://x/{hub}}"), "");
  EXPECT_NE(check_url_template("http://x/{}"), "");
  EXPECT_NE(check_url_template("http://x/a b"), "");
  EXPECT_NE(check_url_template("tunnel:///x"), "");
  EXPECT_NE(check_url_template("http://:80/x"), "");
}

TEST(Checks, UserEventPattern) {
  EXPECT_EQ(check_user_event_pattern(""), "");
  EXPECT_EQ(check_user_event_pattern("*"), "");
  EXPECT_EQ(check_user_event_pattern("message, join ,leave"), "");
  EXPECT_NE(check_user_event_pattern(","), "");
  EXPECT_NE(check_user_event_pattern("a,"), "");
  EXPECT_NE(check_user_event_pattern(" "), "");
}

TEST(Checks, QuoteEscapesAndShortens) {
  EXPECT_EQ(quote("a\x01\n"), "'a\\x01\\x0a'");
  EXPECT_EQ(quote(std::string(100, 'x')), "'" + std::string(80, 'x') + "...'");
}

}  // namespace
}  // namespace wps::config
