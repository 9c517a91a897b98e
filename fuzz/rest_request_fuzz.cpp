// libFuzzer target for the REST API router, query parser and handlers: every input becomes one
// request handed to RestApi::handle over a fresh node with a few connections.
//
// Input: byte 0 = method ('G' GET, 'H' HEAD, 'P' POST, 'U' PUT, 'D' DELETE, else by value);
// byte 1 = flags: bits 0-1 authorization (0 token for the full URL, 1 bad signature, 2 none,
// 3 token for the URL without query), bits 2-3 Content-Type (json, text, octet-stream, from the
// input), bit 4 clear = public origin configured, bit 5 clear = audience_ignore_host;
// then the request-target, '\n', [the Content-Type, '\n',] the body.
// Printable seeds: "P0/api/hubs/chat/:send\n{}" posts JSON with a valid token.
//
// Invariants (abort otherwise): no exception escapes; no 5xx; every 4xx carries x-ms-error-code
// and, except for HEAD, a JSON ErrorDetail body with code and message; HEAD bodies are empty.

#include <boost/beast/http/field.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "api/rest_api.hpp"
#include "auth/jwt.hpp"
#include "core/memory_broker.hpp"
#include "core/node.hpp"

namespace {

namespace http = boost::beast::http;

constexpr std::int64_t kNow = 1'700'000'000;
constexpr std::string_view kHost = "localhost:8080";

class NullClient final : public wps::core::Client {
 public:
  void deliver(const wps::core::SharedFrame&) override {}
  void close(std::uint16_t, std::string) override {}
};

class RawEncoder final : public wps::core::Encoder {
 public:
  wps::core::SharedFrame encode(const wps::core::Message& message) const override {
    return wps::protocol::make_frame(message.payload.bytes, false, message.expires_at);
  }
};

void check(bool condition) {
  if (!condition)
    std::abort();
}

http::verb method_of(std::uint8_t byte) {
  switch (byte) {
    case 'G':
      return http::verb::get;
    case 'H':
      return http::verb::head;
    case 'P':
      return http::verb::post;
    case 'U':
      return http::verb::put;
    case 'D':
      return http::verb::delete_;
    default:
      break;
  }
  static constexpr http::verb others[] = {
      http::verb::get,     http::verb::head,  http::verb::post,   http::verb::put,
      http::verb::delete_, http::verb::patch, http::verb::options};
  return others[byte % (sizeof(others) / sizeof(others[0]))];
}

std::string token(std::string_view aud, std::string_view key) {
  boost::json::object claims;
  claims["aud"] = aud;
  claims["exp"] = kNow + 3600;
  return "Bearer " + wps::auth::sign_token(boost::json::serialize(claims), key);
}

std::string_view take_line(std::string_view& rest) {
  const std::size_t nl = rest.find('\n');
  const std::string_view line = rest.substr(0, nl);
  rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
  return line;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2)
    return 0;
  const http::verb method = method_of(data[0]);
  const std::uint8_t flags = data[1];
  std::string_view rest(reinterpret_cast<const char*>(data + 2), size - 2);
  const std::string_view target = take_line(rest);

  wps::config::Config config;
  config.secondary_key = "fuzz-secondary";
  config.limits.max_message_bytes = 4096;
  if ((flags & 0x10) == 0)
    config.public_origin = "https://pubsub.example.com";
  config.audience_ignore_host = (flags & 0x20) == 0;

  wps::core::MemoryBroker broker;
  wps::core::Node node(broker, wps::core::HubLimits{});
  auto conns = std::make_shared<NullClient>();
  static const RawEncoder encoder;
  {
    auto hub = node.hub("chat");
    hub->add_connection({"c1", "alice", wps::core::ProtocolKind::json, &encoder, {}, {"g"}, {}},
                        conns);
    hub->add_connection(
        {"c2", std::nullopt, wps::core::ProtocolKind::simple, &encoder, {}, {"g"}, {}}, conns);
    hub->add_connection(
        {"c3", "tenant%2Fbob", wps::core::ProtocolKind::json_reliable, &encoder, {}, {}, {}},
        conns);
  }

  wps::api::Request request{method, target, 11};
  request.set(http::field::host, kHost);
  const std::string url = "http://" + std::string(kHost) + std::string(target);
  switch (flags & 0x03) {
    case 0:
      request.set(http::field::authorization, token(url, config.primary_key));
      break;
    case 1:
      request.set(http::field::authorization, token(url, "not-the-key"));
      break;
    case 2:
      break;
    default:
      request.set(http::field::authorization,
                  token(url.substr(0, url.find('?')), "fuzz-secondary"));
      break;
  }
  switch ((flags >> 2) & 0x03) {
    case 0:
      request.set(http::field::content_type, "application/json");
      break;
    case 1:
      request.set(http::field::content_type, "text/plain; charset=utf-8");
      break;
    case 2:
      request.set(http::field::content_type, "application/octet-stream");
      break;
    default:
      request.set(http::field::content_type, take_line(rest));
      break;
  }
  request.body() = std::string(rest);
  request.prepare_payload();

  const wps::api::RestApi api(config, node);
  const wps::api::Response response = api.handle(request, kNow);

  const unsigned status = response.result_int();
  check(status >= 200 && status < 500);
  if (method == http::verb::head)
    check(response.body().empty());
  if (status >= 400) {
    check(!response["x-ms-error-code"].empty());
    if (method != http::verb::head) {
      boost::system::error_code ec;
      const boost::json::value body = boost::json::parse(response.body(), ec);
      check(!ec && body.is_object());
      check(body.as_object().contains("code") && body.as_object().contains("message"));
    }
  }
  return 0;
}
