#pragma once
// The compact binary envelope in which nodes exchange publications, management commands and
// their replies over Redis. Pure: bytes in, typed values out; decode never throws and rejects
// anything malformed (it is network input: a Redis server is shared and may be written to by
// anyone who can reach it).
//
// Layout: u8 version (1, or 2 for a publication with metadata), u8 kind, string origin node id,
// then the body of the kind. Integers are LEB128 varints, strings a varint length then the bytes,
// optionals a 0/1 byte first.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "core/broker.hpp"
#include "core/cluster.hpp"

namespace wps::redis {

inline constexpr std::uint8_t kEnvelopeVersion = 1;
// A publication whose message carries client metadata (spec §6.10) or is part of a group stream
// (§6.8): version 1's publication body, then a varint count of metadata entries and each entry's
// key and value, then a flag and, when set, the stream info (id, sequence id, end flag, error
// flag and then name, message, optional userErrorCode). Written only for such messages, so a
// cluster that never sees these preview features still speaks version 1 only.
inline constexpr std::uint8_t kEnvelopeVersionMetadata = 2;
// A publication from an MQTT 5.0 publisher (its properties pass to MQTT 5.0 subscribers, spec
// mqtt §10.4): version 2's body, then the optional Payload Format Indicator, Content Type,
// Response Topic, Correlation Data and a varint count of User Properties with each name and
// value. Written only for such messages.
inline constexpr std::uint8_t kEnvelopeVersionMqtt = 3;

struct PublicationEnvelope {
  std::string origin;  // node id of the publisher
  core::Publication publication;
};
struct CommandEnvelope {
  std::string origin;  // node id that waits for the reply
  std::uint64_t request_id = 0;
  core::Command command;
};
struct ReplyEnvelope {
  std::string origin;  // node id that ran the command
  std::uint64_t request_id = 0;
  core::CommandResult result;
};
using Envelope = std::variant<PublicationEnvelope, CommandEnvelope, ReplyEnvelope>;

// A message's expiry travels as the time it has left (steady clocks differ between machines).
std::string encode_publication(std::string_view origin, const core::Publication& publication,
                               std::chrono::steady_clock::time_point now);
std::string encode_command(std::string_view origin, std::uint64_t request_id,
                           const core::Command& command);
std::string encode_reply(std::string_view origin, std::uint64_t request_id,
                         const core::CommandResult& result);

struct DecodeResult {
  std::optional<Envelope> envelope;  // set on success
  std::string error;                 // why not, in a few words
};
DecodeResult decode_envelope(std::string_view bytes, std::chrono::steady_clock::time_point now);

}  // namespace wps::redis
