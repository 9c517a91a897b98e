#pragma once
// The logical connection of a reliable client (json.reliable.webpubsub.azure.v1, spec §6.4). It
// is what the hub holds, and it outlives the WebSockets that carry it: every data message gets
// the next sequenceId and stays in a bounded replay buffer until the client acknowledges it; when
// the socket drops, the connection waits Limits::recovery_window for the client to come back with
// awps_connection_id + awps_reconnection_token, then replays what was not acknowledged, in
// order, before live traffic.
//
// Thread-safety: every method may be called from any thread; one mutex guards the state. Lock
// order: Hub::mutex_ -> ReliableConnection::mutex_ (the hub sends under its lock); this class
// never calls the hub with its own mutex held. Sessions are only posted to.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>

#include "core/connection.hpp"
#include "core/hub.hpp"
#include "transport/server_context.hpp"
#include "transport/upstream.hpp"

namespace wps::transport {

class ReliableConnection final : public core::Connection,
                                 public std::enable_shared_from_this<ReliableConnection> {
 public:
  ReliableConnection(ServerContext& context, core::ConnId id, core::ProtocolKind kind,
                     std::shared_ptr<core::Hub> hub, boost::asio::any_io_executor executor);

  const core::ConnId& id() const { return id_; }
  const std::string& reconnection_token() const { return token_; }
  core::ProtocolKind kind() const { return kind_; }
  const std::shared_ptr<core::Hub>& hub() const { return hub_; }
  // Constant-time comparison with the secret reconnection token.
  bool token_matches(std::string_view token) const;

  // core::Connection: stamps, buffers and forwards data frames; forwards control frames when a
  // socket is attached (they are not replayed).
  void send(core::SharedFrame frame) override;
  // Ends the logical connection for good (REST close, shutdown): the socket, if any, gets
  // `disconnected` and the close; no recovery.
  void close(std::uint16_t code, std::string reason) override;

  // Attaches a (new) socket. With `resend_connected`, sends the `connected` message first (a
  // recovery), then replays every unacknowledged message in order. False if the connection
  // has ended.
  bool attach(const std::shared_ptr<core::Connection>& socket, bool resend_connected);
  // The socket `socket` is gone. When `recoverable`, the connection waits for recovery;
  // otherwise it ends. Calls for a socket that is no longer attached are ignored.
  void detach(const core::Connection* socket, bool recoverable);
  // Cumulative acknowledgement from the client.
  void acknowledge(std::uint64_t sequence_id);
  // Ends the logical connection without telling the socket (it is closing already).
  void end();

  // Registers `connection` in the context so that it can be recovered.
  static void register_in(ServerContext& context, const std::shared_ptr<ReliableConnection>& c);
  static std::shared_ptr<ReliableConnection> find(ServerContext& context, const std::string& id);

 private:
  struct Buffered {
    std::uint64_t sequence_id;
    core::SharedFrame frame;
  };
  // Ends the connection: unregisters it from the hub and the context. `notify` is the socket to
  // close (with code/reason) if any.
  void terminate(std::shared_ptr<core::Connection> notify, std::uint16_t code,
                 const std::string& reason);

  ServerContext& context_;
  const core::ConnId id_;
  const core::ProtocolKind kind_;
  const std::string token_;
  const std::shared_ptr<core::Hub> hub_;

  std::mutex mutex_;
  std::shared_ptr<core::Connection> socket_;  // the attached session, or null
  bool ended_ = false;
  std::uint64_t next_sequence_id_ = 1;
  std::deque<Buffered> buffer_;
  std::size_t buffered_bytes_ = 0;
  std::optional<std::string> user_id_;
  boost::asio::steady_timer recovery_timer_;
  std::uint64_t detach_generation_ = 0;
  std::shared_ptr<Upstream> upstream_;

 public:
  // For the `connected` message replayed on recovery.
  void set_user_id(std::optional<std::string> user_id) { user_id_ = std::move(user_id); }
  // The event-handler context, which lives as long as the logical connection.
  void set_upstream(std::shared_ptr<Upstream> upstream) { upstream_ = std::move(upstream); }
  const std::shared_ptr<Upstream>& upstream() const { return upstream_; }
};

}  // namespace wps::transport
