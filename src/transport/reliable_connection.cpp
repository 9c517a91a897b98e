#include "transport/reliable_connection.hpp"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <stdexcept>

#include "core/frames.hpp"
#include "util/log.hpp"

namespace wps::transport {

namespace {
// 32 bytes from OpenSSL's CSPRNG, hex-encoded: unguessable, URL-safe, bound to one connection.
std::string make_token() {
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
}  // namespace

ReliableConnection::ReliableConnection(ServerContext& context, core::ConnId id,
                                       core::ProtocolKind kind, std::shared_ptr<core::Hub> hub,
                                       boost::asio::any_io_executor executor)
    : context_(context),
      id_(std::move(id)),
      kind_(kind),
      token_(make_token()),
      hub_(std::move(hub)),
      recovery_timer_(std::move(executor)) {}

bool ReliableConnection::token_matches(std::string_view token) const {
  return token.size() == token_.size() &&
         CRYPTO_memcmp(token.data(), token_.data(), token.size()) == 0;
}

void ReliableConnection::register_in(ServerContext& context,
                                     const std::shared_ptr<ReliableConnection>& connection) {
  std::lock_guard lock(context.reliable_mutex);
  context.reliable_connections[connection->id()] = connection;
}

std::shared_ptr<ReliableConnection> ReliableConnection::find(ServerContext& context,
                                                             const std::string& id) {
  std::lock_guard lock(context.reliable_mutex);
  auto it = context.reliable_connections.find(id);
  return it == context.reliable_connections.end() ? nullptr : it->second;
}

void ReliableConnection::send(core::SharedFrame frame) {
  if (!frame)
    return;
  std::shared_ptr<core::Connection> socket;
  {
    std::lock_guard lock(mutex_);
    if (ended_)
      return;
    if (!frame->sequenced) {
      // Acks, pongs, system messages: only for the socket that is there now.
      if (socket_)
        socket_->send(std::move(frame));
      return;
    }
    const std::uint64_t sequence_id = next_sequence_id_++;
    core::SharedFrame stamped = core::with_sequence_id(kind_, *frame, sequence_id);
    const config::Limits& limits = context_.config.limits;
    if (buffer_.size() < limits.max_replay_messages &&
        buffered_bytes_ + stamped->data.size() <= limits.max_replay_bytes) {
      buffered_bytes_ += stamped->data.size();
      buffer_.push_back({sequence_id, stamped});
      if (socket_)
        socket_->send(std::move(stamped));
      return;
    }
    socket = socket_;
  }
  // The client acknowledges too little: the session cannot be kept lossless any more.
  ++context_.counters.replay_overflows;
  WPS_LOG(info, "reliable") << "replay buffer of " << id_ << " is full: ending the session";
  terminate(std::move(socket), core::close_code::policy_violation,
            "The reliable session's buffer of unacknowledged messages is full.");
}

void ReliableConnection::close(std::uint16_t code, std::string reason) {
  std::shared_ptr<core::Connection> socket;
  {
    std::lock_guard lock(mutex_);
    if (ended_)
      return;
    socket = socket_;
  }
  terminate(std::move(socket), code, reason);
}

bool ReliableConnection::attach(const std::shared_ptr<core::Connection>& socket,
                                bool resend_connected) {
  std::shared_ptr<core::Connection> replaced;
  {
    std::lock_guard lock(mutex_);
    if (ended_)
      return false;
    if (socket_ != socket)
      replaced = std::move(socket_);
    socket_ = socket;
    ++detach_generation_;  // a pending recovery timeout no longer applies
    recovery_timer_.cancel();
    if (resend_connected) {
      if (auto connected = core::encode_connected(kind_, id_, user_id_, token_))
        socket->send(std::move(connected));
    }
    for (const Buffered& b : buffer_)
      socket->send(b.frame);
  }
  // A socket the client gave up on (half-open) is closed without ending the session.
  if (replaced)
    replaced->close(core::close_code::normal, "Replaced by a recovered connection.");
  return true;
}

void ReliableConnection::detach(const core::Connection* socket, bool recoverable) {
  {
    std::lock_guard lock(mutex_);
    if (ended_ || socket_.get() != socket)
      return;
    socket_.reset();
    if (recoverable) {
      const std::uint64_t generation = ++detach_generation_;
      recovery_timer_.expires_after(context_.config.limits.recovery_window);
      recovery_timer_.async_wait(
          [weak = weak_from_this(), generation](const boost::system::error_code& ec) {
            if (ec)
              return;
            auto self = weak.lock();
            if (!self)
              return;
            {
              std::lock_guard inner(self->mutex_);
              if (self->ended_ || self->socket_ || generation != self->detach_generation_)
                return;
            }
            WPS_LOG(debug, "reliable") << "recovery window of " << self->id_ << " expired";
            self->terminate(nullptr, 0, {});
          });
      return;
    }
  }
  terminate(nullptr, 0, {});
}

void ReliableConnection::acknowledge(std::uint64_t sequence_id) {
  std::lock_guard lock(mutex_);
  while (!buffer_.empty() && buffer_.front().sequence_id <= sequence_id) {
    buffered_bytes_ -= buffer_.front().frame->data.size();
    buffer_.pop_front();
  }
}

void ReliableConnection::end() {
  terminate(nullptr, 0, {});
}

void ReliableConnection::terminate(std::shared_ptr<core::Connection> notify, std::uint16_t code,
                                   const std::string& reason) {
  auto self = shared_from_this();  // the registry may hold the last reference
  {
    std::lock_guard lock(mutex_);
    if (ended_)
      return;
    ended_ = true;
    socket_.reset();
    buffer_.clear();
    buffered_bytes_ = 0;
    recovery_timer_.cancel();
  }
  hub_->remove_connection(id_);
  if (upstream_)
    upstream_->disconnected(reason);
  {
    std::lock_guard lock(context_.reliable_mutex);
    auto it = context_.reliable_connections.find(id_);
    if (it != context_.reliable_connections.end() && it->second.get() == this)
      context_.reliable_connections.erase(it);
  }
  if (notify)
    notify->close(code, reason);
}

}  // namespace wps::transport
