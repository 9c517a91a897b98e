#pragma once
// A first-in first-out queue that allocates nothing while empty. std::deque (libstdc++) allocates
// a 512-byte block and its map as soon as it is constructed: for per-connection queues that are
// empty almost always, that was ~1 KB of every idle connection. Elements live in one vector;
// pop_front advances a head index and the consumed prefix is reclaimed when the queue empties or
// when it is over half the vector.

#include <cstddef>
#include <utility>
#include <vector>

namespace wps::util {

template <class T>
class Fifo {
 public:
  bool empty() const { return head_ == items_.size(); }
  std::size_t size() const { return items_.size() - head_; }
  T& front() { return items_[head_]; }
  const T& front() const { return items_[head_]; }
  T& back() { return items_.back(); }
  const T& back() const { return items_.back(); }
  T& operator[](std::size_t i) { return items_[head_ + i]; }
  const T& operator[](std::size_t i) const { return items_[head_ + i]; }

  void push_back(T value) { items_.push_back(std::move(value)); }
  void pop_back() {
    items_.pop_back();
    reclaim();
  }
  void pop_front() {
    items_[head_] = T();  // release what it holds now, not when the prefix is reclaimed
    ++head_;
    reclaim();
  }
  void clear() {
    items_.clear();
    head_ = 0;
    reclaim();
  }

 private:
  // Capacity kept by an emptied queue (the next message reuses it without allocating). A busy
  // connection holds the frames of a whole write-coalescing window (Limits::write_coalesce_window):
  // at 8, queues of 10-20 frames regrew from nothing every window, ~0.4 allocations per delivery
  // at 600k deliveries/s. Only connections that saw such a burst keep it (32 pointers).
  static constexpr std::size_t kKeepCapacity = 32;
  static constexpr std::size_t kCompactAfter = 32;

  void reclaim() {
    if (head_ == items_.size()) {
      items_.clear();
      head_ = 0;
      if (items_.capacity() > kKeepCapacity)
        std::vector<T>().swap(items_);
    } else if (head_ >= kCompactAfter && 2 * head_ >= items_.size()) {
      items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(head_));
      head_ = 0;
    }
  }

  std::vector<T> items_;
  std::size_t head_ = 0;
};

}  // namespace wps::util
