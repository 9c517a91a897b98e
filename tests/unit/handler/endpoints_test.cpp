// Endpoints: the upgrade decision. Refusals of the handshake and the limits, the handler each
// accepted client gets, the `connect` event (deferred answer, overrides, refusals) and reliable
// recovery (the session itself, or a handler that refuses it after the upgrade). Accepted
// handlers are opened on fake sockets, as the transport would.

#include "handler/endpoints.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "auth/token_claims.hpp"
#include "unit/handler/handler_fixture.hpp"
#include "unit/handler/pubsub_wire.hpp"

namespace wps::handler::test {
namespace {

using wps::test::Format;
using wps::test::Received;
using wps::test::Wire;
using Strings = std::vector<std::string>;

constexpr const char* kJson = "json.webpubsub.azure.v1";
constexpr const char* kJsonReliable = "json.reliable.webpubsub.azure.v1";
constexpr const char* kProtobuf = "protobuf.webpubsub.azure.v1";
constexpr const char* kProtobufReliable = "protobuf.reliable.webpubsub.azure.v1";
constexpr const char* kRefused = "The connection cannot be recovered: unknown or expired session.";

class EndpointsTest : public HandlerFixture {
 protected:
  // A client token for hub `chat` on localhost:8080, valid now.
  static std::string token(std::optional<std::string> user = std::nullopt,
                           std::vector<std::string> roles = {},
                           std::vector<std::string> groups = {}) {
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    auth::ClientTokenClaims claims;
    claims.audience = "http://localhost:8080/client/hubs/chat";
    claims.user_id = std::move(user);
    claims.roles = std::move(roles);
    claims.groups = std::move(groups);
    claims.iat = now;
    claims.exp = now + 3600;
    return auth::mint_client_token(claims, config::kDevelopmentAccessKey);
  }

  // The request's strings live here while upgrade() runs.
  struct Request {
    std::string target;
    Strings protocols;
    bool upgrade = true;
    bool at_connection_limit = false;
    core::Multimap headers;
  };
  static Request with_token(const std::string& t, Strings protocols = {}) {
    Request r;
    r.target = "/client/hubs/chat?access_token=" + t;
    r.protocols = std::move(protocols);
    return r;
  }

  Endpoints& endpoints() {
    if (!endpoints_)
      endpoints_ = std::make_unique<Endpoints>(context());
    return *endpoints_;
  }
  // The answer, whether immediate or deferred (then `later` must have been called already).
  std::optional<UpgradeAnswer> upgrade(const Request& r) {
    UpgradeRequest request;
    request.target = r.target;
    request.host = "localhost:8080";
    for (const auto& p : r.protocols)
      request.offered_protocols.push_back(p);
    request.is_websocket_upgrade = r.upgrade;
    request.at_connection_limit = r.at_connection_limit;
    const core::Multimap headers = r.headers;
    request.headers = [headers] { return headers; };
    later_.reset();
    return endpoints().upgrade(request, [this](UpgradeAnswer answer) { later_ = answer; });
  }
  UpgradeRefusal refused(const Request& r) {
    auto answer = upgrade(r);
    EXPECT_TRUE(answer && std::holds_alternative<UpgradeRefusal>(*answer));
    if (answer && std::holds_alternative<UpgradeRefusal>(*answer))
      return std::get<UpgradeRefusal>(*answer);
    return {};
  }
  UpgradeAcceptance accepted(const Request& r) {
    auto answer = upgrade(r);
    EXPECT_TRUE(answer && std::holds_alternative<UpgradeAcceptance>(*answer));
    if (answer && std::holds_alternative<UpgradeAcceptance>(*answer))
      return std::get<UpgradeAcceptance>(*answer);
    return {};
  }

  // The connect event's answer, and what the endpoint decided with it.
  UpgradeAnswer answer_connect(core::ConnectResult result) {
    EXPECT_EQ(upstream.pending_connects(), 1U);
    EXPECT_FALSE(later_);
    upstream.take_connect().done(std::move(result));
    EXPECT_TRUE(later_);
    return later_ ? *later_ : UpgradeAnswer{};
  }

  std::optional<UpgradeAnswer> later_;

 private:
  std::unique_ptr<Endpoints> endpoints_;
};

// ---- refusals ------------------------------------------------------------------------------

TEST_F(EndpointsTest, HandshakeRefusalsFlowThrough) {
  Request r = with_token(token());
  r.upgrade = false;
  EXPECT_EQ(refused(r).status, 400U);
  Request anonymous;
  anonymous.target = "/client/hubs/chat";
  const UpgradeRefusal no_token = refused(anonymous);
  EXPECT_EQ(no_token.status, 401U);
  EXPECT_EQ(no_token.code, "Unauthorized");
  Request bad_token = with_token("nope");
  EXPECT_EQ(refused(bad_token).status, 401U);
  Request bad_hub;
  bad_hub.target = "/client/hubs/b%20d?access_token=" + token();
  EXPECT_EQ(refused(bad_hub).status, 400U);
  EXPECT_TRUE(endpoints().serves("/client/hubs/chat"));
  EXPECT_FALSE(endpoints().serves("/api/hubs/chat"));
  EXPECT_EQ(context().node.find_hub("chat"), nullptr);  // no refusal makes a hub
}

TEST_F(EndpointsTest, TheServerLimitIs429OnceTheRequestIsOtherwiseValid) {
  Request r = with_token(token());
  r.at_connection_limit = true;
  const UpgradeRefusal full = refused(r);
  EXPECT_EQ(full.status, 429U);
  EXPECT_EQ(full.code, "ConnectionCountLimitReached");
  EXPECT_EQ(full.message, "The server has reached its maximum number of connections.");
  Request bad = with_token("nope");
  bad.at_connection_limit = true;
  EXPECT_EQ(refused(bad).status, 401U);
}

TEST_F(EndpointsTest, HubAndUserLimitsAre429) {
  config.limits.max_connections_per_hub = 2;
  config.limits.max_connections_per_user = 1;
  open(accepted(with_token(token("alice"), {kJson})).handler);
  const UpgradeRefusal user = refused(with_token(token("alice"), {kJson}));
  EXPECT_EQ(user.status, 429U);
  EXPECT_EQ(user.code, "ConnectionCountLimitReached");
  EXPECT_EQ(user.message, "The user has reached the maximum number of connections.");
  open(accepted(with_token(token("bob"))).handler);
  const UpgradeRefusal hub_full = refused(with_token(token("carol")));
  EXPECT_EQ(hub_full.status, 429U);
  EXPECT_EQ(hub_full.message, "The hub has reached its maximum number of connections.");
}

// ---- accepted clients ----------------------------------------------------------------------

TEST_F(EndpointsTest, APubSubClientGetsItsHandlerWithTheTokensIdentity) {
  upstream.handle("connected");
  const UpgradeAcceptance a =
      accepted(with_token(token("alice", {"webpubsub.joinLeaveGroup"}, {"g"}), {"x", kJson}));
  EXPECT_EQ(a.subprotocol, kJson);
  EXPECT_EQ(a.extra_queue_messages, 0U);
  EXPECT_EQ(a.extra_queue_bytes, 0U);
  auto h = std::dynamic_pointer_cast<PubSubHandler>(a.handler);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->kind(), core::ProtocolKind::json);
  EXPECT_FALSE(h->reliable());
  EXPECT_EQ(h->user_id(), std::optional<std::string>("alice"));
  EXPECT_FALSE(h->id().empty());
  EXPECT_FALSE(hub()->connection_exists(h->id()));  // registered when opened
  auto s = open(h);
  const Received r = Wire(Format::json).read(*s->sent().at(0));
  EXPECT_EQ(r.kind, Received::Kind::connected);
  EXPECT_EQ(r.connection_id, h->id());
  EXPECT_EQ(r.user_id, std::optional<std::string>("alice"));
  EXPECT_TRUE(hub()->permits(h->id(), core::Permission::join_leave_group, "any"));
  EXPECT_EQ(hub()->list_group("g", "", 10).size(), 1U);
  EXPECT_EQ(upstream.log(h->id()), Strings{"connected"});
}

TEST_F(EndpointsTest, AReliableClientsQueueMayAlsoHoldItsReplay) {
  config.limits.max_replay_messages = 7;
  config.limits.max_replay_bytes = 9000;
  const UpgradeAcceptance a = accepted(with_token(token(), {kProtobufReliable}));
  EXPECT_EQ(a.subprotocol, kProtobufReliable);
  EXPECT_EQ(a.extra_queue_messages, 8U);
  EXPECT_EQ(a.extra_queue_bytes, 9000U);
  auto h = std::dynamic_pointer_cast<PubSubHandler>(a.handler);
  ASSERT_TRUE(h);
  EXPECT_TRUE(h->reliable());
  EXPECT_EQ(h->kind(), core::ProtocolKind::protobuf_reliable);
}

TEST_F(EndpointsTest, NoSupportedSubprotocolMakesASimpleClient) {
  const UpgradeAcceptance a = accepted(with_token(token(), {"custom"}));
  EXPECT_EQ(a.subprotocol, "");
  EXPECT_TRUE(std::dynamic_pointer_cast<SimpleHandler>(a.handler));
}

// ---- the connect event ---------------------------------------------------------------------

TEST_F(EndpointsTest, TheConnectEventDecidesAndItsOverridesApply) {
  upstream.handle("connect");
  upstream.handle("connected");
  Request r = with_token(token("alice", {}, {"token-group"}), {kJson, kProtobuf});
  r.target += "&extra=1&extra=2&flag";
  r.headers = {{"x-custom", {"v"}}};
  EXPECT_FALSE(upgrade(r));  // deferred
  ASSERT_EQ(upstream.pending_connects(), 1U);
  {
    auto call = upstream.take_connect();
    EXPECT_EQ(call.context.hub, "chat");
    EXPECT_EQ(call.context.user_id, std::optional<std::string>("alice"));
    EXPECT_EQ(call.context.subprotocol, kJson);
    EXPECT_EQ(call.request.claims.at("sub"), Strings{"alice"});
    EXPECT_FALSE(call.request.query.contains("access_token"));
    EXPECT_EQ(call.request.query.at("extra"), (Strings{"1", "2"}));
    EXPECT_EQ(call.request.query.at("flag"), Strings{""});
    EXPECT_EQ(call.request.headers.at("x-custom"), Strings{"v"});
    EXPECT_EQ(call.request.subprotocols, (Strings{kJson, kProtobuf}));
    core::ConnectResult result;
    result.accepted = true;
    result.status = 200;
    result.user_id = "bob";
    result.roles = Strings{"webpubsub.joinLeaveGroup"};
    result.groups = Strings{"g2"};
    result.subprotocol = kProtobuf;
    result.state = "st";
    EXPECT_FALSE(later_);
    call.done(result);
  }
  ASSERT_TRUE(later_ && std::holds_alternative<UpgradeAcceptance>(*later_));
  const auto& a = std::get<UpgradeAcceptance>(*later_);
  EXPECT_EQ(a.subprotocol, kProtobuf);
  auto h = std::dynamic_pointer_cast<PubSubHandler>(a.handler);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->kind(), core::ProtocolKind::protobuf);
  EXPECT_EQ(h->user_id(), std::optional<std::string>("bob"));
  auto s = open(h);
  const Received connected = Wire(Format::protobuf).read(*s->sent().at(0));
  EXPECT_EQ(connected.user_id, std::optional<std::string>("bob"));
  EXPECT_TRUE(hub()->user_exists("bob"));
  EXPECT_FALSE(hub()->user_exists("alice"));
  EXPECT_TRUE(hub()->group_exists("g2"));
  EXPECT_FALSE(hub()->group_exists("token-group"));  // replaced
  EXPECT_TRUE(hub()->permits(h->id(), core::Permission::join_leave_group, "x"));
  // The later events carry the new identity and the state.
  const auto records = upstream.records();
  ASSERT_EQ(records.size(), 2U);
  EXPECT_EQ(records[1].what, "connected");
  EXPECT_EQ(records[1].context.connection_id, h->id());
  EXPECT_EQ(records[1].context.user_id, std::optional<std::string>("bob"));
  EXPECT_EQ(records[1].context.subprotocol, kProtobuf);
  EXPECT_EQ(records[1].context.state, std::optional<std::string>("st"));
}

TEST_F(EndpointsTest, TheConnectEventMayChooseACustomSubprotocolOrRemoveTheUser) {
  upstream.handle("connect");
  EXPECT_FALSE(upgrade(with_token(token("alice"), {kJson, "custom"})));
  core::ConnectResult result;
  result.accepted = true;
  result.subprotocol = "custom";
  result.user_id = "";
  const UpgradeAnswer answer = answer_connect(result);
  ASSERT_TRUE(std::holds_alternative<UpgradeAcceptance>(answer));
  const auto& a = std::get<UpgradeAcceptance>(answer);
  EXPECT_EQ(a.subprotocol, "custom");
  auto h = std::dynamic_pointer_cast<SimpleHandler>(a.handler);
  ASSERT_TRUE(h);
  EXPECT_FALSE(h->user_id());
}

TEST_F(EndpointsTest, AnInvalidConnectAnswerIsA500) {
  upstream.handle("connect");
  EXPECT_FALSE(upgrade(with_token(token(), {kJson})));
  core::ConnectResult result;
  result.accepted = true;
  result.subprotocol = kProtobuf;  // not offered
  UpgradeAnswer answer = answer_connect(result);
  ASSERT_TRUE(std::holds_alternative<UpgradeRefusal>(answer));
  EXPECT_EQ(std::get<UpgradeRefusal>(answer).status, 500U);
  EXPECT_EQ(std::get<UpgradeRefusal>(answer).message,
            "The event handler chose a subprotocol the client did not offer.");

  EXPECT_FALSE(upgrade(with_token(token(), {kJson})));
  result = {};
  result.accepted = true;
  result.groups = Strings{"ok", "   "};  // whitespace only
  answer = answer_connect(result);
  ASSERT_TRUE(std::holds_alternative<UpgradeRefusal>(answer));
  EXPECT_EQ(std::get<UpgradeRefusal>(answer).status, 500U);
  EXPECT_EQ(std::get<UpgradeRefusal>(answer).message,
            "The event handler returned an invalid group name.");
}

TEST_F(EndpointsTest, AConnectRefusalRelays4xxAndMakesAnythingElseA500) {
  upstream.handle("connect");
  for (unsigned status : {401U, 403U, 429U, 499U, 300U, 500U, 503U}) {
    EXPECT_FALSE(upgrade(with_token(token())));
    core::ConnectResult result;
    result.status = status;
    result.error = "no";
    const UpgradeAnswer answer = answer_connect(result);
    ASSERT_TRUE(std::holds_alternative<UpgradeRefusal>(answer));
    const auto& refusal = std::get<UpgradeRefusal>(answer);
    const bool relayed = status >= 400 && status < 500;
    EXPECT_EQ(refusal.status, relayed ? status : 500U) << status;
    EXPECT_EQ(refusal.code, relayed ? "Unauthorized" : "InternalServerError") << status;
  }
  EXPECT_EQ(hub()->connection_count(), 0U);
}

// ---- recovery ------------------------------------------------------------------------------

TEST_F(EndpointsTest, RecoveringAnUnknownSessionIsRefusedAfterTheUpgradeWith1008) {
  for (const char* protocol : {kJsonReliable, kProtobufReliable}) {
    Request r;
    r.target = "/client/hubs/chat?awps_connection_id=nope&awps_reconnection_token=abc";
    r.protocols = {protocol};
    const UpgradeAcceptance a = accepted(r);
    EXPECT_EQ(a.subprotocol, protocol);
    EXPECT_FALSE(std::dynamic_pointer_cast<PubSubHandler>(a.handler));
    auto s = open(a.handler);
    EXPECT_TRUE(s->sent().empty());
    ASSERT_TRUE(s->closed_with());
    EXPECT_EQ(s->closed_with()->code, core::close_code::policy_violation);
    EXPECT_EQ(s->closed_with()->reason, kRefused);
    ASSERT_TRUE(s->farewell());
    const Format format =
        std::string_view(protocol) == kJsonReliable ? Format::json : Format::protobuf;
    const Received farewell = Wire(format).read(*s->farewell());
    EXPECT_EQ(farewell.kind, Received::Kind::disconnected);
    EXPECT_EQ(farewell.reason, kRefused);
  }
  // A simple client asking for recovery gets no system message.
  Request simple;
  simple.target = "/client/hubs/chat?awps_connection_id=nope&awps_reconnection_token=abc";
  auto s = open(accepted(simple).handler);
  ASSERT_TRUE(s->closed_with());
  EXPECT_EQ(s->closed_with()->code, core::close_code::policy_violation);
  EXPECT_FALSE(s->farewell());
  EXPECT_EQ(context().counters.recoveries_refused, 3U);
}

TEST_F(EndpointsTest, RecoveringALiveSessionHandsItBackWithoutTheLimits) {
  config.limits.max_connections_per_hub = 1;
  config.limits.max_replay_messages = 3;
  const UpgradeAcceptance first = accepted(with_token(token("alice"), {kJsonReliable}));
  auto session = std::dynamic_pointer_cast<PubSubHandler>(first.handler);
  ASSERT_TRUE(session);
  auto s = open(session);
  const Received connected = Wire(Format::json).read(*s->sent().at(0));
  ASSERT_TRUE(connected.reconnection_token);
  s->drop();
  ASSERT_EQ(refused(with_token(token("bob"))).status, 429U);  // the session still counts

  Request r;
  r.target = "/client/hubs/chat?access_token=stale&awps_connection_id=" + session->id() +
             "&awps_reconnection_token=" + *connected.reconnection_token;
  r.protocols = {kJsonReliable};
  const UpgradeAcceptance again = accepted(r);
  EXPECT_EQ(again.handler, first.handler);
  EXPECT_EQ(again.subprotocol, kJsonReliable);
  EXPECT_EQ(again.extra_queue_messages, 4U);

  // The wrong token, or the other format, is refused.
  Request wrong = r;
  wrong.target =
      "/client/hubs/chat?awps_connection_id=" + session->id() + "&awps_reconnection_token=0000";
  EXPECT_NE(accepted(wrong).handler, first.handler);
  Request other = r;
  other.protocols = {kProtobufReliable};
  EXPECT_NE(accepted(other).handler, first.handler);
  EXPECT_EQ(context().counters.recoveries_refused, 2U);

  auto resumed = open(again.handler);
  EXPECT_EQ(Wire(Format::json).read(*resumed->sent().at(0)).kind, Received::Kind::connected);
  EXPECT_EQ(context().counters.recoveries, 1U);
}

}  // namespace
}  // namespace wps::handler::test
