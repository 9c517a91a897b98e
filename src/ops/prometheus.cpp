#include "ops/prometheus.hpp"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <type_traits>
#include <vector>

namespace wps::ops {

namespace {

std::string number(double value) {
  char buffer[64];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  return ec == std::errc() ? std::string(buffer, end) : std::string("NaN");
}

void header(std::string& out, const char* name, const char* type, const char* help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

template <typename T>
void sample(std::string& out, std::string_view name, std::string_view labels, T value) {
  out += name;
  if (!labels.empty()) {
    out += '{';
    out += labels;
    out += '}';
  }
  out += ' ';
  if constexpr (std::is_floating_point_v<T>)
    out += number(value);
  else
    out += std::to_string(value);
  out += '\n';
}

std::string label(std::string_view name, std::string_view value) {
  return std::string(name) + "=\"" + escape_label(value) + "\"";
}

}  // namespace

std::string escape_label(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

ProcessStats read_process_stats() {
  ProcessStats stats;
  const long ticks = sysconf(_SC_CLK_TCK);
  const long page = sysconf(_SC_PAGESIZE);
  {
    std::ifstream in("/proc/self/stat");
    std::string line;
    if (std::getline(in, line)) {
      // Fields after the command name (which is in parentheses and may hold spaces).
      const auto paren = line.rfind(')');
      if (paren != std::string::npos && paren + 2 <= line.size()) {
        std::istringstream fields(line.substr(paren + 2));
        std::vector<std::string> f;
        std::string item;
        while (fields >> item)
          f.push_back(item);
        // f[0] is field 3 (state): utime 14, stime 15, starttime 22, vsize 23, rss 24.
        if (f.size() > 21 && ticks > 0) {
          stats.cpu_seconds = static_cast<double>(std::stoull(f[11]) + std::stoull(f[12])) /
                              static_cast<double>(ticks);
          stats.virtual_bytes = std::stoull(f[20]);
          stats.resident_bytes = std::stoull(f[21]) * static_cast<std::uint64_t>(page);
          std::ifstream uptime_in("/proc/stat");
          std::string key;
          while (uptime_in >> key) {
            if (key == "btime") {
              double boot = 0;
              uptime_in >> boot;
              stats.start_time_seconds =
                  boot + static_cast<double>(std::stoull(f[19])) / static_cast<double>(ticks);
              break;
            }
          }
        }
      }
    }
  }
  if (DIR* dir = opendir("/proc/self/fd")) {
    std::uint64_t count = 0;
    while (const dirent* entry = readdir(dir))
      if (entry->d_name[0] != '.')
        ++count;
    closedir(dir);
    stats.open_fds = count - 1;  // less the directory's own descriptor
  }
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0)
    stats.max_fds = limit.rlim_cur;
  return stats;
}

std::string render_metrics(const core::Metrics& metrics, const ProcessStats& process) {
  std::string out;
  out.reserve(8192);
  const auto hubs = metrics.hubs();
  const auto per_hub = [&](const char* name, const char* type, const char* help, auto member) {
    header(out, name, type, help);
    for (const core::HubStats* hub : hubs) {
      for (std::size_t k = 0; k < core::kProtocolKinds; ++k) {
        const std::string labels =
            label("hub", hub->name) + "," +
            label("protocol", core::protocol_label(static_cast<core::ProtocolKind>(k)));
        sample(out, name, labels, (hub->*member)[k].load(std::memory_order_relaxed));
      }
    }
  };
  per_hub("webpubsub_connections", "gauge", "Client connections open, by hub and protocol.",
          &core::HubStats::connections);
  per_hub("webpubsub_messages_received_total", "counter",
          "Messages received from clients, by hub and protocol.", &core::HubStats::received);
  per_hub("webpubsub_messages_delivered_total", "counter",
          "Messages handed to client connections (one per receiving connection), by hub and "
          "protocol.",
          &core::HubStats::delivered);

  header(out, "webpubsub_connections_closed_total", "counter",
         "Client connections closed, by reason.");
  for (std::size_t r = 0; r < core::kCloseReasons; ++r) {
    const auto reason = static_cast<core::CloseReason>(r);
    sample(out, "webpubsub_connections_closed_total",
           label("reason", core::close_reason_label(reason)), metrics.closed(reason));
  }

  header(out, "webpubsub_rest_requests_total", "counter",
         "REST API calls, by operation (swagger operationId without WebPubSub_) and status.");
  for (const auto& [key, count] : metrics.rest_requests())
    sample(out, "webpubsub_rest_requests_total",
           label("operation", key.first) + "," + label("code", std::to_string(key.second)), count);

  header(out, "webpubsub_event_handler_requests_total", "counter",
         "Calls of event handlers, by hub, event and outcome.");
  for (const auto& [key, count] : metrics.handler_requests())
    sample(out, "webpubsub_event_handler_requests_total",
           label("hub", std::get<0>(key)) + "," + label("event", std::get<1>(key)) + "," +
               label("outcome", std::get<2>(key)),
           count);
  header(out, "webpubsub_event_handler_duration_seconds", "histogram",
         "How long event handlers took to answer, by hub and event.");
  for (const auto& [key, h] : metrics.handler_durations()) {
    const std::string base = label("hub", key.first) + "," + label("event", key.second);
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < core::kHandlerBuckets.size(); ++i) {
      cumulative += h.buckets[i];
      sample(out, "webpubsub_event_handler_duration_seconds_bucket",
             base + "," + label("le", number(core::kHandlerBuckets[i])), cumulative);
    }
    sample(out, "webpubsub_event_handler_duration_seconds_bucket", base + ",le=\"+Inf\"", h.count);
    sample(out, "webpubsub_event_handler_duration_seconds_sum", base, h.sum);
    sample(out, "webpubsub_event_handler_duration_seconds_count", base, h.count);
  }

  if (metrics.clustered.load(std::memory_order_relaxed)) {
    header(out, "webpubsub_cluster_nodes", "gauge",
           "Nodes of the cluster alive at this node's last heartbeat.");
    sample(out, "webpubsub_cluster_nodes", "",
           metrics.cluster_nodes.load(std::memory_order_relaxed));
    header(out, "webpubsub_redis_reconnects_total", "counter",
           "Times this node reconnected to Redis.");
    sample(out, "webpubsub_redis_reconnects_total", "",
           metrics.redis_reconnects.load(std::memory_order_relaxed));
  }

  if (process.cpu_seconds) {
    header(out, "process_cpu_seconds_total", "counter", "User and system CPU time spent.");
    sample(out, "process_cpu_seconds_total", "", *process.cpu_seconds);
  }
  if (process.resident_bytes) {
    header(out, "process_resident_memory_bytes", "gauge", "Resident memory size.");
    sample(out, "process_resident_memory_bytes", "", *process.resident_bytes);
  }
  if (process.virtual_bytes) {
    header(out, "process_virtual_memory_bytes", "gauge", "Virtual memory size.");
    sample(out, "process_virtual_memory_bytes", "", *process.virtual_bytes);
  }
  if (process.open_fds) {
    header(out, "process_open_fds", "gauge", "Open file descriptors.");
    sample(out, "process_open_fds", "", *process.open_fds);
  }
  if (process.max_fds) {
    header(out, "process_max_fds", "gauge", "Limit of open file descriptors.");
    sample(out, "process_max_fds", "", *process.max_fds);
  }
  if (process.start_time_seconds) {
    header(out, "process_start_time_seconds", "gauge", "Start time (Unix seconds).");
    sample(out, "process_start_time_seconds", "", *process.start_time_seconds);
  }
  return out;
}

}  // namespace wps::ops
