#pragma once
// What every session of one server shares: the immutable config, the core node, and counters.

#include <atomic>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "config/config.hpp"
#include "core/node.hpp"

namespace wps::transport {

struct Counters {
  std::atomic<std::uint64_t> connections_opened{0};
  std::atomic<std::uint64_t> connections_closed{0};
  std::atomic<std::uint64_t> slow_consumer_closes{0};
  std::atomic<std::uint64_t> protocol_error_closes{0};
  std::atomic<std::uint64_t> handshakes_rejected{0};
  std::atomic<std::uint64_t> recoveries{0};
  std::atomic<std::uint64_t> recoveries_refused{0};
  std::atomic<std::uint64_t> replay_overflows{0};
};

using HttpRequest = boost::beast::http::request<boost::beast::http::string_body>;
using HttpResponse = boost::beast::http::response<boost::beast::http::string_body>;
// Answers a request under /api/ other than the health endpoint. Called on any thread; must not
// block. Set once before the listeners start.
using RestHandler = std::function<HttpResponse(const HttpRequest&)>;

class ReliableConnection;
}  // namespace wps::transport
namespace boost::asio::ssl {
class context;
}
namespace wps::webhook {
class Dispatcher;
}
namespace wps::transport {

struct ServerContext {
  ServerContext(const config::Config& cfg, core::Node& n) : config(cfg), node(n) {}
  const config::Config& config;
  core::Node& node;
  RestHandler rest_handler;
  // When set, REST requests are answered on the executor it posts to instead of the event loop:
  // in a cluster, management calls wait for the other nodes' replies.
  std::function<void(std::function<void()>)> rest_offload;
  // Upstream event handlers; null until the server has started.
  webhook::Dispatcher* dispatcher = nullptr;
  std::atomic<std::size_t> open_websockets{0};
  // One thread runs the event loop: connections use its executor directly instead of a strand
  // each (handlers cannot run concurrently anyway; posting from other threads stays safe).
  bool single_threaded = false;
  Counters counters;

  // TLS: the server context new connections use (replaced on SIGHUP); null = plain TCP.
  std::shared_ptr<boost::asio::ssl::context> tls_context() const {
    std::lock_guard lock(tls_mutex);
    return tls;
  }
  void set_tls_context(std::shared_ptr<boost::asio::ssl::context> context) {
    std::lock_guard lock(tls_mutex);
    tls = std::move(context);
  }
  mutable std::mutex tls_mutex;
  std::shared_ptr<boost::asio::ssl::context> tls;

  // Logical connections of reliable clients, attached or waiting for recovery, by connection id.
  std::mutex reliable_mutex;
  std::unordered_map<std::string, std::shared_ptr<ReliableConnection>> reliable_connections;
};

}  // namespace wps::transport
