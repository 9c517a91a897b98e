#pragma once
// The whole server: owns the event loops and their threads, the core node and broker, and the
// listeners. Shutdown order is explicit: stop accepting, close every client, wait for them (up
// to Limits::shutdown_grace), stop the event loop.

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "api/rest_api.hpp"
#include "config/config.hpp"
#include "core/broker.hpp"
#include "core/node.hpp"
#include "handler/context.hpp"
#include "handler/endpoints.hpp"
#include "transport/event_loops.hpp"
#include "transport/listener.hpp"
#include "transport/server_context.hpp"
#include "webhook/dispatcher.hpp"

namespace wps::redis {
class RedisBroker;
}
namespace wps::ops {
class OpsServer;
}

namespace wps::app {

class Server {
 public:
  explicit Server(config::Config config);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Resolves and binds the listen address. Throws std::runtime_error with a readable message.
  void start();
  // The port actually bound (differs from the configured one when that was 0).
  std::uint16_t port() const { return port_; }
  // Runs the event loops, one per configured thread, until shutdown completes.
  // Handles SIGINT and SIGTERM by shutting down.
  void run();
  // Begins a graceful shutdown. Thread-safe.
  void shutdown();

  // "Endpoint=http://localhost:<port>;AccessKey=<key>;Version=1.0;" (https:// with TLS)
  std::string connection_string() const;
  // With --tls-self-signed: where the certificate is and how to trust it (printed at start).
  const std::string& tls_notice() const { return tls_notice_; }

  // Watches `path` (checked every second) and, when it changes, reloads the event-handler
  // settings with `reload` (the full loader: file + environment + flags). Other settings need a
  // restart. Call before run().
  using Reloader = std::function<std::optional<config::Config>(std::string& error)>;
  void watch_config(std::string path, Reloader reload);

 private:
  void wait_for_clients(std::chrono::steady_clock::time_point deadline);
  // Loads the TLS certificate and key (making the self-signed ones first if asked).
  void setup_tls();
  // SIGHUP: re-reads the certificate and key; on failure keeps serving the old ones.
  void reload_tls();
  void wait_for_hangup();
  void check_config();

  config::Config config_;
  // Event loops, one thread each (config threads, 0 = one per core).
  const unsigned threads_;
  // One event loop per thread (concurrency hint 1 each); connections are spread over them and
  // need no strand. Loop 0 also runs the listeners, signals, the broker, webhooks and ops.
  transport::EventLoops loops_;
  boost::asio::io_context& ioc_;  // loop 0
  // The in-memory broker, or the Redis one when redis_url is set (then redis_ points to it).
  std::unique_ptr<core::Broker> broker_;
  redis::RedisBroker* redis_ = nullptr;
  core::Node node_;
  // The client-protocol handlers' shared state and the client endpoints they serve.
  handler::Context handlers_;
  handler::Endpoints endpoints_;
  transport::ServerContext context_;
  api::RestApi rest_api_;
  std::unique_ptr<webhook::Dispatcher> dispatcher_;
  // Cluster only: where REST calls run (declared after what they use, so joined first).
  std::unique_ptr<boost::asio::thread_pool> rest_pool_;
  std::vector<std::shared_ptr<transport::Listener>> listeners_;
  // The operations listener (--metrics-port), when on.
  std::unique_ptr<ops::OpsServer> ops_;
  boost::asio::signal_set signals_;
  boost::asio::signal_set hangup_;
  std::string tls_cert_file_;
  std::string tls_key_file_;
  std::string tls_notice_;
  boost::asio::steady_timer shutdown_timer_;
  std::uint16_t port_ = 0;
  std::string endpoint_host_;
  bool shutting_down_ = false;
  std::string watched_path_;
  Reloader reload_;
  std::optional<std::filesystem::file_time_type> watched_mtime_;
  std::unique_ptr<boost::asio::steady_timer> watch_timer_;
};

// Whether `host` (a name or an address literal) resolves only to loopback addresses.
bool is_loopback_host(const std::string& host);

}  // namespace wps::app
