#pragma once
// Reliable sessions that outlive their node (docs/CLUSTER.md, "Reliable sessions"). In a cluster
// every publication is numbered in its hub's log (Publication::log_seq) and a reliable session's
// state is kept where every node can read it, so that its client may resume it on any node: that
// node claims the session (the node that held it drops it, silently), registers it in its own
// hub and replays the log after the client's last acknowledgement. The sequenceIds the client
// sees are the log's numbers, the same on every node, so a message delivered twice during a
// handover is the same message with the same id (and the client drops the second copy).
//
// A single node has no SessionStore (Context::session_store is null) and numbers each session's
// messages itself, as before. The Redis layer implements it (src/redis).

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/broker.hpp"
#include "core/client.hpp"

namespace wps::core {

// What another node needs to carry on a reliable session.
struct SessionState {
  std::string hub;  // lower-cased
  ConnId connection_id;
  std::optional<std::string> user_id;
  ProtocolKind kind = ProtocolKind::json_reliable;
  std::vector<std::string> roles;      // the token's (or connect handler's) roles
  std::vector<std::string> groups;     // the groups the connection is in
  std::vector<std::uint64_t> ack_ids;  // successful ackIds (Duplicate answers), oldest first
  std::uint64_t acked = 0;             // the client's last sequenceAck: a log sequence number
  std::string token;                   // the reconnection token
};

// A session claimed by this node, and where its replay starts.
struct ClaimedSession {
  SessionState state;
  std::uint64_t replay_after = 0;  // replay the log entries numbered above this
};

// One entry of a hub's log.
struct LoggedPublication {
  std::uint64_t seq = 0;
  Publication publication;
};

class SessionListener {
 public:
  virtual ~SessionListener() = default;
  // Another node resumed (claimed) a session this node holds: drop it without any event. Any
  // thread.
  virtual void on_session_taken(const std::string& hub, const ConnId& id) = 0;
};

class SessionStore {
 public:
  virtual ~SessionStore() = default;
  // Must be called once before the first session; `listener` outlives the store's use of it.
  virtual void set_session_listener(SessionListener& listener) = 0;
  // Saves the state of a session this node holds (unless another node claimed it since: then
  // the listener hears of it). Kept for the recovery window after the last save; re-saved
  // periodically and after the store reconnects. Thread-safe, non-blocking.
  virtual void save(const SessionState& state) = 0;
  // The session ended for good (closed, window expired): forgets it.
  virtual void remove(const std::string& hub, const ConnId& id) = 0;
  // Claims session `id` of `hub` for this node if `token` is its reconnection token; `done`
  // (any thread) gets it, or nullopt (unknown, expired, wrong token, store unreachable).
  virtual void claim(const std::string& hub, const ConnId& id, const std::string& token,
                     std::function<void(std::optional<ClaimedSession>)> done) = 0;
  // `done` (any thread) once every broker subscription requested before this call is in
  // effect: publications made from then on reach this node live.
  virtual void when_subscribed(std::function<void()> done) = 0;
  // The entries of `hub`'s log numbered above `after`, oldest first; `complete` is false when
  // the log could not be read or lost entries the session needs (trimmed).
  virtual void replay(
      const std::string& hub, std::uint64_t after,
      std::function<void(std::vector<LoggedPublication> entries, bool complete)> done) = 0;
};

}  // namespace wps::core
