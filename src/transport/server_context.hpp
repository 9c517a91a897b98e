#pragma once
// What every session of one server shares: the immutable config, the core node, and counters.

#include <atomic>
#include <cstdint>

#include "config/config.hpp"
#include "core/node.hpp"

namespace wps::transport {

struct Counters {
  std::atomic<std::uint64_t> connections_opened{0};
  std::atomic<std::uint64_t> connections_closed{0};
  std::atomic<std::uint64_t> slow_consumer_closes{0};
  std::atomic<std::uint64_t> protocol_error_closes{0};
  std::atomic<std::uint64_t> handshakes_rejected{0};
};

struct ServerContext {
  ServerContext(const config::Config& cfg, core::Node& n) : config(cfg), node(n) {}
  const config::Config& config;
  core::Node& node;
  std::atomic<std::size_t> open_websockets{0};
  Counters counters;
};

}  // namespace wps::transport
