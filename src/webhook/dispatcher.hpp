#pragma once
// Upstream event handlers (spec §8): CloudEvents over HTTP (binary mode) to the handlers a hub's
// settings list, with abuse-protection validation, signatures, connection state and cookies,
// timeouts and retries. The core and the transport call this interface; it calls them back
// through the completion functions, never while holding its own locks.

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
#include "protocol/messages.hpp"
#include "webhook/options.hpp"

namespace wps::webhook {

// What every event carries about its connection.
struct ConnectionContext {
  std::string hub;  // lower-cased hub name (sent as ce-hub)
  std::string connection_id;
  std::optional<std::string> user_id;
  std::string subprotocol;  // empty when none
  // ce-connectionState last set by a handler (spec §8.9); empty optional when never set.
  std::optional<std::string> state;
  // Cookies set by the handler (Set-Cookie), replayed as one Cookie header ("a=1; b=2").
  std::string cookies;
};

using Multimap = std::map<std::string, std::vector<std::string>>;

// Body of the `connect` event (spec §8.5). Every value is a list of strings.
struct ConnectRequest {
  Multimap claims;
  Multimap query;    // without access_token
  Multimap headers;  // without Authorization
  std::vector<std::string> subprotocols;
};

struct ConnectResult {
  // Accepted: the fields the handler chose to override. Rejected: `status` for the client.
  bool accepted = false;
  unsigned status = 500;
  std::string error;  // why it was rejected (for logs; never sent to the client)
  std::optional<std::string> user_id;
  std::optional<std::vector<std::string>> groups;
  std::optional<std::vector<std::string>> roles;
  std::optional<std::string> subprotocol;
  std::optional<std::string> state;  // new ce-connectionState, when the response set one
  std::string cookies;               // Cookie header value to replay later
};

struct UserEventResult {
  bool ok = false;
  std::string error;                       // when !ok (for logs and acks)
  std::optional<protocol::Payload> reply;  // a non-empty 2xx body, typed by its Content-Type
  std::optional<std::string> state;        // new ce-connectionState, when set
  std::string cookies;
};

class Dispatcher {
 public:
  // `executor`: where HTTP I/O runs. `origin`: the service host sent as WebHook-Request-Origin.
  // `config`: the access keys (for ce-signature), the hubs' handler settings and, through
  // DispatcherOptions, the timeouts, retry delays and caps of config::Limits.
  Dispatcher(boost::asio::any_io_executor executor, const config::Config& config,
             std::string origin);
  // The same with options changed from the config's (tests: short timeouts and delays).
  Dispatcher(boost::asio::any_io_executor executor, const config::Config& config,
             std::string origin, DispatcherOptions options);
  ~Dispatcher();
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  // Replaces the hub/handler settings (config reload); handlers are validated again before
  // their next use. Thread-safe.
  void update_settings(const config::HubSettings& default_hub,
                       const std::map<std::string, config::HubSettings>& hubs);

  // Whether a handler of `hub` takes the system event `connect`/`connected`/`disconnected`, the
  // group presence event `joined`/`left`, or the user event `event` (user == true).
  // Thread-safe, cheap.
  bool has_handler(const std::string& hub, std::string_view event, bool user) const;

  // Blocking events: `done` is called exactly once, on an arbitrary thread, with the outcome;
  // after the configured timeout at the latest (failure). Unreachable, non-2xx (connect: 4xx
  // relayed, 5xx -> 500), invalid body, or a handler that failed validation -> failure.
  void connect(ConnectionContext context, ConnectRequest request,
               std::function<void(ConnectResult)> done);
  void user_event(ConnectionContext context, std::string event, protocol::Payload payload,
                  std::function<void(UserEventResult)> done);

  // Non-blocking events: delivered in order per connection (disconnected after connected),
  // retried on 408/5xx/network errors after the configured delays (Limits::
  // event_handler_retry_delays: 1, 3, 5 s), failures only logged.
  void connected(ConnectionContext context);
  void disconnected(ConnectionContext context, std::string reason);
  // Group presence (spec §8.8): the connection joined or left `group`; queued with the
  // connection's connected/disconnected events, so a handler sees them in order.
  void group_presence(ConnectionContext context, bool joined, std::string group);

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
