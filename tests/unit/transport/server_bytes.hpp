#pragma once
// Reading what the server writes to a WebSocket client, and writing what a client sends, for the
// transport tests: written independently of protocol/ws_frame so that each checks the other.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace wps::transport::test {

// The bytes of one or more writes, as parts: "101" (the upgrade response), "ping",
// "pong:<payload>", "close:<code>[ <reason>]", "text:<payload>", "binary:<payload>", "?" (anything
// else). Server frames are unmasked and unfragmented.
inline std::vector<std::string> parts_of(const std::string& bytes) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  auto byte = [&](std::size_t i) { return static_cast<unsigned char>(bytes[i]); };
  if (bytes.rfind("HTTP/1.1 101", 0) == 0) {
    pos = bytes.find("\r\n\r\n") + 4;
    out.push_back("101");
  }
  while (pos + 2 <= bytes.size()) {
    const unsigned b0 = byte(pos);
    std::uint64_t length = byte(pos + 1) & 0x7FU;
    std::size_t header = 2;
    if (length == 126) {
      length = (std::uint64_t{byte(pos + 2)} << 8) | byte(pos + 3);
      header = 4;
    } else if (length == 127) {
      length = 0;
      for (std::size_t i = 0; i < 8; ++i)
        length = (length << 8) | byte(pos + 2 + i);
      header = 10;
    }
    const std::string payload = bytes.substr(pos + header, length);
    switch (b0) {
      case 0x81:
        out.push_back("text:" + payload);
        break;
      case 0x82:
        out.push_back("binary:" + payload);
        break;
      case 0x88: {
        std::string part = "close:";
        if (payload.size() >= 2) {
          part += std::to_string((unsigned{static_cast<unsigned char>(payload[0])} << 8) |
                                 static_cast<unsigned char>(payload[1]));
          if (payload.size() > 2)
            part += " " + payload.substr(2);
        }
        out.push_back(part);
        break;
      }
      case 0x89:
        out.push_back("ping" + (payload.empty() ? std::string() : ":" + payload));
        break;
      case 0x8A:
        out.push_back("pong:" + payload);
        break;
      default:
        out.push_back("?");
    }
    pos += header + length;
  }
  if (pos != bytes.size())
    out.push_back("<partial frame>");
  return out;
}

// A frame as a client sends it: masked (unless `masked` is false), final unless `fin` is false.
inline std::string client_frame(std::uint8_t opcode, std::string_view payload, bool masked = true,
                                bool fin = true) {
  std::string out;
  out.push_back(static_cast<char>((fin ? 0x80U : 0U) | opcode));
  const std::uint8_t mask_bit = masked ? 0x80U : 0U;
  if (payload.size() < 126) {
    out.push_back(static_cast<char>(mask_bit | payload.size()));
  } else if (payload.size() <= 0xFFFF) {
    out.push_back(static_cast<char>(mask_bit | 126U));
    out.push_back(static_cast<char>(payload.size() >> 8));
    out.push_back(static_cast<char>(payload.size() & 0xFF));
  } else {
    out.push_back(static_cast<char>(mask_bit | 127U));
    for (int i = 7; i >= 0; --i)
      out.push_back(static_cast<char>((payload.size() >> (8 * i)) & 0xFF));
  }
  constexpr std::array<std::uint8_t, 4> kMask{0x12, 0x34, 0x56, 0x78};
  if (masked)
    out.append(reinterpret_cast<const char*>(kMask.data()), kMask.size());
  for (std::size_t i = 0; i < payload.size(); ++i)
    out.push_back(masked ? static_cast<char>(static_cast<std::uint8_t>(payload[i]) ^ kMask[i % 4])
                         : payload[i]);
  return out;
}

inline std::string client_text(std::string_view text) {
  return client_frame(0x1, text);
}
inline std::string client_close(std::uint16_t code, std::string_view reason = {}) {
  std::string payload;
  payload.push_back(static_cast<char>(code >> 8));
  payload.push_back(static_cast<char>(code & 0xFF));
  payload.append(reason);
  return client_frame(0x8, payload);
}

}  // namespace wps::transport::test
