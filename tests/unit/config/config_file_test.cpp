// load_config() with a JSON config file: locating it, syntax, unknown keys, types, hubs and
// event handlers.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
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
using ::testing::StartsWith;
using Env = std::map<std::string, std::string>;
using Args = std::vector<std::string>;

LoadResult load_file(const std::string& json, const Args& extra = {}, const Env& env = {}) {
  const TempFile file(json);
  Args args = {"--config", file.path()};
  args.insert(args.end(), extra.begin(), extra.end());
  return load_config(args, env);
}

Config file_ok(const std::string& json, const Args& extra = {}, const Env& env = {}) {
  LoadResult r = load_file(json, extra, env);
  EXPECT_TRUE(r.error.empty()) << r.error;
  if (!r.config) {
    ADD_FAILURE() << "no config";
    return Config{};
  }
  return *r.config;
}

std::string file_error(const std::string& json) {
  LoadResult r = load_file(json);
  EXPECT_FALSE(r.config.has_value()) << "expected an error";
  return r.error;
}

TEST(ConfigFile, GivenByFlagOrEnvironmentFlagWins) {
  const TempFile a(R"({"port": 1})");
  const TempFile b(R"({"port": 2})");
  LoadResult r = load_config({"--config", a.path()}, {});
  ASSERT_TRUE(r.config) << r.error;
  EXPECT_EQ(r.config->port, 1);
  EXPECT_EQ(r.config_file, a.path());

  r = load_config({}, {{"WPS_CONFIG", b.path()}});
  ASSERT_TRUE(r.config) << r.error;
  EXPECT_EQ(r.config->port, 2);
  EXPECT_EQ(r.config_file, b.path());

  r = load_config({"--config=" + a.path()}, {{"WPS_CONFIG", b.path()}});
  ASSERT_TRUE(r.config) << r.error;
  EXPECT_EQ(r.config->port, 1);
  EXPECT_EQ(r.config_file, a.path());
}

TEST(ConfigFile, MissingOrUnreadableFileNamesTheSource) {
  const std::string missing = "/nonexistent/wps-config.json";
  EXPECT_EQ(load_config({"--config", missing}, {}).error,
            "--config: cannot read '" + missing + "': No such file or directory");
  EXPECT_EQ(load_config({}, {{"WPS_CONFIG", missing}}).error,
            "WPS_CONFIG: cannot read '" + missing + "': No such file or directory");
  const std::string dir = std::filesystem::temp_directory_path().string();
  EXPECT_EQ(load_config({"--config", dir}, {}).error,
            "--config: cannot read '" + dir + "': it is a directory");
  EXPECT_EQ(load_config({"--config="}, {}).error, "--config: the file name must not be empty");
  EXPECT_EQ(load_config({}, {{"WPS_CONFIG", ""}}).error,
            "WPS_CONFIG: the file name must not be empty");
}

TEST(ConfigFile, CommentsAndTrailingCommasAreAllowed) {
  const Config c = file_ok(R"(// development settings
{
  /* where to listen */
  "host": "0.0.0.0",
  "port": 9000, // trailing comma next
  "limits": { "maxConnections": 5, },
})");
  EXPECT_EQ(c.host, "0.0.0.0");
  EXPECT_EQ(c.port, 9000);
  EXPECT_EQ(c.limits.max_connections, 5U);
}

TEST(ConfigFile, EmptyObjectKeepsDefaults) {
  const Config c = file_ok("{}");
  EXPECT_EQ(c.port, 8080);
  EXPECT_EQ(c.primary_key, kDevelopmentAccessKey);
}

TEST(ConfigFile, SyntaxErrorsGiveThePosition) {
  const std::string error = file_error("{\n  \"port\": 80\n  \"host\": \"x\"\n}");
  EXPECT_THAT(error, StartsWith("config file: '"));
  EXPECT_THAT(error, HasSubstr("is not valid JSON at line 3, column 3"));
  EXPECT_THAT(file_error(""), HasSubstr("is not valid JSON"));
  EXPECT_THAT(file_error("{}\n{}"), HasSubstr("is not valid JSON at line 2, column 1: extra data"));
  EXPECT_THAT(file_error("{\"host\": \"\xff\"}"), HasSubstr("is not valid JSON"));
  file_ok("{}\n  // trailing comment\n\n");
}

TEST(ConfigFile, RootMustBeAnObject) {
  EXPECT_EQ(file_error("[]"), "config file: (top level): expected an object, got an array");
}

TEST(ConfigFile, UnknownKeysAnywhereAreErrorsNamingThePath) {
  EXPECT_EQ(file_error(R"({"prot": 1})"), "config file: unknown setting 'prot'");
  EXPECT_EQ(file_error(R"({"Port": 1})"), "config file: unknown setting 'Port'");
  EXPECT_EQ(file_error(R"({"limits": {"maxMesageBytes": 1}})"),
            "config file: unknown setting 'limits.maxMesageBytes'");
  EXPECT_EQ(file_error(R"({"limits.maxMessageBytes": 1})"),
            "config file: unknown setting 'limits.maxMessageBytes'");
  EXPECT_EQ(file_error(R"({"limits": {"host": "x"}})"),
            "config file: unknown setting 'limits.host'");
  EXPECT_EQ(file_error(R"({"hubs": {"chat": {"allowAnonymus": true}}})"),
            "config file: unknown setting 'hubs.chat.allowAnonymus'");
  EXPECT_EQ(file_error(R"({"hubs": {"_default": {"EventHandlers": []}}})"),
            "config file: unknown setting 'hubs._default.EventHandlers'");
  EXPECT_EQ(
      file_error(
          R"({"hubs": {"chat": {"eventHandlers": [{"urlTemplate": "http://x", "auth": {}}]}}})"),
      "config file: unknown setting 'hubs.chat.eventHandlers[0].auth'");
}

TEST(ConfigFile, WrongTypesNameTheSetting) {
  EXPECT_EQ(file_error(R"({"port": "8080"})"),
            "config file: port: expected a whole number, got a string");
  EXPECT_EQ(file_error(R"({"port": 80.5})"),
            "config file: port: expected a whole number, got 8.05E1");
  EXPECT_EQ(file_error(R"({"port": 70000})"), "config file: port: 70000 is not a port (0..65535)");
  EXPECT_EQ(file_error(R"({"host": 1})"), "config file: host: expected a string, got a number");
  EXPECT_EQ(file_error(R"({"audienceIgnoreHost": "true"})"),
            "config file: audienceIgnoreHost: expected true or false, got a string");
  EXPECT_EQ(file_error(R"({"limits": []})"),
            "config file: limits: expected an object, got an array");
  EXPECT_EQ(file_error(R"({"hubs": {"chat": []}})"),
            "config file: hubs.chat: expected an object, got an array");
  EXPECT_EQ(file_error(R"({"hubs": {"chat": {"eventHandlers": {}}}})"),
            "config file: hubs.chat.eventHandlers: expected an array, got an object");
  EXPECT_EQ(file_error(R"({"limits": {"maxConnections": -3}})"),
            "config file: limits.maxConnections: -3 is out of range (0 or more)");
  EXPECT_EQ(file_error(R"({"limits": {"keepAliveIntervalMs": 500}})"),
            "config file: limits.keepAliveIntervalMs: 500 is out of range (1000..120000)");
}

TEST(ConfigFile, SecondaryKeyNullMeansNone) {
  EXPECT_FALSE(file_ok(R"({"secondaryAccessKey": null})").secondary_key);
  EXPECT_EQ(file_ok(R"({"secondaryAccessKey": "second"})").secondary_key, "second");
}

TEST(ConfigFile, AllTopLevelSettings) {
  const Config c = file_ok(R"({
    "host": "::", "port": 0, "accessKey": "primary-key", "secondaryAccessKey": "secondary-key",
    "allowDefaultKeyOnPublicAddress": true, "publicOrigin": "https://ps.example.com/",
    "audienceIgnoreHost": true, "threads": 4, "logLevel": "TRACE"
  })");
  EXPECT_EQ(c.host, "::");
  EXPECT_EQ(c.port, 0);
  EXPECT_EQ(c.primary_key, "primary-key");
  EXPECT_EQ(c.secondary_key, "secondary-key");
  EXPECT_TRUE(c.allow_default_key_on_public_address);
  EXPECT_EQ(c.public_origin, "https://ps.example.com");
  EXPECT_TRUE(c.audience_ignore_host);
  EXPECT_EQ(c.threads, 4U);
  EXPECT_EQ(c.log_level, "trace");
}

// ---------------------------------------------------------------------------------------------
// Hubs

TEST(ConfigFile, HubNamesAreStoredLowerCased) {
  const Config c = file_ok(R"({"hubs": {"Chat": {"allowAnonymous": true}, "a_B.c`,[1]": {}}})");
  ASSERT_EQ(c.hubs.size(), 2U);
  ASSERT_TRUE(c.hubs.contains("chat"));
  EXPECT_TRUE(c.hubs.at("chat").allow_anonymous);
  EXPECT_TRUE(c.hubs.contains("a_b.c`,[1]"));
  EXPECT_TRUE(c.hub_settings("chat").allow_anonymous);
}

TEST(ConfigFile, HubNamesThatDifferOnlyInCaseAreDuplicates) {
  EXPECT_EQ(file_error(R"({"hubs": {"Chat": {}, "CHAT": {}}})"),
            "config file: hubs.CHAT: duplicate hub: hub names are case-insensitive and 'Chat' is "
            "already listed");
}

TEST(ConfigFile, InvalidHubNames) {
  for (const std::string& name : std::vector<std::string>{
           "1chat", "chat-room", "", "_other", "_Default", "ch at", std::string(129, 'a')}) {
    SCOPED_TRACE(name);
    EXPECT_THAT(file_error(R"({"hubs": {")" + name + R"(": {}}})"),
                StartsWith("config file: hubs." + name + ": '"));
  }
  EXPECT_TRUE(file_ok(R"({"hubs": {")" + std::string(128, 'a') + R"(": {}}})").hubs.size() == 1);
}

TEST(ConfigFile, DefaultHubAppliesToUnlistedHubs) {
  const Config c = file_ok(R"({"hubs": {
    "_default": {"allowAnonymous": true,
                 "eventHandlers": [{"urlTemplate": "http://up/{hub}/{event}",
                                    "systemEvents": ["connect"], "userEventPattern": "*"}]},
    "secure": {"allowAnonymous": false}
  }})");
  EXPECT_TRUE(c.default_hub.allow_anonymous);
  EXPECT_TRUE(c.hub_settings("other").allow_anonymous);
  EXPECT_FALSE(c.hubs.contains("_default"));
  ASSERT_EQ(c.hub_settings("other").event_handlers.size(), 1U);
  // A listed hub takes the fields it does not set from _default.
  EXPECT_FALSE(c.hub_settings("secure").allow_anonymous);
  ASSERT_EQ(c.hub_settings("secure").event_handlers.size(), 1U);
  EXPECT_EQ(c.hub_settings("secure").event_handlers[0].url_template, "http://up/{hub}/{event}");
}

TEST(ConfigFile, ListedHubEventHandlersReplaceTheDefaultOnes) {
  const Config c = file_ok(R"({"hubs": {
    "_default": {"eventHandlers": [{"urlTemplate": "http://default"}]},
    "chat": {"eventHandlers": [{"urlTemplate": "https://chat/{event}"}]},
    "quiet": {"eventHandlers": []}
  }})");
  ASSERT_EQ(c.hub_settings("chat").event_handlers.size(), 1U);
  EXPECT_EQ(c.hub_settings("chat").event_handlers[0].url_template, "https://chat/{event}");
  EXPECT_TRUE(c.hub_settings("quiet").event_handlers.empty());
}

TEST(ConfigFile, AllowAnonymousFromEnvOrFlagReachesHubsThatDoNotSetIt) {
  const std::string json = R"({"hubs": {"open": {}, "closed": {"allowAnonymous": false},
                                        "_default": {"allowAnonymous": false}}})";
  for (const auto& [args, env] : std::vector<std::pair<Args, Env>>{
           {{"--allow-anonymous"}, {}}, {{}, {{"WPS_ALLOW_ANONYMOUS", "yes"}}}}) {
    const Config c = file_ok(json, args, env);
    EXPECT_TRUE(c.default_hub.allow_anonymous);
    EXPECT_TRUE(c.hub_settings("open").allow_anonymous);
    EXPECT_TRUE(c.hub_settings("unlisted").allow_anonymous);
    EXPECT_FALSE(c.hub_settings("closed").allow_anonymous);
  }
  // And the flag beats the environment for the default hub.
  EXPECT_FALSE(file_ok(json, {"--allow-anonymous=false"}, {{"WPS_ALLOW_ANONYMOUS", "1"}})
                   .hub_settings("open")
                   .allow_anonymous);
}

TEST(ConfigFile, EventHandlerFields) {
  const Config c = file_ok(R"({"hubs": {"chat": {"eventHandlers": [
    {"urlTemplate": "http://localhost:7071/events/{hub}/{event}",
     "systemEvents": ["connect", "Connected", "disconnected", "connect"],
     "userEventPattern": "message, join"},
    {"urlTemplate": "HTTPS://{hub}.example.com/x?e={event}"}
  ]}}})");
  const auto& handlers = c.hub_settings("chat").event_handlers;
  ASSERT_EQ(handlers.size(), 2U);
  EXPECT_EQ(handlers[0].url_template, "http://localhost:7071/events/{hub}/{event}");
  EXPECT_THAT(handlers[0].system_events, ElementsAre("connect", "connected", "disconnected"));
  EXPECT_EQ(handlers[0].user_event_pattern, "message, join");
  EXPECT_TRUE(handlers[1].system_events.empty());
  EXPECT_EQ(handlers[1].user_event_pattern, "");
}

TEST(ConfigFile, InvalidEventHandlersNameTheField) {
  const auto handler_error = [](const std::string& handler) {
    return file_error(R"({"hubs": {"chat": {"eventHandlers": [{"urlTemplate": "http://ok"}, )" +
                      handler + "]}}}");
  };
  const std::string at = "config file: hubs.chat.eventHandlers[1]";
  EXPECT_EQ(handler_error(R"({"systemEvents": []})"), at + ": missing urlTemplate");
  EXPECT_EQ(handler_error(R"({"urlTemplate": "ftp://x"})"),
            at + ".urlTemplate: 'ftp://x' is not an absolute http:// or https:// URL");
  EXPECT_EQ(handler_error(R"({"urlTemplate": "/events"})"),
            at + ".urlTemplate: '/events' is not an absolute http:// or https:// URL");
  EXPECT_EQ(handler_error(R"({"urlTemplate": "http:///events"})"),
            at + ".urlTemplate: 'http:///events' has no host");
  EXPECT_EQ(handler_error(R"({"urlTemplate": "http://x/{hub}/{evnt}"})"),
            at + ".urlTemplate: 'http://x/{hub}/{evnt}' has an unknown placeholder {evnt} (only "
                 "{hub} and {event})");
  EXPECT_EQ(handler_error(R"({"urlTemplate": "http://x/{hub"})"),
            at + ".urlTemplate: 'http://x/{hub' has an unmatched '{'");
  EXPECT_EQ(handler_error(R"({"urlTemplate": ""})"), at + ".urlTemplate: must not be empty");
  EXPECT_EQ(handler_error(R"({"urlTemplate": "http://x", "systemEvents": ["connect", "message"]})"),
            at + ".systemEvents[1]: 'message' is not a system event "
                 "(connect|connected|disconnected)");
  EXPECT_EQ(handler_error(R"({"urlTemplate": "http://x", "systemEvents": "connect"})"),
            at + ".systemEvents: expected an array, got a string");
  EXPECT_EQ(handler_error(R"({"urlTemplate": "http://x", "userEventPattern": "a,,b"})"),
            at + ".userEventPattern: 'a,,b' has an empty event name (expected *, or names "
                 "separated by ',')");
  EXPECT_EQ(handler_error(R"("http://x")"), at + ": expected an object, got a string");
}

TEST(ConfigFile, FileValuesAreOverriddenByEnvironmentAndFlags) {
  const std::string json = R"({"host": "file", "limits": {"maxConnections": 10}})";
  EXPECT_EQ(file_ok(json).limits.max_connections, 10U);
  EXPECT_EQ(file_ok(json, {}, {{"WPS_MAX_CONNECTIONS", "20"}}).limits.max_connections, 20U);
  EXPECT_EQ(file_ok(json, {"--max-connections", "30"}, {{"WPS_MAX_CONNECTIONS", "20"}})
                .limits.max_connections,
            30U);
  EXPECT_EQ(file_ok(json, {}, {{"WPS_MAX_CONNECTIONS", "20"}}).host, "file");
}

TEST(ConfigFile, EarlierSourcesAreNotConsultedForErrorsOverridden) {
  // A valid flag cannot rescue an invalid file value: every source is checked.
  EXPECT_EQ(load_file(R"({"port": 70000})", {"--port", "1"}).error,
            "config file: port: 70000 is not a port (0..65535)");
}

}  // namespace
}  // namespace wps::config

namespace wps::config {
namespace {

TEST(ConfigFile, DuplicateKeysAreErrorsNamingThePath) {
  EXPECT_EQ(file_error(R"({"port": 1, "port": 2})"), "config file: duplicate key 'port'");
  EXPECT_EQ(file_error(R"({"limits": {"maxConnections": 1, "maxConnections": 1}})"),
            "config file: duplicate key 'limits.maxConnections'");
  EXPECT_EQ(file_error(R"({"hubs": {"chat": {"eventHandlers": [{"urlTemplate": "http://a"},
            {"urlTemplate": "http://a", "systemEvents": [], "urlTemplate": "http://b"}]}}})"),
            "config file: duplicate key 'hubs.chat.eventHandlers[1].urlTemplate'");
  // The same key in different objects is fine.
  EXPECT_EQ(file_ok(R"({"hubs": {"a": {"allowAnonymous": true}, "b": {"allowAnonymous": false}}})")
                .hubs.size(),
            2U);
}

}  // namespace
}  // namespace wps::config
