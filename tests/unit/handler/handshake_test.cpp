// The client handshake decision: every refusal of spec §3.3 and what an accepted client gets.

#include "handler/handshake.hpp"

#include <gtest/gtest.h>

#include "auth/jwt.hpp"
#include "auth/token_claims.hpp"

namespace wps::handler {
namespace {

constexpr std::int64_t kNow = 1'800'000'000;

std::string token(const std::string& aud, std::optional<std::string> user = std::nullopt,
                  std::vector<std::string> roles = {}, std::vector<std::string> groups = {},
                  std::int64_t exp = kNow + 3600,
                  const std::string& key = config::kDevelopmentAccessKey) {
  auth::ClientTokenClaims claims;
  claims.audience = aud;
  claims.user_id = std::move(user);
  claims.roles = std::move(roles);
  claims.groups = std::move(groups);
  claims.iat = kNow;
  claims.exp = exp;
  return auth::mint_client_token(claims, key);
}

struct Fixture : ::testing::Test {
  config::Config config;
  std::string target;
  std::string authorization;
  std::vector<std::string_view> protocols;
  bool upgrade = true;

  HandshakeDecision decide() {
    HandshakeRequest r;
    r.target = target;
    r.host = "localhost:8080";
    r.authorization = authorization;
    r.offered_protocols = protocols;
    r.is_websocket_upgrade = upgrade;
    return decide_handshake(r, config, kNow);
  }
  unsigned status() {
    auto d = decide();
    if (auto* r = std::get_if<HandshakeReject>(&d))
      return r->status;
    return 101;
  }
  HandshakeAccept accepted() {
    auto d = decide();
    EXPECT_TRUE(std::holds_alternative<HandshakeAccept>(d));
    if (auto* a = std::get_if<HandshakeAccept>(&d))
      return *a;
    return {};
  }
};

const std::string kAud = "http://localhost:8080/client/hubs/chat";

TEST_F(Fixture, AcceptsSdkTokenWithClaims) {
  target = "/client/hubs/Chat?access_token=" +
           token(kAud, "alice", {"webpubsub.joinLeaveGroup"}, {"g1", "g1", "g2"});
  protocols = {"json.webpubsub.azure.v1"};
  HandshakeAccept a = accepted();
  EXPECT_EQ(a.hub, "chat");
  EXPECT_EQ(a.user_id, std::optional<std::string>("alice"));
  EXPECT_EQ(a.roles, std::vector<std::string>{"webpubsub.joinLeaveGroup"});
  EXPECT_EQ(a.groups, (std::vector<std::string>{"g1", "g2"}));
  EXPECT_EQ(a.kind, core::ProtocolKind::json);
  EXPECT_EQ(a.subprotocol, "json.webpubsub.azure.v1");
}

TEST_F(Fixture, HubInQueryAndBearerHeader) {
  target = "/client/?hub=chat";
  authorization = "Bearer " + token(kAud);
  EXPECT_EQ(accepted().hub, "chat");
  target = "/client?hub=CHAT";
  EXPECT_EQ(accepted().hub, "chat");
}

TEST_F(Fixture, SubprotocolNegotiation) {
  target = "/client/hubs/chat?access_token=" + token(kAud);
  protocols = {"json.reliable.webpubsub.azure.v1"};
  EXPECT_EQ(accepted().kind, core::ProtocolKind::json_reliable);
  EXPECT_EQ(accepted().subprotocol, "json.reliable.webpubsub.azure.v1");
  protocols = {"custom.v1"};  // unknown: a simple client, nothing echoed
  EXPECT_EQ(accepted().kind, core::ProtocolKind::simple);
  EXPECT_EQ(accepted().subprotocol, "");
  protocols = {"custom", "JSON.webpubsub.azure.v1", "json.webpubsub.azure.v1"};
  EXPECT_EQ(accepted().subprotocol, "JSON.webpubsub.azure.v1");  // echo the offered spelling
  protocols = {};
  EXPECT_EQ(accepted().kind, core::ProtocolKind::simple);
}

TEST_F(Fixture, RefusalStatuses) {
  target = "/client/hubs/chat";
  EXPECT_EQ(status(), 401u);  // no token, anonymous denied
  config.default_hub.allow_anonymous = true;
  EXPECT_EQ(status(), 101u);
  config.default_hub.allow_anonymous = false;

  target = "/client/hubs/chat?access_token=" + token(kAud, {}, {}, {}, kNow - 301);
  EXPECT_EQ(status(), 401u);  // expired beyond the skew
  target = "/client/hubs/chat?access_token=" + token(kAud, {}, {}, {}, kNow - 10);
  EXPECT_EQ(status(), 101u);  // within the 5-minute skew
  target = "/client/hubs/chat?access_token=" +
           token(kAud, {}, {}, {}, kNow + 60, "another-key-another-key-another-key");
  EXPECT_EQ(status(), 401u);  // bad signature
  target = "/client/hubs/other?access_token=" + token(kAud);
  EXPECT_EQ(status(), 401u);  // token for another hub
  target = "/client/hubs/chat?access_token=" + token(kAud, {}, {}, {"   "});
  EXPECT_EQ(status(), 400u);  // invalid group name in the token
  target = "/client/hubs/1chat?access_token=" + token(kAud);
  EXPECT_EQ(status(), 400u);  // invalid hub name
  target = "/client/?access_token=" + token(kAud);
  EXPECT_EQ(status(), 400u);  // no hub
  target = "/client/hubs/chat?access_token=" + token(kAud);
  upgrade = false;
  EXPECT_EQ(status(), 400u);  // not a WebSocket request
  upgrade = true;
  target = "/client/hubs/chat?access_token=eyJhbGciOiJub25lIn0.eyJleHAiOjk5OTk5OTk5OTl9.";
  EXPECT_EQ(status(), 401u);  // alg none
  target = "/client/hubs/chat?access_token=garbage";
  EXPECT_EQ(status(), 401u);
}

TEST_F(Fixture, TokenGroupsOverTheGroupLimitAreRefused) {
  config.limits.max_groups_per_connection = 2;
  target = "/client/hubs/chat?access_token=" + token(kAud, "u", {}, {"a", "b", "a"});
  EXPECT_EQ(status(), 101u);  // two distinct groups
  target = "/client/hubs/chat?access_token=" + token(kAud, "u", {}, {"a", "b", "c"});
  auto d = decide();
  ASSERT_TRUE(std::holds_alternative<HandshakeReject>(d));
  EXPECT_EQ(std::get<HandshakeReject>(d).status, 400u);
  EXPECT_NE(std::get<HandshakeReject>(d).message.find("at most 2"), std::string::npos);
  config.limits.max_groups_per_connection = 0;  // unlimited
  EXPECT_EQ(status(), 101u);
}

TEST_F(Fixture, RefusalsNeverRepeatTheKeyOrTheToken) {
  config.primary_key = "unit-test-key-that-must-not-appear-anywhere";
  const std::string forged = token(kAud, "u", {}, {}, kNow + 60, config.primary_key + "x");
  for (const std::string& t :
       {forged, config.primary_key, token(kAud, "u", {}, {}, kNow - 1000, config.primary_key)}) {
    target = "/client/hubs/chat?access_token=" + t;
    auto d = decide();
    ASSERT_TRUE(std::holds_alternative<HandshakeReject>(d));
    const auto& reject = std::get<HandshakeReject>(d);
    EXPECT_EQ(reject.message.find(config.primary_key), std::string::npos) << reject.message;
    EXPECT_EQ(reject.message.find(t), std::string::npos) << reject.message;
  }
}

TEST_F(Fixture, SecondaryKeyAndPublicOrigin) {
  config.secondary_key = "secondary-key-secondary-key-secondary";
  target =
      "/client/hubs/chat?access_token=" + token(kAud, {}, {}, {}, kNow + 60, *config.secondary_key);
  EXPECT_EQ(status(), 101u);
  target = "/client/hubs/chat?access_token=" + token("https://pubsub.example.com/client/hubs/chat");
  EXPECT_EQ(status(), 401u);
  config.public_origin = "https://pubsub.example.com";
  EXPECT_EQ(status(), 101u);
}

TEST_F(Fixture, RecoveryParametersSkipTheStaleAccessToken) {
  // The JS client appends the pair to its original URL; the old token may have expired.
  target = "/client/hubs/chat?access_token=" + token(kAud, {}, {}, {}, kNow - 3600) +
           "&awps_connection_id=abc&awps_reconnection_token=def";
  protocols = {"json.reliable.webpubsub.azure.v1"};
  HandshakeAccept a = accepted();
  EXPECT_EQ(a.recover_connection_id, std::optional<std::string>("abc"));
  EXPECT_EQ(a.recover_token, "def");
  EXPECT_EQ(a.kind, core::ProtocolKind::json_reliable);
}

TEST_F(Fixture, QueryTokenWinsOverHeader) {
  target = "/client/hubs/chat?access_token=garbage";
  authorization = "Bearer " + token(kAud);
  EXPECT_EQ(status(), 401u);
}

TEST(ClientEndpointTest, Paths) {
  EXPECT_TRUE(is_client_endpoint("/client/hubs/chat"));
  EXPECT_TRUE(is_client_endpoint("/client/hubs/chat/"));
  EXPECT_TRUE(is_client_endpoint("/client?hub=x"));
  EXPECT_TRUE(is_client_endpoint("/client/"));
  EXPECT_FALSE(is_client_endpoint("/api/health"));
  EXPECT_FALSE(is_client_endpoint("/client/hubs"));
  EXPECT_TRUE(is_client_endpoint("/clients/mqtt/hubs/chat"));  // the MQTT endpoint
  EXPECT_FALSE(is_client_endpoint("not a target"));
}

}  // namespace
}  // namespace wps::handler

namespace wps::handler {
namespace {

// MQTT endpoint (docs/PROTOCOL.md "MQTT"): its own path and audience, subprotocol `mqtt` required.
const std::string kMqttAud = "http://localhost:8080/clients/mqtt/hubs/chat";

TEST_F(Fixture, MqttEndpointAcceptsMqttTokensWithSubprotocolMqtt) {
  EXPECT_TRUE(is_client_endpoint("/clients/mqtt/hubs/chat"));
  EXPECT_FALSE(is_client_endpoint("/clients/mqtt/chat"));
  EXPECT_FALSE(is_client_endpoint("/clients/socketio/hubs/chat"));
  target = "/clients/mqtt/hubs/Chat?access_token=" +
           token(kMqttAud, "dev1", {"webpubsub.sendToGroup"}, {"g1"});
  protocols = {"mqtt"};
  auto a = accepted();
  EXPECT_EQ(a.kind, core::ProtocolKind::mqtt);
  EXPECT_EQ(a.subprotocol, "mqtt");
  EXPECT_EQ(a.hub, "chat");
  EXPECT_EQ(a.user_id, "dev1");
  EXPECT_EQ(a.groups, std::vector<std::string>{"g1"});
  // Without `mqtt` offered (MQTT 3.1 offers only mqttv3.1): 400.
  protocols = {"mqttv3.1"};
  EXPECT_EQ(status(), 400u);
  protocols = {};
  EXPECT_EQ(status(), 400u);
}

TEST_F(Fixture, MqttEndpointRefusesDefaultClientTokensAndViceVersa) {
  protocols = {"mqtt"};
  target = "/clients/mqtt/hubs/chat?access_token=" + token(kAud);
  EXPECT_EQ(status(), 401u);
  target = "/clients/mqtt/hubs/chat";
  authorization = "Bearer " + token(kMqttAud);
  EXPECT_EQ(status(), 101u);
  authorization.clear();
  EXPECT_EQ(status(), 401u);  // no token, hub not anonymous
  protocols = {"json.webpubsub.azure.v1"};
  target = "/client/hubs/chat?access_token=" + token(kMqttAud);
  EXPECT_EQ(status(), 401u);
  // Recovery parameters mean nothing on the MQTT endpoint.
  protocols = {"mqtt"};
  target = "/clients/mqtt/hubs/chat?awps_connection_id=x&awps_reconnection_token=y";
  EXPECT_EQ(status(), 401u);
}

}  // namespace
}  // namespace wps::handler
