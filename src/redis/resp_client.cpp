#include "redis/resp_client.hpp"

#include <hiredis/hiredis.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>

namespace wps::redis {

namespace net = boost::asio;
using tcp = net::ip::tcp;

void append_command(std::string& out, const std::vector<std::string_view>& args) {
  out += '*';
  out += std::to_string(args.size());
  out += "\r\n";
  for (std::string_view arg : args) {
    out += '$';
    out += std::to_string(arg.size());
    out += "\r\n";
    out.append(arg);
    out += "\r\n";
  }
}

RespClient::RespClient(Strand strand, Url url, std::chrono::milliseconds connect_timeout)
    : strand_(strand),
      url_(std::move(url)),
      connect_timeout_(connect_timeout),
      resolver_(strand),
      socket_(strand),
      connect_timer_(strand),
      reader_(redisReaderCreate()),
      read_buffer_(64 * 1024) {}

RespClient::~RespClient() {
  if (reader_ != nullptr)
    redisReaderFree(reader_);
}

void RespClient::start(std::function<void()> on_ready, std::function<void(std::string)> on_down,
                       PushHandler on_push) {
  on_ready_ = std::move(on_ready);
  on_down_ = std::move(on_down);
  on_push_ = std::move(on_push);
  auto self = shared_from_this();
  connect_timer_.expires_after(connect_timeout_);
  connect_timer_.async_wait([self](const boost::system::error_code& ec) {
    if (!ec && !self->ready_)
      self->fail("timed out connecting");
  });
  resolver_.async_resolve(
      url_.host, std::to_string(url_.port),
      [self](const boost::system::error_code& ec, const tcp::resolver::results_type& results) {
        if (self->closed_)
          return;
        if (ec)
          return self->fail("cannot resolve " + self->url_.host + ": " + ec.message());
        net::async_connect(
            self->socket_, results,
            [self](const boost::system::error_code& cec, const tcp::endpoint&) {
              if (self->closed_)
                return;
              if (cec)
                return self->fail("cannot connect: " + cec.message());
              boost::system::error_code ignored;
              self->socket_.set_option(tcp::no_delay(true), ignored);
              self->connected_ = true;
              self->read();
              auto on_selected = [self](const redisReply* reply) {
                if (reply == nullptr || reply->type == REDIS_REPLY_ERROR)
                  return self->fail(reply == nullptr ? "closed" : std::string(reply->str));
                self->connect_timer_.cancel();
                self->ready_ = true;
                if (self->on_ready_)
                  self->on_ready_();
              };
              if (!self->url_.password.empty()) {
                auto on_auth = [self](const redisReply* reply) {
                  if (reply != nullptr && reply->type == REDIS_REPLY_ERROR)
                    self->fail("AUTH refused: " + std::string(reply->str, reply->len));
                };
                if (self->url_.user.empty())
                  self->command({"AUTH", self->url_.password}, on_auth);
                else
                  self->command({"AUTH", self->url_.user, self->url_.password}, on_auth);
              }
              // PING proves the server speaks RESP before we call it ready.
              if (self->url_.db != 0)
                self->command({"SELECT", std::to_string(self->url_.db)}, on_selected);
              else
                self->command({"PING"}, on_selected);
            });
      });
}

void RespClient::command(const std::vector<std::string_view>& args, Callback callback) {
  if (closed_) {
    if (callback)
      callback(nullptr);
    return;
  }
  append_command(pending_, args);
  callbacks_.push_back(std::move(callback));
  if (connected_)
    flush();
}

void RespClient::send(const std::vector<std::string_view>& args) {
  if (closed_)
    return;
  append_command(pending_, args);
  if (connected_)
    flush();
}

void RespClient::flush() {
  if (!writing_.empty() || pending_.empty() || closed_)
    return;
  writing_.swap(pending_);
  net::async_write(socket_, net::buffer(writing_),
                   [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
                     if (self->closed_)
                       return;
                     if (ec)
                       return self->fail("write failed: " + ec.message());
                     self->writing_.clear();
                     self->flush();
                   });
}

void RespClient::read() {
  socket_.async_read_some(
      net::buffer(read_buffer_),
      [self = shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
        if (self->closed_)
          return;
        if (ec)
          return self->fail(ec == net::error::eof ? "closed by the server"
                                                  : "read failed: " + ec.message());
        if (redisReaderFeed(self->reader_, self->read_buffer_.data(), n) != REDIS_OK)
          return self->fail("reply parser failed");
        for (;;) {
          void* reply = nullptr;
          if (redisReaderGetReply(self->reader_, &reply) != REDIS_OK)
            return self->fail("malformed reply");
          if (reply == nullptr)
            break;
          self->on_reply(static_cast<redisReply*>(reply));
          if (self->closed_)
            return;
        }
        self->read();
      });
}

void RespClient::on_reply(redisReply* reply) {
  std::unique_ptr<redisReply, void (*)(void*)> owned(reply, freeReplyObject);
  if (!callbacks_.empty()) {
    Callback callback = std::move(callbacks_.front());
    callbacks_.pop_front();
    if (callback)
      callback(reply);
    return;
  }
  if (on_push_)
    on_push_(*reply);
}

void RespClient::fail(const std::string& reason) {
  if (closed_)
    return;
  auto down = std::move(on_down_);
  close();
  if (down)
    down(reason);
}

void RespClient::close() {
  if (closed_)
    return;
  closed_ = true;
  ready_ = false;
  boost::system::error_code ignored;
  connect_timer_.cancel();
  resolver_.cancel();
  socket_.shutdown(tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
  auto callbacks = std::move(callbacks_);
  callbacks_.clear();
  for (auto& callback : callbacks)
    if (callback)
      callback(nullptr);
  on_ready_ = nullptr;
  on_down_ = nullptr;
  on_push_ = nullptr;
}

}  // namespace wps::redis
