// echo_handler: a minimal, fast Azure Web PubSub event handler for the webhook-echo benchmark.
// It answers the abuse-protection OPTIONS (WebHook-Allowed-Origin: *), accepts every system
// event with 204, and answers every user event with its own body and Content-Type, so a simple
// WebSocket client receives back what it sent. HTTP/1.1 keep-alive, one thread (pin it with
// taskset). Loopback only.
//   echo_handler [PORT]   prints "HANDLER_PORT=<port>" once listening (PORT 0 = any free port)

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdio>
#include <memory>
#include <string>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  explicit Session(tcp::socket socket) : stream_(std::move(socket)) {}
  void start() { read(); }

 private:
  void read() {
    request_ = {};
    http::async_read(stream_, buffer_, request_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) {
                       if (!ec)
                         self->answer();
                     });
  }

  void answer() {
    response_ = {};
    response_.version(11);
    response_.keep_alive(request_.keep_alive());
    if (request_.method() == http::verb::options || request_.method() == http::verb::get) {
      response_.result(http::status::ok);
      response_.set("WebHook-Allowed-Origin", "*");
    } else {
      const auto type = request_[http::field::content_type];
      const std::string ce_type(request_["ce-type"]);
      if (ce_type.rfind("azure.webpubsub.user.", 0) == 0) {
        response_.result(http::status::ok);
        response_.set(http::field::content_type, type.empty() ? "text/plain" : type);
        response_.body() = std::move(request_.body());
      } else {
        response_.result(http::status::no_content);
      }
    }
    response_.prepare_payload();
    http::async_write(stream_, response_,
                      [self = shared_from_this()](beast::error_code ec, std::size_t) {
                        if (ec)
                          return;
                        if (!self->response_.keep_alive()) {
                          beast::error_code ignored;
                          self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
                          return;
                        }
                        self->read();
                      });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> request_;
  http::response<http::string_body> response_;
};

void accept(tcp::acceptor& acceptor) {
  acceptor.async_accept([&acceptor](beast::error_code ec, tcp::socket socket) {
    if (!ec) {
      socket.set_option(tcp::no_delay(true));
      std::make_shared<Session>(std::move(socket))->start();
    }
    accept(acceptor);
  });
}

}  // namespace

int main(int argc, char** argv) {
  const auto port = static_cast<unsigned short>(argc > 1 ? std::stoul(argv[1]) : 0);
  asio::io_context io(1);
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  std::printf("HANDLER_PORT=%u\n", static_cast<unsigned>(acceptor.local_endpoint().port()));
  std::fflush(stdout);
  accept(acceptor);
  io.run();
  return 0;
}
