#pragma once
// A RestApi over a real Node and MemoryBroker, fake connections, and requests signed the way the
// SDKs sign them (aud = the full request URL).

#include <gtest/gtest.h>

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "api/rest_api.hpp"
#include "auth/jwt.hpp"
#include "config/config.hpp"
#include "core/memory_broker.hpp"
#include "core/node.hpp"
#include "handler/codec.hpp"
#include "support/fake_client.hpp"

namespace wps::api::test {

namespace http = boost::beast::http;
using wps::test::FakeClient;

inline constexpr std::int64_t kNow = 1'800'000'000;
inline constexpr const char* kHost = "localhost:8080";

// Claims JSON for a REST token.
inline std::string rest_claims(const std::string& aud, std::int64_t exp = kNow + 3600) {
  boost::json::object claims;
  claims["aud"] = aud;
  claims["exp"] = exp;
  return boost::json::serialize(claims);
}

struct Sent {
  http::verb method = http::verb::post;
  std::string target;
  std::string body;
  std::optional<std::string> content_type;
  // nullopt: sign a valid token for http://<host><target>; "" : no Authorization header.
  std::optional<std::string> authorization;
};

class ApiTest : public ::testing::Test {
 protected:
  ApiTest() : node_(broker_, core::HubLimits{}) {}

  RestApi api() { return RestApi(config_, node_); }

  std::shared_ptr<FakeClient> connect(const std::string& id,
                                      std::optional<std::string> user = std::nullopt,
                                      std::vector<std::string> groups = {},
                                      core::ProtocolKind kind = core::ProtocolKind::json,
                                      const std::string& hub = "chat") {
    auto conn = std::make_shared<FakeClient>();
    core::ConnectionInfo info;
    info.id = id;
    info.user_id = std::move(user);
    info.kind = kind;
    // The real encoders of each protocol (the handlers'), so that the wire bytes are checked.
    info.encoder = core::is_pubsub(kind)
                       ? static_cast<const core::Encoder*>(&handler::pubsub_codec(kind))
                       : &handler::simple_encoder();
    info.groups = std::move(groups);
    EXPECT_EQ(node_.hub(hub)->add_connection(info, conn), core::Hub::AddResult::added);
    conn->clear();
    conns_.push_back(conn);
    return conn;
  }
  std::shared_ptr<core::Hub> hub(const std::string& name = "chat") { return node_.hub(name); }

  std::string bearer(const std::string& aud, std::int64_t exp = kNow + 3600) const {
    return "Bearer " + auth::sign_token(rest_claims(aud, exp), config_.primary_key);
  }

  Response send(const Sent& s) {
    Request request{s.method, s.target, 11};
    request.set(http::field::host, kHost);
    if (!s.authorization)
      request.set(http::field::authorization, bearer(std::string("http://") + kHost + s.target));
    else if (!s.authorization->empty())
      request.set(http::field::authorization, *s.authorization);
    if (s.content_type)
      request.set(http::field::content_type, *s.content_type);
    request.body() = s.body;
    request.prepare_payload();
    return api().handle(request, kNow);
  }
  Response post(const std::string& target, const std::string& body = {},
                std::optional<std::string> content_type = std::nullopt) {
    return send({http::verb::post, target, body, std::move(content_type), std::nullopt});
  }
  Response call(http::verb method, const std::string& target) {
    return send({method, target, {}, std::nullopt, std::nullopt});
  }

  static unsigned status(const Response& r) { return r.result_int(); }
  static boost::json::value json(const Response& r) { return boost::json::parse(r.body()); }
  // The ErrorDetail code, checking the header agrees.
  static std::string error_code(const Response& r) {
    const std::string header(r["x-ms-error-code"]);
    const auto body = json(r);
    EXPECT_EQ(std::string(body.at("code").as_string()), header);
    EXPECT_TRUE(body.as_object().contains("message"));
    return header;
  }
  static std::string error_message(const Response& r) {
    return std::string(json(r).at("message").as_string());
  }

  config::Config config_;
  core::MemoryBroker broker_;
  core::Node node_;
  std::vector<std::shared_ptr<FakeClient>> conns_;
};

inline bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace wps::api::test
