#include "app/server.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <cstdlib>
#include <stdexcept>
#include <thread>

#include "core/memory_broker.hpp"
#include "ops/ops_server.hpp"
#include "redis/broker.hpp"
#include "transport/tls.hpp"
#include "util/log.hpp"

namespace wps::app {

namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {
core::HubLimits hub_limits(const config::Config& config) {
  core::HubLimits limits;
  limits.max_connections_per_user = config.limits.max_connections_per_user;
  limits.max_groups_per_connection = config.limits.max_groups_per_connection;
  return limits;
}

std::unique_ptr<core::Broker> make_broker(const config::Config& config, net::io_context& ioc) {
  if (config.redis_url.empty())
    return std::make_unique<core::MemoryBroker>();
  std::string error;
  auto url = config::parse_redis_url(config.redis_url, error);
  if (!url)
    throw std::runtime_error("redis-url: " + error);
  return std::make_unique<redis::RedisBroker>(ioc,
                                              redis::BrokerOptions(std::move(*url), config.limits));
}

std::vector<tcp::endpoint> resolve(const std::string& host, std::uint16_t port) {
  std::vector<tcp::endpoint> endpoints;
  if (host == "localhost") {
    endpoints.emplace_back(net::ip::address_v4::loopback(), port);
    endpoints.emplace_back(net::ip::address_v6::loopback(), port);
    return endpoints;
  }
  boost::system::error_code ec;
  const auto address = net::ip::make_address(host, ec);
  if (!ec) {
    endpoints.emplace_back(address, port);
    return endpoints;
  }
  net::io_context ioc;
  tcp::resolver resolver(ioc);
  auto results = resolver.resolve(host, std::to_string(port), ec);
  if (ec)
    throw std::runtime_error("host: cannot resolve '" + host + "': " + ec.message());
  for (const auto& entry : results)
    endpoints.push_back(entry.endpoint());
  return endpoints;
}
}  // namespace

bool is_loopback_host(const std::string& host) {
  try {
    const auto endpoints = resolve(host, 0);
    if (endpoints.empty())
      return false;
    for (const auto& endpoint : endpoints)
      if (!endpoint.address().is_loopback())
        return false;
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

Server::Server(config::Config config)
    : config_(std::move(config)),
      threads_(config_.threads != 0 ? config_.threads
                                    : std::max(1u, std::thread::hardware_concurrency())),
      loops_(threads_),
      ioc_(loops_.loop(0)),
      broker_(make_broker(config_, ioc_)),
      redis_(dynamic_cast<redis::RedisBroker*>(broker_.get())),
      node_(*broker_, hub_limits(config_), config_.limits.metrics_max_hubs),
      handlers_(config_, node_),
      endpoints_(handlers_),
      context_(config_, endpoints_),
      rest_api_(config_, node_),
      signals_(ioc_, SIGINT, SIGTERM),
      hangup_(ioc_, SIGHUP),
      shutdown_timer_(ioc_) {
  // One thread per loop: connections use their loop's executor directly and cork their sends.
  context_.single_threaded = true;
  node_.set_loops(&loops_);
  context_.metrics = &node_.metrics();
  context_.rest_handler = [this](const transport::HttpRequest& request) {
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    return rest_api_.handle(request, now);
  };
  if (redis_ != nullptr) {
    redis_->set_node(node_);
    node_.set_cluster(redis_);
    if (config_.limits.cluster_session_recovery) {
      redis_->set_session_listener(handlers_.taken_sessions);
      handlers_.session_store = redis_;
    }
    rest_pool_ = std::make_unique<net::thread_pool>(config_.limits.cluster_rest_threads);
    context_.rest_offload = [this](std::function<void()> work) {
      net::post(*rest_pool_, std::move(work));
    };
  }
}

Server::~Server() = default;

void Server::setup_tls() {
  tls_cert_file_ = config_.tls_cert_file;
  tls_key_file_ = config_.tls_key_file;
  if (config_.tls_self_signed) {
    std::filesystem::path dir = config_.tls_self_signed_dir;
    if (dir.empty()) {
      const char* home = std::getenv("HOME");
      dir = std::filesystem::path(home != nullptr && *home != '\0' ? home : ".") / ".local" /
            "share" / "webpubsub-server" / "tls";
    }
    tls_cert_file_ = (dir / "localhost-cert.pem").string();
    tls_key_file_ = (dir / "localhost-key.pem").string();
    const bool made = transport::ensure_self_signed_certificate(tls_cert_file_, tls_key_file_);
    tls_notice_ = std::string(made ? "Made" : "Using") +
                  " a self-signed development certificate for localhost: " + tls_cert_file_ +
                  "\nTrust it in clients, e.g. Node: NODE_EXTRA_CA_CERTS=" + tls_cert_file_ +
                  "  Python (requests/azure SDK): REQUESTS_CA_BUNDLE=" + tls_cert_file_ +
                  "  curl: --cacert " + tls_cert_file_ + "\n";
  }
  if (tls_cert_file_.empty())
    return;
  context_.set_tls_context(transport::make_server_tls_context(tls_cert_file_, tls_key_file_));
}

void Server::reload_tls() {
  try {
    context_.set_tls_context(transport::make_server_tls_context(tls_cert_file_, tls_key_file_));
    WPS_LOG(info, "server") << "SIGHUP: reloaded the TLS certificate " << tls_cert_file_;
  } catch (const std::exception& e) {
    WPS_LOG(warn, "server") << "SIGHUP: keeping the current TLS certificate: " << e.what();
  }
}

void Server::wait_for_hangup() {
  hangup_.async_wait([this](const boost::system::error_code& ec, int) {
    if (ec || shutting_down_)
      return;
    if (!tls_cert_file_.empty())
      reload_tls();
    else
      WPS_LOG(info, "server") << "SIGHUP: no TLS certificate to reload";
    wait_for_hangup();
  });
}

void Server::start() {
  setup_tls();
  const auto endpoints = resolve(config_.host, config_.port);
  std::uint16_t port = config_.port;
  std::string first_error;
  for (const tcp::endpoint& configured : endpoints) {
    // With port 0 every address shares the port the first one was given.
    const tcp::endpoint endpoint(configured.address(), port);
    try {
      auto listener = std::make_shared<transport::Listener>(ioc_, endpoint, context_, &loops_);
      port = listener->local_endpoint().port();
      listeners_.push_back(std::move(listener));
    } catch (const boost::system::system_error& e) {
      // "localhost" also tries ::1, which may be unavailable; any one address is enough.
      if (first_error.empty())
        first_error = endpoint.address().to_string() + ":" + std::to_string(endpoint.port()) +
                      ": " + e.code().message();
      WPS_LOG(debug, "server") << "cannot listen on " << endpoint << ": " << e.code().message();
    }
  }
  if (listeners_.empty())
    throw std::runtime_error("cannot listen on " + first_error);
  port_ = port;
  const auto& address = listeners_.front()->local_endpoint().address();
  if (config_.host == "localhost" || address.is_unspecified()) {
    endpoint_host_ = "localhost";
  } else if (address.is_v6()) {
    endpoint_host_ = "[" + address.to_string() + "]";
  } else {
    endpoint_host_ = address.to_string();
  }
  // Event handlers see this host as WebHook-Request-Origin (the service sends its own host).
  std::string origin = endpoint_host_ + ":" + std::to_string(port_);
  if (!config_.public_origin.empty()) {
    const auto scheme_end = config_.public_origin.find("://");
    origin = scheme_end == std::string::npos ? config_.public_origin
                                             : config_.public_origin.substr(scheme_end + 3);
  }
  dispatcher_ =
      std::make_unique<webhook::Dispatcher>(ioc_.get_executor(), config_, std::move(origin));
  dispatcher_->set_metrics(&node_.metrics());
  handlers_.upstream = dispatcher_.get();
  if (config_.metrics_port != 0) {
    ops_ = std::make_unique<ops::OpsServer>(ioc_, config_, node_,
                                            !is_loopback_host(config_.metrics_host));
    ops_->start(resolve(config_.metrics_host, config_.metrics_port));
  }
  for (auto& listener : listeners_) {
    WPS_LOG(info, "server") << "listening on " << listener->local_endpoint();
    listener->run();
  }
}

std::string Server::connection_string() const {
  return std::string("Endpoint=") + (tls_cert_file_.empty() ? "http://" : "https://") +
         endpoint_host_ + ":" + std::to_string(port_) + ";AccessKey=" + config_.primary_key +
         ";Version=1.0;";
}

void Server::watch_config(std::string path, Reloader reload) {
  watched_path_ = std::move(path);
  reload_ = std::move(reload);
  std::error_code ec;
  const auto mtime = std::filesystem::last_write_time(watched_path_, ec);
  if (!ec)
    watched_mtime_ = mtime;
  watch_timer_ = std::make_unique<net::steady_timer>(ioc_);
  check_config();
}

void Server::check_config() {
  watch_timer_->expires_after(std::chrono::seconds(1));
  watch_timer_->async_wait([this](const boost::system::error_code& ec) {
    if (ec || shutting_down_)
      return;
    std::error_code fs_ec;
    const auto mtime = std::filesystem::last_write_time(watched_path_, fs_ec);
    if (!fs_ec && (!watched_mtime_ || mtime != *watched_mtime_)) {
      watched_mtime_ = mtime;
      std::string error;
      if (auto fresh = reload_(error)) {
        if (dispatcher_)
          dispatcher_->update_settings(fresh->default_hub, fresh->hubs);
        WPS_LOG(info, "server") << "reloaded event handlers from " << watched_path_;
      } else {
        WPS_LOG(warn, "server") << "config change ignored: " << error;
      }
    }
    check_config();
  });
}

void Server::run() {
  signals_.async_wait([this](const boost::system::error_code& ec, int signal) {
    if (ec)
      return;
    WPS_LOG(info, "server") << "signal " << signal << ": shutting down";
    shutdown();
  });
  wait_for_hangup();
  loops_.run();
}

void Server::shutdown() {
  net::post(ioc_, [this] {
    if (shutting_down_)
      return;
    shutting_down_ = true;
    boost::system::error_code ec;
    signals_.cancel(ec);
    hangup_.cancel(ec);
    if (watch_timer_)
      watch_timer_->cancel();
    for (auto& listener : listeners_)
      listener->stop();
    if (ops_)
      ops_->stop();
    // Going away (1001), not 1008: reliable clients may recover on another node.
    node_.close_all(1001, "The server is shutting down.");
    if (redis_ != nullptr)
      redis_->stop();
    wait_for_clients(std::chrono::steady_clock::now() + config_.limits.shutdown_grace);
  });
}

void Server::wait_for_clients(std::chrono::steady_clock::time_point deadline) {
  // Done when every client took its close and the `disconnected` events of the closed clients
  // reached their handlers (a client's event is queued before its socket is counted as gone).
  const std::size_t open = context_.open_websockets.load();
  const std::size_t events = dispatcher_ ? dispatcher_->pending_system_events() : 0;
  if ((open == 0 && events == 0) || std::chrono::steady_clock::now() >= deadline) {
    WPS_LOG(info, "server") << "stopped (" << open << " connections, " << events
                            << " handler events left)";
    // What the grace period did not cover ends here.
    if (dispatcher_)
      dispatcher_->stop();
    loops_.stop();
    return;
  }
  shutdown_timer_.expires_after(std::chrono::milliseconds(20));
  shutdown_timer_.async_wait([this, deadline](const boost::system::error_code& ec) {
    if (!ec)
      wait_for_clients(deadline);
  });
}

}  // namespace wps::app
