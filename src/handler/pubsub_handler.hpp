#pragma once
// PubSub clients: `json.webpubsub.azure.v1`, `protobuf.webpubsub.azure.v1` and their reliable
// variants (spec §6.3, §6.4, §6.12). One class for both formats: they carry the same messages,
// so decoding and encoding go through the client's PubSubCodec and the meaning (joinGroup,
// leaveGroup, sendToGroup with acks, Duplicate and Forbidden, events upstream, ping) is decided
// here once.
//
// A reliable client's handler is its session: it outlives the sockets that carry it, numbers
// every data message it receives (ReplayBuffer) and, when a socket drops, waits
// Limits::recovery_window for the client to come back on a new one (found through
// Context::sessions), then replays what was not acknowledged, in order, before live traffic.
//
// Threads: socket callbacks run on their socket's executor; deliver() and close() come from
// any thread. `mutex_` guards the attached socket (reliable sessions), the replay buffer, the
// ack history and the session's end. Lock order: Hub::mutex_ -> PubSubHandler::mutex_ (the hub
// may deliver from under nothing but its snapshot); the handler never calls the hub, its events
// or a socket's close() with mutex_ held (socket send() only queues).

#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "core/session_store.hpp"
#include "handler/client_handler.hpp"
#include "handler/codec.hpp"
#include "handler/replay_buffer.hpp"

namespace wps::handler {

class PubSubHandler final : public ClientHandler,
                            public std::enable_shared_from_this<PubSubHandler> {
 public:
  // `codec`: the client's format (pubsub_codec(registration.kind)).
  PubSubHandler(Context& context, const PubSubCodec& codec, Registration registration,
                std::shared_ptr<core::ConnectionEvents> events);
  // A reliable session that another node held, claimed from the cluster's session store: it
  // keeps its token and ack history and, once open, replays the log after `claimed`'s position.
  PubSubHandler(Context& context, const PubSubCodec& codec, Registration registration,
                std::shared_ptr<core::ConnectionEvents> events,
                const core::ClaimedSession& claimed);

  bool reliable() const { return replay_ != nullptr; }
  // Whether a client offering `token` (its awps_reconnection_token) on `hub` with `kind` may
  // resume this session. Constant-time in the token.
  bool resumable_by(std::string_view token, core::ProtocolKind kind, const std::string& hub) const;

  void on_open(const std::shared_ptr<Socket>& socket) override;
  void on_message(Socket& socket, bool binary, std::string_view data) override;
  SharedFrame on_closing(Socket& socket, std::string_view reason) override;
  void on_closed(Socket& socket, bool recoverable) override;

  void deliver(const SharedFrame& frame) override;
  void deliver_logged(const SharedFrame& frame, std::uint64_t log_seq) override;
  void close(std::uint16_t code, std::string reason) override;

  // Another node resumed this session: it ends here without any event or stored-state change.
  void relinquish();

 private:
  // The socket that carries the session now, if it is `socket` (messages from a socket that a
  // recovery replaced are ignored).
  std::shared_ptr<Socket> attached(const Socket& socket);
  // A recovered client's new socket: `connected` again, then the unacknowledged messages.
  void resume_on(const std::shared_ptr<Socket>& socket);

  void handle(const std::shared_ptr<Socket>& socket, protocol::ClientMessage&& message);
  template <class M>
  void join_or_leave(M& message);
  void send_to_group(protocol::SendToGroup& message);
  void event(const std::shared_ptr<Socket>& socket, protocol::Event& message);
  void on_event_result(Socket& socket, std::optional<std::uint64_t> ack_id,
                       core::UserEventResult result);
  // Preview invoke (spec §6.9): the user event goes upstream without pausing the socket; the
  // answer (or failure) comes back as one invokeResponse unless cancelled first.
  void invoke(protocol::Invoke& message);
  void on_invoke_result(const std::string& invocation_id, core::UserEventResult result);
  void cancel_invocation(const protocol::CancelInvocation& message);
  void invoke_response(protocol::InvokeResponse response);

  // Preview group streams (spec §6.8): the streams this connection publishes, by id.
  struct OpenStream {
    std::string group;
    bool no_echo = false;
    std::uint64_t expected = 1;  // next fragment's streamSequenceId
    std::chrono::milliseconds idle_timeout{};
    std::unique_ptr<boost::asio::steady_timer> idle_timer;
    std::uint64_t generation = 0;  // tells a stale idle expiry
  };
  void start_stream(protocol::SendToGroup& message, const std::shared_ptr<Socket>& socket);
  void stream_data(protocol::StreamData& message);
  void stream_end(protocol::StreamEnd& message);
  // mutex_ held: (re)arms the stream's idle timer.
  void arm_idle_timer_locked(const std::string& stream_id, OpenStream& stream);
  void on_stream_idle(const std::string& stream_id, std::uint64_t generation);
  // Publishes one message of the stream to its group (a fragment, or the terminal message when
  // `info.end`).
  void publish_stream(const OpenStream& stream, protocol::StreamInfo info,
                      protocol::Payload payload);
  // Ends every open stream with `error_name` for the receivers (the connection is ending).
  void cancel_streams(std::string_view message);
  // Answers `ack_id` with success (remembering it for Duplicate) or an error.
  void ack(std::uint64_t ack_id, std::string_view error_name = {}, std::string error_message = {});
  // When `ack_id` already succeeded: answers Duplicate and returns true.
  bool duplicate(const std::optional<std::uint64_t>& ack_id);
  // Sends a control message (ack, pong) to the socket carrying the client now.
  void send_control(SharedFrame frame);

  // Ends the logical connection once: it leaves the hub (`disconnected` upstream with
  // `reason`), a reliable session stops being resumable and forgets its messages. The attached
  // socket, if any, is returned (detached) for the caller to close.
  std::shared_ptr<Socket> end(const std::string& reason);
  // Ends the session here without any event or stored-state change (it lives on in the
  // store); the attached socket, if any, is returned for the caller to close.
  std::shared_ptr<Socket> drop_here();
  // Cluster session recovery (durable_): the state other nodes need, saved in the store.
  void save_state();
  // mutex_ held: numbers `frame` `seq` (0: the next one) unless the client had it already, keeps
  // it and sends it. False: the replay buffer is full.
  bool send_numbered_locked(const SharedFrame& frame, std::uint64_t seq);
  // The replay buffer is full: the session ends.
  void overflowed();
  // A claimed session, open: waits for its subscriptions, then replays the log.
  void start_replay();
  void finish_replay(std::vector<core::LoggedPublication> entries, bool complete);

  // Reliable, mutex_ held: the attached `socket` dropped; the session waits for its client to
  // recover within Limits::recovery_window, then ends.
  void await_recovery_locked(const Socket& socket);

  const PubSubCodec& codec_;
  const std::string reconnection_token_;  // reliable sessions only

  std::mutex mutex_;
  // The socket carrying the client: set by on_open before the hub can deliver; a plain client's
  // never changes after that, a reliable session's changes under mutex_.
  std::shared_ptr<Socket> socket_;
  bool opened_ = false;
  bool ended_ = false;
  // State that most connections never use lives out of line (issue 14: idle memory): allocated
  // when first needed, so an idle connection pays a pointer for each.
  std::unique_ptr<ReplayBuffer> replay_;  // reliable sessions only
  std::unique_ptr<AckHistory> acked_;     // from the first message with an ackId
  struct Preview {
    // Invocations waiting for the event handler (ids); a cancelled one leaves at once.
    std::unordered_set<std::string> pending_invocations;
    std::unordered_map<std::string, OpenStream> streams;
    std::uint64_t stream_generation = 0;
  };
  std::unique_ptr<Preview> preview_;  // from the first invoke or stream message
  Preview& preview_locked();          // mutex_ held: preview_, created if need be
  void remember_ack_locked(std::uint64_t ack_id);
  // Reliable: the recovery window of a detached session; a generation tells a stale expiry.
  std::unique_ptr<boost::asio::steady_timer> recovery_timer_;
  std::uint64_t generation_ = 0;

  // Cluster session recovery: a reliable session with a session store.
  const bool durable_;
  const bool claimed_;                // resumed from another node: replays, no `connected` event
  const std::uint64_t replay_after_;  // claimed: the log position the replay starts after
  std::uint64_t last_seq_ = 0;        // the last sequence id sent (log numbers)
  std::uint64_t acked_seq_ = 0;       // the client's last sequenceAck
  std::chrono::steady_clock::time_point last_save_{};
  bool replaying_ = false;  // claimed, log not replayed yet: live messages wait in held_
  std::vector<std::pair<std::uint64_t, SharedFrame>> held_;
  bool relinquished_ = false;
};

}  // namespace wps::handler
