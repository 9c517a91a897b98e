#include "webhook/http_client.hpp"

#include <openssl/ssl.h>

#include <array>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/parse.hpp>
#include <deque>
#include <map>
#include <mutex>

#include "util/text.hpp"
#include "webhook/responses.hpp"

namespace wps::webhook {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

std::vector<std::string> HttpResponse::values(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& [key, value] : headers) {
    if (util::iequals(key, name))
      out.push_back(value);
  }
  return out;
}

std::optional<std::string> HttpResponse::last(std::string_view name) const {
  std::optional<std::string> out;
  for (const auto& [key, value] : headers) {
    if (util::iequals(key, name))
      out = value;
  }
  return out;
}

namespace {

// Keep-alive connections idle longer than this are not reused (handlers commonly close idle
// connections after 5 s: Node's default keepAliveTimeout).
constexpr auto kMaxIdle = std::chrono::seconds(4);
// Idle connections kept per origin when the number open is unlimited (otherwise: up to the cap,
// so that a steady load reuses its connections instead of reopening them).
constexpr std::size_t kMaxIdleUnlimited = 256;

// One TCP or TLS connection to a handler origin.
struct Conn {
  explicit Conn(const asio::any_io_executor& executor)
      : tcp(std::make_unique<beast::tcp_stream>(executor)) {}
  Conn(const asio::any_io_executor& executor, ssl::context& context)
      : tls(std::make_unique<beast::ssl_stream<beast::tcp_stream>>(executor, context)) {}

  beast::tcp_stream& lowest() { return tls ? beast::get_lowest_layer(*tls) : *tcp; }
  void close() {
    beast::error_code ignored;
    lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
    lowest().close();
  }

  std::unique_ptr<beast::tcp_stream> tcp;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> tls;
  beast::flat_buffer buffer;
  Clock::time_point idle_since{};
};

// TLS client contexts, one per CA file ("" = the system's trust store). Verify the peer's
// certificate chain and host name; TLS 1.2 or later.
ssl::context* tls_context(const std::string& ca_file, std::string& error) {
  static std::mutex mutex;
  static std::map<std::string, std::unique_ptr<ssl::context>> contexts;
  std::lock_guard lock(mutex);
  auto& slot = contexts[ca_file];
  if (!slot) {
    auto context = std::make_unique<ssl::context>(ssl::context::tls_client);
    beast::error_code ec;
    context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                             ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                             ssl::context::no_tlsv1_1 | ssl::context::no_compression,
                         ec);
    context->set_default_verify_paths(ec);
    if (!ca_file.empty()) {
      context->load_verify_file(ca_file, ec);
      if (ec) {
        error = "cannot load the event handler CA file " + ca_file + ": " + ec.message();
        contexts.erase(ca_file);
        return nullptr;
      }
    }
    context->set_verify_mode(ssl::verify_peer);
    slot = std::move(context);
  }
  return slot.get();
}

// Keep-alive connections per origin, and a cap on the connections open to one origin at once:
// calls beyond it wait (within their own deadline) for a connection to come back. After
// shutdown() nothing is kept: idle connections are closed, returned ones too.
}  // namespace

class ConnectionPool {
 public:
  // Called with an idle connection to reuse, or with null: open a new one.
  using Waiter = std::function<void(std::unique_ptr<Conn>)>;

  // Calls `waiter` (at once, on this thread, or later from release()) once the call has a
  // connection slot. Returns a ticket to withdraw a wait that did not end at once (else 0).
  std::uint64_t acquire(const std::string& origin, std::size_t max_open, Waiter waiter) {
    std::unique_ptr<Conn> conn;
    {
      std::lock_guard lock(mutex_);
      Origin& o = origins_[origin];
      o.max_open = max_open;
      const auto now = Clock::now();
      while (!o.idle.empty()) {
        auto candidate = std::move(o.idle.back());
        o.idle.pop_back();
        if (now - candidate->idle_since < kMaxIdle) {
          conn = std::move(candidate);
          break;
        }
        --o.open;
        candidate->close();
      }
      if (!conn) {
        if (max_open != 0 && o.open >= max_open) {
          const auto ticket = ++next_ticket_;
          o.waiters.emplace_back(ticket, std::move(waiter));
          return ticket;
        }
        ++o.open;
      }
    }
    waiter(std::move(conn));
    return 0;
  }

  // Withdraws a waiting call (it finished while waiting).
  void withdraw(const std::string& origin, std::uint64_t ticket) {
    std::lock_guard lock(mutex_);
    auto& waiters = origins_[origin].waiters;
    for (auto it = waiters.begin(); it != waiters.end(); ++it) {
      if (it->first == ticket) {
        waiters.erase(it);
        return;
      }
    }
  }

  // Gives back a connection slot: `conn` kept for reuse when non-null, else the slot is freed.
  void release(const std::string& origin, std::unique_ptr<Conn> conn) {
    Waiter next;
    {
      std::lock_guard lock(mutex_);
      Origin& o = origins_[origin];
      if (stopped_) {
        --o.open;
        if (conn)
          conn->close();
        return;
      }
      if (!o.waiters.empty()) {
        next = std::move(o.waiters.front().second);
        o.waiters.pop_front();
      } else if (conn && o.idle.size() < (o.max_open != 0 ? o.max_open : kMaxIdleUnlimited)) {
        conn->idle_since = Clock::now();
        o.idle.push_back(std::move(conn));
        return;
      } else {
        --o.open;
        if (conn)
          conn->close();
        return;
      }
    }
    // The slot passes to the waiter, with the connection when it is reusable.
    next(std::move(conn));
  }

  // Closes the idle connections and keeps none from now on (the io_context is about to go).
  void shutdown() {
    std::vector<std::unique_ptr<Conn>> idle;
    {
      std::lock_guard lock(mutex_);
      stopped_ = true;
      for (auto& [name, o] : origins_) {
        o.open -= o.idle.size();
        for (auto& conn : o.idle)
          idle.push_back(std::move(conn));
        o.idle.clear();
      }
    }
    for (auto& conn : idle)
      conn->close();
  }

 private:
  struct Origin {
    std::vector<std::unique_ptr<Conn>> idle;
    std::size_t open = 0;  // idle + in use
    std::size_t max_open = 0;
    std::deque<std::pair<std::uint64_t, Waiter>> waiters;
  };
  std::mutex mutex_;
  std::map<std::string, Origin> origins_;
  std::uint64_t next_ticket_ = 0;
  bool stopped_ = false;
};

namespace {

// A header name is an RFC 9110 token; a value has no CR, LF or NUL (no header injection).
bool valid_field_name(std::string_view name) {
  if (name.empty())
    return false;
  for (const char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7F ||
        std::string_view("\"(),/:;<=>?@[\\]{}").find(c) != std::string_view::npos)
      return false;
  }
  return true;
}

bool valid_field_value(std::string_view value) {
  return value.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

class BeastCall final : public HttpCall, public std::enable_shared_from_this<BeastCall> {
 public:
  BeastCall(asio::any_io_executor executor, HttpRequest request,
            std::function<void(HttpResponse)> done, std::shared_ptr<ConnectionPool> pool)
      : pooled_(pool != nullptr),
        pool_(pool ? std::move(pool) : std::make_shared<ConnectionPool>()),
        executor_(executor),
        strand_(asio::make_strand(executor)),
        resolver_(strand_),
        timer_(strand_),
        request_(std::move(request)),
        done_(std::move(done)) {}

  void start() override {
    asio::post(strand_, [self = shared_from_this()] { self->begin(); });
  }

  void cancel() override {
    asio::post(strand_, [self = shared_from_this()] {
      HttpResponse response;
      response.error = "cancelled";
      self->finish(std::move(response));
    });
  }

 private:
  template <class F>
  auto on_strand(F&& f) {
    return asio::bind_executor(strand_, std::forward<F>(f));
  }

  void begin() {
    if (finished_)
      return;
    auto parsed = boost::urls::parse_absolute_uri(request_.url);
    if (!parsed) {
      fail("invalid handler URL");
      return;
    }
    const auto& url = *parsed;
    auto scheme = util::to_lower(url.scheme());
    if (scheme != "http" && scheme != "https") {
      fail("unsupported URL scheme '" + scheme + "'");
      return;
    }
    secure_ = scheme == "https";
    host_ = std::string(url.encoded_host_address());
    if (host_.size() >= 2 && host_.front() == '[' && host_.back() == ']') {
      host_ = host_.substr(1, host_.size() - 2);
    }
    port_ = url.has_port() ? std::string(url.port()) : std::string(secure_ ? "443" : "80");
    origin_ = scheme + "://" + host_ + ":" + port_ + "|" + request_.ca_file;
    std::string target(url.encoded_path());
    if (target.empty())
      target = "/";
    if (url.has_query()) {
      target += '?';
      target += std::string(url.encoded_query());
    }
    std::string host_header(url.encoded_host());
    if (url.has_port())
      host_header += ":" + port_;
    if (!serialize(target, host_header))
      return;

    if (secure_) {
      std::string error;
      tls_context_ = tls_context(request_.ca_file, error);
      if (tls_context_ == nullptr) {
        fail(error);
        return;
      }
    }

    timer_.expires_after(request_.timeout);
    timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec)
        return;
      HttpResponse response;
      response.timed_out = true;
      response.error = "timed out";
      self->finish(std::move(response));
    });
    waiting_ = true;
    ticket_ = pool_->acquire(
        origin_, request_.max_connections, [self = shared_from_this()](std::unique_ptr<Conn> conn) {
          asio::post(self->strand_,
                     [self, conn = std::move(conn)]() mutable { self->on_slot(std::move(conn)); });
        });
  }

  // The request line and headers as they go on the wire, in one buffer written with the body
  // (two buffers, one write): no per-field allocations (Beast's serializer of a 16-field request
  // cost ~6 % of the server's CPU in the webhook-echo benchmark). False (and the call failed)
  // when a header cannot be sent.
  bool serialize(const std::string& target, const std::string& host_header) {
    auto verb = http::string_to_verb(request_.method);
    if (verb == http::verb::unknown)
      verb = http::verb::post;
    const bool with_body = verb == http::verb::post || !request_.body.empty();
    std::size_t size = 64 + target.size() + host_header.size();
    for (const auto& [name, value] : request_.headers)
      size += name.size() + value.size() + 4;
    wire_.reserve(size);
    wire_.append(http::to_string(verb));
    wire_ += ' ';
    wire_ += target;
    wire_ += " HTTP/1.1\r\nHost: ";
    wire_ += host_header;
    wire_ += "\r\n";
    for (const auto& [name, value] : request_.headers) {
      if (!valid_field_name(name) || !valid_field_value(value)) {
        fail("header " + name + " has a character HTTP does not allow");
        return false;
      }
      wire_ += name;
      wire_ += ": ";
      wire_ += value;
      wire_ += "\r\n";
    }
    if (with_body) {
      wire_ += "Content-Length: ";
      wire_ += std::to_string(request_.body.size());
      wire_ += "\r\n";
    }
    if (!pooled_)
      wire_ += "Connection: close\r\n";
    wire_ += "\r\n";
    if (!with_body)
      request_.body.clear();
    request_.headers = HeaderList();
    return true;
  }

  void on_slot(std::unique_ptr<Conn> conn) {
    waiting_ = false;
    has_slot_ = true;
    if (finished_) {
      pool_->release(origin_, nullptr);
      has_slot_ = false;
      return;
    }
    if (conn) {
      conn_ = std::move(conn);
      reused_ = true;
      send();
      return;
    }
    open();
  }

  void open() {
    reused_ = false;
    conn_ = secure_ ? std::make_unique<Conn>(executor_, *tls_context_)
                    : std::make_unique<Conn>(executor_);
    resolver_.async_resolve(
        host_, port_,
        on_strand(
            [self = shared_from_this()](beast::error_code ec, tcp::resolver::results_type results) {
              self->on_resolve(ec, std::move(results));
            }));
  }

  void on_resolve(beast::error_code ec, tcp::resolver::results_type results) {
    if (finished_)
      return;
    if (ec) {
      fail("cannot resolve " + host_ + ": " + ec.message());
      return;
    }
    conn_->lowest().async_connect(
        results,
        on_strand([self = shared_from_this()](beast::error_code connect_ec, const tcp::endpoint&) {
          self->on_connect(connect_ec);
        }));
  }

  void on_connect(beast::error_code ec) {
    if (finished_)
      return;
    if (ec) {
      fail("cannot connect to " + host_ + ":" + port_ + ": " + ec.message());
      return;
    }
    if (!secure_) {
      send();
      return;
    }
    // SNI and host-name verification (IP literals are checked against IP SANs).
    auto* native = conn_->tls->native_handle();
    beast::error_code address_ec;
    (void)asio::ip::make_address(host_, address_ec);
    if (address_ec)
      SSL_ctrl(native, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
               const_cast<char*>(host_.c_str()));  // SSL_set_tlsext_host_name, without its cast
    conn_->tls->set_verify_callback(ssl::host_name_verification(host_));
    conn_->tls->async_handshake(ssl::stream_base::client,
                                on_strand([self = shared_from_this()](beast::error_code hs_ec) {
                                  self->on_handshake(hs_ec);
                                }));
  }

  void on_handshake(beast::error_code ec) {
    if (finished_)
      return;
    if (ec) {
      fail("TLS handshake with " + host_ + ":" + port_ + " failed: " + ec.message());
      return;
    }
    send();
  }

  void send() {
    parser_.emplace();
    parser_->body_limit(request_.max_body_bytes);
    parser_->header_limit(64 * 1024);
    auto handler = on_strand([self = shared_from_this()](beast::error_code write_ec, std::size_t) {
      self->on_write(write_ec);
    });
    const std::array<asio::const_buffer, 2> buffers{asio::buffer(wire_),
                                                    asio::buffer(request_.body)};
    if (conn_->tls)
      asio::async_write(*conn_->tls, buffers, std::move(handler));
    else
      asio::async_write(*conn_->tcp, buffers, std::move(handler));
  }

  void on_write(beast::error_code ec) {
    if (finished_)
      return;
    if (ec) {
      if (retry_stale())
        return;
      fail("cannot send the request: " + ec.message());
      return;
    }
    auto handler = on_strand([self = shared_from_this()](beast::error_code read_ec, std::size_t) {
      self->on_read(read_ec);
    });
    if (conn_->tls)
      http::async_read(*conn_->tls, conn_->buffer, *parser_, std::move(handler));
    else
      http::async_read(*conn_->tcp, conn_->buffer, *parser_, std::move(handler));
  }

  // A reused keep-alive connection the handler had already closed: try once on a new one.
  bool retry_stale() {
    if (!reused_ || parser_->got_some())
      return false;
    conn_->close();
    conn_.reset();
    open();
    return true;
  }

  void on_read(beast::error_code ec) {
    if (finished_)
      return;
    if (ec) {
      if (retry_stale())
        return;
      fail(ec == http::error::body_limit ? std::string("response body too large")
                                         : "cannot read the response: " + ec.message());
      return;
    }
    auto& message = parser_->get();
    reusable_ = message.keep_alive() && conn_->buffer.size() == 0;
    HttpResponse response;
    response.completed = true;
    response.status = message.result_int();
    for (const auto& field : message) {
      response.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    response.body = std::move(message.body());
    finish(std::move(response));
  }

  void fail(std::string error) {
    HttpResponse response;
    response.error = std::move(error);
    finish(std::move(response));
  }

  void finish(HttpResponse response) {
    if (finished_)
      return;
    finished_ = true;
    timer_.cancel();
    resolver_.cancel();
    if (waiting_ && ticket_ != 0)
      pool_->withdraw(origin_, ticket_);
    if (has_slot_) {
      has_slot_ = false;
      if (conn_ && !reusable_)
        conn_->close();
      pool_->release(origin_, reusable_ ? std::move(conn_) : nullptr);
    }
    auto done = std::move(done_);
    done_ = nullptr;
    if (done)
      done(std::move(response));
  }

  const bool pooled_;                     // keep-alive with the caller's pool
  std::shared_ptr<ConnectionPool> pool_;  // a private one when the caller gave none
  asio::any_io_executor executor_;
  asio::strand<asio::any_io_executor> strand_;
  tcp::resolver resolver_;
  asio::steady_timer timer_;
  HttpRequest request_;
  std::function<void(HttpResponse)> done_;
  std::string wire_;  // the serialized request line and headers (the body: request_.body)
  std::optional<http::response_parser<http::string_body>> parser_;
  std::unique_ptr<Conn> conn_;
  ssl::context* tls_context_ = nullptr;
  std::string host_;
  std::string port_;
  std::string origin_;
  std::uint64_t ticket_ = 0;
  bool secure_ = false;
  bool waiting_ = false;
  bool has_slot_ = false;
  bool reused_ = false;
  bool reusable_ = false;
  bool finished_ = false;
};

}  // namespace

std::shared_ptr<ConnectionPool> make_connection_pool() {
  return std::make_shared<ConnectionPool>();
}

void shutdown_connection_pool(ConnectionPool& pool) {
  pool.shutdown();
}

std::shared_ptr<HttpCall> make_http_call(asio::any_io_executor executor, HttpRequest request,
                                         std::function<void(HttpResponse)> done,
                                         std::shared_ptr<ConnectionPool> pool) {
  return std::make_shared<BeastCall>(std::move(executor), std::move(request), std::move(done),
                                     std::move(pool));
}

}  // namespace wps::webhook
