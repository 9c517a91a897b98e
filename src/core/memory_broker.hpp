#pragma once
// The default, single-node broker: every publication is handed straight back to this node.

#include "core/broker.hpp"

namespace wps::core {

class MemoryBroker final : public Broker {
 public:
  void start(BrokerHandler& handler) override { handler_ = &handler; }
  void publish(const Publication& publication) override {
    if (handler_ != nullptr)
      handler_->on_publication(publication);
  }
  void subscribe_group(const std::string&, const std::string&) override {}
  void unsubscribe_group(const std::string&, const std::string&) override {}

 private:
  BrokerHandler* handler_ = nullptr;
};

}  // namespace wps::core
