#pragma once
// One client WebSocket after the upgrade: it frames and moves bytes and nothing else. Reading
// (protocol::ws::FrameReader), control frames, the close handshake, keep-alive, the outbound
// queue with its slow-consumer policy (Outbound), and writes. What the client's messages mean is
// its handler's business (handler::Handler: simple, JSON, protobuf, ...), which it calls on its
// executor; the handler talks back through handler::Socket.
//
// This class is the state machine; the socket I/O of plain TCP and TLS lives in WebSocketStream
// (websocket_stream.hpp), behind the few virtual functions below. No per-connection read buffer
// while idle, no timer of its own (one deadline in its loop's TimerWheel), and writes tried at
// once without a trip through the event loop. All members are touched only on the thread of the
// connection's event loop; send() and close() may be called from any thread.
//
// Corking (one event loop thread): a frame sent on the loop's own thread (a publication that a
// REST request or a client fanned out there) is queued at once, without a lock or a post, and
// the connection joins the loop's list of corked connections; once per turn of the loop, after
// the handlers already queued, each of them writes everything it queued in one gather write.
// Under load a write carries many frames by itself; an idle server still answers at once.

#include <boost/asio/buffer.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "handler/handler.hpp"
#include "protocol/ws_frame.hpp"
#include "transport/outbound.hpp"
#include "transport/server_context.hpp"
#include "transport/timer_wheel.hpp"

namespace wps::transport {

class WebSocketConnection : public handler::Socket,
                            public std::enable_shared_from_this<WebSocketConnection>,
                            private TimerWheel::Entry {
 public:
  ~WebSocketConnection() override;

  // Answers the upgrade (`accept_key`: the Sec-WebSocket-Accept value, `subprotocol`: echoed
  // when not empty), opens the handler and starts reading. `early`: bytes the client sent after
  // its upgrade request, already read.
  void run(std::string_view accept_key, std::string_view subprotocol, std::string early);

  // handler::Socket
  void send(SharedFrame frame) override;
  void close(std::uint16_t code, std::string reason) override;
  void pause() override;
  void resume() override;
  boost::asio::any_io_executor executor() const override { return executor_; }

 protected:
  // `extra_messages` / `extra_bytes`: what the outbound queue may hold beyond
  // Limits::max_pending_* (a reliable session's replay). `executor`: the executor of the event
  // loop (an io_context run by one thread) the connection lives on; anything else is refused
  // (std::invalid_argument).
  WebSocketConnection(ServerContext& context, std::shared_ptr<handler::Handler> handler,
                      std::size_t extra_messages, std::size_t extra_bytes,
                      boost::asio::any_io_executor executor);

  // ---- the stream's side (WebSocketStream) ------------------------------------------------
  enum class WriteResult : std::uint8_t { done, pending, failed };
  // Arms one read (or wait for readability); it ends in consume() and pump(), or on_gone().
  virtual void start_read() = 0;
  // Writes `buffers`: done at once, pending (on_write_done() follows), or failed.
  virtual WriteResult write(const std::vector<boost::asio::const_buffer>& buffers) = 0;
  // Ends the TCP connection after the close handshake (TLS: close_notify first); then finish().
  virtual void shutdown_stream() = 0;
  // No more sending (the client broke the protocol: read on until it hangs up).
  virtual void shutdown_send() = 0;
  // Closes the socket, cancelling what is pending.
  virtual void close_socket() = 0;

  // ---- what the stream calls ----------------------------------------------------------------
  // Bytes read: fed to the reader; `reading_` must be cleared first.
  void consume(std::span<char> bytes);
  // Hands over input the reader kept while paused, then arms the next read if wanted.
  void pump();
  // The client is gone (EOF, reset, error) without a close handshake.
  void on_gone() { finish(state_ == State::open); }
  void on_write_done(boost::system::error_code ec);
  // The socket is gone. `recoverable`: it dropped without a close handshake, so a reliable
  // client may come back.
  void finish(bool recoverable);
  bool closed() const { return state_ == State::closed; }
  // Whether more input is wanted now (not paused, not closed, not after the client's close).
  bool wants_input() const;

  ServerContext& context_;
  bool reading_ = false;       // a read (or wait for readability) is armed
  bool tls_shutdown_ = false;  // TLS close_notify under way (it reads on its own)

 private:
  // The connection as a whole. open: messages flow both ways. closing: the server or the client
  // started the close handshake; bounded by Limits::handshake_timeout. closed: the socket is
  // closed and the handler told; nothing happens any more.
  enum class State : std::uint8_t { open, closing, closed };
  // The client's side. reading: frames are parsed. broken: it broke the protocol, nothing it
  // sends is parsed any more. ended: its close frame arrived.
  enum class Input : std::uint8_t { reading, broken, ended };
  // Keep-alive: quiet, or a ping went out and no input came since.
  enum class KeepAlive : std::uint8_t { quiet, pinged };

  // The connections of one event loop that queued frames this turn (see the top of this file).
  class Corks;
  // Joins the loop's corked connections, once per turn.
  void cork();

  bool on_frame(const protocol::ws::ReadEvent& event);
  void on_client_close(std::uint16_t code);
  // Moves what send() queued into the queue (closing a slow consumer) and writes.
  void drain();
  // Writes everything pending (Outbound::collect) in one gather write.
  void write_next();
  void on_written();
  // The one deadline, in the loop's TimerWheel. Open: keep-alive (a ping after
  // keep_alive_interval without input, the end after twice that; not while paused, when nothing
  // is read). Closing: the deadline of the close handshake.
  void arm_timer(std::chrono::steady_clock::time_point at);
  // TimerWheel::Entry
  void on_deadline() override;
  std::shared_ptr<TimerWheel::Entry> entry_owner() override;
  // The server closes: the handler's farewell and the close frame go out after what is queued.
  void begin_close(std::uint16_t code, std::string reason);
  // Why the connection ends (metrics): the first cause seen wins; none = dropped.
  void set_close_reason(core::CloseReason reason) {
    if (!close_reason_)
      close_reason_ = reason;
  }
  static core::CloseReason close_reason_of(std::uint16_t code);
  // The close frames are exchanged (or the client cannot take part): end the TCP connection.
  void shutdown();

  // Released once the connection is closed (the handler may hold this connection too).
  std::shared_ptr<handler::Handler> handler_;
  protocol::ws::FrameReader reader_;
  Outbound outbound_;
  // The loop's corked connections when one thread runs the loop; null otherwise (every send
  // goes through the outbound inbox and a posted drain).
  Corks* corks_ = nullptr;
  // The loop's deadlines (one Asio timer for all its connections).
  TimerWheel* wheel_;
  std::chrono::steady_clock::time_point last_input_;
  boost::asio::io_context::executor_type executor_;
  State state_ = State::open;
  std::optional<core::CloseReason> close_reason_;
  Input input_ = Input::reading;
  KeepAlive keep_alive_ = KeepAlive::quiet;
  bool writing_ = false;   // a write is in flight
  bool paused_ = false;    // the handler waits before taking more messages
  bool feeding_ = false;   // the reader is on the stack: do not re-enter it
  bool corked_ = false;    // in the loop's corked list, its write to come this turn
  bool overflow_ = false;  // a frame sent on the loop did not fit: a slow consumer
};

}  // namespace wps::transport
