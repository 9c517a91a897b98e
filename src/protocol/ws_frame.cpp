#include "protocol/ws_frame.hpp"

#include <algorithm>
#include <cstring>

#include "protocol/protobuf_wire.hpp"

namespace wps::protocol::ws {

namespace {
constexpr std::size_t kMaxControlPayload = 125;
constexpr std::size_t kMaxCloseReason = kMaxControlPayload - 2;

ReadEvent error_event(std::uint16_t code, std::string_view reason) {
  ReadEvent e;
  e.kind = ReadEvent::Kind::error;
  e.code = code;
  e.reason = reason;
  return e;
}

bool is_control(std::uint8_t opcode) {
  return (opcode & 0x8U) != 0;
}
}  // namespace

std::string encode_control_frame(Opcode opcode, std::string_view payload) {
  payload = payload.substr(0, kMaxControlPayload);
  std::string out;
  out.reserve(2 + payload.size());
  out.push_back(static_cast<char>(0x80U | static_cast<std::uint8_t>(opcode)));
  out.push_back(static_cast<char>(payload.size()));
  out.append(payload);
  return out;
}

std::string encode_close_frame(std::uint16_t code, std::string_view reason) {
  if (code == 0)
    return encode_control_frame(Opcode::close, {});
  if (reason.size() > kMaxCloseReason) {
    // Cut on a UTF-8 boundary: a close reason must be valid UTF-8.
    std::size_t n = kMaxCloseReason;
    while (n > 0 && (static_cast<unsigned char>(reason[n]) & 0xC0U) == 0x80U)
      --n;
    reason = reason.substr(0, n);
  }
  std::string payload;
  payload.push_back(static_cast<char>(code >> 8));
  payload.push_back(static_cast<char>(code & 0xFFU));
  payload.append(reason);
  return encode_control_frame(Opcode::close, payload);
}

bool is_valid_close_code(std::uint16_t code) {
  if (code >= 1000 && code <= 1003)
    return true;
  if (code >= 1007 && code <= 1011)
    return true;
  return code >= 3000 && code <= 4999;
}

void FrameReader::unmask(char* data, std::uint64_t length,
                         const std::array<std::uint8_t, 4>& mask) {
  std::uint64_t i = 0;
  if (length >= 8) {
    // The mask repeated over eight bytes, in memory order: XOR a word at a time.
    const std::array<std::uint8_t, 8> repeated{mask[0], mask[1], mask[2], mask[3],
                                               mask[0], mask[1], mask[2], mask[3]};
    std::uint64_t wide = 0;
    std::memcpy(&wide, repeated.data(), 8);
    for (; i + 8 <= length; i += 8) {
      std::uint64_t word = 0;
      std::memcpy(&word, data + i, 8);
      word ^= wide;
      std::memcpy(data + i, &word, 8);
    }
  }
  for (; i < length; ++i)
    data[i] = static_cast<char>(static_cast<std::uint8_t>(data[i]) ^ mask[i & 3U]);
}

bool FrameReader::parse_header(const char* data, std::size_t size, Header& header,
                               ReadEvent& error) const {
  if (size < 2)
    return false;
  const auto b0 = static_cast<std::uint8_t>(data[0]);
  const auto b1 = static_cast<std::uint8_t>(data[1]);
  header.fin = (b0 & 0x80U) != 0;
  header.opcode = b0 & 0x0FU;
  if ((b0 & 0x70U) != 0) {
    error = error_event(1002, "Reserved bits set: no extension was negotiated.");
    return false;
  }
  switch (header.opcode) {
    case 0x0:
    case 0x1:
    case 0x2:
    case 0x8:
    case 0x9:
    case 0xA:
      break;
    default:
      error = error_event(1002, "Unknown opcode.");
      return false;
  }
  if ((b1 & 0x80U) == 0) {
    error = error_event(1002, "Client frames must be masked.");
    return false;
  }
  const std::uint8_t len7 = b1 & 0x7FU;
  std::size_t need = 2 + 4;
  if (len7 == 126)
    need += 2;
  else if (len7 == 127)
    need += 8;
  if (is_control(header.opcode)) {
    if (!header.fin) {
      error = error_event(1002, "Control frames must not be fragmented.");
      return false;
    }
    if (len7 > kMaxControlPayload) {
      error = error_event(1002, "Control frame payload over 125 bytes.");
      return false;
    }
  } else if (header.opcode == 0x0 && message_opcode_ == 0) {
    error = error_event(1002, "A continuation frame without a message to continue.");
    return false;
  } else if (header.opcode != 0x0 && message_opcode_ != 0) {
    error = error_event(1002, "A new message inside a fragmented one.");
    return false;
  }
  if (size < need)
    return false;
  std::uint64_t length = len7;
  if (len7 == 126) {
    length = (static_cast<std::uint64_t>(static_cast<std::uint8_t>(data[2])) << 8) |
             static_cast<std::uint8_t>(data[3]);
  } else if (len7 == 127) {
    length = 0;
    for (std::size_t i = 0; i < 8; ++i)
      length = (length << 8) | static_cast<std::uint8_t>(data[2 + i]);
  }
  // A 64-bit length with its top bit set is forbidden; it is also far over any limit.
  if (!is_control(header.opcode) &&
      (length > max_message_bytes_ || message_.size() > max_message_bytes_ - length)) {
    error = error_event(1009, "The message is too big.");
    return false;
  }
  header.length = length;
  header.size = need;
  std::memcpy(header.mask.data(), data + need - 4, 4);
  return true;
}

bool FrameReader::on_frame(const Header& header, char* payload_data, ReadEvent& event,
                           bool& report) {
  const std::string_view payload(payload_data, static_cast<std::size_t>(header.length));
  report = true;
  switch (header.opcode) {
    case 0x9:
      event.kind = ReadEvent::Kind::ping;
      event.payload = payload;
      return true;
    case 0xA:
      event.kind = ReadEvent::Kind::pong;
      event.payload = payload;
      return true;
    case 0x8:
      event.kind = ReadEvent::Kind::close;
      if (payload.size() == 1) {
        event = error_event(1002, "A close frame with a 1-byte payload.");
        return false;
      }
      if (payload.size() >= 2) {
        event.code = static_cast<std::uint16_t>((static_cast<std::uint8_t>(payload[0]) << 8) |
                                                static_cast<std::uint8_t>(payload[1]));
        event.reason = payload.substr(2);
        if (!is_valid_close_code(event.code)) {
          event = error_event(1002, "Invalid close code.");
          return false;
        }
        if (!protobuf::wire::is_valid_utf8(event.reason)) {
          event = error_event(1007, "The close reason is not valid UTF-8.");
          return false;
        }
      }
      return true;
    default:
      break;
  }
  // Data: a whole message in one frame, or a fragment.
  const std::uint8_t opcode = header.opcode == 0x0 ? message_opcode_ : header.opcode;
  std::string_view message = payload;
  if (!header.fin || message_opcode_ != 0) {
    message_.append(payload);
    message_opcode_ = header.fin ? 0 : opcode;
    if (!header.fin) {
      report = false;
      return true;
    }
    message = message_;
  }
  if (opcode == 0x1 && !protobuf::wire::is_valid_utf8(message)) {
    event = error_event(1007, "A text message that is not valid UTF-8.");
    return false;
  }
  event.kind = ReadEvent::Kind::message;
  event.binary = opcode == 0x2;
  event.payload = message;
  return true;
}

}  // namespace wps::protocol::ws
