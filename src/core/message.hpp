#pragma once
// A data message on its way to recipients: built once, shared immutably by every delivery.

#include <memory>
#include <optional>
#include <string>

#include "protocol/messages.hpp"

namespace wps::core {

struct Message {
  protocol::MessageSource from = protocol::MessageSource::server;
  std::string group;                        // group messages only
  std::optional<std::string> from_user_id;  // group messages from clients; empty = anonymous
  protocol::Payload payload;
};
using SharedMessage = std::shared_ptr<const Message>;

}  // namespace wps::core
