#pragma once
// WriteGate<Inner>: the stream layer between Beast's websocket::stream and the socket (a
// tcp_stream, or a TLS stream over one) through which a session writes its own, pre-framed
// WebSocket frames -- several queued messages in one gather write -- while Beast keeps writing
// what it writes itself: the 101 response, pings, pongs and close frames.
//
// Beast serialises only its own writes; a frame the session wrote directly on the socket could
// land in the middle of a pong Beast is writing, or the other way round. So every write, Beast's
// and the session's, goes through this gate: one write is in flight at a time and each is
// written completely (asio::async_write) before the next one starts. Beast has at most one
// write outstanding and the session at most one batch, so at most one write waits. Reads pass
// straight through.
//
// Like the stream it wraps, it is used from one strand only.

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/role.hpp>
#include <boost/beast/websocket/teardown.hpp>
#include <cstddef>
#include <list>
#include <optional>
#include <utility>
#include <vector>

namespace wps::transport {

template <class Inner>
class WriteGate {
 public:
  using next_layer_type = Inner;
  using executor_type = typename Inner::executor_type;
  using WriteSignature = void(boost::beast::error_code, std::size_t);

  template <class... Args>
  explicit WriteGate(Args&&... args) : inner_(std::forward<Args>(args)...) {}
  WriteGate(const WriteGate&) = delete;
  WriteGate& operator=(const WriteGate&) = delete;

  executor_type get_executor() noexcept { return inner_.get_executor(); }
  Inner& next_layer() noexcept { return inner_; }
  const Inner& next_layer() const noexcept { return inner_; }

  template <class MutableBufferSequence, class ReadToken>
  auto async_read_some(const MutableBufferSequence& buffers, ReadToken&& token) {
    return inner_.async_read_some(buffers, std::forward<ReadToken>(token));
  }

  // Beast's writes. Completes with every byte written (allowed for write_some), after any
  // write already in progress.
  template <class ConstBufferSequence, class WriteToken>
  auto async_write_some(const ConstBufferSequence& buffers, WriteToken&& token) {
    return boost::asio::async_initiate<WriteToken, WriteSignature>(
        [this](auto handler, const ConstBufferSequence& b) {
          std::vector<boost::asio::const_buffer> copy;
          for (auto it = boost::asio::buffer_sequence_begin(b);
               it != boost::asio::buffer_sequence_end(b); ++it)
            copy.emplace_back(*it);
          submit(Job{std::move(copy), std::move(handler)});
        },
        token, buffers);
  }

  // The session's writes: `buffers` (whole frames) are written completely and in order with
  // Beast's writes. The memory they point to must stay valid until `handler` runs; the vector
  // itself is taken.
  template <class WriteToken>
  auto async_write_frames(std::vector<boost::asio::const_buffer> buffers, WriteToken&& token) {
    return boost::asio::async_initiate<WriteToken, WriteSignature>(
        [this](auto handler, std::vector<boost::asio::const_buffer>&& b) {
          submit(Job{std::move(b), std::move(handler)});
        },
        token, std::move(buffers));
  }

 private:
  struct Job {
    std::vector<boost::asio::const_buffer> buffers;
    boost::asio::any_completion_handler<WriteSignature> handler;
  };

  void submit(Job&& job) {
    if (active_) {
      // Beast and the session each have at most one write outstanding.
      waiting_.push_back(std::move(job));
      return;
    }
    start(std::move(job));
  }

  void start(Job&& job) {
    // Constructed, never assigned: Boost 1.81's any_completion_handler move assignment copies
    // itself into itself without end.
    active_.emplace(std::move(job));
    boost::asio::async_write(inner_, active_->buffers,
                             [this](boost::beast::error_code ec, std::size_t bytes) {
                               Job done = std::move(*active_);
                               active_.reset();
                               if (!waiting_.empty()) {
                                 Job next = std::move(waiting_.front());
                                 waiting_.pop_front();
                                 start(std::move(next));
                               }
                               std::move(done.handler)(ec, bytes);
                             });
  }

  Inner inner_;
  std::optional<Job> active_;
  // At most one in practice. A list: it allocates nothing while empty (idle connections), and
  // never copies a Job (any_completion_handler is move-only in spirit but not in its type).
  std::list<Job> waiting_;
};

// Beast closes a websocket::stream by tearing down its next layer: forward to the wrapped
// stream's teardown (TCP shutdown, or the TLS close_notify then TCP).
template <class Inner>
void teardown(boost::beast::role_type role, WriteGate<Inner>& gate, boost::beast::error_code& ec) {
  using boost::beast::websocket::teardown;
  teardown(role, gate.next_layer(), ec);
}

template <class Inner, class TeardownHandler>
void async_teardown(boost::beast::role_type role, WriteGate<Inner>& gate,
                    TeardownHandler&& handler) {
  using boost::beast::websocket::async_teardown;
  async_teardown(role, gate.next_layer(), std::forward<TeardownHandler>(handler));
}

}  // namespace wps::transport
