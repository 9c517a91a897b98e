#pragma once
// Test-only reader of the DownstreamMessage the protobuf codec writes (spec §6.12), written
// independently of the codec's own wire helpers so that round trips check one against the
// other. Used by protobuf_codec_test.cpp and fuzz/protobuf_message_fuzz.cpp. Strict: any
// malformed input, a field with an unexpected wire type or an unknown field yields nullopt.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wps::test::protobuf {

struct Downstream {
  enum class Kind {
    ack,
    data,
    connected,
    disconnected,
    pong,
    stream_ack,
    stream_nack,
    stream_closed
  };
  Kind kind = Kind::pong;
  // ack_message
  std::uint64_t ack_id = 0;
  bool success = false;
  bool has_error = false;
  std::string error_name;
  std::string error_message;
  // data_message
  std::string from;
  std::optional<std::string> group;
  std::uint32_t data_case = 0;  // MessageData field number: 1 text, 2 binary, 3 protobuf, 4 json
  std::string data;
  std::optional<std::uint64_t> sequence_id;
  std::vector<std::pair<std::string, std::string>> metadata;  // DataMessage.metadata, in order
  // DataMessage.stream (StreamInfo); stream_id and expected_sequence_id also for the stream
  // answers, error_name / error_message for streamNack and streamClosed's error
  bool has_stream = false;
  std::string stream_id;
  std::uint64_t stream_sequence_id = 0;
  bool end_of_stream = false;
  bool has_stream_error = false;
  std::string stream_error_name;
  std::string stream_error_message;
  std::optional<std::string> user_error_code;
  std::uint64_t expected_sequence_id = 0;
  // system_message.connected_message
  std::string connection_id;
  std::string user_id;
  std::optional<std::string> reconnection_token;
  // system_message.disconnected_message
  std::string reason;
};

namespace detail {

struct RawField {
  std::uint32_t number = 0;
  std::uint32_t wire_type = 0;
  std::uint64_t value = 0;  // wire type 0
  std::string_view bytes;   // wire type 2
};

inline bool take_varint(std::string_view& in, std::uint64_t& out) {
  out = 0;
  for (unsigned shift = 0; shift < 64; shift += 7) {
    if (in.empty()) {
      return false;
    }
    const auto byte = static_cast<std::uint8_t>(in.front());
    in.remove_prefix(1);
    if (shift == 63 && byte > 1) {
      return false;
    }
    out |= static_cast<std::uint64_t>(byte & 0x7F) << shift;
    if ((byte & 0x80) == 0) {
      return true;
    }
  }
  return false;
}

inline bool take_field(std::string_view& in, RawField& field) {
  std::uint64_t tag = 0;
  if (!take_varint(in, tag) || tag > 0xFFFFFFFFu || (tag >> 3) == 0) {
    return false;
  }
  field.number = static_cast<std::uint32_t>(tag >> 3);
  field.wire_type = static_cast<std::uint32_t>(tag & 7);
  if (field.wire_type == 0) {
    return take_varint(in, field.value);
  }
  if (field.wire_type != 2) {
    return false;  // the codec never writes other wire types
  }
  std::uint64_t length = 0;
  if (!take_varint(in, length) || length > in.size()) {
    return false;
  }
  field.bytes = in.substr(0, static_cast<std::size_t>(length));
  in.remove_prefix(static_cast<std::size_t>(length));
  return true;
}

// Calls `on_field(const RawField&) -> bool` for every field; false on malformed input or when
// the callback refuses a field.
template <typename F>
bool for_each_field(std::string_view in, F&& on_field) {
  while (!in.empty()) {
    RawField field;
    if (!take_field(in, field) || !on_field(field)) {
      return false;
    }
  }
  return true;
}

inline bool is_bytes(const RawField& f) {
  return f.wire_type == 2;
}
inline bool is_varint(const RawField& f) {
  return f.wire_type == 0;
}

inline bool read_ack(std::string_view in, Downstream& out) {
  out.kind = Downstream::Kind::ack;
  return for_each_field(in, [&](const RawField& f) {
    if (f.number == 1 && is_varint(f)) {
      out.ack_id = f.value;
    } else if (f.number == 2 && is_varint(f)) {
      out.success = f.value != 0;
    } else if (f.number == 3 && is_bytes(f)) {
      out.has_error = true;
      return for_each_field(f.bytes, [&](const RawField& e) {
        if (e.number == 1 && is_bytes(e)) {
          out.error_name.assign(e.bytes);
        } else if (e.number == 2 && is_bytes(e)) {
          out.error_message.assign(e.bytes);
        } else {
          return false;
        }
        return true;
      });
    } else {
      return false;
    }
    return true;
  });
}

inline bool read_data(std::string_view in, Downstream& out) {
  out.kind = Downstream::Kind::data;
  return for_each_field(in, [&](const RawField& f) {
    if (f.number == 1 && is_bytes(f)) {
      out.from.assign(f.bytes);
    } else if (f.number == 2 && is_bytes(f)) {
      out.group = std::string(f.bytes);
    } else if (f.number == 3 && is_bytes(f)) {
      return for_each_field(f.bytes, [&](const RawField& d) {
        if (d.number < 1 || d.number > 4 || !is_bytes(d)) {
          return false;
        }
        out.data_case = d.number;
        out.data.assign(d.bytes);
        return true;
      });
    } else if (f.number == 4 && is_varint(f)) {
      out.sequence_id = f.value;
    } else if (f.number == 5 && is_bytes(f)) {
      std::pair<std::string, std::string> entry;
      if (!for_each_field(f.bytes, [&](const RawField& e) {
            if ((e.number != 1 && e.number != 2) || !is_bytes(e))
              return false;
            (e.number == 1 ? entry.first : entry.second).assign(e.bytes);
            return true;
          }))
        return false;
      out.metadata.push_back(std::move(entry));
    } else if (f.number == 6 && is_bytes(f)) {
      out.has_stream = true;
      return for_each_field(f.bytes, [&](const RawField& i) {
        if (i.number == 1 && is_bytes(i)) {
          out.stream_id.assign(i.bytes);
        } else if (i.number == 2 && is_varint(i)) {
          out.stream_sequence_id = i.value;
        } else if (i.number == 3 && is_varint(i)) {
          out.end_of_stream = i.value != 0;
        } else if (i.number == 4 && is_bytes(i)) {
          out.has_stream_error = true;
          return for_each_field(i.bytes, [&](const RawField& e) {
            if (!is_bytes(e) || e.number < 1 || e.number > 3)
              return false;
            if (e.number == 1)
              out.stream_error_name.assign(e.bytes);
            else if (e.number == 2)
              out.stream_error_message.assign(e.bytes);
            else
              out.user_error_code = std::string(e.bytes);
            return true;
          });
        } else {
          return false;
        }
        return true;
      });
    } else {
      return false;
    }
    return true;
  });
}

inline bool read_system(std::string_view in, Downstream& out) {
  bool seen = false;
  const bool ok = for_each_field(in, [&](const RawField& f) {
    if (!is_bytes(f) || seen) {
      return false;
    }
    seen = true;
    if (f.number == 1) {
      out.kind = Downstream::Kind::connected;
      return for_each_field(f.bytes, [&](const RawField& c) {
        if (!is_bytes(c)) {
          return false;
        }
        if (c.number == 1) {
          out.connection_id.assign(c.bytes);
        } else if (c.number == 2) {
          out.user_id.assign(c.bytes);
        } else if (c.number == 3) {
          out.reconnection_token = std::string(c.bytes);
        } else {
          return false;
        }
        return true;
      });
    }
    if (f.number == 2) {
      out.kind = Downstream::Kind::disconnected;
      return for_each_field(f.bytes, [&](const RawField& d) {
        if (d.number != 2 || !is_bytes(d)) {
          return false;
        }
        out.reason.assign(d.bytes);
        return true;
      });
    }
    return false;
  });
  return ok && seen;
}

}  // namespace detail

namespace detail {
// StreamAck (6) { stream_id = 1; expected = 2 }, StreamNack (7) { stream_id = 1; name = 2;
// message = 3; expected = 4 }, StreamClosed (8) { stream_id = 1; error = 2 { name; message } }.
inline bool read_stream_answer(std::uint32_t kind, std::string_view in, Downstream& out) {
  out.kind = kind == 6   ? Downstream::Kind::stream_ack
             : kind == 7 ? Downstream::Kind::stream_nack
                         : Downstream::Kind::stream_closed;
  return for_each_field(in, [&](const RawField& f) {
    if (f.number == 1 && is_bytes(f)) {
      out.stream_id.assign(f.bytes);
    } else if (kind == 6 && f.number == 2 && is_varint(f)) {
      out.expected_sequence_id = f.value;
    } else if (kind == 7 && f.number == 4 && is_varint(f)) {
      out.expected_sequence_id = f.value;
    } else if (kind == 7 && (f.number == 2 || f.number == 3) && is_bytes(f)) {
      (f.number == 2 ? out.error_name : out.error_message).assign(f.bytes);
    } else if (kind == 8 && f.number == 2 && is_bytes(f)) {
      out.has_error = true;
      return for_each_field(f.bytes, [&](const RawField& e) {
        if ((e.number != 1 && e.number != 2) || !is_bytes(e))
          return false;
        (e.number == 1 ? out.error_name : out.error_message).assign(e.bytes);
        return true;
      });
    } else {
      return false;
    }
    return true;
  });
}
}  // namespace detail

// Parses one DownstreamMessage holding exactly one oneof member.
inline std::optional<Downstream> parse_downstream(std::string_view bytes) {
  using namespace detail;
  Downstream out;
  std::string_view in = bytes;
  RawField top;
  if (!take_field(in, top) || !in.empty() || !is_bytes(top)) {
    return std::nullopt;
  }
  bool ok = false;
  switch (top.number) {
    case 1:
      ok = read_ack(top.bytes, out);
      break;
    case 2:
      ok = read_data(top.bytes, out);
      break;
    case 3:
      ok = read_system(top.bytes, out);
      break;
    case 4:
      out.kind = Downstream::Kind::pong;
      ok = top.bytes.empty();
      break;
    case 6:
    case 7:
    case 8:
      ok = read_stream_answer(top.number, top.bytes, out);
      break;
    default:
      break;
  }
  if (!ok) {
    return std::nullopt;
  }
  return out;
}

}  // namespace wps::test::protobuf
