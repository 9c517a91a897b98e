#pragma once
// An encoded message on its way to clients: built once by the codec of its wire format and
// shared, immutable, by every recipient of that format. It carries its WebSocket frame header,
// built once too, so that a connection writes header + payload without touching either.

#include <chrono>
#include <memory>
#include <string>
#include <utility>

#include "protocol/ws_frame.hpp"

namespace wps::protocol {

struct Frame {
  std::string data;
  bool binary = false;
  // A frame still queued at this time is dropped instead of written (REST messageTtlSeconds);
  // the default (epoch) means never.
  std::chrono::steady_clock::time_point expires_at{};
  ws::FrameHeader header{};
};
using SharedFrame = std::shared_ptr<const Frame>;

inline SharedFrame make_frame(std::string data, bool binary,
                              std::chrono::steady_clock::time_point expires_at = {}) {
  const ws::FrameHeader header = ws::encode_frame_header(binary, data.size());
  return std::make_shared<const Frame>(Frame{std::move(data), binary, expires_at, header});
}

}  // namespace wps::protocol
