// load_config() with Microsoft's Web PubSub emulator's appsettings.json (spec
// microsoft-emulator.md §3): detected by --config, or named by --emulator-config; what each key
// becomes; keys the server does not support are refused by name.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "config/loader.hpp"
#include "temp_file.hpp"

namespace wps::config {
namespace {

using test_support::TempFile;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Env = std::map<std::string, std::string>;
using Args = std::vector<std::string>;

LoadResult load(const std::string& json, const std::string& flag = "--config",
                const Args& extra = {}, const Env& env = {}) {
  const TempFile file(json);
  Args args = {flag, file.path()};
  args.insert(args.end(), extra.begin(), extra.end());
  return load_config(args, env);
}

Config ok(const std::string& json, const std::string& flag = "--config", const Args& extra = {},
          const Env& env = {}) {
  LoadResult r = load(json, flag, extra, env);
  EXPECT_TRUE(r.error.empty()) << r.error;
  EXPECT_TRUE(r.emulator_format);
  return r.config ? *r.config : Config{};
}

std::string error(const std::string& json, const std::string& flag = "--config") {
  LoadResult r = load(json, flag);
  EXPECT_FALSE(r.config.has_value()) << "expected an error";
  return r.error;
}

// The "HTTP lifecycle notifications" example of the emulator's README, as written there.
constexpr const char* kReadmeExample = R"({
  "WebPubSub": {
    "Hubs": {
      "chat": {
        "EventHandlers": [{
          "UrlTemplate": "http://localhost:7071/events/{hub}/{event}",
          "SystemEvents": ["connect", "connected", "disconnected"],
          "EventPattern": "*"
        }]
      }
    }
  }
})";

TEST(EmulatorConfig, TheReadmeExampleIsDetectedAndGivesTheHandler) {
  const Config c = ok(kReadmeExample);
  ASSERT_TRUE(c.hubs.contains("chat"));
  const auto& handlers = c.hub_settings("chat").event_handlers;
  ASSERT_EQ(handlers.size(), 1U);
  EXPECT_EQ(handlers[0].url_template, "http://localhost:7071/events/{hub}/{event}");
  EXPECT_THAT(handlers[0].system_events, ElementsAre("connect", "connected", "disconnected"));
  EXPECT_EQ(handlers[0].user_event_pattern, "*");
  EXPECT_FALSE(c.hub_settings("chat").allow_anonymous);
  // What the emulator defaults to.
  EXPECT_EQ(c.host, "localhost");
  EXPECT_EQ(c.port, 8080);
  EXPECT_TRUE(c.uses_development_key());
  EXPECT_FALSE(c.allow_unvalidated_entra_tokens);
}

TEST(EmulatorConfig, TheEmulatorsOwnAppsettingsAndEveryKeyItReads) {
  // The file the emulator ships (Urls, Logging) is detected too.
  const Config shipped = ok(R"({
    "Urls": "http://localhost:8080",
    "Logging": { "LogLevel": { "Default": "Information", "Microsoft.AspNetCore": "Warning" } }
  })");
  EXPECT_EQ(shipped.host, "localhost");
  EXPECT_EQ(shipped.port, 8080);
  EXPECT_EQ(shipped.log_level, "info");

  const Config c = ok(R"({
    // comments, as ASP.NET allows
    "Urls": "http://+:9090/",
    "AllowedHosts": "*",
    "Logging": { "LogLevel": { "Default": "Debug" }, "Console": { "FormatterName": "simple" } },
    "WebPubSub": {
      "AccessKey": "custom-emulator-access-key-1234567890",
      "AllowUnvalidatedEntraTokens": "True",
      "Hubs": {
        "_default": { "EventHandlers": [ { "UrlTemplate": "http://localhost:3000/{event}" } ] },
        "Sample_Chat": {
          "EventHandlers": [
            { "urlTemplate": "http://localhost:8080/eventhandler", "systemEvents": ["Connected"],
              "eventPattern": "broadcast" },
            { "UrlTemplate": "https://localhost:8443/other", "EventPattern": null }
          ]
        }
      }
    },
  })");
  EXPECT_EQ(c.host, "0.0.0.0");
  EXPECT_EQ(c.port, 9090);
  EXPECT_FALSE(c.tls_self_signed);
  EXPECT_EQ(c.log_level, "debug");
  EXPECT_EQ(c.primary_key, "custom-emulator-access-key-1234567890");
  EXPECT_TRUE(c.allow_unvalidated_entra_tokens);
  ASSERT_EQ(c.default_hub.event_handlers.size(), 1U);
  EXPECT_TRUE(c.default_hub.event_handlers[0].system_events.empty());
  EXPECT_EQ(c.default_hub.event_handlers[0].user_event_pattern, "");
  ASSERT_TRUE(c.hubs.contains("sample_chat"));  // hub names are case-insensitive
  const auto& handlers = c.hub_settings("sample_chat").event_handlers;
  ASSERT_EQ(handlers.size(), 2U);
  EXPECT_THAT(handlers[0].system_events, ElementsAre("connected"));
  EXPECT_EQ(handlers[0].user_event_pattern, "broadcast");
  EXPECT_EQ(handlers[1].url_template, "https://localhost:8443/other");
  EXPECT_EQ(handlers[1].user_event_pattern, "");
}

TEST(EmulatorConfig, UrlsBecomeHostPortAndTls) {
  EXPECT_EQ(ok(R"({"Urls": "http://localhost:8081"})").port, 8081);
  const Config https = ok(R"({"Urls": "https://localhost:8443"})");
  EXPECT_EQ(https.port, 8443);
  EXPECT_TRUE(https.tls_self_signed);
  EXPECT_EQ(ok(R"({"Urls": "http://[::1]:7000"})").host, "::1");
  EXPECT_EQ(ok(R"({"Urls": "http://127.0.0.1"})").port, 80);
  EXPECT_EQ(ok(R"({"Urls": "http://*:0"})").host, "0.0.0.0");
  EXPECT_THAT(error(R"({"Urls": "http://localhost:1;http://localhost:2"})"),
              HasSubstr("several listen URLs"));
  EXPECT_THAT(error(R"({"Urls": "ftp://localhost:1"})"), HasSubstr("Urls"));
  EXPECT_THAT(error(R"({"Urls": "http://localhost:99999"})"), HasSubstr("port"));
  EXPECT_THAT(error(R"({"Urls": "http://localhost:80/app"})"), HasSubstr("no path"));
}

TEST(EmulatorConfig, UnsupportedKeysAreRefusedByName) {
  const std::string listeners = error(R"({"WebPubSub": {"Hubs": {"chat": {
      "EventListeners": [{"EventNameFilter": {"SystemEvents": ["connected"]},
                          "EventHubEndpoint": {"FullyQualifiedNamespace": "x.servicebus.windows.net",
                                               "EventHubName": "h"}}]}}}})");
  EXPECT_THAT(listeners, HasSubstr("WebPubSub:Hubs:chat:EventListeners"));
  EXPECT_THAT(listeners, HasSubstr("not supported"));

  const std::string auth = error(R"({"WebPubSub": {"Hubs": {"chat": {"EventHandlers": [
      {"UrlTemplate": "http://localhost:7071/x", "Auth": {"Type": "None"}}]}}}})");
  EXPECT_THAT(auth, HasSubstr("WebPubSub:Hubs:chat:EventHandlers:0:Auth"));
  EXPECT_THAT(auth, HasSubstr("not supported"));

  EXPECT_THAT(error(R"({"WebPubSub": {"Tunnel": true}})"), HasSubstr("WebPubSub:Tunnel"));
  EXPECT_THAT(error(R"({"Urls": "http://localhost:1", "Kestrel": {}})"),
              HasSubstr("Kestrel: unknown setting"));
  EXPECT_THAT(error(R"({"AllowedHosts": "example.com"})"), HasSubstr("AllowedHosts"));
}

TEST(EmulatorConfig, BadValuesNameTheEmulatorsKey) {
  EXPECT_THAT(error(R"({"WebPubSub": {"Hubs": {"chat": {"EventHandlers": [
      {"UrlTemplate": "tunnel://chat"}]}}}})"),
              HasSubstr("WebPubSub:Hubs:chat:EventHandlers:0:UrlTemplate"));
  EXPECT_THAT(error(R"({"WebPubSub": {"Hubs": {"chat": {"EventHandlers": [
      {"SystemEvents": ["connected"]}]}}}})"),
              HasSubstr("missing UrlTemplate"));
  EXPECT_THAT(error(R"({"WebPubSub": {"Hubs": {"chat": {"EventHandlers": [
      {"UrlTemplate": "http://h/x", "SystemEvents": ["joined"]}]}}}})"),
              HasSubstr("SystemEvents:0"));
  EXPECT_THAT(error(R"({"WebPubSub": {"AllowUnvalidatedEntraTokens": "maybe"}})"),
              HasSubstr("WebPubSub:AllowUnvalidatedEntraTokens"));
  EXPECT_THAT(error(R"({"WebPubSub": {"AccessKey": "a;b"}})"), HasSubstr("WebPubSub:AccessKey"));
  EXPECT_THAT(error(R"({"WebPubSub": {"Hubs": {"1chat": {}}}})"),
              HasSubstr("WebPubSub:Hubs:1chat"));
  EXPECT_THAT(error(R"({"WebPubSub": {"Hubs": {"chat": {}, "Chat": {}}}})"),
              HasSubstr("case-insensitive"));
  EXPECT_THAT(error(R"({"Logging": {"LogLevel": {"Default": "Loud"}}})"),
              HasSubstr("Logging:LogLevel:Default"));
  EXPECT_THAT(error(R"({"WebPubSub": []})"), HasSubstr("expected an object"));
}

TEST(EmulatorConfig, EmulatorConfigFlagAndEnvironment) {
  // --emulator-config reads even a file with none of the telling keys in the emulator's format.
  const Config empty = ok("{}", "--emulator-config");
  EXPECT_TRUE(empty.hubs.empty());
  // ...and refuses this server's own keys there.
  EXPECT_THAT(error(R"({"port": 1})", "--emulator-config"), HasSubstr("port: unknown setting"));
  // Our own format is not mistaken for the emulator's.
  const LoadResult own = load(R"({"port": 1})");
  EXPECT_FALSE(own.emulator_format);
  EXPECT_EQ(own.config->port, 1);

  const TempFile file(kReadmeExample);
  const LoadResult by_env = load_config({}, {{"WPS_EMULATOR_CONFIG", file.path()}});
  ASSERT_TRUE(by_env.config) << by_env.error;
  EXPECT_TRUE(by_env.emulator_format);
  EXPECT_EQ(by_env.config_file, file.path());
  EXPECT_THAT(
      load_config({}, {{"WPS_EMULATOR_CONFIG", file.path()}, {"WPS_CONFIG", file.path()}}).error,
      HasSubstr("not both"));
  EXPECT_THAT(load_config({"--config", file.path(), "--emulator-config", file.path()}, {}).error,
              HasSubstr("not both"));
}

TEST(EmulatorConfig, EnvironmentAndFlagsOverrideTheFile) {
  const Config c = ok(R"({"Urls": "http://localhost:8081",
                          "WebPubSub": {"AllowUnvalidatedEntraTokens": true}})",
                      "--config", {"--port", "9000", "--allow-unvalidated-entra-tokens=false"},
                      {{"WPS_ACCESS_KEY", "from-the-environment-0123456789abcdef"}});
  EXPECT_EQ(c.port, 9000);
  EXPECT_FALSE(c.allow_unvalidated_entra_tokens);
  EXPECT_EQ(c.primary_key, "from-the-environment-0123456789abcdef");
}

TEST(EmulatorConfig, EntraSwitchesAndVersionFlag) {
  const LoadResult r = load_config(
      {"--allow-unvalidated-entra-tokens", "--allow-unvalidated-entra-tokens-on-public-address"},
      {});
  ASSERT_TRUE(r.config) << r.error;
  EXPECT_TRUE(r.config->allow_unvalidated_entra_tokens);
  EXPECT_TRUE(r.config->allow_unvalidated_entra_tokens_on_public_address);
  EXPECT_FALSE(load_config({}, {}).config->allow_unvalidated_entra_tokens);
  EXPECT_TRUE(load_config({}, {{"WPS_ALLOW_UNVALIDATED_ENTRA_TOKENS", "1"}})
                  .config->allow_unvalidated_entra_tokens);
  EXPECT_TRUE(load_config({"--version"}, {}).version);
  EXPECT_THAT(load_config({"--version=1"}, {}).error, HasSubstr("--version takes no value"));
  EXPECT_THAT(load_config({"--help"}, {}).help_text, HasSubstr("--allow-unvalidated-entra-tokens"));
  EXPECT_THAT(load_config({"--help"}, {}).help_text, HasSubstr("--emulator-config"));
}

}  // namespace
}  // namespace wps::config
