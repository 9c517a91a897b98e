#include "core/node.hpp"

namespace wps::core {

Node::Node(Broker& broker, HubLimits limits, std::size_t max_metric_hubs)
    : broker_(broker), limits_(limits), metrics_(max_metric_hubs) {
  broker_.start(*this);
}

std::shared_ptr<Hub> Node::hub(const std::string& lower_name) {
  std::lock_guard lock(mutex_);
  auto& slot = hubs_[lower_name];
  if (!slot)
    slot = std::make_shared<Hub>(lower_name, broker_, limits_, &metrics_, loops_);
  return slot;
}

std::shared_ptr<Hub> Node::find_hub(const std::string& lower_name) const {
  std::lock_guard lock(mutex_);
  auto it = hubs_.find(lower_name);
  return it == hubs_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<Hub>> Node::hubs() const {
  std::lock_guard lock(mutex_);
  std::vector<std::shared_ptr<Hub>> out;
  out.reserve(hubs_.size());
  for (const auto& [name, h] : hubs_)
    out.push_back(h);
  return out;
}

void Node::publish(const Publication& publication) {
  if (auto h = find_hub(publication.hub))
    h->deliver(publication);
  broker_.publish(publication);
}

void Node::on_publication(const Publication& publication) {
  if (auto h = find_hub(publication.hub))
    h->deliver(publication);
}

CommandResult Node::execute_local(const Command& command) {
  const std::shared_ptr<Hub> h = find_hub(command.hub);
  return apply_command(h.get(), command);
}

CommandResult Node::execute(const Command& command) {
  CommandResult result = execute_local(command);
  if (cluster_ == nullptr || settled_locally(result, command))
    return result;
  merge_result(result, cluster_->run_remote(command), command);
  return result;
}

void Node::close_all(std::uint16_t code, const std::string& reason) {
  std::vector<std::shared_ptr<Hub>> hubs;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [name, h] : hubs_)
      hubs.push_back(h);
  }
  for (const auto& h : hubs)
    h->close_all({}, code, reason);
}

std::size_t Node::connection_count() const {
  std::size_t total = 0;
  std::lock_guard lock(mutex_);
  for (const auto& [name, h] : hubs_)
    total += h->connection_count();
  return total;
}

}  // namespace wps::core
