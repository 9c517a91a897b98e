#include "util/base64.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

using wps::util::base64_decode;
using wps::util::base64_encode;
using wps::util::base64url_decode;
using wps::util::base64url_encode;
using wps::util::TrailingBits;

std::string all_bytes() {
  std::string bytes;
  for (int i = 0; i < 256; ++i) {
    bytes.push_back(static_cast<char>(i));
  }
  return bytes;
}

TEST(Base64, EncodesRfc4648Vectors) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foob"), "Zm9vYg==");
  EXPECT_EQ(base64_encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
}

TEST(Base64, DecodesRfc4648Vectors) {
  EXPECT_EQ(base64_decode(""), std::string());
  EXPECT_EQ(base64_decode("Zg=="), "f");
  EXPECT_EQ(base64_decode("Zm8="), "fo");
  EXPECT_EQ(base64_decode("Zm9v"), "foo");
  EXPECT_EQ(base64_decode("Zm9vYg=="), "foob");
  EXPECT_EQ(base64_decode("Zm9vYmE="), "fooba");
  EXPECT_EQ(base64_decode("Zm9vYmFy"), "foobar");
}

TEST(Base64, UsesStandardAlphabet) {
  EXPECT_EQ(base64_encode("\xfb\xff\xbf"), "+/+/");
  EXPECT_EQ(base64_decode("+/+/"), "\xfb\xff\xbf");
  EXPECT_FALSE(base64_decode("-_-_"));
}

TEST(Base64, RoundTripsEveryByteAndLength) {
  const std::string bytes = all_bytes();
  for (std::size_t n = 0; n <= bytes.size(); ++n) {
    const std::string input = bytes.substr(bytes.size() - n);
    const std::string encoded = base64_encode(input);
    EXPECT_EQ(encoded.size() % 4, 0u);
    EXPECT_EQ(base64_decode(encoded), input) << n;
  }
}

TEST(Base64, RejectsCharactersOutsideAlphabet) {
  EXPECT_FALSE(base64_decode("Zm9v YmFy"));
  EXPECT_FALSE(base64_decode("Zm9v\nYmFy"));
  EXPECT_FALSE(base64_decode("Zm9*"));
  EXPECT_FALSE(base64_decode(std::string("Zm9\0", 4)));
  EXPECT_FALSE(base64_decode("Zm9\xc3"));
}

TEST(Base64, RejectsBadPadding) {
  EXPECT_FALSE(base64_decode("Zg"));        // unpadded
  EXPECT_FALSE(base64_decode("Zm8"));       // unpadded
  EXPECT_FALSE(base64_decode("Zg="));       // short padding
  EXPECT_FALSE(base64_decode("Z==="));      // three pad chars
  EXPECT_FALSE(base64_decode("===="));      // nothing but padding
  EXPECT_FALSE(base64_decode("Zg==Zg=="));  // padding in the middle
  EXPECT_FALSE(base64_decode("Z=g="));
  EXPECT_FALSE(base64_decode("Zm9vY"));  // length 1 mod 4
  EXPECT_FALSE(base64_decode("="));
}

TEST(Base64Url, EncodesWithoutPadding) {
  EXPECT_EQ(base64url_encode(""), "");
  EXPECT_EQ(base64url_encode("f"), "Zg");
  EXPECT_EQ(base64url_encode("fo"), "Zm8");
  EXPECT_EQ(base64url_encode("foo"), "Zm9v");
  EXPECT_EQ(base64url_encode("\xfb\xff\xbf"), "-_-_");
}

TEST(Base64Url, DecodesWithOrWithoutPadding) {
  EXPECT_EQ(base64url_decode("Zg"), "f");
  EXPECT_EQ(base64url_decode("Zg=="), "f");
  EXPECT_EQ(base64url_decode("Zm8"), "fo");
  EXPECT_EQ(base64url_decode("Zm8="), "fo");
  EXPECT_EQ(base64url_decode("-_-_"), "\xfb\xff\xbf");
  EXPECT_EQ(base64url_decode(""), std::string());
}

TEST(Base64Url, RejectsBadInput) {
  EXPECT_FALSE(base64url_decode("+/+/"));
  EXPECT_FALSE(base64url_decode("Z"));
  EXPECT_FALSE(base64url_decode("Zg="));
  EXPECT_FALSE(base64url_decode("Z==="));
  EXPECT_FALSE(base64url_decode("Zg=x"));
  EXPECT_FALSE(base64url_decode("a.b"));
}

TEST(Base64Url, TrailingBitsIgnoredByDefaultRejectedWhenCanonicalIsRequired) {
  // "Zg" is the canonical "f" (0x66 = 011001 10|0000): "Zh".."Zv" set some of the four unused bits.
  EXPECT_EQ(base64url_decode("Zh"), "f");
  EXPECT_EQ(base64url_decode("Zv"), "f");
  EXPECT_EQ(base64url_decode("Zg", TrailingBits::reject), "f");
  EXPECT_EQ(base64url_decode("Zg==", TrailingBits::reject), "f");
  EXPECT_FALSE(base64url_decode("Zh", TrailingBits::reject));
  EXPECT_FALSE(base64url_decode("Zv==", TrailingBits::reject));
  // Two unused bits after three characters: "Zm8" is canonical "fo", "Zm9" is not.
  EXPECT_EQ(base64url_decode("Zm9"), "fo");
  EXPECT_FALSE(base64url_decode("Zm9", TrailingBits::reject));
  EXPECT_EQ(base64url_decode("Zm8", TrailingBits::reject), "fo");
  // Whole groups have no unused bits.
  EXPECT_EQ(base64url_decode("-_-_", TrailingBits::reject), "\xfb\xff\xbf");
  EXPECT_EQ(base64url_decode("", TrailingBits::reject), std::string());
  // The other rules hold in both modes.
  for (const auto mode : {TrailingBits::ignore, TrailingBits::reject}) {
    EXPECT_FALSE(base64url_decode("Z", mode));
    EXPECT_FALSE(base64url_decode("Zg=", mode));
    EXPECT_FALSE(base64url_decode("+/+/", mode));
  }
  // Every canonical encoding passes the strict decoder.
  const std::string bytes = all_bytes();
  for (std::size_t n = 0; n <= bytes.size(); ++n) {
    const std::string input = bytes.substr(0, n);
    EXPECT_EQ(base64url_decode(base64url_encode(input), TrailingBits::reject), input) << n;
  }
}

TEST(Base64Url, RoundTripsEveryByteAndLength) {
  const std::string bytes = all_bytes();
  for (std::size_t n = 0; n <= bytes.size(); ++n) {
    const std::string input = bytes.substr(0, n);
    const std::string encoded = base64url_encode(input);
    EXPECT_EQ(encoded.find_first_of("+/="), std::string::npos);
    EXPECT_EQ(base64url_decode(encoded), input) << n;
  }
}

}  // namespace
