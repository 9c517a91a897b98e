// transport::EventLoops: one io_context per thread, each marked with its core::LoopIndex, posts
// run on the loop they name, accepted connections spread round robin.

#include "transport/event_loops.hpp"

#include <gtest/gtest.h>

#include <boost/asio/post.hpp>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

namespace wps::transport {
namespace {

TEST(EventLoops, AtLeastOneLoop) {
  EXPECT_EQ(EventLoops(0).size(), 1u);
  EXPECT_EQ(EventLoops(3).size(), 3u);
}

TEST(EventLoops, NextGoesRoundRobin) {
  EventLoops loops(3);
  std::vector<boost::asio::io_context*> seen;
  for (int i = 0; i < 6; ++i)
    seen.push_back(&loops.next());
  for (std::size_t i = 0; i < 6; ++i)
    EXPECT_EQ(seen[i], &loops.loop(i % 3)) << i;
}

TEST(EventLoops, EachLoopRunsOnAThreadOfItsOwnMarkedWithItsIndex) {
  constexpr unsigned kLoops = 3;
  EventLoops loops(kLoops);
  std::mutex mutex;
  std::vector<core::LoopIndex> ran_on(kLoops, core::kNoLoop);
  std::vector<bool> running_in_loop(kLoops, false);
  std::set<std::thread::id> threads;
  unsigned done = 0;
  for (core::LoopIndex i = 0; i < kLoops; ++i)
    loops.post(i, [&, i] {
      std::lock_guard lock(mutex);
      ran_on[i] = core::this_loop();
      running_in_loop[i] = loops.loop(i).get_executor().running_in_this_thread();
      threads.insert(std::this_thread::get_id());
      if (++done == kLoops)
        loops.stop();
    });
  // Loops without work keep running until stop(): the posts above are all that arrives.
  loops.run();
  EXPECT_EQ(ran_on, (std::vector<core::LoopIndex>{0, 1, 2}));
  EXPECT_EQ(running_in_loop, (std::vector<bool>{true, true, true}));
  EXPECT_EQ(threads.size(), kLoops);
  EXPECT_EQ(threads.count(std::this_thread::get_id()), 1u);  // loop 0 runs on the caller
  EXPECT_EQ(core::this_loop(), core::kNoLoop);               // and unmarks it afterwards
}

TEST(EventLoops, PostsToOneLoopRunInOrder) {
  EventLoops loops(2);
  std::vector<int> order;
  for (int i = 0; i < 100; ++i)
    loops.post(1, [&order, i] { order.push_back(i); });
  loops.post(1, [&] { loops.stop(); });
  loops.run();
  ASSERT_EQ(order.size(), 100u);
  for (std::size_t i = 0; i < order.size(); ++i)
    EXPECT_EQ(order[i], static_cast<int>(i));
}

}  // namespace
}  // namespace wps::transport
