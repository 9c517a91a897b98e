#include "api/api_error.hpp"

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "util/text.hpp"

namespace wps::api {

namespace http = boost::beast::http;

namespace {

Response base_response(unsigned status, const Request& request) {
  Response response{static_cast<http::status>(status), request.version()};
  response.set(http::field::server, "webpubsub-server");
  response.keep_alive(request.keep_alive());
  return response;
}

}  // namespace

Response error_response(const ApiError& error, const Request& request) {
  Response response = base_response(error.status, request);
  response.set("x-ms-error-code", error.code);
  if (error.status == 401)
    response.set(http::field::www_authenticate, "Bearer");
  if (request.method() != http::verb::head) {
    boost::json::object body;
    body["code"] = error.code;
    body["message"] = util::to_valid_utf8(error.message);
    response.set(http::field::content_type, "application/json; charset=utf-8");
    response.body() = boost::json::serialize(body);
  }
  response.prepare_payload();
  return response;
}

Response empty_response(unsigned status, const Request& request) {
  Response response = base_response(status, request);
  response.prepare_payload();
  return response;
}

Response json_response(unsigned status, std::string body, const Request& request) {
  Response response = base_response(status, request);
  response.set(http::field::content_type, "application/json; charset=utf-8");
  response.body() = std::move(body);
  response.prepare_payload();
  return response;
}

}  // namespace wps::api
