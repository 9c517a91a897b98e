#include "handler/client_handler.hpp"

#include <boost/asio/post.hpp>

namespace wps::handler {

ClientHandler::ClientHandler(Context& context, Registration registration,
                             std::shared_ptr<core::ConnectionEvents> events,
                             const core::Encoder& encoder)
    : context_(context),
      registration_(std::move(registration)),
      events_(std::move(events)),
      encoder_(encoder) {}

std::optional<std::string> ClientHandler::join_hub(std::weak_ptr<core::Client> self,
                                                   const std::function<void()>& on_added) {
  core::ConnectionInfo info;
  info.id = registration_.id;
  info.user_id = registration_.user_id;
  info.kind = registration_.kind;
  info.encoder = &encoder_;
  info.roles = registration_.roles;
  info.groups = registration_.groups;
  if (events_->upstream() != nullptr)
    info.group_observer = events_;
  const core::Hub::AddResult added =
      registration_.hub->add_connection(info, std::move(self), on_added);
  if (added == core::Hub::AddResult::user_limit_reached)
    return "The user has reached the maximum number of connections.";
  registered_ = true;
  return std::nullopt;
}

void ClientHandler::leave_hub(const std::string& reason) {
  if (!registered_.exchange(false))
    return;
  registration_.hub->remove_connection(registration_.id);
  WPS_LOG_AT(debug, "handler", log_fields("disconnected"))
      << "disconnected " << id() << " hub=" << hub()->name() << (reason.empty() ? "" : ": ")
      << reason;
  events_->disconnected(reason);
}

void ClientHandler::leave_hub_silently() {
  if (registered_.exchange(false))
    registration_.hub->remove_connection(registration_.id);
}

void ClientHandler::call_upstream(const std::shared_ptr<Socket>& socket, std::string event,
                                  protocol::Payload payload,
                                  std::function<void(Socket&, core::UserEventResult)> done) {
  socket->pause();
  events_->user_event(
      std::move(event), std::move(payload),
      [weak = std::weak_ptr<Socket>(socket),
       done = std::move(done)](core::UserEventResult result) mutable {
        auto alive = weak.lock();
        if (!alive)
          return;
        auto executor = alive->executor();
        boost::asio::post(
            executor, [alive = std::move(alive), done = std::move(done),
                       result = std::move(result)]() mutable { done(*alive, std::move(result)); });
      });
}

}  // namespace wps::handler
