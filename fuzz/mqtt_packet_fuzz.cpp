// libFuzzer target for the MQTT packet reader (client -> server bytes over WebSocket).
// The first input byte chooses the protocol level (bit 0: 3.1.1 or 5.0) and a piece size; the
// rest is fed at once and in pieces, which must yield the same packets and the same error.
// Every packet decoded re-encodes to bytes that decode to the same packet (and the same bytes
// again), and errors carry one of the reason codes the reader may give.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "protocol/mqtt.hpp"

namespace {

using namespace wps::protocol::mqtt;

constexpr std::size_t kLimit = 8192;

void check(bool condition) {
  if (!condition)
    std::abort();
}

struct Outcome {
  std::vector<Packet> packets;
  std::optional<std::uint8_t> error;
  bool operator==(const Outcome&) const = default;
};

Outcome run(const std::string& input, std::uint8_t level, std::size_t step) {
  Reader reader(kLimit);
  reader.set_level(level);
  Outcome out;
  for (std::size_t pos = 0; pos < input.size() && !out.error; pos += step) {
    reader.feed(std::string_view(input).substr(pos, step));
    for (;;) {
      auto r = reader.next();
      if (r.kind == Reader::Result::Kind::need_more)
        break;
      if (r.kind == Reader::Result::Kind::error) {
        const std::uint8_t c = r.error.code;
        check(c == reason::malformed_packet || c == reason::protocol_error ||
              c == reason::packet_too_large || c == reason::unsupported_protocol_version ||
              c == reason::topic_name_invalid);
        check(!r.error.message.empty());
        out.error = c;
        break;
      }
      out.packets.push_back(*r.packet);
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0)
    return 0;
  const std::uint8_t level = (data[0] & 1) ? k_level_5 : k_level_311;
  const std::size_t step = 1 + (data[0] >> 1) % 23;
  const std::string input(reinterpret_cast<const char*>(data + 1), size - 1);
  const Outcome whole = run(input, level, input.size() + 1);
  check(run(input, level, step) == whole);
  for (const Packet& packet : whole.packets) {
    const std::uint8_t own =
        std::holds_alternative<Connect>(packet) ? std::get<Connect>(packet).level : level;
    const std::string wire = encode(packet, own);
    Reader again(wire.size());
    again.set_level(own);
    again.feed(wire);
    auto r = again.next();
    check(r.kind == Reader::Result::Kind::packet);
    check(*r.packet == packet);
    check(encode(*r.packet, own) == wire);
    if (const auto* publish = std::get_if<Publish>(&packet); publish && publish->qos == 0) {
      auto requalified = requalify_publish(wire, own, 1, 1, 1);
      check(requalified.has_value());
    }
  }
  return 0;
}
