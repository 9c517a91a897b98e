#pragma once
// RFC 6455 §5.2 framing of what the server sends: every message is one unfragmented, unmasked
// frame, so its header depends only on its type and length and can be built once per message
// and shared by every recipient.

#include <array>
#include <cstddef>
#include <cstdint>

namespace wps::protocol::ws {

// 2 bytes + up to 8 bytes of extended payload length (server frames carry no mask).
inline constexpr std::size_t kMaxFrameHeader = 10;

struct FrameHeader {
  std::array<std::uint8_t, kMaxFrameHeader> bytes{};
  std::uint8_t size = 0;
};

// The header of a final (FIN) text or binary frame carrying `length` payload bytes.
inline FrameHeader encode_frame_header(bool binary, std::uint64_t length) {
  FrameHeader h;
  h.bytes[0] = static_cast<std::uint8_t>(0x80U | (binary ? 0x2U : 0x1U));
  if (length < 126) {
    h.bytes[1] = static_cast<std::uint8_t>(length);
    h.size = 2;
  } else if (length <= 0xFFFF) {
    h.bytes[1] = 126;
    h.bytes[2] = static_cast<std::uint8_t>(length >> 8);
    h.bytes[3] = static_cast<std::uint8_t>(length);
    h.size = 4;
  } else {
    h.bytes[1] = 127;
    for (std::size_t i = 0; i < 8; ++i)
      h.bytes[2 + i] = static_cast<std::uint8_t>(length >> (56 - 8 * i));
    h.size = 10;
  }
  return h;
}

}  // namespace wps::protocol::ws
