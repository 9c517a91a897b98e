// Unit tests of the operators' counters: what hubs count (connections by protocol, deliveries
// per receiving connection), the hub label cap, the event-handler histogram, and the live trace
// being silent while nobody watches.

#include "core/metrics.hpp"

#include <gtest/gtest.h>

#include "core/memory_broker.hpp"
#include "core/node.hpp"
#include "support/fake_client.hpp"

namespace wps::core {
namespace {

using test::FakeClient;
using test::TagEncoder;

const TagEncoder& encoder() {
  static const TagEncoder e("json");
  return e;
}

std::int64_t gauge(const HubStats& s, ProtocolKind k) {
  return s.connections[static_cast<std::size_t>(k)].load();
}
std::uint64_t delivered(const HubStats& s, ProtocolKind k) {
  return s.delivered[static_cast<std::size_t>(k)].load();
}

struct MetricsTest : ::testing::Test {
  MetricsTest() : node(broker, HubLimits{}, 2) {}

  std::shared_ptr<FakeClient> connect(const std::string& hub, const std::string& id,
                                      ProtocolKind kind, std::vector<std::string> groups = {}) {
    auto client = std::make_shared<FakeClient>();
    ConnectionInfo info;
    info.id = id;
    info.user_id = "u-" + id;
    info.kind = kind;
    info.encoder = &encoder();
    info.groups = std::move(groups);
    EXPECT_EQ(node.hub(hub)->add_connection(info, client), Hub::AddResult::added);
    clients.push_back(client);
    return client;
  }
  void publish_to_group(const std::string& hub, const std::string& group) {
    auto message = std::make_shared<Message>();
    message->payload = {protocol::DataType::text, "hi"};
    Publication p;
    p.hub = hub;
    p.scope = Scope::group;
    p.target = group;
    p.message = message;
    node.publish(p);
  }

  MemoryBroker broker;
  Node node;
  std::vector<std::shared_ptr<FakeClient>> clients;
};

TEST_F(MetricsTest, ConnectionsAreCountedByHubAndProtocolUntilRemoved) {
  connect("a", "c1", ProtocolKind::json);
  connect("a", "c2", ProtocolKind::json);
  connect("a", "c3", ProtocolKind::protobuf_reliable);
  const HubStats& a = node.metrics().hub_stats("a");
  EXPECT_EQ(gauge(a, ProtocolKind::json), 2);
  EXPECT_EQ(gauge(a, ProtocolKind::protobuf_reliable), 1);
  EXPECT_EQ(gauge(a, ProtocolKind::simple), 0);
  node.hub("a")->remove_connection("c1");
  node.hub("a")->remove_connection("c1");  // twice: counted once
  EXPECT_EQ(gauge(a, ProtocolKind::json), 1);
}

TEST_F(MetricsTest, DeliveriesCountOncePerReceivingConnectionAndProtocol) {
  connect("a", "c1", ProtocolKind::json, {"g"});
  connect("a", "c2", ProtocolKind::json, {"g"});
  connect("a", "c3", ProtocolKind::simple, {"g"});
  connect("a", "c4", ProtocolKind::json);  // not in the group
  publish_to_group("a", "g");
  publish_to_group("a", "g");
  publish_to_group("a", "nobody");
  const HubStats& a = node.metrics().hub_stats("a");
  EXPECT_EQ(delivered(a, ProtocolKind::json), 4u);
  EXPECT_EQ(delivered(a, ProtocolKind::simple), 2u);
  node.hub("a")->received(ProtocolKind::json, "c1", std::nullopt, 10);
  EXPECT_EQ(a.received[static_cast<std::size_t>(ProtocolKind::json)].load(), 1u);
}

TEST_F(MetricsTest, HubsPastTheCapShareTheOtherLabel) {
  connect("a", "c1", ProtocolKind::json);
  connect("b", "c2", ProtocolKind::json);
  connect("c", "c3", ProtocolKind::json);
  connect("d", "c4", ProtocolKind::simple);
  std::vector<std::string> labels;
  for (const HubStats* s : node.metrics().hubs())
    labels.push_back(s->name);
  EXPECT_EQ(labels, (std::vector<std::string>{"a", "b", "_other"}));
  const HubStats& other = node.metrics().hub_stats("c");
  EXPECT_EQ(&other, &node.metrics().hub_stats("d"));
  EXPECT_EQ(gauge(other, ProtocolKind::json), 1);
  EXPECT_EQ(gauge(other, ProtocolKind::simple), 1);
}

TEST(Metrics, EventHandlerCallsFillOneBucketEach) {
  Metrics metrics(10);
  metrics.count_event_handler("h", "connect", "success", 0.003);
  metrics.count_event_handler("h", "connect", "success", 0.3);
  metrics.count_event_handler("h", "connect", "timeout", 30);
  const auto requests = metrics.handler_requests();
  EXPECT_EQ((requests.at({"h", "connect", "success"})), 2u);
  EXPECT_EQ((requests.at({"h", "connect", "timeout"})), 1u);
  const auto h = metrics.handler_durations().at({"h", "connect"});
  EXPECT_EQ(h.count, 3u);
  EXPECT_DOUBLE_EQ(h.sum, 30.303);
  EXPECT_EQ(h.buckets[0], 1u);  // <= 5 ms
  EXPECT_EQ(h.buckets[6], 1u);  // <= 0.5 s
  std::uint64_t in_buckets = 0;
  for (auto b : h.buckets)
    in_buckets += b;
  EXPECT_EQ(in_buckets, 2u);  // 30 s is only in +Inf
}

TEST_F(MetricsTest, TheTraceIsSilentWhileNobodyWatches) {
  Tracer& tracer = node.metrics().tracer;
  EXPECT_FALSE(tracer.active());
  std::vector<TraceEvent> seen;
  const auto id = tracer.subscribe([&seen](const TraceEvent& e) { seen.push_back(e); });
  EXPECT_TRUE(tracer.active());
  connect("a", "c1", ProtocolKind::json, {"g"});
  publish_to_group("a", "g");
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].kind, "connected");
  EXPECT_EQ(seen[0].hub, "a");
  EXPECT_EQ(seen[0].connection_id, "c1");
  EXPECT_EQ(seen[0].user_id, "u-c1");
  EXPECT_EQ(seen[1].kind, "published");
  EXPECT_EQ(seen[1].detail, "to group g: 1 recipient(s)");
  tracer.unsubscribe(id);
  EXPECT_FALSE(tracer.active());
  connect("a", "c2", ProtocolKind::json);
  EXPECT_EQ(seen.size(), 2u);
}

}  // namespace
}  // namespace wps::core
