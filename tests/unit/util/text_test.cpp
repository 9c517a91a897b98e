// util/text: ASCII case folding and comparison, trimming, percent encoding, UTF-8 repair.

#include "util/text.hpp"

#include <gtest/gtest.h>

#include <string>

namespace wps::util {
namespace {

TEST(Text, CaseFoldingChangesAsciiLettersOnly) {
  EXPECT_EQ(to_lower("Hello, WORLD 09_[]@`{}"), "hello, world 09_[]@`{}");
  // Bytes of UTF-8 text (and every byte >= 0x80) pass through: no locale at play.
  EXPECT_EQ(to_lower("\xC3\x89T\xC3\xA9"), "\xC3\x89t\xC3\xA9");
  EXPECT_EQ(ascii_upper('a'), 'A');
  EXPECT_EQ(ascii_upper('z'), 'Z');
  EXPECT_EQ(ascii_upper('{'), '{');
  EXPECT_EQ(ascii_lower('@'), '@');  // the byte before 'A'
  EXPECT_EQ(ascii_lower('['), '[');  // the byte after 'Z'
  for (int c = 0; c < 256; ++c) {
    const char ch = static_cast<char>(c);
    const bool upper = c >= 'A' && c <= 'Z';
    const bool lower = c >= 'a' && c <= 'z';
    EXPECT_EQ(ascii_lower(ch), upper ? static_cast<char>(c + 32) : ch) << c;
    EXPECT_EQ(ascii_upper(ch), lower ? static_cast<char>(c - 32) : ch) << c;
  }
  EXPECT_EQ(to_lower(""), "");
}

TEST(Text, CaseInsensitiveComparison) {
  EXPECT_TRUE(iequals("Sec-WebSocket-Protocol", "sec-websocket-protocol"));
  EXPECT_TRUE(iequals("", ""));
  EXPECT_FALSE(iequals("abc", "abd"));
  EXPECT_FALSE(iequals("abc", "ab"));
  EXPECT_FALSE(iequals("ab", "abc"));
  // '@' and '`' differ from each other by the case bit but are not letters.
  EXPECT_FALSE(iequals("@", "`"));
  EXPECT_FALSE(iequals("[", "{"));
  EXPECT_FALSE(iequals("\xC3\xA9", "\xC3\x89"));  // é / É: not ASCII

  EXPECT_TRUE(istarts_with("Bearer abc", "bearer "));
  EXPECT_TRUE(istarts_with("HTTPS://x", "https://"));
  EXPECT_TRUE(istarts_with("abc", ""));
  EXPECT_FALSE(istarts_with("bear", "bearer "));
  EXPECT_FALSE(istarts_with("Basic abc", "bearer "));
}

TEST(Text, TrimOwsStripsSpacesAndTabsOnly) {
  EXPECT_EQ(trim_ows(" \t a b \t "), "a b");
  EXPECT_EQ(trim_ows("ab"), "ab");
  EXPECT_EQ(trim_ows(" \t "), "");
  EXPECT_EQ(trim_ows(""), "");
  EXPECT_EQ(trim_ows("\r\na\n"), "\r\na\n");  // CR/LF are not optional white space
  EXPECT_EQ(trim_ows("\va\f"), "\va\f");
}

TEST(Text, TrimAsciiSpaceStripsTheCLocaleSpaces) {
  EXPECT_EQ(trim_ascii_space(" \t\n\v\f\r a b \r\n"), "a b");
  EXPECT_EQ(trim_ascii_space("\r\n"), "");
  EXPECT_EQ(trim_ascii_space("x"), "x");
  EXPECT_EQ(trim_ascii_space("\x1F"
                             "a\x0E"),
            "\x1F"
            "a\x0E");  // other control bytes stay
  for (int c = 0; c < 256; ++c) {
    const bool space = c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
    EXPECT_EQ(is_ascii_space(static_cast<char>(c)), space) << c;
    EXPECT_EQ(is_ows(static_cast<char>(c)), c == ' ' || c == '\t') << c;
  }
}

TEST(Text, HexValue) {
  EXPECT_EQ(hex_value('0'), 0);
  EXPECT_EQ(hex_value('9'), 9);
  EXPECT_EQ(hex_value('a'), 10);
  EXPECT_EQ(hex_value('F'), 15);
  EXPECT_EQ(hex_value('g'), -1);
  EXPECT_EQ(hex_value('G'), -1);
  EXPECT_EQ(hex_value('/'), -1);
  EXPECT_EQ(hex_value(':'), -1);
  EXPECT_EQ(hex_value('@'), -1);
  EXPECT_EQ(hex_value('`'), -1);
}

TEST(Text, PercentEncodeKeepsOnlyUnreservedCharacters) {
  EXPECT_EQ(percent_encode("a b/c~-_.!"), "a%20b%2Fc~-_.%21");
  EXPECT_EQ(percent_encode("AZaz09"), "AZaz09");
  EXPECT_EQ(percent_encode("'()*+,;=:@?#[]%"), "%27%28%29%2A%2B%2C%3B%3D%3A%40%3F%23%5B%5D%25");
  EXPECT_EQ(percent_encode("\xC3\xA9"), "%C3%A9");
  EXPECT_EQ(percent_encode(std::string("\0\xFF", 2)), "%00%FF");
  EXPECT_EQ(percent_encode(""), "");
}

TEST(Text, PercentDecodeIsStrict) {
  EXPECT_EQ(percent_decode("a%2Fb%2fc%41", true), "a%2Fb%2fcA");
  EXPECT_EQ(percent_decode("a%2Fb", false), "a/b");
  EXPECT_EQ(percent_decode("a%2Fb"), "a/b");
  EXPECT_EQ(percent_decode("a+b%20c"), "a+b c");  // '+' is not a space here
  EXPECT_EQ(percent_decode("%25%41"), "%A");      // decoded once
  EXPECT_EQ(percent_decode(""), "");
  EXPECT_EQ(percent_decode("%4"), std::nullopt);
  EXPECT_EQ(percent_decode("%"), std::nullopt);
  EXPECT_EQ(percent_decode("ab%"), std::nullopt);
  EXPECT_EQ(percent_decode("%g0"), std::nullopt);
  EXPECT_EQ(percent_decode("%0g"), std::nullopt);
  // Round trip of every byte.
  std::string all;
  for (int c = 0; c < 256; ++c)
    all += static_cast<char>(c);
  EXPECT_EQ(percent_decode(percent_encode(all)), all);
}

TEST(Text, PercentDecodeLenientKeepsMalformedEscapes) {
  EXPECT_EQ(percent_decode_lenient("a%2Fb"), "a/b");
  EXPECT_EQ(percent_decode_lenient("%zz%41"), "%zzA");
  EXPECT_EQ(percent_decode_lenient("100%"), "100%");
  EXPECT_EQ(percent_decode_lenient("%4"), "%4");
  EXPECT_EQ(percent_decode_lenient("%41%"), "A%");
  EXPECT_EQ(percent_decode_lenient("%%41"), "%A");
  EXPECT_EQ(percent_decode_lenient("a+b"), "a+b");
}

TEST(Text, ToValidUtf8ReplacesEveryIllFormedByte) {
  EXPECT_EQ(to_valid_utf8("abc"), "abc");
  EXPECT_EQ(to_valid_utf8("\xe2\x82\xac \xf0\x9f\x98\x80"), "\xe2\x82\xac \xf0\x9f\x98\x80");
  EXPECT_EQ(to_valid_utf8("\xe2\x82"), "\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(to_valid_utf8("\xc0\xaf"), "\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(to_valid_utf8("\xed\xa0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(to_valid_utf8("\xf4\x90\x80\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(to_valid_utf8("\xf4\x8f\xbf\xbf"), "\xf4\x8f\xbf\xbf");  // U+10FFFF
  EXPECT_EQ(to_valid_utf8("a\xff"
                          "b"),
            "a\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(to_valid_utf8(""), "");
}

}  // namespace
}  // namespace wps::util
