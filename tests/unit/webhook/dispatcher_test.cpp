// The dispatcher against a real HTTP handler on loopback.

#include "webhook/dispatcher.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <future>
#include <thread>

#include "unit/webhook/handler_server.hpp"

namespace wps::webhook::test {
namespace {

using namespace std::chrono_literals;

constexpr const char* kOrigin = "test.webpubsub.local";
constexpr const char* kPrimary = "primary-key-0123456789-0123456789-0123456789";
constexpr const char* kSecondary = "secondary-key-abcdefghij-abcdefghij-abcdefgh";

std::string expected_hmac(const std::string& key, const std::string& data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest.data(), &length);
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) {
    std::array<char, 3> byte{};
    std::snprintf(byte.data(), byte.size(), "%02x", digest[i]);
    hex += byte.data();
  }
  return hex;
}

class DispatcherTest : public ::testing::Test {
 protected:
  DispatcherTest() : work_(boost::asio::make_work_guard(io_)), options_(config::Config{}) {
    for (int i = 0; i < 2; ++i)
      threads_.emplace_back([this] { io_.run(); });
    options_.connect_timeout = 5s;
    options_.user_event_timeout = 5s;
    options_.system_event_timeout = 5s;
    options_.validation_timeout = 5s;
    options_.retry_delays = {50ms, 50ms, 50ms};
  }
  ~DispatcherTest() override {
    dispatcher_.reset();
    work_.reset();
    io_.stop();
    for (auto& thread : threads_)
      thread.join();
  }

  config::EventHandler handler(std::string pattern = "*",
                               std::vector<std::string> system = {"connect", "connected",
                                                                  "disconnected"}) {
    return config::EventHandler{server_.url(), std::move(system), std::move(pattern), {}};
  }

  Dispatcher& make(std::vector<config::EventHandler> handlers, bool secondary = true) {
    config::Config config;
    config.primary_key = kPrimary;
    if (secondary)
      config.secondary_key = kSecondary;
    config.hubs["chat"].event_handlers = std::move(handlers);
    dispatcher_ = std::make_unique<Dispatcher>(io_.get_executor(), config, kOrigin, options_);
    return *dispatcher_;
  }
  Dispatcher& make() { return make({handler()}); }

  static ConnectionContext context(std::string id = "conn1") {
    ConnectionContext c;
    c.hub = "chat";
    c.connection_id = std::move(id);
    c.user_id = "user1";
    return c;
  }

  ConnectResult connect(ConnectionContext c = context(), ConnectRequest request = {}) {
    std::promise<ConnectResult> promise;
    auto future = promise.get_future();
    dispatcher_->connect(std::move(c), std::move(request), [&promise](ConnectResult result) {
      promise.set_value(std::move(result));
    });
    EXPECT_EQ(future.wait_for(20s), std::future_status::ready);
    return future.get();
  }

  UserEventResult user_event(protocol::Payload payload, ConnectionContext c = context(),
                             std::string event = "message") {
    std::promise<UserEventResult> promise;
    auto future = promise.get_future();
    dispatcher_->user_event(std::move(c), std::move(event), std::move(payload),
                            [&promise](UserEventResult r) { promise.set_value(std::move(r)); });
    EXPECT_EQ(future.wait_for(20s), std::future_status::ready);
    return future.get();
  }

  static std::vector<Recorded> posts(const std::vector<Recorded>& all) {
    std::vector<Recorded> out;
    for (const auto& r : all) {
      if (r.method == "POST")
        out.push_back(r);
    }
    return out;
  }

  HandlerServer server_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::vector<std::thread> threads_;
  DispatcherOptions options_;
  std::unique_ptr<Dispatcher> dispatcher_;
};

TEST_F(DispatcherTest, ValidatesWithOptionsThenSendsConnectWithEveryHeader) {
  make();
  ConnectRequest request;
  request.claims["sub"] = {"user1"};
  request.claims["role"] = {"webpubsub.joinLeaveGroup", "webpubsub.sendToGroup"};
  request.query["foo"] = {"bar"};
  request.headers["User-Agent"] = {"gtest"};
  request.subprotocols = {"json.webpubsub.azure.v1"};
  auto c = context();
  c.subprotocol = "json.webpubsub.azure.v1";
  auto result = connect(c, request);
  EXPECT_TRUE(result.accepted) << result.error;

  auto all = server_.requests();
  ASSERT_EQ(all.size(), 2U);
  const auto& validation = all[0];
  EXPECT_EQ(validation.method, "OPTIONS");
  EXPECT_EQ(validation.target, "/api/chat/validate");
  EXPECT_EQ(validation.header("WebHook-Request-Origin"), kOrigin);
  EXPECT_EQ(validation.header("ce-awpsversion"), "1.0");
  EXPECT_FALSE(validation.header("ce-signature"));

  const auto& post = all[1];
  EXPECT_EQ(post.method, "POST");
  EXPECT_EQ(post.target, "/api/chat/connect");
  EXPECT_EQ(post.header("Content-Type"), "application/json; charset=utf-8");
  EXPECT_EQ(post.header("WebHook-Request-Origin"), kOrigin);
  EXPECT_EQ(post.header("ce-specversion"), "1.0");
  EXPECT_EQ(post.header("ce-awpsversion"), "1.0");
  EXPECT_EQ(post.header("ce-type"), "azure.webpubsub.sys.connect");
  EXPECT_EQ(post.header("ce-source"), "/hubs/chat/client/conn1");
  EXPECT_TRUE(post.header("ce-id").has_value());
  auto time = post.header("ce-time").value_or("");
  EXPECT_EQ(time.size(), 24U) << time;
  EXPECT_EQ(time.back(), 'Z');
  EXPECT_EQ(time[10], 'T');
  EXPECT_EQ(post.header("ce-signature"), "sha256=" + expected_hmac(kPrimary, "conn1") +
                                             ",sha256=" + expected_hmac(kSecondary, "conn1"));
  EXPECT_EQ(post.header("ce-userId"), "user1");
  EXPECT_EQ(post.header("ce-connectionId"), "conn1");
  EXPECT_EQ(post.header("ce-hub"), "chat");
  EXPECT_EQ(post.header("ce-eventName"), "connect");
  EXPECT_EQ(post.header("ce-subprotocol"), "json.webpubsub.azure.v1");
  EXPECT_FALSE(post.header("ce-connectionState"));
  EXPECT_FALSE(post.header("Cookie"));

  auto body = boost::json::parse(post.body).as_object();
  EXPECT_EQ(body.at("claims").at("sub").as_array().at(0).as_string(), "user1");
  EXPECT_EQ(body.at("claims").at("role").as_array().size(), 2U);
  EXPECT_EQ(body.at("query").at("foo").as_array().at(0).as_string(), "bar");
  EXPECT_EQ(body.at("headers").at("User-Agent").as_array().at(0).as_string(), "gtest");
  EXPECT_EQ(body.at("subprotocols").as_array().at(0).as_string(), "json.webpubsub.azure.v1");
  EXPECT_TRUE(body.at("clientCertificates").as_array().empty());

  // Validation is cached: a second connect sends only its POST.
  EXPECT_TRUE(connect(context("conn2")).accepted);
  EXPECT_EQ(server_.requests().size(), 3U);
}

TEST_F(DispatcherTest, SignatureWithPrimaryKeyOnlyAndNoUserId) {
  make({handler()}, false);
  auto c = context("abc");
  c.user_id.reset();
  EXPECT_TRUE(connect(c).accepted);
  auto post = posts(server_.requests()).at(0);
  EXPECT_EQ(post.header("ce-signature"), "sha256=" + expected_hmac(kPrimary, "abc"));
  EXPECT_FALSE(post.header("ce-userId"));
  EXPECT_FALSE(post.header("ce-subprotocol"));
}

TEST_F(DispatcherTest, ValidationAcceptsTheExactOriginAmongSeveralLines) {
  server_.set([](const Recorded& r) {
    Reply reply;
    if (r.method == "OPTIONS") {
      reply.headers.emplace_back("WebHook-Allowed-Origin", "a.example, b.example");
      reply.headers.emplace_back("WebHook-Allowed-Origin", "TEST.webpubsub.LOCAL");
    }
    return reply;
  });
  make();
  EXPECT_TRUE(connect().accepted);
  EXPECT_EQ(posts(server_.requests()).size(), 1U);
}

TEST_F(DispatcherTest, HandlerWithoutAllowedOriginIsNotCalled) {
  server_.set([](const Recorded& r) {
    Reply reply;
    if (r.method == "OPTIONS")
      reply.headers.emplace_back("WebHook-Allowed-Origin", "other.host");
    return reply;
  });
  make();
  auto result = connect();
  EXPECT_FALSE(result.accepted);
  EXPECT_EQ(result.status, 500U);
  EXPECT_NE(result.error.find("AbuseProtectionResponseMissingAllowedOrigin"), std::string::npos)
      << result.error;
  auto user = user_event({protocol::DataType::text, "hi"});
  EXPECT_FALSE(user.ok);
  auto all = server_.requests();
  EXPECT_EQ(all.size(), 1U);  // one OPTIONS, the verdict cached, no POST
  EXPECT_TRUE(posts(all).empty());
}

TEST_F(DispatcherTest, FallsBackToGetWhenOptionsIs404) {
  server_.set([](const Recorded& r) {
    Reply reply;
    if (r.method == "OPTIONS")
      reply.status = 404;
    if (r.method == "GET")
      reply.headers.emplace_back("WebHook-Allowed-Origin", "*");
    return reply;
  });
  make();
  EXPECT_TRUE(connect().accepted);
  auto all = server_.requests();
  ASSERT_EQ(all.size(), 3U);
  EXPECT_EQ(all[0].method, "OPTIONS");
  EXPECT_EQ(all[1].method, "GET");
  EXPECT_EQ(all[1].target, "/api/chat/validate");
  EXPECT_EQ(all[1].header("WebHook-Request-Origin"), kOrigin);
  EXPECT_EQ(all[2].method, "POST");
}

TEST_F(DispatcherTest, ConcurrentFirstUsesShareOneValidationAndReloadValidatesAgain) {
  server_.set([](const Recorded& r) {
    Reply reply = default_reply(r);
    if (r.method == "OPTIONS")
      reply.delay = 200ms;
    return reply;
  });
  auto& dispatcher = make();
  constexpr int kCount = 5;
  std::vector<std::promise<UserEventResult>> promises(kCount);
  for (int i = 0; i < kCount; ++i) {
    dispatcher.user_event(context("c" + std::to_string(i)), "message",
                          {protocol::DataType::text, "x"}, [&promises, i](UserEventResult r) {
                            promises[static_cast<std::size_t>(i)].set_value(std::move(r));
                          });
  }
  for (auto& p : promises)
    EXPECT_TRUE(p.get_future().get().ok);
  auto all = server_.requests();
  EXPECT_EQ(all.size(), 6U);
  EXPECT_EQ(std::count_if(all.begin(), all.end(), [](auto& r) { return r.method == "OPTIONS"; }),
            1);

  config::HubSettings chat;
  chat.event_handlers = {handler()};
  dispatcher.update_settings({}, {{"Chat", chat}});
  EXPECT_TRUE(user_event({protocol::DataType::text, "x"}).ok);
  all = server_.requests();
  ASSERT_EQ(all.size(), 8U);
  EXPECT_EQ(all[6].method, "OPTIONS");
}

TEST_F(DispatcherTest, ConnectAcceptsEmptyNullAnd204) {
  make();
  for (auto [status, body] : std::vector<std::pair<unsigned, std::string>>{
           {200, ""}, {200, "null"}, {204, ""}, {200, "{}"}}) {
    server_.set([status = status, body = body](const Recorded& r) {
      Reply reply = default_reply(r);
      if (r.method == "POST") {
        reply.status = status;
        reply.body = body;
      }
      return reply;
    });
    auto result = connect();
    EXPECT_TRUE(result.accepted) << status << " '" << body << "': " << result.error;
    EXPECT_FALSE(result.user_id);
    EXPECT_FALSE(result.groups);
    EXPECT_FALSE(result.roles);
    EXPECT_FALSE(result.subprotocol);
    EXPECT_FALSE(result.state);
  }
}

TEST_F(DispatcherTest, ConnectOverridesStateAndCookies) {
  server_.set([](const Recorded& r) {
    Reply reply = default_reply(r);
    if (r.method == "POST") {
      reply.headers.emplace_back("Content-Type", "application/json");
      reply.headers.emplace_back("ce-connectionState", "c3RhdGU=");
      reply.headers.emplace_back("Set-Cookie", "session=abc; Path=/; HttpOnly");
      reply.headers.emplace_back("Set-Cookie", "lang=en");
      reply.body = R"({"userId":"bob","groups":["g1","g2"],"roles":["webpubsub.sendToGroup"],)"
                   R"("subprotocol":"custom.v1"})";
    }
    return reply;
  });
  make();
  auto result = connect();
  ASSERT_TRUE(result.accepted) << result.error;
  EXPECT_EQ(result.user_id, "bob");
  EXPECT_EQ(result.groups, (std::vector<std::string>{"g1", "g2"}));
  EXPECT_EQ(result.roles, (std::vector<std::string>{"webpubsub.sendToGroup"}));
  EXPECT_EQ(result.subprotocol, "custom.v1");
  EXPECT_EQ(result.state, "c3RhdGU=");
  EXPECT_EQ(result.cookies, "session=abc; lang=en");
}

TEST_F(DispatcherTest, ConnectRejections) {
  make();
  struct Case {
    unsigned handler_status;
    std::string body;
    unsigned expected;
  };
  for (const auto& test : std::vector<Case>{{401, "nope", 401},
                                            {403, "", 403},
                                            {500, "boom", 500},
                                            {503, "", 500},
                                            {200, "{bad json", 500},
                                            {200, R"({"userId":5})", 500},
                                            {200, R"({"groups":"g"})", 500},
                                            {200, R"({"subprotocol":""})", 500},
                                            {200, "[1]", 500}}) {
    server_.set([test](const Recorded& r) {
      Reply reply = default_reply(r);
      if (r.method == "POST") {
        reply.status = test.handler_status;
        reply.body = test.body;
      }
      return reply;
    });
    auto result = connect();
    EXPECT_FALSE(result.accepted) << test.handler_status << " " << test.body;
    EXPECT_EQ(result.status, test.expected) << test.handler_status << " " << test.body;
    EXPECT_FALSE(result.error.empty());
  }
}

TEST_F(DispatcherTest, ConnectTimesOutWith500WithinTheTimeout) {
  options_.connect_timeout = 300ms;
  server_.set([](const Recorded& r) {
    Reply reply = default_reply(r);
    if (r.method == "POST")
      reply.delay = 1500ms;
    return reply;
  });
  make();
  auto start = std::chrono::steady_clock::now();
  auto result = connect();
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_FALSE(result.accepted);
  EXPECT_EQ(result.status, 500U);
  EXPECT_LT(elapsed, 1200ms);
}

TEST_F(DispatcherTest, UnreachableHttpAndHttpsHandlersFail) {
  options_.connect_timeout = 2s;
  config::EventHandler dead{"http://127.0.0.1:1/{event}", {"connect"}, "", {}};
  make({dead});
  auto result = connect();
  EXPECT_FALSE(result.accepted);
  EXPECT_EQ(result.status, 500U);

  config::EventHandler secure{"https://127.0.0.1:1/{event}", {"connect"}, "", {}};
  make({secure});
  result = connect();
  EXPECT_EQ(result.status, 500U);
  EXPECT_NE(result.error.find("https"), std::string::npos) << result.error;
}

TEST_F(DispatcherTest, UserEventRequestContentTypes) {
  make();
  const std::vector<std::pair<protocol::DataType, std::string>> cases{
      {protocol::DataType::text, "text/plain"},
      {protocol::DataType::json, "application/json"},
      {protocol::DataType::binary, "application/octet-stream"},
      {protocol::DataType::protobuf, "application/x-protobuf"}};
  for (const auto& [type, content_type] : cases) {
    std::string bytes =
        type == protocol::DataType::json ? R"({"a":1})" : std::string("\x01hi\0", 4);
    auto result = user_event({type, bytes}, context(), "Custom Event");
    EXPECT_TRUE(result.ok) << result.error;
    EXPECT_FALSE(result.reply);  // empty 200
    auto post = posts(server_.requests()).back();
    EXPECT_EQ(post.header("Content-Type"), content_type);
    EXPECT_EQ(post.body, bytes);
    EXPECT_EQ(post.target, "/api/chat/Custom%20Event");
    EXPECT_EQ(post.header("ce-type"), "azure.webpubsub.user.Custom Event");
    EXPECT_EQ(post.header("ce-eventName"), "Custom Event");
  }
}

TEST_F(DispatcherTest, UserEventReplyTypes) {
  make();
  struct Case {
    unsigned status;
    std::optional<std::string> content_type;
    std::string body;
    bool ok;
    std::optional<protocol::DataType> type;
  };
  const std::vector<Case> cases{
      {200, "application/json; charset=utf-8", R"({"x": 1})", true, protocol::DataType::json},
      {200, "text/plain; charset=utf-8", "hello", true, protocol::DataType::text},
      {200, "application/octet-stream", "\x01\x02", true, protocol::DataType::binary},
      {200, std::nullopt, "raw", true, protocol::DataType::binary},
      {200, "text/html", "<p>", false, std::nullopt},
      {200, "application/json", "{oops", false, std::nullopt},
      {200, "text/plain", "", true, std::nullopt},
      {204, std::nullopt, "", true, std::nullopt},
      {400, "text/plain", "bad", false, std::nullopt},
      {500, std::nullopt, "", false, std::nullopt}};
  for (const auto& test : cases) {
    server_.set([test](const Recorded& r) {
      Reply reply = default_reply(r);
      if (r.method == "POST") {
        reply.status = test.status;
        if (test.content_type)
          reply.headers.emplace_back("Content-Type", *test.content_type);
        reply.body = test.body;
      }
      return reply;
    });
    auto result = user_event({protocol::DataType::text, "q"});
    EXPECT_EQ(result.ok, test.ok) << test.status << " " << test.body << " " << result.error;
    EXPECT_EQ(result.reply.has_value(), test.type.has_value()) << test.body;
    if (result.reply && test.type) {
      EXPECT_EQ(result.reply->type, *test.type);
      if (*test.type == protocol::DataType::json) {
        EXPECT_EQ(result.reply->bytes, R"({"x":1})");
      } else {
        EXPECT_EQ(result.reply->bytes, test.body);
      }
    }
  }
}

TEST_F(DispatcherTest, StateAndCookiesCarryToTheNextEvent) {
  server_.set([](const Recorded& r) {
    Reply reply = default_reply(r);
    if (r.method == "POST" && r.header("ce-eventName") == "first") {
      reply.headers.emplace_back("ce-connectionState", "s1");
      reply.headers.emplace_back("Set-Cookie", "a=1");
    }
    if (r.method == "POST" && r.header("ce-eventName") == "clear") {
      reply.headers.emplace_back("ce-connectionState", "");
      reply.headers.emplace_back("Set-Cookie", "a=; Max-Age=0");
      reply.headers.emplace_back("Set-Cookie", "b=2");
    }
    return reply;
  });
  make();
  auto c = context();
  auto first = user_event({protocol::DataType::text, "1"}, c, "first");
  ASSERT_TRUE(first.ok);
  EXPECT_EQ(first.state, "s1");
  EXPECT_EQ(first.cookies, "a=1");
  c.state = first.state;
  c.cookies = first.cookies;

  auto second = user_event({protocol::DataType::text, "2"}, c, "second");
  ASSERT_TRUE(second.ok);
  EXPECT_FALSE(second.state);        // no header: the state is kept by the caller
  EXPECT_EQ(second.cookies, "a=1");  // unchanged jar
  auto post = posts(server_.requests()).back();
  EXPECT_EQ(post.header("ce-connectionState"), "s1");
  EXPECT_EQ(post.header("Cookie"), "a=1");

  auto cleared = user_event({protocol::DataType::text, "3"}, c, "clear");
  ASSERT_TRUE(cleared.ok);
  EXPECT_EQ(cleared.state, "");
  EXPECT_EQ(cleared.cookies, "b=2");

  // connected/disconnected carry them as well.
  c.state = "s2";
  c.cookies = "b=2";
  dispatcher_->connected(c);
  auto all = server_.wait_for(server_.requests().size() + 1);
  EXPECT_EQ(all.back().header("ce-connectionState"), "s2");
  EXPECT_EQ(all.back().header("Cookie"), "b=2");
}

TEST_F(DispatcherTest, ConnectedBeforeDisconnectedWithRetries) {
  std::atomic<int> connected_calls{0};
  server_.set([&connected_calls](const Recorded& r) {
    Reply reply = default_reply(r);
    if (r.method == "POST" && r.header("ce-eventName") == "connected") {
      if (connected_calls.fetch_add(1) < 2)
        reply.status = 503;
    }
    return reply;
  });
  make();
  dispatcher_->connected(context());
  dispatcher_->disconnected(context(), "bye");
  auto all = posts(server_.wait_for(5));
  ASSERT_EQ(all.size(), 4U);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(all[static_cast<std::size_t>(i)].header("ce-type"), "azure.webpubsub.sys.connected");
    EXPECT_EQ(all[static_cast<std::size_t>(i)].body, "{}");
    EXPECT_EQ(all[static_cast<std::size_t>(i)].header("Content-Type"),
              "application/json; charset=utf-8");
  }
  EXPECT_EQ(all[0].header("ce-id"), all[1].header("ce-id"));  // a retry is the same event
  EXPECT_EQ(all[3].header("ce-type"), "azure.webpubsub.sys.disconnected");
  EXPECT_EQ(boost::json::parse(all[3].body).at("reason").as_string(), "bye");
}

TEST_F(DispatcherTest, RetriesStopAfterFourAttemptsAndSkip4xx) {
  std::atomic<int> calls{0};
  server_.set([&calls](const Recorded& r) {
    Reply reply = default_reply(r);
    if (r.method == "POST") {
      reply.status = r.header("ce-eventName") == "connected" ? 500 : 429;
      calls.fetch_add(1);
    }
    return reply;
  });
  make();
  dispatcher_->connected(context());
  dispatcher_->disconnected(context(), "");
  auto all = posts(server_.wait_for(6));
  std::this_thread::sleep_for(300ms);
  all = posts(server_.requests());
  ASSERT_EQ(all.size(), 5U);
  EXPECT_EQ(all[3].header("ce-eventName"), "connected");
  EXPECT_EQ(all[4].header("ce-eventName"), "disconnected");
  EXPECT_EQ(boost::json::parse(all[4].body).at("reason").as_string(), "");
}

// Group presence events (spec §8.8) go to the first handler whose groupPresenceEvents list
// them, at {event} = joined/left, and share the connection's ordered queue with connected and
// disconnected: a failed `joined` is retried before the `left` and `disconnected` behind it.
TEST_F(DispatcherTest, GroupPresenceEventsAreSelectedOrderedAndRetried) {
  std::atomic<int> joined_calls{0};
  server_.set([&joined_calls](const Recorded& r) {
    Reply reply = default_reply(r);
    if (r.method == "POST" && r.header("ce-eventName") == "joined" &&
        joined_calls.fetch_add(1) == 0)
      reply.status = 502;
    return reply;
  });
  auto system_only = handler("", {"connected", "disconnected"});
  system_only.url_template = server_.url("/sys/{event}");
  auto presence = handler("", {});
  presence.url_template = server_.url("/gp/{event}");
  presence.group_presence_events = {"joined", "left"};
  auto& dispatcher = make({system_only, presence});
  EXPECT_TRUE(dispatcher.has_handler("chat", "joined", false));
  EXPECT_TRUE(dispatcher.has_handler("chat", "left", false));

  dispatcher.connected(context());
  dispatcher.group_presence(context(), true, "room \"1\"");
  dispatcher.group_presence(context(), false, "room \"1\"");
  dispatcher.disconnected(context(), "bye");
  auto all = posts(server_.wait_for(7));  // two validations, five POSTs
  ASSERT_EQ(all.size(), 5U);
  EXPECT_EQ(all[0].target, "/sys/connected");
  for (std::size_t i = 1; i < 3; ++i) {  // the 502, then its retry with the same id
    EXPECT_EQ(all[i].target, "/gp/joined");
    EXPECT_EQ(all[i].header("ce-type"), "azure.webpubsub.gp.joined");
    EXPECT_EQ(all[i].header("ce-eventName"), "joined");
    EXPECT_EQ(all[i].header("ce-connectionId"), "conn1");
    EXPECT_EQ(all[i].header("ce-userId"), "user1");
    EXPECT_EQ(all[i].header("Content-Type"), "application/json; charset=utf-8");
    EXPECT_EQ(boost::json::parse(all[i].body).at("group").as_string(), "room \"1\"");
  }
  EXPECT_EQ(all[1].header("ce-id"), all[2].header("ce-id"));
  EXPECT_EQ(all[3].target, "/gp/left");
  EXPECT_EQ(all[3].header("ce-type"), "azure.webpubsub.gp.left");
  EXPECT_EQ(all[4].target, "/sys/disconnected");
}

TEST_F(DispatcherTest, NoHandlerAsksForGroupPresenceEvents) {
  auto& dispatcher = make();
  EXPECT_FALSE(dispatcher.has_handler("chat", "joined", false));
  EXPECT_FALSE(dispatcher.has_handler("chat", "left", false));
}

// A header value with CR or LF (an event name is the client's choice) would split the request:
// the call fails before anything is sent.
TEST_F(DispatcherTest, EventNamesThatWouldInjectHeadersAreNotSent) {
  make();
  auto result = user_event({protocol::DataType::text, "x"}, context(),
                           "a\r\nX-Injected: 1\r\n\r\nGET / HTTP/1.1");
  EXPECT_FALSE(result.ok);
  EXPECT_NE(result.error.find("character HTTP does not allow"), std::string::npos) << result.error;
  EXPECT_TRUE(user_event({protocol::DataType::text, "x"}, context(), "fine").ok);
  auto all = posts(server_.requests());
  ASSERT_EQ(all.size(), 1U);
  EXPECT_EQ(all[0].header("ce-eventName"), "fine");
  for (const auto& r : server_.requests())
    EXPECT_FALSE(r.header("X-Injected").has_value());
}

TEST_F(DispatcherTest, HandlerSelectionByFilters) {
  auto first = handler("a, B", {"connected"});
  first.url_template = server_.url("/first/{event}");
  auto second = handler("*", {"connect"});
  second.url_template = server_.url("/second/{EVENT}?hub={Hub}");
  auto& dispatcher = make({first, second});
  EXPECT_TRUE(dispatcher.has_handler("chat", "connect", false));
  EXPECT_TRUE(dispatcher.has_handler("CHAT", "connected", false));
  EXPECT_FALSE(dispatcher.has_handler("chat", "disconnected", false));
  EXPECT_TRUE(dispatcher.has_handler("chat", "b", true));
  EXPECT_TRUE(dispatcher.has_handler("chat", "zzz", true));
  EXPECT_FALSE(dispatcher.has_handler("other", "zzz", true));

  EXPECT_TRUE(user_event({protocol::DataType::text, "x"}, context(), "b").ok);
  EXPECT_TRUE(user_event({protocol::DataType::text, "x"}, context(), "c").ok);
  EXPECT_TRUE(connect().accepted);
  auto all = posts(server_.requests());
  ASSERT_EQ(all.size(), 3U);
  EXPECT_EQ(all[0].target, "/first/b");
  EXPECT_EQ(all[1].target, "/second/c?hub=chat");
  EXPECT_EQ(all[2].target, "/second/connect?hub=chat");

  auto none = user_event({protocol::DataType::text, "x"}, [] {
    auto c = context();
    c.hub = "other";
    return c;
  }());
  EXPECT_FALSE(none.ok);
}

TEST_F(DispatcherTest, StopFailsPendingAndLaterCalls) {
  server_.set([](const Recorded& r) {
    Reply reply = default_reply(r);
    if (r.method == "POST")
      reply.delay = 1500ms;
    return reply;
  });
  make();
  std::promise<ConnectResult> promise;
  auto future = promise.get_future();
  dispatcher_->connect(context(), {}, [&promise](ConnectResult r) { promise.set_value(r); });
  server_.wait_for(2);
  auto start = std::chrono::steady_clock::now();
  dispatcher_->stop();
  ASSERT_EQ(future.wait_for(1s), std::future_status::ready);
  EXPECT_FALSE(future.get().accepted);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);

  auto later = user_event({protocol::DataType::text, "x"});
  EXPECT_FALSE(later.ok);
  dispatcher_->connected(context());  // dropped quietly
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(server_.requests().size(), 2U);
}

}  // namespace
}  // namespace wps::webhook::test
