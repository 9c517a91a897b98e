#pragma once
// One client WebSocket: reads frames and hands them to the core, writes what the core sends.
// All members are touched only on the session's strand; send() and close() may be called from
// any thread and post onto it. One write in flight, a bounded queue, and a named slow-consumer
// policy: a connection whose queue would exceed Limits::max_pending_bytes or
// Limits::max_pending_messages is closed with 1008 "SlowClient".

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/hub.hpp"
#include "transport/handshake.hpp"
#include "transport/reliable_connection.hpp"
#include "transport/server_context.hpp"
#include "transport/streams.hpp"
#include "transport/upstream.hpp"
#include "transport/write_gate.hpp"
#include "util/fifo.hpp"

namespace wps::transport {

template <class Stream>
class WebSocketSession final : public core::Connection,
                               public std::enable_shared_from_this<WebSocketSession<Stream>> {
 public:
  // `upstream` carries the connection's event-handler context (never null). `tls`: the TLS
  // context the stream was made with, kept alive as long as the session (null for plain TCP).
  WebSocketSession(Stream&& stream, ServerContext& context, HandshakeAccept&& accept,
                   core::ConnId id, std::shared_ptr<Upstream> upstream,
                   std::shared_ptr<boost::asio::ssl::context> tls);
  ~WebSocketSession() override;

  // Completes the upgrade of `request` and starts the session.
  void run(boost::beast::http::request<boost::beast::http::string_body>&& request);

  void send(core::SharedFrame frame) override;
  void close(std::uint16_t code, std::string reason) override;

 private:
  enum class Phase { handshake, open, closing, closed };

  void on_accept(boost::beast::error_code ec);
  void do_read();
  void on_read(boost::beast::error_code ec, std::size_t bytes);
  void handle_message();
  // Moves what send() put in the inbox into the queue and starts writing.
  void drain_inbox();
  // Queues `frame` (or closes a slow consumer); the caller starts the write.
  void enqueue(core::SharedFrame frame);
  // Starts the next write -- every queued frame up to kMaxBatchFrames / kMaxBatchBytes in one
  // gather write -- dropping frames whose TTL passed; closes when done closing.
  void write_next();
  void on_write(boost::beast::error_code ec, std::size_t bytes);
  // `from_logical`: the close was ordered through core::Connection::close (by the hub or the
  // reliable connection); otherwise the session itself refuses the client, which also ends a
  // reliable client's logical connection.
  void begin_close(std::uint16_t code, std::string reason, bool from_logical = false);
  void do_close();
  // The socket is gone. `recoverable`: it dropped without a close handshake, so a reliable
  // client may come back.
  void finish(bool recoverable = false);
  // Registers the connection in its hub (a reliable one through its logical connection).
  void register_connection();
  // Leaves the hub (once) and raises `disconnected` upstream.
  void unregister(const std::string& reason);
  // Sends a user event to the event handler; reading pauses until it answers.
  void call_upstream(std::string event, protocol::Payload payload,
                     std::optional<std::uint64_t> ack_id);
  void on_upstream_result(std::optional<std::uint64_t> ack_id, webhook::UserEventResult result);
  void recover();

  std::shared_ptr<boost::asio::ssl::context> tls_;
  // Beast reads, accepts and closes; data frames are written through the gate, several at once.
  boost::beast::websocket::stream<WriteGate<Stream>> ws_;
  ServerContext& context_;
  HandshakeAccept accept_;
  core::ConnId id_;
  std::shared_ptr<core::Hub> hub_;
  // Reliable clients: the logical connection this socket carries (the hub holds that, not us).
  std::shared_ptr<ReliableConnection> reliable_;
  std::shared_ptr<Upstream> upstream_;
  bool awaiting_upstream_ = false;
  boost::beast::flat_buffer buffer_;
  // send() may run on any thread: it appends here and posts one drain for however many frames
  // arrive before that drain runs (a burst of publishes costs one post per connection).
  std::mutex inbox_mutex_;
  std::vector<core::SharedFrame> inbox_;
  std::vector<core::SharedFrame> draining_;  // strand only; swapped with inbox_
  util::Fifo<core::SharedFrame> queue_;
  std::size_t queued_bytes_ = 0;
  bool writing_ = false;
  std::size_t inflight_ = 0;  // frames at the front of queue_ in the write in flight
  bool registered_ = false;
  // Set when the connection was refused after the handshake began (e.g. a user limit).
  std::optional<std::string> refusal_;
  struct PendingClose {
    std::uint16_t code;
    std::string reason;
    bool from_logical;
  };
  std::optional<PendingClose> pending_close_;
  Phase phase_ = Phase::handshake;
  boost::beast::websocket::close_reason close_reason_;
  // Bounds a server-initiated close: a peer that stopped reading (a slow consumer, a vanished
  // host) would otherwise hold the socket until the keep-alive timeout.
  boost::asio::steady_timer close_deadline_;
};

}  // namespace wps::transport
