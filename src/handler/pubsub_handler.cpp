#include "handler/pubsub_handler.hpp"

#include <openssl/crypto.h>
#include <openssl/rand.h>

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

constexpr std::string_view kRecoveryRefused =
    "The connection cannot be recovered: unknown or expired session.";
}  // namespace

PubSubHandler::PubSubHandler(Context& context, const PubSubCodec& codec, Registration registration,
                             std::shared_ptr<core::ConnectionEvents> events)
    : ClientHandler(context, std::move(registration), std::move(events), codec),
      codec_(codec),
      reconnection_token_(core::is_reliable(kind()) ? make_reconnection_token() : std::string()),
      acked_(context.config.limits.max_remembered_ack_ids) {
  if (core::is_reliable(kind()))
    replay_.emplace(context.config.limits.max_replay_messages,
                    context.config.limits.max_replay_bytes);
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
    leave_hub(std::string(reason));
  } else if (attached(socket)) {
    // The server ends the socket of a reliable client: the session ends with it.
    end(std::string(reason));
  }
  return codec_.disconnected(reason);
}

void PubSubHandler::on_closed(Socket& socket, bool recoverable) {
  if (!reliable()) {
    leave_hub("");
    return;
  }
  {
    std::lock_guard lock(mutex_);
    if (ended_ || socket_.get() != &socket)
      return;
    if (recoverable) {
      await_recovery_locked(socket);
      return;
    }
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
  leave_hub(reason);
  context_.sessions.remove(this);
  return socket;
}

// ---- from the hub ----------------------------------------------------------------------------

void PubSubHandler::deliver(const SharedFrame& frame) {
  if (!reliable()) {
    socket_->send(frame);
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
          send_to_group(m);
        } else if constexpr (std::is_same_v<T, protocol::Event>) {
          event(socket, m);
        } else if constexpr (std::is_same_v<T, protocol::SequenceAck>) {
          if (reliable()) {
            std::lock_guard lock(mutex_);
            replay_->acknowledge(m.sequence_id);
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

bool PubSubHandler::duplicate(const std::optional<std::uint64_t>& ack_id) {
  if (!ack_id)
    return false;
  {
    std::lock_guard lock(mutex_);
    if (!acked_.contains(*ack_id))
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
    acked_.remember(ack_id);
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
