#pragma once
// What the server counts for operators (docs/OPERATIONS.md): plain counters the hubs, handlers,
// transport, REST API, event-handler dispatcher and broker bump, read by the ops layer
// (src/ops), which formats them for Prometheus. Nothing here knows sockets or text formats.
//
// Cost: the per-message counters are relaxed atomics in a per-hub HubStats that each hub finds
// once, when it is created (no lookup by hub name per message). Labels of rare events (REST
// calls, event-handler calls) are kept in small maps behind a mutex.

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "core/client.hpp"
#include "core/trace.hpp"

namespace wps::core {

inline constexpr std::size_t kProtocolKinds = 6;  // ProtocolKind values
static_assert(static_cast<std::size_t>(ProtocolKind::mqtt) + 1 == kProtocolKinds,
              "a new ProtocolKind needs its counters and its label");
// The label of a protocol kind: simple, json, json.reliable, protobuf, protobuf.reliable, mqtt.
const char* protocol_label(ProtocolKind kind);

// The hub label of the hubs past the cap (Metrics::max_hubs).
inline constexpr std::string_view kOtherHubLabel = "_other";

// One hub label's counters, indexed by ProtocolKind. Relaxed atomics: exact totals, no order.
struct HubStats {
  explicit HubStats(std::string label) : name(std::move(label)) {}
  const std::string name;  // the hub, or "_other"
  std::array<std::atomic<std::int64_t>, kProtocolKinds> connections{};
  std::array<std::atomic<std::uint64_t>, kProtocolKinds> received{};
  std::array<std::atomic<std::uint64_t>, kProtocolKinds> delivered{};
};

// Why a WebSocket connection ended (webpubsub_connections_closed_total{reason}).
enum class CloseReason : std::uint8_t {
  client,          // the client sent a close frame
  rest,            // closed by the REST API (or replaced by a recovered connection): code 1000
  slow_consumer,   // its outgoing queue passed the limits
  idle,            // keep-alive: silent for two intervals
  protocol_error,  // a frame or message that breaks the protocol (1002, 1003, 1007, 1009)
  shutdown,        // the server is going away (1001)
  upstream,        // the event handler failed or refused (1011)
  policy,          // refused by the server's rules (1008: tokens, recovery, limits)
  dropped,         // the TCP connection ended without a close handshake
};
inline constexpr std::size_t kCloseReasons = 9;
const char* close_reason_label(CloseReason reason);

// Buckets (seconds, upper bounds) of webpubsub_event_handler_duration_seconds.
inline constexpr std::array<double, 11> kHandlerBuckets{0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                        0.5,   1.0,  2.5,   5.0,  10.0};

class Metrics {
 public:
  // At most `max_hubs` hubs get a label of their own; the rest count as "_other".
  explicit Metrics(std::size_t max_hubs = 100);
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // The counters of hub `name` (its own, or "_other" past the cap). Stable for the life of the
  // Metrics: hubs look theirs up once. Thread-safe.
  HubStats& hub_stats(const std::string& name);
  // Every hub label so far (the "_other" one last, once used). Thread-safe.
  std::vector<const HubStats*> hubs() const;
  std::size_t max_hubs() const { return max_hubs_; }

  void count_close(CloseReason reason) {
    closed_[static_cast<std::size_t>(reason)].fetch_add(1, std::memory_order_relaxed);
  }
  std::uint64_t closed(CloseReason reason) const {
    return closed_[static_cast<std::size_t>(reason)].load(std::memory_order_relaxed);
  }

  // One REST call: its operation (swagger operationId without "WebPubSub_"; "unmatched" when no
  // route matched) and status code.
  void count_rest(std::string_view operation, unsigned code);
  // (operation, code) -> calls.
  std::map<std::pair<std::string, unsigned>, std::uint64_t> rest_requests() const;

  // One call of an event handler: hub, event name, outcome (success, http_error, timeout,
  // failed, invalid_handler) and how long it took.
  void count_event_handler(const std::string& hub, std::string_view event, std::string_view outcome,
                           double seconds);
  struct Histogram {
    std::array<std::uint64_t, kHandlerBuckets.size()> buckets{};  // not cumulative
    std::uint64_t count = 0;
    double sum = 0;
  };
  // (hub label, event, outcome) -> calls; (hub label, event) -> durations.
  std::map<std::tuple<std::string, std::string, std::string>, std::uint64_t> handler_requests()
      const;
  std::map<std::pair<std::string, std::string>, Histogram> handler_durations() const;

  // Cluster (Redis broker): whether the node is in one, the nodes alive at the last heartbeat,
  // and the reconnections to Redis.
  std::atomic<bool> clustered{false};
  std::atomic<std::int64_t> cluster_nodes{0};
  std::atomic<std::uint64_t> redis_reconnects{0};

  // The live trace (/trace): free while nobody watches.
  Tracer tracer;

 private:
  const std::size_t max_hubs_;
  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<HubStats>> hubs_;  // own labels, in creation order
  std::unique_ptr<HubStats> other_;              // "_other", made when the cap is reached
  std::array<std::atomic<std::uint64_t>, kCloseReasons> closed_{};
  std::map<std::pair<std::string, unsigned>, std::uint64_t> rest_;
  std::map<std::tuple<std::string, std::string, std::string>, std::uint64_t> handler_requests_;
  std::map<std::pair<std::string, std::string>, Histogram> handler_durations_;
};

}  // namespace wps::core
