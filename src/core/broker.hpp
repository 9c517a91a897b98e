#pragma once
// How a node reaches the other nodes of a cluster. The core publishes every delivery through a
// Broker and receives deliveries (its own included) through BrokerHandler::on_publication; the
// in-memory broker (memory_broker.hpp) loops them straight back, a Redis broker will fan them out.

#include <string>
#include <vector>

#include "core/connection.hpp"
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
};

class BrokerHandler {
 public:
  virtual ~BrokerHandler() = default;
  // Called for every publication, from any thread; must not block.
  virtual void on_publication(const Publication& publication) = 0;
};

class Broker {
 public:
  virtual ~Broker() = default;
  // Must be called once before publish(); `handler` outlives the broker's use of it.
  virtual void start(BrokerHandler& handler) = 0;
  // Delivers `publication` to every node with recipients (this one included). Per publisher,
  // publications to one scope are delivered in order. Thread-safe; must not be called while
  // holding a hub lock (the in-memory broker delivers synchronously).
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
};

}  // namespace wps::core
