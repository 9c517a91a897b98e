#pragma once
// The Prometheus text exposition format (version 0.0.4) of the node's metrics and the process's.

#include <cstdint>
#include <optional>
#include <string>

#include "core/metrics.hpp"

namespace wps::ops {

// What /proc tells about this process (Linux); unset when unreadable.
struct ProcessStats {
  std::optional<double> cpu_seconds;
  std::optional<std::uint64_t> resident_bytes;
  std::optional<std::uint64_t> virtual_bytes;
  std::optional<std::uint64_t> open_fds;
  std::optional<std::uint64_t> max_fds;
  std::optional<double> start_time_seconds;
};
ProcessStats read_process_stats();

// The whole /metrics page. Pure: formats what it is given.
std::string render_metrics(const core::Metrics& metrics, const ProcessStats& process);

// A label value with \, " and newlines escaped.
std::string escape_label(std::string_view value);

}  // namespace wps::ops
