#pragma once
// The narrow, write-only face of a client connection that the core talks to. Sessions in the
// transport layer implement it; the core never reads from a connection.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace wps::core {

using ConnId = std::string;

// How a connection frames messages (spec §6.1). Each kind gets one encoding of a message, shared
// by every recipient of that kind.
enum class ProtocolKind : std::uint8_t {
  simple,  // no subprotocol: raw text/binary frames
  json,    // json.webpubsub.azure.v1
};
inline constexpr std::size_t kProtocolKindCount = 2;

// An encoded WebSocket message, immutable once built and shared by all its recipients.
struct Frame {
  std::string data;
  bool binary = false;
};
using SharedFrame = std::shared_ptr<const Frame>;

inline SharedFrame make_frame(std::string data, bool binary) {
  return std::make_shared<const Frame>(Frame{std::move(data), binary});
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
