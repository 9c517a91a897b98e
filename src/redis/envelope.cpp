#include "redis/envelope.hpp"

#include <limits>

namespace wps::redis {

namespace {

enum class Kind : std::uint8_t { publication = 1, command = 2, reply = 3 };

class Writer {
 public:
  explicit Writer(Kind kind, std::string_view origin, std::uint8_t version = kEnvelopeVersion) {
    out_.push_back(static_cast<char>(version));
    out_.push_back(static_cast<char>(kind));
    str(origin);
  }
  void u8(std::uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void varint(std::uint64_t v) {
    while (v >= 0x80) {
      out_.push_back(static_cast<char>((v & 0x7f) | 0x80));
      v >>= 7;
    }
    out_.push_back(static_cast<char>(v));
  }
  void str(std::string_view s) {
    varint(s.size());
    out_.append(s);
  }
  void opt(const std::optional<std::string>& s) {
    u8(s ? 1 : 0);
    if (s)
      str(*s);
  }
  void strings(const std::vector<std::string>& v) {
    varint(v.size());
    for (const std::string& s : v)
      str(s);
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

struct Malformed {
  const char* what;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  std::uint8_t u8() {
    if (pos_ >= in_.size())
      throw Malformed{"truncated"};
    return static_cast<std::uint8_t>(in_[pos_++]);
  }
  std::uint64_t varint() {
    std::uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      const std::uint8_t b = u8();
      if (shift == 63 && b > 1)
        throw Malformed{"varint overflow"};
      v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0)
        return v;
    }
    throw Malformed{"varint too long"};
  }
  std::string str() {
    const std::uint64_t n = varint();
    if (n > in_.size() - pos_)
      throw Malformed{"string past the end"};
    std::string s(in_.substr(pos_, static_cast<std::size_t>(n)));
    pos_ += static_cast<std::size_t>(n);
    return s;
  }
  bool flag() {
    const std::uint8_t b = u8();
    if (b > 1)
      throw Malformed{"bad flag"};
    return b == 1;
  }
  std::optional<std::string> opt() {
    if (!flag())
      return std::nullopt;
    return str();
  }
  // A count of items that take at least one byte each: never more than the bytes left.
  std::size_t count() {
    const std::uint64_t n = varint();
    if (n > in_.size() - pos_)
      throw Malformed{"count past the end"};
    return static_cast<std::size_t>(n);
  }
  std::vector<std::string> strings() {
    std::vector<std::string> v(count());
    for (std::string& s : v)
      s = str();
    return v;
  }
  template <typename E>
  E enumeration(std::uint8_t last) {
    const std::uint8_t b = u8();
    if (b > last)
      throw Malformed{"enum out of range"};
    return static_cast<E>(b);
  }
  bool done() const { return pos_ == in_.size(); }

 private:
  std::string_view in_;
  std::size_t pos_ = 0;
};

void write_filter(Writer& w, const std::shared_ptr<const protocol::odata::Filter>& filter) {
  w.str(filter ? std::string_view(filter->text()) : std::string_view());
}

std::shared_ptr<const protocol::odata::Filter> read_filter(Reader& r) {
  const std::string text = r.str();
  if (text.empty())
    return nullptr;
  protocol::odata::ParseResult parsed = protocol::odata::parse(text);
  if (!parsed)
    throw Malformed{"invalid filter"};
  return parsed.filter;
}

}  // namespace

std::string encode_publication(std::string_view origin, const core::Publication& p,
                               std::chrono::steady_clock::time_point now) {
  // A publication without the version-2 extras keeps version 1, which every node reads.
  const std::uint8_t version = p.message->mqtt ? kEnvelopeVersionMqtt
                               : p.message->metadata.empty() && !p.message->stream
                                   ? kEnvelopeVersion
                                   : kEnvelopeVersionMetadata;
  Writer w(Kind::publication, origin, version);
  w.str(p.hub);
  w.u8(static_cast<std::uint8_t>(p.scope));
  w.str(p.target);
  w.strings(p.excluded);
  write_filter(w, p.filter);
  const core::Message& m = *p.message;
  w.u8(static_cast<std::uint8_t>(m.from));
  w.str(m.group);
  w.opt(m.from_user_id);
  w.u8(static_cast<std::uint8_t>(m.payload.type));
  w.str(m.payload.bytes);
  // 0: never expires; otherwise 1 + the milliseconds left.
  if (m.expires_at == std::chrono::steady_clock::time_point{}) {
    w.varint(0);
  } else {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(m.expires_at - now).count();
    w.varint(1 + static_cast<std::uint64_t>(left > 0 ? left : 0));
  }
  // Versions 2 and 3: the client message's metadata (spec §6.10).
  if (version >= kEnvelopeVersionMetadata) {
    w.varint(m.metadata.size());
    for (const auto& [key, value] : m.metadata) {
      w.str(key);
      w.str(value);
    }
    w.u8(m.stream ? 1 : 0);
    if (m.stream) {
      w.str(m.stream->stream_id);
      w.varint(m.stream->sequence_id);
      w.u8(m.stream->end ? 1 : 0);
      w.u8(m.stream->error ? 1 : 0);
      if (m.stream->error) {
        w.str(m.stream->error->name);
        w.str(m.stream->error->message);
        w.opt(m.stream->error->user_error_code);
      }
    }
  }
  // Version 3: the MQTT 5.0 publisher's properties.
  if (version == kEnvelopeVersionMqtt) {
    const protocol::MqttPassThrough& mqtt = *m.mqtt;
    w.u8(mqtt.payload_format_indicator ? 1 : 0);
    if (mqtt.payload_format_indicator)
      w.u8(*mqtt.payload_format_indicator);
    w.opt(mqtt.content_type);
    w.opt(mqtt.response_topic);
    w.opt(mqtt.correlation_data);
    w.varint(mqtt.user_properties.size());
    for (const auto& [name, value] : mqtt.user_properties) {
      w.str(name);
      w.str(value);
    }
  }
  return w.take();
}

std::string encode_command(std::string_view origin, std::uint64_t request_id,
                           const core::Command& c) {
  Writer w(Kind::command, origin);
  w.varint(request_id);
  w.u8(static_cast<std::uint8_t>(c.op));
  w.str(c.hub);
  w.str(c.target);
  w.str(c.group);
  w.strings(c.groups);
  write_filter(w, c.filter);
  w.strings(c.excluded);
  w.varint(c.code);
  w.str(c.reason);
  w.u8(static_cast<std::uint8_t>(c.permission));
  w.opt(c.permission_target);
  w.str(c.after);
  w.varint(c.limit);
  return w.take();
}

std::string encode_reply(std::string_view origin, std::uint64_t request_id,
                         const core::CommandResult& result) {
  Writer w(Kind::reply, origin);
  w.varint(request_id);
  w.u8(static_cast<std::uint8_t>((result.found ? 1 : 0) | (result.limit_reached ? 2 : 0)));
  w.varint(result.members.size());
  for (const core::Hub::Member& m : result.members) {
    w.str(m.connection_id);
    w.opt(m.user_id);
  }
  return w.take();
}

DecodeResult decode_envelope(std::string_view bytes, std::chrono::steady_clock::time_point now) {
  DecodeResult result;
  try {
    Reader r(bytes);
    const std::uint8_t version = r.u8();
    if (version < kEnvelopeVersion || version > kEnvelopeVersionMqtt)
      throw Malformed{"unknown version"};
    const std::uint8_t kind = r.u8();
    if (version != kEnvelopeVersion && kind != static_cast<std::uint8_t>(Kind::publication))
      throw Malformed{"versions 2 and 3 are for publications only"};
    std::string origin = r.str();
    if (kind == static_cast<std::uint8_t>(Kind::publication)) {
      PublicationEnvelope e;
      e.origin = std::move(origin);
      core::Publication& p = e.publication;
      p.hub = r.str();
      p.scope = r.enumeration<core::Scope>(static_cast<std::uint8_t>(core::Scope::connection));
      p.target = r.str();
      p.excluded = r.strings();
      p.filter = read_filter(r);
      auto m = std::make_shared<core::Message>();
      m->from = r.enumeration<protocol::MessageSource>(
          static_cast<std::uint8_t>(protocol::MessageSource::server));
      m->group = r.str();
      m->from_user_id = r.opt();
      m->payload.type = r.enumeration<protocol::DataType>(
          static_cast<std::uint8_t>(protocol::DataType::protobuf));
      m->payload.bytes = r.str();
      const std::uint64_t ttl = r.varint();
      if (ttl != 0) {
        // Bounded so that the addition cannot overflow (REST TTLs are at most 300 s).
        const auto left = std::min<std::uint64_t>(ttl - 1, 24ULL * 3600 * 1000);
        m->expires_at = now + std::chrono::milliseconds(static_cast<std::int64_t>(left));
        if (m->expires_at == std::chrono::steady_clock::time_point{})
          m->expires_at += std::chrono::milliseconds(1);
      }
      if (version >= kEnvelopeVersionMetadata) {
        // Each entry takes at least two bytes; count() bounds by the bytes left.
        m->metadata.resize(r.count());
        for (auto& [key, value] : m->metadata) {
          key = r.str();
          value = r.str();
        }
        if (r.flag()) {
          protocol::StreamInfo& stream = m->stream.emplace();
          stream.stream_id = r.str();
          stream.sequence_id = r.varint();
          stream.end = r.flag();
          if (r.flag()) {
            protocol::StreamError& error = stream.error.emplace();
            error.name = r.str();
            error.message = r.str();
            error.user_error_code = r.opt();
          }
        }
      }
      if (version == kEnvelopeVersionMqtt) {
        auto mqtt = std::make_shared<protocol::MqttPassThrough>();
        if (r.flag())
          mqtt->payload_format_indicator = r.u8();
        mqtt->content_type = r.opt();
        mqtt->response_topic = r.opt();
        mqtt->correlation_data = r.opt();
        mqtt->user_properties.resize(r.count());
        for (auto& [name, value] : mqtt->user_properties) {
          name = r.str();
          value = r.str();
        }
        m->mqtt = std::move(mqtt);
      }
      p.message = std::move(m);
      result.envelope = std::move(e);
    } else if (kind == static_cast<std::uint8_t>(Kind::command)) {
      CommandEnvelope e;
      e.origin = std::move(origin);
      e.request_id = r.varint();
      core::Command& c = e.command;
      c.op = r.enumeration<core::CommandOp>(core::kLastCommandOp);
      c.hub = r.str();
      c.target = r.str();
      c.group = r.str();
      c.groups = r.strings();
      c.filter = read_filter(r);
      c.excluded = r.strings();
      const std::uint64_t code = r.varint();
      if (code > std::numeric_limits<std::uint16_t>::max())
        throw Malformed{"close code out of range"};
      c.code = static_cast<std::uint16_t>(code);
      c.reason = r.str();
      c.permission = r.enumeration<core::Permission>(
          static_cast<std::uint8_t>(core::Permission::send_to_group));
      c.permission_target = r.opt();
      c.after = r.str();
      const std::uint64_t limit = r.varint();
      if (limit > std::numeric_limits<std::uint32_t>::max())
        throw Malformed{"limit out of range"};
      c.limit = static_cast<std::uint32_t>(limit);
      result.envelope = std::move(e);
    } else if (kind == static_cast<std::uint8_t>(Kind::reply)) {
      ReplyEnvelope e;
      e.origin = std::move(origin);
      e.request_id = r.varint();
      const std::uint8_t bits = r.u8();
      if (bits > 3)
        throw Malformed{"bad result flags"};
      e.result.found = (bits & 1) != 0;
      e.result.limit_reached = (bits & 2) != 0;
      e.result.members.resize(r.count());
      for (core::Hub::Member& m : e.result.members) {
        m.connection_id = r.str();
        m.user_id = r.opt();
      }
      result.envelope = std::move(e);
    } else {
      throw Malformed{"unknown kind"};
    }
    if (!r.done()) {
      result.envelope.reset();
      throw Malformed{"trailing bytes"};
    }
  } catch (const Malformed& m) {
    result.envelope.reset();
    result.error = m.what;
  }
  return result;
}

}  // namespace wps::redis
