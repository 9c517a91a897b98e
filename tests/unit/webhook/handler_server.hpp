#pragma once
// A real HTTP server on 127.0.0.1 (port 0) playing the event handler: it records every request
// and answers with what the test's function returns.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "util/text.hpp"

namespace wps::webhook::test {

struct Recorded {
  std::string method;
  std::string target;
  std::vector<std::pair<std::string, std::string>> headers;  // in arrival order
  std::string body;

  std::optional<std::string> header(std::string_view name) const {
    for (const auto& [key, value] : headers) {
      if (util::iequals(key, name))
        return value;
    }
    return std::nullopt;
  }
};

struct Reply {
  unsigned status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::chrono::milliseconds delay{0};
};

// Validation answered with `*`, events with an empty 200.
inline Reply default_reply(const Recorded& request) {
  Reply reply;
  if (request.method == "OPTIONS")
    reply.headers.emplace_back("WebHook-Allowed-Origin", "*");
  return reply;
}

class HandlerServer {
 public:
  using Fn = std::function<Reply(const Recorded&)>;

  explicit HandlerServer(Fn fn = default_reply)
      : fn_(std::move(fn)), acceptor_(io_, {boost::asio::ip::make_address("127.0.0.1"), 0}) {
    accept();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~HandlerServer() {
    io_.stop();
    thread_.join();
    std::vector<std::thread> workers;
    {
      std::lock_guard lock(mutex_);
      workers.swap(workers_);
    }
    for (auto& worker : workers)
      worker.join();
  }
  HandlerServer(const HandlerServer&) = delete;
  HandlerServer& operator=(const HandlerServer&) = delete;

  unsigned short port() const { return acceptor_.local_endpoint().port(); }
  std::string url(const std::string& path = "/api/{hub}/{event}") const {
    return "http://127.0.0.1:" + std::to_string(port()) + path;
  }

  void set(Fn fn) {
    std::lock_guard lock(mutex_);
    fn_ = std::move(fn);
  }

  std::vector<Recorded> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }

  // Waits until `count` requests arrived (or `timeout`); returns them.
  std::vector<Recorded> wait_for(std::size_t count,
                                 std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, timeout, [&] { return requests_.size() >= count; });
    return requests_;
  }

 private:
  void accept() {
    acceptor_.async_accept(
        [this](boost::system::error_code ec, boost::asio::ip::tcp::socket socket) {
          if (ec)
            return;
          std::lock_guard lock(mutex_);
          workers_.emplace_back([this, s = std::make_shared<boost::asio::ip::tcp::socket>(
                                           std::move(socket))] { serve(*s); });
          accept();
        });
  }

  void serve(boost::asio::ip::tcp::socket& socket) {
    namespace http = boost::beast::http;
    boost::beast::flat_buffer buffer;
    http::request<http::string_body> request;
    boost::system::error_code ec;
    http::read(socket, buffer, request, ec);
    if (ec)
      return;
    Recorded recorded;
    recorded.method = std::string(request.method_string());
    recorded.target = std::string(request.target());
    for (const auto& field : request) {
      recorded.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    recorded.body = request.body();
    Fn fn;
    {
      std::lock_guard lock(mutex_);
      requests_.push_back(recorded);
      fn = fn_;
    }
    cv_.notify_all();
    Reply reply = fn(recorded);
    if (reply.delay.count() > 0)
      std::this_thread::sleep_for(reply.delay);
    http::response<http::string_body> response;
    response.result(reply.status);
    response.version(11);
    for (const auto& [name, value] : reply.headers)
      response.insert(name, value);
    response.body() = reply.body;
    response.prepare_payload();
    response.keep_alive(false);
    http::write(socket, response, ec);
    socket.shutdown(boost::asio::ip::tcp::socket::shutdown_both, ec);
  }

  Fn fn_;
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::thread thread_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<Recorded> requests_;
  std::vector<std::thread> workers_;
};

}  // namespace wps::webhook::test
