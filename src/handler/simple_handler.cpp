#include "handler/simple_handler.hpp"

#include "handler/codec.hpp"
#include "util/log.hpp"

namespace wps::handler {

SimpleHandler::SimpleHandler(Context& context, Registration registration,
                             std::shared_ptr<core::ConnectionEvents> events)
    : ClientHandler(context, std::move(registration), std::move(events), simple_encoder()) {}

void SimpleHandler::on_open(const std::shared_ptr<Socket>& socket) {
  socket_ = socket;
  if (auto refusal = join_hub(weak_from_this(), {})) {
    socket->close(core::close_code::policy_violation, std::move(*refusal));
    return;
  }
  WPS_LOG_AT(debug, "handler", log_fields("connected"))
      << "connected " << id() << " hub=" << hub()->name();
  events_->connected();
}

void SimpleHandler::on_message(Socket& socket, bool binary, std::string_view data) {
  registration_.hub->received(registration_.kind, registration_.id, registration_.user_id,
                              data.size());
  if (!events_->has_handler("message", true)) {
    socket.close(core::close_code::internal_error,
                 "No event handler is configured for the 'message' event.");
    return;
  }
  protocol::Payload payload{binary ? protocol::DataType::binary : protocol::DataType::text,
                            std::string(data)};
  call_upstream(socket_, "message", std::move(payload),
                [self = shared_from_this()](Socket& s, core::UserEventResult result) {
                  self->on_event_result(s, std::move(result));
                });
}

void SimpleHandler::on_event_result(Socket& socket, core::UserEventResult result) {
  if (!result.ok) {
    WPS_LOG_AT(info, "handler", log_fields("message"))
        << "event handler failed for " << id() << ": " << result.error;
    // A frame that no handler took is dropped with its connection (spec §6.2).
    socket.close(core::close_code::internal_error, "The event handler failed.");
    return;
  }
  events_->update(result.state, result.cookies);
  // The handler's answer goes back to this client only, as a raw frame (spec §8.7).
  if (result.reply) {
    core::Message reply;
    reply.payload = std::move(*result.reply);
    socket.send(encoder_.encode(reply));
  }
  socket.resume();
}

SharedFrame SimpleHandler::on_closing(Socket&, std::string_view reason) {
  leave_hub(std::string(reason));
  return nullptr;  // simple clients get no system messages
}

void SimpleHandler::on_closed(Socket&, bool) {
  leave_hub("");
}

void SimpleHandler::deliver(const SharedFrame& frame) {
  socket_->send(frame);
}

void SimpleHandler::close(std::uint16_t code, std::string reason) {
  socket_->close(code, std::move(reason));
}

}  // namespace wps::handler
