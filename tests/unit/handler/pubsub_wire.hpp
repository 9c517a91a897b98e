#pragma once
// The PubSub client's side of the wire in both formats, written independently of the codecs:
// client messages as a JSON client or a protobuf client sends them, and what the server sends
// back read into one shape (JSON with Boost.JSON, protobuf with the test-only downstream reader),
// so that the handler tests run the same cases over both formats.

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/frame.hpp"
#include "unit/protocol/protobuf_downstream_reader.hpp"

namespace wps::test {

enum class Format { json, protobuf };

// One message from the server as the client reads it.
struct Received {
  enum class Kind {
    ack,
    message,
    connected,
    disconnected,
    pong,
    stream_ack,
    stream_nack,
    stream_closed,
    invoke_response,
    unreadable
  };
  Kind kind = Kind::unreadable;
  // ack
  std::uint64_t ack_id = 0;
  bool success = false;
  std::string error_name;
  std::string error_message;
  // message (text payloads)
  std::string from;
  std::optional<std::string> group;
  std::string data;
  std::optional<std::uint64_t> sequence_id;
  // connected / disconnected
  std::string connection_id;
  std::optional<std::string> user_id;
  std::optional<std::string> reconnection_token;
  std::string reason;
  // preview: streams (answers, and `message`'s stream info), invokeResponse
  std::string stream_id;
  std::uint64_t expected = 0;
  std::optional<std::uint64_t> stream_sequence_id;
  bool end_of_stream = false;
  std::string invocation_id;
};

class Wire {
 public:
  explicit Wire(Format format) : format_(format) {}
  Format format() const { return format_; }
  bool binary() const { return format_ == Format::protobuf; }

  // ---- client -> server ---------------------------------------------------------------
  std::string join(const std::string& group, std::optional<std::uint64_t> ack = {}) const {
    if (json())
      return R"({"type":"joinGroup","group":)" + quote(group) + ack_member(ack) + "}";
    return ld(6, ld(1, group) + (ack ? vf(2, *ack) : ""));
  }
  std::string leave(const std::string& group, std::optional<std::uint64_t> ack = {}) const {
    if (json())
      return R"({"type":"leaveGroup","group":)" + quote(group) + ack_member(ack) + "}";
    return ld(7, ld(1, group) + (ack ? vf(2, *ack) : ""));
  }
  // sendToGroup with a text payload.
  std::string send(const std::string& group, const std::string& text,
                   std::optional<std::uint64_t> ack = {}, bool no_echo = false) const {
    if (json())
      return R"({"type":"sendToGroup","group":)" + quote(group) + ack_member(ack) +
             (no_echo ? R"(,"noEcho":true)" : "") + R"(,"dataType":"text","data":)" + quote(text) +
             "}";
    return ld(1, ld(1, group) + (ack ? vf(2, *ack) : "") + ld(3, ld(1, text)) +
                     (no_echo ? vf(4, 1) : ""));
  }
  // An event with a text payload.
  std::string event(const std::string& name, const std::string& text,
                    std::optional<std::uint64_t> ack = {}) const {
    if (json())
      return R"({"type":"event","event":)" + quote(name) + ack_member(ack) +
             R"(,"dataType":"text","data":)" + quote(text) + "}";
    return ld(5, ld(1, name) + ld(2, ld(1, text)) + (ack ? vf(3, *ack) : ""));
  }
  std::string sequence_ack(std::uint64_t id) const {
    if (json())
      return R"({"type":"sequenceAck","sequenceId":)" + std::to_string(id) + "}";
    return ld(8, vf(1, id));
  }
  std::string ping() const { return json() ? R"({"type":"ping"})" : ld(9, ""); }
  // Preview group streams (spec §6.8).
  std::string stream_start(const std::string& group, const std::string& id) const {
    if (json())
      return R"({"type":"sendToGroup","group":)" + quote(group) + R"(,"stream":{"streamId":)" +
             quote(id) + "}}";
    return ld(1, ld(1, group) + ld(7, ld(1, id)));
  }
  std::string stream_data(const std::string& id, std::uint64_t seq, const std::string& text) const {
    if (json())
      return R"({"type":"streamData","streamId":)" + quote(id) + R"(,"streamSequenceId":)" +
             std::to_string(seq) + R"(,"dataType":"text","data":)" + quote(text) + "}";
    return ld(13, ld(1, id) + vf(2, seq) + ld(3, ld(1, text)));
  }
  std::string stream_end(const std::string& id) const {
    if (json())
      return R"({"type":"streamEnd","streamId":)" + quote(id) + "}";
    return ld(14, ld(1, id));
  }
  // Well-formed for the frame type but not a protocol message.
  std::string garbage() const { return json() ? R"({"type":"dance"})" : std::string("\x0a\x05x"); }

  // ---- server -> client ---------------------------------------------------------------
  // Reads one frame; a frame of the wrong type (text for protobuf, binary for JSON) fails the
  // test.
  Received read(const protocol::Frame& frame) const {
    EXPECT_EQ(frame.binary, binary()) << "frame of the wrong type";
    return json() ? read_json(frame.data) : read_protobuf(frame.data);
  }

 private:
  bool json() const { return format_ == Format::json; }

  static std::string quote(const std::string& s) {
    return boost::json::serialize(boost::json::value(s));
  }
  static std::string ack_member(std::optional<std::uint64_t> ack) {
    return ack ? R"(,"ackId":)" + std::to_string(*ack) : std::string();
  }
  static std::string varint(std::uint64_t value) {
    std::string out;
    while (value >= 0x80) {
      out.push_back(static_cast<char>((value & 0x7F) | 0x80));
      value >>= 7;
    }
    out.push_back(static_cast<char>(value));
    return out;
  }
  // A length-delimited field / a varint field, with a one-byte tag (field < 16).
  static std::string ld(int field, std::string_view content) {
    std::string out(1, static_cast<char>((field << 3) | 2));
    out += varint(content.size());
    out.append(content);
    return out;
  }
  static std::string vf(int field, std::uint64_t value) {
    return std::string(1, static_cast<char>(field << 3)) + varint(value);
  }

  static Received read_json(const std::string& text) {
    Received r;
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(text, ec);
    if (ec || !v.is_object()) {
      ADD_FAILURE() << "not a JSON object: " << text;
      return r;
    }
    const auto& o = v.as_object();
    auto str = [&](const char* key) -> std::optional<std::string> {
      const auto* f = o.if_contains(key);
      if (f == nullptr || !f->is_string())
        return std::nullopt;
      return std::string(f->as_string());
    };
    const std::string type = str("type").value_or("");
    if (type == "ack") {
      r.kind = Received::Kind::ack;
      r.ack_id = o.at("ackId").to_number<std::uint64_t>();
      r.success = o.at("success").as_bool();
      if (const auto* e = o.if_contains("error")) {
        r.error_name = std::string(e->at("name").as_string());
        r.error_message = std::string(e->at("message").as_string());
      }
    } else if (type == "message") {
      r.kind = Received::Kind::message;
      r.from = str("from").value_or("");
      r.group = str("group");
      r.data = str("data").value_or("<not text>");
      if (const auto* s = o.if_contains("sequenceId"))
        r.sequence_id = s->to_number<std::uint64_t>();
      if (const auto* st = o.if_contains("stream")) {
        r.stream_id = std::string(st->at("streamId").as_string());
        r.stream_sequence_id = st->at("streamSequenceId").to_number<std::uint64_t>();
        if (const auto* e = st->as_object().if_contains("endOfStream"))
          r.end_of_stream = e->as_bool();
        if (const auto* e = st->as_object().if_contains("error"))
          r.error_name = std::string(e->at("name").as_string());
      }
    } else if (type == "streamAck" || type == "streamNack" || type == "streamClosed") {
      r.kind = type == "streamAck"    ? Received::Kind::stream_ack
               : type == "streamNack" ? Received::Kind::stream_nack
                                      : Received::Kind::stream_closed;
      r.stream_id = str("streamId").value_or("");
      if (const auto* e = o.if_contains("expectedSequenceId"))
        r.expected = e->to_number<std::uint64_t>();
      if (type == "streamNack")
        r.error_name = str("name").value_or("");
      if (const auto* e = o.if_contains("error")) {
        r.error_name = std::string(e->at("name").as_string());
        r.error_message = std::string(e->at("message").as_string());
      }
    } else if (type == "invokeResponse") {
      r.kind = Received::Kind::invoke_response;
      r.invocation_id = str("invocationId").value_or("");
      r.success = o.at("success").as_bool();
      r.data = str("data").value_or("<not text>");
      if (const auto* e = o.if_contains("error")) {
        r.error_name = std::string(e->at("name").as_string());
        r.error_message = std::string(e->at("message").as_string());
      }
    } else if (type == "system" && str("event") == "connected") {
      r.kind = Received::Kind::connected;
      r.connection_id = str("connectionId").value_or("");
      r.user_id = str("userId");
      r.reconnection_token = str("reconnectionToken");
    } else if (type == "system" && str("event") == "disconnected") {
      r.kind = Received::Kind::disconnected;
      r.reason = str("message").value_or("");
    } else if (type == "pong") {
      r.kind = Received::Kind::pong;
    } else {
      ADD_FAILURE() << "unexpected message: " << text;
    }
    // Only data messages are numbered.
    if (r.kind != Received::Kind::message) {
      EXPECT_FALSE(o.contains("sequenceId")) << text;
    }
    return r;
  }

  static Received read_protobuf(const std::string& bytes) {
    using protobuf::Downstream;
    Received r;
    auto d = protobuf::parse_downstream(bytes);
    if (!d) {
      ADD_FAILURE() << "not a DownstreamMessage (" << bytes.size() << " bytes)";
      return r;
    }
    switch (d->kind) {
      case Downstream::Kind::ack:
        r.kind = Received::Kind::ack;
        r.ack_id = d->ack_id;
        r.success = d->success;
        r.error_name = d->error_name;
        r.error_message = d->error_message;
        break;
      case Downstream::Kind::data:
        r.kind = Received::Kind::message;
        r.from = d->from;
        r.group = d->group;
        r.data = d->data_case == 1 ? d->data : "<not text>";
        r.sequence_id = d->sequence_id;
        if (d->has_stream) {
          r.stream_id = d->stream_id;
          r.stream_sequence_id = d->stream_sequence_id;
          r.end_of_stream = d->end_of_stream;
          r.error_name = d->stream_error_name;
        }
        break;
      case Downstream::Kind::stream_ack:
      case Downstream::Kind::stream_nack:
      case Downstream::Kind::stream_closed:
        r.kind = d->kind == Downstream::Kind::stream_ack    ? Received::Kind::stream_ack
                 : d->kind == Downstream::Kind::stream_nack ? Received::Kind::stream_nack
                                                            : Received::Kind::stream_closed;
        r.stream_id = d->stream_id;
        r.expected = d->expected_sequence_id;
        r.error_name = d->error_name;
        r.error_message = d->error_message;
        break;
      case Downstream::Kind::connected:
        r.kind = Received::Kind::connected;
        r.connection_id = d->connection_id;
        if (!d->user_id.empty())
          r.user_id = d->user_id;
        r.reconnection_token = d->reconnection_token;
        break;
      case Downstream::Kind::disconnected:
        r.kind = Received::Kind::disconnected;
        r.reason = d->reason;
        break;
      case Downstream::Kind::pong:
        r.kind = Received::Kind::pong;
        break;
    }
    return r;
  }

  Format format_;
};

inline std::ostream& operator<<(std::ostream& os, Received::Kind kind) {
  static constexpr const char* kNames[] = {
      "ack",        "message",     "connected",     "disconnected",    "pong",
      "stream_ack", "stream_nack", "stream_closed", "invoke_response", "unreadable"};
  return os << kNames[static_cast<int>(kind)];
}

}  // namespace wps::test
