// The :send operations (spec §4.4): the body becomes one server message, published through the
// node to its scope; fire-and-forget (202 even when nobody receives it).

#include <boost/json/parse.hpp>
#include <boost/json/parse_options.hpp>
#include <chrono>

#include "api/api_error.hpp"
#include "api/handlers.hpp"
#include "util/text.hpp"

namespace wps::api {

namespace http = boost::beast::http;

namespace {

constexpr long long kMaxTtlSeconds = 300;

// The media type of the Content-Type header, lower-cased, without parameters; empty if absent.
std::string media_type(const Request& request) {
  const std::string_view value = request[http::field::content_type];
  return util::to_lower(util::trim_ows(value.substr(0, value.find(';'))));
}

protocol::Payload read_payload(const Call& call) {
  const std::string& body = call.request.body();
  if (body.size() > call.config.limits.max_message_bytes) {
    fail(413, "PayloadTooLarge",
         "The message is larger than " + std::to_string(call.config.limits.max_message_bytes) +
             " bytes.");
  }
  const std::string type = media_type(call.request);
  protocol::Payload payload;
  if (type == "application/json") {
    boost::json::parse_options options;
    options.max_depth = 1000;
    boost::system::error_code ec;
    boost::json::parse(body, ec, {}, options);
    if (ec)
      bad_request("The message body is not valid JSON: " + ec.message() + ".");
    payload.type = protocol::DataType::json;
  } else if (type == "text/plain") {
    // Text frames and JSON strings must be UTF-8: ill-formed bytes become U+FFFD, as a UTF-8
    // decoder does.
    payload.type = protocol::DataType::text;
    payload.bytes = util::to_valid_utf8(body);
    return payload;
  } else if (type == "application/octet-stream") {
    payload.type = protocol::DataType::binary;
  } else {
    fail(415, "UnsupportedMediaType",
         type.empty() ? "The Content-Type header is required: application/json, text/plain or "
                        "application/octet-stream."
                      : "Unsupported Content-Type '" + type +
                            "': use application/json, text/plain or application/octet-stream.");
  }
  payload.bytes = body;
  return payload;
}

std::shared_ptr<core::Message> read_message(const Call& call) {
  // Validate the query before the body so that a bad TTL is reported whatever the body.
  const long long ttl = call.query.integer("messageTtlSeconds", 0, kMaxTtlSeconds).value_or(0);
  auto message = std::make_shared<core::Message>();
  message->from = protocol::MessageSource::server;
  message->payload = read_payload(call);
  if (ttl > 0)
    message->expires_at = std::chrono::steady_clock::now() + std::chrono::seconds(ttl);
  return message;
}

Response publish(const Call& call, core::Scope scope, std::string target, bool with_excluded,
                 bool with_filter) {
  core::Publication publication;
  publication.hub = call.hub;
  publication.scope = scope;
  publication.target = std::move(target);
  if (with_filter)
    publication.filter = filter_param(call);
  if (with_excluded)
    publication.excluded = excluded_param(call);
  auto message = read_message(call);
  if (scope == core::Scope::group) {
    // A REST send to a group reaches PubSub clients as a group message without a sender
    // ("fromUserId": null), which is what the client SDK's group-message event listens for.
    message->from = protocol::MessageSource::group;
    message->group = publication.target;
  }
  publication.message = std::move(message);
  call.node.publish(publication);
  return empty_response(202, call.request);
}

}  // namespace

Response send_to_all(const Call& call) {
  return publish(call, core::Scope::all, {}, true, true);
}

Response send_to_group(const Call& call) {
  return publish(call, core::Scope::group, group_param(call), true, true);
}

Response send_to_user(const Call& call) {
  return publish(call, core::Scope::user, call.params.user_id, false, true);
}

Response send_to_connection(const Call& call) {
  return publish(call, core::Scope::connection, call.params.connection_id, false, false);
}

}  // namespace wps::api
