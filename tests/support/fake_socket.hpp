#pragma once
// A handler::Socket in memory, for unit tests of the client-protocol handlers. The test plays
// the client and the transport (open, messages, the client's close frame, a drop); the socket
// records what the handler does with it: the frames it sends, the close it asks for (calling the
// handler's on_closing as the real connection does and keeping the farewell frame it returns),
// pause and resume. It follows transport::WebSocketConnection's rules: handler calls run on its
// executor, messages wait while paused, a close from the executor happens at once and one from
// elsewhere is posted, frames sent once closing are dropped, on_closed comes once, last.
//
// Its executor is an io_context the test owns: run it (poll) to let posted work run (answers of
// event handlers, closes from other threads) and timers fire.

#include <gtest/gtest.h>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "handler/handler.hpp"

namespace wps::test {

class FakeSocket final : public handler::Socket, public std::enable_shared_from_this<FakeSocket> {
 public:
  struct Close {
    std::uint16_t code = 0;
    std::string reason;
  };

  static std::shared_ptr<FakeSocket> create(boost::asio::io_context& ioc,
                                            std::shared_ptr<handler::Handler> handler) {
    return std::shared_ptr<FakeSocket>(new FakeSocket(ioc, std::move(handler)));
  }

  // ---- the test plays the client and the transport --------------------------------------
  // Each runs on the executor (as the real connection calls its handler) and then lets what is
  // ready on the io_context run.

  // The upgrade is answered: Handler::on_open.
  void open() {
    on_executor([this] { handler_->on_open(shared_from_this()); });
  }
  // A whole message from the client; it waits while the socket is paused.
  void receive(std::string data, bool binary) {
    on_executor([this, data = std::move(data), binary]() mutable {
      held_.push_back({binary, std::move(data)});
      pump();
    });
  }
  void receive_text(std::string data) { receive(std::move(data), false); }
  void receive_binary(std::string data) { receive(std::move(data), true); }
  // The client's close frame: it ends the socket (not recoverable) without on_closing; after a
  // server close it completes the close handshake.
  void client_close() {
    on_executor([this] { finish(false); });
  }
  // The TCP connection is gone without a close handshake: recoverable while open (a close the
  // server started that the client never answered is not).
  void drop() {
    on_executor([this] { finish(state() == State::open); });
  }

  // ---- handler::Socket ------------------------------------------------------------------
  void send(handler::SharedFrame frame) override {
    std::lock_guard lock(mutex_);
    if (state_ == State::open && frame)
      sent_.push_back(std::move(frame));
  }
  void close(std::uint16_t code, std::string reason) override {
    {
      std::lock_guard lock(mutex_);
      ++close_calls_;
    }
    boost::asio::dispatch(ioc_,
                          [self = shared_from_this(), code, reason = std::move(reason)]() mutable {
                            self->begin_close(code, std::move(reason));
                          });
  }
  void pause() override {
    expect_on_executor("pause");
    paused_ = true;
  }
  void resume() override {
    expect_on_executor("resume");
    paused_ = false;
    pump();
  }
  boost::asio::any_io_executor executor() const override { return ioc_.get_executor(); }

  // ---- what it recorded -----------------------------------------------------------------
  // The frames sent while open, in order (the farewell is not among them).
  std::vector<handler::SharedFrame> sent() const {
    std::lock_guard lock(mutex_);
    return sent_;
  }
  void clear_sent() {
    std::lock_guard lock(mutex_);
    sent_.clear();
  }
  // What on_closing returned when the server closed the socket (null: none, or not closed).
  handler::SharedFrame farewell() const {
    std::lock_guard lock(mutex_);
    return farewell_;
  }
  // The close frame's code and reason, once the server closed the socket.
  std::optional<Close> closed_with() const {
    std::lock_guard lock(mutex_);
    return close_;
  }
  // close() calls, effective or not (the socket is idempotent).
  int close_calls() const {
    std::lock_guard lock(mutex_);
    return close_calls_;
  }
  int on_closing_calls() const { return on_closing_calls_; }
  // What on_closed was told, once it was called.
  std::optional<bool> closed_recoverable() const { return closed_recoverable_; }
  bool finished() const { return state() == State::closed; }
  bool paused() const { return paused_; }
  // Messages received and not handed to the handler yet (paused).
  std::size_t held() const { return held_.size(); }

 private:
  enum class State { open, closing, closed };
  struct Held {
    bool binary;
    std::string data;
  };

  FakeSocket(boost::asio::io_context& ioc, std::shared_ptr<handler::Handler> handler)
      : ioc_(ioc), handler_(std::move(handler)) {}

  State state() const {
    std::lock_guard lock(mutex_);
    return state_;
  }

  void on_executor(std::function<void()> f) {
    boost::asio::post(ioc_, [self = shared_from_this(), f = std::move(f)] { f(); });
    ioc_.restart();
    ioc_.poll();
  }

  void expect_on_executor(const char* what) const {
    if (!ioc_.get_executor().running_in_this_thread())
      ADD_FAILURE() << "Socket::" << what << " called off the socket's executor";
  }

  // Hands the held messages to the handler, in order, unless paused; a closing socket drops
  // them (as the connection does while it waits for the client's close frame).
  void pump() {
    if (feeding_)
      return;
    feeding_ = true;
    while (!held_.empty() && !paused_) {
      if (state() != State::open) {
        held_.clear();
        break;
      }
      Held message = std::move(held_.front());
      held_.pop_front();
      handler_->on_message(*this, message.binary, message.data);
    }
    feeding_ = false;
  }

  void begin_close(std::uint16_t code, std::string reason) {
    {
      std::lock_guard lock(mutex_);
      if (state_ != State::open)
        return;
      state_ = State::closing;  // frames sent from now on are dropped
    }
    ++on_closing_calls_;
    handler::SharedFrame farewell = handler_->on_closing(*this, reason);
    std::lock_guard lock(mutex_);
    farewell_ = std::move(farewell);
    close_ = Close{code, std::move(reason)};
  }

  void finish(bool recoverable) {
    {
      std::lock_guard lock(mutex_);
      if (state_ == State::closed)
        return;
      state_ = State::closed;
    }
    held_.clear();
    closed_recoverable_ = recoverable;
    // Released once closed, as the connection does (the handler holds this socket too).
    if (auto handler = std::move(handler_))
      handler->on_closed(*this, recoverable);
  }

  boost::asio::io_context& ioc_;
  std::shared_ptr<handler::Handler> handler_;

  mutable std::mutex mutex_;  // guards what other threads may touch: state, sent, close
  State state_ = State::open;
  std::vector<handler::SharedFrame> sent_;
  handler::SharedFrame farewell_;
  std::optional<Close> close_;
  int close_calls_ = 0;

  // The executor's only.
  std::deque<Held> held_;
  bool paused_ = false;
  bool feeding_ = false;
  int on_closing_calls_ = 0;
  std::optional<bool> closed_recoverable_;
};

}  // namespace wps::test
