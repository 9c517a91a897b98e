#include "webhook/http_client.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>

#include "webhook/responses.hpp"

namespace wps::webhook {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

std::vector<std::string> HttpResponse::values(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& [key, value] : headers) {
    if (iequals(key, name))
      out.push_back(value);
  }
  return out;
}

std::optional<std::string> HttpResponse::last(std::string_view name) const {
  std::optional<std::string> out;
  for (const auto& [key, value] : headers) {
    if (iequals(key, name))
      out = value;
  }
  return out;
}

namespace {

class BeastCall final : public HttpCall, public std::enable_shared_from_this<BeastCall> {
 public:
  BeastCall(asio::any_io_executor executor, HttpRequest request,
            std::function<void(HttpResponse)> done)
      : strand_(asio::make_strand(executor)),
        resolver_(strand_),
        stream_(strand_),
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
  void begin() {
    if (finished_)
      return;
    auto parsed = boost::urls::parse_absolute_uri(request_.url);
    if (!parsed) {
      fail("invalid handler URL");
      return;
    }
    const auto& url = *parsed;
    auto scheme = to_lower(url.scheme());
    if (scheme == "https") {
      fail("https:// event handler URLs are not supported yet");
      return;
    }
    if (scheme != "http") {
      fail("unsupported URL scheme '" + scheme + "'");
      return;
    }
    host_ = std::string(url.encoded_host_address());
    if (host_.size() >= 2 && host_.front() == '[' && host_.back() == ']') {
      host_ = host_.substr(1, host_.size() - 2);
    }
    port_ = url.has_port() ? std::string(url.port()) : std::string("80");
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

    auto verb = http::string_to_verb(request_.method);
    message_.method(verb == http::verb::unknown ? http::verb::post : verb);
    message_.target(target);
    message_.version(11);
    message_.set(http::field::host, host_header);
    for (const auto& [name, value] : request_.headers)
      message_.insert(name, value);
    if (verb == http::verb::post || !request_.body.empty()) {
      message_.body() = std::move(request_.body);
      message_.prepare_payload();
    }
    message_.keep_alive(false);

    parser_.emplace();
    parser_->body_limit(request_.max_body_bytes);
    parser_->header_limit(64 * 1024);

    timer_.expires_after(request_.timeout);
    timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec)
        return;
      HttpResponse response;
      response.timed_out = true;
      response.error = "timed out";
      self->finish(std::move(response));
    });
    resolver_.async_resolve(
        host_, port_,
        [self = shared_from_this()](beast::error_code ec, tcp::resolver::results_type results) {
          self->on_resolve(ec, std::move(results));
        });
  }

  void on_resolve(beast::error_code ec, tcp::resolver::results_type results) {
    if (finished_)
      return;
    if (ec) {
      fail("cannot resolve " + host_ + ": " + ec.message());
      return;
    }
    stream_.async_connect(
        results, [self = shared_from_this()](beast::error_code connect_ec, const tcp::endpoint&) {
          self->on_connect(connect_ec);
        });
  }

  void on_connect(beast::error_code ec) {
    if (finished_)
      return;
    if (ec) {
      fail("cannot connect to " + host_ + ":" + port_ + ": " + ec.message());
      return;
    }
    http::async_write(stream_, message_,
                      [self = shared_from_this()](beast::error_code write_ec, std::size_t) {
                        self->on_write(write_ec);
                      });
  }

  void on_write(beast::error_code ec) {
    if (finished_)
      return;
    if (ec) {
      fail("cannot send the request: " + ec.message());
      return;
    }
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code read_ec, std::size_t) {
                       self->on_read(read_ec);
                     });
  }

  void on_read(beast::error_code ec) {
    if (finished_)
      return;
    if (ec) {
      fail(ec == http::error::body_limit ? std::string("response body too large")
                                         : "cannot read the response: " + ec.message());
      return;
    }
    auto& message = parser_->get();
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
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
    auto done = std::move(done_);
    done_ = nullptr;
    if (done)
      done(std::move(response));
  }

  asio::strand<asio::any_io_executor> strand_;
  tcp::resolver resolver_;
  beast::tcp_stream stream_;
  asio::steady_timer timer_;
  HttpRequest request_;
  std::function<void(HttpResponse)> done_;
  http::request<http::string_body> message_;
  std::optional<http::response_parser<http::string_body>> parser_;
  beast::flat_buffer buffer_;
  std::string host_;
  std::string port_;
  bool finished_ = false;
};

}  // namespace

std::shared_ptr<HttpCall> make_http_call(asio::any_io_executor executor, HttpRequest request,
                                         std::function<void(HttpResponse)> done) {
  return std::make_shared<BeastCall>(std::move(executor), std::move(request), std::move(done));
}

}  // namespace wps::webhook
