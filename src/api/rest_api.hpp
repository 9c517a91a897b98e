#pragma once
// The data-plane REST API of api-versions 2021-10-01 .. 2024-12-01 (spec §4): every operation of
// the swagger, authenticated with HS256 bearer tokens, mapped onto the core's Node and Hub calls.

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstdint>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "core/node.hpp"

namespace wps::api {

using Request = boost::beast::http::request<boost::beast::http::string_body>;
using Response = boost::beast::http::response<boost::beast::http::string_body>;

class RestApi {
 public:
  RestApi(const config::Config& config, core::Node& node) : config_(config), node_(node) {}

  // Answers one request whose target starts with "/api/" (the health endpoint included).
  // Thread-safe; never throws; never blocks on I/O. `now_seconds` is the wall clock (tokens).
  // Counts the call in the node's metrics (webpubsub_rest_requests_total) and traces it.
  Response handle(const Request& request, std::int64_t now_seconds) const;

 private:
  Response answer(const Request& request, std::int64_t now_seconds, std::string_view& operation,
                  std::string& hub) const;

  const config::Config& config_;
  core::Node& node_;
};

}  // namespace wps::api
