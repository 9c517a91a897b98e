#pragma once
// The data-plane REST API of api-versions 2021-10-01 .. 2024-12-01 (spec §4): every operation of
// the swagger, authenticated with HS256 bearer tokens, mapped onto the core's Node and Hub calls.

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstdint>

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
  Response handle(const Request& request, std::int64_t now_seconds) const;

 private:
  const config::Config& config_;
  core::Node& node_;
};

}  // namespace wps::api
