#include "transport/websocket_session.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include "core/frames.hpp"
#include "protocol/json_codec.hpp"
#include "protocol/protobuf_codec.hpp"
#include "util/log.hpp"

namespace wps::transport {

namespace asio = boost::asio;
namespace ws = protocol::ws;
using boost::system::error_code;

namespace {
// Bytes asked of the socket per read. Plain TCP reads into one buffer per thread: a connection
// waiting for its next message holds no read buffer at all.
constexpr std::size_t kReadChunk = 64 * 1024;
// TLS reads into a buffer of the session's own (the TLS stream completes reads later, so one
// buffer per thread could be overwritten by another session meanwhile). Small: Asio's TLS stream
// already keeps a 17 KB record buffer per direction, and a large message just takes more reads.
constexpr std::size_t kTlsReadChunk = 4 * 1024;
// Reads per readiness event before the session lets other connections run.
constexpr int kReadsPerTurn = 4;
// One write carries at most this many queued frames (2 buffers each, plus the 101, a control
// frame and the close frame: Asio hands a sendmsg at most 64 buffers) and, past the first
// frame, at most this many bytes.
constexpr std::size_t kMaxBatchFrames = 30;
constexpr std::size_t kMaxBatchBytes = 256 * 1024;
// A drained inbox keeps its capacity for the next burst unless it grew past this.
constexpr std::size_t kKeepInboxCapacity = 64;
// An empty ping (what a keep-alive sends).
constexpr std::array<char, 2> kPingFrame{static_cast<char>(0x89), 0};

char* thread_read_buffer() {
  thread_local const std::unique_ptr<char[]> buffer(new char[kReadChunk]);
  return buffer.get();
}

// Scratch space reused by every session of a thread: the buffers of the write being built and
// the frames being drained from an inbox.
std::vector<asio::const_buffer>& thread_write_buffers() {
  thread_local std::vector<asio::const_buffer> buffers;
  return buffers;
}
std::vector<core::SharedFrame>& thread_drain_buffer() {
  thread_local std::vector<core::SharedFrame> frames;
  return frames;
}

template <class Stream>
auto take_socket(Stream& stream) {
  if constexpr (kIsTls<Stream>)
    return std::move(stream);
  else
    return stream.release_socket();
}
}  // namespace

template <class Stream>
WebSocketSession<Stream>::WebSocketSession(Stream&& stream, ServerContext& context,
                                           core::ProtocolKind kind, core::ConnId id,
                                           std::shared_ptr<Upstream> upstream,
                                           std::shared_ptr<boost::asio::ssl::context> tls)
    : tls_(std::move(tls)),
      socket_(take_socket(stream)),
      context_(context),
      kind_(kind),
      id_(std::move(id)),
      upstream_(std::move(upstream)),
      reader_(context.config.limits.max_message_bytes),
      timer_(socket_.get_executor()) {
  ++context_.open_websockets;
  ++context_.counters.connections_opened;
}

template <class Stream>
WebSocketSession<Stream>::~WebSocketSession() {
  unregister("");
  --context_.open_websockets;
  ++context_.counters.connections_closed;
}

template <class Stream>
asio::ip::tcp::socket& WebSocketSession<Stream>::tcp_socket() {
  if constexpr (kIsTls<Stream>)
    return socket_.next_layer().socket();
  else
    return socket_;
}

template <class Stream>
void WebSocketSession<Stream>::run(HandshakeAccept&& accept, std::string_view accept_key,
                                   std::string early) {
  std::string& response = control().upgrade_response;
  response.reserve(160 + accept.subprotocol.size());
  response +=
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Accept: ";
  response += accept_key;
  response += "\r\n";
  if (!accept.subprotocol.empty()) {
    response += "Sec-WebSocket-Protocol: ";
    response += accept.subprotocol;
    response += "\r\n";
  }
  response += "Server: webpubsub-server\r\n\r\n";
  if constexpr (!kIsTls<Stream>) {
    error_code ignored;
    socket_.non_blocking(true, ignored);
  }
  last_input_ = std::chrono::steady_clock::now();
  arm_timer(last_input_ + context_.config.limits.keep_alive_interval);
  // Join the hub (and the token's groups) before the 101 goes out: once a client sees its
  // upgrade succeed, messages to it and to its groups reach it. The 101 and what was sent
  // meanwhile (`connected`, early messages) go out in one write.
  if (accept.recover_connection_id) {
    recover(accept);
  } else if (std::optional<std::string> refusal = register_connection(accept)) {
    // The upgrade succeeds but the connection may not stay: tell the client why, close 1008.
    begin_close(core::close_code::policy_violation, *refusal);
  } else {
    WPS_LOG(debug, "ws") << "connected " << id_ << " hub=" << accept.hub
                         << (reliable_ ? " (reliable)" : "");
    upstream_->connected();
  }
  drain_inbox();
  if (!writing_)
    write_next();
  if (!early.empty() && can_read())
    consume(std::span<char>(early.data(), early.size()));
  pump();
}

template <class Stream>
std::optional<std::string> WebSocketSession<Stream>::register_connection(HandshakeAccept& accept) {
  hub_ = context_.node.hub(accept.hub);
  core::ConnectionInfo info;
  info.id = id_;
  info.user_id = std::move(accept.user_id);
  info.kind = accept.kind;
  info.roles = std::move(accept.roles);
  info.groups = std::move(accept.groups);
  if (upstream_->dispatcher() != nullptr)
    info.group_observer = upstream_;
  core::Hub::AddResult added;
  if (core::is_reliable(accept.kind)) {
    reliable_ = std::make_shared<ReliableConnection>(context_, id_, accept.kind, hub_,
                                                     socket_.get_executor());
    reliable_->set_user_id(info.user_id);
    reliable_->set_upstream(upstream_);
    info.reconnection_token = reliable_->reconnection_token();
    ReliableConnection::register_in(context_, reliable_);
    reliable_->attach(this->shared_from_this(), /*resend_connected=*/false);
    added = hub_->add_connection(info, reliable_);
    if (added != core::Hub::AddResult::added) {
      reliable_->end();
      reliable_.reset();
    }
  } else {
    added = hub_->add_connection(info, this->weak_from_this());
    registered_ = added == core::Hub::AddResult::added;
  }
  if (added == core::Hub::AddResult::user_limit_reached)
    return "The user has reached the maximum number of connections.";
  return std::nullopt;
}

template <class Stream>
void WebSocketSession<Stream>::recover(const HandshakeAccept& accept) {
  // The upgrade is accepted either way; a session that cannot be recovered is closed with 1008,
  // the one code on which the JS client stops retrying (spec §3.3, §6.4).
  auto logical = ReliableConnection::find(context_, *accept.recover_connection_id);
  if (!logical || !logical->token_matches(accept.recover_token) || logical->kind() != accept.kind ||
      logical->hub()->name() != accept.hub ||
      !logical->attach(this->shared_from_this(), /*resend_connected=*/true)) {
    ++context_.counters.recoveries_refused;
    WPS_LOG(debug, "ws") << "recovery refused for " << *accept.recover_connection_id;
    begin_close(core::close_code::policy_violation,
                "The connection cannot be recovered: unknown or expired session.");
    return;
  }
  ++context_.counters.recoveries;
  id_ = logical->id();
  hub_ = logical->hub();
  upstream_ = logical->upstream();
  reliable_ = std::move(logical);
  WPS_LOG(debug, "ws") << "recovered " << id_;
}

// ---- reading --------------------------------------------------------------------------------

template <class Stream>
bool WebSocketSession<Stream>::can_read() const {
  // While an event handler works on this connection's event, reading waits: events of one
  // connection reach the handler one at a time, in order (spec §8.7). A closing session reads
  // on, for the client's close frame (or, after a protocol error, until it hangs up).
  if (phase_ == Phase::open)
    return !awaiting_upstream_;
  // Once the client's close frame is in, nothing more is read; a TLS shutdown in progress reads
  // on its own (close_notify), so no second read may run beside it.
  return phase_ == Phase::closing && !close_received_ && !tls_shutdown_;
}

template <class Stream>
void WebSocketSession<Stream>::pump() {
  if (in_read_)
    return;
  if (reader_.has_buffered() && can_read()) {
    in_read_ = true;
    reader_.resume([this](const ws::ReadEvent& event) { return on_event(event); });
    in_read_ = false;
  }
  do_read();
}

template <class Stream>
void WebSocketSession<Stream>::do_read() {
  if (reading_ || !can_read())
    return;
  reading_ = true;
  if constexpr (kIsTls<Stream>) {
    if (!tls_buffer_)
      tls_buffer_.reset(new char[kTlsReadChunk]);
    socket_.async_read_some(asio::buffer(tls_buffer_.get(), kTlsReadChunk),
                            [self = this->shared_from_this()](error_code ec, std::size_t bytes) {
                              self->on_tls_read(ec, bytes);
                            });
  } else {
    socket_.async_wait(asio::socket_base::wait_read,
                       [self = this->shared_from_this()](error_code ec) { self->on_readable(ec); });
  }
}

template <class Stream>
void WebSocketSession<Stream>::on_readable(error_code ec) {
  reading_ = false;
  if (phase_ == Phase::closed)
    return;
  if (ec) {
    on_peer_gone();
    return;
  }
  if constexpr (!kIsTls<Stream>) {
    char* buffer = thread_read_buffer();
    for (int turn = 0; turn < kReadsPerTurn; ++turn) {
      const std::size_t bytes = socket_.read_some(asio::buffer(buffer, kReadChunk), ec);
      if (ec == asio::error::would_block || ec == asio::error::try_again)
        break;
      if (ec) {
        if (ec != asio::error::eof && ec != asio::error::connection_reset) {
          WPS_LOG(debug, "ws") << "read " << id_ << ": " << ec.message();
        }
        on_peer_gone();
        return;
      }
      consume(std::span<char>(buffer, bytes));
      if (!can_read() || bytes < kReadChunk)
        break;
    }
  }
  pump();
}

template <class Stream>
void WebSocketSession<Stream>::on_tls_read(error_code ec, std::size_t bytes) {
  reading_ = false;
  if (phase_ == Phase::closed)
    return;
  if (ec) {
    on_peer_gone();
    return;
  }
  consume(std::span<char>(tls_buffer_.get(), bytes));
  pump();
}

template <class Stream>
void WebSocketSession<Stream>::consume(std::span<char> bytes) {
  // Any input counts for the keep-alive.
  last_input_ = std::chrono::steady_clock::now();
  ping_sent_ = false;
  in_read_ = true;
  reader_.feed(bytes, [this](const ws::ReadEvent& event) { return on_event(event); });
  in_read_ = false;
}

template <class Stream>
bool WebSocketSession<Stream>::on_event(const ws::ReadEvent& event) {
  switch (event.kind) {
    case ws::ReadEvent::Kind::message:
      if (phase_ != Phase::open)
        return phase_ == Phase::closing;  // closing: what still arrives is dropped
      handle_message(event.binary, event.payload);
      return can_read();
    case ws::ReadEvent::Kind::ping:
      if (phase_ == Phase::closed || close_sent_)
        return phase_ != Phase::closed;
      // Only the latest ping is answered if several arrive before a pong can go out.
      if (control().pong)
        control_->pong->assign(event.payload);
      else
        control_->pong.emplace(event.payload);
      if (!writing_)
        write_next();
      return phase_ != Phase::closed;
    case ws::ReadEvent::Kind::pong:
      return true;
    case ws::ReadEvent::Kind::close:
      close_received_ = true;
      if (phase_ == Phase::open) {
        // The client ends its session (not recoverable): echo its code, drop what is queued.
        phase_ = Phase::closing;
        arm_timer(std::chrono::steady_clock::now() + context_.config.limits.handshake_timeout);
        if (reliable_)
          reliable_->detach(this, /*recoverable=*/false);
        unregister("");
        drop_unsent();
        control().close_frame = ws::encode_close_frame(event.code, {});
        WPS_LOG(debug, "ws") << "client closed " << id_ << " code=" << event.code;
        if (!writing_)
          write_next();
      } else if (phase_ == Phase::closing && close_sent_) {
        shutdown();  // the close handshake is complete
      }
      return false;
    case ws::ReadEvent::Kind::error:
      input_broken_ = true;
      if (phase_ == Phase::open) {
        ++context_.counters.protocol_error_closes;
        WPS_LOG(debug, "ws") << "protocol error from " << id_ << ": " << event.reason;
        std::string reason = event.code == core::close_code::message_too_big
                                 ? "The message exceeds the maximum size of " +
                                       std::to_string(context_.config.limits.max_message_bytes) +
                                       " bytes."
                                 : std::string(event.reason);
        begin_close(event.code, std::move(reason));
      } else if (phase_ == Phase::closing && close_sent_) {
        shutdown();
      }
      return false;
  }
  return false;
}

template <class Stream>
void WebSocketSession<Stream>::on_peer_gone() {
  // A client that drops without a close handshake may come back (reliable protocols).
  finish(phase_ == Phase::open);
}

template <class Stream>
void WebSocketSession<Stream>::handle_message(bool binary, std::string_view data) {
  std::optional<core::CloseRequest> close_request;
  if (core::is_pubsub(kind_)) {
    const bool protobuf = core::is_protobuf(kind_);
    if (binary != protobuf) {
      ++context_.counters.protocol_error_closes;
      begin_close(core::close_code::unsupported_data,
                  protobuf ? "The protobuf subprotocol requires binary messages."
                           : "The JSON subprotocol requires text messages.");
      return;
    }
    protocol::DecodeResult decoded = protobuf ? protocol::protobuf::decode_client_message(data)
                                              : protocol::json::decode_client_message(data);
    if (!decoded) {
      ++context_.counters.protocol_error_closes;
      begin_close(decoded.error.close_code, std::move(decoded.error.reason));
      return;
    }
    if (const auto* ack = std::get_if<protocol::SequenceAck>(&*decoded.message)) {
      if (reliable_)
        reliable_->acknowledge(ack->sequence_id);
      return;
    }
    if (auto* event = std::get_if<protocol::Event>(&*decoded.message);
        event && upstream_->has_handler(event->event, true)) {
      if (event->ack_id && hub_->reject_duplicate(id_, *event->ack_id))
        return;
      call_upstream(event->event, std::move(event->data), event->ack_id);
      return;
    }
    close_request = hub_->on_client_message(id_, std::move(*decoded.message));
  } else {
    protocol::Payload payload{binary ? protocol::DataType::binary : protocol::DataType::text,
                              std::string(data)};
    if (upstream_->has_handler("message", true)) {
      call_upstream("message", std::move(payload), std::nullopt);
      return;
    }
    close_request = hub_->on_simple_message(id_, std::move(payload));
  }
  if (close_request)
    begin_close(close_request->code, std::move(close_request->reason));
}

template <class Stream>
void WebSocketSession<Stream>::call_upstream(std::string event, protocol::Payload payload,
                                             std::optional<std::uint64_t> ack_id) {
  awaiting_upstream_ = true;
  upstream_->dispatcher()->user_event(
      upstream_->snapshot(), std::move(event), std::move(payload),
      [self = this->shared_from_this(), ack_id](webhook::UserEventResult result) mutable {
        auto executor = self->socket_.get_executor();
        asio::post(executor, [self = std::move(self), ack_id, r = std::move(result)]() mutable {
          self->on_upstream_result(ack_id, std::move(r));
        });
      });
}

template <class Stream>
void WebSocketSession<Stream>::on_upstream_result(std::optional<std::uint64_t> ack_id,
                                                  webhook::UserEventResult result) {
  awaiting_upstream_ = false;
  if (phase_ != Phase::open)
    return;
  core::Connection& sink = reliable_ ? static_cast<core::Connection&>(*reliable_) : *this;
  if (result.ok) {
    upstream_->update(result.state, result.cookies);
    if (result.reply) {
      // The handler's answer goes to this client only, before the ack (spec §8.7): a raw frame
      // for simple clients, a message from the server for PubSub clients.
      core::Message reply;
      reply.from = protocol::MessageSource::server;
      reply.payload = std::move(*result.reply);
      sink.send(core::encode_message(kind_, reply));
    }
  } else {
    WPS_LOG(info, "ws") << "event handler failed for " << id_ << ": " << result.error;
    if (!core::is_pubsub(kind_)) {
      // A simple client's frame that no handler took is dropped with its connection (§6.2).
      begin_close(core::close_code::internal_error, "The event handler failed.");
      return;
    }
  }
  hub_->complete_event(id_, ack_id, result.ok, result.ok ? std::string() : "Internal server error");
  pump();
}

// ---- writing --------------------------------------------------------------------------------

template <class Stream>
void WebSocketSession<Stream>::send(core::SharedFrame frame) {
  bool first = false;
  {
    std::lock_guard lock(inbox_mutex_);
    first = inbox_.empty();
    inbox_.push_back(std::move(frame));
  }
  // A drain is already on its way for a non-empty inbox; it takes this frame too.
  if (first)
    asio::post(socket_.get_executor(),
               [self = this->shared_from_this()]() { self->drain_inbox(); });
}

template <class Stream>
void WebSocketSession<Stream>::drain_inbox() {
  // Borrow the thread's drain buffer (moved out, so a nested drain would just use a new one).
  std::vector<core::SharedFrame> batch = std::move(thread_drain_buffer());
  batch.clear();
  {
    std::lock_guard lock(inbox_mutex_);
    batch.swap(inbox_);
  }
  for (core::SharedFrame& frame : batch)
    enqueue(std::move(frame));
  batch.clear();
  if (batch.capacity() <= kKeepInboxCapacity)
    thread_drain_buffer() = std::move(batch);
  if (!writing_)
    write_next();
}

template <class Stream>
void WebSocketSession<Stream>::close(std::uint16_t code, std::string reason) {
  asio::post(socket_.get_executor(),
             [self = this->shared_from_this(), code, r = std::move(reason)]() mutable {
               self->begin_close(code, std::move(r), /*from_logical=*/true);
             });
}

template <class Stream>
void WebSocketSession<Stream>::enqueue(core::SharedFrame frame) {
  if (phase_ != Phase::open || !frame)
    return;
  const config::Limits& limits = context_.config.limits;
  // A recovered reliable socket first receives the whole replay buffer: leave room for it.
  const std::size_t max_messages =
      limits.max_pending_messages + (reliable_ ? limits.max_replay_messages + 1 : 0);
  const std::size_t max_bytes =
      limits.max_pending_bytes + (reliable_ ? limits.max_replay_bytes : 0);
  if (queue_.size() >= max_messages || queued_bytes_ + frame->data.size() > max_bytes) {
    ++context_.counters.slow_consumer_closes;
    WPS_LOG(info, "ws") << "closing slow consumer " << id_ << " (" << queue_.size() << " messages, "
                        << queued_bytes_ << " bytes queued)";
    // A slow consumer gets nothing more of what is queued: only the close.
    drop_unsent();
    begin_close(core::close_code::policy_violation, "SlowClient: the outgoing queue is full.");
    return;
  }
  queued_bytes_ += frame->data.size();
  queue_.push_back(std::move(frame));
}

template <class Stream>
void WebSocketSession<Stream>::drop_unsent() {
  while (queue_.size() > (writing_ ? inflight_ : 0U)) {
    queued_bytes_ -= queue_.back()->data.size();
    queue_.pop_back();
  }
}

template <class Stream>
void WebSocketSession<Stream>::write_next() {
  while (!writing_ && phase_ != Phase::closed) {
    // Messages whose TTL (REST messageTtlSeconds) passed while they waited are not delivered.
    std::optional<std::chrono::steady_clock::time_point> now;
    while (!queue_.empty() && queue_.front()->expires_at.time_since_epoch().count() != 0) {
      if (!now)
        now = std::chrono::steady_clock::now();
      if (queue_.front()->expires_at > *now)
        break;
      queued_bytes_ -= queue_.front()->data.size();
      queue_.pop_front();
    }
    std::vector<asio::const_buffer>& buffers = thread_write_buffers();
    buffers.clear();
    std::size_t total = 0;
    auto add = [&](const void* data, std::size_t size) {
      buffers.emplace_back(data, size);
      total += size;
    };
    if (control_ && !control_->upgrade_response.empty()) {
      add(control_->upgrade_response.data(), control_->upgrade_response.size());
      upgrade_inflight_ = true;
    }
    if (control_ && control_->pong) {
      control_->pong_inflight = ws::encode_control_frame(ws::Opcode::pong, *control_->pong);
      control_->pong.reset();
      add(control_->pong_inflight.data(), control_->pong_inflight.size());
    } else if (ping_due_ && !close_sent_) {
      add(kPingFrame.data(), kPingFrame.size());
    }
    ping_due_ = false;
    // Everything queued goes out in the same write, each frame as its shared, pre-built header
    // and payload. A frame whose TTL passed ends the batch; the next round drops it.
    const std::size_t limit = std::min(queue_.size(), kMaxBatchFrames);
    std::size_t data_bytes = 0;
    inflight_ = 0;
    for (std::size_t i = 0; i < limit; ++i) {
      const core::Frame& frame = *queue_[i];
      if (i > 0) {
        if (data_bytes + frame.data.size() > kMaxBatchBytes)
          break;
        if (frame.expires_at.time_since_epoch().count() != 0) {
          if (!now)
            now = std::chrono::steady_clock::now();
          if (frame.expires_at <= *now)
            break;
        }
      }
      add(frame.header.bytes.data(), frame.header.size);
      add(frame.data.data(), frame.data.size());
      data_bytes += frame.data.size();
      ++inflight_;
    }
    if (phase_ == Phase::closing && !close_sent_ && inflight_ == queue_.size() && control_ &&
        !control_->close_frame.empty()) {
      add(control_->close_frame.data(), control_->close_frame.size());
      close_inflight_ = true;
    }
    if (buffers.empty())
      return;
    writing_ = true;
    std::size_t written = 0;
    if constexpr (!kIsTls<Stream>) {
      // Plain TCP: write now; only what the socket cannot take waits for the event loop.
      error_code ec;
      written = socket_.write_some(buffers, ec);
      if (!ec && written == total) {
        writing_ = false;
        on_written();
        continue;
      }
      if (ec && ec != asio::error::would_block && ec != asio::error::try_again) {
        writing_ = false;
        WPS_LOG(debug, "ws") << "write " << id_ << ": " << ec.message();
        finish(phase_ == Phase::open);
        return;
      }
      if (ec)
        written = 0;
    }
    // The rest completes asynchronously; the buffers it points to stay put until then.
    auto rest = std::make_shared<std::vector<asio::const_buffer>>();
    rest->reserve(buffers.size());
    for (const asio::const_buffer& b : buffers) {
      if (written >= b.size()) {
        written -= b.size();
        continue;
      }
      rest->push_back(b + written);
      written = 0;
    }
    asio::async_write(socket_, *rest,
                      [self = this->shared_from_this(), rest](error_code ec, std::size_t) {
                        self->on_async_write(ec);
                      });
    return;
  }
}

template <class Stream>
void WebSocketSession<Stream>::on_async_write(error_code ec) {
  writing_ = false;
  if (phase_ == Phase::closed)
    return;
  if (ec) {
    WPS_LOG(debug, "ws") << "write " << id_ << ": " << ec.message();
    finish(phase_ == Phase::open);
    return;
  }
  on_written();
  write_next();
}

template <class Stream>
void WebSocketSession<Stream>::on_written() {
  for (; inflight_ > 0; --inflight_) {
    queued_bytes_ -= queue_.front()->data.size();
    queue_.pop_front();
  }
  if (upgrade_inflight_) {
    upgrade_inflight_ = false;
    std::string().swap(control_->upgrade_response);
  }
  if (control_)
    control_->pong_inflight.clear();
  if (!close_inflight_) {
    release_control();
    return;
  }
  close_inflight_ = false;
  close_sent_ = true;
  control_->close_frame.clear();
  if (close_received_) {
    shutdown();  // the client's close came first: ours was the answer
  } else if (input_broken_) {
    // The client's input cannot be parsed: stop sending and read until it hangs up.
    error_code ignored;
    if constexpr (!kIsTls<Stream>)
      tcp_socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
  }
  // Otherwise the client's close frame is awaited (reading goes on while closing).
}

template <class Stream>
typename WebSocketSession<Stream>::Control& WebSocketSession<Stream>::control() {
  if (!control_)
    control_ = std::make_unique<Control>();
  return *control_;
}

template <class Stream>
void WebSocketSession<Stream>::release_control() {
  if (control_ && control_->upgrade_response.empty() && !control_->pong &&
      control_->pong_inflight.empty() && control_->close_frame.empty())
    control_.reset();
}

// ---- keep-alive, closing --------------------------------------------------------------------

template <class Stream>
void WebSocketSession<Stream>::arm_timer(std::chrono::steady_clock::time_point at) {
  timer_.expires_at(at);
  timer_.async_wait([self = this->shared_from_this()](error_code ec) { self->on_timer(ec); });
}

template <class Stream>
void WebSocketSession<Stream>::on_timer(error_code ec) {
  if (ec || phase_ == Phase::closed)
    return;
  const auto now = std::chrono::steady_clock::now();
  if (now < timer_.expiry())
    return;  // a completion from before the timer was re-armed
  if (phase_ == Phase::closing) {
    // The close handshake took too long (a peer that stopped reading, a vanished host).
    WPS_LOG(debug, "ws") << "close timed out for " << id_;
    finish();
    return;
  }
  const auto interval = context_.config.limits.keep_alive_interval;
  const auto idle = now - last_input_;
  if (idle >= 2 * interval) {
    WPS_LOG(debug, "ws") << "keep-alive timeout for " << id_;
    finish(/*recoverable=*/true);
    return;
  }
  if (idle < interval) {
    arm_timer(last_input_ + interval);
    return;
  }
  if (!ping_sent_) {
    ping_sent_ = true;
    ping_due_ = true;
    if (!writing_)
      write_next();
  }
  arm_timer(last_input_ + 2 * interval);
}

template <class Stream>
void WebSocketSession<Stream>::begin_close(std::uint16_t code, std::string reason,
                                           bool from_logical) {
  if (phase_ != Phase::open)
    return;
  phase_ = Phase::closing;
  // The queue, the close frame and the peer's answer get the handshake timeout; then the TCP
  // connection is dropped.
  arm_timer(std::chrono::steady_clock::now() + context_.config.limits.handshake_timeout);
  if (reliable_ && !from_logical)
    reliable_->detach(this, /*recoverable=*/false);
  // Unregister now: a closing connection receives nothing new and no longer "exists".
  unregister(reason);
  if (core::SharedFrame notice = core::encode_disconnected(kind_, reason)) {
    queued_bytes_ += notice->data.size();
    queue_.push_back(std::move(notice));
  }
  control().close_frame = ws::encode_close_frame(code, reason);
  WPS_LOG(debug, "ws") << "closing " << id_ << " code=" << code << " reason=" << reason;
  if (!writing_)
    write_next();
  pump();  // read on for the client's close frame, even if an event handler was being waited for
}

template <class Stream>
void WebSocketSession<Stream>::shutdown() {
  if (phase_ == Phase::closed)
    return;
  if constexpr (kIsTls<Stream>) {
    // close_notify, bounded by the closing timer; then the socket closes.
    if (tls_shutdown_)
      return;
    phase_ = Phase::closing;
    tls_shutdown_ = true;
    socket_.async_shutdown([self = this->shared_from_this()](error_code) { self->finish(); });
  } else {
    error_code ignored;
    socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    finish();
  }
}

template <class Stream>
void WebSocketSession<Stream>::finish(bool recoverable) {
  if (phase_ == Phase::closed)
    return;
  phase_ = Phase::closed;
  timer_.cancel();
  error_code ignored;
  tcp_socket().close(ignored);  // cancels a pending read or write: their handlers let go of us
  if (reliable_)
    reliable_->detach(this, recoverable);
  unregister("");
}

template <class Stream>
void WebSocketSession<Stream>::unregister(const std::string& reason) {
  if (!registered_)
    return;
  hub_->remove_connection(id_);
  registered_ = false;
  upstream_->disconnected(reason);
}

template class WebSocketSession<PlainStream>;
template class WebSocketSession<TlsStream>;

}  // namespace wps::transport
