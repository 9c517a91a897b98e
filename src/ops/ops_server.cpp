#include "ops/ops_server.hpp"

#include <algorithm>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <boost/url/parse.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>

#include "auth/jwt.hpp"
#include "ops/pages.hpp"
#include "ops/prometheus.hpp"
#include "util/log.hpp"

namespace wps::ops {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {
// A GET has no body worth reading.
constexpr std::uint32_t kMaxBodyBytes = 4096;

std::string trace_json(const core::TraceEvent& event) {
  boost::json::object o;
  o["time"] = event.time_ms;
  o["kind"] = event.kind;
  o["hub"] = event.hub;
  o["connectionId"] = event.connection_id;
  o["userId"] = event.user_id;
  o["detail"] = event.detail;
  return boost::json::serialize(o);
}
}  // namespace

class SseStream;

struct OpsServer::Shared : std::enable_shared_from_this<OpsServer::Shared> {
  Shared(net::io_context& i, const config::Config& c, core::Node& n, bool token)
      : ioc(i), config(c), node(n), require_token(token) {}
  net::io_context& ioc;
  const config::Config& config;
  core::Node& node;
  const bool require_token;
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors;
  std::mutex mutex;
  bool stopped = false;
  std::set<std::shared_ptr<SseStream>> streams;

  void accept(tcp::acceptor& acceptor);
  bool authorized(const http::request<http::string_body>& request) const;
  std::string overview_json() const;
};

// One /trace/events watcher: the response headers, then one `data:` event per trace event.
class SseStream : public std::enable_shared_from_this<SseStream> {
 public:
  SseStream(std::shared_ptr<OpsServer::Shared> shared, beast::tcp_stream stream)
      : shared_(std::move(shared)), stream_(std::move(stream)) {}

  void start() {
    stream_.expires_never();
    auto self = shared_from_this();
    sink_id_ = shared_->node.metrics().tracer.subscribe(
        [weak = weak_from_this()](const core::TraceEvent& event) {
          if (auto s = weak.lock())
            s->queue(trace_json(event));
        });
    queue_raw(
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\n"
        "Connection: close\r\n\r\n: live trace\n\n");
    // A read that only ends when the watcher goes away.
    stream_.async_read_some(net::buffer(discard_),
                            [self](beast::error_code, std::size_t) { self->close(); });
  }

  void close() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      if (self->closed_)
        return;
      self->closed_ = true;
      self->shared_->node.metrics().tracer.unsubscribe(self->sink_id_);
      beast::error_code ec;
      self->stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
      self->stream_.socket().close(ec);
      std::lock_guard lock(self->shared_->mutex);
      self->shared_->streams.erase(self);
    });
  }

 private:
  void queue(std::string json) { queue_raw("data: " + json + "\n\n"); }

  void queue_raw(std::string text) {
    bool kick = false;
    {
      std::lock_guard lock(mutex_);
      // A watcher that is this far behind loses the oldest events (Limits::max_pending_messages).
      if (pending_.size() >= shared_->config.limits.max_pending_messages)
        pending_.pop_front();
      pending_.push_back(std::move(text));
      kick = !flushing_;
      flushing_ = true;
    }
    if (kick)
      net::post(stream_.get_executor(), [self = shared_from_this()] { self->flush(); });
  }

  void flush() {
    {
      std::lock_guard lock(mutex_);
      writing_.clear();
      while (!pending_.empty()) {
        writing_ += pending_.front();
        pending_.pop_front();
      }
      if (writing_.empty() || closed_) {
        flushing_ = false;
        return;
      }
    }
    net::async_write(stream_.socket(), net::buffer(writing_),
                     [self = shared_from_this()](beast::error_code ec, std::size_t) {
                       if (ec) {
                         self->close();
                         return;
                       }
                       self->flush();
                     });
  }

  std::shared_ptr<OpsServer::Shared> shared_;
  beast::tcp_stream stream_;
  char discard_[512];
  std::uint64_t sink_id_ = 0;
  bool closed_ = false;  // on the executor
  std::mutex mutex_;
  std::deque<std::string> pending_;
  bool flushing_ = false;
  std::string writing_;
};

namespace {

// One HTTP connection to the listener: requests answered one after the other.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(std::shared_ptr<OpsServer::Shared> shared, tcp::socket socket)
      : shared_(std::move(shared)), stream_(std::move(socket)) {}

  void read() {
    parser_.emplace();
    const auto& limits = shared_->config.limits;
    parser_->header_limit(static_cast<std::uint32_t>(
        std::min<std::size_t>(limits.max_http_header_bytes, UINT32_MAX)));
    parser_->body_limit(kMaxBodyBytes);
    stream_.expires_after(limits.http_idle_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) {
                       if (ec)
                         return;
                       self->handle(self->parser_->release());
                     });
  }

 private:
  void handle(http::request<http::string_body> request) {
    const auto target = boost::urls::parse_origin_form(request.target());
    const std::string path = target ? std::string(target->path()) : std::string();
    http::response<http::string_body> response{http::status::ok, request.version()};
    response.keep_alive(request.keep_alive());
    response.set(http::field::cache_control, "no-store");
    if (request.method() != http::verb::get && request.method() != http::verb::head) {
      response.result(http::status::method_not_allowed);
      response.set(http::field::allow, "GET, HEAD");
      response.set(http::field::content_type, "text/plain; charset=utf-8");
      response.body() = "Only GET and HEAD.\n";
    } else if (!shared_->authorized(request)) {
      response.result(http::status::unauthorized);
      response.set(http::field::content_type, "text/plain; charset=utf-8");
      response.body() =
          "This listener is not on loopback: pass a token signed with the access key "
          "(aud \"webpubsub-ops\") as ?access_token= or Authorization: Bearer "
          "(docs/OPERATIONS.md).\n";
    } else if (path == "/metrics") {
      response.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
      response.body() = render_metrics(shared_->node.metrics(), read_process_stats());
    } else if (path == "/" || path == "/index.html") {
      response.set(http::field::content_type, "text/html; charset=utf-8");
      response.body() = overview_page();
    } else if (path == "/overview.json") {
      response.set(http::field::content_type, "application/json");
      response.body() = shared_->overview_json();
    } else if (path == "/trace") {
      response.set(http::field::content_type, "text/html; charset=utf-8");
      response.body() = trace_page();
    } else if (path == "/trace/events" && request.method() == http::verb::get) {
      auto sse = std::make_shared<SseStream>(shared_, std::move(stream_));
      {
        std::lock_guard lock(shared_->mutex);
        if (shared_->stopped)
          return;
        shared_->streams.insert(sse);
      }
      sse->start();
      return;
    } else {
      response.result(http::status::not_found);
      response.set(http::field::content_type, "text/plain; charset=utf-8");
      response.body() = "Not found. Try /metrics, / or /trace.\n";
    }
    const bool head = request.method() == http::verb::head;
    response.prepare_payload();
    if (head)
      response.body().clear();
    response_ = std::move(response);
    http::async_write(stream_, response_,
                      [self = shared_from_this()](beast::error_code ec, std::size_t) {
                        if (ec || !self->response_.keep_alive()) {
                          beast::error_code ignored;
                          self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
                          return;
                        }
                        self->read();
                      });
  }

  std::shared_ptr<OpsServer::Shared> shared_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> response_;
};

}  // namespace

void OpsServer::Shared::accept(tcp::acceptor& acceptor) {
  acceptor.async_accept(net::make_strand(ioc), [self = shared_from_this(), &acceptor](
                                                   beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted)
      return;
    if (!ec)
      std::make_shared<Session>(self, std::move(socket))->read();
    {
      std::lock_guard lock(self->mutex);
      if (self->stopped)
        return;
    }
    self->accept(acceptor);
  });
}

bool OpsServer::Shared::authorized(const http::request<http::string_body>& request) const {
  if (!require_token)
    return true;
  std::string token;
  const auto auth = request[http::field::authorization];
  if (auth.starts_with("Bearer "))
    token = std::string(auth.data() + 7, auth.size() - 7);
  if (token.empty()) {
    if (const auto target = boost::urls::parse_origin_form(request.target())) {
      const auto params = target->params();
      if (auto it = params.find("access_token"); it != params.end() && (*it).has_value)
        token = (*it).value;
    }
  }
  if (token.empty())
    return false;
  auth::VerifyOptions options;
  options.keys.push_back(config.primary_key);
  if (config.secondary_key && !config.secondary_key->empty())
    options.keys.push_back(*config.secondary_key);
  options.now = std::chrono::duration_cast<std::chrono::seconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  options.clock_skew = config.limits.clock_skew;
  const auth::VerifyResult verified = auth::verify_token(token, options);
  if (!verified)
    return false;
  for (const std::string& audience : verified.claims->audiences)
    if (audience == kTokenAudience)
      return true;
  return false;
}

std::string OpsServer::Shared::overview_json() const {
  boost::json::object root;
  root["time"] = std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count();
  boost::json::array hubs;
  core::Metrics& metrics = node.metrics();
  for (const auto& hub : node.hubs()) {
    boost::json::object h;
    h["name"] = hub->name();
    h["connections"] = hub->connection_count();
    h["groups"] = hub->group_count();
    h["users"] = hub->user_count();
    // The counters of the hub's label (shared by the hubs past the cap).
    const core::HubStats& stats = metrics.hub_stats(hub->name());
    std::uint64_t received = 0, delivered = 0;
    for (std::size_t k = 0; k < core::kProtocolKinds; ++k) {
      received += stats.received[k].load(std::memory_order_relaxed);
      delivered += stats.delivered[k].load(std::memory_order_relaxed);
    }
    h["label"] = stats.name;
    h["received"] = received;
    h["delivered"] = delivered;
    hubs.push_back(std::move(h));
  }
  root["hubs"] = std::move(hubs);
  root["watchers"] = metrics.tracer.active();
  return boost::json::serialize(root);
}

OpsServer::OpsServer(net::io_context& ioc, const config::Config& config, core::Node& node,
                     bool require_token)
    : shared_(std::make_shared<Shared>(ioc, config, node, require_token)) {}

OpsServer::~OpsServer() = default;

void OpsServer::start(const std::vector<tcp::endpoint>& endpoints) {
  std::uint16_t bound = endpoints.empty() ? 0 : endpoints.front().port();
  std::string first_error;
  for (const tcp::endpoint& configured : endpoints) {
    const tcp::endpoint endpoint(configured.address(), bound);
    try {
      auto acceptor = std::make_unique<tcp::acceptor>(shared_->ioc);
      acceptor->open(endpoint.protocol());
      acceptor->set_option(net::socket_base::reuse_address(true));
      if (endpoint.address().is_v6())
        acceptor->set_option(net::ip::v6_only(true));
      acceptor->bind(endpoint);
      acceptor->listen();
      bound = acceptor->local_endpoint().port();
      shared_->acceptors.push_back(std::move(acceptor));
    } catch (const boost::system::system_error& e) {
      if (first_error.empty())
        first_error = endpoint.address().to_string() + ":" + std::to_string(endpoint.port()) +
                      ": " + e.code().message();
    }
  }
  if (shared_->acceptors.empty())
    throw std::runtime_error("metrics listener: cannot listen on " + first_error);
  port_ = bound;
  for (auto& acceptor : shared_->acceptors) {
    WPS_LOG(info, "ops") << "operations listener on " << acceptor->local_endpoint()
                         << " (/metrics, /, /trace)";
    shared_->accept(*acceptor);
  }
}

void OpsServer::stop() {
  std::set<std::shared_ptr<SseStream>> streams;
  {
    std::lock_guard lock(shared_->mutex);
    shared_->stopped = true;
    // Taken out of the set: a stream and the set would otherwise hold each other if the event
    // loop ends before the stream's close runs.
    streams.swap(shared_->streams);
  }
  for (auto& acceptor : shared_->acceptors) {
    beast::error_code ec;
    acceptor->close(ec);
  }
  for (const auto& stream : streams)
    stream->close();
}

}  // namespace wps::ops
