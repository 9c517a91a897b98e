#pragma once
// MQTT 3.1.1 (protocol level 4) and 5.0 (level 5) control packets: typed values, an incremental
// reader that cuts a byte stream into packets and decodes them, and the encoder. Pure: no I/O,
// no clock. The packet layouts are those of the OASIS standards; docs/PROTOCOL.md ("MQTT") says
// how the server uses them. Strings are kept as bytes (validated UTF-8 where the standard says
// "UTF-8 Encoded String").

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "protocol/messages.hpp"

namespace wps::protocol::mqtt {

inline constexpr std::uint8_t k_level_311 = 4;
inline constexpr std::uint8_t k_level_5 = 5;

enum class PacketType : std::uint8_t {
  connect = 1,
  connack = 2,
  publish = 3,
  puback = 4,
  pubrec = 5,
  pubrel = 6,
  pubcomp = 7,
  subscribe = 8,
  suback = 9,
  unsubscribe = 10,
  unsuback = 11,
  pingreq = 12,
  pingresp = 13,
  disconnect = 14,
  auth = 15,
};

// MQTT 5.0 reason codes the server sends or reads (S14 2.4); 3.1.1 CONNACK return codes are
// separate (connack_311).
namespace reason {
inline constexpr std::uint8_t success = 0x00;
inline constexpr std::uint8_t granted_qos1 = 0x01;
inline constexpr std::uint8_t granted_qos2 = 0x02;
inline constexpr std::uint8_t disconnect_with_will = 0x04;
inline constexpr std::uint8_t no_matching_subscribers = 0x10;
inline constexpr std::uint8_t no_subscription_existed = 0x11;
inline constexpr std::uint8_t unspecified_error = 0x80;
inline constexpr std::uint8_t malformed_packet = 0x81;
inline constexpr std::uint8_t protocol_error = 0x82;
inline constexpr std::uint8_t implementation_specific_error = 0x83;
inline constexpr std::uint8_t unsupported_protocol_version = 0x84;
inline constexpr std::uint8_t client_identifier_not_valid = 0x85;
inline constexpr std::uint8_t bad_user_name_or_password = 0x86;
inline constexpr std::uint8_t not_authorized = 0x87;
inline constexpr std::uint8_t server_unavailable = 0x88;
inline constexpr std::uint8_t server_busy = 0x89;
inline constexpr std::uint8_t banned = 0x8A;
inline constexpr std::uint8_t server_shutting_down = 0x8B;
inline constexpr std::uint8_t bad_authentication_method = 0x8C;
inline constexpr std::uint8_t keep_alive_timeout = 0x8D;
inline constexpr std::uint8_t session_taken_over = 0x8E;
inline constexpr std::uint8_t topic_filter_invalid = 0x8F;
inline constexpr std::uint8_t topic_name_invalid = 0x90;
inline constexpr std::uint8_t packet_identifier_in_use = 0x91;
inline constexpr std::uint8_t packet_identifier_not_found = 0x92;
inline constexpr std::uint8_t receive_maximum_exceeded = 0x93;
inline constexpr std::uint8_t topic_alias_invalid = 0x94;
inline constexpr std::uint8_t packet_too_large = 0x95;
inline constexpr std::uint8_t quota_exceeded = 0x97;
inline constexpr std::uint8_t qos_not_supported = 0x9B;
inline constexpr std::uint8_t administrative_action = 0x98;
inline constexpr std::uint8_t payload_format_invalid = 0x99;
inline constexpr std::uint8_t retain_not_supported = 0x9A;
inline constexpr std::uint8_t shared_subscriptions_not_supported = 0x9E;
inline constexpr std::uint8_t wildcard_subscriptions_not_supported = 0xA2;
}  // namespace reason

// MQTT 3.1.1 CONNACK return codes (S13 3.2.2.3).
namespace connack_311 {
inline constexpr std::uint8_t accepted = 0;
inline constexpr std::uint8_t unacceptable_protocol_version = 1;
inline constexpr std::uint8_t identifier_rejected = 2;
inline constexpr std::uint8_t server_unavailable = 3;
inline constexpr std::uint8_t bad_user_name_or_password = 4;
inline constexpr std::uint8_t not_authorized = 5;
}  // namespace connack_311

// The 3.1.1 CONNACK return code closest to a 5.0 CONNACK reason code.
std::uint8_t connack_code_311(std::uint8_t reason_5) noexcept;

struct UserProperty {
  std::string name;
  std::string value;
  bool operator==(const UserProperty&) const = default;
};

// MQTT 5.0 properties (S14 2.2.2); each packet type allows its own subset, which the reader
// enforces. Absent = not present on the wire. 3.1.1 packets have none.
struct Properties {
  std::optional<std::uint8_t> payload_format_indicator;            // 0x01
  std::optional<std::uint32_t> message_expiry_interval;            // 0x02
  std::optional<std::string> content_type;                         // 0x03
  std::optional<std::string> response_topic;                       // 0x08
  std::optional<std::string> correlation_data;                     // 0x09 (binary)
  std::vector<std::uint32_t> subscription_identifiers;             // 0x0B (several in a PUBLISH)
  std::optional<std::uint32_t> session_expiry_interval;            // 0x11
  std::optional<std::string> assigned_client_identifier;           // 0x12
  std::optional<std::uint16_t> server_keep_alive;                  // 0x13
  std::optional<std::string> authentication_method;                // 0x15
  std::optional<std::string> authentication_data;                  // 0x16 (binary)
  std::optional<std::uint8_t> request_problem_information;         // 0x17
  std::optional<std::uint32_t> will_delay_interval;                // 0x18
  std::optional<std::uint8_t> request_response_information;        // 0x19
  std::optional<std::string> response_information;                 // 0x1A
  std::optional<std::string> server_reference;                     // 0x1C
  std::optional<std::string> reason_string;                        // 0x1F
  std::optional<std::uint16_t> receive_maximum;                    // 0x21
  std::optional<std::uint16_t> topic_alias_maximum;                // 0x22
  std::optional<std::uint16_t> topic_alias;                        // 0x23
  std::optional<std::uint8_t> maximum_qos;                         // 0x24
  std::optional<std::uint8_t> retain_available;                    // 0x25
  std::vector<UserProperty> user_properties;                       // 0x26
  std::optional<std::uint32_t> maximum_packet_size;                // 0x27
  std::optional<std::uint8_t> wildcard_subscription_available;     // 0x28
  std::optional<std::uint8_t> subscription_identifiers_available;  // 0x29
  std::optional<std::uint8_t> shared_subscription_available;       // 0x2A
  bool operator==(const Properties&) const = default;
};

struct Will {
  std::uint8_t qos = 0;
  bool retain = false;
  Properties properties;  // 5.0 will properties
  std::string topic;
  std::string payload;
  bool operator==(const Will&) const = default;
};

struct Connect {
  std::uint8_t level = k_level_5;  // 4 = 3.1.1, 5 = 5.0
  bool clean_start = true;         // 3.1.1: Clean Session
  std::uint16_t keep_alive = 0;
  Properties properties;
  std::string client_id;
  std::optional<Will> will;
  std::optional<std::string> username;
  std::optional<std::string> password;  // binary
  bool operator==(const Connect&) const = default;
};

struct Connack {
  bool session_present = false;
  std::uint8_t code = 0;  // 3.1.1 return code or 5.0 reason code
  Properties properties;
  bool operator==(const Connack&) const = default;
};

struct Publish {
  bool dup = false;
  std::uint8_t qos = 0;
  bool retain = false;
  std::string topic;
  std::uint16_t packet_id = 0;  // QoS > 0 only
  Properties properties;
  std::string payload;
  bool operator==(const Publish&) const = default;
};

// PUBACK, PUBREC, PUBREL, PUBCOMP.
struct PubResponse {
  PacketType type = PacketType::puback;
  std::uint16_t packet_id = 0;
  std::uint8_t code = 0;  // 5.0 only
  Properties properties;
  bool operator==(const PubResponse&) const = default;
};

struct SubscribeTopic {
  std::string filter;
  std::uint8_t qos = 0;
  bool no_local = false;             // 5.0
  bool retain_as_published = false;  // 5.0
  std::uint8_t retain_handling = 0;  // 5.0
  bool operator==(const SubscribeTopic&) const = default;
};

struct Subscribe {
  std::uint16_t packet_id = 0;
  Properties properties;
  std::vector<SubscribeTopic> topics;
  bool operator==(const Subscribe&) const = default;
};

// SUBACK and UNSUBACK (3.1.1 UNSUBACK has no codes).
struct SubResponse {
  PacketType type = PacketType::suback;
  std::uint16_t packet_id = 0;
  Properties properties;
  std::vector<std::uint8_t> codes;
  bool operator==(const SubResponse&) const = default;
};

struct Unsubscribe {
  std::uint16_t packet_id = 0;
  Properties properties;
  std::vector<std::string> filters;
  bool operator==(const Unsubscribe&) const = default;
};

struct PingReq {
  bool operator==(const PingReq&) const = default;
};
struct PingResp {
  bool operator==(const PingResp&) const = default;
};

// DISCONNECT and AUTH (5.0: reason code and properties; 3.1.1 DISCONNECT: empty).
struct Disconnect {
  std::uint8_t code = 0;
  Properties properties;
  bool operator==(const Disconnect&) const = default;
};
struct Auth {
  std::uint8_t code = 0;
  Properties properties;
  bool operator==(const Auth&) const = default;
};

using Packet = std::variant<Connect, Connack, Publish, PubResponse, Subscribe, SubResponse,
                            Unsubscribe, PingReq, PingResp, Disconnect, Auth>;

// Why input could not be read: the 5.0 reason code (malformed_packet, protocol_error,
// packet_too_large, unsupported_protocol_version, topic_alias_invalid...) and a message for
// logs and the Reason String (under 100 bytes).
struct Error {
  std::uint8_t code = reason::malformed_packet;
  std::string message;
};

// Decodes one whole packet: `first` is the fixed header's first byte, `body` the bytes after the
// Remaining Length. `level` is the connection's protocol level (4 or 5); a CONNECT carries its
// own and ignores it.
std::variant<Packet, Error> decode_packet(std::uint8_t first, std::string_view body,
                                          std::uint8_t level);

// Cuts a byte stream (WebSocket binary messages, which need not align with packets) into
// packets. A packet larger than `max_packet_bytes` (whole, fixed header included) fails as
// packet_too_large as soon as its header is read, without buffering it. After an error the
// reader stays failed.
class Reader {
 public:
  explicit Reader(std::size_t max_packet_bytes) : max_packet_bytes_(max_packet_bytes) {}

  // The protocol level packets after CONNECT are decoded with (set once CONNECT is read).
  void set_level(std::uint8_t level) { level_ = level; }
  std::uint8_t level() const { return level_; }

  void feed(std::string_view bytes);

  struct Result {
    enum class Kind { need_more, packet, error } kind = Kind::need_more;
    std::optional<Packet> packet;
    Error error;
  };
  // The next whole packet, or need_more, or the error.
  Result next();

  // Bytes buffered but not yet returned as packets.
  std::size_t buffered() const { return buffer_.size() - offset_; }

 private:
  const std::size_t max_packet_bytes_;
  std::uint8_t level_ = k_level_5;
  std::string buffer_;
  std::size_t offset_ = 0;
  std::optional<Error> failed_;
};

// Encodes `packet` for protocol `level`: 3.1.1 omits properties and 5.0-only fields (a 3.1.1
// PUBACK/UNSUBACK has no code, a 3.1.1 DISCONNECT is empty). Never fails; the caller keeps
// sizes within the standard's bounds.
std::string encode(const Packet& packet, std::uint8_t level);

// `packet` (an encoded QoS 0 PUBLISH of `level`) re-issued at `qos` with `packet_id` and, for
// 5.0, `subscription_id` (0 = none) added to its properties: what one subscriber receives of a
// message encoded once for all. nullopt when `packet` is not a QoS 0 PUBLISH.
std::optional<std::string> requalify_publish(std::string_view packet, std::uint8_t level,
                                             std::uint8_t qos, std::uint16_t packet_id,
                                             std::uint32_t subscription_id);

// The topic of an encoded PUBLISH (a view into `packet`); nullopt when it is not one.
std::optional<std::string_view> publish_topic(std::string_view packet) noexcept;

// Topic names and filters as this server allows them (a topic is a group name): whether
// `filter` holds MQTT wildcards (`+`, `#`) or is a shared subscription (`$share/...`).
bool has_wildcard(std::string_view filter) noexcept;
bool is_shared_subscription(std::string_view filter) noexcept;

// The Web PubSub data type of an MQTT payload (spec mqtt §10.1): by the 5.0 Content Type's media
// type, case-insensitively (application/json, text/plain, application/x-protobuf); anything
// else, no content type, and every 3.1.1 payload are binary. JSON that does not parse and text
// that is not UTF-8 are binary too.
DataType data_type_of(const std::optional<std::string>& content_type, std::string_view payload);
// The 5.0 Content Type a data type is announced with.
std::string_view content_type_of(DataType type) noexcept;

}  // namespace wps::protocol::mqtt
