// libFuzzer target for what a node reads back of a reliable session from Redis
// (src/redis/session_codec.hpp): the stored state (JSON) and a logged publication's header.
// Anyone who can reach Redis may write them. Parsing must never crash; a state that decodes
// must encode to text that decodes to the same state.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "redis/session_codec.hpp"

namespace {
void check(bool condition) {
  if (!condition)
    std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  if (auto header = wps::redis::split_logged(input)) {
    check(header->seq != 0 || header->envelope.empty());
    check(header->envelope.size() < input.size());
  }
  const auto state = wps::redis::decode_session_state(input);
  if (!state)
    return 0;
  const std::string again = wps::redis::encode_session_state(*state);
  const auto second = wps::redis::decode_session_state(again);
  check(second.has_value());
  check(second->hub == state->hub && second->connection_id == state->connection_id &&
        second->user_id == state->user_id && second->kind == state->kind &&
        second->roles == state->roles && second->groups == state->groups &&
        second->ack_ids == state->ack_ids && second->acked == state->acked);
  check(wps::redis::encode_session_state(*second) == again);
  return 0;
}
