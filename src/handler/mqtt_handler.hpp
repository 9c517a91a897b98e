#pragma once
// MQTT 3.1.1 and 5.0 clients over WebSocket (/clients/mqtt/hubs/{hub}, subprotocol `mqtt`;
// docs/PROTOCOL.md "MQTT"). The upgrade is accepted once the token is checked; the client's
// CONNECT then decides its identity: its Client Identifier is the connection id, the `connect`
// event (when the hub has a handler for it) may refuse it with a CONNACK code or change its user,
// groups and roles. Topics are group names: SUBSCRIBE joins, UNSUBSCRIBE leaves, PUBLISH sends
// to the group, with the permissions of the token's roles. Deliveries are PUBLISH packets encoded
// once per protocol level; a QoS 1 subscriber gets a copy with its own packet identifier.
//
// MqttHandler reads the socket (one per network connection); MqttSession is the client the hub
// knows, from an accepted CONNECT until the connection ends.

#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <deque>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/upstream.hpp"
#include "handler/client_handler.hpp"
#include "handler/handshake.hpp"
#include "protocol/mqtt.hpp"

namespace wps::handler {

// The encoder of MQTT deliveries for one protocol level: a QoS 0 PUBLISH to the group (or to
// `$webpubsub/server/messages` for sends to all, a user or a connection), with the 5.0 Content
// Type of the data type.
const core::Encoder& mqtt_encoder(std::uint8_t level);

class MqttSession;

class MqttHandler final : public Handler, public std::enable_shared_from_this<MqttHandler> {
 public:
  // `accept` is the handshake's decision (hub, token user, roles, groups, claims); `query` and
  // `headers` are for the `connect` event.
  MqttHandler(Context& context, HandshakeAccept accept, core::Multimap query,
              core::Multimap headers);
  ~MqttHandler() override;

  void on_open(const std::shared_ptr<Socket>& socket) override;
  void on_message(Socket& socket, bool binary, std::string_view data) override;
  SharedFrame on_closing(Socket& socket, std::string_view reason) override;
  void on_closed(Socket& socket, bool recoverable) override;

 private:
  enum class State { awaiting_connect, connecting, connected, closed };

  // Reads packets until the reader needs more input, the socket is paused or closed.
  void drain();
  void handle(protocol::mqtt::Packet& packet);
  void on_connect(protocol::mqtt::Connect& connect);
  void after_connect_event(core::ConnectResult result);
  void try_register(int attempts_left);
  void resume(const std::shared_ptr<MqttSession>& session);
  protocol::mqtt::Connack success_connack(bool session_present) const;
  void refuse_connect(std::uint8_t reason_5, std::string reason_string,
                      std::vector<protocol::mqtt::UserProperty> user_properties = {});
  void on_subscribe(const protocol::mqtt::Subscribe& subscribe);
  void on_unsubscribe(const protocol::mqtt::Unsubscribe& unsubscribe);
  void on_publish(protocol::mqtt::Publish& publish);
  void on_disconnect(const protocol::mqtt::Disconnect& disconnect);
  // PUBLISH to `$webpubsub/server/events/{event}`: a user event upstream; the answer is
  // published back to this client on `.../{event}/succeeded` or `.../failed`.
  void on_event(protocol::mqtt::Publish& publish, std::string event);
  // Closes the network connection after a protocol violation: 5.0 clients past CONNECT get a
  // DISCONNECT with `reason_5` first.
  void fail(std::uint8_t reason_5, std::string message, std::uint16_t ws_code);
  void send_packet(const protocol::mqtt::Packet& packet);
  // The 5.0 CONNECT's *Receive Maximum* (65,535 when absent, and for 3.1.1).
  std::uint16_t client_receive_maximum() const {
    return connect_.properties.receive_maximum.value_or(65535);
  }
  void arm_keep_alive();
  void publish_will();
  void end(const std::string& reason);

  Context& context_;
  HandshakeAccept accept_;
  core::Multimap query_;
  core::Multimap headers_;
  std::shared_ptr<Socket> socket_;
  protocol::mqtt::Reader reader_;
  State state_ = State::awaiting_connect;
  bool paused_ = false;
  std::uint8_t level_ = protocol::mqtt::k_level_5;
  protocol::mqtt::Connect connect_;  // the accepted CONNECT (will, properties)
  std::shared_ptr<core::ConnectionEvents> events_;
  std::shared_ptr<MqttSession> session_;
  std::vector<protocol::mqtt::UserProperty> connack_user_properties_;
  bool assigned_id_ = false;
  std::optional<std::uint16_t> server_keep_alive_;
  std::chrono::seconds keep_alive_{0};
  std::chrono::seconds session_expiry_{0};  // how long the session outlives the connection
  std::chrono::steady_clock::time_point last_packet_{};
  std::unique_ptr<boost::asio::steady_timer> timer_;
  bool will_pending_ = false;  // the will is published unless a normal DISCONNECT cancels it
  // The DISCONNECT the server sends a 5.0 client when it closes (code, reason string).
  std::mutex farewell_mutex_;
  std::optional<std::pair<std::uint8_t, std::string>> farewell_;
  bool client_disconnected_ = false;
  std::uint8_t client_disconnect_code_ = 0;
  std::vector<protocol::mqtt::UserProperty> client_disconnect_properties_;
  const std::string physical_id_;

  friend class MqttSession;
};

// The client the hub knows: an MQTT session, from an accepted CONNECT until it ends. With a
// Session Expiry Interval (5.0) or Clean Session 0 (3.1.1) it outlives its network connection
// for min(interval, limits.recoveryWindowMs): it stays in the hub (REST sees it, deliveries at
// QoS 1 wait for it, bounded by limits.maxPendingMessages) until a CONNECT with its client id
// and Clean Start 0 resumes it, or it expires.
class MqttSession final : public ClientHandler, public std::enable_shared_from_this<MqttSession> {
 public:
  MqttSession(Context& context, Registration registration,
              std::shared_ptr<core::ConnectionEvents> events, std::uint8_t level);

  // Handler: the socket talks to MqttHandler, which drives the session.
  void on_open(const std::shared_ptr<Socket>&) override {}
  void on_message(Socket&, bool, std::string_view) override {}
  SharedFrame on_closing(Socket&, std::string_view) override { return nullptr; }
  void on_closed(Socket&, bool) override {}

  void deliver(const SharedFrame& frame) override;
  void close(std::uint16_t code, std::string reason) override;

  // Registers in the hub; `on_added` runs before any delivery can reach the client.
  std::optional<std::string> join(const std::function<void()>& on_added) {
    return join_hub(weak_from_this(), on_added);
  }
  // The network connection that carries the session: `first` (its CONNACK) is sent, then the
  // QoS 1 messages an earlier connection left unacknowledged (again, with DUP and their packet
  // ids), then what waited while the session was offline. `receive_maximum` is the client's
  // (5.0 CONNECT *Receive Maximum*; 65,535 when absent and for 3.1.1): how many QoS 1 PUBLISHes
  // may await their PUBACK at once, also capped by limits.maxPendingMessages.
  void attach(std::shared_ptr<Socket> socket, std::weak_ptr<MqttHandler> handler, SharedFrame first,
              std::uint16_t receive_maximum = 65535);
  // The client's PUBACK for `packet_id`: that message is done, and the next waiting one may go.
  void acknowledge(std::uint16_t packet_id);
  bool attached() const;
  // The network connection is gone: the session waits `expiry` for a resuming CONNECT (its
  // timer runs on `executor`).
  void detach(std::chrono::seconds expiry, boost::asio::any_io_executor executor);
  // Ends the session: leaves the hub (the `disconnected` event), forgets it.
  void end_session(const std::string& reason);
  std::uint8_t level() const { return level_; }

  struct Subscription {
    std::uint8_t qos = 1;
    std::uint32_t subscription_id = 0;
    bool no_local = false;
  };
  void subscribe(const std::string& group, Subscription subscription);
  void unsubscribe(const std::string& group);
  bool no_local(const std::string& group) const;
  std::uint16_t next_packet_id();
  void user_event(const std::shared_ptr<Socket>& socket, std::string event,
                  protocol::Payload payload,
                  std::function<void(Socket&, core::UserEventResult)> done) {
    call_upstream(socket, std::move(event), std::move(payload), std::move(done));
  }
  const std::shared_ptr<core::ConnectionEvents>& events() const { return events_; }

  using ClientHandler::hub;
  using ClientHandler::id;
  using ClientHandler::user_id;

 private:
  // The subscription options that apply to `frame` (QoS 1 for groups joined without SUBSCRIBE
  // and for `$webpubsub/server/messages`); nullopt when it is not a PUBLISH. Requires mutex_.
  std::optional<Subscription> subscription_locked(const SharedFrame& frame) const;
  // The frame `frame` becomes for this subscriber, given `subscription_locked(frame)` (its QoS,
  // packet id, subscription id); null when a detached session drops it (QoS 0). A QoS 1 copy
  // is remembered until its PUBACK. Requires mutex_.
  SharedFrame for_subscriber_locked(const SharedFrame& frame,
                                    const std::optional<Subscription>& subscription);
  // Whether one more QoS 1 PUBLISH may go out now. Requires mutex_.
  bool window_open_locked() const;
  // Sends what waits in pending_ while the connection's window allows it, in order; returns
  // the frames to send (sent by the caller in that order). Requires mutex_.
  void drain_pending_locked(std::vector<SharedFrame>& out);
  std::uint16_t next_packet_id_locked();

  const std::uint8_t level_;
  mutable std::mutex mutex_;
  std::weak_ptr<MqttHandler> handler_;
  std::shared_ptr<Socket> socket_;  // null while detached
  // Messages that wait: while detached (every message, sent when the session resumes), or,
  // while attached, behind a full window of unacknowledged QoS 1 PUBLISHes (then everything
  // after them waits too, so that order holds). At most limits.maxPendingMessages; further
  // ones are dropped.
  std::deque<SharedFrame> pending_;
  // QoS 1 PUBLISHes sent and not yet acknowledged, in the order they were sent, by packet id.
  struct InFlight {
    std::uint16_t packet_id;
    SharedFrame frame;
  };
  std::list<InFlight> in_flight_;
  std::unordered_map<std::uint16_t, std::list<InFlight>::iterator> in_flight_by_id_;
  std::uint16_t receive_maximum_ = 65535;
  std::uint64_t detachments_ = 0;  // an expiry only ends the detachment that armed it
  bool ended_ = false;
  // Options of the groups subscribed by SUBSCRIBE; groups joined otherwise (token, connect
  // handler, REST) deliver at QoS 1.
  std::unordered_map<std::string, Subscription> subscriptions_;
  std::uint16_t next_packet_id_ = 0;
};

}  // namespace wps::handler
