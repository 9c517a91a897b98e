#pragma once
// The hub's event handlers ("upstream", spec §8) as the core and the client-protocol handlers
// see them: the events a connection raises and the answers of the blocking ones. The webhook
// layer implements Upstream (CloudEvents over HTTP, webhook::Dispatcher); the app wires it. No
// HTTP, no JSON library here.

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/client.hpp"
#include "protocol/messages.hpp"

namespace wps::core {

// What an MQTT connection's `disconnected` event says about its end (spec mqtt §8.4).
struct MqttDisconnectInfo {
  bool initiated_by_client = false;
  // The last DISCONNECT packet either side sent: its code (0 for 3.1.1) and, for a client's 5.0
  // DISCONNECT, its user properties. Absent when none was sent (network failure).
  bool has_packet = false;
  int code = 0;
  std::optional<std::vector<std::pair<std::string, std::string>>> user_properties;
};

// What every event carries about its connection.
struct ConnectionContext {
  std::string hub;  // lower-cased hub name (sent as ce-hub)
  std::string connection_id;
  std::optional<std::string> user_id;
  std::string subprotocol;  // empty when none
  // ce-connectionState last set by a handler (spec §8.9); empty optional when never set.
  std::optional<std::string> state;
  // Cookies set by the handler (Set-Cookie), replayed as one Cookie header ("a=1; b=2").
  std::string cookies;
  // MQTT connections: the network connection's id (ce-physicalConnectionId, ce-sessionId) and
  // what ended it (for `disconnected`). Empty / absent for other clients.
  std::string physical_connection_id;
  std::optional<MqttDisconnectInfo> mqtt_disconnect;
};

using Multimap = std::map<std::string, std::vector<std::string>>;

// What an MQTT client's CONNECT adds to the `connect` event (spec mqtt §8.2).
struct MqttConnectFields {
  int protocol_version = 5;  // 4 = 3.1.1, 5 = 5.0
  bool clean_start = true;
  std::optional<std::string> username;
  std::optional<std::string> password;  // raw bytes (sent base64)
  std::vector<std::pair<std::string, std::string>> user_properties;
};

// Body of the `connect` event (spec §8.5). Every value is a list of strings.
struct ConnectRequest {
  Multimap claims;
  Multimap query;    // without access_token
  Multimap headers;  // without Authorization
  std::vector<std::string> subprotocols;
  std::optional<MqttConnectFields> mqtt;  // MQTT clients only
};

struct ConnectResult {
  // Accepted: the fields the handler chose to override. Rejected: `status` for the client.
  bool accepted = false;
  unsigned status = 500;
  std::string error;  // why it was rejected (for logs; never sent to the client)
  std::optional<std::string> user_id;
  std::optional<std::vector<std::string>> groups;
  std::optional<std::vector<std::string>> roles;
  std::optional<std::string> subprotocol;
  std::optional<std::string> state;  // new ce-connectionState, when the response set one
  std::string cookies;               // Cookie header value to replay later
  // MQTT: the body's `mqtt` object (the CONNACK code of a refusal, its reason string, the user
  // properties for the CONNACK).
  std::optional<int> mqtt_code;
  std::optional<std::string> mqtt_reason;
  std::vector<std::pair<std::string, std::string>> mqtt_user_properties;
};

struct UserEventResult {
  bool ok = false;
  unsigned status = 0;                     // the handler's HTTP status; 0 when it was not reached
  std::string error;                       // when !ok (for logs and acks)
  std::optional<protocol::Payload> reply;  // a non-empty 2xx body, typed by its Content-Type
  std::optional<std::string> state;        // new ce-connectionState, when set
  std::string cookies;
  // MQTT (spec mqtt §8.5): the response's `mqtt-<name>` headers, as user properties <name>.
  std::vector<std::pair<std::string, std::string>> mqtt_user_properties;
};

class Upstream {
 public:
  virtual ~Upstream() = default;

  // Whether a handler of `hub` takes the system event `connect`/`connected`/`disconnected`, the
  // group presence event `joined`/`left`, or the user event `event` (user == true). Cheap;
  // thread-safe.
  virtual bool has_handler(const std::string& hub, std::string_view event, bool user) const = 0;

  // Blocking events: `done` is called exactly once, on an arbitrary thread, with the outcome,
  // after the configured timeout at the latest (failure).
  virtual void connect(ConnectionContext context, ConnectRequest request,
                       std::function<void(ConnectResult)> done) = 0;
  virtual void user_event(ConnectionContext context, std::string event, protocol::Payload payload,
                          std::function<void(UserEventResult)> done) = 0;

  // Non-blocking events, delivered in order per connection (disconnected after connected, group
  // presence in between).
  virtual void connected(ConnectionContext context) = 0;
  virtual void disconnected(ConnectionContext context, std::string reason) = 0;
  virtual void group_presence(ConnectionContext context, bool joined, std::string group) = 0;
};

// One logical connection's side of the event handlers: its context (identity, connection state,
// cookies), `connected` once, `disconnected` once and only after it, and the group presence
// events in between (those of groups joined while registering wait for `connected`). Shared by
// the client-protocol handler and, for reliable clients, every socket that carries it.
// Thread-safe. `upstream` may be null (no event handlers at all).
class ConnectionEvents final : public GroupObserver {
 public:
  ConnectionEvents(Upstream* upstream, ConnectionContext context)
      : upstream_(upstream), context_(std::move(context)) {}

  Upstream* upstream() const { return upstream_; }
  bool has_handler(std::string_view event, bool user) const {
    return upstream_ != nullptr && upstream_->has_handler(context_.hub, event, user);
  }
  const std::string& connection_id() const { return context_.connection_id; }
  ConnectionContext snapshot() const {
    std::lock_guard lock(mutex_);
    return context_;
  }
  // A blocking event's response may set the connection state and cookies (spec §8.9).
  void update(const std::optional<std::string>& state, const std::string& cookies) {
    std::lock_guard lock(mutex_);
    if (state)
      context_.state = state;
    if (!cookies.empty())
      context_.cookies = cookies;
  }
  // Identity after the connect handler's overrides.
  void set_identity(std::optional<std::string> user_id, std::string subprotocol) {
    std::lock_guard lock(mutex_);
    context_.user_id = std::move(user_id);
    context_.subprotocol = std::move(subprotocol);
  }

  // MQTT: what the `disconnected` event reports about the end (set before disconnected()).
  void set_mqtt_disconnect(MqttDisconnectInfo info) {
    std::lock_guard lock(mutex_);
    context_.mqtt_disconnect = std::move(info);
  }

  // The connection is established: the `connected` event, then the presence events of the
  // groups it joined while registering (so that a handler sees `connected` first).
  void connected() {
    std::lock_guard lock(mutex_);
    if (open_ || ended_)
      return;
    open_ = true;
    if (has_handler("connected", false))
      upstream_->connected(context_);
    for (auto& [group, joined] : early_)
      upstream_->group_presence(context_, joined, std::move(group));
    early_.clear();
  }
  // The logical connection ended: the `disconnected` event, once.
  void disconnected(const std::string& reason) {
    std::lock_guard lock(mutex_);
    if (ended_)
      return;
    ended_ = true;
    early_.clear();
    if (has_handler("disconnected", false))
      upstream_->disconnected(context_, reason);
  }
  // A user event (`done` as Upstream::user_event), with the connection's current context.
  void user_event(std::string event, protocol::Payload payload,
                  std::function<void(UserEventResult)> done) {
    upstream_->user_event(snapshot(), std::move(event), std::move(payload), std::move(done));
  }

  // Group presence events (spec §8.8), when a handler asks for them. Called by the hub with its
  // lock held; the upstream only queues (lock order: hub, connection events, upstream).
  void on_group_change(const std::string& group, bool joined) override {
    if (!has_handler(joined ? "joined" : "left", false))
      return;
    std::lock_guard lock(mutex_);
    if (ended_)
      return;
    if (!open_) {
      early_.emplace_back(group, joined);
      return;
    }
    upstream_->group_presence(context_, joined, group);
  }

 private:
  Upstream* const upstream_;
  mutable std::mutex mutex_;  // held while queuing events, which keeps them in order
  ConnectionContext context_;
  bool open_ = false;
  bool ended_ = false;
  std::vector<std::pair<std::string, bool>> early_;  // presence events before `connected`
};

}  // namespace wps::core
