#pragma once
// One hub: its connections, users, groups and permissions, and the delivery of publications to
// its clients. What a client's message means is its protocol handler's business (src/handler);
// the hub offers the operations they and the REST API share. Thread-safe: one mutex guards the
// state, and no client is called while it is held (recipients are snapshotted first). A group's
// recipients are kept as one immutable list (its audience), built on the first publication after
// its membership changed and shared by every publication until the next change: a publication to
// a group takes the mutex once and looks nothing up per recipient.
//
// Event loops (core/loops.hpp): each client belongs to the loop that registered it (kept when
// it registers again: a resumed reliable session). A publication's recipients are grouped by
// loop; the publisher's own loop delivers to its share inline and every other loop with
// recipients gets the publication once (one post carrying the frames encoded here), so no lock
// or post is taken per delivery. docs/LOCKING.md.

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/broker.hpp"
#include "core/client.hpp"
#include "core/loops.hpp"
#include "core/metrics.hpp"
#include "core/permissions.hpp"
#include "core/subscription_index.hpp"
#include "protocol/messages.hpp"

namespace wps::core {

struct HubLimits {
  std::size_t max_connections_per_user = 0;   // 0 = unlimited
  std::size_t max_groups_per_connection = 0;  // 0 = unlimited
};

struct ConnectionInfo {
  ConnId id;
  std::optional<std::string> user_id;
  ProtocolKind kind = ProtocolKind::simple;
  // Encodes the data messages this connection receives (never null; outlives the hub).
  const Encoder* encoder = nullptr;
  // Made the connection's permissions by add_connection; the hub does not keep them.
  std::vector<std::string> roles;
  // Joined at connect (token claims; names already validated); the hub does not keep them.
  std::vector<std::string> groups;
  // Told of every group the connection joins or leaves, until it is removed; may be null.
  std::shared_ptr<GroupObserver> group_observer;
};

class Hub {
 public:
  // `metrics`: where the hub counts (Node's); null: counters of its own (tests). `loops`: the
  // event loops its clients live on (outlive the hub); null: every delivery inline.
  Hub(std::string name, Broker& broker, HubLimits limits, Metrics* metrics = nullptr,
      Loops* loops = nullptr);
  Hub(const Hub&) = delete;
  Hub& operator=(const Hub&) = delete;

  const std::string& name() const { return name_; }
  Metrics& metrics() const { return metrics_; }

  // A message of `bytes` bytes from a client of this hub (webpubsub_messages_received_total): a
  // relaxed increment, and a trace event when someone watches.
  void received(ProtocolKind kind, const ConnId& id, const std::optional<std::string>& user,
                std::size_t bytes) {
    stats_.received[static_cast<std::size_t>(kind)].fetch_add(1, std::memory_order_relaxed);
    if (metrics_.tracer.active())
      trace("received", id, user, std::to_string(bytes) + " bytes");
  }

  enum class AddResult { added, user_limit_reached };
  // Registers a connection after its handshake, joining its token groups. `on_added` (may be
  // empty) runs under the hub's lock once the connection is registered, before any delivery can
  // reach it: a handler queues its `connected` message there, so that no group message
  // overtakes it. The hub keeps only a weak reference to `client`.
  AddResult add_connection(const ConnectionInfo& info, std::weak_ptr<Client> client,
                           const std::function<void()>& on_added = {});
  // Unregisters; a no-op for unknown ids.
  void remove_connection(const ConnId& id);

  // Whether the connection's roles and grants allow `permission` on `group` (a client's
  // joinGroup, leaveGroup, sendToGroup). False for unknown connections.
  bool permits(const ConnId& id, Permission permission, const std::string& group) const;

  // Delivers `publication` to this hub's clients in its scope, then hands it to the broker for
  // the other nodes. Must not be called with a hub lock held.
  void publish(const Publication& publication);
  // Delivers a publication (local or from another node) to the local recipients in its scope,
  // encoding it once per encoder among them: inline to the clients of the calling thread's loop
  // (and to clients of no loop), through one post per other loop with recipients.
  void deliver(const Publication& publication);

  // Whether `publication` is addressed to connection `id` now (scope, excluded, filter): a
  // resumed reliable session's replay of its hub's log.
  bool addresses(const Publication& publication, const ConnId& id) const;
  // The groups of connection `id`, sorted (a reliable session's saved state).
  std::vector<std::string> groups_of(const ConnId& id) const;

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
  std::size_t user_count() const;
  std::size_t group_count() const;
  // Connections the user holds in this hub.
  std::size_t user_connection_count(const std::string& user) const;

 private:
  struct State {
    ConnectionInfo info;
    std::weak_ptr<Client> client;
    Permissions permissions;
    // The loop that registered the connection first (its deliveries run there).
    LoopIndex loop = kNoLoop;
  };
  struct Recipient {
    std::shared_ptr<Client> client;
    const Encoder* encoder;
    ProtocolKind kind;
    LoopIndex loop;
  };
  // A run of recipients on one loop: [begin, end) of a list sorted by loop.
  struct Bucket {
    LoopIndex loop;
    std::size_t begin;
    std::size_t end;
  };
  // One publication encoded once per encoder among its recipients, before it is handed to any
  // loop; immutable afterwards, shared by the loops.
  struct Frames {
    std::array<std::pair<const Encoder*, SharedFrame>, 8> encoded{};
    std::size_t count = 0;
    // Encodes `message` for `encoder` unless done already or the slots are full.
    void add(const Encoder* encoder, const Message& message);
    // The frame of `encoder` (it may be null: nothing for this format); null when not encoded
    // (more formats than slots: encoded per recipient).
    const SharedFrame* find(const Encoder* encoder) const;
  };
  // Who a publication to a group reaches, as of the group's last membership change. Immutable
  // once built; shared with the loops a publication is handed to.
  struct Audience {
    struct Member {
      std::weak_ptr<Client> client;
      const Encoder* encoder;
      ProtocolKind kind;
      LoopIndex loop;
    };
    std::vector<Member> members;                           // sorted by loop
    std::vector<Bucket> buckets;                           // the members of each loop
    std::array<std::uint64_t, kProtocolKinds> per_kind{};  // members of each protocol kind
    std::vector<const Encoder*> encoders;                  // the distinct encoders
  };
  // The audience of `group` (built now if it is not cached); null when the group has no member.
  // Requires mutex_ held.
  std::shared_ptr<const Audience> audience_locked(const std::string& group) const;
  // The membership of `group` changed: its audience is rebuilt on the next publication.
  void forget_audience_locked(const std::string& group) const { audiences_.erase(group); }
  // Delivers to a group's audience (no exclusions, no filter).
  void deliver_to(std::shared_ptr<const Audience> audience, const SharedMessage& message);
  // Delivers to snapshotted recipients.
  void deliver_to(std::vector<Recipient> recipients, const Publication& publication);
  // Delivers to members [begin, end) of `audience` / recipients [begin, end), with the frames
  // encoded for them (any thread; touches nothing of the hub).
  static void deliver_members(const Audience& audience, const Frames& frames,
                              const Message& message, std::size_t begin, std::size_t end);
  static void deliver_recipients(const std::vector<Recipient>& recipients, const Frames& frames,
                                 const Message& message, bool logged, std::uint64_t log_seq,
                                 std::size_t begin, std::size_t end);
  // Whether every bucket is delivered inline (see fan_out): nothing needs posting.
  bool all_inline(const std::vector<Bucket>& buckets) const;
  // Runs `deliver(begin, end)` for each bucket: posted once to each loop other than the calling
  // thread's, then inline for the calling thread's loop and for clients of no loop.
  template <class Deliver>
  void fan_out(const std::vector<Bucket>& buckets, const Deliver& deliver);
  // The runs of `items` (sorted by their `loop`) on each loop.
  template <class Items>
  static std::vector<Bucket> buckets_of(const Items& items);
  void trace(const char* kind, const ConnId& id, const std::optional<std::string>& user,
             std::string detail) const;

  // The live clients in a scope (all, a group, a user, a connection), less `excluded`, that
  // match `filter` (when not null). Requires mutex_ held.
  void snapshot_locked(Scope scope, const std::string& target, const std::vector<ConnId>& excluded,
                       const protocol::odata::Filter* filter, std::vector<Recipient>& out) const;
  void collect_locked(const ConnId& id, const std::vector<ConnId>& excluded,
                      const protocol::odata::Filter* filter, std::vector<Recipient>& out) const;
  // Closes every client in a scope (snapshotted under the lock, closed after it).
  void close_scope(Scope scope, const std::string& target, const std::vector<ConnId>& excluded,
                   std::uint16_t code, const std::string& reason);
  // All require mutex_ held.
  bool matches_locked(const ConnId& id, const State& state,
                      const protocol::odata::Filter& filter) const;
  // Joins `group` unless the connection is in max_groups_per_connection other groups already
  // (false then). Token groups, REST and client joins all pass through here.
  bool join_locked(State& state, const std::string& group);
  void leave_locked(const ConnId& id, const std::string& group);
  // Leaves every group of `id`, unsubscribing from those now empty.
  void leave_all_locked(const ConnId& id);
  void notify_left_locked(const ConnId& id, const std::string& group) const;

  const std::string name_;
  Broker& broker_;
  const HubLimits limits_;
  std::unique_ptr<Metrics> own_metrics_;  // when the node gave none
  Metrics& metrics_;
  HubStats& stats_;
  Loops* const loops_;

  mutable std::mutex mutex_;
  std::unordered_map<ConnId, State> connections_;
  SubscriptionIndex index_;
  // Groups published to since their last membership change (see audience_locked).
  mutable std::unordered_map<std::string, std::shared_ptr<const Audience>> audiences_;
};

}  // namespace wps::core
