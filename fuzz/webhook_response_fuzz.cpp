// libFuzzer target for the handler-response parsers of the webhook layer (header-only, so it
// needs no library of its own): the input is a connect response body, a user-event response
// body under several Content-Types, a Set-Cookie line and a WebHook-Allowed-Origin line.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "webhook/responses.hpp"

namespace {

void check(bool condition) {
  if (!condition) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace wps::webhook;
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  auto connect = parse_connect_response(input);
  check(connect.ok == connect.error.empty());
  if (connect.subprotocol)
    check(!connect.subprotocol->empty());

  for (const char* type : {"application/json; charset=utf-8", "text/plain", "TEXT/PLAIN;x=y",
                           "application/octet-stream", "image/png", ""}) {
    auto reply = parse_user_event_response(std::string_view(type), std::string(input));
    check(reply.ok || !reply.error.empty());
    if (reply.reply)
      check(!input.empty());
  }
  auto untyped = parse_user_event_response(std::nullopt, std::string(input));
  check(untyped.ok);
  if (!input.empty())
    check(untyped.reply && untyped.reply->bytes == input);
  // The input as a Content-Type of a fixed body.
  (void)parse_user_event_response(input, "{}");

  auto jar = merge_cookies(input, {std::string(input), "a=1"});
  check(jar.find("a=1") != std::string::npos);
  (void)origin_allowed({std::string(input)}, "host.example");
  (void)media_type(input);
  return 0;
}
