#pragma once
// The stored form of a reliable session's state (core::SessionState) and of a logged
// publication's pub/sub header. Both are read back from Redis, written by any node of the
// cluster (or by anyone with access to Redis): parsing is strict and bounded, and anything
// malformed is refused (nullopt), never trusted.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/session_store.hpp"

namespace wps::redis {

// JSON: {"v":1,"hub":..,"id":..,"user":..|null,"kind":"json.reliable.webpubsub.azure.v1",
// "roles":[..],"groups":[..],"ackIds":[..],"acked":N}. The token is stored beside it (the claim
// compares it inside Redis), not in it.
std::string encode_session_state(const core::SessionState& state);
// nullopt: not a session state of this version, or out of bounds (sizes, kinds). `token` is
// left empty.
std::optional<core::SessionState> decode_session_state(std::string_view text);

// A logged publication's pub/sub payload: 0xFF, the decimal log sequence, ':', the envelope.
inline constexpr char kLoggedMarker = '\xFF';
struct LoggedHeader {
  std::uint64_t seq = 0;
  std::string_view envelope;
};
// nullopt: `payload` does not start with the marker; a malformed header gives seq 0.
std::optional<LoggedHeader> split_logged(std::string_view payload);

}  // namespace wps::redis
