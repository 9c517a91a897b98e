#pragma once
// An asynchronous HTTP/1.1 client call (Boost.Beast over TCP or TLS) with an overall deadline.
// Connections are kept alive and reused per origin (scheme, host, port, CA file), with a cap on
// the connections open to one origin; https:// verifies the handler's certificate and host name
// against the system's trust store (plus an optional CA file), TLS 1.2 or later.

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wps::webhook {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method = "POST";  // POST, OPTIONS, GET
  std::string url;              // absolute http:// or https:// URL
  HeaderList headers;           // sent in this order, with this casing
  std::string body;
  // The overall deadline, the largest response body and the connection cap come from the
  // dispatcher's options (config::Limits); they have no defaults of their own.
  std::chrono::milliseconds timeout{0};
  std::size_t max_body_bytes = 0;
  // https://: CA certificates (PEM) trusted besides the system's store; empty = system only.
  std::string ca_file;
  // Connections open at once to this request's origin (keep-alive ones included); further
  // requests wait for one within their timeout. 0 = unlimited.
  std::size_t max_connections = 0;
};

struct HttpResponse {
  bool completed = false;  // a full response arrived (any status)
  bool timed_out = false;
  std::string error;  // why it did not complete
  unsigned status = 0;
  HeaderList headers;
  std::string body;

  // Every value of the header `name` (case-insensitive), in order.
  std::vector<std::string> values(std::string_view name) const;
  // The last value of `name`, or nullopt.
  std::optional<std::string> last(std::string_view name) const;
};

class HttpCall {
 public:
  virtual ~HttpCall() = default;
  // Sends the request; call once.
  virtual void start() = 0;
  // Ends the call: the callback runs with error "cancelled" unless it already ran.
  virtual void cancel() = 0;
};

// Keep-alive connections shared by the calls given it. Shut it down before its io_context goes:
// idle connections are closed and none is kept afterwards.
class ConnectionPool;
std::shared_ptr<ConnectionPool> make_connection_pool();
void shutdown_connection_pool(ConnectionPool& pool);

// A call not yet started; after start(), `done` runs exactly once on a strand of `executor`.
// Without a pool the call uses its own connection and closes it (Connection: close).
std::shared_ptr<HttpCall> make_http_call(boost::asio::any_io_executor executor, HttpRequest request,
                                         std::function<void(HttpResponse)> done,
                                         std::shared_ptr<ConnectionPool> pool = nullptr);

}  // namespace wps::webhook
