#include "transport/websocket_session.hpp"

#include <boost/asio/post.hpp>

#include "core/frames.hpp"
#include "protocol/json_codec.hpp"
#include "protocol/protobuf_codec.hpp"
#include "util/log.hpp"

namespace wps::transport {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace http = beast::http;

namespace {
// Bytes asked of the socket per read; a message larger than this arrives in several reads.
constexpr std::size_t kReadChunk = 64 * 1024;
// A connection waiting for its next message holds a buffer this small (Beast's dynamic-buffer
// read would reserve 1,536 bytes for every idle connection); a message that outgrows it is read
// in chunks that double up to kReadChunk. Buffers grown past kKeepReadCapacity are released
// once their message is handled.
constexpr std::size_t kIdleReadChunk = 512;
constexpr std::size_t kKeepReadCapacity = 4096;
// WebSocket close reasons must fit a control frame (125 bytes minus the 2-byte code).
constexpr std::size_t kMaxCloseReason = 123;
// One write carries at most this many queued frames (2 buffers each: Asio hands a sendmsg at
// most 64) and, past the first frame, at most this many bytes.
constexpr std::size_t kMaxBatchFrames = 32;
constexpr std::size_t kMaxBatchBytes = 256 * 1024;
// A drained inbox keeps its capacity for the next burst unless it grew past this.
constexpr std::size_t kKeepInboxCapacity = 64;
}  // namespace

template <class Stream>
WebSocketSession<Stream>::WebSocketSession(Stream&& stream, ServerContext& context,
                                           HandshakeAccept&& accept, core::ConnId id,
                                           std::shared_ptr<Upstream> upstream,
                                           std::shared_ptr<boost::asio::ssl::context> tls)
    : tls_(std::move(tls)),
      ws_(std::move(stream)),
      context_(context),
      accept_(std::move(accept)),
      id_(std::move(id)),
      upstream_(std::move(upstream)),
      close_deadline_(ws_.get_executor()) {
  // The claims were for the `connect` event, already called; ~0.5 KB per connection otherwise.
  accept_.claims.clear();
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
void WebSocketSession<Stream>::run(http::request<http::string_body>&& request) {
  const config::Limits& limits = context_.config.limits;
  websocket::stream_base::timeout timeouts{};
  timeouts.handshake_timeout = limits.handshake_timeout;
  // A ping goes out after half the idle timeout without traffic; silence for the whole idle
  // timeout closes the connection.
  timeouts.idle_timeout = limits.keep_alive_interval * 2;
  timeouts.keep_alive_pings = true;
  beast::get_lowest_layer(ws_).expires_never();
  ws_.set_option(timeouts);
  ws_.set_option(websocket::stream_base::decorator(
      [subprotocol = accept_.subprotocol](websocket::response_type& response) {
        response.set(http::field::server, "webpubsub-server");
        if (!subprotocol.empty())
          response.set(http::field::sec_websocket_protocol, subprotocol);
      }));
  // Backstop only: handle_message() enforces max_message_bytes itself so that PubSub clients get
  // a `disconnected` message before the 1009 close.
  ws_.read_message_max(limits.max_message_bytes + 2 * kReadChunk);
  ws_.auto_fragment(false);
  // Join the hub (and the token's groups) before the 101 goes out: once a client sees its
  // upgrade succeed, messages to it and to its groups reach it. Frames queue until it is open.
  if (!accept_.recover_connection_id)
    register_connection();
  ws_.async_accept(
      request, beast::bind_front_handler(&WebSocketSession::on_accept, this->shared_from_this()));
}

template <class Stream>
void WebSocketSession<Stream>::register_connection() {
  hub_ = context_.node.hub(accept_.hub);
  core::ConnectionInfo info;
  info.id = id_;
  info.user_id = accept_.user_id;
  info.kind = accept_.kind;
  info.roles = std::move(accept_.roles);
  info.groups = std::move(accept_.groups);
  if (upstream_->dispatcher() != nullptr)
    info.group_observer = upstream_;
  core::Hub::AddResult added;
  if (core::is_reliable(accept_.kind)) {
    reliable_ =
        std::make_shared<ReliableConnection>(context_, id_, accept_.kind, hub_, ws_.get_executor());
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
    refusal_ = "The user has reached the maximum number of connections.";
}

template <class Stream>
void WebSocketSession<Stream>::on_accept(beast::error_code ec) {
  if (ec) {
    WPS_LOG(debug, "ws") << "upgrade failed: " << ec.message();
    finish();
    return;
  }
  phase_ = Phase::open;
  if (accept_.recover_connection_id) {
    recover();
    return;
  }
  if (refusal_) {
    // The upgrade succeeded but the connection may not stay: tell the client why, close 1008.
    begin_close(core::close_code::policy_violation, *refusal_);
    return;
  }
  if (pending_close_) {
    begin_close(pending_close_->code, std::move(pending_close_->reason),
                pending_close_->from_logical);
    return;
  }
  WPS_LOG(debug, "ws") << "connected " << id_ << " hub=" << accept_.hub
                       << (reliable_ ? " (reliable)" : "");
  write_next();  // what was queued during the handshake (`connected`, early messages)
  upstream_->connected();
  do_read();
}

template <class Stream>
void WebSocketSession<Stream>::recover() {
  // The upgrade is accepted either way; a session that cannot be recovered is closed with 1008,
  // the one code on which the JS client stops retrying (spec §3.3, §6.4).
  auto logical = ReliableConnection::find(context_, *accept_.recover_connection_id);
  if (!logical || !logical->token_matches(accept_.recover_token) ||
      logical->kind() != accept_.kind || logical->hub()->name() != accept_.hub ||
      !logical->attach(this->shared_from_this(), /*resend_connected=*/true)) {
    ++context_.counters.recoveries_refused;
    WPS_LOG(debug, "ws") << "recovery refused for " << *accept_.recover_connection_id;
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
  do_read();
}

template <class Stream>
void WebSocketSession<Stream>::do_read() {
  const std::size_t chunk = std::min(std::max(buffer_.size(), kIdleReadChunk), kReadChunk);
  ws_.async_read_some(buffer_.prepare(chunk), beast::bind_front_handler(&WebSocketSession::on_read,
                                                                        this->shared_from_this()));
}

template <class Stream>
void WebSocketSession<Stream>::on_read(beast::error_code ec, std::size_t bytes) {
  buffer_.commit(bytes);
  if (ec) {
    if (ec != websocket::error::closed && ec != boost::asio::error::operation_aborted) {
      WPS_LOG(debug, "ws") << "read " << id_ << ": " << ec.message();
    }
    // A close frame from the client ends its session; a dropped socket may be recovered.
    finish(phase_ == Phase::open && ec != websocket::error::closed);
    return;
  }
  if (phase_ != Phase::open)
    return;  // closing: the close handshake reads on its own
  if (buffer_.size() > context_.config.limits.max_message_bytes) {
    ++context_.counters.protocol_error_closes;
    begin_close(core::close_code::message_too_big,
                "The message exceeds the maximum size of " +
                    std::to_string(context_.config.limits.max_message_bytes) + " bytes.");
    return;
  }
  if (!ws_.is_message_done()) {
    do_read();
    return;
  }
  handle_message();
  buffer_.consume(buffer_.size());
  if (buffer_.capacity() > kKeepReadCapacity)
    buffer_.shrink_to_fit();
  // While an event handler works on this connection's event, reading waits: events of one
  // connection reach the handler one at a time, in order (spec §8.7).
  if (phase_ == Phase::open && !awaiting_upstream_)
    do_read();
}

template <class Stream>
void WebSocketSession<Stream>::handle_message() {
  const std::string_view data(static_cast<const char*>(buffer_.data().data()), buffer_.size());
  std::optional<core::CloseRequest> close_request;
  if (core::is_pubsub(accept_.kind)) {
    const bool protobuf = core::is_protobuf(accept_.kind);
    if (ws_.got_binary() != protobuf) {
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
    protocol::Payload payload{
        ws_.got_binary() ? protocol::DataType::binary : protocol::DataType::text,
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
        boost::asio::post(self->ws_.get_executor(),
                          [self, ack_id, r = std::move(result)]() mutable {
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
      sink.send(core::encode_message(accept_.kind, reply));
    }
  } else {
    WPS_LOG(info, "ws") << "event handler failed for " << id_ << ": " << result.error;
    if (!core::is_pubsub(accept_.kind)) {
      // A simple client's frame that no handler took is dropped with its connection (§6.2).
      begin_close(core::close_code::internal_error, "The event handler failed.");
      return;
    }
  }
  hub_->complete_event(id_, ack_id, result.ok, result.ok ? std::string() : "Internal server error");
  do_read();
}

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
    boost::asio::post(ws_.get_executor(),
                      [self = this->shared_from_this()]() { self->drain_inbox(); });
}

template <class Stream>
void WebSocketSession<Stream>::drain_inbox() {
  {
    std::lock_guard lock(inbox_mutex_);
    draining_.swap(inbox_);
  }
  for (core::SharedFrame& frame : draining_)
    enqueue(std::move(frame));
  draining_.clear();
  if (draining_.capacity() > kKeepInboxCapacity)
    draining_ = {};
  if (!writing_ && phase_ == Phase::open)
    write_next();
}

template <class Stream>
void WebSocketSession<Stream>::close(std::uint16_t code, std::string reason) {
  boost::asio::post(ws_.get_executor(),
                    [self = this->shared_from_this(), code, r = std::move(reason)]() mutable {
                      self->begin_close(code, std::move(r), /*from_logical=*/true);
                    });
}

template <class Stream>
void WebSocketSession<Stream>::enqueue(core::SharedFrame frame) {
  // During the handshake frames wait in the queue; on_accept starts writing them.
  if ((phase_ != Phase::open && phase_ != Phase::handshake) || !frame)
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
    while (queue_.size() > (writing_ ? inflight_ : 0u)) {
      queued_bytes_ -= queue_.back()->data.size();
      queue_.pop_back();
    }
    begin_close(core::close_code::policy_violation, "SlowClient: the outgoing queue is full.");
    return;
  }
  queued_bytes_ += frame->data.size();
  queue_.push_back(std::move(frame));
}

template <class Stream>
void WebSocketSession<Stream>::write_next() {
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
  if (queue_.empty()) {
    if (phase_ == Phase::closing)
      do_close();
    return;
  }
  // Everything queued goes out in one write (one syscall on plain TCP), each frame as its
  // shared, pre-built header and payload. A frame whose TTL passed ends the batch; the next
  // write_next drops it.
  const std::size_t limit = std::min(queue_.size(), kMaxBatchFrames);
  std::vector<boost::asio::const_buffer> buffers;
  buffers.reserve(2 * limit);
  std::size_t bytes = 0;
  inflight_ = 0;
  for (std::size_t i = 0; i < limit; ++i) {
    const core::Frame& frame = *queue_[i];
    if (i > 0) {
      if (bytes + frame.data.size() > kMaxBatchBytes)
        break;
      if (frame.expires_at.time_since_epoch().count() != 0) {
        if (!now)
          now = std::chrono::steady_clock::now();
        if (frame.expires_at <= *now)
          break;
      }
    }
    buffers.emplace_back(frame.header.bytes.data(), frame.header.size);
    buffers.emplace_back(frame.data.data(), frame.data.size());
    bytes += frame.data.size();
    ++inflight_;
  }
  writing_ = true;
  ws_.next_layer().async_write_frames(
      std::move(buffers),
      beast::bind_front_handler(&WebSocketSession::on_write, this->shared_from_this()));
}

template <class Stream>
void WebSocketSession<Stream>::on_write(beast::error_code ec, std::size_t) {
  writing_ = false;
  if (ec) {
    WPS_LOG(debug, "ws") << "write " << id_ << ": " << ec.message();
    finish(phase_ == Phase::open);
    return;
  }
  for (; inflight_ > 0; --inflight_) {
    queued_bytes_ -= queue_.front()->data.size();
    queue_.pop_front();
  }
  write_next();
}

template <class Stream>
void WebSocketSession<Stream>::begin_close(std::uint16_t code, std::string reason,
                                           bool from_logical) {
  if (phase_ == Phase::handshake) {
    // Closed (e.g. by the REST API) before the upgrade completed: close right after it.
    if (!pending_close_)
      pending_close_ = PendingClose{code, std::move(reason), from_logical};
    return;
  }
  if (phase_ != Phase::open)
    return;
  phase_ = Phase::closing;
  // The queue, the close frame and the peer's answer get the handshake timeout; then the TCP
  // connection is dropped.
  close_deadline_.expires_after(context_.config.limits.handshake_timeout);
  close_deadline_.async_wait([self = this->shared_from_this()](beast::error_code ec) {
    if (!ec && self->phase_ == Phase::closing)
      beast::get_lowest_layer(self->ws_).close();
  });
  if (reliable_ && !from_logical)
    reliable_->detach(this, /*recoverable=*/false);
  // Unregister now: a closing connection receives nothing new and no longer "exists".
  unregister(reason);
  if (core::SharedFrame notice = core::encode_disconnected(accept_.kind, reason)) {
    queued_bytes_ += notice->data.size();
    queue_.push_back(std::move(notice));
  }
  if (reason.size() > kMaxCloseReason) {
    // Cut on a UTF-8 boundary: a close reason must be valid UTF-8.
    std::size_t n = kMaxCloseReason;
    while (n > 0 && (static_cast<unsigned char>(reason[n]) & 0xC0) == 0x80)
      --n;
    reason.resize(n);
  }
  close_reason_ = websocket::close_reason(static_cast<websocket::close_code>(code), reason);
  WPS_LOG(debug, "ws") << "closing " << id_ << " code=" << code << " reason=" << reason;
  if (!writing_)
    write_next();
}

template <class Stream>
void WebSocketSession<Stream>::do_close() {
  ws_.async_close(close_reason_,
                  [self = this->shared_from_this()](beast::error_code) { self->finish(); });
}

template <class Stream>
void WebSocketSession<Stream>::finish(bool recoverable) {
  if (phase_ == Phase::closed)
    return;
  phase_ = Phase::closed;
  close_deadline_.cancel();
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
