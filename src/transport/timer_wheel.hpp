#pragma once
// One timer per event loop for all of its connections: a hashed timing wheel. A connection arms
// a deadline (keep-alive, the close handshake's end) by linking itself into the wheel's slot for
// that time instead of owning an Asio timer, whose pending wait costs ~280 bytes per connection
// and a trip through the reactor's timer queue. Each entry costs the wheel one shared_ptr in a
// vector.
//
// Time is cut in ticks of a fixed length; a deadline goes into the slot of the first tick at or
// after it (slot = tick modulo the number of slots). One Asio timer wakes the wheel at the next
// tick whose slot holds an entry; it then fires the entries of every tick that passed whose
// deadline has come, and leaves those of later rounds of the wheel in place. A deadline fires up
// to one tick late, never early. An idle loop without deadlines does not wake at all.
//
// While armed, the wheel holds its entry alive (as a pending Asio wait holds its handler). One
// wheel per io_context (an Asio service), touched only on the thread that runs that io_context:
// every event loop of the server is run by one thread (EventLoops).

#include <boost/asio/execution_context.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

namespace wps::transport {

class TimerWheel final : public boost::asio::execution_context::service {
 public:
  using Clock = std::chrono::steady_clock;
  using key_type = TimerWheel;
  static boost::asio::execution_context::id id;  // NOLINT: Asio finds services by this member

  // What a wheel times: a base of the timed object.
  class Entry {
   public:
    Entry() = default;
    virtual ~Entry() = default;
    Entry(const Entry&) = delete;
    Entry& operator=(const Entry&) = delete;
    bool armed() const { return slot_ != kNone; }
    Clock::time_point deadline() const { return deadline_; }

   protected:
    // The deadline came (on the loop's thread; the entry is disarmed first, so it may re-arm).
    virtual void on_deadline() = 0;
    // The owner that keeps the entry alive while it is armed.
    virtual std::shared_ptr<Entry> entry_owner() = 0;

   private:
    friend class TimerWheel;
    Clock::time_point deadline_{};
    std::uint32_t slot_ = kNone;  // kNone: not armed; kFiring: in the slot being fired
    std::uint32_t index_ = 0;     // its place in the slot
  };

  explicit TimerWheel(boost::asio::io_context& loop);

  // The tick, once, before the first arm (later calls change nothing): deadlines fire up to one
  // tick late.
  void configure(Clock::duration tick);
  Clock::duration tick() const { return tick_; }

  // Arms (or moves) `entry`'s deadline to `at`.
  void arm(Entry& entry, Clock::time_point at);
  // Disarms `entry` (nothing happens if it is not armed). Returns the reference the wheel held
  // (null if none): the entry may live on it alone, so let it go once done with the entry.
  [[nodiscard]] std::shared_ptr<Entry> cancel(Entry& entry);
  // Armed entries.
  std::size_t size() const { return count_; }

 private:
  static constexpr std::uint32_t kSlots = 256;
  static constexpr std::uint32_t kNone = 0xffff'ffffU;
  static constexpr std::uint32_t kFiring = 0xffff'fffeU;
  using Slot = std::vector<std::shared_ptr<Entry>>;

  std::int64_t tick_of(Clock::time_point at) const;  // the first tick at or after `at`
  Clock::time_point time_of(std::int64_t tick) const { return Clock::time_point(tick * tick_); }
  void insert(std::shared_ptr<Entry> entry, Clock::time_point at);
  // Appends `entry` to `slot`, recording where it is.
  void place(std::shared_ptr<Entry> entry, std::uint32_t slot);
  // Takes `entry` out of its slot; returns what held it.
  std::shared_ptr<Entry> unlink(Entry& entry);
  void wake_at(std::int64_t tick);
  void on_wake();
  void fire(std::uint32_t slot, Clock::time_point now);
  void shutdown() override;

  boost::asio::steady_timer timer_;
  Clock::duration tick_{std::chrono::milliseconds(100)};
  bool configured_ = false;
  bool shut_down_ = false;
  std::int64_t done_tick_;      // the ticks up to this one are fired
  std::int64_t wake_tick_ = 0;  // the tick the timer waits for (valid while waiting_)
  bool waiting_ = false;        // the timer waits
  std::size_t count_ = 0;       // armed entries
  std::vector<Slot> slots_;     // kSlots
  Slot firing_;                 // the slot being fired (reused)
};

}  // namespace wps::transport
