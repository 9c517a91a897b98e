#include "config/emulator.hpp"

#include <array>
#include <boost/json.hpp>
#include <charconv>
#include <cstdint>
#include <map>
#include <optional>
#include <string_view>
#include <system_error>
#include <utility>

#include "config/checks.hpp"
#include "util/text.hpp"

namespace wps::config {
namespace {

namespace json = boost::json;

constexpr std::string_view kSource = "config file (Web PubSub emulator format)";

[[noreturn]] void fail(const std::string& path, const std::string& problem) {
  throw EmulatorSettingsError(std::string(kSource) + ": " + path + ": " + problem);
}

std::string kind_of(const json::value& v) {
  switch (v.kind()) {
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

// The members of an object by their lower-cased key (ASP.NET configuration keys are
// case-insensitive), each with the key as written for messages. Two keys that differ only in
// case are refused, as ASP.NET's JSON provider does.
struct Member {
  std::string key;  // as written
  const json::value* value;
};
std::map<std::string, Member> members(const json::value& v, const std::string& path) {
  if (!v.is_object())
    fail(path.empty() ? "(top level)" : path, "expected an object, got " + kind_of(v));
  std::map<std::string, Member> out;
  for (const auto& [key, value] : v.get_object()) {
    const std::string written(key);
    auto [it, inserted] = out.emplace(util::to_lower(written), Member{written, &value});
    if (!inserted)
      fail(path.empty() ? written : path + ":" + written,
           "duplicate setting: keys are case-insensitive and '" + it->second.key +
               "' is already given");
  }
  return out;
}

std::string join(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + ":" + key;
}

std::string text(const json::value& v, const std::string& path) {
  if (!v.is_string())
    fail(path, "expected a string, got " + kind_of(v));
  return std::string(v.get_string());
}

// A boolean, or its text as ASP.NET configuration stores it ("true", "False").
bool boolean(const json::value& v, const std::string& path) {
  if (v.is_bool())
    return v.get_bool();
  if (v.is_string()) {
    const std::string s = util::to_lower(util::trim_ows(v.get_string()));
    if (s == "true")
      return true;
    if (s == "false")
      return false;
  }
  fail(path, "expected true or false, got " + (v.is_string() ? quote(v.get_string()) : kind_of(v)));
}

void check(const std::string& path, const std::string& problem) {
  if (!problem.empty())
    fail(path, problem);
}

// "http://localhost:8080" -> host, port and whether it is https. "+" and "*" (ASP.NET's "every
// address") become 0.0.0.0; "[::1]" becomes ::1.
void translate_urls(const json::value& v, const std::string& path, json::object& out) {
  const std::string all = text(v, path);
  std::string_view url = util::trim_ows(all);
  if (url.find(';') != std::string_view::npos)
    fail(path,
         "several listen URLs are not supported; give one (http://localhost:PORT listens on "
         "both 127.0.0.1 and ::1)");
  bool tls = false;
  if (util::istarts_with(url, "http://")) {
    url.remove_prefix(7);
  } else if (util::istarts_with(url, "https://")) {
    url.remove_prefix(8);
    tls = true;
  } else {
    fail(path, quote(all) + " is not an http:// or https:// URL");
  }
  const auto slash = url.find('/');
  if (slash != std::string_view::npos && slash + 1 != url.size())
    fail(path, quote(all) + ": a listen URL has no path");
  std::string_view authority = url.substr(0, slash);
  std::string_view host = authority;
  std::string_view port_text;
  if (authority.starts_with('[')) {
    const auto close = authority.find(']');
    if (close == std::string_view::npos)
      fail(path, quote(all) + ": unterminated [ in the host");
    host = authority.substr(1, close - 1);
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty() && !after.starts_with(':'))
      fail(path, quote(all) + ": unexpected text after the host");
    port_text = after.empty() ? after : after.substr(1);
  } else if (const auto colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port_text = authority.substr(colon + 1);
  }
  unsigned port = tls ? 443 : 80;
  if (!port_text.empty() || authority.ends_with(':')) {
    const auto [end, ec] =
        std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (port_text.empty() || ec != std::errc() || end != port_text.data() + port_text.size() ||
        port > 65535)
      fail(path, quote(all) + ": the port must be a number 0..65535");
  }
  std::string listen_host(host);
  if (listen_host == "+" || listen_host == "*")
    listen_host = "0.0.0.0";
  check(path, check_host(listen_host));
  out["host"] = listen_host;
  out["port"] = port;
  if (tls)
    out["tlsSelfSigned"] = true;
}

// Logging:LogLevel:Default; the other categories name ASP.NET components this server does not
// have, and other Logging settings (providers, formats) do not apply to its one log.
void translate_logging(const json::value& v, const std::string& path, json::object& out) {
  const auto logging = members(v, path);
  const auto it = logging.find("loglevel");
  if (it == logging.end())
    return;
  const std::string level_path = join(path, it->second.key);
  const auto levels = members(*it->second.value, level_path);
  const auto def = levels.find("default");
  if (def == levels.end())
    return;
  const std::string default_path = join(level_path, def->second.key);
  const std::string given = text(*def->second.value, default_path);
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 7> kLevels = {{
      {"trace", "trace"},
      {"debug", "debug"},
      {"information", "info"},
      {"warning", "warn"},
      {"error", "error"},
      {"critical", "error"},
      {"none", "error"},
  }};
  for (const auto& [name, level] : kLevels) {
    if (util::iequals(util::trim_ows(given), name)) {
      out["logLevel"] = level;
      return;
    }
  }
  fail(default_path, quote(given) +
                         " is not a log level (Trace, Debug, Information, Warning, Error, "
                         "Critical, None)");
}

json::object translate_handler(const json::value& v, const std::string& path) {
  json::object handler;
  for (const auto& [lower, m] : members(v, path)) {
    const std::string field = join(path, m.key);
    const json::value& value = *m.value;
    if (lower == "urltemplate") {
      const std::string url = text(value, field);
      check(field, check_url_template(url));
      handler["urlTemplate"] = url;
    } else if (lower == "systemevents") {
      if (!value.is_array())
        fail(field, "expected an array, got " + kind_of(value));
      json::array events;
      for (std::size_t i = 0; i < value.get_array().size(); ++i) {
        const std::string event_path = join(field, std::to_string(i));
        const std::string event =
            util::to_lower(util::trim_ows(text(value.get_array()[i], event_path)));
        check(event_path, check_system_event(event));
        events.emplace_back(event);
      }
      handler["systemEvents"] = std::move(events);
    } else if (lower == "eventpattern") {
      if (value.is_null())
        continue;
      const std::string pattern = text(value, field);
      check(field, check_user_event_pattern(pattern));
      handler["userEventPattern"] = pattern;
    } else if (lower == "auth") {
      fail(field,
           "outbound event-handler authentication is not supported (Microsoft's emulator "
           "refuses it too); remove the Auth setting");
    } else {
      fail(field,
           "unknown setting (an event handler has UrlTemplate, SystemEvents and "
           "EventPattern)");
    }
  }
  if (!handler.contains("urlTemplate"))
    fail(path, "missing UrlTemplate");
  return handler;
}

json::object translate_hub(const json::value& v, const std::string& path) {
  json::object hub;
  for (const auto& [lower, m] : members(v, path)) {
    const std::string field = join(path, m.key);
    const json::value& value = *m.value;
    if (lower == "eventhandlers") {
      if (!value.is_array())
        fail(field, "expected an array, got " + kind_of(value));
      json::array handlers;
      for (std::size_t i = 0; i < value.get_array().size(); ++i)
        handlers.emplace_back(
            translate_handler(value.get_array()[i], join(field, std::to_string(i))));
      hub["eventHandlers"] = std::move(handlers);
    } else if (lower == "eventlisteners") {
      fail(field,
           "Event Hubs listeners are not supported by webpubsub-server; remove EventListeners "
           "and receive the events with an event handler (EventHandlers) instead");
    } else {
      fail(field, "unknown setting (a hub has EventHandlers)");
    }
  }
  return hub;
}

void translate_web_pubsub(const json::value& v, const std::string& path, json::object& out) {
  for (const auto& [lower, m] : members(v, path)) {
    const std::string field = join(path, m.key);
    const json::value& value = *m.value;
    if (lower == "accesskey") {
      const std::string key = text(value, field);
      check(field, check_access_key(key));
      out["accessKey"] = key;
    } else if (lower == "allowunvalidatedentratokens") {
      out["allowUnvalidatedEntraTokens"] = boolean(value, field);
    } else if (lower == "hubs") {
      json::object hubs;
      for (const auto& [hub_lower, hub] : members(value, field)) {
        const std::string hub_path = join(field, hub.key);
        if (hub.key != "_default")
          check(hub_path, check_hub_name(hub.key));
        hubs[hub.key] = translate_hub(*hub.value, hub_path);
      }
      out["hubs"] = std::move(hubs);
    } else {
      fail(field,
           "unknown setting (supported: AccessKey, AllowUnvalidatedEntraTokens, Hubs; see "
           "docs/CONFIGURATION.md)");
    }
  }
}

}  // namespace

bool looks_like_emulator_settings(const json::value& root) {
  if (!root.is_object())
    return false;
  for (const auto& [key, value] : root.get_object()) {
    const std::string lower = util::to_lower(key);
    if (lower == "webpubsub" || lower == "urls" || lower == "logging" || lower == "allowedhosts")
      return true;
  }
  return false;
}

json::object translate_emulator_settings(const json::value& root) {
  json::object out;
  for (const auto& [lower, m] : members(root, "")) {
    const json::value& value = *m.value;
    if (lower == "webpubsub") {
      translate_web_pubsub(value, m.key, out);
    } else if (lower == "urls") {
      translate_urls(value, m.key, out);
    } else if (lower == "logging") {
      translate_logging(value, m.key, out);
    } else if (lower == "allowedhosts") {
      // ASP.NET's host filtering: "*" (the template's value) filters nothing.
      if (!value.is_string() || util::trim_ows(value.get_string()) != "*")
        fail(m.key, "host filtering is not supported; use \"*\" or remove AllowedHosts");
    } else {
      fail(m.key,
           "unknown setting (supported: WebPubSub, Urls, Logging, AllowedHosts; see "
           "docs/CONFIGURATION.md)");
    }
  }
  return out;
}

}  // namespace wps::config
