#pragma once
// What a client-protocol handler may do with the WebSocket that carries its client. The
// transport implements it (transport::WebSocketConnection, TCP or TLS); unit tests use a fake.
// The socket frames and moves bytes; it knows nothing of hubs or wire formats.

#include <boost/asio/any_io_executor.hpp>
#include <cstdint>
#include <string>

#include "protocol/frame.hpp"

namespace wps::handler {

using protocol::SharedFrame;

class Socket {
 public:
  virtual ~Socket() = default;

  // Queues `frame` for the client, behind everything queued before it. Thread-safe, never
  // blocks. A socket whose queue would pass its limits closes itself as a slow consumer (1008);
  // frames sent once it is closing are dropped.
  virtual void send(SharedFrame frame) = 0;

  // Closes the connection: the handler's farewell (Handler::on_closing), the queued frames, then
  // a close frame with `code` and `reason`. Thread-safe and idempotent; it happens on the
  // socket's executor.
  virtual void close(std::uint16_t code, std::string reason) = 0;

  // Stops handing the client's messages to the handler until resume(): what arrives meanwhile
  // waits, in order. Only on the socket's executor (from within Handler::on_message).
  virtual void pause() = 0;
  // Resumes after pause(). Only on the socket's executor.
  virtual void resume() = 0;

  // Where the socket's callbacks run; a handler posts there what must run in order with them.
  virtual boost::asio::any_io_executor executor() const = 0;
};

}  // namespace wps::handler
