#pragma once
// RFC 6455 framing, both ways, without I/O.
//
// What the server sends (§5.2): every message is one unfragmented, unmasked frame, so its header
// depends only on its type and length and can be built once per message and shared by every
// recipient.
//
// What clients send: FrameReader, an incremental parser fed with whatever the socket returned.
// It checks every rule a server must enforce (masking, reserved bits, opcodes, control-frame
// limits, fragmentation, UTF-8 of text messages and close reasons, the message size limit) and
// reports whole messages and control frames, or the close code and reason that end the
// connection.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

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

enum class Opcode : std::uint8_t {
  continuation = 0x0,
  text = 0x1,
  binary = 0x2,
  close = 0x8,
  ping = 0x9,
  pong = 0xA,
};

// A whole control frame as the server writes it (payload <= 125 bytes, cut otherwise).
std::string encode_control_frame(Opcode opcode, std::string_view payload);
// A close frame: the 2-byte code and the reason (cut to 123 bytes on a UTF-8 boundary); code 0
// means no status (an empty close frame).
std::string encode_close_frame(std::uint16_t code, std::string_view reason);

// Close codes a peer may send (RFC 6455 §7.4.1, IANA registry): 1000-1003, 1007-1011 and the
// 3000-4999 ranges; 1004-1006, 1015 and everything else are protocol errors.
bool is_valid_close_code(std::uint16_t code);

// What FrameReader reports.
struct ReadEvent {
  enum class Kind { message, ping, pong, close, error };
  Kind kind = Kind::message;
  bool binary = false;       // message
  std::string_view payload;  // message, ping, pong; valid until the sink returns
  // close: the peer's code (0 when its close frame had none) and reason; error: the code to
  // close with (1002 protocol error, 1007 invalid UTF-8, 1009 too big) and why.
  std::uint16_t code = 0;
  std::string_view reason;
};

class FrameReader {
 public:
  explicit FrameReader(std::size_t max_message_bytes) : max_message_bytes_(max_message_bytes) {}

  // Parses `input` (unmasked in place) and calls `sink(const ReadEvent&)` for each whole
  // message and control frame, in order. `sink` returns false to pause: the input after that
  // frame is kept and resume() continues with it. Incomplete frames are kept for the next
  // feed(). After a close frame or an error the reader is done and ignores everything.
  template <class Sink>
  void feed(std::span<char> input, Sink&& sink) {
    if (done_ || input.empty())
      return;
    if (buffer_.empty()) {
      const std::size_t used = parse(input.data(), input.size(), sink);
      if (!done_ && used < input.size())
        buffer_.assign(input.data() + used, input.size() - used);
      return;
    }
    buffer_.append(input.data(), input.size());
    resume(sink);
  }

  // Continues with the input kept by a paused feed().
  template <class Sink>
  void resume(Sink&& sink) {
    if (done_ || buffer_.empty())
      return;
    const std::size_t used = parse(buffer_.data(), buffer_.size(), sink);
    if (done_)
      used_all();
    else
      buffer_.erase(0, used);
    if (buffer_.empty() && buffer_.capacity() > kKeepCapacity)
      std::string().swap(buffer_);
  }

  // Whether complete input waits after a pause (or part of a frame waits for more bytes).
  bool has_buffered() const noexcept { return !buffer_.empty(); }
  // A close frame was read or a rule was broken: nothing more is parsed.
  bool done() const noexcept { return done_; }

 private:
  static constexpr std::size_t kKeepCapacity = 4096;

  struct Header {
    bool fin = false;
    std::uint8_t opcode = 0;
    std::uint64_t length = 0;
    std::size_t size = 0;  // header bytes, mask included
    std::array<std::uint8_t, 4> mask{};
  };

  // Parses one header at data[0, size); false when it is incomplete. Sets `error` (to report)
  // when the header breaks a rule.
  bool parse_header(const char* data, std::size_t size, Header& header, ReadEvent& error) const;
  // Handles one whole, unmasked frame; false when it produced an error event in `event`.
  // `event` is the event to report when `report` is set.
  bool on_frame(const Header& header, char* payload, ReadEvent& event, bool& report);
  void used_all() { std::string().swap(buffer_); }

  template <class Sink>
  std::size_t parse(char* data, std::size_t size, Sink& sink) {
    std::size_t pos = 0;
    while (!done_) {
      Header header;
      ReadEvent event;
      if (!parse_header(data + pos, size - pos, header, event)) {
        if (event.code != 0) {
          done_ = true;
          sink(event);
        }
        break;
      }
      if (size - pos - header.size < header.length)
        break;  // the payload is not all here yet
      char* payload = data + pos + header.size;
      unmask(payload, header.length, header.mask);
      pos += header.size + header.length;
      bool report = false;
      if (!on_frame(header, payload, event, report)) {
        done_ = true;
        sink(event);
        break;
      }
      if (event.kind == ReadEvent::Kind::close)
        done_ = true;
      if (!report)
        continue;
      const bool go_on = sink(static_cast<const ReadEvent&>(event));
      if (event.kind == ReadEvent::Kind::message && !message_.empty()) {
        message_.clear();
        if (message_.capacity() > kKeepCapacity)
          std::string().swap(message_);
      }
      if (!go_on)
        break;
    }
    return pos;
  }

  static void unmask(char* data, std::uint64_t length, const std::array<std::uint8_t, 4>& mask);

  std::size_t max_message_bytes_;
  std::string buffer_;               // unparsed input: a partial frame, or what follows a pause
  std::string message_;              // the fragments of a fragmented message so far
  std::uint8_t message_opcode_ = 0;  // 0: no fragmented message in progress
  bool done_ = false;
};

}  // namespace wps::protocol::ws
