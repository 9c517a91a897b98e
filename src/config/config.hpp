#pragma once
// Everything the server can be configured with, in one place. Every field has a default and a
// one-line reason. Loaded by load_config() (loader.hpp) from, in increasing precedence:
// built-in defaults < config file (JSON) < environment variables (WPS_*) < command-line flags.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace wps::config {

// The emulator's well-known development key (public; local use only).
inline constexpr const char* kDevelopmentAccessKey = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ABCDEFGH";

// Every limit and timeout of the server.
struct Limits {
  // 1 MiB: the service's documented maximum WebSocket message (spec §10.1).
  std::size_t max_message_bytes = 1024 * 1024;
  // Outgoing bytes queued per connection before it is closed as a slow consumer: the
  // emulator's outbound queue (16 MiB).
  std::size_t max_pending_bytes = 16 * 1024 * 1024;
  // Outgoing messages queued per connection before it is closed as a slow consumer (emulator:
  // 1000).
  std::size_t max_pending_messages = 1000;
  // Time allowed from TCP accept to a complete HTTP request / WebSocket handshake, and for a
  // close the server started to complete before the TCP connection is dropped.
  std::chrono::milliseconds handshake_timeout{10'000};
  // WebSocket keep-alive ping interval (service default 20 s, range 1..120, spec §6.6). A
  // connection silent for twice this long is closed.
  std::chrono::milliseconds keep_alive_interval{20'000};
  // Keep-alive HTTP connections idle longer than this are closed.
  std::chrono::milliseconds http_idle_timeout{60'000};
  // Write coalescing under load (one event-loop thread): once the writes of a window reached
  // write_coalesce_min_writes connections, further frames wait for the window's end and leave
  // together, one write per connection for all of them. A quiet server writes at once; a busy
  // one adds at most one window of latency and saves a syscall per delivery per publication it
  // batches. 0 turns it off. docs/CONFIGURATION.md and docs/BENCHMARKS.md say what it buys.
  std::chrono::milliseconds write_coalesce_window{10};
  std::size_t write_coalesce_min_writes = 1000;

  // Largest HTTP request header block accepted (bytes).
  std::size_t max_http_header_bytes = 16 * 1024;
  // Largest HTTP request body accepted (bytes): one message plus slack.
  std::size_t max_http_body_bytes = 1024 * 1024;
  // Connections accepted in total / per hub (over it: 429 ConnectionCountLimitReached before
  // the upgrade); 0 means unlimited.
  std::size_t max_connections = 0;
  std::size_t max_connections_per_hub = 0;
  // Groups one connection may be in; 0 means unlimited.
  std::size_t max_groups_per_connection = 0;
  // Connections one user may hold in a hub; 0 means unlimited.
  std::size_t max_connections_per_user = 0;
  // Time given on shutdown to clients to receive what was sent to them and their close frame,
  // and to the queued disconnected events to reach their event handlers.
  std::chrono::milliseconds shutdown_grace{3'000};
  // How long a reliable connection whose socket dropped waits for its client to recover: the
  // service keeps at least 30 s and the how-to has clients retry for up to a minute (spec §6.4).
  std::chrono::milliseconds recovery_window{60'000};
  // Unacknowledged messages kept per reliable connection for replay; beyond either bound the
  // session ends with 1008 (service: 1000 messages or 16 MiB, spec §6.4).
  std::size_t max_replay_messages = 1000;
  std::size_t max_replay_bytes = 16 * 1024 * 1024;
  // Successful ackIds remembered per connection to answer a repeated one with `Duplicate`; the
  // oldest are forgotten first, so a client that never stops sending costs bounded memory.
  std::size_t max_remembered_ack_ids = 10'000;
  // Preview client features (spec §6.8, §6.9). Invocations one connection may have waiting for
  // the event handler at once; one more is answered BadRequest.
  std::size_t max_pending_invocations = 64;
  // Group streams one connection may have open at once; one more start is refused BadRequest.
  std::size_t max_open_streams_per_connection = 16;
  // Payload bytes of one stream fragment; a bigger one ends the stream (streamClosed BadRequest).
  std::size_t max_stream_chunk_bytes = 64 * 1024;
  // Time an event handler gets to answer a blocking event (connect, user events), retries
  // included; then the client is refused (500) or its event fails. The emulator allows 100 s;
  // 30 s keeps a stuck handler from holding clients that long.
  std::chrono::milliseconds event_handler_timeout{30'000};
  // Connections open at once to one event-handler origin (keep-alive pool); requests beyond it
  // wait for a connection within their own timeout. 0 = unlimited.
  std::size_t max_event_handler_connections = 256;
  // Time one attempt of a non-blocking event (connected, disconnected, group presence) gets; an
  // attempt that times out is not retried (emulator, spec §8.10).
  std::chrono::milliseconds event_handler_attempt_timeout{30'000};
  // Delays before the 2nd, 3rd, ... attempt of a non-blocking event whose handler answered 408 or
  // 5xx or could not be reached: the emulator's 1 s, 3 s, 5 s, at most 4 attempts (spec §8.10).
  std::vector<std::chrono::milliseconds> event_handler_retry_delays{
      std::chrono::milliseconds{1'000}, std::chrono::milliseconds{3'000},
      std::chrono::milliseconds{5'000}};
  // One abuse-protection request (OPTIONS, then GET on 404): the emulator's 10 s (spec §8.2).
  std::chrono::milliseconds event_handler_validation_timeout{10'000};
  // A handler that failed validation is validated again at its next use after this long, so one
  // started after the server is not shut out until the next reload (a passed validation holds
  // until the settings are reloaded).
  std::chrono::milliseconds event_handler_validation_retry{10'000};
  // Largest response body read from an event handler: the service's and the emulator's 16 MiB
  // (spec §8.5; larger: the connect is refused with 500, the user event fails).
  std::size_t max_event_handler_response_bytes = 16 * 1024 * 1024;
  // Cluster on Redis (docs/CLUSTER.md). Time allowed to open a connection to Redis.
  std::chrono::milliseconds redis_connect_timeout{2'000};
  // Longest wait between reconnection attempts while Redis is unreachable (the first is after
  // 100 ms, then doubling).
  std::chrono::milliseconds redis_max_reconnect_backoff{5'000};
  // Reliable sessions resume on any node of a cluster (docs/CLUSTER.md): publications are
  // numbered in a Redis stream per hub, at most this many entries each (approximately).
  bool cluster_session_recovery = true;
  std::size_t cluster_log_max_entries = 100'000;
  // How often a node tells Redis it is alive, and how long a silent node stays in the cluster:
  // a node that stops (SIGKILL closes its sockets at once; a hung or cut-off machine does not)
  // is dropped within cluster_node_ttl + cluster_heartbeat_interval.
  std::chrono::milliseconds cluster_heartbeat_interval{1'000};
  std::chrono::milliseconds cluster_node_ttl{5'000};
  // How long a REST management call waits for the other nodes' answers.
  std::chrono::milliseconds cluster_command_timeout{2'000};
  // How long a node stays subscribed to a group's channel after its last local member left (a
  // member who comes back soon costs no SUBSCRIBE).
  std::chrono::milliseconds cluster_unsubscribe_grace{2'000};
  // Threads answering REST calls in a cluster (they may wait for other nodes, so they run off the
  // event loop); calls beyond it queue.
  std::size_t cluster_rest_threads = 8;
  // JWT clock skew tolerance (emulator value, spec §10.1).
  std::chrono::seconds clock_skew{300};
  // Hubs with a metrics label of their own; later hubs count as hub="_other" (bounds the
  // cardinality of the Prometheus series, docs/OPERATIONS.md).
  std::size_t metrics_max_hubs = 100;
};

// One upstream event handler (spec §8.1; docs/EVENT_HANDLERS.md).
struct EventHandler {
  std::string url_template;                // may contain {hub} and {event}
  std::vector<std::string> system_events;  // subset of connect, connected, disconnected
  std::string user_event_pattern;          // "*", "a,b", or empty for none
  // Group presence events (spec §8.8, preview): subset of joined, left.
  std::vector<std::string> group_presence_events;
};

struct HubSettings {
  // Whether clients may connect without a token (service default: deny).
  bool allow_anonymous = false;
  std::vector<EventHandler> event_handlers;
};

struct Config {
  // Address to listen on; "localhost" binds both 127.0.0.1 and ::1 where available.
  std::string host = "localhost";
  std::uint16_t port = 8080;
  // Listening on a non-loopback address with the well-known development key is refused unless
  // this is set.
  bool allow_default_key_on_public_address = false;

  // Local development, as Microsoft's emulator (WebPubSub:AllowUnvalidatedEntraTokens): REST
  // accepts bearer tokens whose audience is the Web PubSub resource (https://webpubsub.azure.com)
  // checking audience and lifetime only, never the signature. Refused at startup on a
  // non-loopback address unless the second switch is set too.
  bool allow_unvalidated_entra_tokens = false;
  bool allow_unvalidated_entra_tokens_on_public_address = false;

  std::string primary_key = kDevelopmentAccessKey;
  std::optional<std::string> secondary_key;

  // TLS for the client endpoint and the REST API: certificate chain and private key (PEM), both
  // or neither; re-read on SIGHUP. Or a self-signed development certificate for localhost, made
  // once in tls_self_signed_dir (default: ~/.local/share/webpubsub-server/tls).
  std::string tls_cert_file;
  std::string tls_key_file;
  bool tls_self_signed = false;
  std::string tls_self_signed_dir;

  // PEM file of CA certificates trusted for https:// event handlers, besides the system's store
  // (a handler with a self-signed or private-CA certificate); empty = system store only.
  std::string event_handler_ca_file;

  // Public origin ("https://pubsub.example.com") used for token audiences and nextLink when the
  // server runs behind a proxy; empty means "the Host the request arrived with".
  std::string public_origin;
  // Compare only the path (and query) of token audiences, ignoring scheme and host.
  bool audience_ignore_host = false;

  // redis://host[:port][/db] of the Redis server the nodes of a cluster share; empty = one node
  // alone (the in-memory broker).
  std::string redis_url;

  // Event loops, one thread each owning its connections; 0 = one per core.
  unsigned threads = 0;
  // trace, debug, info, warn, error
  std::string log_level = "info";
  // text (the default) or json: one JSON object per line (docs/OPERATIONS.md).
  std::string log_format = "text";

  // The operations listener (docs/OPERATIONS.md): /metrics, the overview and the live trace.
  // 0 = off (the default).
  std::uint16_t metrics_port = 0;
  std::string metrics_host = "localhost";

  Limits limits;
  HubSettings default_hub;                  // hubs not listed below
  std::map<std::string, HubSettings> hubs;  // keyed by lower-cased hub name

  const HubSettings& hub_settings(const std::string& lower_hub) const {
    auto it = hubs.find(lower_hub);
    return it == hubs.end() ? default_hub : it->second;
  }
  bool uses_development_key() const {
    return primary_key == kDevelopmentAccessKey ||
           (secondary_key && *secondary_key == kDevelopmentAccessKey);
  }
};

}  // namespace wps::config
