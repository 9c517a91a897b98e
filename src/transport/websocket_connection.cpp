#include "transport/websocket_connection.hpp"

#include <algorithm>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/execution_context.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <stdexcept>

#include "core/client.hpp"
#include "util/log.hpp"

namespace wps::transport {

namespace asio = boost::asio;
namespace ws = protocol::ws;
using boost::system::error_code;

namespace {
// One write carries at most this many queued frames (2 buffers each, plus the 101, a control
// frame and the close frame: Asio hands a sendmsg at most 64 buffers) and, past the first
// frame, at most this many bytes.
constexpr std::size_t kMaxBatchFrames = 30;
constexpr std::size_t kMaxBatchBytes = 256 * 1024;

// The event loop a connection lives on: an io_context's own executor (one thread runs it).
asio::io_context::executor_type loop_executor(const asio::any_io_executor& executor) {
  if (const auto* loop = executor.target<asio::io_context::executor_type>())
    return *loop;
  throw std::invalid_argument("a WebSocket connection runs on an io_context's own executor");
}

// The tick of the loop's TimerWheel: deadlines fire up to this late. An eighth of the shortest
// interval it times (the keep-alive interval, the close handshake's timeout), within 1-250 ms:
// 250 ms with the defaults (20 s, 10 s), so a loop with connections wakes at most 4 times a
// second for them.
std::chrono::steady_clock::duration deadline_tick(const config::Limits& limits) {
  const auto shortest = std::min(limits.keep_alive_interval, limits.handshake_timeout);
  return std::clamp<std::chrono::steady_clock::duration>(shortest / 8, std::chrono::milliseconds(1),
                                                         std::chrono::milliseconds(250));
}

// The buffers of the write being built, reused by every connection of a thread.
std::vector<asio::const_buffer>& thread_write_buffers() {
  thread_local std::vector<asio::const_buffer> buffers;
  return buffers;
}
}  // namespace

// One per io_context (an Asio service: it goes with the loop, and drops the connections it still
// holds when the loop shuts down). Touched only on the loop's one thread.
//
// Coalescing under load (Limits::write_coalesce_window / write_coalesce_min_writes): the flushes
// of one window are counted; once they wrote to min_writes connections, the next flush waits
// until one window after the end of that flush instead of running at the end of its turn. A
// connection then carries the frames of every publication of the window in one write: the
// syscalls per delivery fall as the load rises (a fan-out's cost is mostly one sendmsg per
// recipient), at the price of at most one window of latency, and only while the loop is that busy.
// A quiet loop flushes at the end of each turn as before. One timer per loop, not per connection.
class WebSocketConnection::Corks final : public asio::execution_context::service {
 public:
  using key_type = Corks;
  static asio::execution_context::id id;  // NOLINT: Asio finds services by this member
  using Clock = std::chrono::steady_clock;

  explicit Corks(asio::io_context& loop) : service(loop), loop_(loop), timer_(loop) {}

  void configure(const config::Limits& limits) {
    window_ = limits.write_coalesce_window;
    min_writes_ = limits.write_coalesce_min_writes;
  }

  bool on_loop_thread() const { return loop_.get_executor().running_in_this_thread(); }

  void add(std::shared_ptr<WebSocketConnection> connection) {
    const bool first = pending_.empty();
    pending_.push_back(std::move(connection));
    if (!first)
      return;
    if (hold_until_ != Clock::time_point{} && Clock::now() < hold_until_) {
      timer_.expires_at(hold_until_);
      timer_.async_wait([this](error_code ec) {
        if (!ec)
          flush();
      });
      return;
    }
    asio::post(loop_, [this] { flush(); });
  }

 private:
  void flush() {
    if (window_.count() > 0) {
      const Clock::time_point now = Clock::now();
      if (now >= window_start_ + window_) {
        window_start_ = now;
        written_ = 0;
      }
    }
    // Connections corked while these write (a failed write closing one) wait for the next turn.
    writing_.swap(pending_);
    written_ += writing_.size();
    for (const auto& connection : writing_) {
      connection->corked_ = false;
      connection->drain();
    }
    writing_.clear();
    // Busy: the next flush waits one window after this one ended (a fan-out to thousands takes
    // milliseconds itself, so the pause is counted from its end).
    hold_until_ = window_.count() > 0 && written_ >= min_writes_ ? Clock::now() + window_
                                                                 : Clock::time_point{};
  }
  void shutdown() override {
    timer_.cancel();
    pending_.clear();
    writing_.clear();
  }

  asio::io_context& loop_;
  asio::steady_timer timer_;
  std::chrono::milliseconds window_{0};
  std::size_t min_writes_ = 0;
  Clock::time_point window_start_{};
  std::size_t written_ = 0;         // connections written in the window that began at window_start_
  Clock::time_point hold_until_{};  // busy: no flush before this (none: the epoch)
  std::vector<std::shared_ptr<WebSocketConnection>> pending_;
  std::vector<std::shared_ptr<WebSocketConnection>> writing_;  // reused: no allocation per turn
};

asio::execution_context::id WebSocketConnection::Corks::id;

WebSocketConnection::WebSocketConnection(ServerContext& context,
                                         std::shared_ptr<handler::Handler> handler,
                                         std::size_t extra_messages, std::size_t extra_bytes,
                                         asio::any_io_executor executor)
    : context_(context),
      handler_(std::move(handler)),
      reader_(context.config.limits.max_message_bytes),
      outbound_(context.config.limits.max_pending_messages + extra_messages,
                context.config.limits.max_pending_bytes + extra_bytes),
      wheel_(nullptr),
      executor_(loop_executor(executor)) {
  wheel_ = &asio::use_service<TimerWheel>(executor_.context());
  wheel_->configure(deadline_tick(context_.config.limits));
  // Sends made on the loop's thread are corked.
  if (context_.single_threaded) {
    corks_ = &asio::use_service<Corks>(executor_.context());
    corks_->configure(context_.config.limits);
  }
  ++context_.open_websockets;
  ++context_.counters.connections_opened;
}

WebSocketConnection::~WebSocketConnection() {
  --context_.open_websockets;
  ++context_.counters.connections_closed;
  if (context_.metrics != nullptr)
    context_.metrics->count_close(close_reason_.value_or(core::CloseReason::dropped));
}

void WebSocketConnection::run(std::string_view accept_key, std::string_view subprotocol,
                              std::string early) {
  std::string response;
  response.reserve(160 + subprotocol.size());
  response +=
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Accept: ";
  response += accept_key;
  response += "\r\n";
  if (!subprotocol.empty()) {
    response += "Sec-WebSocket-Protocol: ";
    response += subprotocol;
    response += "\r\n";
  }
  response += "Server: webpubsub-server\r\n\r\n";
  outbound_.set_upgrade_response(std::move(response));
  last_input_ = std::chrono::steady_clock::now();
  arm_timer(last_input_ + context_.config.limits.keep_alive_interval);
  // The handler registers its client before the 101 goes out: once a client sees its upgrade
  // succeed, messages to it reach it. The 101 and what the handler sent meanwhile (`connected`)
  // leave in one write.
  handler_->on_open(shared_from_this());
  drain();
  if (!early.empty() && wants_input())
    consume(std::span<char>(early.data(), early.size()));
  pump();
}

// ---- handler::Socket -------------------------------------------------------------------------

void WebSocketConnection::send(SharedFrame frame) {
  if (corks_ != nullptr && corks_->on_loop_thread()) {
    if (state_ == State::closed)
      return;
    if (!outbound_.push_local(std::move(frame)))
      overflow_ = true;  // closed as a slow consumer by the drain of this turn
    cork();
    return;
  }
  // A drain is already on its way for a non-empty inbox; it takes this frame too.
  if (outbound_.push(std::move(frame)))
    asio::post(executor(), [self = shared_from_this()] { self->drain(); });
}

void WebSocketConnection::close(std::uint16_t code, std::string reason) {
  // At once when called on the connection's executor (a handler refusing a message: nothing
  // read after it is handled), posted otherwise.
  asio::dispatch(executor(),
                 [self = shared_from_this(), code, reason = std::move(reason)]() mutable {
                   self->begin_close(code, std::move(reason));
                 });
}

void WebSocketConnection::pause() {
  paused_ = true;
}

void WebSocketConnection::resume() {
  paused_ = false;
  // The time the handler kept the client waiting is not the client's silence (see on_timer).
  last_input_ = std::chrono::steady_clock::now();
  pump();
}

// ---- reading ---------------------------------------------------------------------------------

bool WebSocketConnection::wants_input() const {
  // While the handler waits (an event handler works on this client's event), reading waits: its
  // events reach the handler one at a time, in order (spec §8.7). A closing connection reads on
  // for the client's close frame (or, after a protocol error, until it hangs up), except while
  // a TLS shutdown reads close_notify on its own.
  if (state_ == State::open)
    return !paused_;
  return state_ == State::closing && input_ != Input::ended && !tls_shutdown_;
}

void WebSocketConnection::pump() {
  if (feeding_ || state_ == State::closed)
    return;
  if (reader_.has_buffered() && wants_input()) {
    feeding_ = true;
    reader_.resume([this](const ws::ReadEvent& event) { return on_frame(event); });
    feeding_ = false;
  }
  if (!reading_ && wants_input()) {
    reading_ = true;
    start_read();
  }
}

void WebSocketConnection::consume(std::span<char> bytes) {
  // Any input counts for the keep-alive.
  last_input_ = std::chrono::steady_clock::now();
  keep_alive_ = KeepAlive::quiet;
  feeding_ = true;
  reader_.feed(bytes, [this](const ws::ReadEvent& event) { return on_frame(event); });
  feeding_ = false;
}

bool WebSocketConnection::on_frame(const ws::ReadEvent& event) {
  switch (event.kind) {
    case ws::ReadEvent::Kind::message:
      if (state_ != State::open)
        return state_ == State::closing;  // closing: what still arrives is dropped
      handler_->on_message(*this, event.binary, event.payload);
      return wants_input();
    case ws::ReadEvent::Kind::ping:
      if (state_ == State::closed || outbound_.close_sent())
        return state_ != State::closed;
      outbound_.answer_ping(event.payload);
      if (!writing_)
        write_next();
      return state_ != State::closed;
    case ws::ReadEvent::Kind::pong:
      return true;
    case ws::ReadEvent::Kind::close:
      input_ = Input::ended;
      if (state_ == State::open) {
        set_close_reason(core::CloseReason::client);
        on_client_close(event.code);
      } else if (state_ == State::closing && outbound_.close_sent())
        shutdown();  // the close handshake is complete
      return false;
    case ws::ReadEvent::Kind::error:
      input_ = Input::broken;
      if (state_ == State::open) {
        ++context_.counters.protocol_error_closes;
        set_close_reason(core::CloseReason::protocol_error);
        WPS_LOG(debug, "ws") << "protocol error: " << event.reason;
        std::string reason = event.code == core::close_code::message_too_big
                                 ? "The message exceeds the maximum size of " +
                                       std::to_string(context_.config.limits.max_message_bytes) +
                                       " bytes."
                                 : std::string(event.reason);
        begin_close(event.code, std::move(reason));
      } else if (state_ == State::closing && outbound_.close_sent()) {
        shutdown();
      }
      return false;
  }
  return false;
}

void WebSocketConnection::on_client_close(std::uint16_t code) {
  // The client ends its connection (not recoverable): echo its code, drop what is queued.
  state_ = State::closing;
  arm_timer(std::chrono::steady_clock::now() + context_.config.limits.handshake_timeout);
  outbound_.drop_unsent();
  outbound_.set_close_frame(ws::encode_close_frame(code, {}));
  WPS_LOG(debug, "ws") << "client closed, code=" << code;
  // The client stops existing for the hub at once.
  if (auto handler = std::move(handler_))
    handler->on_closed(*this, /*recoverable=*/false);
  if (!writing_)
    write_next();
}

// ---- writing ---------------------------------------------------------------------------------

void WebSocketConnection::cork() {
  if (corked_)
    return;
  corked_ = true;
  corks_->add(shared_from_this());
}

void WebSocketConnection::drain() {
  if (state_ == State::closed)
    return;
  if (overflow_ || !outbound_.drain()) {
    overflow_ = false;
    ++context_.counters.slow_consumer_closes;
    set_close_reason(core::CloseReason::slow_consumer);
    WPS_LOG(info, "ws") << "closing slow consumer (" << outbound_.size() << " messages, "
                        << outbound_.bytes() << " bytes queued)";
    // A slow consumer gets nothing more of what is queued: only its farewell and the close.
    outbound_.drop_unsent();
    begin_close(core::close_code::policy_violation, "SlowClient: the outgoing queue is full.");
    return;
  }
  if (!writing_)
    write_next();
}

void WebSocketConnection::write_next() {
  while (!writing_ && state_ != State::closed) {
    std::vector<asio::const_buffer>& buffers = thread_write_buffers();
    buffers.clear();
    outbound_.collect(buffers, kMaxBatchFrames, kMaxBatchBytes);
    if (buffers.empty())
      return;
    writing_ = true;
    switch (write(buffers)) {
      case WriteResult::done:
        writing_ = false;
        on_written();
        continue;
      case WriteResult::pending:
        return;
      case WriteResult::failed:
        writing_ = false;
        finish(state_ == State::open);
        return;
    }
  }
}

void WebSocketConnection::on_write_done(error_code ec) {
  writing_ = false;
  if (state_ == State::closed)
    return;
  if (ec) {
    WPS_LOG(debug, "ws") << "write: " << ec.message();
    finish(state_ == State::open);
    return;
  }
  on_written();
  write_next();
}

void WebSocketConnection::on_written() {
  if (!outbound_.written())
    return;
  // Our close frame is out.
  if (input_ == Input::ended)
    shutdown();  // the client's close came first: ours was the answer
  else if (input_ == Input::broken)
    shutdown_send();  // its input cannot be parsed: stop sending, read until it hangs up
  // Otherwise the client's close frame is awaited (reading goes on while closing).
}

// ---- keep-alive, closing ---------------------------------------------------------------------

void WebSocketConnection::arm_timer(std::chrono::steady_clock::time_point at) {
  wheel_->arm(*this, at);
}

std::shared_ptr<TimerWheel::Entry> WebSocketConnection::entry_owner() {
  // The base is private: alias the connection's own reference.
  return {shared_from_this(), static_cast<TimerWheel::Entry*>(this)};
}

void WebSocketConnection::on_deadline() {
  if (state_ == State::closed)
    return;
  const auto now = std::chrono::steady_clock::now();
  if (state_ == State::closing) {
    // The close handshake took too long (a client that stopped reading, a vanished host).
    WPS_LOG(debug, "ws") << "close timed out";
    finish(false);
    return;
  }
  const auto interval = context_.config.limits.keep_alive_interval;
  if (paused_) {
    // Nothing is read while the handler waits (a slow event handler): the client's pongs wait
    // unread, so its silence proves nothing. Checked again after the interval.
    arm_timer(now + interval);
    return;
  }
  const auto idle = now - last_input_;
  if (idle >= 2 * interval) {
    WPS_LOG(debug, "ws") << "keep-alive timeout";
    set_close_reason(core::CloseReason::idle);
    finish(/*recoverable=*/true);
    return;
  }
  if (idle < interval) {
    arm_timer(last_input_ + interval);
    return;
  }
  if (keep_alive_ == KeepAlive::quiet) {
    keep_alive_ = KeepAlive::pinged;
    outbound_.request_ping();
    if (!writing_)
      write_next();
  }
  arm_timer(last_input_ + 2 * interval);
}

void WebSocketConnection::begin_close(std::uint16_t code, std::string reason) {
  if (state_ != State::open)
    return;
  set_close_reason(close_reason_of(code));
  state_ = State::closing;
  // The queue, the farewell, the close frame and the client's answer get the handshake
  // timeout; then the TCP connection is dropped.
  arm_timer(std::chrono::steady_clock::now() + context_.config.limits.handshake_timeout);
  // What was sent before the close goes out before it (close() may run inline, ahead of the
  // drain that send() posted); nothing sent after it does.
  outbound_.drain();
  outbound_.seal();
  // The client stops existing for the hub now: it receives nothing new.
  if (SharedFrame farewell = handler_->on_closing(*this, reason))
    outbound_.append(std::move(farewell));
  outbound_.set_close_frame(ws::encode_close_frame(code, reason));
  WPS_LOG(debug, "ws") << "closing, code=" << code << " reason=" << reason;
  if (!writing_)
    write_next();
  pump();  // read on for the client's close frame, even if the handler was waiting
}

core::CloseReason WebSocketConnection::close_reason_of(std::uint16_t code) {
  switch (code) {
    case core::close_code::normal:
      return core::CloseReason::rest;
    case core::close_code::going_away:
      return core::CloseReason::shutdown;
    case core::close_code::protocol_error:
    case core::close_code::unsupported_data:
    case core::close_code::invalid_payload:
    case core::close_code::message_too_big:
      return core::CloseReason::protocol_error;
    case core::close_code::internal_error:
      return core::CloseReason::upstream;
    default:
      return core::CloseReason::policy;
  }
}

void WebSocketConnection::shutdown() {
  if (state_ == State::closed || tls_shutdown_)
    return;
  state_ = State::closing;
  shutdown_stream();
}

void WebSocketConnection::finish(bool recoverable) {
  if (state_ == State::closed)
    return;
  state_ = State::closed;
  // Held to the end of this function: the wheel's reference may be the last one.
  const std::shared_ptr<TimerWheel::Entry> keep = wheel_->cancel(*this);
  close_socket();  // cancels a pending read or write: their handlers let go of us
  if (auto handler = std::move(handler_))
    handler->on_closed(*this, recoverable);
}

}  // namespace wps::transport
