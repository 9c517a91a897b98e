#pragma once
// One client WebSocket: reads frames and hands them to the core, writes what the core sends.
// The WebSocket protocol is ours (protocol::ws::FrameReader reads, pre-built frame headers
// write), straight on the socket: no per-connection read buffer while idle (a plain-TCP session
// waits for readability and reads into a per-thread buffer), one timer, and writes tried at once
// without a trip through the event loop.
//
// All members are touched only on the session's strand; send() and close() may be called from
// any thread and post onto it. One write in flight, a bounded queue, and a named slow-consumer
// policy: a connection whose queue would exceed Limits::max_pending_bytes or
// Limits::max_pending_messages is closed with 1008 "SlowClient".

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/hub.hpp"
#include "protocol/ws_frame.hpp"
#include "transport/handshake.hpp"
#include "transport/reliable_connection.hpp"
#include "transport/server_context.hpp"
#include "transport/streams.hpp"
#include "transport/upstream.hpp"
#include "util/fifo.hpp"

namespace wps::transport {

template <class Stream>
class WebSocketSession final : public core::Connection,
                               public std::enable_shared_from_this<WebSocketSession<Stream>> {
 public:
  // `upstream` carries the connection's event-handler context (never null). `tls`: the TLS
  // context the stream was made with, kept alive as long as the session (null for plain TCP).
  WebSocketSession(Stream&& stream, ServerContext& context, core::ProtocolKind kind,
                   core::ConnId id, std::shared_ptr<Upstream> upstream,
                   std::shared_ptr<boost::asio::ssl::context> tls);
  ~WebSocketSession() override;

  // Answers the upgrade `accept` describes (`accept_key`: the Sec-WebSocket-Accept value) and
  // starts the session. `early`: bytes the client sent after its upgrade request, already read.
  void run(HandshakeAccept&& accept, std::string_view accept_key, std::string early);

  void send(core::SharedFrame frame) override;
  void close(std::uint16_t code, std::string reason) override;

 private:
  // Plain TCP: the bare socket (the HTTP session's timers are not needed any more). TLS: the
  // stream as the HTTP session had it.
  using Socket = std::conditional_t<kIsTls<Stream>, Stream, boost::asio::ip::tcp::socket>;
  enum class Phase { open, closing, closed };

  boost::asio::ip::tcp::socket& tcp_socket();
  // Registers the connection in its hub (a reliable one through its logical connection); the
  // reason to refuse it if it may not stay.
  std::optional<std::string> register_connection(HandshakeAccept& accept);
  void recover(const HandshakeAccept& accept);

  // Reading. do_read() arms one read unless one is armed or reading is paused; pump() first
  // handles input kept by the reader while paused.
  void do_read();
  void on_readable(boost::system::error_code ec);
  void on_tls_read(boost::system::error_code ec, std::size_t bytes);
  void pump();
  // Feeds bytes to the reader and handles what it reports; false once reading must stop.
  void consume(std::span<char> bytes);
  bool on_event(const protocol::ws::ReadEvent& event);
  void on_peer_gone();
  bool can_read() const;
  void handle_message(bool binary, std::string_view data);
  // Sends a user event to the event handler; reading pauses until it answers.
  void call_upstream(std::string event, protocol::Payload payload,
                     std::optional<std::uint64_t> ack_id);
  void on_upstream_result(std::optional<std::uint64_t> ack_id, webhook::UserEventResult result);

  // Writing. Moves what send() put in the inbox into the queue and starts writing.
  void drain_inbox();
  // Queues `frame` (or closes a slow consumer); the caller starts the write.
  void enqueue(core::SharedFrame frame);
  // Drops the queued frames that are not part of the write in flight.
  void drop_unsent();
  // Writes everything pending -- the 101, a pong, queued frames up to kMaxBatchFrames /
  // kMaxBatchBytes, the close frame once the queue is empty -- in one gather write, tried at
  // once (plain TCP) and finished asynchronously only when the socket is full. Drops frames
  // whose TTL passed.
  void write_next();
  void on_written();
  void on_async_write(boost::system::error_code ec);

  // The one timer. Open: keep-alive, a ping after keep_alive_interval without input from the
  // client, the end after twice that. Closing: the deadline of the close handshake.
  void arm_timer(std::chrono::steady_clock::time_point at);
  void on_timer(boost::system::error_code ec);

  // `from_logical`: the close was ordered through core::Connection::close (by the hub or the
  // reliable connection); otherwise the session itself refuses the client, which also ends a
  // reliable client's logical connection.
  void begin_close(std::uint16_t code, std::string reason, bool from_logical = false);
  // The close frames are exchanged (or the peer cannot take part): end the TCP connection.
  void shutdown();
  // The socket is gone. `recoverable`: it dropped without a close handshake, so a reliable
  // client may come back.
  void finish(bool recoverable = false);
  // Leaves the hub (once) and raises `disconnected` upstream.
  void unregister(const std::string& reason);

  std::shared_ptr<boost::asio::ssl::context> tls_;
  Socket socket_;
  ServerContext& context_;
  const core::ProtocolKind kind_;
  core::ConnId id_;
  std::shared_ptr<core::Hub> hub_;
  // Reliable clients: the logical connection this socket carries (the hub holds that, not us).
  std::shared_ptr<ReliableConnection> reliable_;
  std::shared_ptr<Upstream> upstream_;
  protocol::ws::FrameReader reader_;
  // TLS only: decrypted input is read here (allocated on the first read).
  std::unique_ptr<char[]> tls_buffer_;
  // send() may run on any thread: it appends here and posts one drain for however many frames
  // arrive before that drain runs (a burst of publishes costs one post per connection).
  std::mutex inbox_mutex_;
  std::vector<core::SharedFrame> inbox_;
  util::Fifo<core::SharedFrame> queue_;
  std::size_t queued_bytes_ = 0;
  std::size_t inflight_ = 0;  // frames at the front of queue_ in the write in flight
  // What is written besides data frames: the 101 response (first, once), at most one pong
  // waiting (answering the latest ping) and one in flight, so that a ping flood from a client
  // that does not read cannot grow the server, and the close frame, written once the queue is
  // empty. Allocated while any of it is needed: an idle connection has none.
  struct Control {
    std::string upgrade_response;
    std::optional<std::string> pong;
    std::string pong_inflight;
    std::string close_frame;
  };
  Control& control();
  void release_control();
  std::unique_ptr<Control> control_;
  std::chrono::steady_clock::time_point last_input_;
  boost::asio::steady_timer timer_;
  Phase phase_ = Phase::open;
  bool reading_ = false;
  bool writing_ = false;
  bool in_read_ = false;  // the reader is on the stack: do not re-enter it
  bool awaiting_upstream_ = false;
  bool registered_ = false;
  bool ping_sent_ = false;  // a keep-alive ping went out and no input came since
  bool ping_due_ = false;   // a keep-alive ping is to be written
  bool upgrade_inflight_ = false;
  bool close_inflight_ = false;
  bool close_sent_ = false;
  bool close_received_ = false;
  bool tls_shutdown_ = false;  // TLS close_notify under way
  // The client broke the protocol: its input cannot be parsed any more.
  bool input_broken_ = false;
};

}  // namespace wps::transport
