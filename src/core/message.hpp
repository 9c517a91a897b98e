#pragma once
// A data message on its way to recipients: built once, shared immutably by every delivery.

#include <chrono>
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
  protocol::Metadata metadata;                 // client sends' metadata (spec §6.10); empty = none
  std::optional<protocol::StreamInfo> stream;  // a group stream's fragment or end (spec §6.8)
  // An MQTT 5.0 publisher's properties for MQTT 5.0 subscribers (spec mqtt §10.4); null = none.
  std::shared_ptr<const protocol::MqttPassThrough> mqtt;
  // Not delivered to a client that has not taken it by then; epoch = never (spec §4.4).
  std::chrono::steady_clock::time_point expires_at{};
};
using SharedMessage = std::shared_ptr<const Message>;

}  // namespace wps::core
