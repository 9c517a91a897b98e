#pragma once
// The live trace (the /trace page, docs/OPERATIONS.md): events of connections, messages, REST
// calls and event-handler calls, handed to whoever watches. Emitters check active() first (one
// relaxed load), so tracing costs nothing while nobody watches. Thread-safe.

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

namespace wps::core {

struct TraceEvent {
  std::int64_t time_ms = 0;  // Unix time; set by emit()
  std::string kind;          // connected, disconnected, received, published, rest, event-handler
  std::string hub;
  std::string connection_id;
  std::string user_id;
  std::string detail;  // what happened, for people (never a token or key)
};

class Tracer {
 public:
  using Sink = std::function<void(const TraceEvent&)>;

  bool active() const { return watchers_.load(std::memory_order_relaxed) != 0; }
  // `sink` is called on the emitting thread, under the tracer's lock: it must only queue.
  std::uint64_t subscribe(Sink sink);
  void unsubscribe(std::uint64_t id);
  void emit(TraceEvent event);

 private:
  std::atomic<std::size_t> watchers_{0};
  std::mutex mutex_;
  std::uint64_t next_id_ = 1;
  std::vector<std::pair<std::uint64_t, Sink>> sinks_;
};

}  // namespace wps::core
