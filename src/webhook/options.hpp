#pragma once
// Timeouts, retry delays and caps of the upstream dispatcher. Their values (and the reasons for
// them) live in config::Limits; this is the dispatcher's view of them, which tests may change.

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "config/config.hpp"

namespace wps::webhook {

struct DispatcherOptions {
  explicit DispatcherOptions(const config::Config& config)
      : connect_timeout(config.limits.event_handler_timeout),
        user_event_timeout(config.limits.event_handler_timeout),
        system_event_timeout(config.limits.event_handler_attempt_timeout),
        validation_timeout(config.limits.event_handler_validation_timeout),
        validation_failure_ttl(config.limits.event_handler_validation_retry),
        retry_delays(config.limits.event_handler_retry_delays),
        max_response_bytes(config.limits.max_event_handler_response_bytes),
        max_connections_per_origin(config.limits.max_event_handler_connections),
        tls_ca_file(config.event_handler_ca_file) {}

  // Whole `connect` event (validation included): the client is rejected with 500 after this.
  std::chrono::milliseconds connect_timeout;
  // Whole user event (validation included).
  std::chrono::milliseconds user_event_timeout;
  // One attempt of a connected/disconnected/group presence request.
  std::chrono::milliseconds system_event_timeout;
  // One abuse-protection request (OPTIONS, then GET on 404).
  std::chrono::milliseconds validation_timeout;
  // A failed validation is retried at the next use after this long; a successful one holds until
  // reload.
  std::chrono::milliseconds validation_failure_ttl;
  // Delays before the 2nd, 3rd, ... attempt of connected/disconnected (408/5xx/network).
  std::vector<std::chrono::milliseconds> retry_delays;
  // Largest response body read from a handler.
  std::size_t max_response_bytes;
  // Connections open at once to one handler origin (keep-alive pool); 0 = unlimited.
  std::size_t max_connections_per_origin;
  // PEM CA certificates trusted for https:// handlers besides the system's store.
  std::string tls_ca_file;
};

}  // namespace wps::webhook
