#pragma once
// Private to the protobuf codec: the proto3 wire format primitives it needs (varints, tags,
// length-delimited fields, UTF-8 checks). Pure, non-throwing except for std::string growth.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>

namespace wps::protocol::protobuf::wire {

enum class WireType : std::uint8_t {
  varint = 0,
  fixed64 = 1,
  length_delimited = 2,
  start_group = 3,  // deprecated groups: rejected
  end_group = 4,
  fixed32 = 5,
};

inline constexpr std::size_t k_max_varint_bytes = 10;

// ---- writing -----------------------------------------------------------------------------

constexpr std::size_t varint_size(std::uint64_t value) noexcept {
  std::size_t size = 1;
  while (value >= 0x80) {
    value >>= 7;
    ++size;
  }
  return size;
}

inline void append_varint(std::string& out, std::uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7F) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

constexpr std::uint64_t make_tag(std::uint32_t field, WireType type) noexcept {
  return (std::uint64_t{field} << 3) | static_cast<std::uint64_t>(type);
}

inline void append_tag(std::string& out, std::uint32_t field, WireType type) {
  append_varint(out, make_tag(field, type));
}

// Size of a whole length-delimited field (tag + length prefix + `length` bytes).
constexpr std::size_t length_delimited_size(std::uint32_t field, std::size_t length) noexcept {
  return varint_size(make_tag(field, WireType::length_delimited)) + varint_size(length) + length;
}

// Size of a whole varint field.
constexpr std::size_t varint_field_size(std::uint32_t field, std::uint64_t value) noexcept {
  return varint_size(make_tag(field, WireType::varint)) + varint_size(value);
}

// Tag and length prefix of a length-delimited field; the caller appends the `length` bytes.
inline void append_length_prefix(std::string& out, std::uint32_t field, std::size_t length) {
  append_tag(out, field, WireType::length_delimited);
  append_varint(out, length);
}

inline void append_varint_field(std::string& out, std::uint32_t field, std::uint64_t value) {
  append_tag(out, field, WireType::varint);
  append_varint(out, value);
}

// ---- reading -----------------------------------------------------------------------------

// Reads a base-128 varint at `data[pos]`, advancing `pos`. At most 10 bytes; the 10th may only
// carry the 64th bit. Non-minimal encodings (e.g. 80 00) are accepted, as every proto parser does.
// Returns nullptr or a static error text.
inline const char* read_varint(std::string_view data, std::size_t& pos,
                               std::uint64_t& value) noexcept {
  std::uint64_t result = 0;
  for (std::size_t i = 0; i < k_max_varint_bytes; ++i) {
    if (pos >= data.size()) {
      return "Invalid protobuf message: truncated varint.";
    }
    const auto byte = static_cast<std::uint8_t>(data[pos++]);
    if (i == k_max_varint_bytes - 1 && byte > 1) {
      return "Invalid protobuf message: varint exceeds 64 bits.";
    }
    result |= std::uint64_t{byte & 0x7Fu} << (7 * i);
    if ((byte & 0x80u) == 0) {
      value = result;
      return nullptr;
    }
  }
  return "Invalid protobuf message: varint exceeds 64 bits.";  // unreachable
}

// One field as read from the wire. fixed32/fixed64 values are skipped, not exposed.
struct Field {
  std::uint32_t number = 0;
  WireType type = WireType::varint;
  std::uint64_t varint = 0;  // WireType::varint
  std::string_view bytes;    // WireType::length_delimited (a view into the input)
};

enum class ReadStatus : std::uint8_t { field, end, error };

// Iterates over the fields of one serialized message. Validates tags (field number >= 1, wire
// types 0, 1, 2, 5; groups rejected), varints and every length against the remaining input.
class Reader {
 public:
  explicit Reader(std::string_view data) noexcept : data_(data) {}

  ReadStatus next(Field& field) noexcept {
    if (pos_ == data_.size()) {
      return ReadStatus::end;
    }
    std::uint64_t tag = 0;
    if ((error_ = read_varint(data_, pos_, tag)) != nullptr) {
      return ReadStatus::error;
    }
    if (tag > 0xFFFFFFFFu) {
      return fail("Invalid protobuf message: tag out of range.");
    }
    field.number = static_cast<std::uint32_t>(tag >> 3);
    if (field.number == 0) {
      return fail("Invalid protobuf message: field number 0.");
    }
    const auto type = static_cast<std::uint8_t>(tag & 7u);
    switch (type) {
      case static_cast<std::uint8_t>(WireType::varint):
        field.type = WireType::varint;
        if ((error_ = read_varint(data_, pos_, field.varint)) != nullptr) {
          return ReadStatus::error;
        }
        return ReadStatus::field;
      case static_cast<std::uint8_t>(WireType::fixed64):
        field.type = WireType::fixed64;
        return skip(8);
      case static_cast<std::uint8_t>(WireType::fixed32):
        field.type = WireType::fixed32;
        return skip(4);
      case static_cast<std::uint8_t>(WireType::length_delimited): {
        field.type = WireType::length_delimited;
        std::uint64_t length = 0;
        if ((error_ = read_varint(data_, pos_, length)) != nullptr) {
          return ReadStatus::error;
        }
        if (length > data_.size() - pos_) {
          return fail("Invalid protobuf message: length exceeds the input.");
        }
        field.bytes = data_.substr(pos_, static_cast<std::size_t>(length));
        pos_ += static_cast<std::size_t>(length);
        return ReadStatus::field;
      }
      case static_cast<std::uint8_t>(WireType::start_group):
      case static_cast<std::uint8_t>(WireType::end_group):
        return fail("Invalid protobuf message: groups are not supported.");
      default:
        return fail("Invalid protobuf message: invalid wire type.");
    }
  }

  // Set when next() returned ReadStatus::error: a static text.
  const char* error() const noexcept { return error_; }

 private:
  ReadStatus fail(const char* error) noexcept {
    error_ = error;
    return ReadStatus::error;
  }

  ReadStatus skip(std::size_t count) noexcept {
    if (count > data_.size() - pos_) {
      return fail("Invalid protobuf message: truncated fixed-size field.");
    }
    pos_ += count;
    return ReadStatus::field;
  }

  std::string_view data_;
  std::size_t pos_ = 0;
  const char* error_ = nullptr;
};

// ---- UTF-8 -------------------------------------------------------------------------------

// Length of the well-formed UTF-8 sequence at `text[pos]` (pos < size): 1..4, or 0 when it is
// ill-formed; then `bad_length` (>= 1) is the length of the maximal ill-formed subpart, the unit
// one U+FFFD replaces (Unicode's recommended practice). Overlongs, surrogates and values above
// U+10FFFF are ill-formed.
constexpr std::size_t utf8_sequence_length(std::string_view text, std::size_t pos,
                                           std::size_t& bad_length) noexcept {
  const auto lead = static_cast<std::uint8_t>(text[pos]);
  if (lead < 0x80) {
    return 1;
  }
  std::size_t length = 0;
  std::uint8_t lo = 0x80;
  std::uint8_t hi = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    lo = lead == 0xE0 ? std::uint8_t{0xA0} : lo;
    hi = lead == 0xED ? std::uint8_t{0x9F} : hi;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    lo = lead == 0xF0 ? std::uint8_t{0x90} : lo;
    hi = lead == 0xF4 ? std::uint8_t{0x8F} : hi;
  } else {
    bad_length = 1;
    return 0;
  }
  for (std::size_t i = 1; i < length; ++i) {
    if (pos + i >= text.size()) {
      bad_length = i;
      return 0;
    }
    const auto byte = static_cast<std::uint8_t>(text[pos + i]);
    if (byte < lo || byte > hi) {
      bad_length = i;
      return 0;
    }
    lo = 0x80;
    hi = 0xBF;
  }
  return length;
}

constexpr bool is_valid_utf8(std::string_view text) noexcept {
  std::size_t pos = 0;
  while (pos < text.size()) {
    if (!std::is_constant_evaluated() && pos + 8 <= text.size()) {
      // ASCII runs eight bytes at a time (text is mostly ASCII).
      std::uint64_t word = 0;
      std::memcpy(&word, text.data() + pos, 8);
      if ((word & 0x8080808080808080ULL) == 0) {
        pos += 8;
        continue;
      }
    }
    if (static_cast<std::uint8_t>(text[pos]) < 0x80) {
      ++pos;
      continue;
    }
    std::size_t bad_length = 0;
    const std::size_t length = utf8_sequence_length(text, pos, bad_length);
    if (length == 0) {
      return false;
    }
    pos += length;
  }
  return true;
}

inline constexpr std::string_view k_replacement_character = "\xEF\xBF\xBD";

// A string field value to write: proto3 strings must be valid UTF-8, so ill-formed input is
// written with each maximal ill-formed subpart replaced by U+FFFD (`size` is the written size).
struct Utf8Text {
  std::string_view text;
  std::size_t size = 0;
  bool valid = true;
};

constexpr Utf8Text measure_utf8(std::string_view text) noexcept {
  Utf8Text result{text, 0, true};
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t bad_length = 0;
    const std::size_t length = utf8_sequence_length(text, pos, bad_length);
    if (length != 0) {
      result.size += length;
      pos += length;
    } else {
      result.valid = false;
      result.size += k_replacement_character.size();
      pos += bad_length;
    }
  }
  return result;
}

inline void append_utf8(std::string& out, const Utf8Text& text) {
  if (text.valid) {
    out.append(text.text);
    return;
  }
  const std::string_view input = text.text;
  std::size_t pos = 0;
  std::size_t run_start = 0;
  while (pos < input.size()) {
    std::size_t bad_length = 0;
    const std::size_t length = utf8_sequence_length(input, pos, bad_length);
    if (length != 0) {
      pos += length;
      continue;
    }
    out.append(input.substr(run_start, pos - run_start));
    out.append(k_replacement_character);
    pos += bad_length;
    run_start = pos;
  }
  out.append(input.substr(run_start));
}

}  // namespace wps::protocol::protobuf::wire
