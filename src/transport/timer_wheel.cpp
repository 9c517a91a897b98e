#include "transport/timer_wheel.hpp"

#include <algorithm>

namespace wps::transport {

namespace asio = boost::asio;

asio::execution_context::id TimerWheel::id;

TimerWheel::TimerWheel(asio::io_context& loop)
    : service(loop), timer_(loop), done_tick_(tick_of(Clock::now())), slots_(kSlots) {}

void TimerWheel::configure(Clock::duration tick) {
  if (configured_ || tick <= Clock::duration::zero())  // arm() configures: count_ is 0 here
    return;
  configured_ = true;
  tick_ = tick;
  done_tick_ = tick_of(Clock::now());
}

std::int64_t TimerWheel::tick_of(Clock::time_point at) const {
  const auto since = at.time_since_epoch().count();
  const auto length = tick_.count();
  // Ceiling division for the clock's non-negative counts (steady_clock starts at boot).
  return since <= 0 ? 0 : (since + length - 1) / length;
}

void TimerWheel::arm(Entry& entry, Clock::time_point at) {
  if (shut_down_)
    return;
  configured_ = true;
  std::shared_ptr<Entry> owner;
  if (entry.slot_ == kNone) {
    owner = entry.entry_owner();
    ++count_;
  } else if (entry.slot_ == kFiring) {
    // Its slot is being fired and still holds it: a second reference, the first one is dropped
    // when the firing loop reaches it.
    owner = entry.entry_owner();
  } else {
    owner = unlink(entry);
  }
  insert(std::move(owner), at);
}

std::shared_ptr<TimerWheel::Entry> TimerWheel::cancel(Entry& entry) {
  if (entry.slot_ == kNone)
    return nullptr;
  --count_;
  if (entry.slot_ == kFiring) {
    entry.slot_ = kNone;  // the firing loop holds it and lets go of it
    return nullptr;
  }
  return unlink(entry);
}

void TimerWheel::insert(std::shared_ptr<Entry> entry, Clock::time_point at) {
  std::int64_t tick = tick_of(at);
  if (tick <= done_tick_)
    tick = done_tick_ + 1;  // its tick passed: the next one fires it
  entry->deadline_ = at;
  place(std::move(entry), static_cast<std::uint32_t>(tick % kSlots));
  wake_at(tick);
}

void TimerWheel::place(std::shared_ptr<Entry> entry, std::uint32_t slot) {
  entry->slot_ = slot;
  entry->index_ = static_cast<std::uint32_t>(slots_[slot].size());
  slots_[slot].push_back(std::move(entry));
}

std::shared_ptr<TimerWheel::Entry> TimerWheel::unlink(Entry& entry) {
  Slot& slot = slots_[entry.slot_];
  const std::uint32_t index = entry.index_;
  std::shared_ptr<Entry> held = std::move(slot[index]);
  if (index + 1 != slot.size()) {
    slot[index] = std::move(slot.back());
    slot[index]->index_ = index;
  }
  slot.pop_back();
  entry.slot_ = kNone;
  return held;
}

void TimerWheel::wake_at(std::int64_t tick) {
  if (waiting_ && wake_tick_ <= tick)
    return;
  // Setting the expiry cancels the wait in progress (its handler sees operation_aborted).
  waiting_ = true;
  wake_tick_ = tick;
  timer_.expires_at(time_of(tick));
  timer_.async_wait([this](boost::system::error_code ec) {
    if (ec != asio::error::operation_aborted)
      on_wake();
  });
}

void TimerWheel::on_wake() {
  waiting_ = false;
  if (shut_down_)
    return;
  const Clock::time_point now = Clock::now();
  const std::int64_t now_tick = now.time_since_epoch().count() / tick_.count();
  // The ticks that passed, each slot at most once (a loop that stalled for a whole round fires
  // every slot once: what is due fires, the rest waits for its round).
  const std::int64_t first = std::max(done_tick_ + 1, now_tick - kSlots + 1);
  for (std::int64_t tick = first; tick <= now_tick; ++tick) {
    done_tick_ = tick;
    fire(static_cast<std::uint32_t>(tick % kSlots), now);
  }
  done_tick_ = std::max(done_tick_, now_tick);
  if (count_ == 0 || waiting_)
    return;
  // The next tick whose slot holds an entry (its entries may belong to a later round: the wheel
  // then wakes, fires nothing and looks again).
  for (std::int64_t tick = done_tick_ + 1; tick <= done_tick_ + kSlots; ++tick) {
    if (!slots_[static_cast<std::uint32_t>(tick % kSlots)].empty()) {
      wake_at(tick);
      return;
    }
  }
}

void TimerWheel::fire(std::uint32_t slot, Clock::time_point now) {
  if (slots_[slot].empty())
    return;
  firing_.swap(slots_[slot]);
  for (const auto& entry : firing_)
    entry->slot_ = kFiring;
  // An entry fired here may arm or cancel any other, this slot's too: one that is no longer
  // kFiring when reached was re-armed elsewhere (or cancelled) meanwhile.
  for (std::size_t i = 0; i < firing_.size(); ++i) {
    std::shared_ptr<Entry> entry = std::move(firing_[i]);
    if (entry->slot_ != kFiring)
      continue;
    if (entry->deadline_ > now) {
      place(std::move(entry), slot);  // a later round: back into its slot
      continue;
    }
    entry->slot_ = kNone;
    --count_;
    entry->on_deadline();
  }
  firing_.clear();
}

void TimerWheel::shutdown() {
  shut_down_ = true;
  timer_.cancel();
  // Lets go of every entry (they may hold each other through their owners: drop them after
  // marking them all disarmed).
  std::vector<Slot> slots;
  slots.swap(slots_);
  for (auto& slot : slots)
    for (auto& entry : slot)
      entry->slot_ = kNone;
  count_ = 0;
  slots.clear();
  firing_.clear();
}

}  // namespace wps::transport
