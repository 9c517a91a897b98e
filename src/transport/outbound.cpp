#include "transport/outbound.hpp"

#include <chrono>
#include <utility>

#include "protocol/ws_frame.hpp"

namespace wps::transport {

namespace ws = protocol::ws;

namespace {
// A drained inbox keeps its capacity for the next burst unless it grew past this.
constexpr std::size_t kKeepInboxCapacity = 64;
// An empty ping (what a keep-alive sends).
constexpr std::array<char, 2> kPingFrame{static_cast<char>(0x89), 0};

// The inbox swapped out by drain(), reused by every connection of a thread.
std::vector<SharedFrame>& thread_drain_buffer() {
  thread_local std::vector<SharedFrame> frames;
  return frames;
}

bool has_ttl(const protocol::Frame& frame) {
  return frame.expires_at.time_since_epoch().count() != 0;
}
}  // namespace

Outbound::Inbox& Outbound::inbox() {
  Inbox* inbox = inbox_.load(std::memory_order_acquire);
  if (inbox != nullptr)
    return *inbox;
  // Two threads pushing first at once: one allocation wins, the other is dropped.
  auto fresh = std::make_unique<Inbox>();
  if (inbox_.compare_exchange_strong(inbox, fresh.get(), std::memory_order_acq_rel,
                                     std::memory_order_acquire))
    return *fresh.release();
  return *inbox;
}

bool Outbound::push(SharedFrame frame) {
  Inbox& in = inbox();
  std::lock_guard lock(in.mutex);
  const bool first = in.frames.empty();
  in.frames.push_back(std::move(frame));
  inbox_pending_.store(true, std::memory_order_release);
  return first;
}

bool Outbound::push_local(SharedFrame frame) {
  // What other threads pushed before this frame goes first.
  if (inbox_pending_.load(std::memory_order_acquire) && !drain())
    return false;
  if (sealed_ || !frame)
    return true;
  if (queue_.size() >= max_messages_ || bytes_ + frame->data.size() > max_bytes_)
    return false;
  bytes_ += frame->data.size();
  queue_.push_back(std::move(frame));
  return true;
}

bool Outbound::drain() {
  // A push from another thread sets the flag under the mutex; one that comes after this check
  // is queued after what push_local adds meanwhile, and drained by the drain it posts.
  if (!inbox_pending_.load(std::memory_order_acquire))
    return true;
  // Borrow the thread's buffer (moved out, so a nested drain would just use a new one).
  std::vector<SharedFrame> batch = std::move(thread_drain_buffer());
  batch.clear();
  {
    // The flag was set after the inbox was made: it is there.
    Inbox& in = *inbox_.load(std::memory_order_acquire);
    std::lock_guard lock(in.mutex);
    batch.swap(in.frames);
    inbox_pending_.store(false, std::memory_order_relaxed);
  }
  bool fits = true;
  for (SharedFrame& frame : batch) {
    if (sealed_ || !frame)
      continue;
    if (queue_.size() >= max_messages_ || bytes_ + frame->data.size() > max_bytes_) {
      fits = false;
      break;
    }
    bytes_ += frame->data.size();
    queue_.push_back(std::move(frame));
  }
  batch.clear();
  if (batch.capacity() <= kKeepInboxCapacity)
    thread_drain_buffer() = std::move(batch);
  return fits;
}

void Outbound::append(SharedFrame frame) {
  bytes_ += frame->data.size();
  queue_.push_back(std::move(frame));
}

void Outbound::drop_unsent() {
  sealed_ = true;
  while (queue_.size() > in_flight_) {
    bytes_ -= queue_.back()->data.size();
    queue_.pop_back();
  }
}

Outbound::Control& Outbound::control() {
  if (!control_)
    control_ = std::make_unique<Control>();
  return *control_;
}

void Outbound::release_control() {
  if (control_ && control_->upgrade_response.empty() && !control_->pong &&
      control_->pong_in_flight.empty() && control_->close_frame.empty())
    control_.reset();
}

void Outbound::set_upgrade_response(std::string response) {
  control().upgrade_response = std::move(response);
}

void Outbound::answer_ping(std::string_view payload) {
  if (control().pong)
    control_->pong->assign(payload);
  else
    control_->pong.emplace(payload);
}

void Outbound::set_close_frame(std::string frame) {
  control().close_frame = std::move(frame);
  close_ = Close::queued;
}

void Outbound::drop_expired() {
  std::chrono::steady_clock::time_point now{};
  while (!queue_.empty() && has_ttl(*queue_.front())) {
    if (now.time_since_epoch().count() == 0)
      now = std::chrono::steady_clock::now();
    if (queue_.front()->expires_at > now)
      break;
    bytes_ -= queue_.front()->data.size();
    queue_.pop_front();
  }
}

void Outbound::collect(std::vector<boost::asio::const_buffer>& buffers, std::size_t max_frames,
                       std::size_t max_bytes) {
  drop_expired();
  if (control_ && !control_->upgrade_response.empty()) {
    buffers.emplace_back(control_->upgrade_response.data(), control_->upgrade_response.size());
    control_->upgrade_in_flight = true;
  }
  if (control_ && control_->pong) {
    control_->pong_in_flight = ws::encode_control_frame(ws::Opcode::pong, *control_->pong);
    control_->pong.reset();
    buffers.emplace_back(control_->pong_in_flight.data(), control_->pong_in_flight.size());
  } else if (ping_requested_ && close_ != Close::sent) {
    buffers.emplace_back(kPingFrame.data(), kPingFrame.size());
  }
  ping_requested_ = false;
  // Each frame as its shared, pre-built header and payload.
  const std::size_t limit = std::min(queue_.size(), max_frames);
  std::size_t data_bytes = 0;
  std::chrono::steady_clock::time_point now{};
  in_flight_ = 0;
  for (std::size_t i = 0; i < limit; ++i) {
    const protocol::Frame& frame = *queue_[i];
    if (i > 0) {
      if (data_bytes + frame.data.size() > max_bytes)
        break;
      if (has_ttl(frame)) {
        if (now.time_since_epoch().count() == 0)
          now = std::chrono::steady_clock::now();
        if (frame.expires_at <= now)
          break;
      }
    }
    buffers.emplace_back(frame.header.bytes.data(), frame.header.size);
    buffers.emplace_back(frame.data.data(), frame.data.size());
    data_bytes += frame.data.size();
    ++in_flight_;
  }
  if (close_ == Close::queued && in_flight_ == queue_.size()) {
    buffers.emplace_back(control_->close_frame.data(), control_->close_frame.size());
    close_ = Close::in_flight;
  }
}

bool Outbound::written() {
  for (; in_flight_ > 0; --in_flight_) {
    bytes_ -= queue_.front()->data.size();
    queue_.pop_front();
  }
  bool close_written = false;
  if (control_) {
    if (control_->upgrade_in_flight) {
      control_->upgrade_in_flight = false;
      std::string().swap(control_->upgrade_response);
    }
    control_->pong_in_flight.clear();
    if (close_ == Close::in_flight) {
      close_ = Close::sent;
      std::string().swap(control_->close_frame);
      close_written = true;
    }
  }
  release_control();
  return close_written;
}

}  // namespace wps::transport
