// The Prometheus text format of the core's counters.

#include "ops/prometheus.hpp"

#include <gtest/gtest.h>

namespace wps::ops {
namespace {

bool has_line(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos;
}

TEST(Prometheus, EveryFamilyWithItsLabelsAndValues) {
  core::Metrics metrics(10);
  core::HubStats& chat = metrics.hub_stats("chat");
  chat.connections[static_cast<std::size_t>(core::ProtocolKind::json_reliable)] = 3;
  chat.received[static_cast<std::size_t>(core::ProtocolKind::simple)] = 7;
  chat.delivered[static_cast<std::size_t>(core::ProtocolKind::protobuf)] = 12;
  metrics.count_close(core::CloseReason::slow_consumer);
  metrics.count_rest("SendToAll", 202);
  metrics.count_rest("SendToAll", 202);
  metrics.count_event_handler("chat", "connect", "success", 0.02);
  ProcessStats process;
  process.resident_bytes = 4096;
  process.cpu_seconds = 1.5;
  const std::string text = render_metrics(metrics, process);
  EXPECT_TRUE(has_line(text, "# TYPE webpubsub_connections gauge"));
  EXPECT_TRUE(has_line(text, "webpubsub_connections{hub=\"chat\",protocol=\"json.reliable\"} 3"));
  EXPECT_TRUE(has_line(text, "webpubsub_connections{hub=\"chat\",protocol=\"json\"} 0"));
  EXPECT_TRUE(
      has_line(text, "webpubsub_messages_received_total{hub=\"chat\",protocol=\"simple\"} 7"));
  EXPECT_TRUE(
      has_line(text, "webpubsub_messages_delivered_total{hub=\"chat\",protocol=\"protobuf\"} 12"));
  EXPECT_TRUE(has_line(text, "webpubsub_connections_closed_total{reason=\"slow_consumer\"} 1"));
  EXPECT_TRUE(has_line(text, "webpubsub_connections_closed_total{reason=\"client\"} 0"));
  EXPECT_TRUE(
      has_line(text, "webpubsub_rest_requests_total{operation=\"SendToAll\",code=\"202\"} 2"));
  EXPECT_TRUE(has_line(text,
                       "webpubsub_event_handler_requests_total{hub=\"chat\",event=\"connect\","
                       "outcome=\"success\"} 1"));
  EXPECT_TRUE(has_line(text,
                       "webpubsub_event_handler_duration_seconds_bucket{hub=\"chat\",event="
                       "\"connect\",le=\"0.01\"} 0"));
  EXPECT_TRUE(has_line(text,
                       "webpubsub_event_handler_duration_seconds_bucket{hub=\"chat\",event="
                       "\"connect\",le=\"0.025\"} 1"));
  EXPECT_TRUE(has_line(text,
                       "webpubsub_event_handler_duration_seconds_bucket{hub=\"chat\",event="
                       "\"connect\",le=\"+Inf\"} 1"));
  EXPECT_TRUE(has_line(text, "process_resident_memory_bytes 4096"));
  EXPECT_TRUE(has_line(text, "process_cpu_seconds_total 1.5"));
  EXPECT_EQ(text.find("process_open_fds"), std::string::npos);         // unknown: left out
  EXPECT_EQ(text.find("webpubsub_cluster_nodes"), std::string::npos);  // not clustered
  metrics.clustered = true;
  metrics.cluster_nodes = 3;
  EXPECT_TRUE(has_line(render_metrics(metrics, process), "webpubsub_cluster_nodes 3"));
}

TEST(Prometheus, LabelValuesAreEscaped) {
  EXPECT_EQ(escape_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
}

TEST(Prometheus, ProcessStatsOfThisProcess) {
  const ProcessStats stats = read_process_stats();
  ASSERT_TRUE(stats.resident_bytes.has_value());
  EXPECT_GT(*stats.resident_bytes, 0u);
  ASSERT_TRUE(stats.open_fds.has_value());
  EXPECT_GE(*stats.open_fds, 3u);  // stdin, stdout, stderr
  ASSERT_TRUE(stats.cpu_seconds.has_value());
  ASSERT_TRUE(stats.start_time_seconds.has_value());
}

}  // namespace
}  // namespace wps::ops
