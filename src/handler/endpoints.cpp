#include "handler/endpoints.hpp"

#include <algorithm>
#include <boost/url/parse.hpp>
#include <chrono>

#include "handler/codec.hpp"
#include "handler/mqtt_handler.hpp"
#include "handler/pubsub_handler.hpp"
#include "handler/simple_handler.hpp"
#include "protocol/names.hpp"
#include "util/ids.hpp"
#include "util/log.hpp"

namespace wps::handler {

namespace {

// The socket of a reliable client that tried to resume a session that is gone (unknown id,
// wrong token, window expired): the upgrade succeeds, then `disconnected` and 1008, the one code
// on which the JS client stops retrying (spec §3.3, §6.4).
class RefusedRecovery final : public Handler {
 public:
  explicit RefusedRecovery(const PubSubCodec* codec) : codec_(codec) {}
  void on_open(const std::shared_ptr<Socket>& socket) override {
    socket->close(core::close_code::policy_violation,
                  "The connection cannot be recovered: unknown or expired session.");
  }
  void on_message(Socket&, bool, std::string_view) override {}
  SharedFrame on_closing(Socket&, std::string_view reason) override {
    return codec_ != nullptr ? codec_->disconnected(reason) : nullptr;
  }
  void on_closed(Socket&, bool) override {}

 private:
  const PubSubCodec* const codec_;
};

UpgradeRefusal refusal(unsigned status, std::string code, std::string message) {
  return UpgradeRefusal{status, std::move(code), std::move(message)};
}

}  // namespace

bool Endpoints::serves(std::string_view target) const {
  return is_client_endpoint(target);
}

std::optional<UpgradeAnswer> Endpoints::upgrade(const UpgradeRequest& request,
                                                std::function<void(UpgradeAnswer)> later) {
  HandshakeRequest hs;
  hs.target = request.target;
  hs.host = request.host;
  hs.authorization = request.authorization;
  hs.offered_protocols = request.offered_protocols;
  hs.is_websocket_upgrade = request.is_websocket_upgrade;
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  HandshakeDecision decision = decide_handshake(hs, context_.config, now);
  if (auto* rejected = std::get_if<HandshakeReject>(&decision))
    return refusal(rejected->status, std::move(rejected->code), std::move(rejected->message));
  auto& accept = std::get<HandshakeAccept>(decision);
  if (request.at_connection_limit)
    return refusal(429, "ConnectionCountLimitReached",
                   "The server has reached its maximum number of connections.");
  // A recovering client's session is still counted in its hub: no other limit applies.
  if (accept.recover_connection_id)
    return resume(accept, later);
  if (auto over = over_limits(accept))
    return std::move(*over);
  if (accept.kind == core::ProtocolKind::mqtt) {
    // MQTT: the upgrade is answered now; the CONNECT packet raises the `connect` event.
    core::Multimap query;
    if (auto parsed = boost::urls::parse_origin_form(request.target)) {
      for (auto param : parsed->params()) {
        if (param.key != "access_token")
          query[std::string(param.key)].emplace_back(param.has_value ? std::string(param.value)
                                                                     : std::string());
      }
    }
    core::Multimap headers;
    if (request.headers && context_.upstream != nullptr &&
        context_.upstream->has_handler(accept.hub, "connect", false))
      headers = request.headers();
    UpgradeAcceptance acceptance;
    acceptance.subprotocol = accept.subprotocol;
    acceptance.handler = std::make_shared<MqttHandler>(context_, std::move(accept),
                                                       std::move(query), std::move(headers));
    return acceptance;
  }
  core::ConnectionContext upstream_context;
  upstream_context.hub = accept.hub;
  upstream_context.connection_id = util::random_hex_id();
  upstream_context.user_id = accept.user_id;
  upstream_context.subprotocol = accept.subprotocol;
  auto events =
      std::make_shared<core::ConnectionEvents>(context_.upstream, std::move(upstream_context));
  if (!events->has_handler("connect", false))
    return accept_new(std::move(accept), std::move(events));
  // The `connect` event (spec §8.5): blocking, before the upgrade is answered. Its body lists the
  // claims, the query (without the token), the headers (without Authorization) and the offered
  // subprotocols.
  core::ConnectRequest body;
  body.claims = accept.claims;
  if (auto parsed = boost::urls::parse_origin_form(request.target)) {
    for (auto param : parsed->params()) {
      if (param.key == "access_token")
        continue;
      body.query[std::string(param.key)].emplace_back(param.has_value ? std::string(param.value)
                                                                      : std::string());
    }
  }
  if (request.headers)
    body.headers = request.headers();
  std::vector<std::string> offered(request.offered_protocols.begin(),
                                   request.offered_protocols.end());
  body.subprotocols = offered;
  context_.upstream->connect(
      events->snapshot(), std::move(body),
      [this, accept = std::move(accept), offered = std::move(offered), events,
       later = std::move(later)](core::ConnectResult result) mutable {
        later(on_connect_result(std::move(accept), offered, std::move(events), std::move(result)));
      });
  return std::nullopt;
}

std::optional<UpgradeRefusal> Endpoints::over_limits(const HandshakeAccept& accept) const {
  const config::Limits& limits = context_.config.limits;
  if (limits.max_connections_per_hub == 0 && limits.max_connections_per_user == 0)
    return std::nullopt;
  const auto hub = context_.node.find_hub(accept.hub);
  if (!hub)
    return std::nullopt;
  if (limits.max_connections_per_hub != 0 &&
      hub->connection_count() >= limits.max_connections_per_hub)
    return refusal(429, "ConnectionCountLimitReached",
                   "The hub has reached its maximum number of connections.");
  if (limits.max_connections_per_user != 0 && accept.user_id &&
      hub->user_connection_count(*accept.user_id) >= limits.max_connections_per_user)
    return refusal(429, "ConnectionCountLimitReached",
                   "The user has reached the maximum number of connections.");
  return std::nullopt;
}

std::optional<UpgradeAnswer> Endpoints::resume(const HandshakeAccept& accept,
                                               std::function<void(UpgradeAnswer)>& later) {
  UpgradeAcceptance acceptance;
  acceptance.subprotocol = accept.subprotocol;
  auto session = context_.sessions.find(*accept.recover_connection_id);
  const auto refuse = [this](UpgradeAcceptance refused, const HandshakeAccept& request) {
    ++context_.counters.recoveries_refused;
    WPS_LOG(debug, "handler") << "recovery refused for " << *request.recover_connection_id;
    refused.handler = std::make_shared<RefusedRecovery>(
        core::is_pubsub(request.kind) ? &pubsub_codec(request.kind) : nullptr);
    return refused;
  };
  if (!session && context_.session_store != nullptr && core::is_reliable(accept.kind)) {
    // Not here: perhaps held (or left behind) by another node of the cluster.
    context_.session_store->claim(
        accept.hub, *accept.recover_connection_id, std::string(accept.recover_token),
        [this, accept, acceptance, refuse,
         later = std::move(later)](std::optional<core::ClaimedSession> claimed) mutable {
          if (!claimed || claimed->state.kind != accept.kind) {
            later(refuse(std::move(acceptance), accept));
            return;
          }
          later(resume_claimed(std::move(acceptance), std::move(*claimed)));
        });
    return std::nullopt;
  }
  if (!session || !session->resumable_by(accept.recover_token, accept.kind, accept.hub))
    return refuse(std::move(acceptance), accept);
  acceptance.handler = std::move(session);
  acceptance.extra_queue_messages = context_.config.limits.max_replay_messages + 1;
  acceptance.extra_queue_bytes = context_.config.limits.max_replay_bytes;
  return acceptance;
}

UpgradeAnswer Endpoints::resume_claimed(UpgradeAcceptance acceptance,
                                        core::ClaimedSession claimed) {
  Registration registration;
  registration.hub = context_.node.hub(claimed.state.hub);
  registration.id = claimed.state.connection_id;
  registration.user_id = claimed.state.user_id;
  registration.kind = claimed.state.kind;
  registration.roles = claimed.state.roles;
  registration.groups = claimed.state.groups;
  core::ConnectionContext upstream_context;
  upstream_context.hub = claimed.state.hub;
  upstream_context.connection_id = claimed.state.connection_id;
  upstream_context.user_id = claimed.state.user_id;
  upstream_context.subprotocol = acceptance.subprotocol;
  auto events =
      std::make_shared<core::ConnectionEvents>(context_.upstream, std::move(upstream_context));
  const PubSubCodec& codec = pubsub_codec(registration.kind);
  acceptance.handler = std::make_shared<PubSubHandler>(context_, codec, std::move(registration),
                                                       std::move(events), claimed);
  acceptance.extra_queue_messages = context_.config.limits.max_replay_messages + 1;
  acceptance.extra_queue_bytes = context_.config.limits.max_replay_bytes;
  return acceptance;
}

UpgradeAnswer Endpoints::accept_new(HandshakeAccept&& accept,
                                    std::shared_ptr<core::ConnectionEvents> events) {
  Registration registration;
  registration.hub = context_.node.hub(accept.hub);
  registration.id = events->connection_id();
  registration.user_id = std::move(accept.user_id);
  registration.kind = accept.kind;
  registration.roles = std::move(accept.roles);
  registration.groups = std::move(accept.groups);
  UpgradeAcceptance acceptance;
  acceptance.subprotocol = std::move(accept.subprotocol);
  if (!core::is_pubsub(accept.kind)) {
    acceptance.handler =
        std::make_shared<SimpleHandler>(context_, std::move(registration), std::move(events));
    return acceptance;
  }
  if (core::is_reliable(accept.kind)) {
    acceptance.extra_queue_messages = context_.config.limits.max_replay_messages + 1;
    acceptance.extra_queue_bytes = context_.config.limits.max_replay_bytes;
  }
  acceptance.handler = std::make_shared<PubSubHandler>(context_, pubsub_codec(accept.kind),
                                                       std::move(registration), std::move(events));
  return acceptance;
}

UpgradeAnswer Endpoints::on_connect_result(HandshakeAccept&& accept,
                                           const std::vector<std::string>& offered,
                                           std::shared_ptr<core::ConnectionEvents> events,
                                           core::ConnectResult&& result) {
  if (!result.accepted) {
    WPS_LOG(info, "handler") << "connect refused by the event handler (" << result.status
                             << "): " << result.error;
    // 4xx answers are relayed as the status of the upgrade; anything else is a 500.
    if (result.status >= 400 && result.status < 500)
      return refusal(result.status, "Unauthorized", "Refused by the event handler.");
    return refusal(500, "InternalServerError", "The event handler failed.");
  }
  if (result.user_id)
    accept.user_id = result.user_id->empty() ? std::nullopt : std::optional(*result.user_id);
  if (result.roles)
    accept.roles = std::move(*result.roles);  // replaces the token's roles
  if (result.groups && !result.groups->empty()) {
    for (const std::string& group : *result.groups) {
      if (!protocol::is_valid_group_name(group))
        return refusal(500, "InternalServerError",
                       "The event handler returned an invalid group name.");
    }
    accept.groups = std::move(*result.groups);  // replaces the token's groups
  }
  if (result.subprotocol) {
    // Must be one the client offered; a custom one makes a simple WebSocket client.
    if (std::find(offered.begin(), offered.end(), *result.subprotocol) == offered.end())
      return refusal(500, "InternalServerError",
                     "The event handler chose a subprotocol the client did not offer.");
    accept.kind = protocol_kind_of({*result.subprotocol});
    accept.subprotocol = *result.subprotocol;
  }
  events->update(result.state, result.cookies);
  events->set_identity(accept.user_id, accept.subprotocol);
  return accept_new(std::move(accept), std::move(events));
}

}  // namespace wps::handler
