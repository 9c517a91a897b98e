#pragma once
// What the handler tests share: a real Node and hub over a MemoryBroker, a handler::Context,
// a fake upstream (event handlers), fake sockets on an io_context the test runs, and handlers
// made the way Endpoints makes them.

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "core/memory_broker.hpp"
#include "core/node.hpp"
#include "handler/codec.hpp"
#include "handler/context.hpp"
#include "handler/pubsub_handler.hpp"
#include "handler/simple_handler.hpp"
#include "support/fake_socket.hpp"
#include "support/fake_upstream.hpp"

namespace wps::handler::test {

using wps::test::FakeSocket;
using wps::test::FakeUpstream;

// A test-name-friendly name of a protocol kind.
inline std::string kind_name(core::ProtocolKind kind) {
  switch (kind) {
    case core::ProtocolKind::simple:
      return "simple";
    case core::ProtocolKind::json:
      return "json";
    case core::ProtocolKind::json_reliable:
      return "json_reliable";
    case core::ProtocolKind::protobuf:
      return "protobuf";
    case core::ProtocolKind::protobuf_reliable:
      return "protobuf_reliable";
    case core::ProtocolKind::mqtt:
      return "mqtt";
  }
  return "unknown";
}

class HandlerFixture : public ::testing::Test {
 protected:
  ~HandlerFixture() override {
    // Sockets still open drop (they and their handlers hold each other until closed), and
    // what that posts runs before the io_context goes.
    for (auto& socket : sockets_)
      socket->drop();
    settle();
  }

  // The node and context, made on first use from `config` (tests tune its limits first).
  Context& context() {
    if (!context_) {
      core::HubLimits limits;
      limits.max_connections_per_user = config.limits.max_connections_per_user;
      limits.max_groups_per_connection = config.limits.max_groups_per_connection;
      node_ = std::make_unique<core::Node>(broker_, limits);
      context_ = std::make_unique<Context>(config, *node_);
      context_->upstream = &upstream;
    }
    return *context_;
  }
  std::shared_ptr<core::Hub> hub() { return context().node.hub("chat"); }

  // Who a client is: connection id, user, roles, token groups.
  struct Who {
    Who(std::string id_ = "c1", std::optional<std::string> user_ = std::nullopt,
        std::vector<std::string> roles_ = {}, std::vector<std::string> groups_ = {})
        : id(std::move(id_)),
          user(std::move(user_)),
          roles(std::move(roles_)),
          groups(std::move(groups_)) {}
    std::string id;
    std::optional<std::string> user;
    std::vector<std::string> roles;
    std::vector<std::string> groups;
  };
  Registration registration(core::ProtocolKind kind, Who who) {
    Registration r;
    r.hub = hub();
    r.id = std::move(who.id);
    r.user_id = std::move(who.user);
    r.kind = kind;
    r.roles = std::move(who.roles);
    r.groups = std::move(who.groups);
    return r;
  }
  std::shared_ptr<core::ConnectionEvents> events(const std::string& id,
                                                 const std::optional<std::string>& user) {
    core::ConnectionContext c;
    c.hub = "chat";
    c.connection_id = id;
    c.user_id = user;
    return std::make_shared<core::ConnectionEvents>(&upstream, std::move(c));
  }
  std::shared_ptr<PubSubHandler> pubsub(core::ProtocolKind kind, Who who) {
    auto ev = events(who.id, who.user);
    return std::make_shared<PubSubHandler>(context(), pubsub_codec(kind),
                                           registration(kind, std::move(who)), std::move(ev));
  }
  std::shared_ptr<SimpleHandler> simple(Who who) {
    auto ev = events(who.id, who.user);
    return std::make_shared<SimpleHandler>(
        context(), registration(core::ProtocolKind::simple, std::move(who)), std::move(ev));
  }

  // A socket carrying `handler`, not opened yet.
  std::shared_ptr<FakeSocket> socket(std::shared_ptr<Handler> handler) {
    auto s = FakeSocket::create(ioc, std::move(handler));
    sockets_.push_back(s);
    return s;
  }
  std::shared_ptr<FakeSocket> open(std::shared_ptr<Handler> handler) {
    auto s = socket(std::move(handler));
    s->open();
    return s;
  }

  // Runs what is ready on the io_context (posted work, due timers).
  void settle() {
    ioc.restart();
    ioc.poll();
  }
  // Runs the io_context for `d` (timers fire).
  void run_for(std::chrono::milliseconds d) {
    ioc.restart();
    ioc.run_for(d);
  }

  // A message from the hub (as REST sends it) to `scope`/`target`.
  void publish(core::Scope scope, const std::string& target, const std::string& text,
               std::chrono::steady_clock::time_point expires_at = {}) {
    auto m = std::make_shared<core::Message>();
    m->from = protocol::MessageSource::server;
    m->payload = {protocol::DataType::text, text};
    m->expires_at = expires_at;
    core::Publication p;
    p.hub = "chat";
    p.scope = scope;
    p.target = target;
    p.message = std::move(m);
    hub()->publish(p);
  }

  // Declared first, destroyed last: the handlers' timers and the sockets use it.
  boost::asio::io_context ioc{1};
  FakeUpstream upstream;
  config::Config config;

 private:
  core::MemoryBroker broker_;
  std::unique_ptr<core::Node> node_;
  std::unique_ptr<Context> context_;
  std::vector<std::shared_ptr<FakeSocket>> sockets_;
};

}  // namespace wps::handler::test
