#pragma once
// What every client-protocol handler shares: the client's identity and hub, its events upstream,
// registering in the hub once and leaving it once, and user events sent upstream one at a time.
// Each protocol family derives from it (simple_handler, pubsub_handler, and the next ones).

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/client.hpp"
#include "core/hub.hpp"
#include "core/upstream.hpp"
#include "handler/context.hpp"
#include "handler/handler.hpp"
#include "util/log.hpp"

namespace wps::handler {

// Who the client is, as its handshake (and the connect handler) decided.
struct Registration {
  std::shared_ptr<core::Hub> hub;
  core::ConnId id;
  std::optional<std::string> user_id;
  core::ProtocolKind kind = core::ProtocolKind::simple;
  std::vector<std::string> roles;
  std::vector<std::string> groups;  // joined when registering; names already validated
};

class ClientHandler : public Handler, public core::Client {
 public:
  const core::ConnId& id() const { return registration_.id; }
  const std::shared_ptr<core::Hub>& hub() const { return registration_.hub; }
  core::ProtocolKind kind() const { return registration_.kind; }
  const std::optional<std::string>& user_id() const { return registration_.user_id; }

 protected:
  // `encoder` encodes the data messages the hub delivers to this client.
  ClientHandler(Context& context, Registration registration,
                std::shared_ptr<core::ConnectionEvents> events, const core::Encoder& encoder);

  // Registers the client in its hub, joining its token groups; `on_added` runs under the hub's
  // lock before any delivery can reach the client (Hub::add_connection). The refusal to tell the
  // client when it may not stay.
  std::optional<std::string> join_hub(std::weak_ptr<core::Client> self,
                                      const std::function<void()>& on_added);
  // Leaves the hub and raises `disconnected` with `reason`; only the first call does anything.
  // Thread-safe.
  void leave_hub(const std::string& reason);
  // Leaves the hub without any event: the connection lives on on another node.
  void leave_hub_silently();

  // Sends the user event `event` upstream with `socket` paused, so that the events of one
  // connection reach the handler one at a time and in order (spec §8.7). `done` runs on the
  // socket's executor with the outcome, unless the socket is gone by then; it must resume the
  // socket (or close it).
  void call_upstream(const std::shared_ptr<Socket>& socket, std::string event,
                     protocol::Payload payload,
                     std::function<void(Socket&, core::UserEventResult)> done);

  // This client's fields of a log record about `event`.
  util::LogFields log_fields(std::string_view event) const {
    return {registration_.hub->name(), registration_.id,
            registration_.user_id ? std::string_view(*registration_.user_id) : std::string_view(),
            event};
  }

  Context& context_;
  const Registration registration_;
  const std::shared_ptr<core::ConnectionEvents> events_;
  const core::Encoder& encoder_;

 private:
  std::atomic<bool> registered_{false};
};

}  // namespace wps::handler
