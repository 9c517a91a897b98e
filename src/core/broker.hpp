#pragma once
// How a node reaches the other nodes of a cluster. A hub delivers a publication to its own
// clients itself, then hands it to the Broker, which carries it to the other nodes with
// recipients; what other nodes publish arrives through BrokerHandler::on_publication. The
// in-memory broker (memory_broker.hpp, one node alone) carries nothing; the Redis broker
// (src/redis) is the cluster's.

#include <cstdint>
#include <string>
#include <vector>

#include "core/client.hpp"
#include "core/message.hpp"
#include "protocol/odata_filter.hpp"

namespace wps::core {

enum class Scope : std::uint8_t { all, group, user, connection };

// One message addressed to a scope of one hub.
struct Publication {
  std::string hub;  // lower-cased hub name
  Scope scope = Scope::all;
  std::string target;  // group name, user id or connection id (empty for Scope::all)
  SharedMessage message;
  std::vector<ConnId> excluded;  // connection ids that must not receive it
  // Only connections matching this OData filter receive it (in addition to the scope).
  std::shared_ptr<const protocol::odata::Filter> filter;
  // A broker that logs publications (Broker::logs_publications) numbers each in its hub's log;
  // 0: not logged. Reliable sessions use it as the sequenceId (core/session_store.hpp).
  std::uint64_t log_seq = 0;
  // A node's own publication coming back from the log: only its reliable sessions take it (the
  // others had it at once).
  bool loopback = false;
};

class BrokerHandler {
 public:
  virtual ~BrokerHandler() = default;
  // Called for every publication of another node, from any thread; must not block.
  virtual void on_publication(const Publication& publication) = 0;
};

class Broker {
 public:
  virtual ~Broker() = default;
  // Must be called once before publish(); `handler` outlives the broker's use of it.
  virtual void start(BrokerHandler& handler) = 0;
  // Carries `publication` to every other node with recipients (the publishing node has
  // delivered it to its own clients already). Per publisher, publications to one scope arrive
  // in order. Thread-safe, non-blocking; must not be called while holding a hub lock.
  virtual void publish(const Publication& publication) = 0;
  // Interest edges: the first local member of a group joined / the last one left. A broker that
  // routes by interest subscribes to the group's channel; the in-memory broker ignores them.
  virtual void subscribe_group(const std::string& hub, const std::string& group) = 0;
  virtual void unsubscribe_group(const std::string& hub, const std::string& group) = 0;
  // The same edges for users (first / last local connection of a user) and connections (added /
  // removed), so that sends to a user or a connection reach only the nodes that hold them.
  virtual void subscribe_user(const std::string& /*hub*/, const std::string& /*user*/) {}
  virtual void unsubscribe_user(const std::string& /*hub*/, const std::string& /*user*/) {}
  virtual void subscribe_connection(const std::string& /*hub*/, const ConnId& /*id*/) {}
  virtual void unsubscribe_connection(const std::string& /*hub*/, const ConnId& /*id*/) {}
  // Whether publications are numbered in a log that reliable sessions of every node replay
  // from (a cluster with session recovery). Then a hub delivers a publication to its reliable
  // sessions only once numbered: when it comes back from the log (loopback), or from another
  // node; the broker hands every publication back (loopback, unnumbered when the log could not
  // take it). False for the in-memory broker: nothing changes on a single node.
  virtual bool logs_publications() const { return false; }
};

}  // namespace wps::core
