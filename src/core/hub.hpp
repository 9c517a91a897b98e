#pragma once
// One hub: its connections, users, groups and permissions, the handling of PubSub client
// messages, and local delivery of publications. Thread-safe: one mutex guards the state, and no
// connection is called while it is held (recipients are snapshotted first).

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/broker.hpp"
#include "core/connection.hpp"
#include "core/permissions.hpp"
#include "core/subscription_index.hpp"
#include "protocol/messages.hpp"
#include "util/fifo.hpp"

namespace wps::core {

struct HubLimits {
  std::size_t max_connections_per_user = 0;   // 0 = unlimited
  std::size_t max_groups_per_connection = 0;  // 0 = unlimited
  // Successful ackIds remembered per connection for Duplicate detection; older ones are
  // forgotten first-in first-out (bounded memory for clients that never stop sending).
  std::size_t max_remembered_ack_ids = 10'000;
};

struct ConnectionInfo {
  ConnId id;
  std::optional<std::string> user_id;
  ProtocolKind kind = ProtocolKind::simple;
  std::vector<std::string> roles;
  std::vector<std::string> groups;  // joined at connect (token claims); names already validated
  std::optional<std::string> reconnection_token;  // reliable protocols: sent in `connected`
  // Told of every group the connection joins or leaves, until it is removed; may be null.
  std::shared_ptr<GroupObserver> group_observer;
};

// What the transport must do after a client message was handled.
struct CloseRequest {
  std::uint16_t code = close_code::normal;
  std::string reason;
};

class Hub {
 public:
  Hub(std::string name, Broker& broker, HubLimits limits);
  Hub(const Hub&) = delete;
  Hub& operator=(const Hub&) = delete;

  const std::string& name() const { return name_; }

  enum class AddResult { added, user_limit_reached };
  // Registers a connection after its handshake (joining its token groups) and sends it the
  // `connected` system message. The hub keeps only a weak reference to `connection`.
  AddResult add_connection(const ConnectionInfo& info, std::weak_ptr<Connection> connection);
  // Unregisters; a no-op for unknown ids.
  void remove_connection(const ConnId& id);

  // A decoded message of a PubSub client: acks, pongs and deliveries are sent from here.
  std::optional<CloseRequest> on_client_message(const ConnId& id,
                                                protocol::ClientMessage&& message);
  // Events handled by an upstream event handler (the transport calls the handler):
  // true, with a Duplicate ack sent, when `ack_id` already succeeded on this connection.
  bool reject_duplicate(const ConnId& id, std::uint64_t ack_id);
  // The handler's verdict: a successful ack id is remembered; the ack (success, or
  // InternalServerError with `error_message`) is sent when the event had an ack id.
  void complete_event(const ConnId& id, std::optional<std::uint64_t> ack_id, bool success,
                      std::string error_message);

  // A frame of a simple client (a `message` user event upstream).
  std::optional<CloseRequest> on_simple_message(const ConnId& id, protocol::Payload&& payload);

  // Delivers a publication to the local recipients in its scope.
  void deliver(const Publication& publication);

  // ---- management (REST API and shutdown) -------------------------------------------------
  bool connection_exists(const ConnId& id) const;
  bool user_exists(const std::string& user) const;
  bool group_exists(const std::string& group) const;
  enum class JoinResult { joined, unknown_connection, group_limit_reached };
  // A connection already in the group stays in it (joined); otherwise it joins unless it is in
  // max_groups_per_connection groups already.
  JoinResult add_to_group(const ConnId& id, const std::string& group);
  void remove_from_group(const ConnId& id, const std::string& group);
  void remove_from_all_groups(const ConnId& id);
  // Connections of the user that are in max_groups_per_connection groups already are skipped,
  // as they are by add_to_groups. False: the user has no connection.
  bool add_user_to_group(const std::string& user, const std::string& group);
  void remove_user_from_group(const std::string& user, const std::string& group);
  void remove_user_from_all_groups(const std::string& user);
  // Adds / removes every connection of the hub that matches `filter` (all when null) to / from
  // every group of `groups` (REST :addToGroups / :removeFromGroups).
  void add_to_groups(const std::vector<std::string>& groups,
                     const std::shared_ptr<const protocol::odata::Filter>& filter);
  void remove_from_groups(const std::vector<std::string>& groups,
                          const std::shared_ptr<const protocol::odata::Filter>& filter);
  // Closing: every matched connection gets `disconnected` then a close frame with `code`.
  void close_connection(const ConnId& id, std::uint16_t code, const std::string& reason);
  void close_all(const std::vector<ConnId>& excluded, std::uint16_t code,
                 const std::string& reason);
  void close_group(const std::string& group, const std::vector<ConnId>& excluded,
                   std::uint16_t code, const std::string& reason);
  void close_user(const std::string& user, const std::vector<ConnId>& excluded, std::uint16_t code,
                  const std::string& reason);
  // false: unknown connection.
  bool grant_permission(const ConnId& id, Permission permission,
                        const std::optional<std::string>& target);
  void revoke_permission(const ConnId& id, Permission permission,
                         const std::optional<std::string>& target);
  bool check_permission(const ConnId& id, Permission permission,
                        const std::optional<std::string>& target) const;

  struct Member {
    ConnId connection_id;
    std::optional<std::string> user_id;
  };
  // Members of `group` ordered by connection id, starting after `after` (exclusive), at most
  // `limit` entries: stable paging while membership changes.
  std::vector<Member> list_group(const std::string& group, const std::string& after,
                                 std::size_t limit) const;

  std::size_t connection_count() const;
  // Connections the user holds in this hub.
  std::size_t user_connection_count(const std::string& user) const;

 private:
  struct State {
    ConnectionInfo info;
    std::weak_ptr<Connection> sink;
    Permissions permissions;
    std::unordered_set<std::uint64_t> acked;
    util::Fifo<std::uint64_t> acked_order;
  };
  struct Recipient {
    std::shared_ptr<Connection> connection;
    ProtocolKind kind;
  };

  // All require mutex_ held.
  void collect(const ConnId& id, const std::vector<ConnId>& excluded, std::vector<Recipient>& out,
               const protocol::odata::Filter* filter = nullptr) const;
  bool matches_locked(const ConnId& id, const State& state,
                      const protocol::odata::Filter& filter) const;
  // Joins `group` unless the connection is in max_groups_per_connection other groups already
  // (false then). Token groups, REST and client joins all pass through here.
  bool join_locked(State& state, const std::string& group);
  void leave_locked(const ConnId& id, const std::string& group);
  // Leaves every group of `id`, unsubscribing from those now empty.
  void leave_all_locked(const ConnId& id);
  void notify_left_locked(const ConnId& id, const std::string& group) const;
  void remember_ack_locked(State& state, std::uint64_t ack_id);

  void send_ack(const std::shared_ptr<Connection>& connection, ProtocolKind kind,
                std::uint64_t ack_id, std::string_view error_name = {},
                std::string error_message = {});
  void publish(Publication&& publication);
  static void close_each(std::vector<Recipient>& recipients, std::uint16_t code,
                         const std::string& reason);

  const std::string name_;
  Broker& broker_;
  const HubLimits limits_;

  mutable std::mutex mutex_;
  std::unordered_map<ConnId, State> connections_;
  SubscriptionIndex index_;
};

}  // namespace wps::core
