// TimerWheel: one Asio timer per loop for every connection's deadline. Deadlines fire on the
// loop's thread, never early and at most one tick late; re-arming moves them, cancelling drops
// them, and entries may arm or cancel each other (their own slot's too) while the wheel fires.
// The wheel holds its entries alive while they are armed.

#include "transport/timer_wheel.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <utility>
#include <vector>

namespace wps::transport {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

class Timed final : public TimerWheel::Entry, public std::enable_shared_from_this<Timed> {
 public:
  explicit Timed(std::vector<Clock::time_point>& log) : log_(log) {}
  std::function<void()> hook;  // runs when the deadline fires
  int fired = 0;

 private:
  void on_deadline() override {
    ++fired;
    log_.push_back(Clock::now());
    if (hook)
      hook();
  }
  std::shared_ptr<TimerWheel::Entry> entry_owner() override { return shared_from_this(); }
  std::vector<Clock::time_point>& log_;
};

class TimerWheelTest : public ::testing::Test {
 protected:
  TimerWheelTest() : wheel(asio::use_service<TimerWheel>(ioc)) { wheel.configure(10ms); }

  std::shared_ptr<Timed> make() { return std::make_shared<Timed>(log); }
  // Runs the loop until `done` or `limit`.
  void run_until(const std::function<bool()>& done, Clock::duration limit = 3s) {
    const auto start = Clock::now();
    ioc.restart();
    while (!done() && Clock::now() - start < limit)
      ioc.run_one_for(5ms);
  }

  asio::io_context ioc{1};
  TimerWheel& wheel;
  std::vector<Clock::time_point> log;
};

TEST_F(TimerWheelTest, ADeadlineFiresNotBeforeItsTimeAndAtMostATickLate) {
  auto a = make();
  const auto at = Clock::now() + 55ms;
  wheel.arm(*a, at);
  EXPECT_TRUE(a->armed());
  EXPECT_EQ(wheel.size(), 1u);
  run_until([&] { return a->fired > 0; });
  ASSERT_EQ(a->fired, 1);
  EXPECT_GE(log[0], at);
  // One tick (10 ms) plus the scheduling slack of a busy test machine.
  EXPECT_LT(log[0] - at, 10ms + 40ms);
  EXPECT_FALSE(a->armed());
  EXPECT_EQ(wheel.size(), 0u);
}

TEST_F(TimerWheelTest, ADeadlineAlreadyPastFiresAtTheNextTick) {
  auto a = make();
  run_until([] { return false; }, 30ms);  // the wheel has seen ticks go by
  const auto start = Clock::now();
  wheel.arm(*a, start - 1s);
  run_until([&] { return a->fired > 0; });
  ASSERT_EQ(a->fired, 1);
  EXPECT_LT(log[0] - start, 10ms + 40ms);
}

TEST_F(TimerWheelTest, DeadlinesFireInTheirOrderWhateverTheOrderTheyWereArmedIn) {
  auto late = make();
  auto early = make();
  std::vector<int> order;
  late->hook = [&] { order.push_back(2); };
  early->hook = [&] { order.push_back(1); };
  wheel.arm(*late, Clock::now() + 80ms);
  wheel.arm(*early, Clock::now() + 20ms);  // earlier than what the timer waits for
  run_until([&] { return order.size() == 2; });
  EXPECT_EQ(order, (std::vector<int>{1, 2}));
}

TEST_F(TimerWheelTest, ReArmingMovesTheDeadlineAndCancellingDropsIt) {
  auto moved = make();
  auto cancelled = make();
  auto witness = make();
  wheel.arm(*moved, Clock::now() + 20ms);
  wheel.arm(*cancelled, Clock::now() + 20ms);
  const auto later = Clock::now() + 120ms;
  wheel.arm(*moved, later);
  { auto held = wheel.cancel(*cancelled); }
  EXPECT_FALSE(cancelled->armed());
  wheel.arm(*witness, Clock::now() + 60ms);
  EXPECT_EQ(wheel.size(), 2u);
  run_until([&] { return witness->fired > 0; });
  EXPECT_EQ(moved->fired, 0);  // its first deadline is gone
  run_until([&] { return moved->fired > 0; });
  EXPECT_EQ(moved->fired, 1);
  EXPECT_GE(log.back(), later);
  EXPECT_EQ(cancelled->fired, 0);
}

TEST_F(TimerWheelTest, ADeadlineBeyondOneRoundOfTheWheelWaitsForItsRound) {
  // 256 slots of 1 ms: a deadline 400 ms away shares its slot with one 144 ms away.
  asio::io_context loop{1};
  auto& coarse = asio::use_service<TimerWheel>(loop);
  coarse.configure(1ms);
  auto near = make();
  auto far = make();
  const auto start = Clock::now();
  coarse.arm(*near, start + 144ms);
  coarse.arm(*far, start + 400ms);
  loop.run_for(300ms);
  EXPECT_EQ(near->fired, 1);
  EXPECT_EQ(far->fired, 0);
  loop.restart();
  const auto until = Clock::now() + 2s;
  while (far->fired == 0 && Clock::now() < until)
    loop.run_one_for(5ms);
  EXPECT_EQ(far->fired, 1);
  EXPECT_GE(log.back(), start + 400ms);
}

TEST_F(TimerWheelTest, AnEntryFiringMayReArmItselfAndCancelOrReArmOthersOfItsSlot) {
  auto first = make();
  auto second = make();
  auto third = make();
  // All three share one tick and fire in the order they were armed: the first, when it fires,
  // cancels the second, moves the third 50 ms away and re-arms itself 30 ms away.
  bool once = false;
  first->hook = [&] {
    if (std::exchange(once, true))
      return;
    { auto held = wheel.cancel(*second); }
    wheel.arm(*third, Clock::now() + 50ms);
    wheel.arm(*first, Clock::now() + 30ms);
  };
  const auto at = Clock::now() + 20ms;
  wheel.arm(*first, at);
  wheel.arm(*second, at);
  wheel.arm(*third, at);
  run_until([&] { return first->fired == 2 && third->fired == 1; });
  run_until([] { return false; }, 100ms);  // nothing else fires
  EXPECT_EQ(first->fired, 2);
  EXPECT_EQ(second->fired, 0);
  EXPECT_EQ(third->fired, 1);
  EXPECT_EQ(wheel.size(), 0u);
  EXPECT_FALSE(third->armed());
}

TEST_F(TimerWheelTest, TheWheelKeepsAnArmedEntryAliveAndLetsGoOfItWhenItFires) {
  std::weak_ptr<Timed> watch;
  {
    auto a = make();
    watch = a;
    wheel.arm(*a, Clock::now() + 20ms);
  }
  EXPECT_FALSE(watch.expired());
  run_until([&] { return watch.expired(); });
  EXPECT_TRUE(watch.expired());
  EXPECT_EQ(log.size(), 1u);
}

TEST_F(TimerWheelTest, CancelHandsBackTheLastReference) {
  std::weak_ptr<Timed> watch;
  Timed* raw = nullptr;
  {
    auto a = make();
    watch = a;
    raw = a.get();
    wheel.arm(*a, Clock::now() + 1h);
  }
  auto held = wheel.cancel(*raw);
  EXPECT_FALSE(watch.expired());
  held.reset();
  EXPECT_TRUE(watch.expired());
  EXPECT_EQ(wheel.size(), 0u);
}

TEST_F(TimerWheelTest, AnIdleWheelDoesNotWakeItsLoop) {
  auto a = make();
  wheel.arm(*a, Clock::now() + 20ms);
  run_until([&] { return a->fired > 0; });
  // Nothing armed: the loop has no work left (no handler runs, run_for returns at once).
  ioc.restart();
  EXPECT_EQ(ioc.run_for(200ms), 0u);
}

TEST_F(TimerWheelTest, ShuttingTheLoopDownDropsWhatIsArmed) {
  std::weak_ptr<Timed> watch;
  {
    auto loop = std::make_unique<asio::io_context>(1);
    auto& w = asio::use_service<TimerWheel>(*loop);
    auto a = make();
    watch = a;
    w.arm(*a, Clock::now() + 1h);
    a.reset();
    EXPECT_FALSE(watch.expired());
  }
  EXPECT_TRUE(watch.expired());
}

}  // namespace
}  // namespace wps::transport
