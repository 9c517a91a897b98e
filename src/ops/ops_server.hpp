#pragma once
// The operations listener (docs/OPERATIONS.md), apart from the client and REST port:
//   GET /metrics        the Prometheus text format (ops/prometheus.hpp)
//   GET /               the overview page; GET /overview.json what it polls
//   GET /trace          the live trace page; GET /trace/events its server-sent events
// Off loopback every path needs a token signed with an access key (aud "webpubsub-ops"), as
// ?access_token= or Authorization: Bearer.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <memory>
#include <vector>

#include "config/config.hpp"
#include "core/node.hpp"

namespace wps::ops {

inline constexpr std::string_view kTokenAudience = "webpubsub-ops";

class OpsServer {
 public:
  // `require_token`: the listener is not on loopback.
  OpsServer(boost::asio::io_context& ioc, const config::Config& config, core::Node& node,
            bool require_token);
  ~OpsServer();
  OpsServer(const OpsServer&) = delete;
  OpsServer& operator=(const OpsServer&) = delete;

  // Binds every endpoint (port 0: the first one's port for all); throws on failure of all.
  void start(const std::vector<boost::asio::ip::tcp::endpoint>& endpoints);
  std::uint16_t port() const { return port_; }
  // Stops accepting and ends the live trace streams. Call on the event loop.
  void stop();

  struct Shared;

 private:
  std::shared_ptr<Shared> shared_;
  std::uint16_t port_ = 0;
};

}  // namespace wps::ops
