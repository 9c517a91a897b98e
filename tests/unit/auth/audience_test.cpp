#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "auth/jwt.hpp"

namespace wps::auth {
namespace {

using Strings = std::vector<std::string>;

const Strings local_origins = {"http://localhost:8080", "https://localhost:8080"};

bool client(const std::string& aud, std::string_view hub, const Strings& origins = local_origins,
            bool any_host = false) {
  return client_audience_matches({aud}, hub, origins, any_host);
}

bool rest(const std::string& aud, std::string_view target, const Strings& origins = local_origins,
          bool any_host = false) {
  return rest_audience_matches({aud}, target, origins, any_host);
}

// --- client tokens ----------------------------------------------------------------------------

TEST(ClientAudienceExactly, TheUrlItselfMatchesWithoutTheFullComparison) {
  const Strings auds = {"other", "http://localhost:8080/client/hubs/chat"};
  EXPECT_TRUE(client_audience_is_exactly(auds, "chat", "localhost:8080", ""));
  EXPECT_TRUE(client_audience_is_exactly({"https://localhost:8080/client/hubs/chat"}, "chat",
                                         "localhost:8080", ""));
  EXPECT_TRUE(client_audience_is_exactly({"https://pub.example/client/hubs/chat"}, "chat",
                                         "localhost:8080", "https://pub.example/"));
  EXPECT_TRUE(client_audience_is_exactly({"http://h/clients/mqtt/hubs/chat"}, "chat", "h", "",
                                         "/clients/mqtt/hubs/"));
}

TEST(ClientAudienceExactly, AnythingElseIsLeftToTheFullComparison) {
  // Each of these matches by the full rules (case, trailing '/', ws scheme), not exactly.
  for (const std::string aud :
       {"HTTP://localhost:8080/client/hubs/chat", "http://localhost:8080/client/hubs/chat/",
        "ws://localhost:8080/client/hubs/chat"}) {
    EXPECT_FALSE(client_audience_is_exactly({aud}, "chat", "localhost:8080", "")) << aud;
    EXPECT_TRUE(client(aud, "chat")) << aud;
  }
  // And these match by no rule.
  EXPECT_FALSE(client_audience_is_exactly({"http://localhost:8080/client/hubs/chat"}, "chat2",
                                          "localhost:8080", ""));
  EXPECT_FALSE(client_audience_is_exactly({"http://localhost:8080/client/hubs/chatx"}, "chat",
                                          "localhost:8080", ""));
  EXPECT_FALSE(
      client_audience_is_exactly({"http://localhost:8080/client/hubs/chat"}, "chat", "", ""));
  EXPECT_FALSE(client_audience_is_exactly({"http://evil:8080/client/hubs/chat"}, "chat",
                                          "localhost:8080", ""));
  EXPECT_FALSE(client_audience_is_exactly({}, "chat", "localhost:8080", ""));
}

TEST(ClientAudienceExactly, AnExactMatchIsAlwaysAFullMatch) {
  for (const std::string aud :
       {"http://localhost:8080/client/hubs/chat", "https://localhost:8080/client/hubs/chat"}) {
    ASSERT_TRUE(client_audience_is_exactly({aud}, "chat", "localhost:8080", ""));
    EXPECT_TRUE(client(aud, "chat"));
  }
}

TEST(ClientAudience, JsSdkAudience) {
  EXPECT_TRUE(client("http://localhost:8080/client/hubs/chat", "chat"));
}

TEST(ClientAudience, PythonLowerCasedEndpoint) {
  // Python lower-cases the endpoint (not the hub); the Host header may differ in case.
  EXPECT_TRUE(client("http://localhost:8080/client/hubs/Chat", "Chat",
                     {"http://LocalHost:8080", "https://LocalHost:8080"}));
  EXPECT_TRUE(client("https://myservice.webpubsub.azure.com/client/hubs/hub1", "hub1",
                     {"https://MyService.webpubsub.azure.com"}));
}

TEST(ClientAudience, CaseInsensitiveIncludingHub) {
  EXPECT_TRUE(client("HTTP://LOCALHOST:8080/CLIENT/HUBS/CHAT", "chat"));
  EXPECT_TRUE(client("http://localhost:8080/client/hubs/chat", "ChAt"));
}

TEST(ClientAudience, TrailingSlashIgnoredOnce) {
  EXPECT_TRUE(client("http://localhost:8080/client/hubs/chat/", "chat"));
  EXPECT_TRUE(client("http://localhost:8080/client/hubs/chat", "chat", {"http://localhost:8080/"}));
  EXPECT_FALSE(client("http://localhost:8080/client/hubs/chat//", "chat"));
}

TEST(ClientAudience, WebSocketSchemesEquivalentToHttp) {
  EXPECT_TRUE(client("ws://localhost:8080/client/hubs/chat", "chat"));
  EXPECT_TRUE(client("wss://localhost:8080/client/hubs/chat", "chat"));
  EXPECT_TRUE(client("http://localhost:8080/client/hubs/chat", "chat", {"ws://localhost:8080"}));
  EXPECT_TRUE(client("WSS://h/client/hubs/chat", "chat", {"https://h"}));
  EXPECT_FALSE(client("wss://h/client/hubs/chat", "chat", {"http://h"}));
  EXPECT_FALSE(client("ws://h/client/hubs/chat", "chat", {"https://h"}));
  EXPECT_FALSE(client("https://h/client/hubs/chat", "chat", {"http://h"}));
}

TEST(ClientAudience, DefaultPortsEquivalent) {
  EXPECT_TRUE(client("https://h:443/client/hubs/chat", "chat", {"https://h"}));
  EXPECT_TRUE(client("http://h/client/hubs/chat", "chat", {"http://h:80"}));
  EXPECT_FALSE(client("http://h:443/client/hubs/chat", "chat", {"http://h"}));
}

TEST(ClientAudience, PercentEncodedHub) {
  EXPECT_TRUE(client("http://localhost:8080/client/hubs/my%20hub", "my hub"));
  EXPECT_TRUE(client("http://localhost:8080/client/hubs/my hub", "my hub"));
  EXPECT_TRUE(client("http://localhost:8080/client/hubs/my%20hub", "my%20hub"));
  EXPECT_TRUE(client("http://localhost:8080/client/hubs/hub%5F1", "hub_1"));
  EXPECT_TRUE(client("http://localhost:8080/client/hubs/hub_1", "hub%5f1"));
  EXPECT_FALSE(client("http://localhost:8080/client/hubs/my%2", "my%"));
}

TEST(ClientAudience, Mismatches) {
  EXPECT_FALSE(client("http://localhost:8080/client/hubs/chat", "other"));
  EXPECT_FALSE(client("http://localhost:8080/client/hubs/chatroom", "chat"));
  EXPECT_FALSE(client("http://localhost:8080/client/hubs/chat/x", "chat"));
  EXPECT_FALSE(client("http://localhost:8080/client/hubs/", "chat"));
  EXPECT_FALSE(client("http://localhost:8081/client/hubs/chat", "chat"));
  EXPECT_FALSE(client("http://evil.example/client/hubs/chat", "chat"));
  EXPECT_FALSE(client("http://localhost:8080/clients/mqtt/hubs/chat", "chat"));
  EXPECT_FALSE(client("http://localhost:8080/api/hubs/chat", "chat"));
  EXPECT_FALSE(client("http://localhost:8080/client/hubs/chat?x=1", "chat"));
  EXPECT_FALSE(client("/client/hubs/chat", "chat"));
  EXPECT_FALSE(client("", "chat"));
  EXPECT_FALSE(client("http://localhost:8080", ""));
}

TEST(ClientAudience, AnyOfSeveralAudiences) {
  EXPECT_TRUE(client_audience_matches({"https://other/x", "http://localhost:8080/client/hubs/chat"},
                                      "chat", local_origins, false));
  EXPECT_FALSE(client_audience_matches({}, "chat", local_origins, false));
  EXPECT_FALSE(
      client_audience_matches({"http://localhost:8080/client/hubs/chat"}, "chat", {}, false));
}

TEST(ClientAudience, AnyHostComparesPathOnly) {
  EXPECT_TRUE(client("https://public.example.com/client/hubs/chat", "chat", {}, true));
  EXPECT_TRUE(client("http://10.0.0.1:1234/Client/Hubs/Chat/", "chat", {}, true));
  EXPECT_TRUE(client("wss://public.example.com/client/hubs/my%20hub", "my hub", {}, true));
  EXPECT_TRUE(client("/client/hubs/chat", "chat", {}, true));
  EXPECT_FALSE(client("https://public.example.com/client/hubs/other", "chat", {}, true));
  EXPECT_FALSE(client("https://public.example.com/prefix/client/hubs/chat", "chat", {}, true));
  EXPECT_FALSE(client("https://public.example.com", "chat", {}, true));
  EXPECT_FALSE(client("", "chat", {}, true));
}

// --- REST tokens ------------------------------------------------------------------------------

constexpr std::string_view send_target = "/api/hubs/Hub1/:send?api-version=2024-12-01&excluded=a";

TEST(RestAudience, FullUrlWithQuery) {
  EXPECT_TRUE(rest("http://localhost:8080/api/hubs/Hub1/:send?api-version=2024-12-01&excluded=a",
                   send_target));
  EXPECT_TRUE(rest("https://localhost:8080/api/hubs/Hub1/:send?api-version=2024-12-01&excluded=a",
                   send_target));
}

TEST(RestAudience, UrlWithoutQuery) {
  EXPECT_TRUE(rest("http://localhost:8080/api/hubs/Hub1/:send", send_target));
  EXPECT_TRUE(rest("http://localhost:8080/api/hubs/Hub1/:send/", send_target));
}

TEST(RestAudience, CaseInsensitive) {
  EXPECT_TRUE(rest("http://LOCALHOST:8080/api/hubs/hub1/:SEND?API-VERSION=2024-12-01&excluded=A",
                   send_target));
}

TEST(RestAudience, TrailingSlashDifference) {
  EXPECT_TRUE(rest("http://localhost:8080/api/hubs/hub1/", "/api/hubs/hub1"));
  EXPECT_TRUE(rest("http://localhost:8080/api/hubs/hub1", "/api/hubs/hub1/"));
  EXPECT_TRUE(rest("http://localhost:8080/api/hubs/hub1/?api-version=2024-12-01",
                   "/api/hubs/hub1?api-version=2024-12-01"));
  EXPECT_TRUE(rest("http://localhost:8080/api/health", "/api/health"));
  EXPECT_TRUE(rest("http://localhost:8080/", "/"));
  EXPECT_TRUE(rest("http://localhost:8080", "/"));
}

TEST(RestAudience, PercentEncoding) {
  // JS signs the URL as sent (encoded); the target is raw too.
  const std::string_view target = "/api/hubs/chat/users/user%201/:send?api-version=2024-12-01";
  EXPECT_TRUE(rest(
      "http://localhost:8080/api/hubs/chat/users/user%201/:send?api-version=2024-12-01", target));
  // aud decoded, target encoded.
  EXPECT_TRUE(rest("http://localhost:8080/api/hubs/chat/users/user 1/:send?api-version=2024-12-01",
                   target));
  // aud encoded differently (lower-case hex, extra escapes).
  EXPECT_TRUE(rest("http://localhost:8080/api/hubs/chat/users/%75ser%201/:send", target));
  // Query values with escapes.
  EXPECT_TRUE(
      rest("http://localhost:8080/api/hubs/chat/:send?api-version=2024-12-01&filter=a%20eq%20b",
           "/api/hubs/chat/:send?api-version=2024-12-01&filter=a eq b"));
  // %2F stays distinguishable in the raw comparison and equal after decoding.
  EXPECT_TRUE(rest("http://localhost:8080/api/hubs/chat/users/a%2Fb/:send",
                   "/api/hubs/chat/users/a%2Fb/:send"));
}

TEST(RestAudience, JsPagerNextLink) {
  const std::string_view target =
      "/api/hubs/chat/groups/g1/connections?maxPageSize=2&continuationToken=abc%3D";
  EXPECT_TRUE(
      rest("http://localhost:8080/api/hubs/chat/groups/g1/"
           "connections?maxPageSize=2&continuationToken=abc%3D",
           target));
}

TEST(RestAudience, Mismatches) {
  EXPECT_FALSE(rest("http://localhost:8080/api/hubs/Hub1/:send?api-version=2024-12-01&excluded=b",
                    send_target));
  EXPECT_FALSE(
      rest("http://localhost:8080/api/hubs/Hub1/:send?api-version=2024-12-01", send_target));
  EXPECT_FALSE(rest("http://localhost:8080/api/hubs/Hub1/:send?api-version=2024-12-01",
                    "/api/hubs/Hub1/:send"));
  EXPECT_FALSE(rest("http://localhost:8080/api/hubs/Hub2/:send", send_target));
  EXPECT_FALSE(rest("http://localhost:8080/api/hubs/Hub1", send_target));
  EXPECT_FALSE(rest("http://localhost:9090/api/hubs/Hub1/:send", send_target));
  EXPECT_FALSE(rest("http://evil/api/hubs/Hub1/:send", send_target));
  EXPECT_FALSE(rest("/api/hubs/Hub1/:send", send_target));
  EXPECT_FALSE(rest("", send_target));
  EXPECT_FALSE(rest("https://webpubsub.azure.com", send_target));
  EXPECT_FALSE(rest_audience_matches({}, send_target, local_origins, false));
  EXPECT_FALSE(
      rest_audience_matches({"http://localhost:8080/api/hubs/Hub1/:send"}, send_target, {}, false));
}

TEST(RestAudience, ConfiguredPublicOrigin) {
  const Strings origins = {"http://localhost:8080", "https://localhost:8080",
                           "https://pubsub.example.com/"};
  EXPECT_TRUE(
      rest("https://pubsub.example.com/api/hubs/Hub1/:send?api-version=2024-12-01&excluded=a",
           send_target, origins));
}

TEST(RestAudience, AnyHostComparesPathAndQuery) {
  EXPECT_TRUE(
      rest("https://proxy.example.com/api/hubs/Hub1/:send?api-version=2024-12-01&excluded=a",
           send_target, {}, true));
  EXPECT_TRUE(rest("https://proxy.example.com:8443/api/hubs/hub1/:send", send_target, {}, true));
  EXPECT_TRUE(rest("/api/hubs/Hub1/:send", send_target, {}, true));
  EXPECT_FALSE(rest("https://proxy.example.com/api/hubs/Hub1/:send?api-version=2024-12-01",
                    send_target, {}, true));
  EXPECT_FALSE(rest("https://proxy.example.com/prefix/api/hubs/Hub1/:send", send_target, {}, true));
  EXPECT_FALSE(rest("https://proxy.example.com", send_target, {}, true));
}

TEST(RestAudience, AnyOfSeveralAudiences) {
  EXPECT_TRUE(rest_audience_matches({"x", "http://localhost:8080/api/hubs/Hub1/:send"}, send_target,
                                    local_origins, false));
}

}  // namespace
}  // namespace wps::auth

namespace wps::auth {
namespace {

// MQTT tokens (spec mqtt §3.1.2): the SDK's aud names /clients/mqtt/hubs/{hub}, with the same
// rules (ws==http, host, trailing slash) as default client tokens; each endpoint takes only its
// own audience.
TEST(ClientAudience, MqttEndpoint) {
  const Strings origins = {"http://localhost:8080", "https://localhost:8080"};
  auto mqtt = [&](const std::string& aud, bool any_host = false) {
    return client_audience_matches({aud}, "chat", origins, any_host, "/clients/mqtt/hubs/");
  };
  EXPECT_TRUE(mqtt("http://localhost:8080/clients/mqtt/hubs/chat"));
  EXPECT_TRUE(mqtt("ws://localhost:8080/clients/mqtt/hubs/chat/"));
  EXPECT_TRUE(mqtt("http://elsewhere:1/clients/mqtt/hubs/chat", true));
  EXPECT_FALSE(mqtt("http://localhost:8080/client/hubs/chat"));
  EXPECT_FALSE(mqtt("http://localhost:8080/clients/mqtt/hubs/other"));
  EXPECT_FALSE(mqtt("http://elsewhere:1/clients/mqtt/hubs/chat"));
}

}  // namespace
}  // namespace wps::auth
