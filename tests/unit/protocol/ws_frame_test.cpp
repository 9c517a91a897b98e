// FrameReader: RFC 6455 client frames fed in any split, every rule a server enforces.
#include "protocol/ws_frame.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "protocol/protobuf_wire.hpp"

namespace wps::protocol::ws {
namespace {

struct Seen {
  ReadEvent::Kind kind;
  bool binary = false;
  std::string payload;
  std::uint16_t code = 0;
  std::string reason;
};

// A masked client frame.
std::string client_frame(std::uint8_t opcode, std::string_view payload, bool fin = true,
                         std::uint8_t extra_bits = 0, bool masked = true,
                         std::uint64_t announced = UINT64_MAX) {
  const std::uint64_t length = announced == UINT64_MAX ? payload.size() : announced;
  std::string out;
  out.push_back(static_cast<char>((fin ? 0x80 : 0) | extra_bits | opcode));
  const char mask_bit = masked ? static_cast<char>(0x80) : 0;
  if (length < 126) {
    out.push_back(static_cast<char>(mask_bit | static_cast<char>(length)));
  } else if (length <= 0xFFFF) {
    out.push_back(static_cast<char>(mask_bit | 126));
    out.push_back(static_cast<char>(length >> 8));
    out.push_back(static_cast<char>(length & 0xFF));
  } else {
    out.push_back(static_cast<char>(mask_bit | 127));
    for (int i = 7; i >= 0; --i)
      out.push_back(static_cast<char>((length >> (8 * i)) & 0xFF));
  }
  const std::uint8_t key[4] = {0x12, 0x34, 0x56, 0x78};
  if (masked)
    out.append(reinterpret_cast<const char*>(key), 4);
  for (std::size_t i = 0; i < payload.size(); ++i)
    out.push_back(masked ? static_cast<char>(static_cast<std::uint8_t>(payload[i]) ^ key[i % 4])
                         : payload[i]);
  return out;
}

class ReaderTest : public ::testing::Test {
 protected:
  auto sink() {
    return [this](const ReadEvent& e) {
      seen.push_back(Seen{e.kind, e.binary, std::string(e.payload), e.code, std::string(e.reason)});
      return !pause_after_message || e.kind != ReadEvent::Kind::message;
    };
  }
  // Feeds `bytes` in pieces of `step` bytes (0: at once).
  void feed(const std::string& bytes, std::size_t step = 0) {
    std::string copy = bytes;
    std::size_t pos = 0;
    while (pos < copy.size()) {
      const std::size_t n = step == 0 ? copy.size() - pos : std::min(step, copy.size() - pos);
      reader.feed(std::span<char>(copy.data() + pos, n), sink());
      pos += n;
    }
  }
  FrameReader reader{1024};
  std::vector<Seen> seen;
  bool pause_after_message = false;
};

TEST_F(ReaderTest, WholeMessagesInOneFeedAndByteByByte) {
  const std::string input = client_frame(1, "hello") + client_frame(2, std::string(300, 'b')) +
                            client_frame(1, std::string(20, 'x'));
  for (std::size_t step : {std::size_t{0}, std::size_t{1}, std::size_t{3}, std::size_t{7}}) {
    seen.clear();
    reader = FrameReader(1024);
    feed(input, step);
    ASSERT_EQ(seen.size(), 3U) << "step " << step;
    EXPECT_EQ(seen[0].payload, "hello");
    EXPECT_FALSE(seen[0].binary);
    EXPECT_EQ(seen[1].payload, std::string(300, 'b'));
    EXPECT_TRUE(seen[1].binary);
    EXPECT_EQ(seen[2].payload, std::string(20, 'x'));
    EXPECT_FALSE(reader.has_buffered());
  }
}

TEST_F(ReaderTest, FragmentsWithControlFramesBetween) {
  const std::string input = client_frame(1, "ab", false) + client_frame(9, "p1") +
                            client_frame(0, "cd", false) + client_frame(10, "x") +
                            client_frame(0, "ef");
  feed(input, 2);
  ASSERT_EQ(seen.size(), 3U);
  EXPECT_EQ(seen[0].kind, ReadEvent::Kind::ping);
  EXPECT_EQ(seen[0].payload, "p1");
  EXPECT_EQ(seen[1].kind, ReadEvent::Kind::pong);
  EXPECT_EQ(seen[2].kind, ReadEvent::Kind::message);
  EXPECT_EQ(seen[2].payload, "abcdef");
}

TEST_F(ReaderTest, PauseKeepsTheRestForResume) {
  pause_after_message = true;
  feed(client_frame(1, "one") + client_frame(1, "two") + client_frame(1, "thr"));
  ASSERT_EQ(seen.size(), 1U);
  EXPECT_TRUE(reader.has_buffered());
  reader.resume(sink());
  ASSERT_EQ(seen.size(), 2U);
  EXPECT_EQ(seen[1].payload, "two");
  pause_after_message = false;
  reader.resume(sink());
  ASSERT_EQ(seen.size(), 3U);
  EXPECT_EQ(seen[2].payload, "thr");
  EXPECT_FALSE(reader.has_buffered());
}

TEST_F(ReaderTest, CloseFrameEndsReading) {
  feed(client_frame(8, std::string("\x03\xe8") + "bye") + client_frame(1, "after"));
  ASSERT_EQ(seen.size(), 1U);
  EXPECT_EQ(seen[0].kind, ReadEvent::Kind::close);
  EXPECT_EQ(seen[0].code, 1000);
  EXPECT_EQ(seen[0].reason, "bye");
  EXPECT_TRUE(reader.done());
}

TEST_F(ReaderTest, EmptyCloseHasNoCode) {
  feed(client_frame(8, ""));
  ASSERT_EQ(seen.size(), 1U);
  EXPECT_EQ(seen[0].code, 0);
}

struct BadCase {
  const char* name;
  std::string bytes;
  std::uint16_t code;
};

TEST_F(ReaderTest, ProtocolErrorsGiveTheirCloseCode) {
  const std::vector<BadCase> cases = {
      {"unmasked", client_frame(1, "x", true, 0, false), 1002},
      {"rsv1", client_frame(1, "x", true, 0x40), 1002},
      {"rsv3", client_frame(1, "x", true, 0x10), 1002},
      {"opcode 3", client_frame(3, "x"), 1002},
      {"opcode 0xB", client_frame(0xB, "x"), 1002},
      {"lone continuation", client_frame(0, "x"), 1002},
      {"new message inside one", client_frame(1, "a", false) + client_frame(1, "b"), 1002},
      {"fragmented ping", client_frame(9, "a", false), 1002},
      {"126-byte ping", client_frame(9, std::string(126, 'p')), 1002},
      {"1-byte close", client_frame(8, "x"), 1002},
      {"close code 1005", client_frame(8, "\x03\xed"), 1002},
      {"close code 999", client_frame(8, "\x03\xe7"), 1002},
      {"close reason not UTF-8", client_frame(8, "\x03\xe8\xff"), 1007},
      {"text not UTF-8", client_frame(1, "\x7b\xff\x7d"), 1007},
      {"UTF-8 cut across fragments", client_frame(1, "\x7b\xe2\x82", false) + client_frame(0, "A}"),
       1007},
      {"surrogate", client_frame(1, "\xed\xa0\x80"), 1007},
      {"overlong", client_frame(1, "\xc0\xaf"), 1007},
      {"frame over the limit", client_frame(1, std::string(1025, 'a')), 1009},
      {"announced 1 TiB", client_frame(1, "", true, 0, true, 1ULL << 40), 1009},
      {"top bit of the length", client_frame(2, "", true, 0, true, 1ULL << 63), 1009},
      {"fragments over the limit",
       client_frame(1, std::string(600, 'a'), false) + client_frame(0, std::string(600, 'a')),
       1009},
  };
  for (const BadCase& c : cases) {
    seen.clear();
    reader = FrameReader(1024);
    feed(c.bytes + client_frame(1, "never"));
    ASSERT_EQ(seen.size(), 1U) << c.name;
    EXPECT_EQ(seen[0].kind, ReadEvent::Kind::error) << c.name;
    EXPECT_EQ(seen[0].code, c.code) << c.name;
    EXPECT_FALSE(seen[0].reason.empty()) << c.name;
    EXPECT_TRUE(reader.done()) << c.name;
  }
}

TEST_F(ReaderTest, ExactlyTheLimitIsAccepted) {
  feed(client_frame(2, std::string(1024, 'z')));
  ASSERT_EQ(seen.size(), 1U);
  EXPECT_EQ(seen[0].kind, ReadEvent::Kind::message);
  EXPECT_EQ(seen[0].payload.size(), 1024U);
}

TEST_F(ReaderTest, ValidUtf8AcrossFragmentBoundaries) {
  const std::string text = "frag-\xc3\xa9-\xf0\x9f\x98\x80-end";  // é and an emoji
  feed(client_frame(1, text.substr(0, 6), false) + client_frame(0, text.substr(6, 3), false) +
           client_frame(0, text.substr(9)),
       1);
  ASSERT_EQ(seen.size(), 1U);
  EXPECT_EQ(seen[0].kind, ReadEvent::Kind::message);
  EXPECT_EQ(seen[0].payload, text);
}

TEST(WsFrameEncode, ControlAndCloseFrames) {
  EXPECT_EQ(encode_control_frame(Opcode::pong, "ab"), std::string("\x8a\x02"
                                                                  "ab"));
  const std::string close = encode_close_frame(1008, "why");
  EXPECT_EQ(close, std::string("\x88\x05\x03\xf0why"));
  EXPECT_EQ(encode_close_frame(0, "ignored"), std::string("\x88\x00", 2));
  // A long reason is cut to 123 bytes, on a UTF-8 boundary.
  std::string reason(122, 'r');
  reason += "\xc3\xa9";  // é straddles byte 123
  const std::string cut = encode_close_frame(1000, reason);
  EXPECT_EQ(cut.size(), 2U + 2U + 122U);
  EXPECT_TRUE(protobuf::wire::is_valid_utf8(cut.substr(4)));
}

TEST(WsFrameEncode, CloseCodesAndUtf8) {
  EXPECT_TRUE(is_valid_close_code(1000));
  EXPECT_TRUE(is_valid_close_code(1011));
  EXPECT_TRUE(is_valid_close_code(3000));
  EXPECT_TRUE(is_valid_close_code(4999));
  EXPECT_FALSE(is_valid_close_code(1004));
  EXPECT_FALSE(is_valid_close_code(1006));
  EXPECT_FALSE(is_valid_close_code(1015));
  EXPECT_FALSE(is_valid_close_code(2999));
  EXPECT_FALSE(is_valid_close_code(5000));
  EXPECT_TRUE(protobuf::wire::is_valid_utf8("plain ascii that is longer than eight bytes"));
  EXPECT_TRUE(protobuf::wire::is_valid_utf8("\xe2\x82\xac"));
  EXPECT_FALSE(protobuf::wire::is_valid_utf8("\xf4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(protobuf::wire::is_valid_utf8("abcdefgh\x80"));
}

}  // namespace
}  // namespace wps::protocol::ws
