// libFuzzer target for the WebSocket upgrade decision (decide_handshake): the request-target with
// its query (hub, access_token, awps_connection_id, awps_reconnection_token), the Host and
// Authorization headers and the offered subprotocols, all from the outside.
//
// Input: byte 0 = flags (bit 0 upgrade request, bit 1 anonymous default hub, bit 2
// audience_ignore_host, bit 3 public origin configured, bit 4 max 2 groups per connection); then
// newline-separated fields: target, Host, Authorization, Sec-WebSocket-Protocol. A field "@T" in
// the target is replaced by a token valid for hub "chat" (so the claims are reached).
//
// Invariants (abort otherwise): no exception escapes; a refusal has a 4xx status, a code and a
// message that never contains the access key; an accepted hub is a valid, lower-case hub name;
// an echoed subprotocol is one the client offered; the number of groups respects the limit.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "auth/jwt.hpp"
#include "config/config.hpp"
#include "handler/handshake.hpp"
#include "protocol/names.hpp"
#include "transport/upgrade.hpp"

namespace {

constexpr std::int64_t kNow = 1'700'000'000;
constexpr std::string_view kKey = "fuzz-handshake-key-DO-NOT-LEAK-0123456789";

void check(bool condition) {
  if (!condition)
    std::abort();
}

std::string_view next_field(std::string_view& rest) {
  const std::size_t nl = rest.find('\n');
  const std::string_view field = rest.substr(0, nl);
  rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
  return field;
}

const std::string& valid_token() {
  static const std::string token = wps::auth::sign_token(
      R"({"aud":"http://localhost:8080/client/hubs/chat","exp":1700003600,"sub":"u",)"
      R"("role":["webpubsub.joinLeaveGroup"],"webpubsub.group":["a","b","c"]})",
      kKey);
  return token;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace wps;
  if (size == 0)
    return 0;
  const std::uint8_t flags = data[0];
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::string target(next_field(rest));
  const std::string_view host = next_field(rest);
  const std::string_view authorization = next_field(rest);
  const std::string_view protocols = next_field(rest);
  if (const std::size_t at = target.find("@T"); at != std::string::npos)
    target.replace(at, 2, valid_token());

  config::Config config;
  config.primary_key = std::string(kKey);
  config.default_hub.allow_anonymous = (flags & 2) != 0;
  config.audience_ignore_host = (flags & 4) != 0;
  if ((flags & 8) != 0)
    config.public_origin = "https://pubsub.example.com";
  if ((flags & 16) != 0)
    config.limits.max_groups_per_connection = 2;

  handler::HandshakeRequest request;
  request.target = target;
  request.host = host;
  request.authorization = authorization;
  request.is_websocket_upgrade = (flags & 1) != 0;
  transport::split_protocols(protocols, request.offered_protocols);

  (void)handler::is_client_endpoint(target);
  // The Sec-WebSocket-Key answer: 28 base64 characters (a SHA-1) or nothing.
  const std::string accept_key = transport::websocket_accept_key(host);
  check(accept_key.empty() || accept_key.size() == 28);
  const handler::HandshakeDecision decision = handler::decide_handshake(request, config, kNow);
  if (const auto* rejected = std::get_if<handler::HandshakeReject>(&decision)) {
    check(rejected->status >= 400 && rejected->status < 500);
    check(!rejected->code.empty() && !rejected->message.empty());
    check(rejected->message.find(kKey) == std::string::npos);
    return 0;
  }
  const auto& accept = std::get<handler::HandshakeAccept>(decision);
  check(protocol::is_valid_hub_name(accept.hub));
  check(std::none_of(accept.hub.begin(), accept.hub.end(),
                     [](char c) { return c >= 'A' && c <= 'Z'; }));
  if (!accept.subprotocol.empty()) {
    check(std::find(request.offered_protocols.begin(), request.offered_protocols.end(),
                    accept.subprotocol) != request.offered_protocols.end());
    check(accept.kind != core::ProtocolKind::simple);
  } else {
    check(accept.kind == core::ProtocolKind::simple);
  }
  if (config.limits.max_groups_per_connection != 0)
    check(accept.groups.size() <= config.limits.max_groups_per_connection);
  for (const std::string& group : accept.groups)
    check(protocol::is_valid_group_name(group));
  return 0;
}
