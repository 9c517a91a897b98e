#pragma once
// The hub's face of a client: what the core may do to one logical connection (deliver a data
// message, close it) and how it encodes messages for it. The client-protocol handlers
// (src/handler) implement it; the core never reads from a client.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "core/message.hpp"
#include "protocol/frame.hpp"

namespace wps::core {

using ConnId = std::string;
using protocol::Frame;
using protocol::SharedFrame;

// The client protocols (spec §6.1, docs/PROTOCOL.md). The hub uses the kind only to answer the
// OData `protocol` filter; each kind's wire format is its handler's business.
enum class ProtocolKind : std::uint8_t {
  simple,             // no subprotocol: raw text/binary frames
  json,               // json.webpubsub.azure.v1
  json_reliable,      // json.reliable.webpubsub.azure.v1: data messages carry a sequenceId
  protobuf,           // protobuf.webpubsub.azure.v1: binary frames
  protobuf_reliable,  // protobuf.reliable.webpubsub.azure.v1
  mqtt,               // MQTT 3.1.1 / 5.0 on /clients/mqtt/hubs/{hub} (subprotocol `mqtt`)
};

inline bool is_protobuf(ProtocolKind kind) {
  return kind == ProtocolKind::protobuf || kind == ProtocolKind::protobuf_reliable;
}
// PubSub clients (JSON or protobuf) as opposed to simple WebSocket and MQTT clients.
inline bool is_pubsub(ProtocolKind kind) {
  return kind != ProtocolKind::simple && kind != ProtocolKind::mqtt;
}
inline bool is_reliable(ProtocolKind kind) {
  return kind == ProtocolKind::json_reliable || kind == ProtocolKind::protobuf_reliable;
}

// The subprotocol name of a kind, as the OData `protocol` identifier sees it; nullptr for simple.
inline const std::string* protocol_name(ProtocolKind kind) {
  static const std::string json = "json.webpubsub.azure.v1";
  static const std::string json_reliable = "json.reliable.webpubsub.azure.v1";
  static const std::string protobuf = "protobuf.webpubsub.azure.v1";
  static const std::string protobuf_reliable = "protobuf.reliable.webpubsub.azure.v1";
  static const std::string mqtt = "mqtt";
  switch (kind) {
    case ProtocolKind::json:
      return &json;
    case ProtocolKind::json_reliable:
      return &json_reliable;
    case ProtocolKind::protobuf:
      return &protobuf;
    case ProtocolKind::protobuf_reliable:
      return &protobuf_reliable;
    case ProtocolKind::mqtt:
      return &mqtt;
    case ProtocolKind::simple:
      break;
  }
  return nullptr;
}

// WebSocket close codes the server uses (spec §10.2).
namespace close_code {
inline constexpr std::uint16_t normal = 1000;
inline constexpr std::uint16_t going_away = 1001;
inline constexpr std::uint16_t protocol_error = 1002;
inline constexpr std::uint16_t unsupported_data = 1003;
inline constexpr std::uint16_t invalid_payload = 1007;
inline constexpr std::uint16_t policy_violation = 1008;
inline constexpr std::uint16_t message_too_big = 1009;
inline constexpr std::uint16_t internal_error = 1011;
}  // namespace close_code

// How data messages are encoded for the clients of one wire format. One instance per format,
// shared by all its clients: the hub encodes a message once per distinct encoder among its
// recipients, whatever their number. Must be thread-safe (stateless).
class Encoder {
 public:
  virtual ~Encoder() = default;
  // Null when the message has nothing for this format (a group stream's empty end, simple).
  virtual SharedFrame encode(const Message& message) const = 0;
};

// Told when a connection joins or leaves a group (for group presence events, spec §8.8). The
// hub calls it with its lock held: it must not block nor call back into the hub.
class GroupObserver {
 public:
  virtual ~GroupObserver() = default;
  virtual void on_group_change(const std::string& group, bool joined) = 0;
};

class Client {
 public:
  virtual ~Client() = default;

  // A data message for this client, encoded by the client's Encoder. Thread-safe, never blocks,
  // never fails: a client that cannot keep up closes itself as a slow consumer, and messages
  // delivered after close() are dropped.
  virtual void deliver(const SharedFrame& frame) = 0;
  // The same for a publication numbered `log_seq` in its hub's log (0: it could not be logged),
  // to a reliable client in a cluster that logs publications (Broker::logs_publications).
  virtual void deliver_logged(const SharedFrame& frame, std::uint64_t /*log_seq*/) {
    deliver(frame);
  }

  // Ends the connection (REST close, shutdown): PubSub clients first receive a `disconnected`
  // system message carrying `reason`, then a close frame with `code` and `reason`. Thread-safe
  // and idempotent.
  virtual void close(std::uint16_t code, std::string reason) = 0;
};

}  // namespace wps::core
