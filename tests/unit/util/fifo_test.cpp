// util::Fifo: order, both ends, and that an emptied queue gives its memory back.

#include "util/fifo.hpp"

#include <gtest/gtest.h>

#include <deque>
#include <memory>
#include <random>

namespace wps::util {
namespace {

TEST(Fifo, BehavesLikeADeque) {
  Fifo<int> fifo;
  std::deque<int> model;
  std::mt19937 rng(7);
  for (int step = 0; step < 20000; ++step) {
    const auto op = rng() % 10;
    if (op < 5 || model.empty()) {
      fifo.push_back(step);
      model.push_back(step);
    } else if (op < 9) {
      ASSERT_EQ(fifo.front(), model.front());
      fifo.pop_front();
      model.pop_front();
    } else {
      ASSERT_EQ(fifo.back(), model.back());
      fifo.pop_back();
      model.pop_back();
    }
    ASSERT_EQ(fifo.size(), model.size());
    ASSERT_EQ(fifo.empty(), model.empty());
    if (!model.empty()) {
      ASSERT_EQ(fifo[model.size() / 2], model[model.size() / 2]);
      ASSERT_EQ(fifo.front(), model.front());
      ASSERT_EQ(fifo.back(), model.back());
    }
  }
}

TEST(Fifo, PoppedElementsAreReleasedAtOnce) {
  Fifo<std::shared_ptr<int>> fifo;
  auto first = std::make_shared<int>(1);
  fifo.push_back(first);
  fifo.push_back(std::make_shared<int>(2));
  EXPECT_EQ(first.use_count(), 2);
  fifo.pop_front();
  EXPECT_EQ(first.use_count(), 1);
  EXPECT_EQ(*fifo.front(), 2);
  fifo.clear();
  EXPECT_TRUE(fifo.empty());
}

}  // namespace
}  // namespace wps::util
