#include "handler/pubsub_handler.hpp"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <chrono>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "util/log.hpp"

namespace wps::handler {

namespace {
// 32 bytes from OpenSSL's CSPRNG, hex-encoded: unguessable, URL-safe, bound to one session.
std::string make_reconnection_token() {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof bytes) != 1)
    throw std::runtime_error("RAND_bytes failed");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string token;
  token.reserve(2 * sizeof bytes);
  for (unsigned char b : bytes) {
    token += kHex[b >> 4];
    token += kHex[b & 0xF];
  }
  return token;
}

constexpr std::string_view kPublisherGone = "The publisher's connection ended.";
constexpr std::string_view kRecoveryRefused =
    "The connection cannot be recovered: unknown or expired session.";
}  // namespace

PubSubHandler::PubSubHandler(Context& context, const PubSubCodec& codec, Registration registration,
                             std::shared_ptr<core::ConnectionEvents> events)
    : ClientHandler(context, std::move(registration), std::move(events), codec),
      codec_(codec),
      reconnection_token_(core::is_reliable(kind()) ? make_reconnection_token() : std::string()),
      durable_(core::is_reliable(kind()) && context.session_store != nullptr),
      claimed_(false),
      replay_after_(0) {
  if (core::is_reliable(kind()))
    replay_ = std::make_unique<ReplayBuffer>(context.config.limits.max_replay_messages,
                                             context.config.limits.max_replay_bytes);
}

PubSubHandler::PubSubHandler(Context& context, const PubSubCodec& codec, Registration registration,
                             std::shared_ptr<core::ConnectionEvents> events,
                             const core::ClaimedSession& claimed)
    : ClientHandler(context, std::move(registration), std::move(events), codec),
      codec_(codec),
      reconnection_token_(claimed.state.token),
      durable_(true),
      claimed_(true),
      replay_after_(claimed.replay_after),
      last_seq_(claimed.replay_after),
      acked_seq_(claimed.state.acked),
      replaying_(true) {
  replay_ = std::make_unique<ReplayBuffer>(context.config.limits.max_replay_messages,
                                           context.config.limits.max_replay_bytes);
  for (std::uint64_t ack_id : claimed.state.ack_ids)
    remember_ack_locked(ack_id);
}

bool PubSubHandler::resumable_by(std::string_view token, core::ProtocolKind kind,
                                 const std::string& hub) const {
  return reliable() && kind == this->kind() && hub == this->hub()->name() &&
         token.size() == reconnection_token_.size() &&
         CRYPTO_memcmp(token.data(), reconnection_token_.data(), token.size()) == 0;
}

// ---- sockets ---------------------------------------------------------------------------------

void PubSubHandler::on_open(const std::shared_ptr<Socket>& socket) {
  bool first = false;
  {
    std::lock_guard lock(mutex_);
    first = !std::exchange(opened_, true);
    if (first)
      socket_ = socket;
  }
  if (!first) {  // a reliable client back on a new socket
    resume_on(socket);
    return;
  }
  if (reliable())
    context_.sessions.add(shared_from_this());
  std::optional<std::string_view> token;
  if (reliable())
    token = reconnection_token_;
  // `connected` goes out under the hub's lock: no group message can overtake it.
  auto refusal =
      join_hub(weak_from_this(), [&] { socket->send(codec_.connected(id(), user_id(), token)); });
  if (refusal) {
    socket->close(core::close_code::policy_violation, std::move(*refusal));
    return;
  }
  if (durable_)
    save_state();
  if (claimed_) {
    // The same logical connection, now here: no `connected` event again.
    ++context_.counters.recoveries;
    WPS_LOG(debug, "handler") << "resumed " << id() << " from another node";
    start_replay();
    return;
  }
  WPS_LOG_AT(debug, "handler", log_fields("connected"))
      << "connected " << id() << " hub=" << hub()->name() << (reliable() ? " (reliable)" : "");
  events_->connected();
}

void PubSubHandler::resume_on(const std::shared_ptr<Socket>& socket) {
  std::shared_ptr<Socket> replaced;
  bool resumed = false;
  {
    std::lock_guard lock(mutex_);
    if (!ended_) {
      resumed = true;
      replaced = std::exchange(socket_, socket);
      ++generation_;  // a pending recovery expiry no longer applies
      if (recovery_timer_)
        recovery_timer_->cancel();
      socket->send(codec_.connected(id(), user_id(), reconnection_token_));
      replay_->for_each([&](const SharedFrame& frame) { socket->send(frame); });
    }
  }
  if (!resumed) {
    // Ended between the handshake and now (window expired, REST close, shutdown).
    ++context_.counters.recoveries_refused;
    socket->close(core::close_code::policy_violation, std::string(kRecoveryRefused));
    return;
  }
  ++context_.counters.recoveries;
  WPS_LOG(debug, "handler") << "recovered " << id();
  // A socket the client gave up on (half-open) is closed without ending the session.
  if (replaced)
    replaced->close(core::close_code::normal, "Replaced by a recovered connection.");
}

std::shared_ptr<Socket> PubSubHandler::attached(const Socket& socket) {
  if (!reliable())
    return socket_.get() == &socket ? socket_ : nullptr;
  std::lock_guard lock(mutex_);
  return socket_.get() == &socket ? socket_ : nullptr;
}

SharedFrame PubSubHandler::on_closing(Socket& socket, std::string_view reason) {
  if (!reliable()) {
    cancel_streams(kPublisherGone);
    leave_hub(std::string(reason));
  } else if (attached(socket)) {
    // The server ends the socket of a reliable client: the session ends with it.
    end(std::string(reason));
  }
  return codec_.disconnected(reason);
}

void PubSubHandler::on_closed(Socket& socket, bool recoverable) {
  if (!reliable()) {
    cancel_streams(kPublisherGone);
    leave_hub("");
    return;
  }
  {
    std::lock_guard lock(mutex_);
    if (ended_ || socket_.get() != &socket)
      return;
    if (recoverable)
      await_recovery_locked(socket);
  }
  if (recoverable) {
    if (durable_)
      save_state();  // the latest acknowledgement, for whichever node the client comes back to
    return;
  }
  end("");
}

void PubSubHandler::await_recovery_locked(const Socket& socket) {
  socket_.reset();
  const std::uint64_t generation = ++generation_;
  if (!recovery_timer_)
    recovery_timer_ = std::make_unique<boost::asio::steady_timer>(socket.executor());
  recovery_timer_->expires_after(context_.config.limits.recovery_window);
  recovery_timer_->async_wait(
      [weak = weak_from_this(), generation](const boost::system::error_code& ec) {
        auto self = ec ? nullptr : weak.lock();
        if (!self)
          return;
        {
          std::lock_guard lock(self->mutex_);
          if (self->ended_ || self->socket_ || generation != self->generation_)
            return;
        }
        WPS_LOG(debug, "handler") << "recovery window of " << self->id() << " expired";
        self->end("");
      });
}

std::shared_ptr<Socket> PubSubHandler::end(const std::string& reason) {
  std::shared_ptr<Socket> socket;
  {
    std::lock_guard lock(mutex_);
    if (ended_)
      return nullptr;
    ended_ = true;
    socket = std::move(socket_);
    replay_->clear();
    ++generation_;
    if (recovery_timer_)
      recovery_timer_->cancel();
  }
  cancel_streams(kPublisherGone);
  leave_hub(reason);
  context_.sessions.remove(this);
  if (durable_)
    context_.session_store->remove(hub()->name(), id());
  return socket;
}

void PubSubHandler::relinquish() {
  if (auto socket = drop_here())
    socket->close(core::close_code::normal, "The session was resumed on another node.");
}

std::shared_ptr<Socket> PubSubHandler::drop_here() {
  std::shared_ptr<Socket> socket;
  {
    std::lock_guard lock(mutex_);
    if (ended_)
      return nullptr;
    ended_ = relinquished_ = true;
    socket = std::move(socket_);
    replay_->clear();
    held_.clear();
    ++generation_;
    if (recovery_timer_)
      recovery_timer_->cancel();
  }
  WPS_LOG(debug, "handler") << id() << " dropped here: it lives on in the session store";
  leave_hub_silently();
  context_.sessions.remove(this);
  return socket;
}

// ---- cluster session recovery ------------------------------------------------------------

void PubSubHandler::save_state() {
  core::SessionState state;
  state.hub = hub()->name();
  state.connection_id = id();
  state.user_id = user_id();
  state.kind = kind();
  state.roles = registration_.roles;
  state.groups = hub()->groups_of(id());  // the hub's lock, never under mutex_
  state.token = reconnection_token_;
  {
    std::lock_guard lock(mutex_);
    if (ended_)
      return;
    if (acked_)
      state.ack_ids = acked_->ids();
    state.acked = acked_seq_;
    last_save_ = std::chrono::steady_clock::now();
  }
  context_.session_store->save(state);
}

bool PubSubHandler::send_numbered_locked(const SharedFrame& frame, std::uint64_t seq) {
  if (seq == 0)
    seq = last_seq_ + 1;  // not logged (Redis unreachable): next after the last
  else if (seq <= last_seq_)
    return true;  // the client has it already (a handover delivers some twice)
  last_seq_ = seq;
  SharedFrame stamped = replay_->stamp_as(codec_, *frame, seq);
  if (!stamped)
    return false;
  if (socket_)
    socket_->send(std::move(stamped));
  return true;
}

void PubSubHandler::deliver_logged(const SharedFrame& frame, std::uint64_t log_seq) {
  if (!durable_) {
    deliver(frame);
    return;
  }
  {
    std::lock_guard lock(mutex_);
    if (ended_)
      return;
    if (replaying_) {
      held_.emplace_back(log_seq, frame);
      return;
    }
    if (send_numbered_locked(frame, log_seq))
      return;
  }
  overflowed();
}

void PubSubHandler::start_replay() {
  auto self = shared_from_this();
  context_.session_store->when_subscribed([self] {
    self->context_.session_store->replay(
        self->hub()->name(), self->replay_after_,
        [self](std::vector<core::LoggedPublication> entries, bool complete) {
          self->finish_replay(std::move(entries), complete);
        });
  });
}

void PubSubHandler::finish_replay(std::vector<core::LoggedPublication> entries, bool complete) {
  if (!complete) {
    // Redis failed, or the log lost entries this session needs: it cannot stay lossless.
    ++context_.counters.recoveries_refused;
    WPS_LOG(info, "handler") << "cannot replay the log for " << id() << ": ending the session";
    if (auto socket = end(std::string(kRecoveryRefused)))
      socket->close(core::close_code::policy_violation, std::string(kRecoveryRefused));
    return;
  }
  // What of the log was addressed to this connection, encoded (the hub's lock: not under mutex_).
  std::vector<std::pair<std::uint64_t, SharedFrame>> frames;
  const auto now = std::chrono::steady_clock::now();
  for (const core::LoggedPublication& entry : entries) {
    const core::Message& message = *entry.publication.message;
    if (message.expires_at != std::chrono::steady_clock::time_point{} && message.expires_at < now)
      continue;
    if (!hub()->addresses(entry.publication, id()))
      continue;
    if (SharedFrame frame = encoder_.encode(message))
      frames.emplace_back(entry.seq, std::move(frame));
  }
  bool overflow = false;
  {
    std::lock_guard lock(mutex_);
    if (ended_)
      return;
    for (const auto& [seq, frame] : frames)
      overflow = overflow || !send_numbered_locked(frame, seq);
    for (const auto& [seq, frame] : held_)
      overflow = overflow || !send_numbered_locked(frame, seq);
    held_.clear();
    replaying_ = false;
  }
  WPS_LOG(debug, "handler") << "replayed " << frames.size() << " message(s) to " << id();
  if (overflow)
    overflowed();
}

// ---- from the hub ----------------------------------------------------------------------------

void PubSubHandler::deliver(const SharedFrame& frame) {
  if (!reliable()) {
    socket_->send(frame);
    return;
  }
  if (durable_) {  // an event handler's reply: numbered after the last message
    deliver_logged(frame, 0);
    return;
  }
  {
    std::lock_guard lock(mutex_);
    if (ended_)
      return;
    if (SharedFrame stamped = replay_->stamp(codec_, *frame)) {
      if (socket_)
        socket_->send(std::move(stamped));
      return;
    }
  }
  overflowed();
}

void PubSubHandler::overflowed() {
  // The client acknowledges too little: the session cannot be kept lossless any more.
  ++context_.counters.replay_overflows;
  WPS_LOG(info, "handler") << "replay buffer of " << id() << " is full: ending the session";
  std::string reason = "The reliable session's buffer of unacknowledged messages is full.";
  if (auto socket = end(reason))
    socket->close(core::close_code::policy_violation, std::move(reason));
}

void PubSubHandler::close(std::uint16_t code, std::string reason) {
  if (!reliable()) {
    socket_->close(code, std::move(reason));
    return;
  }
  if (durable_ && code == core::close_code::going_away) {
    // This node shuts down: the session stays in the store and its client resumes it on
    // another node (no `disconnected` event here; the connection goes on there).
    save_state();
    if (auto socket = drop_here())
      socket->close(code, std::move(reason));
    return;
  }
  if (auto socket = end(reason))
    socket->close(code, std::move(reason));
}

// ---- client messages -------------------------------------------------------------------------

void PubSubHandler::on_message(Socket& socket, bool binary, std::string_view data) {
  std::shared_ptr<Socket> from = attached(socket);
  if (!from)
    return;  // a socket that a recovered one replaced
  if (binary != codec_.binary()) {
    ++context_.counters.protocol_error_closes;
    socket.close(core::close_code::unsupported_data, std::string(codec_.wrong_frame_type()));
    return;
  }
  registration_.hub->received(registration_.kind, registration_.id, registration_.user_id,
                              data.size());
  protocol::DecodeResult decoded = codec_.decode(data);
  if (!decoded) {
    ++context_.counters.protocol_error_closes;
    socket.close(decoded.error.close_code, std::move(decoded.error.reason));
    return;
  }
  handle(from, std::move(*decoded.message));
}

void PubSubHandler::handle(const std::shared_ptr<Socket>& socket,
                           protocol::ClientMessage&& message) {
  std::visit(
      [&](auto& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, protocol::JoinGroup> ||
                      std::is_same_v<T, protocol::LeaveGroup>) {
          join_or_leave(m);
        } else if constexpr (std::is_same_v<T, protocol::SendToGroup>) {
          if (m.stream)
            start_stream(m, socket);
          else
            send_to_group(m);
        } else if constexpr (std::is_same_v<T, protocol::StreamData>) {
          stream_data(m);
        } else if constexpr (std::is_same_v<T, protocol::StreamEnd>) {
          stream_end(m);
        } else if constexpr (std::is_same_v<T, protocol::Event>) {
          event(socket, m);
        } else if constexpr (std::is_same_v<T, protocol::Invoke>) {
          invoke(m);
        } else if constexpr (std::is_same_v<T, protocol::CancelInvocation>) {
          cancel_invocation(m);
        } else if constexpr (std::is_same_v<T, protocol::SequenceAck>) {
          if (reliable()) {
            bool save = false;
            {
              std::lock_guard lock(mutex_);
              replay_->acknowledge(m.sequence_id);
              if (durable_ && m.sequence_id > acked_seq_) {
                acked_seq_ = m.sequence_id;
                // At most twice a second (and when the socket drops): a node that dies loses
                // the newest acknowledgements only, which costs a longer replay, not a message.
                save =
                    std::chrono::steady_clock::now() - last_save_ >= std::chrono::milliseconds(500);
              }
            }
            if (save)
              save_state();
          }
        } else {
          static_assert(std::is_same_v<T, protocol::Ping>);
          send_control(codec_.pong());
        }
      },
      message);
}

template <class M>
void PubSubHandler::join_or_leave(M& m) {
  constexpr bool join = std::is_same_v<M, protocol::JoinGroup>;
  if (duplicate(m.ack_id))
    return;
  if (!hub()->permits(id(), core::Permission::join_leave_group, m.group)) {
    if (m.ack_id)
      ack(*m.ack_id, protocol::ack_error::forbidden,
          std::string("The client does not have permission to ") + (join ? "join" : "leave") +
              " group '" + m.group + "'.");
    return;
  }
  if constexpr (join) {
    if (hub()->add_to_group(id(), m.group) == core::Hub::JoinResult::group_limit_reached) {
      if (m.ack_id)
        ack(*m.ack_id, protocol::ack_error::bad_request,
            "The connection is already in the maximum number of groups (" +
                std::to_string(context_.config.limits.max_groups_per_connection) + ").");
      return;
    }
  } else {
    hub()->remove_from_group(id(), m.group);
  }
  if (m.ack_id)
    ack(*m.ack_id);
  if (durable_)
    save_state();
}

void PubSubHandler::send_to_group(protocol::SendToGroup& m) {
  if (duplicate(m.ack_id))
    return;
  if (!hub()->permits(id(), core::Permission::send_to_group, m.group)) {
    if (m.ack_id)
      ack(*m.ack_id, protocol::ack_error::forbidden,
          "The client does not have permission to send to group '" + m.group + "'.");
    return;
  }
  auto message = std::make_shared<core::Message>();
  message->from = protocol::MessageSource::group;
  message->group = m.group;
  message->from_user_id = user_id();
  message->payload = std::move(m.data);
  message->metadata = std::move(m.metadata);
  if (m.ttl_seconds > 0)  // as REST messageTtlSeconds: not handed over by then, never (§6.10)
    message->expires_at = std::chrono::steady_clock::now() + std::chrono::seconds(m.ttl_seconds);
  core::Publication publication;
  publication.hub = hub()->name();
  publication.scope = core::Scope::group;
  publication.target = std::move(m.group);
  publication.message = std::move(message);
  if (m.no_echo)
    publication.excluded.push_back(id());
  hub()->publish(publication);
  if (m.ack_id)
    ack(*m.ack_id);
}

void PubSubHandler::event(const std::shared_ptr<Socket>& socket, protocol::Event& m) {
  if (!events_->has_handler(m.event, true)) {
    // No handler takes it: an acked event is answered InternalServerError and the connection
    // stays (spec §8.7).
    if (m.ack_id && !duplicate(m.ack_id))
      ack(*m.ack_id, protocol::ack_error::internal_server_error,
          "No event handler is configured for event '" + m.event + "'.");
    return;
  }
  if (duplicate(m.ack_id))
    return;
  call_upstream(
      socket, m.event, std::move(m.data),
      [self = shared_from_this(), ack_id = m.ack_id](Socket& s, core::UserEventResult result) {
        self->on_event_result(s, ack_id, std::move(result));
      });
}

void PubSubHandler::on_event_result(Socket& socket, std::optional<std::uint64_t> ack_id,
                                    core::UserEventResult result) {
  if (result.ok) {
    events_->update(result.state, result.cookies);
    if (result.reply) {
      // The handler's answer goes to this client only, as a message from the server, before the
      // ack (spec §8.7).
      core::Message reply;
      reply.from = protocol::MessageSource::server;
      reply.payload = std::move(*result.reply);
      deliver(codec_.encode(reply));
    }
  } else {
    WPS_LOG_AT(info, "handler", log_fields("message"))
        << "event handler failed for " << id() << ": " << result.error;
  }
  if (ack_id) {
    if (result.ok)
      ack(*ack_id);
    else
      ack(*ack_id, protocol::ack_error::internal_server_error, "Internal server error");
  }
  socket.resume();
}

void PubSubHandler::invoke(protocol::Invoke& m) {
  const auto fail = [&](std::string_view name, std::string message) {
    invoke_response(
        {m.invocation_id, std::nullopt, protocol::AckError{std::string(name), std::move(message)}});
  };
  if (m.target != "event") {
    fail(protocol::ack_error::bad_request,
         "Unsupported invocation target; the only target is 'event'.");
    return;
  }
  bool refused_pending = false;
  bool refused_limit = false;
  {
    std::lock_guard lock(mutex_);
    const auto& pending = preview_locked().pending_invocations;
    if (pending.contains(m.invocation_id))
      refused_pending = true;
    else if (pending.size() >= context_.config.limits.max_pending_invocations)
      refused_limit = true;
  }
  if (refused_pending) {  // no dispatch: the first one with this id still waits
    fail(protocol::ack_error::bad_request,
         "An invocation with id '" + m.invocation_id + "' is already pending.");
    return;
  }
  if (refused_limit) {
    fail(protocol::ack_error::bad_request,
         "Too many pending invocations on this connection (" +
             std::to_string(context_.config.limits.max_pending_invocations) + ").");
    return;
  }
  if (!events_->has_handler(m.event, true)) {
    fail(protocol::ack_error::internal_server_error,
         "No event handler is configured for event '" + m.event + "'.");
    return;
  }
  {
    std::lock_guard lock(mutex_);
    preview_locked().pending_invocations.insert(m.invocation_id);
  }
  // Unlike an event, the socket is not paused: later frames (cancelInvocation, ping, more
  // invocations) are read while this one waits (spec §6.9.2 rule 7).
  protocol::Payload payload{protocol::DataType::text, {}};  // no payload: empty text/plain
  if (m.data)
    payload = std::move(*m.data);
  events_->user_event(std::move(m.event), std::move(payload),
                      [weak = weak_from_this(), id = m.invocation_id](core::UserEventResult r) {
                        if (auto self = weak.lock())
                          self->on_invoke_result(id, std::move(r));
                      });
}

void PubSubHandler::on_invoke_result(const std::string& invocation_id,
                                     core::UserEventResult result) {
  {
    std::lock_guard lock(mutex_);
    if (preview_locked().pending_invocations.erase(invocation_id) == 0)
      return;  // cancelled: no answer (spec §6.9.2 rule 8)
  }
  if (!result.ok) {
    WPS_LOG(info, "handler") << "invocation " << invocation_id << " of " << id()
                             << " failed: " << result.error;
    invoke_response({invocation_id, std::nullopt,
                     protocol::AckError{std::string(protocol::ack_error::internal_server_error),
                                        "The event handler failed to answer the invocation."}});
    return;
  }
  events_->update(result.state, result.cookies);
  invoke_response({invocation_id, std::move(result.reply), std::nullopt});
}

void PubSubHandler::cancel_invocation(const protocol::CancelInvocation& m) {
  // Unknown or finished ids are ignored; never acknowledged.
  std::lock_guard lock(mutex_);
  preview_locked().pending_invocations.erase(m.invocation_id);
}

void PubSubHandler::invoke_response(protocol::InvokeResponse response) {
  if (SharedFrame frame = codec_.invoke_response(response))
    send_control(std::move(frame));
}

// ---- group streams (spec §6.8) -----------------------------------------------------------------

namespace {
constexpr std::string_view kStreamNotFound = "StreamNotFound";
constexpr std::chrono::milliseconds kDefaultStreamIdleTimeout{300'000};
constexpr std::chrono::milliseconds kMaxStreamIdleTimeout{24LL * 3600 * 1000};

protocol::StreamClosed stream_closed(std::string id, std::string_view name = {},
                                     std::string message = {}) {
  protocol::StreamClosed closed{std::move(id), std::nullopt};
  if (!name.empty())
    closed.error = protocol::AckError{std::string(name), std::move(message)};
  return closed;
}
}  // namespace

void PubSubHandler::start_stream(protocol::SendToGroup& m, const std::shared_ptr<Socket>& socket) {
  protocol::StreamStart& start = *m.stream;
  const auto refuse = [&](std::string_view name, std::string message) {
    send_control(codec_.stream_closed(stream_closed(start.stream_id, name, std::move(message))));
  };
  if (!start.invalid.empty()) {
    refuse(protocol::ack_error::bad_request, std::move(start.invalid));
    return;
  }
  if (!hub()->permits(id(), core::Permission::send_to_group, m.group)) {
    refuse(protocol::ack_error::forbidden,
           "The client does not have permission to send to group '" + m.group + "'.");
    return;
  }
  std::string refusal;
  {
    std::lock_guard lock(mutex_);
    if (ended_)
      return;
    auto& streams = preview_locked().streams;
    if (streams.contains(start.stream_id)) {
      refusal = "A stream with id '" + start.stream_id + "' is already open on this connection.";
    } else if (streams.size() >= context_.config.limits.max_open_streams_per_connection) {
      refusal = "Too many open streams on this connection (" +
                std::to_string(context_.config.limits.max_open_streams_per_connection) + ").";
    } else {
      OpenStream& stream = streams[start.stream_id];
      stream.group = m.group;
      stream.no_echo = m.no_echo;
      stream.idle_timeout =
          start.idle_timeout_ms
              ? std::min(
                    std::chrono::milliseconds(static_cast<std::int64_t>(std::min<std::uint64_t>(
                        *start.idle_timeout_ms, kMaxStreamIdleTimeout.count()))),
                    kMaxStreamIdleTimeout)
              : kDefaultStreamIdleTimeout;
      stream.idle_timer = std::make_unique<boost::asio::steady_timer>(socket->executor());
      arm_idle_timer_locked(start.stream_id, stream);
    }
  }
  if (!refusal.empty()) {
    refuse(protocol::ack_error::bad_request, std::move(refusal));
    return;
  }
  send_control(codec_.stream_ack({start.stream_id, 1}));
}

void PubSubHandler::arm_idle_timer_locked(const std::string& stream_id, OpenStream& stream) {
  stream.generation = ++preview_locked().stream_generation;
  stream.idle_timer->expires_after(stream.idle_timeout);
  stream.idle_timer->async_wait(
      [weak = weak_from_this(), stream_id,
       generation = stream.generation](const boost::system::error_code& ec) {
        if (ec)
          return;
        if (auto self = weak.lock())
          self->on_stream_idle(stream_id, generation);
      });
}

void PubSubHandler::on_stream_idle(const std::string& stream_id, std::uint64_t generation) {
  OpenStream stream;
  {
    std::lock_guard lock(mutex_);
    auto& streams = preview_locked().streams;
    auto it = streams.find(stream_id);
    if (it == streams.end() || it->second.generation != generation)
      return;
    stream = std::move(it->second);
    streams.erase(it);
  }
  const std::string message = "The stream was idle for longer than its idle timeout.";
  publish_stream(
      stream, {stream_id, stream.expected, true, protocol::StreamError{"IdleTimeout", message, {}}},
      {protocol::DataType::text, {}});
  send_control(codec_.stream_closed(stream_closed(stream_id, "IdleTimeout", message)));
}

void PubSubHandler::stream_data(protocol::StreamData& m) {
  enum class Outcome { not_found, keep_alive, published, duplicate, gap, too_big };
  Outcome outcome = Outcome::not_found;
  OpenStream closed_stream;  // a stream that a too-big fragment ends
  std::uint64_t expected = 0;
  std::optional<OpenStream> publish_as;  // copy of what publish needs (group, no_echo)
  {
    std::lock_guard lock(mutex_);
    auto& streams = preview_locked().streams;
    auto it = streams.find(m.stream_id);
    if (it != streams.end()) {
      OpenStream& stream = it->second;
      arm_idle_timer_locked(m.stream_id, stream);
      if (!m.sequence_id) {
        outcome = Outcome::keep_alive;
      } else if (*m.sequence_id < stream.expected) {
        outcome = Outcome::duplicate;
      } else if (*m.sequence_id > stream.expected) {
        outcome = Outcome::gap;
      } else if (m.data.bytes.size() > context_.config.limits.max_stream_chunk_bytes) {
        outcome = Outcome::too_big;
        stream.idle_timer->cancel();
        closed_stream = std::move(stream);
        streams.erase(it);
      } else {
        outcome = Outcome::published;
        publish_as.emplace();
        publish_as->group = stream.group;
        publish_as->no_echo = stream.no_echo;
        ++stream.expected;
      }
      if (outcome != Outcome::too_big)
        expected = stream.expected;
    }
  }
  switch (outcome) {
    case Outcome::not_found:
      send_control(codec_.stream_closed(stream_closed(
          m.stream_id, kStreamNotFound, "No stream with this id is open on this connection.")));
      return;
    case Outcome::keep_alive:
      return;
    case Outcome::published:
      // Fragments of one stream come from this socket's reads, one at a time: published in
      // order, then acknowledged.
      publish_stream(*publish_as, {m.stream_id, *m.sequence_id, false, std::nullopt},
                     std::move(m.data));
      send_control(codec_.stream_ack({m.stream_id, expected}));
      return;
    case Outcome::duplicate:
      send_control(codec_.stream_ack({m.stream_id, expected}));
      return;
    case Outcome::gap:
      send_control(
          codec_.stream_nack({m.stream_id, "InvalidSequenceId",
                              "Expected fragment " + std::to_string(expected) + ".", expected}));
      return;
    case Outcome::too_big: {
      const std::string message = "A fragment exceeded " +
                                  std::to_string(context_.config.limits.max_stream_chunk_bytes) +
                                  " bytes.";
      publish_stream(closed_stream,
                     {m.stream_id, closed_stream.expected, true,
                      protocol::StreamError{"Cancelled", message, {}}},
                     {protocol::DataType::text, {}});
      send_control(codec_.stream_closed(
          stream_closed(m.stream_id, protocol::ack_error::bad_request, message)));
      return;
    }
  }
}

void PubSubHandler::stream_end(protocol::StreamEnd& m) {
  std::optional<OpenStream> stream;
  {
    std::lock_guard lock(mutex_);
    auto& streams = preview_locked().streams;
    auto it = streams.find(m.stream_id);
    if (it != streams.end()) {
      it->second.idle_timer->cancel();
      stream = std::move(it->second);
      streams.erase(it);
    }
  }
  if (!stream) {
    send_control(codec_.stream_closed(stream_closed(
        m.stream_id, kStreamNotFound, "No stream with this id is open on this connection.")));
    return;
  }
  protocol::StreamInfo info{m.stream_id, stream->expected, true, std::nullopt};
  if (m.error) {
    info.error =
        protocol::StreamError{"UserError", m.error->message.value_or(""), m.error->user_error_code};
  }
  publish_stream(*stream, std::move(info), {protocol::DataType::text, {}});
  send_control(codec_.stream_closed(stream_closed(m.stream_id)));
}

void PubSubHandler::publish_stream(const OpenStream& stream, protocol::StreamInfo info,
                                   protocol::Payload payload) {
  auto message = std::make_shared<core::Message>();
  message->from = protocol::MessageSource::group;
  message->group = stream.group;
  message->from_user_id = user_id();
  message->payload = std::move(payload);
  message->stream = std::move(info);
  core::Publication publication;
  publication.hub = hub()->name();
  publication.scope = core::Scope::group;
  publication.target = stream.group;
  publication.message = std::move(message);
  if (stream.no_echo)
    publication.excluded.push_back(id());
  hub()->publish(publication);
}

void PubSubHandler::cancel_streams(std::string_view message) {
  std::unordered_map<std::string, OpenStream> streams;
  {
    std::lock_guard lock(mutex_);
    if (preview_)
      streams.swap(preview_->streams);
  }
  for (auto& [stream_id, stream] : streams) {
    stream.idle_timer->cancel();
    publish_stream(stream,
                   {stream_id, stream.expected, true,
                    protocol::StreamError{"Cancelled", std::string(message), {}}},
                   {protocol::DataType::text, {}});
  }
}

PubSubHandler::Preview& PubSubHandler::preview_locked() {
  if (!preview_)
    preview_ = std::make_unique<Preview>();
  return *preview_;
}

void PubSubHandler::remember_ack_locked(std::uint64_t ack_id) {
  if (!acked_)
    acked_ = std::make_unique<AckHistory>(context_.config.limits.max_remembered_ack_ids);
  acked_->remember(ack_id);
}

bool PubSubHandler::duplicate(const std::optional<std::uint64_t>& ack_id) {
  if (!ack_id)
    return false;
  {
    std::lock_guard lock(mutex_);
    if (!acked_ || !acked_->contains(*ack_id))
      return false;
  }
  ack(*ack_id, protocol::ack_error::duplicate,
      "Message with ack-id: " + std::to_string(*ack_id) + " has been processed");
  return true;
}

void PubSubHandler::ack(std::uint64_t ack_id, std::string_view error_name,
                        std::string error_message) {
  protocol::Ack ack{ack_id, std::nullopt};
  if (error_name.empty()) {
    std::lock_guard lock(mutex_);
    remember_ack_locked(ack_id);
  } else {
    ack.error = protocol::AckError{std::string(error_name), std::move(error_message)};
  }
  send_control(codec_.ack(ack));
}

void PubSubHandler::send_control(SharedFrame frame) {
  if (!reliable()) {
    socket_->send(std::move(frame));
    return;
  }
  std::lock_guard lock(mutex_);
  if (socket_)
    socket_->send(std::move(frame));
}

}  // namespace wps::handler
