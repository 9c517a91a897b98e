#pragma once
// One event loop per thread. Each loop is an io_context run by exactly one thread (concurrency
// hint 1); a connection is handed to one loop when it is accepted (round robin) and lives there
// until it ends, so its callbacks need no strand and sends made on its loop are corked
// (WebSocketConnection). The core reaches the loops only through core::Loops: the hub posts a
// publication once to each loop that has recipients. With one loop the server runs as it did
// with one io_context on one thread.

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <cstddef>
#include <functional>
#include <memory>
#include <vector>

#include "core/loops.hpp"

namespace wps::transport {

class EventLoops final : public core::Loops {
 public:
  // `count` loops (at least one).
  explicit EventLoops(unsigned count);
  ~EventLoops() override;
  EventLoops(const EventLoops&) = delete;
  EventLoops& operator=(const EventLoops&) = delete;

  std::size_t size() const { return loops_.size(); }
  boost::asio::io_context& loop(std::size_t index) { return loops_[index]->ioc; }
  // The loop the next accepted connection goes to: round robin. Thread-safe.
  boost::asio::io_context& next();

  // core::Loops
  void post(core::LoopIndex loop, std::function<void()> work) override;

  // Runs every loop, loop 0 on the calling thread and each other one on a thread of its own
  // (each marked with core::ThisLoop), until stop(); then joins the threads.
  void run();
  // Makes every loop return from run() (thread-safe). What was posted and not run yet is
  // dropped when the loops are destroyed.
  void stop();

 private:
  struct Loop {
    Loop() : ioc(1), guard(ioc.get_executor()) {}
    boost::asio::io_context ioc;
    // Keeps a loop without connections running until stop().
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard;
  };
  std::vector<std::unique_ptr<Loop>> loops_;
  std::atomic<std::size_t> next_{0};
};

}  // namespace wps::transport
