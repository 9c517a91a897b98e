#pragma once
// Everything waiting to be written to one WebSocket connection, in the order RFC 6455 and the
// protocols need: the 101 response first (once), a pong answering the latest ping or a
// keep-alive ping, the data frames in order, and the close frame after the last of them. No I/O:
// the connection asks for the next gather write (collect) and reports it written.
//
// Data frames arrive from any thread (push) into a small inbox under a short mutex; the
// connection's executor moves them into the queue (drain), which it alone touches. Frames sent
// on the connection's own event-loop thread skip the inbox and its mutex (push_local): that is
// every delivery of a single-threaded server. A queue that
// would hold more than its limits (Limits::max_pending_messages / max_pending_bytes, plus a
// reliable session's replay allowance) means a slow consumer. At most one pong waits and one is
// in flight, so a client that floods pings without reading cannot grow the server. Control
// frames are allocated only while needed: an idle connection holds none of this but the empty
// queue.

#include <atomic>
#include <boost/asio/buffer.hpp>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/frame.hpp"
#include "util/fifo.hpp"

namespace wps::transport {

using protocol::SharedFrame;

class Outbound {
 public:
  Outbound(std::size_t max_messages, std::size_t max_bytes)
      : max_messages_(max_messages), max_bytes_(max_bytes) {}
  Outbound(const Outbound&) = delete;
  Outbound& operator=(const Outbound&) = delete;
  ~Outbound() { delete inbox_.load(std::memory_order_acquire); }

  // Any thread. True when the inbox was empty: the caller schedules one drain() for however
  // many frames arrive before it runs (a burst of publishes costs one post per connection).
  bool push(SharedFrame frame);

  // ---- the connection's executor only ---------------------------------------------------
  // Moves the inbox into the queue. False when that passes a limit (a slow consumer): the queue
  // keeps what it had. Takes no lock when nothing was pushed from another thread.
  bool drain();
  // A data frame sent on the connection's executor: queued at once, behind what the inbox
  // holds (so frames keep the order in which they were sent, whatever thread sent them). False
  // when it does not fit the limits (a slow consumer; the frame is not queued); a sealed queue
  // drops it.
  bool push_local(SharedFrame frame);
  // Appends a data frame past the limits (the farewell of a closing connection).
  void append(SharedFrame frame);
  // Takes no more data frames (a closing connection sends nothing new).
  void seal() { sealed_ = true; }
  // seal(), and drops the queued frames that are not in the write in flight.
  void drop_unsent();

  void set_upgrade_response(std::string response);
  // A ping arrived: answer it (only the latest one waiting is answered).
  void answer_ping(std::string_view payload);
  // A keep-alive ping is to be written (unless our close frame is out).
  void request_ping() { ping_requested_ = true; }
  // The close frame, written once every data frame queued before it is out.
  void set_close_frame(std::string frame);

  // Adds the next write to `buffers` (the 101, a pong or ping, data frames from the head: at
  // most `max_frames` and, past the first, `max_bytes` bytes, and the close frame once no data
  // frame is left behind). Frames whose TTL passed (REST messageTtlSeconds) are dropped at the
  // head; one further on ends the batch. What it added is in flight until written().
  void collect(std::vector<boost::asio::const_buffer>& buffers, std::size_t max_frames,
               std::size_t max_bytes);
  // The write in flight is done. True when it carried the close frame.
  bool written();

  bool close_sent() const { return close_ == Close::sent; }
  std::size_t size() const { return queue_.size(); }
  std::size_t bytes() const { return bytes_; }

 private:
  void drop_expired();
  void release_control();

  const std::size_t max_messages_;
  const std::size_t max_bytes_;
  // What other threads push, until the connection's executor drains it. Allocated by the first
  // push from another thread (a server whose loops deliver on their own threads never does) and
  // kept as long as the Outbound: an idle connection holds a pointer, not a mutex and a vector.
  struct Inbox {
    std::mutex mutex;  // a leaf lock: nothing else is done under it
    std::vector<SharedFrame> frames;
  };
  Inbox& inbox();
  std::atomic<Inbox*> inbox_{nullptr};
  // Whether the inbox may hold frames: set under its mutex by push, read without it by drain.
  std::atomic<bool> inbox_pending_{false};
  util::Fifo<SharedFrame> queue_;
  std::size_t bytes_ = 0;
  std::size_t in_flight_ = 0;  // frames at the front of queue_ in the write in flight
  bool sealed_ = false;
  bool ping_requested_ = false;
  // Our close frame: none yet, waiting behind data, in the write in flight, written.
  enum class Close : std::uint8_t { none, queued, in_flight, sent };
  Close close_ = Close::none;
  struct Control {
    std::string upgrade_response;
    bool upgrade_in_flight = false;
    std::optional<std::string> pong;  // the payload of the latest ping not answered yet
    std::string pong_in_flight;
    std::string close_frame;
  };
  Control& control();
  std::unique_ptr<Control> control_;
};

}  // namespace wps::transport
