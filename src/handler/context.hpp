#pragma once
// What the client-protocol handlers of one server share: the config, the node, the event
// handlers, the reliable sessions that may be resumed, and counters.

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "config/config.hpp"
#include "core/node.hpp"
#include "core/upstream.hpp"

namespace wps::handler {

class PubSubHandler;

struct Counters {
  std::atomic<std::uint64_t> protocol_error_closes{0};  // messages that could not be decoded
  std::atomic<std::uint64_t> recoveries{0};
  std::atomic<std::uint64_t> recoveries_refused{0};
  std::atomic<std::uint64_t> replay_overflows{0};
};

// The reliable sessions of this node, attached to a socket or waiting for their client to
// recover, by connection id. Thread-safe.
class Sessions {
 public:
  void add(const std::shared_ptr<PubSubHandler>& session);
  std::shared_ptr<PubSubHandler> find(const std::string& connection_id) const;
  // Removes `session` (not another session that took its id since).
  void remove(const PubSubHandler* session);
  std::size_t size() const;

 private:
  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::shared_ptr<PubSubHandler>> sessions_;
};

struct Context {
  Context(const config::Config& cfg, core::Node& n) : config(cfg), node(n) {}
  const config::Config& config;
  core::Node& node;
  // The hubs' event handlers; null when the server has none (tests), set before clients come.
  core::Upstream* upstream = nullptr;
  Sessions sessions;
  Counters counters;
};

}  // namespace wps::handler
