// The hub and the event loops (core/loops.hpp): a publication is handed to each other loop with
// recipients once, whatever their number, carrying the frames encoded once; the publisher's own
// loop delivers inline; a client keeps the loop that registered it first.

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <memory>
#include <utility>
#include <vector>

#include "core/hub.hpp"
#include "core/loops.hpp"
#include "core/memory_broker.hpp"
#include "core/node.hpp"
#include "support/fake_client.hpp"

namespace wps::core {
namespace {

using test::FakeClient;
using test::json_encoder;
using test::raw_encoder;

// Keeps what the hub posts, per loop, until the test runs it (as that loop).
class RecordingLoops final : public Loops {
 public:
  void post(LoopIndex loop, std::function<void()> work) override {
    posted.emplace_back(loop, std::move(work));
  }
  std::map<LoopIndex, int> posts_per_loop() const {
    std::map<LoopIndex, int> out;
    for (const auto& [loop, work] : posted)
      ++out[loop];
    return out;
  }
  void run_all() {
    auto work = std::move(posted);
    posted.clear();
    for (auto& [loop, fn] : work) {
      const ThisLoop mark(loop);
      fn();
    }
  }
  std::vector<std::pair<LoopIndex, std::function<void()>>> posted;
};

class HubLoopsTest : public ::testing::Test {
 protected:
  HubLoopsTest() : node_(broker_, HubLimits{}) { node_.set_loops(&loops_); }

  // Registers connection `id` in `groups` from loop `loop`.
  std::shared_ptr<FakeClient> connect(const std::string& id, LoopIndex loop,
                                      std::vector<std::string> groups = {"g"},
                                      const Encoder& encoder = json_encoder(),
                                      ProtocolKind kind = ProtocolKind::json) {
    auto client = std::make_shared<FakeClient>();
    ConnectionInfo info;
    info.id = id;
    info.kind = kind;
    info.encoder = &encoder;
    info.groups = std::move(groups);
    const ThisLoop mark(loop);
    EXPECT_EQ(hub()->add_connection(info, client), Hub::AddResult::added);
    clients_.push_back(client);
    return client;
  }
  std::shared_ptr<Hub> hub() { return node_.hub("chat"); }
  static SharedMessage text(std::string s) {
    auto m = std::make_shared<Message>();
    m->payload = {protocol::DataType::text, std::move(s)};
    return m;
  }
  void publish_from(LoopIndex loop, const Publication& publication) {
    const ThisLoop mark(loop);
    node_.publish(publication);
  }

  MemoryBroker broker_;
  RecordingLoops loops_;
  Node node_;
  std::vector<std::shared_ptr<FakeClient>> clients_;
};

TEST_F(HubLoopsTest, AGroupPublicationIsPostedOncePerOtherLoopAndDeliveredInlineOnItsOwn) {
  // Interleaved registrations: the audience sorts its members by loop.
  auto a0 = connect("a0", 0);
  auto a1 = connect("a1", 1);
  auto a2 = connect("a2", 2);
  auto b1 = connect("b1", 1);
  auto b2 = connect("b2", 2);
  auto c1 = connect("c1", 1, {"g"}, raw_encoder(), ProtocolKind::simple);
  auto b0 = connect("b0", 0);
  const int json_calls = json_encoder().calls();
  const int raw_calls = raw_encoder().calls();

  publish_from(0, {"chat", Scope::group, "g", text("hi"), {}, nullptr});
  EXPECT_EQ(loops_.posts_per_loop(), (std::map<LoopIndex, int>{{1, 1}, {2, 1}}));
  // Loop 0's members have it already, the others when their loop runs the post.
  EXPECT_EQ(a0->texts(), (std::vector<std::string>{"json:hi"}));
  EXPECT_EQ(b0->texts(), (std::vector<std::string>{"json:hi"}));
  EXPECT_TRUE(a1->frames().empty());
  EXPECT_TRUE(c1->frames().empty());
  // Encoded on the publisher's thread, once per format, before any loop saw it.
  EXPECT_EQ(json_encoder().calls(), json_calls + 1);
  EXPECT_EQ(raw_encoder().calls(), raw_calls + 1);

  loops_.run_all();
  for (const auto& client : {a1, a2, b1, b2})
    EXPECT_EQ(client->texts(), (std::vector<std::string>{"json:hi"}));
  EXPECT_EQ(c1->texts(), (std::vector<std::string>{"raw:hi"}));
  // One frame shared by every member of a format, on every loop.
  EXPECT_EQ(a0->frames()[0].get(), a2->frames()[0].get());
  EXPECT_EQ(json_encoder().calls(), json_calls + 1);
  EXPECT_TRUE(loops_.posted.empty());
}

TEST_F(HubLoopsTest, ABroadcastWithExclusionsIsPostedOncePerOtherLoop) {
  auto a0 = connect("a0", 0, {});
  auto a1 = connect("a1", 1, {});
  auto b1 = connect("b1", 1, {});
  auto x1 = connect("x1", 1, {});
  auto a2 = connect("a2", 2, {});
  publish_from(2, {"chat", Scope::all, "", text("all"), {"x1"}, nullptr});
  EXPECT_EQ(loops_.posts_per_loop(), (std::map<LoopIndex, int>{{0, 1}, {1, 1}}));
  EXPECT_EQ(a2->texts(), (std::vector<std::string>{"json:all"}));
  EXPECT_TRUE(a0->frames().empty());
  loops_.run_all();
  EXPECT_EQ(a0->texts(), (std::vector<std::string>{"json:all"}));
  EXPECT_EQ(a1->texts(), (std::vector<std::string>{"json:all"}));
  EXPECT_EQ(b1->texts(), (std::vector<std::string>{"json:all"}));
  EXPECT_TRUE(x1->frames().empty());
}

TEST_F(HubLoopsTest, APublisherOnNoLoopPostsToEveryLoopWithRecipients) {
  auto a0 = connect("a0", 0);
  auto a3 = connect("a3", 3);
  publish_from(kNoLoop, {"chat", Scope::group, "g", text("rest"), {}, nullptr});
  EXPECT_EQ(loops_.posts_per_loop(), (std::map<LoopIndex, int>{{0, 1}, {3, 1}}));
  EXPECT_TRUE(a0->frames().empty());
  loops_.run_all();
  EXPECT_EQ(a0->texts(), (std::vector<std::string>{"json:rest"}));
  EXPECT_EQ(a3->texts(), (std::vector<std::string>{"json:rest"}));
}

TEST_F(HubLoopsTest, AClientRegisteredOnNoLoopIsDeliveredInline) {
  auto a = connect("a", kNoLoop);
  publish_from(1, {"chat", Scope::group, "g", text("x"), {}, nullptr});
  EXPECT_TRUE(loops_.posted.empty());
  EXPECT_EQ(a->texts(), (std::vector<std::string>{"json:x"}));
}

TEST_F(HubLoopsTest, AClientRegisteringAgainKeepsItsFirstLoop) {
  auto first = connect("c", 1);
  // A resumed reliable session registers again from the loop of its new socket.
  auto again = connect("c", 2);
  publish_from(0, {"chat", Scope::group, "g", text("after"), {}, nullptr});
  EXPECT_EQ(loops_.posts_per_loop(), (std::map<LoopIndex, int>{{1, 1}}));
  loops_.run_all();
  EXPECT_EQ(again->texts(), (std::vector<std::string>{"json:after"}));
  EXPECT_TRUE(first->frames().empty());
  // The same for a publication to the connection (the snapshot path).
  publish_from(0, {"chat", Scope::connection, "c", text("direct"), {}, nullptr});
  EXPECT_EQ(loops_.posts_per_loop(), (std::map<LoopIndex, int>{{1, 1}}));
}

}  // namespace
}  // namespace wps::core
