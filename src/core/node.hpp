#pragma once
// The node: the registry of hubs (created on first use), the entry point of REST publications and
// management commands, and the receiver of what other nodes publish.

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/broker.hpp"
#include "core/cluster.hpp"
#include "core/hub.hpp"
#include "core/loops.hpp"
#include "core/metrics.hpp"

namespace wps::core {

class Node final : public BrokerHandler {
 public:
  // `max_metric_hubs`: hubs with a metrics label of their own (Metrics).
  Node(Broker& broker, HubLimits limits, std::size_t max_metric_hubs = 100);

  // The event loops the clients live on (core/loops.hpp), given to every hub; null (the
  // default): every delivery inline. Call before the first hub is made; `loops` outlives them.
  void set_loops(Loops* loops) { loops_ = loops; }
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // The hub named `lower_name` (already lower-cased), created on first use. Hubs live as long as
  // the node. Thread-safe.
  std::shared_ptr<Hub> hub(const std::string& lower_name);
  // nullptr when the hub was never used.
  std::shared_ptr<Hub> find_hub(const std::string& lower_name) const;
  // Every hub used so far (the ops overview). Thread-safe.
  std::vector<std::shared_ptr<Hub>> hubs() const;

  // The operators' counters and the live trace of this node's hubs.
  Metrics& metrics() { return metrics_; }

  // Delivers `publication` (REST sends) to this node's clients and, through the broker, to the
  // other nodes'. Thread-safe.
  void publish(const Publication& publication);

  // A publication of another node: delivered to this node's clients.
  void on_publication(const Publication& publication) override;

  // Joins a cluster: management commands then also run on the other nodes. Call before any
  // execute(); `cluster` outlives the node's use of it. Without one the node is alone.
  void set_cluster(Cluster* cluster) { cluster_ = cluster; }
  // Runs a management command on this node and, in a cluster, on the others (blocking on them
  // with a bounded timeout: call it off the event loop when a cluster is set). Thread-safe.
  CommandResult execute(const Command& command);
  // Runs a command that another node sent, on this node only.
  CommandResult execute_local(const Command& command);

  // Closes every connection of every hub (shutdown).
  void close_all(std::uint16_t code, const std::string& reason);
  std::size_t connection_count() const;

 private:
  Broker& broker_;
  Cluster* cluster_ = nullptr;
  Loops* loops_ = nullptr;
  const HubLimits limits_;
  Metrics metrics_;  // before the hubs, which count in it
  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::shared_ptr<Hub>> hubs_;
};

}  // namespace wps::core
