#pragma once
// Upstream event handlers (spec §8): CloudEvents over HTTP (binary mode) to the handlers a hub's
// settings list, with abuse-protection validation, signatures, connection state and cookies,
// timeouts and retries. It implements core::Upstream, which the client-protocol handlers call; it
// answers through the completion functions, never while holding its own locks.

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "core/metrics.hpp"
#include "core/upstream.hpp"
#include "protocol/messages.hpp"
#include "webhook/options.hpp"

namespace wps::webhook {

// The event types are the core's (core/upstream.hpp); the dispatcher delivers them over HTTP.
using core::ConnectionContext;
using core::ConnectRequest;
using core::ConnectResult;
using core::Multimap;
using core::UserEventResult;

class Dispatcher final : public core::Upstream {
 public:
  // `executor`: where HTTP I/O runs. `origin`: the service host sent as WebHook-Request-Origin.
  // `config`: the access keys (for ce-signature), the hubs' handler settings and, through
  // DispatcherOptions, the timeouts, retry delays and caps of config::Limits.
  Dispatcher(boost::asio::any_io_executor executor, const config::Config& config,
             std::string origin);
  // The same with options changed from the config's (tests: short timeouts and delays).
  Dispatcher(boost::asio::any_io_executor executor, const config::Config& config,
             std::string origin, DispatcherOptions options);
  ~Dispatcher() override;
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  // Where calls of the handlers are counted and traced (the node's metrics); call before the
  // first event.
  void set_metrics(core::Metrics* metrics);

  // Replaces the hub/handler settings (config reload); handlers are validated again before
  // their next use. Thread-safe.
  void update_settings(const config::HubSettings& default_hub,
                       const std::map<std::string, config::HubSettings>& hubs);

  // Whether a handler of `hub` takes the system event `connect`/`connected`/`disconnected`, the
  // group presence event `joined`/`left`, or the user event `event` (user == true).
  // Thread-safe, cheap.
  bool has_handler(const std::string& hub, std::string_view event, bool user) const override;

  // Blocking events: `done` is called exactly once, on an arbitrary thread, with the outcome;
  // after the configured timeout at the latest (failure). Unreachable, non-2xx (connect: 4xx
  // relayed, 5xx -> 500), invalid body, or a handler that failed validation -> failure.
  void connect(ConnectionContext context, ConnectRequest request,
               std::function<void(ConnectResult)> done) override;
  void user_event(ConnectionContext context, std::string event, protocol::Payload payload,
                  std::function<void(UserEventResult)> done) override;

  // Non-blocking events: delivered in order per connection (disconnected after connected),
  // retried on 408/5xx/network errors after the configured delays (Limits::
  // event_handler_retry_delays: 1, 3, 5 s), failures only logged.
  void connected(ConnectionContext context) override;
  void disconnected(ConnectionContext context, std::string reason) override;
  // Group presence (spec §8.8): the connection joined or left `group`; queued with the
  // connection's connected/disconnected events, so a handler sees them in order.
  void group_presence(ConnectionContext context, bool joined, std::string group) override;

  // Connected/disconnected/presence events queued or being delivered, retries included (a
  // shutdown waits for them to reach their handlers before stop()). Thread-safe.
  std::size_t pending_system_events() const;

  // Stops retries and pending requests (shutdown). Thread-safe.
  void stop();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace wps::webhook
