#pragma once
// What every HTTP and WebSocket connection of one server shares: the config, where upgrades and
// REST requests go, and counters.

#include <atomic>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>

#include "config/config.hpp"
#include "core/metrics.hpp"

namespace boost::asio::ssl {
class context;
}
namespace wps::handler {
class Endpoints;
}

namespace wps::transport {

struct Counters {
  std::atomic<std::uint64_t> connections_opened{0};
  std::atomic<std::uint64_t> connections_closed{0};
  std::atomic<std::uint64_t> slow_consumer_closes{0};
  std::atomic<std::uint64_t> protocol_error_closes{0};  // frames that break RFC 6455
  std::atomic<std::uint64_t> handshakes_rejected{0};
};

using HttpRequest = boost::beast::http::request<boost::beast::http::string_body>;
using HttpResponse = boost::beast::http::response<boost::beast::http::string_body>;
// Answers a request under /api/ other than the health endpoint. Called on any thread; must not
// block. Set once before the listeners start.
using RestHandler = std::function<HttpResponse(const HttpRequest&)>;

struct ServerContext {
  ServerContext(const config::Config& cfg, handler::Endpoints& e) : config(cfg), endpoints(e) {}
  const config::Config& config;
  // Decides WebSocket upgrades of the client endpoints and gives each its protocol handler.
  handler::Endpoints& endpoints;
  RestHandler rest_handler;
  // When set, REST requests are answered on the executor it posts to instead of the event loop:
  // in a cluster, management calls wait for the other nodes' replies.
  std::function<void(std::function<void()>)> rest_offload;
  std::atomic<std::size_t> open_websockets{0};
  // Sends made on a connection's own loop thread are corked (queued at once, written once per
  // turn of the loop); otherwise every send goes through the connection's inbox and a posted
  // drain. Either way one thread runs each event loop (EventLoops).
  bool single_threaded = false;
  Counters counters;
  // The node's counters (webpubsub_connections_closed_total); null in tests without a node.
  core::Metrics* metrics = nullptr;

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
};

}  // namespace wps::transport
