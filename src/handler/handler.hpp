#pragma once
// One client protocol's view of a connection: what the client's messages mean (decode, route,
// encode). The socket (handler::Socket) calls a Handler on its executor, in this order:
// on_open once, then on_message for each message (unless paused), on_closing when the server
// closes the socket (at most once), on_closed once at the end. A handler of a reliable session
// outlives its sockets and is called by each socket that carries it, so every call says which.

#include <memory>
#include <string_view>

#include "handler/socket.hpp"

namespace wps::handler {

class Handler {
 public:
  virtual ~Handler() = default;

  // The upgrade is answered (its 101 is queued): the handler may send (e.g. `connected`) and
  // registers its client.
  virtual void on_open(const std::shared_ptr<Socket>& socket) = 0;

  // One whole message from the client (text or binary); `data` is valid during the call only.
  virtual void on_message(Socket& socket, bool binary, std::string_view data) = 0;

  // The server is closing `socket` for `reason` (the handler, the hub or REST, the transport for
  // a bad frame or a slow consumer, shutdown). The client stops existing for the hub; the result
  // is the frame to send before the close frame (PubSub: `disconnected`), or null.
  virtual SharedFrame on_closing(Socket& socket, std::string_view reason) = 0;

  // `socket` is gone; the last call it makes. `recoverable`: it dropped without a close
  // handshake, so a reliable client may come back (otherwise the client ended it, or the server
  // did after on_closing).
  virtual void on_closed(Socket& socket, bool recoverable) = 0;
};

}  // namespace wps::handler
