// libFuzzer target for the cluster envelope decoder (src/redis/envelope.hpp): nodes read these
// from Redis, which anyone who can reach it may write to. Decoding must never crash; whatever
// decodes must encode again to bytes that decode to the same envelope (a round trip is stable).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>

#include "redis/envelope.hpp"

namespace {

void check(bool condition) {
  if (!condition)
    std::abort();
}

std::string reencode(const wps::redis::Envelope& e, std::chrono::steady_clock::time_point now) {
  using namespace wps::redis;
  if (const auto* p = std::get_if<PublicationEnvelope>(&e))
    return encode_publication(p->origin, p->publication, now);
  if (const auto* c = std::get_if<CommandEnvelope>(&e))
    return encode_command(c->origin, c->request_id, c->command);
  const auto& r = std::get<ReplyEnvelope>(e);
  return encode_reply(r.origin, r.request_id, r.result);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto now = std::chrono::steady_clock::now();
  const wps::redis::DecodeResult first = wps::redis::decode_envelope(input, now);
  check(first.envelope.has_value() == first.error.empty());
  if (!first.envelope)
    return 0;
  const std::string again = reencode(*first.envelope, now);
  const wps::redis::DecodeResult second = wps::redis::decode_envelope(again, now);
  check(second.envelope.has_value());
  check(second.envelope->index() == first.envelope->index());
  // Filters are re-parsed, TTLs re-based: compare the bytes of a second round trip.
  check(reencode(*second.envelope, now) == again);
  return 0;
}
