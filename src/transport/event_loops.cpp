#include "transport/event_loops.hpp"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <thread>

namespace wps::transport {

namespace net = boost::asio;

EventLoops::EventLoops(unsigned count) {
  loops_.reserve(std::max(1u, count));
  for (unsigned i = 0; i < std::max(1u, count); ++i)
    loops_.push_back(std::make_unique<Loop>());
}

EventLoops::~EventLoops() = default;

net::io_context& EventLoops::next() {
  return loops_[next_.fetch_add(1, std::memory_order_relaxed) % loops_.size()]->ioc;
}

void EventLoops::post(core::LoopIndex loop, std::function<void()> work) {
  net::post(loops_[loop]->ioc, std::move(work));
}

void EventLoops::run() {
  std::vector<std::thread> threads;
  threads.reserve(loops_.size() - 1);
  for (std::size_t i = 1; i < loops_.size(); ++i)
    threads.emplace_back([this, i] {
      const core::ThisLoop mark(static_cast<core::LoopIndex>(i));
      loops_[i]->ioc.run();
    });
  {
    const core::ThisLoop mark(0);
    loops_[0]->ioc.run();
  }
  for (auto& thread : threads)
    thread.join();
}

void EventLoops::stop() {
  for (auto& loop : loops_)
    loop->ioc.stop();
}

}  // namespace wps::transport
