#include "config/loader.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <boost/json/basic_parser_impl.hpp>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <limits>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string_view>
#include <system_error>
#include <utility>

#include "config/checks.hpp"
#include "config/emulator.hpp"
#include "util/text.hpp"

namespace wps::config {
namespace {

namespace json = boost::json;

constexpr std::uint64_t kNoMax = std::numeric_limits<std::size_t>::max();
constexpr std::uint64_t kOneDayMs = 24ULL * 60 * 60 * 1000;
constexpr std::string_view kFileSource = "config file";

// Thrown while loading, with the complete one-line message; becomes LoadResult::error.
class LoadError : public std::runtime_error {
 public:
  explicit LoadError(const std::string& message) : std::runtime_error(message) {}
};

std::string describe(const json::value& value) {
  switch (value.kind()) {
    case json::kind::null:
      return "null";
    case json::kind::bool_:
      return "a boolean";
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_:
      return "a number";
    case json::kind::string:
      return "a string";
    case json::kind::array:
      return "an array";
    case json::kind::object:
      return "an object";
  }
  return "a value";
}

std::string range_text(std::uint64_t lo, std::uint64_t hi) {
  if (hi == kNoMax) {
    return lo == 0 ? "0 or more" : "at least " + std::to_string(lo);
  }
  return std::to_string(lo) + ".." + std::to_string(hi);
}

// One value for one setting from one source: a command-line or environment text, or a JSON
// value from the config file. `label` names the source and setting ("--port", "WPS_PORT",
// "config file: port") and prefixes every error.
class Input {
 public:
  Input(std::string label, std::string text) : label_(std::move(label)), text_(std::move(text)) {}
  Input(std::string label, const json::value& value) : label_(std::move(label)), json_(&value) {}

  const std::string& label() const { return label_; }

  [[noreturn]] void fail(const std::string& problem) const {
    throw LoadError(label_ + ": " + problem);
  }

  std::string text() const {
    if (json_ == nullptr) {
      return text_;
    }
    if (!json_->is_string()) {
      fail("expected a string, got " + describe(*json_));
    }
    return std::string(json_->get_string());
  }

  bool boolean() const {
    if (json_ != nullptr) {
      if (!json_->is_bool()) {
        fail("expected true or false, got " + describe(*json_));
      }
      return json_->get_bool();
    }
    const std::string v = util::to_lower(text_);
    if (v == "true" || v == "1" || v == "yes") {
      return true;
    }
    if (v == "false" || v == "0" || v == "no") {
      return false;
    }
    fail(quote(text_) + " is not a boolean (true|false|1|0|yes|no)");
  }

  // A whole number in [lo, hi]. `what` ("a port") words the error; empty means "out of range".
  std::uint64_t integer(std::uint64_t lo, std::uint64_t hi, std::string_view what = {}) const {
    std::optional<std::uint64_t> value;  // unset: a whole number outside uint64
    std::string shown;
    if (json_ != nullptr) {
      if (json_->is_uint64()) {
        value = json_->get_uint64();
      } else if (json_->is_int64()) {
        if (json_->get_int64() >= 0) {
          value = static_cast<std::uint64_t>(json_->get_int64());
        }
      } else if (json_->is_double()) {
        fail("expected a whole number, got " + json::serialize(*json_));
      } else {
        fail("expected a whole number, got " + describe(*json_));
      }
      shown = json::serialize(*json_);
    } else {
      shown = quote(text_);
      std::string_view digits = text_;
      const bool negative = digits.starts_with('-');
      if (negative) {
        digits.remove_prefix(1);
      }
      if (digits.empty() || digits.find_first_not_of("0123456789") != std::string_view::npos) {
        fail(shown + " is not a whole number");
      }
      std::uint64_t parsed = 0;
      const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), parsed);
      if (ec == std::errc() && !negative) {
        value = parsed;
      } else if (ec == std::errc() && parsed == 0) {
        value = 0;  // "-0"
      }
      static_cast<void>(end);
    }
    if (!value || *value < lo || *value > hi) {
      if (what.empty()) {
        fail(shown + " is out of range (" + range_text(lo, hi) + ")");
      }
      fail(shown + " is not " + std::string(what) + " (" + range_text(lo, hi) + ")");
    }
    return *value;
  }

  // At most `max_count` whole numbers, each in [lo, hi]: a JSON array, or a comma-separated text
  // ("1000,3000,5000"; empty for none).
  std::vector<std::uint64_t> integers(std::uint64_t lo, std::uint64_t hi,
                                      std::size_t max_count) const {
    std::vector<std::uint64_t> out;
    const auto add = [&](const Input& item) {
      if (out.size() == max_count) {
        fail("more than " + std::to_string(max_count) + " values");
      }
      out.push_back(item.integer(lo, hi));
    };
    if (json_ != nullptr) {
      if (!json_->is_array()) {
        fail("expected an array of whole numbers, got " + describe(*json_));
      }
      for (const json::value& item : json_->get_array()) {
        add(Input(label_, item));
      }
      return out;
    }
    std::string_view rest = text_;
    while (!util::trim_ows(rest).empty()) {
      const auto comma = rest.find(',');
      add(Input(label_, std::string(util::trim_ows(rest.substr(0, comma)))));
      if (comma == std::string_view::npos) {
        break;
      }
      rest.remove_prefix(comma + 1);
      if (util::trim_ows(rest).empty()) {
        fail(quote(text_) + " ends with ','");
      }
    }
    return out;
  }

 private:
  std::string label_;
  std::string text_;
  const json::value* json_ = nullptr;
};

// One setting: its three names, how to apply a value, how to show and check the result.
struct Setting {
  std::string_view flag;     // without the leading "--"
  std::string_view env;      // WPS_*
  std::string_view key;      // path in the config file
  std::string_view arg;      // value placeholder in --help; empty for a boolean switch
  std::string_view meaning;  // one line for --help
  std::function<void(Config&, const Input&)> apply;
  std::function<std::string(const Config&)> show;   // the value, for --help defaults
  std::function<std::string(const Config&)> check;  // validate(): problem or empty

  bool is_switch() const { return arg.empty(); }
};

// Applies a checked text; the check's problem becomes the error.
void apply_text(const Input& in, std::string& target,
                const std::function<std::string(std::string_view)>& check) {
  std::string value = in.text();
  if (auto problem = check(value); !problem.empty()) {
    in.fail(problem);
  }
  target = std::move(value);
}

std::string check_range(std::uint64_t value, std::uint64_t lo, std::uint64_t hi) {
  if (value < lo || value > hi) {
    return std::to_string(value) + " is out of range (" + range_text(lo, hi) + ")";
  }
  return {};
}

Setting size_limit(std::string_view flag, std::string_view env, std::string_view key,
                   std::string_view meaning, std::size_t Limits::*member, std::uint64_t lo) {
  return Setting{
      flag,
      env,
      key,
      "N",
      meaning,
      [member, lo](Config& c, const Input& in) {
        c.limits.*member = static_cast<std::size_t>(in.integer(lo, kNoMax));
      },
      [member](const Config& c) { return std::to_string(c.limits.*member); },
      [member, lo](const Config& c) { return check_range(c.limits.*member, lo, kNoMax); }};
}

Setting ms_limit(std::string_view flag, std::string_view env, std::string_view key,
                 std::string_view meaning, std::chrono::milliseconds Limits::*member,
                 std::uint64_t lo, std::uint64_t hi) {
  using Rep = std::chrono::milliseconds::rep;
  return Setting{flag,
                 env,
                 key,
                 "MS",
                 meaning,
                 [member, lo, hi](Config& c, const Input& in) {
                   c.limits.*member =
                       std::chrono::milliseconds(static_cast<Rep>(in.integer(lo, hi)));
                 },
                 [member](const Config& c) { return std::to_string((c.limits.*member).count()); },
                 [member, lo, hi](const Config& c) {
                   const Rep v = (c.limits.*member).count();
                   if (v < 0) {
                     return std::to_string(v) + " is out of range (" + range_text(lo, hi) + ")";
                   }
                   return check_range(static_cast<std::uint64_t>(v), lo, hi);
                 }};
}

std::string show_bool(bool b) {
  return b ? "true" : "false";
}

std::string show_text(const std::string& s) {
  return s.empty() ? "(empty)" : s;
}

const std::vector<Setting>& settings() {
  static const std::vector<Setting> table = [] {
    std::vector<Setting> t;
    t.push_back({"host", "WPS_HOST", "host", "HOST",
                 "Address to listen on; localhost binds 127.0.0.1 and ::1.",
                 [](Config& c, const Input& in) { apply_text(in, c.host, check_host); },
                 [](const Config& c) { return show_text(c.host); },
                 [](const Config& c) { return check_host(c.host); }});
    t.push_back({"port", "WPS_PORT", "port", "N",
                 "TCP port to listen on; 0 lets the OS pick one (the server prints it).",
                 [](Config& c, const Input& in) {
                   c.port = static_cast<std::uint16_t>(in.integer(0, 65535, "a port"));
                 },
                 [](const Config& c) { return std::to_string(c.port); },
                 [](const Config&) { return std::string(); }});
    t.push_back(
        {"access-key", "WPS_ACCESS_KEY", "accessKey", "KEY",
         "Primary access key: signs and verifies tokens (AccessKey= of the connection "
         "string).",
         [](Config& c, const Input& in) { apply_text(in, c.primary_key, check_access_key); },
         [](const Config& c) {
           return c.primary_key == kDevelopmentAccessKey
                      ? std::string(kDevelopmentAccessKey) + " (public development key)"
                      : std::string("(set)");
         },
         [](const Config& c) { return check_access_key(c.primary_key); }});
    t.push_back({"secondary-access-key", "WPS_SECONDARY_ACCESS_KEY", "secondaryAccessKey", "KEY",
                 "Secondary access key, also accepted when verifying tokens (for key rotation).",
                 [](Config& c, const Input& in) {
                   std::string key;
                   apply_text(in, key, check_access_key);
                   c.secondary_key = std::move(key);
                 },
                 [](const Config& c) {
                   return c.secondary_key ? std::string("(set)") : std::string("(none)");
                 },
                 [](const Config& c) {
                   return c.secondary_key ? check_access_key(*c.secondary_key) : std::string();
                 }});
    t.push_back(
        {"allow-default-key-on-public-address", "WPS_ALLOW_DEFAULT_KEY_ON_PUBLIC_ADDRESS",
         "allowDefaultKeyOnPublicAddress", "",
         "Allow listening on a non-loopback address with the public development key.",
         [](Config& c, const Input& in) { c.allow_default_key_on_public_address = in.boolean(); },
         [](const Config& c) { return show_bool(c.allow_default_key_on_public_address); },
         [](const Config&) { return std::string(); }});
    t.push_back(
        {"allow-unvalidated-entra-tokens", "WPS_ALLOW_UNVALIDATED_ENTRA_TOKENS",
         "allowUnvalidatedEntraTokens", "",
         "Local development, as Microsoft's emulator: REST accepts Microsoft Entra bearer tokens "
         "for https://webpubsub.azure.com checking only audience and lifetime, NOT the "
         "signature (server SDKs with a TokenCredential; they need https: --tls-self-signed).",
         [](Config& c, const Input& in) { c.allow_unvalidated_entra_tokens = in.boolean(); },
         [](const Config& c) { return show_bool(c.allow_unvalidated_entra_tokens); },
         [](const Config&) { return std::string(); }});
    t.push_back({"allow-unvalidated-entra-tokens-on-public-address",
                 "WPS_ALLOW_UNVALIDATED_ENTRA_TOKENS_ON_PUBLIC_ADDRESS",
                 "allowUnvalidatedEntraTokensOnPublicAddress", "",
                 "Allow --allow-unvalidated-entra-tokens on a non-loopback address: anyone who "
                 "reaches it can then call the REST API with a made-up token.",
                 [](Config& c, const Input& in) {
                   c.allow_unvalidated_entra_tokens_on_public_address = in.boolean();
                 },
                 [](const Config& c) {
                   return show_bool(c.allow_unvalidated_entra_tokens_on_public_address);
                 },
                 [](const Config&) { return std::string(); }});
    t.push_back({"public-origin", "WPS_PUBLIC_ORIGIN", "publicOrigin", "URL",
                 "Public http(s)://host[:port] behind a proxy, for token audiences and links; "
                 "empty: the request's Host.",
                 [](Config& c, const Input& in) {
                   std::string origin = in.text();
                   // Tolerate the trailing slash people copy from a browser.
                   if (origin.ends_with('/') && !origin.ends_with("//")) {
                     origin.pop_back();
                   }
                   if (auto problem = check_public_origin(origin); !problem.empty()) {
                     in.fail(problem);
                   }
                   c.public_origin = std::move(origin);
                 },
                 [](const Config& c) { return show_text(c.public_origin); },
                 [](const Config& c) { return check_public_origin(c.public_origin); }});
    t.push_back({"audience-ignore-host", "WPS_AUDIENCE_IGNORE_HOST", "audienceIgnoreHost", "",
                 "Compare only the path (and query) of token audiences, not scheme and host.",
                 [](Config& c, const Input& in) { c.audience_ignore_host = in.boolean(); },
                 [](const Config& c) { return show_bool(c.audience_ignore_host); },
                 [](const Config&) { return std::string(); }});
    t.push_back(
        {"threads", "WPS_THREADS", "threads", "N",
         "Event loops, one thread each, each owning its connections (0..256); 0 = one per core.",
         [](Config& c, const Input& in) { c.threads = static_cast<unsigned>(in.integer(0, 256)); },
         [](const Config& c) { return std::to_string(c.threads); },
         [](const Config& c) { return check_range(c.threads, 0, 256); }});
    t.push_back({"redis-url", "WPS_REDIS_URL", "redisUrl", "URL",
                 "redis://[[user]:password@]host[:port][/db] shared by the nodes of a cluster "
                 "(docs/CLUSTER.md); "
                 "empty: a single node.",
                 [](Config& c, const Input& in) {
                   std::string url = in.text();
                   if (auto problem = check_redis_url(url); !problem.empty())
                     in.fail(problem);  // not the URL: it may hold a password
                   c.redis_url = std::move(url);
                 },
                 [](const Config& c) { return show_text(c.redis_url); },
                 [](const Config& c) { return check_redis_url(c.redis_url); }});
    t.push_back({"log-level", "WPS_LOG_LEVEL", "logLevel", "LEVEL",
                 "Least severe log level printed: trace, debug, info, warn or error.",
                 [](Config& c, const Input& in) {
                   const std::string given = in.text();
                   std::string level = util::to_lower(given);
                   if (!check_log_level(level).empty()) {
                     in.fail(quote(given) + " is not a log level (trace|debug|info|warn|error)");
                   }
                   c.log_level = std::move(level);
                 },
                 [](const Config& c) { return c.log_level; },
                 [](const Config& c) { return check_log_level(c.log_level); }});
    t.push_back({"log-format", "WPS_LOG_FORMAT", "logFormat", "FORMAT",
                 "Log lines as text (the default) or json: one object a line with time, level, "
                 "component, message and, where they apply, hub, connectionId, userId, event.",
                 [](Config& c, const Input& in) {
                   std::string format = util::to_lower(in.text());
                   if (format != "text" && format != "json")
                     in.fail(quote(format) + " is not a log format (text|json)");
                   c.log_format = std::move(format);
                 },
                 [](const Config& c) { return c.log_format; },
                 [](const Config& c) {
                   return c.log_format == "text" || c.log_format == "json"
                              ? std::string()
                              : quote(c.log_format) + " is not a log format (text|json)";
                 }});
    t.push_back({"metrics-port", "WPS_METRICS_PORT", "metricsPort", "N",
                 "Port of the operations listener (Prometheus /metrics, the overview and the live "
                 "trace, docs/OPERATIONS.md); 0 = off (the default).",
                 [](Config& c, const Input& in) {
                   c.metrics_port = static_cast<std::uint16_t>(in.integer(0, 65535, "a port"));
                 },
                 [](const Config& c) { return std::to_string(c.metrics_port); },
                 [](const Config&) { return std::string(); }});
    t.push_back({"metrics-host", "WPS_METRICS_HOST", "metricsHost", "HOST",
                 "Address of the operations listener; off loopback its pages need a token "
                 "signed with the access key (docs/OPERATIONS.md).",
                 [](Config& c, const Input& in) { apply_text(in, c.metrics_host, check_host); },
                 [](const Config& c) { return show_text(c.metrics_host); },
                 [](const Config& c) { return check_host(c.metrics_host); }});
    t.push_back({"allow-anonymous", "WPS_ALLOW_ANONYMOUS", "hubs._default.allowAnonymous", "",
                 "Let clients connect without a token to hubs that do not say otherwise.",
                 [](Config& c, const Input& in) { c.default_hub.allow_anonymous = in.boolean(); },
                 [](const Config& c) { return show_bool(c.default_hub.allow_anonymous); },
                 [](const Config&) { return std::string(); }});

    t.push_back({"event-handler", "WPS_EVENT_HANDLER", "hubs._default.eventHandlers", "URL",
                 "Quick start: send every event of hubs that do not say otherwise to this "
                 "handler URL ({hub} and {event} are filled in).",
                 [](Config& c, const Input& in) {
                   const std::string url = in.text();
                   if (auto problem = check_url_template(url); !problem.empty())
                     in.fail(problem);
                   c.default_hub.event_handlers = {
                       EventHandler{url, {"connect", "connected", "disconnected"}, "*", {}}};
                 },
                 [](const Config& c) {
                   return c.default_hub.event_handlers.empty()
                              ? std::string()
                              : c.default_hub.event_handlers.front().url_template;
                 },
                 [](const Config&) { return std::string(); }});

    t.push_back(size_limit("max-message-bytes", "WPS_MAX_MESSAGE_BYTES", "limits.maxMessageBytes",
                           "Largest WebSocket message accepted from a client.",
                           &Limits::max_message_bytes, 1));
    t.push_back(size_limit("max-pending-bytes", "WPS_MAX_PENDING_BYTES", "limits.maxPendingBytes",
                           "Outgoing bytes queued per connection before it is closed as a slow "
                           "consumer (>= max-message-bytes).",
                           &Limits::max_pending_bytes, 1));
    t.push_back(size_limit("max-pending-messages", "WPS_MAX_PENDING_MESSAGES",
                           "limits.maxPendingMessages",
                           "Outgoing messages queued per connection before it is closed as a "
                           "slow consumer.",
                           &Limits::max_pending_messages, 1));
    t.push_back(ms_limit("handshake-timeout-ms", "WPS_HANDSHAKE_TIMEOUT_MS",
                         "limits.handshakeTimeoutMs",
                         "Time from TCP accept to a complete HTTP request / WebSocket handshake.",
                         &Limits::handshake_timeout, 1, kOneDayMs));
    t.push_back(ms_limit("keep-alive-interval-ms", "WPS_KEEP_ALIVE_INTERVAL_MS",
                         "limits.keepAliveIntervalMs",
                         "WebSocket ping interval (1000..120000); silent for twice this long: "
                         "closed.",
                         &Limits::keep_alive_interval, 1000, 120000));
    t.push_back(ms_limit("write-coalesce-window-ms", "WPS_WRITE_COALESCE_WINDOW_MS",
                         "limits.writeCoalesceWindowMs",
                         "Under load, frames wait up to this long to leave in one write per "
                         "connection (0..1000; 0 = off).",
                         &Limits::write_coalesce_window, 0, 1000));
    t.push_back(size_limit("write-coalesce-min-writes", "WPS_WRITE_COALESCE_MIN_WRITES",
                           "limits.writeCoalesceMinWrites",
                           "Connections written within one coalescing window before the "
                           "loop counts as busy and coalesces.",
                           &Limits::write_coalesce_min_writes, 1));
    t.push_back(ms_limit("http-idle-timeout-ms", "WPS_HTTP_IDLE_TIMEOUT_MS",
                         "limits.httpIdleTimeoutMs",
                         "Keep-alive HTTP connections idle longer than this are closed.",
                         &Limits::http_idle_timeout, 1, kOneDayMs));
    t.push_back(size_limit("max-http-header-bytes", "WPS_MAX_HTTP_HEADER_BYTES",
                           "limits.maxHttpHeaderBytes", "Largest HTTP request header block.",
                           &Limits::max_http_header_bytes, 1));
    t.push_back(size_limit("max-http-body-bytes", "WPS_MAX_HTTP_BODY_BYTES",
                           "limits.maxHttpBodyBytes", "Largest HTTP request body.",
                           &Limits::max_http_body_bytes, 1));
    t.push_back(size_limit("max-connections", "WPS_MAX_CONNECTIONS", "limits.maxConnections",
                           "Client connections in total; 0 = unlimited.", &Limits::max_connections,
                           0));
    t.push_back(size_limit(
        "max-connections-per-hub", "WPS_MAX_CONNECTIONS_PER_HUB", "limits.maxConnectionsPerHub",
        "Client connections per hub; 0 = unlimited.", &Limits::max_connections_per_hub, 0));
    t.push_back(size_limit("max-groups-per-connection", "WPS_MAX_GROUPS_PER_CONNECTION",
                           "limits.maxGroupsPerConnection",
                           "Groups one connection may be in; 0 = unlimited.",
                           &Limits::max_groups_per_connection, 0));
    t.push_back(size_limit("max-connections-per-user", "WPS_MAX_CONNECTIONS_PER_USER",
                           "limits.maxConnectionsPerUser",
                           "Connections one user may hold in a hub; 0 = unlimited.",
                           &Limits::max_connections_per_user, 0));
    t.push_back(ms_limit("shutdown-grace-ms", "WPS_SHUTDOWN_GRACE_MS", "limits.shutdownGraceMs",
                         "Time clients get to receive their messages and close frame, and "
                         "handlers their disconnected events, on shutdown.",
                         &Limits::shutdown_grace, 0, kOneDayMs));
    t.push_back(ms_limit("recovery-window-ms", "WPS_RECOVERY_WINDOW_MS", "limits.recoveryWindowMs",
                         "How long a reliable connection whose socket dropped waits for its "
                         "client to recover.",
                         &Limits::recovery_window, 1, kOneDayMs));
    t.push_back(size_limit("max-replay-messages", "WPS_MAX_REPLAY_MESSAGES",
                           "limits.maxReplayMessages",
                           "Unacknowledged messages kept per reliable connection for replay; "
                           "beyond it the session ends (1008).",
                           &Limits::max_replay_messages, 1));
    t.push_back(size_limit("max-replay-bytes", "WPS_MAX_REPLAY_BYTES", "limits.maxReplayBytes",
                           "Unacknowledged bytes kept per reliable connection for replay; beyond "
                           "it the session ends (1008).",
                           &Limits::max_replay_bytes, 1));
    t.push_back(size_limit("max-remembered-ack-ids", "WPS_MAX_REMEMBERED_ACK_IDS",
                           "limits.maxRememberedAckIds",
                           "Successful ackIds remembered per connection for Duplicate answers; "
                           "the oldest are forgotten first.",
                           &Limits::max_remembered_ack_ids, 1));
    t.push_back(size_limit("max-pending-invocations", "WPS_MAX_PENDING_INVOCATIONS",
                           "limits.maxPendingInvocations",
                           "Invocations (preview invoke) one connection may have waiting for the "
                           "event handler; one more is answered BadRequest.",
                           &Limits::max_pending_invocations, 1));
    t.push_back(size_limit("max-open-streams-per-connection", "WPS_MAX_OPEN_STREAMS_PER_CONNECTION",
                           "limits.maxOpenStreamsPerConnection",
                           "Group streams (preview) one connection may have open; one more start "
                           "is refused BadRequest.",
                           &Limits::max_open_streams_per_connection, 1));
    t.push_back(size_limit("max-stream-chunk-bytes", "WPS_MAX_STREAM_CHUNK_BYTES",
                           "limits.maxStreamChunkBytes",
                           "Payload bytes of one group stream fragment; a bigger one ends the "
                           "stream (streamClosed BadRequest).",
                           &Limits::max_stream_chunk_bytes, 1));
    t.push_back(ms_limit("event-handler-timeout-ms", "WPS_EVENT_HANDLER_TIMEOUT_MS",
                         "limits.eventHandlerTimeoutMs",
                         "Time an event handler gets to answer connect and user events.",
                         &Limits::event_handler_timeout, 1, kOneDayMs));
    t.push_back(size_limit("max-event-handler-connections", "WPS_MAX_EVENT_HANDLER_CONNECTIONS",
                           "limits.maxEventHandlerConnections",
                           "Connections open at once to one event-handler origin (keep-alive "
                           "pool); 0 = unlimited.",
                           &Limits::max_event_handler_connections, 0));
    t.push_back(ms_limit("event-handler-attempt-timeout-ms", "WPS_EVENT_HANDLER_ATTEMPT_TIMEOUT_MS",
                         "limits.eventHandlerAttemptTimeoutMs",
                         "Time one attempt of a connected, disconnected or group presence event "
                         "gets.",
                         &Limits::event_handler_attempt_timeout, 1, kOneDayMs));
    t.push_back({"event-handler-retry-delays-ms", "WPS_EVENT_HANDLER_RETRY_DELAYS_MS",
                 "limits.eventHandlerRetryDelaysMs", "MS,...",
                 "Delays before each retry of a connected, disconnected or group presence event "
                 "(408, 5xx, unreachable); at most 10, empty for none.",
                 [](Config& c, const Input& in) {
                   c.limits.event_handler_retry_delays.clear();
                   for (const std::uint64_t ms : in.integers(0, kOneDayMs, 10)) {
                     c.limits.event_handler_retry_delays.emplace_back(
                         static_cast<std::chrono::milliseconds::rep>(ms));
                   }
                 },
                 [](const Config& c) {
                   std::string out;
                   for (const auto delay : c.limits.event_handler_retry_delays) {
                     out += (out.empty() ? "" : ",") + std::to_string(delay.count());
                   }
                   return out;
                 },
                 [](const Config& c) {
                   const auto& delays = c.limits.event_handler_retry_delays;
                   if (delays.size() > 10) {
                     return std::to_string(delays.size()) + " delays (at most 10)";
                   }
                   for (const auto delay : delays) {
                     if (delay.count() < 0 ||
                         static_cast<std::uint64_t>(delay.count()) > kOneDayMs) {
                       return std::to_string(delay.count()) + " is out of range (" +
                              range_text(0, kOneDayMs) + ")";
                     }
                   }
                   return std::string();
                 }});
    t.push_back(ms_limit("event-handler-validation-timeout-ms",
                         "WPS_EVENT_HANDLER_VALIDATION_TIMEOUT_MS",
                         "limits.eventHandlerValidationTimeoutMs",
                         "Time one abuse-protection request (OPTIONS, or GET) to a handler gets.",
                         &Limits::event_handler_validation_timeout, 1, kOneDayMs));
    t.push_back(ms_limit("event-handler-validation-retry-ms",
                         "WPS_EVENT_HANDLER_VALIDATION_RETRY_MS",
                         "limits.eventHandlerValidationRetryMs",
                         "A handler that failed validation is validated again at its next use "
                         "after this long.",
                         &Limits::event_handler_validation_retry, 0, kOneDayMs));
    t.push_back(size_limit(
        "max-event-handler-response-bytes", "WPS_MAX_EVENT_HANDLER_RESPONSE_BYTES",
        "limits.maxEventHandlerResponseBytes", "Largest response body read from an event handler.",
        &Limits::max_event_handler_response_bytes, 1));
    t.push_back({"tls-cert-file", "WPS_TLS_CERT_FILE", "tlsCertFile", "PATH",
                 "TLS certificate chain (PEM) for the client endpoint and REST API; needs "
                 "--tls-key-file. Re-read on SIGHUP.",
                 [](Config& c, const Input& in) { c.tls_cert_file = in.text(); },
                 [](const Config& c) { return c.tls_cert_file; },
                 [](const Config& c) {
                   if (c.tls_cert_file.empty() != c.tls_key_file.empty())
                     return std::string("tls-cert-file and tls-key-file go together");
                   if (!c.tls_cert_file.empty() && c.tls_self_signed)
                     return std::string("use either tls-cert-file/tls-key-file or tls-self-signed");
                   if (!c.tls_cert_file.empty() && !std::ifstream(c.tls_cert_file).good())
                     return "cannot read '" + c.tls_cert_file + "'";
                   return std::string();
                 }});
    t.push_back({"tls-key-file", "WPS_TLS_KEY_FILE", "tlsKeyFile", "PATH",
                 "TLS private key (PEM) of --tls-cert-file. Re-read on SIGHUP.",
                 [](Config& c, const Input& in) { c.tls_key_file = in.text(); },
                 [](const Config& c) { return c.tls_key_file; },
                 [](const Config& c) {
                   if (!c.tls_key_file.empty() && !std::ifstream(c.tls_key_file).good())
                     return "cannot read '" + c.tls_key_file + "'";
                   return std::string();
                 }});
    t.push_back({"tls-self-signed", "WPS_TLS_SELF_SIGNED", "tlsSelfSigned", "",
                 "Local development: serve TLS with a self-signed certificate for localhost, "
                 "made once and reused; the server prints how to trust it.",
                 [](Config& c, const Input& in) { c.tls_self_signed = in.boolean(); },
                 [](const Config& c) { return show_bool(c.tls_self_signed); },
                 [](const Config&) { return std::string(); }});
    t.push_back({"tls-self-signed-dir", "WPS_TLS_SELF_SIGNED_DIR", "tlsSelfSignedDir", "DIR",
                 "Where --tls-self-signed keeps its certificate and key (default "
                 "~/.local/share/webpubsub-server/tls).",
                 [](Config& c, const Input& in) { c.tls_self_signed_dir = in.text(); },
                 [](const Config& c) { return c.tls_self_signed_dir; },
                 [](const Config&) { return std::string(); }});
    t.push_back({"event-handler-ca-file", "WPS_EVENT_HANDLER_CA_FILE", "eventHandlerCaFile", "PATH",
                 "PEM CA certificates trusted for https:// event handlers besides the system "
                 "store.",
                 [](Config& c, const Input& in) { c.event_handler_ca_file = in.text(); },
                 [](const Config& c) { return c.event_handler_ca_file; },
                 [](const Config& c) {
                   if (c.event_handler_ca_file.empty())
                     return std::string();
                   if (!std::ifstream(c.event_handler_ca_file).good())
                     return "cannot read '" + c.event_handler_ca_file + "'";
                   return std::string();
                 }});
    t.push_back(ms_limit("redis-connect-timeout-ms", "WPS_REDIS_CONNECT_TIMEOUT_MS",
                         "limits.redisConnectTimeoutMs",
                         "Time allowed to open a connection to Redis.",
                         &Limits::redis_connect_timeout, 1, kOneDayMs));
    t.push_back(ms_limit("redis-max-reconnect-backoff-ms", "WPS_REDIS_MAX_RECONNECT_BACKOFF_MS",
                         "limits.redisMaxReconnectBackoffMs",
                         "Longest wait between attempts to reach Redis again.",
                         &Limits::redis_max_reconnect_backoff, 100, kOneDayMs));
    t.push_back(ms_limit("cluster-heartbeat-interval-ms", "WPS_CLUSTER_HEARTBEAT_INTERVAL_MS",
                         "limits.clusterHeartbeatIntervalMs",
                         "How often a node tells Redis it is alive.",
                         &Limits::cluster_heartbeat_interval, 100, kOneDayMs));
    t.push_back(ms_limit("cluster-node-ttl-ms", "WPS_CLUSTER_NODE_TTL_MS",
                         "limits.clusterNodeTtlMs",
                         "A node silent this long is dropped from the cluster.",
                         &Limits::cluster_node_ttl, 200, kOneDayMs));
    t.push_back(ms_limit("cluster-command-timeout-ms", "WPS_CLUSTER_COMMAND_TIMEOUT_MS",
                         "limits.clusterCommandTimeoutMs",
                         "How long a REST management call waits for the other nodes.",
                         &Limits::cluster_command_timeout, 1, kOneDayMs));
    t.push_back(ms_limit("cluster-unsubscribe-grace-ms", "WPS_CLUSTER_UNSUBSCRIBE_GRACE_MS",
                         "limits.clusterUnsubscribeGraceMs",
                         "How long a node keeps a group's channel after its last member left.",
                         &Limits::cluster_unsubscribe_grace, 0, kOneDayMs));
    t.push_back(
        {"cluster-session-recovery", "WPS_CLUSTER_SESSION_RECOVERY",
         "limits.clusterSessionRecovery", "BOOL",
         "Reliable clients resume their session on any node (publications are logged "
         "in Redis).",
         [](Config& c, const Input& in) { c.limits.cluster_session_recovery = in.boolean(); },
         [](const Config& c) { return show_bool(c.limits.cluster_session_recovery); },
         [](const Config&) { return std::string(); }});
    t.push_back(size_limit("cluster-log-max-entries", "WPS_CLUSTER_LOG_MAX_ENTRIES",
                           "limits.clusterLogMaxEntries",
                           "Entries a hub's publication log keeps in Redis (approximately).",
                           &Limits::cluster_log_max_entries, 1));
    t.push_back(size_limit("cluster-rest-threads", "WPS_CLUSTER_REST_THREADS",
                           "limits.clusterRestThreads",
                           "Threads answering REST calls in a cluster (they wait for other nodes).",
                           &Limits::cluster_rest_threads, 1));
    t.push_back(size_limit("metrics-max-hubs", "WPS_METRICS_MAX_HUBS", "limits.metricsMaxHubs",
                           "Hubs with a metrics label of their own; later ones are hub=\"_other\".",
                           &Limits::metrics_max_hubs, 1));
    t.push_back({"clock-skew-seconds", "WPS_CLOCK_SKEW_SECONDS", "limits.clockSkewSeconds", "S",
                 "Tolerance for token exp/nbf/iat (0..86400).",
                 [](Config& c, const Input& in) {
                   c.limits.clock_skew = std::chrono::seconds(
                       static_cast<std::chrono::seconds::rep>(in.integer(0, 86400)));
                 },
                 [](const Config& c) { return std::to_string(c.limits.clock_skew.count()); },
                 [](const Config& c) {
                   const auto v = c.limits.clock_skew.count();
                   return v < 0 ? std::to_string(v) + " is out of range (0..86400)"
                                : check_range(static_cast<std::uint64_t>(v), 0, 86400);
                 }});
    return t;
  }();
  return table;
}

const Setting* find_by_flag(std::string_view flag) {
  for (const Setting& s : settings()) {
    if (s.flag == flag) {
      return &s;
    }
  }
  return nullptr;
}

const Setting* find_by_key(std::string_view key) {
  for (const Setting& s : settings()) {
    if (s.key == key) {
      return &s;
    }
  }
  return nullptr;
}

// ---------------------------------------------------------------------------------------------
// Command line

struct FlagValue {
  const Setting* setting;
  Input input;
};

struct CommandLine {
  bool help = false;
  bool version = false;
  std::optional<std::string> config_file;
  bool emulator_format = false;  // the file came with --emulator-config
  std::vector<FlagValue> values;
  std::string error;  // first problem; reported unless --help was given
};

CommandLine parse_args(const std::vector<std::string>& args) {
  CommandLine cl;
  const auto note = [&cl](std::string message) {
    if (cl.error.empty()) {
      cl.error = std::move(message);
    }
  };
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "-h" || arg == "--help") {
      cl.help = true;
      continue;
    }
    if (arg == "--version") {
      cl.version = true;
      continue;
    }
    if (!arg.starts_with("--") || arg.size() == 2) {
      // A stray word is not echoed: it may be a secret that lost its flag (and would reach logs).
      if (arg == "-" || arg == "--" || (arg.size() == 2 && arg[0] == '-'))
        note("unknown flag '" + arg + "' (see --help)");
      else
        note("unexpected argument #" + std::to_string(i + 1) +
             " (flags start with --; a boolean flag takes its value as --flag=false)");
      continue;
    }
    const auto eq = arg.find('=');
    const std::string name = arg.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
    std::optional<std::string> value;
    if (eq != std::string::npos) {
      value = arg.substr(eq + 1);
    }
    const std::string label = "--" + name;
    const Setting* setting = find_by_flag(name);
    const bool is_config = name == "config" || name == "emulator-config";
    if (name == "help" || name == "version") {
      note(label + " takes no value");
      continue;
    }
    if (setting == nullptr && !is_config) {
      // Echoed only when it looks like a flag name (lower case, digits, dashes), never a value.
      const bool plain = name.size() <= 40 && std::all_of(name.begin(), name.end(), [](char ch) {
                           return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-';
                         });
      note(plain ? "unknown flag '" + label + "' (see --help)"
                 : "unknown flag (argument #" + std::to_string(i + 1) + "; see --help)");
      continue;
    }
    if (!value && (is_config || !setting->is_switch())) {
      if (i + 1 < args.size() && !args[i + 1].starts_with("--")) {
        value = args[++i];
      } else {
        note(label + ": missing value");
        continue;
      }
    }
    if (is_config) {
      if (cl.config_file && (name == "emulator-config") != cl.emulator_format)
        note("give either --config or --emulator-config, not both");
      cl.config_file = *value;
      cl.emulator_format = name == "emulator-config";
    } else {
      cl.values.push_back({setting, Input(label, value ? *value : std::string("true"))});
    }
  }
  return cl;
}

// ---------------------------------------------------------------------------------------------
// Config file

// What one hub entry of the config file says; unset fields come from _default.
struct HubEntry {
  std::string name;  // as written, for messages
  std::optional<bool> allow_anonymous;
  std::optional<std::vector<EventHandler>> event_handlers;
};

std::string file_label(const std::string& path) {
  return std::string(kFileSource) + ": " + path;
}

[[noreturn]] void unknown_key(const std::string& path) {
  throw LoadError(std::string(kFileSource) + ": unknown setting '" + path + "'");
}

const json::object& expect_object(const json::value& v, const std::string& path) {
  if (!v.is_object()) {
    throw LoadError(file_label(path) + ": expected an object, got " + describe(v));
  }
  return v.get_object();
}

const json::array& expect_array(const json::value& v, const std::string& path) {
  if (!v.is_array()) {
    throw LoadError(file_label(path) + ": expected an array, got " + describe(v));
  }
  return v.get_array();
}

std::string checked_text(const json::value& v, const std::string& path,
                         std::string (*check)(std::string_view), bool lower = false) {
  const Input in(file_label(path), v);
  std::string text = in.text();
  if (lower) {
    text = util::to_lower(text);
  }
  if (auto problem = check(text); !problem.empty()) {
    in.fail(problem);
  }
  return text;
}

EventHandler parse_event_handler(const json::value& v, const std::string& path) {
  EventHandler handler;
  bool has_url = false;
  for (const auto& [key, value] : expect_object(v, path)) {
    const std::string field = path + "." + std::string(key);
    if (key == "urlTemplate") {
      handler.url_template = checked_text(value, field, check_url_template);
      has_url = true;
    } else if (key == "systemEvents") {
      const json::array& events = expect_array(value, field);
      for (std::size_t i = 0; i < events.size(); ++i) {
        const std::string event = checked_text(events[i], field + "[" + std::to_string(i) + "]",
                                               check_system_event, true);
        if (std::find(handler.system_events.begin(), handler.system_events.end(), event) ==
            handler.system_events.end()) {
          handler.system_events.push_back(event);
        }
      }
    } else if (key == "userEventPattern") {
      handler.user_event_pattern = checked_text(value, field, check_user_event_pattern);
    } else if (key == "groupPresenceEvents") {
      // {"eventNames": ["joined", "left"]}, as the service's ARM model spells it.
      for (const auto& [gp_key, gp_value] : expect_object(value, field)) {
        const std::string gp_field = field + "." + std::string(gp_key);
        if (gp_key != "eventNames")
          unknown_key(gp_field);
        const json::array& names = expect_array(gp_value, gp_field);
        for (std::size_t i = 0; i < names.size(); ++i) {
          const std::string name = checked_text(names[i], gp_field + "[" + std::to_string(i) + "]",
                                                check_group_presence_event, true);
          if (std::find(handler.group_presence_events.begin(), handler.group_presence_events.end(),
                        name) == handler.group_presence_events.end()) {
            handler.group_presence_events.push_back(name);
          }
        }
      }
    } else {
      unknown_key(field);
    }
  }
  if (!has_url) {
    throw LoadError(file_label(path) + ": missing urlTemplate");
  }
  return handler;
}

HubEntry parse_hub(const std::string& name, const json::value& v, const std::string& path) {
  HubEntry entry;
  entry.name = name;
  for (const auto& [key, value] : expect_object(v, path)) {
    const std::string field = path + "." + std::string(key);
    if (key == "allowAnonymous") {
      entry.allow_anonymous = Input(file_label(field), value).boolean();
    } else if (key == "eventHandlers") {
      const json::array& handlers = expect_array(value, field);
      std::vector<EventHandler> parsed;
      for (std::size_t i = 0; i < handlers.size(); ++i) {
        parsed.push_back(parse_event_handler(handlers[i], field + "[" + std::to_string(i) + "]"));
      }
      entry.event_handlers = std::move(parsed);
    } else {
      unknown_key(field);
    }
  }
  return entry;
}

void apply_hub_entry(const HubEntry& entry, HubSettings& hub) {
  if (entry.allow_anonymous) {
    hub.allow_anonymous = *entry.allow_anonymous;
  }
  if (entry.event_handlers) {
    hub.event_handlers = *entry.event_handlers;
  }
}

// Offset -> "line L, column C" (1-based) in `text`.
std::string position(const std::string& text, std::size_t offset) {
  std::size_t line = 1;
  std::size_t column = 1;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(column);
}

// A Boost.JSON parse handler that builds nothing and finds the first key written twice in one
// object: parsing into a json::value silently keeps only the last one, hiding a mistake.
class DuplicateKeyFinder {
 public:
  static constexpr std::size_t max_array_size = std::numeric_limits<std::size_t>::max();
  static constexpr std::size_t max_object_size = std::numeric_limits<std::size_t>::max();
  static constexpr std::size_t max_string_size = std::numeric_limits<std::size_t>::max();
  static constexpr std::size_t max_key_size = std::numeric_limits<std::size_t>::max();

  const std::string& duplicate() const { return duplicate_; }

  bool on_document_begin(json::error_code&) { return true; }
  bool on_document_end(json::error_code&) { return true; }
  bool on_array_begin(json::error_code&) { return begin(false); }
  bool on_array_end(std::size_t, json::error_code&) { return end(); }
  bool on_object_begin(json::error_code&) { return begin(true); }
  bool on_object_end(std::size_t, json::error_code&) { return end(); }
  bool on_string_part(json::string_view, std::size_t, json::error_code&) { return true; }
  bool on_string(json::string_view, std::size_t, json::error_code&) { return value_done(); }
  bool on_key_part(json::string_view s, std::size_t, json::error_code&) {
    key_.append(s.data(), s.size());
    return true;
  }
  bool on_key(json::string_view s, std::size_t, json::error_code&) {
    key_.append(s.data(), s.size());
    last_key_ = std::move(key_);
    key_.clear();
    if (!stack_.back().keys.insert(last_key_).second && duplicate_.empty()) {
      duplicate_ = child_path();
    }
    return true;
  }
  bool on_number_part(json::string_view, json::error_code&) { return true; }
  bool on_int64(std::int64_t, json::string_view, json::error_code&) { return value_done(); }
  bool on_uint64(std::uint64_t, json::string_view, json::error_code&) { return value_done(); }
  bool on_double(double, json::string_view, json::error_code&) { return value_done(); }
  bool on_bool(bool, json::error_code&) { return value_done(); }
  bool on_null(json::error_code&) { return value_done(); }
  bool on_comment_part(json::string_view, json::error_code&) { return true; }
  bool on_comment(json::string_view, json::error_code&) { return true; }

 private:
  struct Frame {
    bool object;
    std::string path;
    std::set<std::string> keys;
    std::size_t index = 0;  // arrays: the element being read
  };

  std::string child_path() const {
    if (stack_.empty()) {
      return {};
    }
    const Frame& f = stack_.back();
    if (f.object) {
      return f.path.empty() ? last_key_ : f.path + "." + last_key_;
    }
    return f.path + "[" + std::to_string(f.index) + "]";
  }
  bool begin(bool object) {
    stack_.push_back(Frame{object, child_path(), {}, 0});
    return true;
  }
  bool end() {
    stack_.pop_back();
    return value_done();
  }
  bool value_done() {
    if (!stack_.empty() && !stack_.back().object) {
      ++stack_.back().index;
    }
    return true;
  }

  std::vector<Frame> stack_;
  std::string key_;
  std::string last_key_;
  std::string duplicate_;
};

json::value parse_json_file(const std::string& path, const std::string& source_label) {
  std::error_code fs_ec;
  if (std::filesystem::is_directory(path, fs_ec)) {
    throw LoadError(source_label + ": cannot read '" + path + "': it is a directory");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw LoadError(source_label + ": cannot read '" + path + "': " + std::strerror(errno));
  }
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (in.bad()) {
    throw LoadError(source_label + ": cannot read '" + path + "'");
  }
  json::parse_options options;
  options.allow_comments = true;
  options.allow_trailing_commas = true;

  // First pass: syntax (with the position of an error) and duplicate keys.
  json::basic_parser<DuplicateKeyFinder> checker(options);
  json::error_code ec;
  const std::size_t consumed = checker.write_some(false, text.data(), text.size(), ec);
  if (!ec && consumed < text.size()) {
    ec = json::error::extra_data;
  }
  if (ec) {
    throw LoadError(std::string(kFileSource) + ": '" + path + "' is not valid JSON at " +
                    position(text, consumed) + ": " + ec.message());
  }
  if (!checker.handler().duplicate().empty()) {
    throw LoadError(std::string(kFileSource) + ": duplicate key '" + checker.handler().duplicate() +
                    "'");
  }
  // Second pass: the value.
  return json::parse(text, {}, options);
}

// Reads the file's settings into `config` (top-level, limits, hubs._default) and returns the
// named hubs, to be completed from the final default hub.
std::vector<std::pair<std::string, HubEntry>> apply_file(const json::value& root, Config& config) {
  std::vector<std::pair<std::string, HubEntry>> hubs;  // lower-cased name -> entry
  for (const auto& [key_view, value] : expect_object(root, "(top level)")) {
    const std::string key(key_view);
    if (key == "limits") {
      for (const auto& [limit, limit_value] : expect_object(value, key)) {
        const std::string path = key + "." + std::string(limit);
        const Setting* s = find_by_key(path);
        if (s == nullptr) {
          unknown_key(path);
        }
        s->apply(config, Input(file_label(path), limit_value));
      }
    } else if (key == "hubs") {
      for (const auto& [name_view, hub_value] : expect_object(value, key)) {
        const std::string name(name_view);
        const std::string path = "hubs." + name;
        if (name == "_default") {
          apply_hub_entry(parse_hub(name, hub_value, path), config.default_hub);
          continue;
        }
        if (auto problem = check_hub_name(name); !problem.empty()) {
          throw LoadError(file_label(path) + ": " + problem);
        }
        std::string lower = util::to_lower(name);
        for (const auto& [other_lower, other] : hubs) {
          if (other_lower == lower) {
            throw LoadError(file_label(path) +
                            ": duplicate hub: hub names are case-insensitive "
                            "and '" +
                            other.name + "' is already listed");
          }
        }
        hubs.emplace_back(std::move(lower), parse_hub(name, hub_value, path));
      }
    } else {
      const Setting* s = find_by_key(key);
      if (s == nullptr || key.find('.') != std::string::npos) {
        unknown_key(key);
      }
      if (key == "secondaryAccessKey" && value.is_null()) {
        config.secondary_key.reset();  // null: explicitly none
        continue;
      }
      s->apply(config, Input(file_label(key), value));
    }
  }
  return hubs;
}

// ---------------------------------------------------------------------------------------------
// Help

std::string help_text() {
  const Config defaults;
  std::ostringstream out;
  out << "Usage: webpubsub-server [options]\n"
         "\n"
         "A server compatible with Azure Web PubSub. Settings come from, in increasing\n"
         "precedence: built-in defaults < config file < environment variables < flags.\n"
         "Flags take '--name value' or '--name=value'; switches are '--name' or\n"
         "'--name=true|false'; environment booleans accept true/false/1/0/yes/no.\n"
         "\n"
         "Options:\n"
         "  --config FILE\n"
         "      env WPS_CONFIG; default: none\n"
         "      JSON config file (comments and trailing commas allowed; see\n"
         "      docs/CONFIGURATION.md). Without it no file is read. A file in the format\n"
         "      of Microsoft's Web PubSub emulator (appsettings.json with a WebPubSub\n"
         "      section, Urls or Logging) is recognised and read as such.\n"
         "  --emulator-config FILE\n"
         "      env WPS_EMULATOR_CONFIG; default: none\n"
         "      Microsoft's emulator's appsettings.json (WebPubSub:AccessKey,\n"
         "      AllowUnvalidatedEntraTokens, Hubs:<hub>:EventHandlers; Urls; Logging),\n"
         "      instead of --config. Event handlers reload when the file changes.\n";
  for (const Setting& s : settings()) {
    out << "  --" << s.flag;
    if (!s.is_switch()) {
      out << ' ' << s.arg;
    }
    out << "\n      env " << s.env << "; file key " << s.key << "; default: " << s.show(defaults)
        << "\n      " << s.meaning << "\n";
  }
  out << "  --version\n"
         "      Print the version and exit.\n"
         "  -h, --help\n"
         "      Print this help and exit.\n";
  return out.str();
}

}  // namespace

LoadResult load_config(const std::vector<std::string>& args,
                       const std::map<std::string, std::string>& env) {
  LoadResult result;
  CommandLine cl = parse_args(args);
  if (cl.help) {
    result.help = true;
    result.help_text = help_text();
    return result;
  }
  if (cl.version && cl.error.empty()) {
    result.version = true;
    return result;
  }
  if (!cl.error.empty()) {
    result.error = cl.error;
    return result;
  }
  try {
    Config config;

    // Config file: --config / --emulator-config beat WPS_CONFIG / WPS_EMULATOR_CONFIG.
    std::optional<std::string> file;
    std::string file_source;
    bool emulator_format = false;
    if (cl.config_file) {
      file = cl.config_file;
      emulator_format = cl.emulator_format;
      file_source = emulator_format ? "--emulator-config" : "--config";
    } else {
      const auto plain = env.find("WPS_CONFIG");
      const auto emulator = env.find("WPS_EMULATOR_CONFIG");
      if (plain != env.end() && emulator != env.end()) {
        throw LoadError("set either WPS_CONFIG or WPS_EMULATOR_CONFIG, not both");
      }
      if (plain != env.end()) {
        file = plain->second;
        file_source = "WPS_CONFIG";
      } else if (emulator != env.end()) {
        file = emulator->second;
        file_source = "WPS_EMULATOR_CONFIG";
        emulator_format = true;
      }
    }
    std::vector<std::pair<std::string, HubEntry>> hubs;
    if (file) {
      if (file->empty()) {
        throw LoadError(file_source + ": the file name must not be empty");
      }
      result.config_file = *file;
      json::value root = parse_json_file(*file, file_source);
      // Microsoft's emulator's appsettings.json is recognised by its keys, or named as such.
      if (emulator_format || looks_like_emulator_settings(root)) {
        try {
          root = translate_emulator_settings(root);
        } catch (const EmulatorSettingsError& e) {
          throw LoadError(e.what());
        }
        result.emulator_format = true;
      }
      hubs = apply_file(root, config);
    }

    // Environment variables, then flags (in the order given; the last one wins).
    for (const Setting& s : settings()) {
      if (auto it = env.find(std::string(s.env)); it != env.end()) {
        s.apply(config, Input(std::string(s.env), it->second));
      }
    }
    for (const FlagValue& f : cl.values) {
      f.setting->apply(config, f.input);
    }

    // Listed hubs start from the final default hub, so e.g. --allow-anonymous reaches every
    // hub whose entry does not set allowAnonymous itself.
    for (const auto& [lower, entry] : hubs) {
      HubSettings hub = config.default_hub;
      apply_hub_entry(entry, hub);
      config.hubs.emplace(lower, std::move(hub));
    }

    if (auto problem = validate(config); !problem.empty()) {
      throw LoadError(problem);
    }
    result.config = std::move(config);
  } catch (const LoadError& e) {
    result.error = e.what();
  } catch (const std::exception& e) {
    result.error = std::string("configuration: ") + e.what();
  }
  return result;
}

std::string validate(const Config& config) {
  for (const Setting& s : settings()) {
    if (auto problem = s.check(config); !problem.empty()) {
      return std::string(s.key) + ": " + problem;
    }
  }
  if (config.limits.max_pending_bytes < config.limits.max_message_bytes) {
    return "limits.maxPendingBytes (" + std::to_string(config.limits.max_pending_bytes) +
           ") must be at least limits.maxMessageBytes (" +
           std::to_string(config.limits.max_message_bytes) +
           "): a single largest message would close the connection";
  }
  const auto check_hub = [](const HubSettings& hub, const std::string& path) -> std::string {
    for (std::size_t i = 0; i < hub.event_handlers.size(); ++i) {
      if (auto problem = check_event_handler(hub.event_handlers[i]); !problem.empty()) {
        return path + ".eventHandlers[" + std::to_string(i) + "]." + problem;
      }
    }
    return {};
  };
  if (auto problem = check_hub(config.default_hub, "hubs._default"); !problem.empty()) {
    return problem;
  }
  for (const auto& [name, hub] : config.hubs) {
    if (auto problem = check_hub_name(name); !problem.empty()) {
      return "hubs." + name + ": " + problem;
    }
    if (name != util::to_lower(name)) {
      return "hubs." + name + ": hub keys must be lower-case";
    }
    if (auto problem = check_hub(hub, "hubs." + name); !problem.empty()) {
      return problem;
    }
  }
  return {};
}

}  // namespace wps::config
