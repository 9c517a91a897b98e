#pragma once
// RespClient: one connection to a Redis server on an Asio strand. Commands are written as RESP
// (pipelined: everything queued while a write is in flight goes out in the next write), replies
// are parsed with hiredis's reader and matched to their callbacks in order. Replies with no
// waiting callback (pub/sub pushes once the connection has subscribed) go to the push handler.
// Every member must be called on the strand. A failed connection reports once, through
// on_down, and fails the callbacks still waiting (with a null reply); reconnecting is the
// owner's business (a new RespClient).

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/checks.hpp"

struct redisReader;
struct redisReply;

namespace wps::redis {

using Strand = boost::asio::strand<boost::asio::io_context::executor_type>;

using Url = config::RedisUrl;

// RESP encoding of one command (an array of bulk strings).
void append_command(std::string& out, const std::vector<std::string_view>& args);

class RespClient final : public std::enable_shared_from_this<RespClient> {
 public:
  using Callback = std::function<void(const redisReply*)>;  // null: the connection failed
  using PushHandler = std::function<void(const redisReply&)>;

  RespClient(Strand strand, Url url, std::chrono::milliseconds connect_timeout);
  ~RespClient();
  RespClient(const RespClient&) = delete;
  RespClient& operator=(const RespClient&) = delete;

  // Connects (and selects the database); `on_ready` once it can take commands, `on_down` once
  // when it fails (before or after being ready) with a reason.
  void start(std::function<void()> on_ready, std::function<void(std::string)> on_down,
             PushHandler on_push);
  // Queues a command; `callback` may be empty.
  void command(const std::vector<std::string_view>& args, Callback callback = {});
  // Queues a command whose reply arrives as a push (SUBSCRIBE, UNSUBSCRIBE on a subscriber).
  void send(const std::vector<std::string_view>& args);
  bool ready() const { return ready_; }
  // Closes without calling on_down.
  void close();

 private:
  void fail(const std::string& reason);
  void flush();
  void read();
  void on_reply(redisReply* reply);

  Strand strand_;
  Url url_;
  std::chrono::milliseconds connect_timeout_;
  boost::asio::ip::tcp::resolver resolver_;
  boost::asio::ip::tcp::socket socket_;
  boost::asio::steady_timer connect_timer_;
  redisReader* reader_ = nullptr;
  std::function<void()> on_ready_;
  std::function<void(std::string)> on_down_;
  PushHandler on_push_;
  std::deque<Callback> callbacks_;
  std::string pending_;  // queued, not yet written
  std::string writing_;  // in flight
  std::vector<char> read_buffer_;
  bool connected_ = false;
  bool ready_ = false;
  bool closed_ = false;
};

}  // namespace wps::redis
