#pragma once
// The default broker of a node alone: there is no other node, so it carries nothing (hubs
// deliver to their own clients without a broker).

#include "core/broker.hpp"

namespace wps::core {

class MemoryBroker final : public Broker {
 public:
  void start(BrokerHandler&) override {}
  void publish(const Publication&) override {}
  void subscribe_group(const std::string&, const std::string&) override {}
  void unsubscribe_group(const std::string&, const std::string&) override {}
};

}  // namespace wps::core
