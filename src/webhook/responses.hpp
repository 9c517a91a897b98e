#pragma once
// Pure functions that interpret what an event handler answered (spec §8.2, §8.5, §8.7, §8.9).
// Header-only and free of I/O so that the fuzz target and the tests can call them directly. The
// size of a body is bounded before it gets here: the HTTP client reads at most
// Limits::max_event_handler_response_bytes.

#include <boost/json.hpp>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "protocol/messages.hpp"
#include "util/text.hpp"

namespace wps::webhook {

// "application/json; charset=utf-8" -> "application/json" (lower-cased, trimmed).
inline std::string media_type(std::string_view content_type) {
  auto semi = content_type.find(';');
  return util::to_lower(util::trim_ows(content_type.substr(0, semi)));
}

// ---- abuse protection (§8.2) ------------------------------------------------------------

// `allowed_origin_headers`: every WebHook-Allowed-Origin header line of the response; each may
// be a comma list. True when one entry is "*" or equals `origin` (case-insensitive).
inline bool origin_allowed(const std::vector<std::string>& allowed_origin_headers,
                           std::string_view origin) {
  for (const auto& line : allowed_origin_headers) {
    std::string_view rest = line;
    while (true) {
      auto comma = rest.find(',');
      auto entry = util::trim_ows(rest.substr(0, comma));
      if (entry == "*" || (!entry.empty() && util::iequals(entry, origin)))
        return true;
      if (comma == std::string_view::npos)
        break;
      rest.remove_prefix(comma + 1);
    }
  }
  return false;
}

// ---- connect (§8.5) ---------------------------------------------------------------------

struct ConnectResponseBody {
  bool ok = false;
  std::string error;  // when !ok
  std::optional<std::string> user_id;
  std::optional<std::vector<std::string>> groups;
  std::optional<std::vector<std::string>> roles;
  std::optional<std::string> subprotocol;
};

namespace detail {
inline bool string_array(const boost::json::value& value, std::vector<std::string>& out) {
  const auto* array = value.if_array();
  if (array == nullptr)
    return false;
  out.clear();
  out.reserve(array->size());
  for (const auto& item : *array) {
    const auto* text = item.if_string();
    if (text == nullptr)
      return false;
    out.emplace_back(text->data(), text->size());
  }
  return true;
}
}  // namespace detail

// Body of a 2xx connect response. Empty (or whitespace) and `null` accept with defaults; else a
// JSON object whose known fields have the right types (null counts as absent). Anything else is
// an error (the caller rejects the client with 500).
inline ConnectResponseBody parse_connect_response(std::string_view body) {
  ConnectResponseBody out;
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) {  // JSON white space
    out.ok = true;
    return out;
  }
  boost::system::error_code ec;
  boost::json::parse_options options;
  options.max_depth = 64;
  boost::json::value value = boost::json::parse(body, ec, {}, options);
  if (ec) {
    out.error = "connect response body is not valid JSON";
    return out;
  }
  if (value.is_null()) {
    out.ok = true;
    return out;
  }
  const auto* object = value.if_object();
  if (object == nullptr) {
    out.error = "connect response body is not a JSON object";
    return out;
  }
  for (const auto& member : *object) {
    std::string_view key(member.key().data(), member.key().size());
    const auto& field = member.value();
    if (field.is_null())
      continue;
    if (key == "userId") {
      const auto* text = field.if_string();
      if (text == nullptr) {
        out.error = "connect response: userId must be a string";
        return out;
      }
      out.user_id = std::string(text->data(), text->size());
    } else if (key == "groups" || key == "roles") {
      std::vector<std::string> list;
      if (!detail::string_array(field, list)) {
        out.error = "connect response: " + std::string(key) + " must be an array of strings";
        return out;
      }
      (key == "groups" ? out.groups : out.roles) = std::move(list);
    } else if (key == "subprotocol") {
      const auto* text = field.if_string();
      if (text == nullptr || text->empty()) {
        out.error = "connect response: subprotocol must be a non-empty string";
        return out;
      }
      out.subprotocol = std::string(text->data(), text->size());
    }
  }
  out.ok = true;
  return out;
}

// ---- MQTT connect answers (spec mqtt §8.2) ----------------------------------------------

// The `mqtt` object of a connect response body (success or failure): the CONNACK code of a
// refusal, its reason string and the user properties. Whatever is missing or of the wrong type
// is absent; never fails.
struct MqttConnectAnswer {
  std::optional<int> code;
  std::optional<std::string> reason;
  std::vector<std::pair<std::string, std::string>> user_properties;
};

inline MqttConnectAnswer parse_mqtt_connect_answer(std::string_view body) {
  MqttConnectAnswer out;
  boost::system::error_code ec;
  boost::json::value root = boost::json::parse(body, ec);
  if (ec || !root.is_object())
    return out;
  const auto* mqtt = root.as_object().if_contains("mqtt");
  if (mqtt == nullptr || !mqtt->is_object())
    return out;
  const auto& object = mqtt->as_object();
  if (const auto* code = object.if_contains("code")) {
    if (code->is_int64() && code->as_int64() >= 0 && code->as_int64() <= 255)
      out.code = static_cast<int>(code->as_int64());
    else if (code->is_uint64() && code->as_uint64() <= 255)
      out.code = static_cast<int>(code->as_uint64());
  }
  if (const auto* reason = object.if_contains("reason"); reason && reason->is_string())
    out.reason = std::string(reason->as_string());
  if (const auto* props = object.if_contains("userProperties"); props && props->is_array()) {
    for (const auto& item : props->as_array()) {
      const auto* entry = item.if_object();
      if (entry == nullptr)
        continue;
      const auto* name = entry->if_contains("name");
      const auto* value = entry->if_contains("value");
      if (name && value && name->is_string() && value->is_string())
        out.user_properties.emplace_back(std::string(name->as_string()),
                                         std::string(value->as_string()));
    }
  }
  return out;
}

// ---- user events (§8.7) -----------------------------------------------------------------

struct UserEventReply {
  bool ok = false;
  std::string error;                       // when !ok
  std::optional<protocol::Payload> reply;  // empty body -> none
};

// Body of a 2xx user-event response with its Content-Type header (nullopt when absent).
inline UserEventReply parse_user_event_response(std::optional<std::string_view> content_type,
                                                std::string body) {
  UserEventReply out;
  if (body.empty()) {
    out.ok = true;
    return out;
  }
  protocol::DataType type = protocol::DataType::binary;
  std::string media = content_type ? media_type(*content_type) : std::string();
  if (media.empty() || media == "application/octet-stream") {
    type = protocol::DataType::binary;
  } else if (media == "text/plain") {
    type = protocol::DataType::text;
  } else if (media == "application/json") {
    boost::system::error_code ec;
    boost::json::parse_options options;
    options.max_depth = 64;
    boost::json::value value = boost::json::parse(body, ec, {}, options);
    if (ec) {
      out.error = "user event response: body is not valid JSON";
      return out;
    }
    // Canonical form of a json payload: the serialized value.
    body = boost::json::serialize(value);
    type = protocol::DataType::json;
  } else {
    out.error = "user event response: unsupported Content-Type '" + media.substr(0, 64) + "'";
    return out;
  }
  out.ok = true;
  out.reply = protocol::Payload{type, std::move(body)};
  return out;
}

// ---- cookies (§8.9) ---------------------------------------------------------------------

// Merges the Set-Cookie header lines of a response into a Cookie header value ("a=1; b=2").
// Only the name=value pair of each line counts; `Max-Age=0` (or negative) deletes the cookie.
inline std::string merge_cookies(std::string_view jar,
                                 const std::vector<std::string>& set_cookies) {
  std::vector<std::pair<std::string, std::string>> cookies;
  std::string_view rest = jar;
  while (!rest.empty()) {
    auto semi = rest.find(';');
    auto pair = util::trim_ows(rest.substr(0, semi));
    auto eq = pair.find('=');
    if (eq != std::string_view::npos && !util::trim_ows(pair.substr(0, eq)).empty()) {
      cookies.emplace_back(std::string(util::trim_ows(pair.substr(0, eq))),
                           std::string(util::trim_ows(pair.substr(eq + 1))));
    }
    if (semi == std::string_view::npos)
      break;
    rest.remove_prefix(semi + 1);
  }
  for (const auto& line : set_cookies) {
    std::string_view text = line;
    auto semi = text.find(';');
    auto pair = util::trim_ows(text.substr(0, semi));
    auto eq = pair.find('=');
    if (eq == std::string_view::npos)
      continue;
    std::string name(util::trim_ows(pair.substr(0, eq)));
    std::string value(util::trim_ows(pair.substr(eq + 1)));
    if (name.empty())
      continue;
    bool remove = false;
    if (semi != std::string_view::npos) {
      std::string attributes = util::to_lower(text.substr(semi + 1));
      auto at = attributes.find("max-age=");
      if (at != std::string::npos) {
        auto number = util::trim_ows(std::string_view(attributes).substr(at + 8));
        number = util::trim_ows(number.substr(0, number.find(';')));
        if (!number.empty() && number.front() == '-') {
          remove = true;
        } else if (!number.empty()) {
          remove = number.find_first_not_of('0') == std::string_view::npos;
        }
      }
    }
    auto it = cookies.begin();
    while (it != cookies.end() && it->first != name)
      ++it;
    if (remove) {
      if (it != cookies.end())
        cookies.erase(it);
    } else if (it != cookies.end()) {
      it->second = std::move(value);
    } else {
      cookies.emplace_back(std::move(name), std::move(value));
    }
  }
  std::string out;
  for (const auto& [name, value] : cookies) {
    if (!out.empty())
      out += "; ";
    out += name;
    out += '=';
    out += value;
  }
  return out;
}

}  // namespace wps::webhook
