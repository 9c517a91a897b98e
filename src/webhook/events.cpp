#include "webhook/events.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <boost/json.hpp>
#include <cstdio>
#include <ctime>

#include "util/base64.hpp"
#include "util/text.hpp"
#include "webhook/responses.hpp"

namespace wps::webhook {

namespace {

boost::json::object multimap_json(const Multimap& map) {
  boost::json::object object;
  for (const auto& [key, values] : map) {
    boost::json::array array;
    for (const auto& value : values)
      array.emplace_back(value);
    object[key] = std::move(array);
  }
  return object;
}

}  // namespace

std::string expand_url_template(std::string_view url_template, std::string_view hub,
                                std::string_view event) {
  std::string out;
  out.reserve(url_template.size() + hub.size() + event.size());
  std::size_t i = 0;
  while (i < url_template.size()) {
    if (url_template[i] == '{') {
      auto close = url_template.find('}', i);
      if (close != std::string_view::npos) {
        auto name = url_template.substr(i + 1, close - i - 1);
        if (util::iequals(name, "hub")) {
          out += util::percent_encode(hub);
          i = close + 1;
          continue;
        }
        if (util::iequals(name, "event")) {
          out += util::percent_encode(event);
          i = close + 1;
          continue;
        }
      }
    }
    out += url_template[i];
    ++i;
  }
  return out;
}

bool user_event_matches(std::string_view pattern, std::string_view event) {
  std::string_view rest = pattern;
  while (true) {
    auto comma = rest.find(',');
    auto entry = util::trim_ows(rest.substr(0, comma));
    if (entry == "*" || (!entry.empty() && util::iequals(entry, event)))
      return true;
    if (comma == std::string_view::npos)
      return false;
    rest.remove_prefix(comma + 1);
  }
}

bool is_group_presence_event(std::string_view event) {
  return event == "joined" || event == "left";
}

const config::EventHandler* select_handler(const config::HubSettings& hub, std::string_view event,
                                           bool user) {
  for (const auto& handler : hub.event_handlers) {
    if (user) {
      if (user_event_matches(handler.user_event_pattern, event))
        return &handler;
    } else if (is_group_presence_event(event)) {
      for (const auto& name : handler.group_presence_events) {
        if (util::iequals(util::trim_ows(name), event))
          return &handler;
      }
    } else {
      for (const auto& name : handler.system_events) {
        if (util::iequals(util::trim_ows(name), event))
          return &handler;
      }
    }
  }
  return nullptr;
}

std::string hmac_sha256_hex(std::string_view key, std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest.data(), &length);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(length * 2U);
  for (unsigned int i = 0; i < length; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 0x0F];
  }
  return out;
}

std::string compute_signature(std::string_view connection_id, std::string_view primary_key,
                              const std::optional<std::string>& secondary_key) {
  std::string out = "sha256=" + hmac_sha256_hex(primary_key, connection_id);
  if (secondary_key && !secondary_key->empty()) {
    out += ",sha256=" + hmac_sha256_hex(*secondary_key, connection_id);
  }
  return out;
}

std::string utc_timestamp(std::chrono::system_clock::time_point when) {
  auto seconds = std::chrono::time_point_cast<std::chrono::seconds>(when);
  auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(when - seconds).count();
  std::time_t time = std::chrono::system_clock::to_time_t(seconds);
  std::tm tm{};
  gmtime_r(&time, &tm);
  std::array<char, 40> buffer{};
  std::strftime(buffer.data(), buffer.size(), "%Y-%m-%dT%H:%M:%S", &tm);
  std::array<char, 8> fraction{};
  std::snprintf(fraction.data(), fraction.size(), ".%03dZ", static_cast<int>(millis));
  return std::string(buffer.data()) + fraction.data();
}

std::string connect_body(const ConnectRequest& request) {
  boost::json::object body;
  body["claims"] = multimap_json(request.claims);
  body["query"] = multimap_json(request.query);
  body["headers"] = multimap_json(request.headers);
  boost::json::array subprotocols;
  for (const auto& name : request.subprotocols)
    subprotocols.emplace_back(name);
  body["subprotocols"] = std::move(subprotocols);
  body["clientCertificates"] = boost::json::array();
  if (request.mqtt) {
    const auto& m = *request.mqtt;
    boost::json::object mqtt;
    mqtt["protocolVersion"] = m.protocol_version;
    mqtt["cleanStart"] = m.clean_start;
    mqtt["username"] = m.username ? boost::json::value(*m.username) : boost::json::value(nullptr);
    mqtt["password"] = m.password ? boost::json::value(util::base64_encode(*m.password))
                                  : boost::json::value(nullptr);
    if (m.user_properties.empty()) {
      mqtt["userProperties"] = nullptr;
    } else {
      boost::json::array properties;
      for (const auto& [name, value] : m.user_properties)
        properties.push_back(boost::json::object{{"name", name}, {"value", value}});
      mqtt["userProperties"] = std::move(properties);
    }
    body["mqtt"] = std::move(mqtt);
  }
  return boost::json::serialize(body);
}

std::string_view content_type_for(protocol::DataType type) noexcept {
  switch (type) {
    case protocol::DataType::json:
      return "application/json";
    case protocol::DataType::text:
      return "text/plain";
    case protocol::DataType::binary:
      return "application/octet-stream";
    case protocol::DataType::protobuf:
      return "application/x-protobuf";
  }
  return "application/octet-stream";
}

}  // namespace wps::webhook
