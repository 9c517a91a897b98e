// RFC 6455 pieces of the upgrade: the accept value and the subprotocol list.

#include "transport/upgrade.hpp"

#include <gtest/gtest.h>

namespace wps::transport {
namespace {

TEST(SplitProtocolsTest, TrimsAndSplits) {
  std::vector<std::string_view> out;
  split_protocols(" a, b ,c,,", out);
  EXPECT_EQ(out, (std::vector<std::string_view>{"a", "b", "c"}));
}

TEST(WebSocketAcceptKeyTest, Rfc6455ExampleAndBadKeys) {
  // RFC 6455 §1.3.
  EXPECT_EQ(websocket_accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  EXPECT_EQ(websocket_accept_key("  dGhlIHNhbXBsZSBub25jZQ==\t"), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  EXPECT_EQ(websocket_accept_key(""), "");
  EXPECT_EQ(websocket_accept_key("c2hvcnQ="), "");                      // 5 bytes
  EXPECT_EQ(websocket_accept_key("AAAAAAAAAAAAAAAAAAAAAAAAAAAA"), "");  // 21 bytes
  EXPECT_EQ(websocket_accept_key("not base64 at all!!!!!!!"), "");
}

}  // namespace
}  // namespace wps::transport
