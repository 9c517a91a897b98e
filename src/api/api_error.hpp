#pragma once
// The error model of the REST API: handlers throw ApiError for every client error, and
// RestApi::handle turns it (or anything else) into one JSON ErrorDetail response.

#include <string>
#include <string_view>

#include "api/rest_api.hpp"

namespace wps::api {

// A request the API refuses: status (4xx), ErrorDetail code, human-readable message.
struct ApiError {
  unsigned status = 400;
  std::string code;
  std::string message;
};

[[noreturn]] inline void fail(unsigned status, std::string_view code, std::string message) {
  throw ApiError{status, std::string(code), std::move(message)};
}
[[noreturn]] inline void bad_request(std::string message) {
  fail(400, "BadRequest", std::move(message));
}

// {"code":..,"message":..} with the x-ms-error-code header; HEAD responses get the status and
// headers only.
Response error_response(const ApiError& error, const Request& request);

// A success response without a body (200/202/204).
Response empty_response(unsigned status, const Request& request);

// A success response with a JSON body (never used for HEAD).
Response json_response(unsigned status, std::string body, const Request& request);

}  // namespace wps::api
