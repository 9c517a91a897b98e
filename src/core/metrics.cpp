#include "core/metrics.hpp"

#include <chrono>

namespace wps::core {

const char* protocol_label(ProtocolKind kind) {
  switch (kind) {
    case ProtocolKind::simple:
      return "simple";
    case ProtocolKind::json:
      return "json";
    case ProtocolKind::json_reliable:
      return "json.reliable";
    case ProtocolKind::protobuf:
      return "protobuf";
    case ProtocolKind::protobuf_reliable:
      return "protobuf.reliable";
    case ProtocolKind::mqtt:
      return "mqtt";
  }
  return "unknown";
}

const char* close_reason_label(CloseReason reason) {
  switch (reason) {
    case CloseReason::client:
      return "client";
    case CloseReason::rest:
      return "rest";
    case CloseReason::slow_consumer:
      return "slow_consumer";
    case CloseReason::idle:
      return "idle";
    case CloseReason::protocol_error:
      return "protocol_error";
    case CloseReason::shutdown:
      return "shutdown";
    case CloseReason::upstream:
      return "upstream";
    case CloseReason::policy:
      return "policy";
    case CloseReason::dropped:
      return "dropped";
  }
  return "unknown";
}

Metrics::Metrics(std::size_t max_hubs) : max_hubs_(max_hubs) {}

HubStats& Metrics::hub_stats(const std::string& name) {
  std::lock_guard lock(mutex_);
  for (const auto& stats : hubs_)
    if (stats->name == name)
      return *stats;
  if (hubs_.size() < max_hubs_)
    return *hubs_.emplace_back(std::make_unique<HubStats>(name));
  if (!other_)
    other_ = std::make_unique<HubStats>(std::string(kOtherHubLabel));
  return *other_;
}

std::vector<const HubStats*> Metrics::hubs() const {
  std::lock_guard lock(mutex_);
  std::vector<const HubStats*> out;
  out.reserve(hubs_.size() + 1);
  for (const auto& stats : hubs_)
    out.push_back(stats.get());
  if (other_)
    out.push_back(other_.get());
  return out;
}

void Metrics::count_rest(std::string_view operation, unsigned code) {
  std::lock_guard lock(mutex_);
  ++rest_[{std::string(operation), code}];
}

std::map<std::pair<std::string, unsigned>, std::uint64_t> Metrics::rest_requests() const {
  std::lock_guard lock(mutex_);
  return rest_;
}

void Metrics::count_event_handler(const std::string& hub, std::string_view event,
                                  std::string_view outcome, double seconds) {
  const std::string label = hub_stats(hub).name;
  std::lock_guard lock(mutex_);
  ++handler_requests_[{label, std::string(event), std::string(outcome)}];
  Histogram& h = handler_durations_[{label, std::string(event)}];
  ++h.count;
  h.sum += seconds;
  for (std::size_t i = 0; i < kHandlerBuckets.size(); ++i) {
    if (seconds <= kHandlerBuckets[i]) {
      ++h.buckets[i];
      break;
    }
  }
}

std::map<std::tuple<std::string, std::string, std::string>, std::uint64_t>
Metrics::handler_requests() const {
  std::lock_guard lock(mutex_);
  return handler_requests_;
}

std::map<std::pair<std::string, std::string>, Metrics::Histogram> Metrics::handler_durations()
    const {
  std::lock_guard lock(mutex_);
  return handler_durations_;
}

// ---- trace -----------------------------------------------------------------------------------

std::uint64_t Tracer::subscribe(Sink sink) {
  std::lock_guard lock(mutex_);
  const std::uint64_t id = next_id_++;
  sinks_.emplace_back(id, std::move(sink));
  watchers_.store(sinks_.size(), std::memory_order_relaxed);
  return id;
}

void Tracer::unsubscribe(std::uint64_t id) {
  std::lock_guard lock(mutex_);
  std::erase_if(sinks_, [id](const auto& entry) { return entry.first == id; });
  watchers_.store(sinks_.size(), std::memory_order_relaxed);
}

void Tracer::emit(TraceEvent event) {
  event.time_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  std::lock_guard lock(mutex_);
  for (const auto& [id, sink] : sinks_)
    sink(event);
}

}  // namespace wps::core
