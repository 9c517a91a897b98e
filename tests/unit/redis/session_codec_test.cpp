// The stored form of a reliable session's state and the header of a logged publication: both
// are read back from Redis, so anything malformed must be refused, never trusted.

#include "redis/session_codec.hpp"

#include <gtest/gtest.h>

#include <string>

namespace wps::redis {
namespace {

core::SessionState sample() {
  core::SessionState s;
  s.hub = "chat";
  s.connection_id = "c-1";
  s.user_id = "alice";
  s.kind = core::ProtocolKind::protobuf_reliable;
  s.roles = {"webpubsub.joinLeaveGroup", "webpubsub.sendToGroup.room"};
  s.groups = {"a", "room"};
  s.ack_ids = {1, 2, 18446744073709551615ULL};
  s.acked = 123456789012345ULL;
  s.token = "secret";
  return s;
}

TEST(SessionCodecTest, RoundTripKeepsEverythingButTheToken) {
  const core::SessionState in = sample();
  const std::string text = encode_session_state(in);
  EXPECT_EQ(text.find("secret"), std::string::npos) << "the token is stored beside the state";
  const auto out = decode_session_state(text);
  ASSERT_TRUE(out);
  EXPECT_EQ(out->hub, in.hub);
  EXPECT_EQ(out->connection_id, in.connection_id);
  EXPECT_EQ(out->user_id, in.user_id);
  EXPECT_EQ(out->kind, in.kind);
  EXPECT_EQ(out->roles, in.roles);
  EXPECT_EQ(out->groups, in.groups);
  EXPECT_EQ(out->ack_ids, in.ack_ids);
  EXPECT_EQ(out->acked, in.acked);
  EXPECT_TRUE(out->token.empty());
}

TEST(SessionCodecTest, AnonymousJsonSession) {
  core::SessionState in = sample();
  in.user_id.reset();
  in.kind = core::ProtocolKind::json_reliable;
  in.roles.clear();
  in.groups.clear();
  in.ack_ids.clear();
  in.acked = 0;
  const auto out = decode_session_state(encode_session_state(in));
  ASSERT_TRUE(out);
  EXPECT_FALSE(out->user_id);
  EXPECT_EQ(out->kind, core::ProtocolKind::json_reliable);
  EXPECT_TRUE(out->groups.empty());
}

TEST(SessionCodecTest, RefusesWhatIsNotAValidState) {
  const std::string good = encode_session_state(sample());
  ASSERT_TRUE(decode_session_state(good));
  const char* bad[] = {
      "",
      "null",
      "[]",
      "{",
      R"({"v":2,"hub":"chat","id":"c","user":null,"kind":"json.reliable.webpubsub.azure.v1","roles":[],"groups":[],"ackIds":[],"acked":0})",
      // a kind that is not reliable
      R"({"v":1,"hub":"chat","id":"c","user":null,"kind":"json.webpubsub.azure.v1","roles":[],"groups":[],"ackIds":[],"acked":0})",
      // missing fields, wrong types, negative numbers
      R"({"v":1,"hub":"chat","id":"c","kind":"json.reliable.webpubsub.azure.v1","roles":[],"groups":[],"ackIds":[],"acked":0})",
      R"({"v":1,"hub":"chat","id":"","user":null,"kind":"json.reliable.webpubsub.azure.v1","roles":[],"groups":[],"ackIds":[],"acked":0})",
      R"({"v":1,"hub":"chat","id":"c","user":7,"kind":"json.reliable.webpubsub.azure.v1","roles":[],"groups":[],"ackIds":[],"acked":0})",
      R"({"v":1,"hub":"chat","id":"c","user":null,"kind":"json.reliable.webpubsub.azure.v1","roles":[1],"groups":[],"ackIds":[],"acked":0})",
      R"({"v":1,"hub":"chat","id":"c","user":null,"kind":"json.reliable.webpubsub.azure.v1","roles":[],"groups":"a","ackIds":[],"acked":0})",
      R"({"v":1,"hub":"chat","id":"c","user":null,"kind":"json.reliable.webpubsub.azure.v1","roles":[],"groups":[],"ackIds":[-1],"acked":0})",
      R"({"v":1,"hub":"chat","id":"c","user":null,"kind":"json.reliable.webpubsub.azure.v1","roles":[],"groups":[],"ackIds":[],"acked":-5})",
      R"({"v":1,"hub":"chat","id":"c","user":null,"kind":"json.reliable.webpubsub.azure.v1","roles":[],"groups":[],"ackIds":[],"acked":1.5})",
  };
  for (const char* text : bad)
    EXPECT_FALSE(decode_session_state(text)) << text;
  // Overlong names are refused.
  core::SessionState big = sample();
  big.groups.push_back(std::string(5000, 'g'));
  EXPECT_FALSE(decode_session_state(encode_session_state(big)));
  // Every truncation of a good state is refused (or, at worst, parsed as a whole state).
  for (std::size_t n = 0; n < good.size(); ++n)
    EXPECT_FALSE(decode_session_state(good.substr(0, n))) << n;
}

TEST(SessionCodecTest, LoggedHeader) {
  EXPECT_FALSE(split_logged(""));
  EXPECT_FALSE(split_logged("\x01plain envelope"));
  // The header is a view into the payload: keep the payload alive while it is read.
  const std::string payload = std::string("\xFF") + "123456789012345:" + "body";
  auto h = split_logged(payload);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->seq, 123456789012345ULL);
  EXPECT_EQ(h->envelope, "body");
  // Malformed: seq 0 (the caller drops it).
  for (const std::string& bad : {std::string("\xFF"), std::string("\xFF:x"),
                                 std::string("\xFF"
                                             "12"),
                                 std::string("\xFF"
                                             "1a:x"),
                                 std::string("\xFF"
                                             "-1:x"),
                                 std::string("\xFF"
                                             "0:x"),
                                 std::string("\xFF"
                                             "99999999999999999999999:x"),
                                 std::string("\xFF"
                                             "18446744073709551616:x")}) {
    auto m = split_logged(bad);
    ASSERT_TRUE(m) << bad;
    EXPECT_EQ(m->seq, 0U) << bad;
    EXPECT_TRUE(m->envelope.empty()) << bad;
  }
  auto max = split_logged(std::string("\xFF") + "18446744073709551615:");
  ASSERT_TRUE(max);
  EXPECT_EQ(max->seq, 18446744073709551615ULL);
  EXPECT_EQ(max->envelope, "");
}

}  // namespace
}  // namespace wps::redis
