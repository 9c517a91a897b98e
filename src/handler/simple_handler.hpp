#pragma once
// Simple WebSocket clients (no subprotocol, spec §6.2): every frame they send is a `message`
// user event for the hub's event handler, whose answer comes back to them as a frame; without a
// handler (or when it fails) the connection is closed with 1011, as the service does. They
// receive data messages as raw frames and no system messages.

#include <memory>

#include "handler/client_handler.hpp"

namespace wps::handler {

class SimpleHandler final : public ClientHandler,
                            public std::enable_shared_from_this<SimpleHandler> {
 public:
  SimpleHandler(Context& context, Registration registration,
                std::shared_ptr<core::ConnectionEvents> events);

  void on_open(const std::shared_ptr<Socket>& socket) override;
  void on_message(Socket& socket, bool binary, std::string_view data) override;
  SharedFrame on_closing(Socket& socket, std::string_view reason) override;
  void on_closed(Socket& socket, bool recoverable) override;

  void deliver(const SharedFrame& frame) override;
  void close(std::uint16_t code, std::string reason) override;

 private:
  void on_event_result(Socket& socket, core::UserEventResult result);

  // Set by on_open before the hub can deliver, never changed after.
  std::shared_ptr<Socket> socket_;
};

}  // namespace wps::handler
