// Error responses: shape, headers, UTF-8 safety of echoed input.

#include "api_fixture.hpp"

namespace wps::api::test {
namespace {

using http::verb;

class ErrorsTest : public ApiTest {};

TEST_F(ErrorsTest, NotFoundOfExistsCarriesTheErrorCodeButNoBody) {
  const Response r = call(verb::head, "/api/hubs/chat/connections/ghost");
  EXPECT_EQ(status(r), 404u);
  EXPECT_EQ(r["x-ms-error-code"], "NotFound");
  EXPECT_TRUE(r.body().empty());
  EXPECT_EQ(r[http::field::content_length], "0");
}

TEST_F(ErrorsTest, EchoedInputIsMadeValidUtf8) {
  const Response r = send(
      {verb::post, "/api/hubs/chat/:send", "x", std::string("application/\xff\xfe"), std::nullopt});
  EXPECT_EQ(status(r), 415u);
  EXPECT_TRUE(contains(error_message(r), "application/\xEF\xBF\xBD\xEF\xBF\xBD"));
}

TEST_F(ErrorsTest, TextBodiesAndReasonsAreKeptUtf8) {
  auto a = connect("a");
  EXPECT_EQ(status(post("/api/hubs/chat/:send", "ok \xc3\xa9 \xff", "text/plain")), 202u);
  EXPECT_TRUE(contains(*a->last_text(), "\"data\":\"ok \xc3\xa9 \xEF\xBF\xBD\""));
  EXPECT_EQ(status(call(verb::delete_, "/api/hubs/chat/connections/a?reason=%FFx")), 204u);
  ASSERT_EQ(a->closes().size(), 1u);
  EXPECT_EQ(a->closes()[0].reason, "\xEF\xBF\xBDx");
}

TEST_F(ErrorsTest, GeneratedTokensRefuseNonUtf8Claims) {
  EXPECT_EQ(status(post("/api/hubs/chat/:generateToken?userId=%FF")), 400u);
  EXPECT_EQ(status(post("/api/hubs/chat/:generateToken?role=%C0%80")), 400u);
  EXPECT_EQ(status(post("/api/hubs/chat/:generateToken?group=%ED%A0%80")), 400u);
}

}  // namespace
}  // namespace wps::api::test
