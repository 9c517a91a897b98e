// libFuzzer target for the WebSocket frame reader (client -> server frames).
// The input (after one control byte) is fed three ways -- at once, in pieces whose sizes come
// from the control byte, and with a pause after every message followed by resume() -- and the
// three must report the same events. Payload views must stay inside what was fed, messages
// within the size limit, and text messages valid UTF-8.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "protocol/protobuf_wire.hpp"
#include "protocol/ws_frame.hpp"

namespace {

using wps::protocol::ws::FrameReader;
using wps::protocol::ws::ReadEvent;

constexpr std::size_t kLimit = 4096;

void check(bool condition) {
  if (!condition)
    std::abort();
}

struct Event {
  ReadEvent::Kind kind;
  bool binary;
  std::string payload;
  std::uint16_t code;
  bool operator==(const Event&) const = default;
};

std::vector<Event> run(const std::string& input, std::size_t step, bool pause) {
  FrameReader reader(kLimit);
  std::vector<Event> events;
  auto sink = [&](const ReadEvent& e) {
    if (e.kind == ReadEvent::Kind::message) {
      check(e.payload.size() <= kLimit);
      if (!e.binary)
        check(wps::protocol::protobuf::wire::is_valid_utf8(e.payload));
    }
    if (e.kind == ReadEvent::Kind::error)
      check(e.code == 1002 || e.code == 1007 || e.code == 1009);
    if (e.kind == ReadEvent::Kind::ping || e.kind == ReadEvent::Kind::pong)
      check(e.payload.size() <= 125);
    events.push_back(Event{e.kind, e.binary, std::string(e.payload), e.code});
    return !(pause && e.kind == ReadEvent::Kind::message);
  };
  std::string copy = input;
  std::size_t pos = 0;
  while (pos < copy.size()) {
    const std::size_t n = std::min(step, copy.size() - pos);
    reader.feed(std::span<char>(copy.data() + pos, n), sink);
    while (pause && reader.has_buffered() && !reader.done()) {
      const std::size_t before = events.size();
      reader.resume(sink);
      if (events.size() == before)
        break;  // only a partial frame is left
    }
    pos += n;
  }
  return events;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0)
    return 0;
  const std::size_t step = 1 + data[0] % 37;
  const std::string input(reinterpret_cast<const char*>(data + 1), size - 1);
  const std::vector<Event> whole = run(input, input.size() + 1, false);
  check(run(input, step, false) == whole);
  check(run(input, step, true) == whole);
  return 0;
}
