// load_config(): defaults, precedence of the four sources, flag and environment syntax, errors
// and --help.

#include "config/loader.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "temp_file.hpp"

namespace wps::config {
namespace {

using test_support::TempFile;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using Env = std::map<std::string, std::string>;
using Args = std::vector<std::string>;

Config load_ok(const Args& args, const Env& env = {}) {
  LoadResult r = load_config(args, env);
  EXPECT_TRUE(r.error.empty()) << r.error;
  EXPECT_FALSE(r.help);
  if (!r.config) {
    ADD_FAILURE() << "no config: " << r.error;
    return Config{};
  }
  return *r.config;
}

std::string load_error(const Args& args, const Env& env = {}) {
  LoadResult r = load_config(args, env);
  EXPECT_FALSE(r.config.has_value()) << "expected an error";
  EXPECT_FALSE(r.error.empty());
  return r.error;
}

// A JSON document setting `path` ("a.b.c") to the raw JSON `value`.
std::string json_at(const std::string& path, const std::string& value) {
  std::string open;
  std::string close;
  std::string rest = path;
  while (true) {
    const auto dot = rest.find('.');
    open += "{\"" + rest.substr(0, dot) + "\": ";
    close += "}";
    if (dot == std::string::npos) {
      break;
    }
    rest = rest.substr(dot + 1);
  }
  return open + value + close;
}

// The value of the setting with config-file key `key`, as text.
std::string get(const Config& c, const std::string& key) {
  const auto b = [](bool v) { return std::string(v ? "true" : "false"); };
  if (key == "host")
    return c.host;
  if (key == "port")
    return std::to_string(c.port);
  if (key == "accessKey")
    return c.primary_key;
  if (key == "secondaryAccessKey")
    return c.secondary_key.value_or("(none)");
  if (key == "allowDefaultKeyOnPublicAddress")
    return b(c.allow_default_key_on_public_address);
  if (key == "publicOrigin")
    return c.public_origin;
  if (key == "audienceIgnoreHost")
    return b(c.audience_ignore_host);
  if (key == "threads")
    return std::to_string(c.threads);
  if (key == "logLevel")
    return c.log_level;
  if (key == "hubs._default.allowAnonymous")
    return b(c.default_hub.allow_anonymous);
  const Limits& l = c.limits;
  if (key == "limits.maxMessageBytes")
    return std::to_string(l.max_message_bytes);
  if (key == "limits.maxPendingBytes")
    return std::to_string(l.max_pending_bytes);
  if (key == "limits.maxPendingMessages")
    return std::to_string(l.max_pending_messages);
  if (key == "limits.handshakeTimeoutMs")
    return std::to_string(l.handshake_timeout.count());
  if (key == "limits.keepAliveIntervalMs")
    return std::to_string(l.keep_alive_interval.count());
  if (key == "limits.httpIdleTimeoutMs")
    return std::to_string(l.http_idle_timeout.count());
  if (key == "limits.writeCoalesceWindowMs")
    return std::to_string(l.write_coalesce_window.count());
  if (key == "limits.writeCoalesceMinWrites")
    return std::to_string(l.write_coalesce_min_writes);
  if (key == "limits.maxHttpHeaderBytes")
    return std::to_string(l.max_http_header_bytes);
  if (key == "limits.maxHttpBodyBytes")
    return std::to_string(l.max_http_body_bytes);
  if (key == "limits.maxConnections")
    return std::to_string(l.max_connections);
  if (key == "limits.maxConnectionsPerHub")
    return std::to_string(l.max_connections_per_hub);
  if (key == "limits.maxGroupsPerConnection")
    return std::to_string(l.max_groups_per_connection);
  if (key == "limits.maxConnectionsPerUser")
    return std::to_string(l.max_connections_per_user);
  if (key == "limits.shutdownGraceMs")
    return std::to_string(l.shutdown_grace.count());
  if (key == "limits.clockSkewSeconds")
    return std::to_string(l.clock_skew.count());
  if (key == "limits.eventHandlerAttemptTimeoutMs")
    return std::to_string(l.event_handler_attempt_timeout.count());
  if (key == "limits.eventHandlerRetryDelaysMs") {
    std::string out;
    for (const auto delay : l.event_handler_retry_delays)
      out += (out.empty() ? "" : ",") + std::to_string(delay.count());
    return out;
  }
  if (key == "limits.eventHandlerValidationTimeoutMs")
    return std::to_string(l.event_handler_validation_timeout.count());
  if (key == "limits.eventHandlerValidationRetryMs")
    return std::to_string(l.event_handler_validation_retry.count());
  if (key == "limits.maxEventHandlerResponseBytes")
    return std::to_string(l.max_event_handler_response_bytes);
  ADD_FAILURE() << "test does not know key " << key;
  return {};
}

struct SettingCase {
  std::string flag;  // without "--"
  std::string env;
  std::string key;
  bool is_switch;
  // Three distinct values, for file (raw JSON text), environment and flag.
  std::string file_json;
  std::string file_value;  // as get() shows it
  std::string env_value;
  std::string flag_value;
};

const std::string kKeyA = "fileKey0123456789fileKey0123456789ab";
const std::string kKeyB = "envKey0123456789envKey0123456789abcd";
const std::string kKeyC = "flagKey0123456789flagKey0123456789ab";

// Every setting, with values distinct from each other and from the default.
std::vector<SettingCase> all_settings() {
  return {
      {"host", "WPS_HOST", "host", false, "\"file.example\"", "file.example", "env.example",
       "flag.example"},
      {"port", "WPS_PORT", "port", false, "1001", "1001", "1002", "1003"},
      {"access-key", "WPS_ACCESS_KEY", "accessKey", false, "\"" + kKeyA + "\"", kKeyA, kKeyB,
       kKeyC},
      {"secondary-access-key", "WPS_SECONDARY_ACCESS_KEY", "secondaryAccessKey", false,
       "\"" + kKeyA + "\"", kKeyA, kKeyB, kKeyC},
      {"allow-default-key-on-public-address", "WPS_ALLOW_DEFAULT_KEY_ON_PUBLIC_ADDRESS",
       "allowDefaultKeyOnPublicAddress", true, "true", "true", "false", "true"},
      {"public-origin", "WPS_PUBLIC_ORIGIN", "publicOrigin", false, "\"https://file.example\"",
       "https://file.example", "https://env.example:8443", "http://[::1]:8080"},
      {"audience-ignore-host", "WPS_AUDIENCE_IGNORE_HOST", "audienceIgnoreHost", true, "true",
       "true", "false", "true"},
      {"threads", "WPS_THREADS", "threads", false, "1", "1", "2", "256"},
      {"log-level", "WPS_LOG_LEVEL", "logLevel", false, "\"debug\"", "debug", "warn", "error"},
      {"allow-anonymous", "WPS_ALLOW_ANONYMOUS", "hubs._default.allowAnonymous", true, "true",
       "true", "false", "true"},
      {"max-message-bytes", "WPS_MAX_MESSAGE_BYTES", "limits.maxMessageBytes", false, "1001",
       "1001", "1002", "1003"},
      {"max-pending-bytes", "WPS_MAX_PENDING_BYTES", "limits.maxPendingBytes", false, "2000001",
       "2000001", "2000002", "2000003"},
      {"max-pending-messages", "WPS_MAX_PENDING_MESSAGES", "limits.maxPendingMessages", false, "1",
       "1", "2", "3"},
      {"handshake-timeout-ms", "WPS_HANDSHAKE_TIMEOUT_MS", "limits.handshakeTimeoutMs", false,
       "1001", "1001", "1002", "1003"},
      {"keep-alive-interval-ms", "WPS_KEEP_ALIVE_INTERVAL_MS", "limits.keepAliveIntervalMs", false,
       "1000", "1000", "60000", "120000"},
      {"http-idle-timeout-ms", "WPS_HTTP_IDLE_TIMEOUT_MS", "limits.httpIdleTimeoutMs", false,
       "1001", "1001", "1002", "1003"},
      {"write-coalesce-window-ms", "WPS_WRITE_COALESCE_WINDOW_MS", "limits.writeCoalesceWindowMs",
       false, "0", "0", "20", "1000"},
      {"write-coalesce-min-writes", "WPS_WRITE_COALESCE_MIN_WRITES",
       "limits.writeCoalesceMinWrites", false, "1", "1", "2", "3"},
      {"max-http-header-bytes", "WPS_MAX_HTTP_HEADER_BYTES", "limits.maxHttpHeaderBytes", false,
       "1001", "1001", "1002", "1003"},
      {"max-http-body-bytes", "WPS_MAX_HTTP_BODY_BYTES", "limits.maxHttpBodyBytes", false, "1001",
       "1001", "1002", "1003"},
      {"max-connections", "WPS_MAX_CONNECTIONS", "limits.maxConnections", false, "1", "1", "2",
       "3"},
      {"max-connections-per-hub", "WPS_MAX_CONNECTIONS_PER_HUB", "limits.maxConnectionsPerHub",
       false, "1", "1", "2", "3"},
      {"max-groups-per-connection", "WPS_MAX_GROUPS_PER_CONNECTION",
       "limits.maxGroupsPerConnection", false, "1", "1", "2", "3"},
      {"max-connections-per-user", "WPS_MAX_CONNECTIONS_PER_USER", "limits.maxConnectionsPerUser",
       false, "1", "1", "2", "3"},
      {"shutdown-grace-ms", "WPS_SHUTDOWN_GRACE_MS", "limits.shutdownGraceMs", false, "0", "0",
       "1002", "1003"},
      {"clock-skew-seconds", "WPS_CLOCK_SKEW_SECONDS", "limits.clockSkewSeconds", false, "0", "0",
       "60", "86400"},
      {"event-handler-attempt-timeout-ms", "WPS_EVENT_HANDLER_ATTEMPT_TIMEOUT_MS",
       "limits.eventHandlerAttemptTimeoutMs", false, "1001", "1001", "1002", "1003"},
      {"event-handler-retry-delays-ms", "WPS_EVENT_HANDLER_RETRY_DELAYS_MS",
       "limits.eventHandlerRetryDelaysMs", false, "[100, 200]", "100,200", "0", "1,2,3"},
      {"event-handler-validation-timeout-ms", "WPS_EVENT_HANDLER_VALIDATION_TIMEOUT_MS",
       "limits.eventHandlerValidationTimeoutMs", false, "1001", "1001", "1002", "1003"},
      {"event-handler-validation-retry-ms", "WPS_EVENT_HANDLER_VALIDATION_RETRY_MS",
       "limits.eventHandlerValidationRetryMs", false, "0", "0", "1002", "1003"},
      {"max-event-handler-response-bytes", "WPS_MAX_EVENT_HANDLER_RESPONSE_BYTES",
       "limits.maxEventHandlerResponseBytes", false, "1001", "1001", "1002", "1003"},
  };
}

TEST(LoadConfig, NoSourcesGivesTheBuiltInDefaults) {
  LoadResult r = load_config({}, {});
  ASSERT_TRUE(r.config) << r.error;
  EXPECT_TRUE(r.config_file.empty());
  const Config& c = *r.config;
  const Config d;
  for (const SettingCase& s : all_settings()) {
    EXPECT_EQ(get(c, s.key), get(d, s.key)) << s.key;
  }
  EXPECT_EQ(c.host, "localhost");
  EXPECT_EQ(c.port, 8080);
  EXPECT_EQ(c.primary_key, kDevelopmentAccessKey);
  EXPECT_FALSE(c.secondary_key);
  EXPECT_TRUE(c.uses_development_key());
  EXPECT_TRUE(c.hubs.empty());
  EXPECT_FALSE(c.default_hub.allow_anonymous);
}

TEST(LoadConfig, ValuesDifferFromDefaults) {
  // Guards the precedence test below: each layer must really change something.
  const Config d;
  for (const SettingCase& s : all_settings()) {
    EXPECT_NE(s.file_value, get(d, s.key)) << s.key;
    EXPECT_NE(s.env_value, s.file_value) << s.key;
    EXPECT_NE(s.flag_value, s.env_value) << s.key;
  }
}

TEST(LoadConfig, EachSourceOverridesTheOneBelowForEverySetting) {
  for (const SettingCase& s : all_settings()) {
    SCOPED_TRACE(s.key);
    const TempFile file(json_at(s.key, s.file_json));
    const Args with_file = {"--config", file.path()};
    const Env env = {{s.env, s.env_value}};
    Args with_flag = with_file;
    if (s.is_switch) {
      with_flag.push_back("--" + s.flag);  // bare switch: true
      ASSERT_EQ(s.flag_value, "true");
    } else {
      with_flag.push_back("--" + s.flag);
      with_flag.push_back(s.flag_value);
    }

    EXPECT_EQ(get(load_ok(with_file), s.key), s.file_value);                  // file > default
    EXPECT_EQ(get(load_ok({}, env), s.key), s.env_value);                     // env > default
    EXPECT_EQ(get(load_ok(with_file, env), s.key), s.env_value);              // env > file
    EXPECT_EQ(get(load_ok(with_flag, env), s.key), s.flag_value);             // flag > env
    EXPECT_EQ(get(load_ok({with_flag.begin() + 2, with_flag.end()}), s.key),  // flag > default
              s.flag_value);
    if (!s.is_switch) {
      // --name=value form, too.
      EXPECT_EQ(get(load_ok({"--" + s.flag + "=" + s.flag_value}, env), s.key), s.flag_value);
    }
  }
}

TEST(LoadConfig, SwitchesTakeAnExplicitValueAfterEquals) {
  for (const SettingCase& s : all_settings()) {
    if (!s.is_switch) {
      continue;
    }
    SCOPED_TRACE(s.flag);
    EXPECT_EQ(get(load_ok({"--" + s.flag + "=true"}), s.key), "true");
    EXPECT_EQ(get(load_ok({"--" + s.flag + "=false"}, {{s.env, "true"}}), s.key), "false");
    EXPECT_EQ(get(load_ok({"--" + s.flag + "=0"}, {{s.env, "true"}}), s.key), "false");
  }
}

TEST(LoadConfig, SwitchDoesNotConsumeTheNextArgument) {
  EXPECT_EQ(load_error({"--allow-anonymous", "false"}),
            "unexpected argument #2 (flags start with --; a boolean flag takes its value as "
            "--flag=false)");
  const Config c = load_ok({"--allow-anonymous", "--port", "9"});
  EXPECT_TRUE(c.default_hub.allow_anonymous);
  EXPECT_EQ(c.port, 9);
}

TEST(LoadConfig, EnvironmentBooleans) {
  const std::map<std::string, bool> cases = {{"true", true}, {"false", false}, {"1", true},
                                             {"0", false},   {"yes", true},    {"no", false},
                                             {"TRUE", true}, {"No", false}};
  for (const auto& [text, expected] : cases) {
    SCOPED_TRACE(text);
    const Config c = load_ok({}, {{"WPS_ALLOW_ANONYMOUS", text},
                                  {"WPS_AUDIENCE_IGNORE_HOST", text},
                                  {"WPS_ALLOW_DEFAULT_KEY_ON_PUBLIC_ADDRESS", text}});
    EXPECT_EQ(c.default_hub.allow_anonymous, expected);
    EXPECT_EQ(c.audience_ignore_host, expected);
    EXPECT_EQ(c.allow_default_key_on_public_address, expected);
  }
}

TEST(LoadConfig, LastFlagWins) {
  EXPECT_EQ(load_ok({"--port", "1", "--port=2"}).port, 2);
  EXPECT_FALSE(
      load_ok({"--allow-anonymous", "--allow-anonymous=false"}).default_hub.allow_anonymous);
}

TEST(LoadConfig, PortZeroLetsTheOsChoose) {
  EXPECT_EQ(load_ok({"--port", "0"}).port, 0);
  EXPECT_EQ(load_ok({}, {{"WPS_PORT", "0"}}).port, 0);
  EXPECT_EQ(load_ok({"--port", "65535"}).port, 65535);
}

TEST(LoadConfig, InvalidPortNamesTheSource) {
  EXPECT_EQ(load_error({"--port", "70000"}), "--port: '70000' is not a port (0..65535)");
  EXPECT_EQ(load_error({"--port=70000"}), "--port: '70000' is not a port (0..65535)");
  EXPECT_EQ(load_error({}, {{"WPS_PORT", "70000"}}), "WPS_PORT: '70000' is not a port (0..65535)");
  EXPECT_EQ(load_error({}, {{"WPS_PORT", "-1"}}), "WPS_PORT: '-1' is not a port (0..65535)");
  EXPECT_EQ(load_error({}, {{"WPS_PORT", "http"}}), "WPS_PORT: 'http' is not a whole number");
  EXPECT_EQ(load_error({}, {{"WPS_PORT", ""}}), "WPS_PORT: '' is not a whole number");
  EXPECT_EQ(load_error({}, {{"WPS_PORT", " 80"}}), "WPS_PORT: ' 80' is not a whole number");
  EXPECT_EQ(load_error({}, {{"WPS_PORT", "+80"}}), "WPS_PORT: '+80' is not a whole number");
  EXPECT_EQ(load_error({"--port", "99999999999999999999999"}),
            "--port: '99999999999999999999999' is not a port (0..65535)");
}

struct BadValue {
  std::string flag;
  std::string env;
  std::string key;
  std::string text;     // for flag and environment
  std::string json;     // for the config file
  std::string message;  // expected problem after "<label>: "; empty = only check the prefix
};

std::vector<BadValue> bad_values() {
  return {
      {"host", "WPS_HOST", "host", "", "\"\"", "must not be empty"},
      {"host", "WPS_HOST", "host", "a b", "\"a b\"",
       "must not contain whitespace or control characters"},
      {"access-key", "WPS_ACCESS_KEY", "accessKey", "", "\"\"", "must not be empty"},
      {"access-key", "WPS_ACCESS_KEY", "accessKey", " secret", "\" secret\"",
       "must not have leading or trailing whitespace"},
      {"access-key", "WPS_ACCESS_KEY", "accessKey", "sec;ret", "\"sec;ret\"",
       "must not contain ';'"},
      {"access-key", "WPS_ACCESS_KEY", "accessKey", "sec\x01ret", "\"sec\\u0001ret\"",
       "must not contain control characters"},
      {"secondary-access-key", "WPS_SECONDARY_ACCESS_KEY", "secondaryAccessKey", "x\t", "\"x\\t\"",
       "must not have leading or trailing whitespace"},
      {"allow-default-key-on-public-address", "WPS_ALLOW_DEFAULT_KEY_ON_PUBLIC_ADDRESS",
       "allowDefaultKeyOnPublicAddress", "maybe", "\"true\"", ""},
      {"public-origin", "WPS_PUBLIC_ORIGIN", "publicOrigin", "ftp://x", "\"ftp://x\"", ""},
      {"public-origin", "WPS_PUBLIC_ORIGIN", "publicOrigin", "https://x/app", "\"https://x/app\"",
       "'https://x/app' is not an origin: it must not have a path, query or fragment"},
      {"public-origin", "WPS_PUBLIC_ORIGIN", "publicOrigin", "https://x:0", "\"https://x:0\"", ""},
      {"public-origin", "WPS_PUBLIC_ORIGIN", "publicOrigin", "https://u@x", "\"https://u@x\"", ""},
      {"public-origin", "WPS_PUBLIC_ORIGIN", "publicOrigin", "x.example", "\"x.example\"", ""},
      {"audience-ignore-host", "WPS_AUDIENCE_IGNORE_HOST", "audienceIgnoreHost", "on", "1", ""},
      {"threads", "WPS_THREADS", "threads", "257", "257", "'257' is out of range (0..256)"},
      {"log-level", "WPS_LOG_LEVEL", "logLevel", "verbose", "\"verbose\"",
       "'verbose' is not a log level (trace|debug|info|warn|error)"},
      {"allow-anonymous", "WPS_ALLOW_ANONYMOUS", "hubs._default.allowAnonymous", "maybe", "\"yes\"",
       ""},
      {"max-message-bytes", "WPS_MAX_MESSAGE_BYTES", "limits.maxMessageBytes", "0", "0",
       "'0' is out of range (at least 1)"},
      {"max-pending-bytes", "WPS_MAX_PENDING_BYTES", "limits.maxPendingBytes", "0", "0", ""},
      {"max-pending-messages", "WPS_MAX_PENDING_MESSAGES", "limits.maxPendingMessages", "0", "0",
       ""},
      {"handshake-timeout-ms", "WPS_HANDSHAKE_TIMEOUT_MS", "limits.handshakeTimeoutMs", "0", "0",
       ""},
      {"keep-alive-interval-ms", "WPS_KEEP_ALIVE_INTERVAL_MS", "limits.keepAliveIntervalMs", "999",
       "999", "'999' is out of range (1000..120000)"},
      {"keep-alive-interval-ms", "WPS_KEEP_ALIVE_INTERVAL_MS", "limits.keepAliveIntervalMs",
       "120001", "120001", "'120001' is out of range (1000..120000)"},
      {"http-idle-timeout-ms", "WPS_HTTP_IDLE_TIMEOUT_MS", "limits.httpIdleTimeoutMs", "0", "0",
       ""},
      {"write-coalesce-window-ms", "WPS_WRITE_COALESCE_WINDOW_MS", "limits.writeCoalesceWindowMs",
       "1001", "1001", "'1001' is out of range (0..1000)"},
      {"write-coalesce-min-writes", "WPS_WRITE_COALESCE_MIN_WRITES",
       "limits.writeCoalesceMinWrites", "0", "0", "'0' is out of range (at least 1)"},
      {"max-http-header-bytes", "WPS_MAX_HTTP_HEADER_BYTES", "limits.maxHttpHeaderBytes", "0", "0",
       ""},
      {"max-http-body-bytes", "WPS_MAX_HTTP_BODY_BYTES", "limits.maxHttpBodyBytes", "0", "0", ""},
      {"max-connections", "WPS_MAX_CONNECTIONS", "limits.maxConnections", "-1", "-1",
       "'-1' is out of range (0 or more)"},
      {"max-connections-per-hub", "WPS_MAX_CONNECTIONS_PER_HUB", "limits.maxConnectionsPerHub",
       "many", "\"many\"", ""},
      {"max-groups-per-connection", "WPS_MAX_GROUPS_PER_CONNECTION",
       "limits.maxGroupsPerConnection", "1.5", "1.5", ""},
      {"max-connections-per-user", "WPS_MAX_CONNECTIONS_PER_USER", "limits.maxConnectionsPerUser",
       "1e3", "true", ""},
      {"shutdown-grace-ms", "WPS_SHUTDOWN_GRACE_MS", "limits.shutdownGraceMs", "86400001",
       "86400001", "'86400001' is out of range (0..86400000)"},
      {"clock-skew-seconds", "WPS_CLOCK_SKEW_SECONDS", "limits.clockSkewSeconds", "86401", "86401",
       ""},
  };
}

TEST(LoadConfig, EveryInvalidValueNamesTheSettingAndTheSource) {
  for (const BadValue& b : bad_values()) {
    SCOPED_TRACE(b.flag + " = " + b.text);
    const std::string flag_error = load_error({"--" + b.flag + "=" + b.text});
    EXPECT_THAT(flag_error, StartsWith("--" + b.flag + ": "));
    const std::string env_error = load_error({}, {{b.env, b.text}});
    EXPECT_THAT(env_error, StartsWith(b.env + ": "));
    const TempFile file(json_at(b.key, b.json));
    const std::string file_error = load_error({"--config", file.path()});
    EXPECT_THAT(file_error, StartsWith("config file: " + b.key + ": "));
    if (!b.message.empty()) {
      EXPECT_EQ(flag_error, "--" + b.flag + ": " + b.message);
      EXPECT_EQ(env_error, b.env + ": " + b.message);
    }
  }
}

TEST(LoadConfig, AccessKeyErrorsDoNotEchoTheKey) {
  const std::string error = load_error({"--access-key", "top;secret"});
  EXPECT_THAT(error, Not(HasSubstr("top")));
  EXPECT_THAT(load_error({}, {{"WPS_SECONDARY_ACCESS_KEY", "top secret "}}), Not(HasSubstr("top")));
}

TEST(LoadConfig, LenientAccessKeys) {
  // Shorter than the emulator's 32 bytes, and equal primary/secondary keys, are accepted.
  const Config c = load_ok({"--access-key", "short", "--secondary-access-key", "short"});
  EXPECT_EQ(c.primary_key, "short");
  EXPECT_EQ(c.secondary_key, "short");
  EXPECT_FALSE(c.uses_development_key());
  EXPECT_EQ(load_ok({"--access-key=a=b+c/d"}).primary_key, "a=b+c/d");  // only the first '='
  EXPECT_EQ(load_ok({"--access-key", "-startsWithDash"}).primary_key, "-startsWithDash");
  EXPECT_TRUE(load_ok({"--secondary-access-key", kDevelopmentAccessKey, "--access-key", kKeyA})
                  .uses_development_key());
}

TEST(LoadConfig, PublicOriginForms) {
  EXPECT_EQ(load_ok({"--public-origin", "https://pubsub.example.com/"}).public_origin,
            "https://pubsub.example.com");
  EXPECT_EQ(load_ok({"--public-origin", "HTTP://Example.com:80"}).public_origin,
            "HTTP://Example.com:80");
  EXPECT_EQ(load_ok({"--public-origin", "https://[2001:db8::1]:8443"}).public_origin,
            "https://[2001:db8::1]:8443");
  // Empty resets an origin set by a lower source.
  EXPECT_EQ(
      load_ok({"--public-origin="}, {{"WPS_PUBLIC_ORIGIN", "https://a.example"}}).public_origin,
      "");
  EXPECT_THAT(load_error({"--public-origin", "https://a.example//"}),
              StartsWith("--public-origin: "));
  EXPECT_THAT(load_error({"--public-origin", "https://a.example?x=1"}),
              StartsWith("--public-origin: "));
  EXPECT_THAT(load_error({"--public-origin", "https://"}), StartsWith("--public-origin: "));
}

TEST(LoadConfig, LogLevelIsCaseInsensitive) {
  EXPECT_EQ(load_ok({"--log-level", "DEBUG"}).log_level, "debug");
  EXPECT_EQ(load_ok({}, {{"WPS_LOG_LEVEL", "Warn"}}).log_level, "warn");
}

TEST(LoadConfig, UnknownFlagsAndStrayArguments) {
  EXPECT_EQ(load_error({"--prot", "1"}), "unknown flag '--prot' (see --help)");
  EXPECT_EQ(load_error({"--prot=1"}), "unknown flag '--prot' (see --help)");
  EXPECT_EQ(load_error({"-p", "1"}), "unknown flag '-p' (see --help)");
  EXPECT_EQ(load_error({"--"}), "unknown flag '--' (see --help)");
  EXPECT_EQ(load_error({"serve"}),
            "unexpected argument #1 (flags start with --; a boolean flag takes its value as "
            "--flag=false)");
  // A stray word may be a secret without its flag: never echoed.
  EXPECT_EQ(load_error({"--port=1", "-secretvalue"}).find("secretvalue"), std::string::npos);
  EXPECT_EQ(load_error({"--help=yes"}), "--help takes no value");
}

TEST(LoadConfig, MissingFlagValues) {
  EXPECT_EQ(load_error({"--port"}), "--port: missing value");
  EXPECT_EQ(load_error({"--host", "--port", "1"}), "--host: missing value");
  EXPECT_EQ(load_error({"--config"}), "--config: missing value");
  EXPECT_EQ(load_error({"--host="}), "--host: must not be empty");
}

TEST(LoadConfig, UnknownEnvironmentVariablesAreIgnored) {
  // The process environment holds much more than our settings.
  EXPECT_EQ(load_ok({}, {{"PATH", "/bin"}, {"WPS_SOURCE_DIR", "/src"}, {"WPS_PROT", "1"}}).port,
            8080);
}

TEST(LoadConfig, CrossFieldErrorsComeFromValidate) {
  EXPECT_EQ(load_error({"--max-message-bytes", "2000", "--max-pending-bytes", "1000"}),
            "limits.maxPendingBytes (1000) must be at least limits.maxMessageBytes (2000): a "
            "single largest message would close the connection");
}

const std::vector<std::string> kAllFlags = {
    "--config FILE",
    "--host HOST",
    "--port N",
    "--access-key KEY",
    "--secondary-access-key KEY",
    "--allow-default-key-on-public-address",
    "--public-origin URL",
    "--audience-ignore-host",
    "--threads N",
    "--log-level LEVEL",
    "--allow-anonymous",
    "--max-message-bytes N",
    "--max-pending-bytes N",
    "--max-pending-messages N",
    "--handshake-timeout-ms MS",
    "--keep-alive-interval-ms MS",
    "--http-idle-timeout-ms MS",
    "--write-coalesce-window-ms MS",
    "--write-coalesce-min-writes N",
    "--max-http-header-bytes N",
    "--max-http-body-bytes N",
    "--max-connections N",
    "--max-connections-per-hub N",
    "--max-groups-per-connection N",
    "--max-connections-per-user N",
    "--shutdown-grace-ms MS",
    "--clock-skew-seconds S",
    "--event-handler-attempt-timeout-ms MS",
    "--event-handler-retry-delays-ms MS,...",
    "--event-handler-validation-timeout-ms MS",
    "--event-handler-validation-retry-ms MS",
    "--max-event-handler-response-bytes N",
    "-h, --help",
};

TEST(LoadConfig, HelpListsEveryFlagItsEnvironmentVariableAndDefault) {
  for (const Args& args : {Args{"--help"}, Args{"-h"}, Args{"--port", "1", "--help"},
                           Args{"--bogus", "-h"}, Args{"--port=70000", "--help"}}) {
    const LoadResult r = load_config(args, {});
    EXPECT_TRUE(r.help);
    EXPECT_FALSE(r.config);
    EXPECT_TRUE(r.error.empty()) << r.error;
    for (const std::string& flag : kAllFlags) {
      EXPECT_THAT(r.help_text, HasSubstr("  " + flag + "\n")) << flag;
    }
    EXPECT_THAT(r.help_text, HasSubstr("env WPS_CONFIG; default: none"));
    const Config d;
    for (const SettingCase& s : all_settings()) {
      const std::string def = s.key == "accessKey"
                                  ? std::string(kDevelopmentAccessKey) + " (public development key)"
                              : s.key == "secondaryAccessKey" ? "(none)"
                              : s.key == "publicOrigin"       ? "(empty)"
                                                              : get(d, s.key);
      EXPECT_THAT(r.help_text,
                  HasSubstr("env " + s.env + "; file key " + s.key + "; default: " + def + "\n"))
          << s.flag;
    }
  }
  // Help also covers every setting the precedence tests cover (and nothing is missing there).
  EXPECT_EQ(kAllFlags.size(), all_settings().size() + 2);
}

TEST(LoadConfig, RedisUrlAndClusterLimits) {
  const Config c = load_ok({"--redis-url=redis://:secret@cache:6380/1",
                            "--cluster-node-ttl-ms=3000", "--cluster-rest-threads=4"});
  EXPECT_EQ(c.redis_url, "redis://:secret@cache:6380/1");
  EXPECT_EQ(c.limits.cluster_node_ttl, std::chrono::milliseconds(3000));
  EXPECT_EQ(c.limits.cluster_rest_threads, 4U);
  EXPECT_TRUE(load_ok({}).redis_url.empty());
  // A bad URL is refused without repeating it: it may hold a password.
  const std::string error = load_error({"--redis-url=redis://:secret@cache:0"});
  EXPECT_NE(error.find("port"), std::string::npos) << error;
  EXPECT_EQ(error.find("secret"), std::string::npos) << error;
  EXPECT_NE(load_error({"--redis-url=http://cache"}), "");
  EXPECT_NE(load_error({"--cluster-rest-threads=0"}), "");
}

TEST(LoadConfig, EventHandlerRetryDelaysAreAListOfMilliseconds) {
  using std::chrono::milliseconds;
  const Limits d;
  EXPECT_EQ(
      d.event_handler_retry_delays,
      (std::vector<milliseconds>{milliseconds(1000), milliseconds(3000), milliseconds(5000)}));
  EXPECT_EQ(load_ok({"--event-handler-retry-delays-ms", " 10 , 20,30 "})
                .limits.event_handler_retry_delays,
            (std::vector<milliseconds>{milliseconds(10), milliseconds(20), milliseconds(30)}));
  // Empty: no retries, from every source.
  EXPECT_TRUE(
      load_ok({"--event-handler-retry-delays-ms="}).limits.event_handler_retry_delays.empty());
  EXPECT_TRUE(load_ok({}, {{"WPS_EVENT_HANDLER_RETRY_DELAYS_MS", ""}})
                  .limits.event_handler_retry_delays.empty());
  const TempFile empty(json_at("limits.eventHandlerRetryDelaysMs", "[]"));
  EXPECT_TRUE(load_ok({"--config", empty.path()}).limits.event_handler_retry_delays.empty());
  // At most ten, each 0..86400000, whole numbers only; the error names the source.
  EXPECT_EQ(load_ok({"--event-handler-retry-delays-ms=1,2,3,4,5,6,7,8,9,10"})
                .limits.event_handler_retry_delays.size(),
            10U);
  EXPECT_THAT(load_error({"--event-handler-retry-delays-ms=1,2,3,4,5,6,7,8,9,10,11"}),
              HasSubstr("--event-handler-retry-delays-ms: more than 10 values"));
  EXPECT_THAT(load_error({"--event-handler-retry-delays-ms=1,86400001"}),
              HasSubstr("out of range (0..86400000)"));
  EXPECT_THAT(load_error({"--event-handler-retry-delays-ms=1,,2"}),
              HasSubstr("is not a whole number"));
  EXPECT_THAT(load_error({"--event-handler-retry-delays-ms=1,"}), HasSubstr("ends with ','"));
  EXPECT_THAT(load_error({"--event-handler-retry-delays-ms=-1"}),
              HasSubstr("--event-handler-retry-delays-ms"));
  const TempFile text(json_at("limits.eventHandlerRetryDelaysMs", "\"1000\""));
  EXPECT_THAT(load_error({"--config", text.path()}),
              HasSubstr("limits.eventHandlerRetryDelaysMs: expected an array of whole numbers"));
  const TempFile fraction(json_at("limits.eventHandlerRetryDelaysMs", "[1.5]"));
  EXPECT_THAT(load_error({"--config", fraction.path()}), HasSubstr("expected a whole number"));
}

}  // namespace
}  // namespace wps::config
