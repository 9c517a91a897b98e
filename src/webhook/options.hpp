#pragma once
// Timeouts and retry policy of the upstream dispatcher. Defaults follow the emulator (spec §8.2,
// §8.10); the config layer may set them from Limits later.

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace wps::webhook {

struct DispatcherOptions {
  // Whole `connect` event (validation included): the client is rejected with 500 after this.
  std::chrono::milliseconds connect_timeout{30'000};
  // Whole user event (validation included).
  std::chrono::milliseconds user_event_timeout{30'000};
  // One attempt of a connected/disconnected request.
  std::chrono::milliseconds system_event_timeout{30'000};
  // One abuse-protection request (OPTIONS, then GET on 404).
  std::chrono::milliseconds validation_timeout{10'000};
  // A failed validation is retried at the next use after this long (a handler started after
  // the server is not shut out until the next reload); a successful one holds until reload.
  std::chrono::milliseconds validation_failure_ttl{10'000};
  // Delays before the 2nd, 3rd, 4th attempt of connected/disconnected (408/5xx/network).
  std::vector<std::chrono::milliseconds> retry_delays{std::chrono::milliseconds{1'000},
                                                      std::chrono::milliseconds{3'000},
                                                      std::chrono::milliseconds{5'000}};
  // Largest response body read from a handler.
  std::size_t max_response_bytes = 16 * 1024 * 1024;
  // Connections open at once to one handler origin (keep-alive pool); 0 = unlimited.
  std::size_t max_connections_per_origin = 256;
  // PEM CA certificates trusted for https:// handlers besides the system's store.
  std::string tls_ca_file;
};

}  // namespace wps::webhook
