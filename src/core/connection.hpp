#pragma once
// The narrow, write-only face of a client connection that the core talks to. Sessions in the
// transport layer implement it; the core never reads from a connection.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "protocol/ws_frame.hpp"

namespace wps::core {

using ConnId = std::string;

// How a connection frames messages (spec §6.1). Each kind gets one encoding of a message, shared
// by every recipient of that kind.
enum class ProtocolKind : std::uint8_t {
  simple,             // no subprotocol: raw text/binary frames
  json,               // json.webpubsub.azure.v1
  json_reliable,      // json.reliable.webpubsub.azure.v1: data messages carry a sequenceId
  protobuf,           // protobuf.webpubsub.azure.v1: binary frames
  protobuf_reliable,  // protobuf.reliable.webpubsub.azure.v1
};
inline constexpr std::size_t kProtocolKindCount = 5;

// Whether the kind speaks the JSON PubSub protocol (acks, system messages, pong).
inline bool is_json(ProtocolKind kind) {
  return kind == ProtocolKind::json || kind == ProtocolKind::json_reliable;
}
inline bool is_protobuf(ProtocolKind kind) {
  return kind == ProtocolKind::protobuf || kind == ProtocolKind::protobuf_reliable;
}
// PubSub clients (JSON or protobuf) as opposed to simple WebSocket clients.
inline bool is_pubsub(ProtocolKind kind) {
  return kind != ProtocolKind::simple;
}
inline bool is_reliable(ProtocolKind kind) {
  return kind == ProtocolKind::json_reliable || kind == ProtocolKind::protobuf_reliable;
}

// An encoded WebSocket message, immutable once built and shared by all its recipients.
struct Frame {
  std::string data;
  bool binary = false;
  // A frame still queued at this time is dropped instead of written (REST messageTtlSeconds);
  // the default (epoch) means never.
  std::chrono::steady_clock::time_point expires_at{};
  // A data message: reliable protocols give it a sequenceId and keep it until acknowledged.
  bool sequenced = false;
  // Its WebSocket frame header, built once (make_frame) and written by every recipient's session
  // in front of `data`.
  protocol::ws::FrameHeader header{};
};
using SharedFrame = std::shared_ptr<const Frame>;

inline SharedFrame make_frame(std::string data, bool binary,
                              std::chrono::steady_clock::time_point expires_at = {},
                              bool sequenced = false) {
  protocol::ws::FrameHeader header = protocol::ws::encode_frame_header(binary, data.size());
  return std::make_shared<const Frame>(
      Frame{std::move(data), binary, expires_at, sequenced, header});
}

// The subprotocol name of a kind, as the OData `protocol` identifier sees it; nullptr for simple.
inline const std::string* protocol_name(ProtocolKind kind) {
  static const std::string json = "json.webpubsub.azure.v1";
  static const std::string json_reliable = "json.reliable.webpubsub.azure.v1";
  static const std::string protobuf = "protobuf.webpubsub.azure.v1";
  static const std::string protobuf_reliable = "protobuf.reliable.webpubsub.azure.v1";
  switch (kind) {
    case ProtocolKind::json:
      return &json;
    case ProtocolKind::json_reliable:
      return &json_reliable;
    case ProtocolKind::protobuf:
      return &protobuf;
    case ProtocolKind::protobuf_reliable:
      return &protobuf_reliable;
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

// Told when a connection joins or leaves a group (for group presence events, spec §8.8). The
// hub calls it with its lock held: it must not block nor call back into the hub.
class GroupObserver {
 public:
  virtual ~GroupObserver() = default;
  virtual void on_group_change(const std::string& group, bool joined) = 0;
};

class Connection {
 public:
  virtual ~Connection() = default;

  // Queues `frame` for this connection's single writer. Thread-safe, never blocks, never fails:
  // a connection whose queue overflows closes itself as a slow consumer, and frames sent after
  // close() are dropped.
  virtual void send(SharedFrame frame) = 0;

  // Ends the connection: PubSub clients first receive a `disconnected` system message carrying
  // `reason`, then a close frame with `code` and `reason`. Thread-safe and idempotent.
  virtual void close(std::uint16_t code, std::string reason) = 0;
};

}  // namespace wps::core
