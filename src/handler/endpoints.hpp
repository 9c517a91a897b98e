#pragma once
// The client endpoints (/client/hubs/{hub}, /client/?hub=, spec §3): whether a WebSocket upgrade
// is accepted, with which subprotocol and which protocol handler, or refused with which HTTP
// status. Runs the checks of the handshake (token, hub, limits), the blocking `connect` event
// when the hub has a handler for it (its answer may change the identity, groups, roles and
// subprotocol), and finds the session a reliable client resumes. No I/O of its own: the
// transport asks, answers the upgrade and runs the handler it is given.

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/upstream.hpp"
#include "handler/context.hpp"
#include "handler/handler.hpp"
#include "handler/handshake.hpp"

namespace wps::handler {

// A WebSocket upgrade request as the transport read it; views valid during upgrade() only.
struct UpgradeRequest {
  std::string_view target;                          // raw request-target
  std::string_view host;                            // Host header
  std::string_view authorization;                   // Authorization header (may be empty)
  std::vector<std::string_view> offered_protocols;  // Sec-WebSocket-Protocol values, in order
  bool is_websocket_upgrade = false;
  // The server holds Limits::max_connections already (refused with 429 once the request is
  // otherwise valid).
  bool at_connection_limit = false;
  // The request's headers except Authorization, for the `connect` event; called at most once,
  // during upgrade().
  std::function<core::Multimap()> headers;
};

struct UpgradeRefusal {
  unsigned status = 400;
  std::string code;     // ErrorDetail.code
  std::string message;  // ErrorDetail.message (never contains secrets)
};

struct UpgradeAcceptance {
  std::string subprotocol;  // echoed in the 101; empty for none
  std::shared_ptr<Handler> handler;
  // What the socket's outbound queue may hold beyond Limits::max_pending_*: a reliable session's
  // replay buffer, which a recovered socket receives first.
  std::size_t extra_queue_messages = 0;
  std::size_t extra_queue_bytes = 0;
};

using UpgradeAnswer = std::variant<UpgradeRefusal, UpgradeAcceptance>;

class Endpoints {
 public:
  explicit Endpoints(Context& context) : context_(context) {}

  // Whether `target` (a raw request-target) addresses a client endpoint: upgrades and mistaken
  // plain requests to it are answered by upgrade().
  bool serves(std::string_view target) const;

  // Decides an upgrade: the answer, or nullopt when a `connect` event handler decides, and then
  // `later` is called once with the answer, from any thread.
  std::optional<UpgradeAnswer> upgrade(const UpgradeRequest& request,
                                       std::function<void(UpgradeAnswer)> later);

 private:
  // A refusal when the hub or the user is at its connection limit (checked again, for the
  // user, when the client registers: a connect handler may change the user id).
  std::optional<UpgradeRefusal> over_limits(const HandshakeAccept& accept) const;
  // Null: answered later through `later` (a session held by another node is claimed first).
  // A session claimed from the cluster's store, re-created here.
  UpgradeAnswer resume_claimed(UpgradeAcceptance acceptance, core::ClaimedSession claimed);
  std::optional<UpgradeAnswer> resume(const HandshakeAccept& accept,
                                      std::function<void(UpgradeAnswer)>& later);
  UpgradeAnswer accept_new(HandshakeAccept&& accept,
                           std::shared_ptr<core::ConnectionEvents> events);
  UpgradeAnswer on_connect_result(HandshakeAccept&& accept, const std::vector<std::string>& offered,
                                  std::shared_ptr<core::ConnectionEvents> events,
                                  core::ConnectResult&& result);

  Context& context_;
};

}  // namespace wps::handler
