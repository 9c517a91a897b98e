#include "protocol/mqtt.hpp"

#include <array>
#include <boost/json/parse.hpp>

#include "protocol/protobuf_wire.hpp"
#include "util/text.hpp"

namespace wps::protocol::mqtt {

namespace {

// ---- property table (S14 2.2.2.2) ---------------------------------------------------------

enum class PropKind : std::uint8_t { none, byte, u16, u32, varint, utf8, binary, pair };

// Where a property may appear: a bit per packet type, bit 0 for the will properties.
constexpr std::uint16_t bit(PacketType type) {
  return static_cast<std::uint16_t>(1u << static_cast<unsigned>(type));
}
constexpr std::uint16_t k_will = 1;

struct PropInfo {
  PropKind kind = PropKind::none;
  std::uint16_t allowed = 0;
};

constexpr std::array<PropInfo, 0x2B> make_table() {
  std::array<PropInfo, 0x2B> t{};
  const std::uint16_t pub = bit(PacketType::publish);
  const std::uint16_t acks = bit(PacketType::puback) | bit(PacketType::pubrec) |
                             bit(PacketType::pubrel) | bit(PacketType::pubcomp);
  const std::uint16_t ca = bit(PacketType::connack);
  const std::uint16_t co = bit(PacketType::connect);
  const std::uint16_t di = bit(PacketType::disconnect);
  const std::uint16_t au = bit(PacketType::auth);
  t[0x01] = {PropKind::byte, static_cast<std::uint16_t>(pub | k_will)};
  t[0x02] = {PropKind::u32, static_cast<std::uint16_t>(pub | k_will)};
  t[0x03] = {PropKind::utf8, static_cast<std::uint16_t>(pub | k_will)};
  t[0x08] = {PropKind::utf8, static_cast<std::uint16_t>(pub | k_will)};
  t[0x09] = {PropKind::binary, static_cast<std::uint16_t>(pub | k_will)};
  t[0x0B] = {PropKind::varint, static_cast<std::uint16_t>(pub | bit(PacketType::subscribe))};
  t[0x11] = {PropKind::u32, static_cast<std::uint16_t>(co | ca | di)};
  t[0x12] = {PropKind::utf8, ca};
  t[0x13] = {PropKind::u16, ca};
  t[0x15] = {PropKind::utf8, static_cast<std::uint16_t>(co | ca | au)};
  t[0x16] = {PropKind::binary, static_cast<std::uint16_t>(co | ca | au)};
  t[0x17] = {PropKind::byte, co};
  t[0x18] = {PropKind::u32, k_will};
  t[0x19] = {PropKind::byte, co};
  t[0x1A] = {PropKind::utf8, ca};
  t[0x1C] = {PropKind::utf8, static_cast<std::uint16_t>(ca | di)};
  t[0x1F] = {PropKind::utf8, static_cast<std::uint16_t>(ca | acks | bit(PacketType::suback) |
                                                        bit(PacketType::unsuback) | di | au)};
  t[0x21] = {PropKind::u16, static_cast<std::uint16_t>(co | ca)};
  t[0x22] = {PropKind::u16, static_cast<std::uint16_t>(co | ca)};
  t[0x23] = {PropKind::u16, pub};
  t[0x24] = {PropKind::byte, ca};
  t[0x25] = {PropKind::byte, ca};
  t[0x26] = {PropKind::pair, 0xFFFF};
  t[0x27] = {PropKind::u32, static_cast<std::uint16_t>(co | ca)};
  t[0x28] = {PropKind::byte, ca};
  t[0x29] = {PropKind::byte, ca};
  t[0x2A] = {PropKind::byte, ca};
  return t;
}
constexpr std::array<PropInfo, 0x2B> k_props = make_table();

// ---- reading ------------------------------------------------------------------------------

struct Failure {
  Error error;
};

Failure malformed(std::string message) {
  return Failure{Error{reason::malformed_packet, std::move(message)}};
}
Failure protocol_error(std::string message) {
  return Failure{Error{reason::protocol_error, std::move(message)}};
}

// A cursor over one packet's body; every read throws Failure past the end (caught in
// decode_packet: no exception leaves this file).
class In {
 public:
  explicit In(std::string_view data) : data_(data) {}
  bool empty() const { return pos_ == data_.size(); }
  std::size_t left() const { return data_.size() - pos_; }

  std::uint8_t byte() {
    need(1);
    return static_cast<std::uint8_t>(data_[pos_++]);
  }
  std::uint16_t u16() {
    need(2);
    const auto hi = static_cast<std::uint8_t>(data_[pos_]);
    const auto lo = static_cast<std::uint8_t>(data_[pos_ + 1]);
    pos_ += 2;
    return static_cast<std::uint16_t>((hi << 8) | lo);
  }
  std::uint32_t u32() {
    const std::uint32_t hi = u16();
    return (hi << 16) | u16();
  }
  std::uint32_t varint() {
    std::uint32_t value = 0;
    for (int i = 0; i < 4; ++i) {
      const std::uint8_t b = byte();
      value |= static_cast<std::uint32_t>(b & 0x7F) << (7 * i);
      if ((b & 0x80) == 0)
        return value;
    }
    throw malformed("Variable byte integer longer than 4 bytes.");
  }
  std::string_view raw(std::size_t n) {
    need(n);
    std::string_view out = data_.substr(pos_, n);
    pos_ += n;
    return out;
  }
  std::string binary() { return std::string(raw(u16())); }
  std::string utf8() {
    std::string_view s = raw(u16());
    if (!protobuf::wire::is_valid_utf8(s) || s.find('\0') != std::string_view::npos)
      throw malformed("Invalid UTF-8 string.");
    return std::string(s);
  }
  std::string_view rest() { return raw(left()); }

 private:
  void need(std::size_t n) const {
    if (left() < n)
      throw malformed("Packet shorter than its contents.");
  }
  std::string_view data_;
  std::size_t pos_ = 0;
};

template <class T>
void set_once(std::optional<T>& field, T value) {
  if (field)
    throw protocol_error("Property given twice.");
  field = std::move(value);
}

std::uint8_t bool_byte(In& in) {
  const std::uint8_t v = in.byte();
  if (v > 1)
    throw protocol_error("Property value must be 0 or 1.");
  return v;
}

Properties read_properties(In& outer, std::uint16_t where) {
  Properties p;
  const std::uint32_t length = outer.varint();
  In in(outer.raw(length));
  while (!in.empty()) {
    const std::uint32_t id = in.varint();
    if (id >= k_props.size() || k_props[id].kind == PropKind::none)
      throw malformed("Unknown property.");
    if ((k_props[id].allowed & where) == 0)
      throw protocol_error("Property not allowed in this packet.");
    switch (id) {
      case 0x01:
        set_once(p.payload_format_indicator, bool_byte(in));
        break;
      case 0x02:
        set_once(p.message_expiry_interval, in.u32());
        break;
      case 0x03:
        set_once(p.content_type, in.utf8());
        break;
      case 0x08:
        set_once(p.response_topic, in.utf8());
        break;
      case 0x09:
        set_once(p.correlation_data, in.binary());
        break;
      case 0x0B: {
        const std::uint32_t sid = in.varint();
        if (sid == 0)
          throw protocol_error("Subscription identifier 0.");
        if (where == bit(PacketType::subscribe) && !p.subscription_identifiers.empty())
          throw protocol_error("Property given twice.");
        p.subscription_identifiers.push_back(sid);
        break;
      }
      case 0x11:
        set_once(p.session_expiry_interval, in.u32());
        break;
      case 0x12:
        set_once(p.assigned_client_identifier, in.utf8());
        break;
      case 0x13:
        set_once(p.server_keep_alive, in.u16());
        break;
      case 0x15:
        set_once(p.authentication_method, in.utf8());
        break;
      case 0x16:
        set_once(p.authentication_data, in.binary());
        break;
      case 0x17:
        set_once(p.request_problem_information, bool_byte(in));
        break;
      case 0x18:
        set_once(p.will_delay_interval, in.u32());
        break;
      case 0x19:
        set_once(p.request_response_information, bool_byte(in));
        break;
      case 0x1A:
        set_once(p.response_information, in.utf8());
        break;
      case 0x1C:
        set_once(p.server_reference, in.utf8());
        break;
      case 0x1F:
        set_once(p.reason_string, in.utf8());
        break;
      case 0x21: {
        const std::uint16_t v = in.u16();
        if (v == 0)
          throw protocol_error("Receive Maximum 0.");
        set_once(p.receive_maximum, v);
        break;
      }
      case 0x22:
        set_once(p.topic_alias_maximum, in.u16());
        break;
      case 0x23:
        set_once(p.topic_alias, in.u16());
        break;
      case 0x24:
        set_once(p.maximum_qos, bool_byte(in));
        break;
      case 0x25:
        set_once(p.retain_available, bool_byte(in));
        break;
      case 0x26: {
        std::string name = in.utf8();
        std::string value = in.utf8();
        p.user_properties.push_back(UserProperty{std::move(name), std::move(value)});
        break;
      }
      case 0x27: {
        const std::uint32_t v = in.u32();
        if (v == 0)
          throw protocol_error("Maximum Packet Size 0.");
        set_once(p.maximum_packet_size, v);
        break;
      }
      case 0x28:
        set_once(p.wildcard_subscription_available, bool_byte(in));
        break;
      case 0x29:
        set_once(p.subscription_identifiers_available, bool_byte(in));
        break;
      case 0x2A:
        set_once(p.shared_subscription_available, bool_byte(in));
        break;
      default:
        throw malformed("Unknown property.");
    }
  }
  return p;
}

void expect_flags(std::uint8_t first, std::uint8_t flags) {
  if ((first & 0x0F) != flags)
    throw malformed("Invalid fixed header flags.");
}

void expect_end(const In& in) {
  if (!in.empty())
    throw malformed("Packet longer than its contents.");
}

Connect read_connect(In& in) {
  Connect c;
  const std::string name = in.binary();
  c.level = in.byte();
  if (name != "MQTT") {
    if (name == "MQIsdp")
      throw Failure{Error{reason::unsupported_protocol_version, "MQTT 3.1 is not supported."}};
    throw protocol_error("Unknown protocol name.");
  }
  if (c.level != k_level_311 && c.level != k_level_5)
    throw Failure{Error{reason::unsupported_protocol_version,
                        "Unsupported protocol level " + std::to_string(c.level) + "."}};
  const std::uint8_t flags = in.byte();
  if (flags & 0x01)
    throw malformed("Reserved CONNECT flag set.");
  c.clean_start = (flags & 0x02) != 0;
  const bool will = (flags & 0x04) != 0;
  const std::uint8_t will_qos = (flags >> 3) & 0x03;
  const bool will_retain = (flags & 0x20) != 0;
  const bool has_password = (flags & 0x40) != 0;
  const bool has_username = (flags & 0x80) != 0;
  if (will_qos == 3)
    throw malformed("Will QoS 3.");
  if (!will && (will_qos != 0 || will_retain))
    throw malformed("Will QoS or retain without a will.");
  if (c.level == k_level_311 && has_password && !has_username)
    throw protocol_error("Password without user name.");
  c.keep_alive = in.u16();
  if (c.level == k_level_5)
    c.properties = read_properties(in, bit(PacketType::connect));
  c.client_id = in.utf8();
  if (will) {
    Will w;
    w.qos = will_qos;
    w.retain = will_retain;
    if (c.level == k_level_5)
      w.properties = read_properties(in, k_will);
    w.topic = in.utf8();
    w.payload = in.binary();
    c.will = std::move(w);
  }
  if (has_username)
    c.username = in.utf8();
  if (has_password)
    c.password = in.binary();
  expect_end(in);
  return c;
}

Publish read_publish(std::uint8_t first, In& in, std::uint8_t level) {
  Publish p;
  p.dup = (first & 0x08) != 0;
  p.qos = (first >> 1) & 0x03;
  p.retain = (first & 0x01) != 0;
  if (p.qos == 3)
    throw malformed("PUBLISH QoS 3.");
  if (p.qos == 0 && p.dup)
    throw malformed("DUP set on a QoS 0 PUBLISH.");
  p.topic = in.utf8();
  if (p.topic.find_first_of("+#") != std::string::npos)
    throw Failure{Error{reason::topic_name_invalid, "Wildcard in a topic name."}};
  if (p.qos > 0) {
    p.packet_id = in.u16();
    if (p.packet_id == 0)
      throw malformed("Packet identifier 0.");
  }
  if (level == k_level_5)
    p.properties = read_properties(in, bit(PacketType::publish));
  if (p.topic.empty() && !(level == k_level_5 && p.properties.topic_alias))
    throw protocol_error("Empty topic name.");
  p.payload = std::string(in.rest());
  return p;
}

PubResponse read_pub_response(PacketType type, In& in, std::uint8_t level) {
  PubResponse r;
  r.type = type;
  r.packet_id = in.u16();
  if (r.packet_id == 0)
    throw malformed("Packet identifier 0.");
  if (level == k_level_5 && !in.empty()) {
    r.code = in.byte();
    if (!in.empty())
      r.properties = read_properties(in, bit(type));
  }
  expect_end(in);
  return r;
}

Subscribe read_subscribe(In& in, std::uint8_t level) {
  Subscribe s;
  s.packet_id = in.u16();
  if (s.packet_id == 0)
    throw malformed("Packet identifier 0.");
  if (level == k_level_5)
    s.properties = read_properties(in, bit(PacketType::subscribe));
  while (!in.empty()) {
    SubscribeTopic t;
    t.filter = in.utf8();
    if (t.filter.empty())
      throw protocol_error("Empty topic filter.");
    const std::uint8_t options = in.byte();
    t.qos = options & 0x03;
    if (t.qos == 3)
      throw malformed("Subscription QoS 3.");
    if (level == k_level_5) {
      if (options & 0xC0)
        throw malformed("Reserved subscription option bits set.");
      t.no_local = (options & 0x04) != 0;
      t.retain_as_published = (options & 0x08) != 0;
      t.retain_handling = (options >> 4) & 0x03;
      if (t.retain_handling == 3)
        throw protocol_error("Retain Handling 3.");
    } else if (options & 0xFC) {
      throw malformed("Reserved subscription option bits set.");
    }
    s.topics.push_back(std::move(t));
  }
  if (s.topics.empty())
    throw protocol_error("SUBSCRIBE without topic filters.");
  return s;
}

Unsubscribe read_unsubscribe(In& in, std::uint8_t level) {
  Unsubscribe u;
  u.packet_id = in.u16();
  if (u.packet_id == 0)
    throw malformed("Packet identifier 0.");
  if (level == k_level_5)
    u.properties = read_properties(in, bit(PacketType::unsubscribe));
  while (!in.empty()) {
    std::string filter = in.utf8();
    if (filter.empty())
      throw protocol_error("Empty topic filter.");
    u.filters.push_back(std::move(filter));
  }
  if (u.filters.empty())
    throw protocol_error("UNSUBSCRIBE without topic filters.");
  return u;
}

SubResponse read_sub_response(PacketType type, In& in, std::uint8_t level) {
  SubResponse r;
  r.type = type;
  r.packet_id = in.u16();
  if (level == k_level_5)
    r.properties = read_properties(in, bit(type));
  while (!in.empty())
    r.codes.push_back(in.byte());
  if (type == PacketType::suback && r.codes.empty())
    throw protocol_error("SUBACK without codes.");
  if (type == PacketType::unsuback && level == k_level_311 && !r.codes.empty())
    throw malformed("3.1.1 UNSUBACK with codes.");
  return r;
}

Packet read_packet(std::uint8_t first, In& in, std::uint8_t level) {
  const auto type = static_cast<PacketType>(first >> 4);
  switch (type) {
    case PacketType::connect:
      expect_flags(first, 0);
      return read_connect(in);
    case PacketType::connack: {
      expect_flags(first, 0);
      Connack c;
      const std::uint8_t ack_flags = in.byte();
      if (ack_flags & 0xFE)
        throw malformed("Reserved CONNACK flag set.");
      c.session_present = ack_flags != 0;
      c.code = in.byte();
      if (level == k_level_5)
        c.properties = read_properties(in, bit(type));
      expect_end(in);
      return c;
    }
    case PacketType::publish:
      return read_publish(first, in, level);
    case PacketType::puback:
    case PacketType::pubrec:
    case PacketType::pubcomp:
      expect_flags(first, 0);
      return read_pub_response(type, in, level);
    case PacketType::pubrel:
      expect_flags(first, 2);
      return read_pub_response(type, in, level);
    case PacketType::subscribe:
      expect_flags(first, 2);
      return read_subscribe(in, level);
    case PacketType::suback:
    case PacketType::unsuback:
      expect_flags(first, 0);
      return read_sub_response(type, in, level);
    case PacketType::unsubscribe:
      expect_flags(first, 2);
      return read_unsubscribe(in, level);
    case PacketType::pingreq:
      expect_flags(first, 0);
      expect_end(in);
      return PingReq{};
    case PacketType::pingresp:
      expect_flags(first, 0);
      expect_end(in);
      return PingResp{};
    case PacketType::disconnect: {
      expect_flags(first, 0);
      Disconnect d;
      if (level == k_level_5 && !in.empty()) {
        d.code = in.byte();
        if (!in.empty())
          d.properties = read_properties(in, bit(type));
      }
      expect_end(in);
      return d;
    }
    case PacketType::auth: {
      expect_flags(first, 0);
      if (level != k_level_5)
        throw malformed("AUTH in MQTT 3.1.1.");
      Auth a;
      if (!in.empty()) {
        a.code = in.byte();
        if (!in.empty())
          a.properties = read_properties(in, bit(type));
      }
      expect_end(in);
      return a;
    }
  }
  throw malformed("Reserved packet type 0.");
}

// ---- writing ------------------------------------------------------------------------------

void put_u16(std::string& out, std::uint16_t v) {
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v & 0xFF));
}
void put_u32(std::string& out, std::uint32_t v) {
  put_u16(out, static_cast<std::uint16_t>(v >> 16));
  put_u16(out, static_cast<std::uint16_t>(v & 0xFFFF));
}
void put_varint(std::string& out, std::uint32_t v) {
  do {
    std::uint8_t b = v & 0x7F;
    v >>= 7;
    if (v != 0)
      b |= 0x80;
    out.push_back(static_cast<char>(b));
  } while (v != 0);
}
void put_string(std::string& out, std::string_view s) {
  put_u16(out, static_cast<std::uint16_t>(s.size()));
  out.append(s.data(), s.size());
}

void put_properties(std::string& out, const Properties& p) {
  std::string b;
  auto byte = [&](std::uint8_t id, const std::optional<std::uint8_t>& v) {
    if (v) {
      b.push_back(static_cast<char>(id));
      b.push_back(static_cast<char>(*v));
    }
  };
  auto u16 = [&](std::uint8_t id, const std::optional<std::uint16_t>& v) {
    if (v) {
      b.push_back(static_cast<char>(id));
      put_u16(b, *v);
    }
  };
  auto u32 = [&](std::uint8_t id, const std::optional<std::uint32_t>& v) {
    if (v) {
      b.push_back(static_cast<char>(id));
      put_u32(b, *v);
    }
  };
  auto str = [&](std::uint8_t id, const std::optional<std::string>& v) {
    if (v) {
      b.push_back(static_cast<char>(id));
      put_string(b, *v);
    }
  };
  byte(0x01, p.payload_format_indicator);
  u32(0x02, p.message_expiry_interval);
  str(0x03, p.content_type);
  str(0x08, p.response_topic);
  str(0x09, p.correlation_data);
  for (std::uint32_t sid : p.subscription_identifiers) {
    b.push_back(0x0B);
    put_varint(b, sid);
  }
  u32(0x11, p.session_expiry_interval);
  str(0x12, p.assigned_client_identifier);
  u16(0x13, p.server_keep_alive);
  str(0x15, p.authentication_method);
  str(0x16, p.authentication_data);
  byte(0x17, p.request_problem_information);
  u32(0x18, p.will_delay_interval);
  byte(0x19, p.request_response_information);
  str(0x1A, p.response_information);
  str(0x1C, p.server_reference);
  str(0x1F, p.reason_string);
  u16(0x21, p.receive_maximum);
  u16(0x22, p.topic_alias_maximum);
  u16(0x23, p.topic_alias);
  byte(0x24, p.maximum_qos);
  byte(0x25, p.retain_available);
  for (const UserProperty& up : p.user_properties) {
    b.push_back(0x26);
    put_string(b, up.name);
    put_string(b, up.value);
  }
  u32(0x27, p.maximum_packet_size);
  byte(0x28, p.wildcard_subscription_available);
  byte(0x29, p.subscription_identifiers_available);
  byte(0x2A, p.shared_subscription_available);
  put_varint(out, static_cast<std::uint32_t>(b.size()));
  out += b;
}

std::string finish(std::uint8_t first, const std::string& body) {
  std::string out;
  out.reserve(body.size() + 5);
  out.push_back(static_cast<char>(first));
  put_varint(out, static_cast<std::uint32_t>(body.size()));
  out += body;
  return out;
}

std::uint8_t type_bits(PacketType type) {
  return static_cast<std::uint8_t>(static_cast<unsigned>(type) << 4);
}

struct Writer {
  std::uint8_t level;

  std::string operator()(const Connect& c) const {
    std::string b;
    put_string(b, "MQTT");
    b.push_back(static_cast<char>(c.level));
    std::uint8_t flags = 0;
    if (c.clean_start)
      flags |= 0x02;
    if (c.will) {
      flags |= 0x04;
      flags |= static_cast<std::uint8_t>((c.will->qos & 0x03) << 3);
      if (c.will->retain)
        flags |= 0x20;
    }
    if (c.password)
      flags |= 0x40;
    if (c.username)
      flags |= 0x80;
    b.push_back(static_cast<char>(flags));
    put_u16(b, c.keep_alive);
    if (c.level == k_level_5)
      put_properties(b, c.properties);
    put_string(b, c.client_id);
    if (c.will) {
      if (c.level == k_level_5)
        put_properties(b, c.will->properties);
      put_string(b, c.will->topic);
      put_string(b, c.will->payload);
    }
    if (c.username)
      put_string(b, *c.username);
    if (c.password)
      put_string(b, *c.password);
    return finish(type_bits(PacketType::connect), b);
  }
  std::string operator()(const Connack& c) const {
    std::string b;
    b.push_back(c.session_present ? 1 : 0);
    b.push_back(static_cast<char>(c.code));
    if (level == k_level_5)
      put_properties(b, c.properties);
    return finish(type_bits(PacketType::connack), b);
  }
  std::string operator()(const Publish& p) const {
    std::string b;
    put_string(b, p.topic);
    if (p.qos > 0)
      put_u16(b, p.packet_id);
    if (level == k_level_5)
      put_properties(b, p.properties);
    b += p.payload;
    std::uint8_t first = type_bits(PacketType::publish);
    if (p.dup)
      first |= 0x08;
    first |= static_cast<std::uint8_t>((p.qos & 0x03) << 1);
    if (p.retain)
      first |= 0x01;
    return finish(first, b);
  }
  std::string operator()(const PubResponse& r) const {
    std::string b;
    put_u16(b, r.packet_id);
    if (level == k_level_5) {
      b.push_back(static_cast<char>(r.code));
      put_properties(b, r.properties);
    }
    std::uint8_t first = type_bits(r.type);
    if (r.type == PacketType::pubrel)
      first |= 0x02;
    return finish(first, b);
  }
  std::string operator()(const Subscribe& s) const {
    std::string b;
    put_u16(b, s.packet_id);
    if (level == k_level_5)
      put_properties(b, s.properties);
    for (const SubscribeTopic& t : s.topics) {
      put_string(b, t.filter);
      std::uint8_t options = t.qos & 0x03;
      if (level == k_level_5) {
        if (t.no_local)
          options |= 0x04;
        if (t.retain_as_published)
          options |= 0x08;
        options |= static_cast<std::uint8_t>((t.retain_handling & 0x03) << 4);
      }
      b.push_back(static_cast<char>(options));
    }
    return finish(type_bits(PacketType::subscribe) | 0x02, b);
  }
  std::string operator()(const SubResponse& r) const {
    std::string b;
    put_u16(b, r.packet_id);
    if (level == k_level_5)
      put_properties(b, r.properties);
    if (r.type == PacketType::suback || level == k_level_5) {
      for (std::uint8_t code : r.codes)
        b.push_back(static_cast<char>(code));
    }
    return finish(type_bits(r.type), b);
  }
  std::string operator()(const Unsubscribe& u) const {
    std::string b;
    put_u16(b, u.packet_id);
    if (level == k_level_5)
      put_properties(b, u.properties);
    for (const std::string& f : u.filters)
      put_string(b, f);
    return finish(type_bits(PacketType::unsubscribe) | 0x02, b);
  }
  std::string operator()(const PingReq&) const {
    return finish(type_bits(PacketType::pingreq), {});
  }
  std::string operator()(const PingResp&) const {
    return finish(type_bits(PacketType::pingresp), {});
  }
  std::string operator()(const Disconnect& d) const {
    std::string b;
    if (level == k_level_5) {
      b.push_back(static_cast<char>(d.code));
      put_properties(b, d.properties);
    }
    return finish(type_bits(PacketType::disconnect), b);
  }
  std::string operator()(const Auth& a) const {
    std::string b;
    b.push_back(static_cast<char>(a.code));
    put_properties(b, a.properties);
    return finish(type_bits(PacketType::auth), b);
  }
};

}  // namespace

std::uint8_t connack_code_311(std::uint8_t reason_5) noexcept {
  switch (reason_5) {
    case reason::success:
      return connack_311::accepted;
    case reason::unsupported_protocol_version:
      return connack_311::unacceptable_protocol_version;
    case reason::client_identifier_not_valid:
      return connack_311::identifier_rejected;
    case reason::bad_user_name_or_password:
      return connack_311::bad_user_name_or_password;
    case reason::not_authorized:
    case reason::banned:
    case reason::bad_authentication_method:
      return connack_311::not_authorized;
    default:
      return connack_311::server_unavailable;
  }
}

std::variant<Packet, Error> decode_packet(std::uint8_t first, std::string_view body,
                                          std::uint8_t level) {
  try {
    In in(body);
    return read_packet(first, in, level);
  } catch (Failure& failure) {
    return std::move(failure.error);
  }
}

void Reader::feed(std::string_view bytes) {
  if (failed_)
    return;
  if (offset_ > 0 && offset_ == buffer_.size()) {
    buffer_.clear();
    offset_ = 0;
  } else if (offset_ > 4096 && offset_ * 2 > buffer_.size()) {
    buffer_.erase(0, offset_);
    offset_ = 0;
  }
  buffer_.append(bytes.data(), bytes.size());
}

Reader::Result Reader::next() {
  Result result;
  auto fail = [&](Error error) {
    failed_ = error;
    result.kind = Result::Kind::error;
    result.error = std::move(error);
    return result;
  };
  if (failed_)
    return fail(*failed_);
  const std::string_view data = std::string_view(buffer_).substr(offset_);
  if (data.empty())
    return result;
  const auto first = static_cast<std::uint8_t>(data[0]);
  if ((first >> 4) == 0)
    return fail(Error{reason::malformed_packet, "Reserved packet type 0."});
  std::uint32_t length = 0;
  std::size_t pos = 1;
  for (int i = 0;; ++i) {
    if (i == 4)
      return fail(Error{reason::malformed_packet, "Remaining Length longer than 4 bytes."});
    if (pos >= data.size())
      return result;  // need more
    const auto b = static_cast<std::uint8_t>(data[pos++]);
    length |= static_cast<std::uint32_t>(b & 0x7F) << (7 * i);
    if ((b & 0x80) == 0)
      break;
  }
  if (pos + length > max_packet_bytes_)
    return fail(Error{reason::packet_too_large, "Packet of " + std::to_string(pos + length) +
                                                    " bytes exceeds the limit of " +
                                                    std::to_string(max_packet_bytes_) + "."});
  if (data.size() - pos < length)
    return result;
  auto decoded = decode_packet(first, data.substr(pos, length), level_);
  offset_ += pos + length;
  if (auto* error = std::get_if<Error>(&decoded))
    return fail(std::move(*error));
  result.kind = Result::Kind::packet;
  result.packet = std::move(std::get<Packet>(decoded));
  return result;
}

std::string encode(const Packet& packet, std::uint8_t level) {
  return std::visit(Writer{level}, packet);
}

std::optional<std::string> requalify_publish(std::string_view packet, std::uint8_t level,
                                             std::uint8_t qos, std::uint16_t packet_id,
                                             std::uint32_t subscription_id) {
  if (packet.empty() || (static_cast<std::uint8_t>(packet[0]) & 0xF6) != 0x30)
    return std::nullopt;
  std::size_t pos = 1;
  std::uint32_t length = 0;
  for (int i = 0; i < 4 && pos < packet.size(); ++i) {
    const auto b = static_cast<std::uint8_t>(packet[pos++]);
    length |= static_cast<std::uint32_t>(b & 0x7F) << (7 * i);
    if ((b & 0x80) == 0)
      break;
  }
  if (packet.size() - pos != length)
    return std::nullopt;
  auto decoded = decode_packet(static_cast<std::uint8_t>(packet[0]), packet.substr(pos), level);
  auto* parsed = std::get_if<Packet>(&decoded);
  if (parsed == nullptr || !std::holds_alternative<Publish>(*parsed))
    return std::nullopt;
  Publish& publish = std::get<Publish>(*parsed);
  publish.qos = qos;
  publish.packet_id = qos > 0 ? packet_id : 0;
  if (subscription_id != 0 && level == k_level_5)
    publish.properties.subscription_identifiers.push_back(subscription_id);
  return encode(publish, level);
}

std::optional<std::string_view> publish_topic(std::string_view packet) noexcept {
  if (packet.empty() || (static_cast<std::uint8_t>(packet[0]) >> 4) != 3)
    return std::nullopt;
  std::size_t pos = 1;
  while (pos < packet.size() && pos < 5 && (static_cast<std::uint8_t>(packet[pos]) & 0x80))
    ++pos;
  pos += 1;
  if (pos + 2 > packet.size())
    return std::nullopt;
  const std::size_t length =
      (static_cast<std::size_t>(static_cast<std::uint8_t>(packet[pos])) << 8) |
      static_cast<std::uint8_t>(packet[pos + 1]);
  if (pos + 2 + length > packet.size())
    return std::nullopt;
  return packet.substr(pos + 2, length);
}

bool has_wildcard(std::string_view filter) noexcept {
  return filter.find_first_of("+#") != std::string_view::npos;
}

bool is_shared_subscription(std::string_view filter) noexcept {
  return filter.starts_with("$share/");
}

DataType data_type_of(const std::optional<std::string>& content_type, std::string_view payload) {
  if (!content_type)
    return DataType::binary;
  std::string_view media = *content_type;
  media = media.substr(0, media.find(';'));
  while (!media.empty() && (media.back() == ' ' || media.back() == '\t'))
    media.remove_suffix(1);
  while (!media.empty() && (media.front() == ' ' || media.front() == '\t'))
    media.remove_prefix(1);
  if (util::iequals(media, "application/json")) {
    boost::system::error_code ec;
    (void)boost::json::parse(payload, ec);
    return ec ? DataType::binary : DataType::json;
  }
  if (util::iequals(media, "text/plain"))
    return protobuf::wire::is_valid_utf8(payload) ? DataType::text : DataType::binary;
  if (util::iequals(media, "application/x-protobuf"))
    return DataType::protobuf;
  return DataType::binary;
}

std::string_view content_type_of(DataType type) noexcept {
  switch (type) {
    case DataType::json:
      return "application/json";
    case DataType::text:
      return "text/plain";
    case DataType::protobuf:
      return "application/x-protobuf";
    case DataType::binary:
      break;
  }
  return "application/octet-stream";
}

}  // namespace wps::protocol::mqtt
